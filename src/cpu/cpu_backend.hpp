// The CPU backend: GEMMs through CBLAS, per-sample and per-element loops
// through OpenMP.
// It implements the operations the layer algorithm (src/engine) is written
// against; the CUDA backend provides the same names over cuBLAS and kernels.
#pragma once
#include <cblas.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/phase_timer.hpp"
#include "core/hessian_blocks.hpp"

namespace lnn::cpu {

template <class T>
class CpuBackend {
 public:
  template <class U>
  using Buffer = std::vector<U>;

  // C (m×n) = alpha·op(A)·op(B) + beta·C, all row-major.
  static void gemm(bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* A, int lda,
                   const T* B, int ldb, T beta, T* C, int ldc) {
    if (m == 0 || n == 0) return;
    const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
    const CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
    if constexpr (sizeof(T) == 4) {
      cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    } else {
      cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    }
  }

  // f(i) for i in [0, count), in parallel; f must not depend on the order.
  // Small counts run on the calling thread: a parallel region costs more
  // than a few samples' work, and spinning OpenMP threads are ruinous when
  // the machine is oversubscribed (measured: 0.03 s → 200 s for a test).
  template <class F>
  static void for_each(int count, F f) {
#if defined(_OPENMP)  // (this header also reaches nvcc's host pass, built without OpenMP)
#pragma omp parallel for schedule(static) if (count >= kParallelMin)
#endif
    for (int i = 0; i < count; ++i) f(i);
  }
  static constexpr int kParallelMin = 32;

  // f(r, i) for r < rows, i < m: an element map over (row, neuron) with the
  // neuron index fastest; f must not depend on the order. The CPU runs the
  // rows in parallel and each row's elements in a loop (vectorisable where f
  // is); the GPU one thread per element (kernels/for_each.cuh).
  template <class F>
  static void for_each_element(std::int64_t rows, int m, F f) {
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (rows >= kParallelMin)
#endif
    for (std::int64_t r = 0; r < rows; ++r) {
      // Elements are independent (the contract): no dependence for the
      // vectorizer to assume between f's stores and loads.
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#pragma GCC ivdep
#endif
      for (int i = 0; i < m; ++i) f(r, i);
    }
  }

  // g(r, Σ_{i<m} term(i)) for r < rows with term = row(r): a reduction over
  // the neurons of each row (a sample, or a sample's entry of a Hessian
  // block); row(r) does the row's own setup once and returns the callable
  // term. Here i ascending from zero, the reference order; the GPU sums by
  // warp (core/reduce_order.hpp).
  template <class Row, class G>
  static void reduce_rows(std::int64_t rows, int m, Row row, G g) {
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (rows >= kParallelMin)
#endif
    for (std::int64_t r = 0; r < rows; ++r) {
      const auto term = row(r);
      using V = decltype(term(0));
      V acc = V(0);
      for (int i = 0; i < m; ++i) acc += term(i);
      g(r, acc);
    }
  }

  // The Hessian blocks of every sample (core/hessian_blocks.hpp), each
  // entry summed over the neurons in ascending order. One entry at a time
  // (the twin's K = 0 path) whatever K is: on the CPU a loop per entry
  // beat carrying all k(k+1)/2 sums at once (measured: 2 against 2.8 cycles
  // per entry and neuron, docs/design-notes.md); the bits are the same.
  template <int K>
  static void hessian_blocks(const core::HessianBlocksArgs<T>& a) {
    for_each(a.b, [&](int s) { core::hessian_block_sample<0>(a, s, 1); });
  }

  // *out = Σ x_i² in double, serially in index order (the host Adam's order).
  static void sum_squares_into(const T* x, std::size_t count, double* out) {
    double sum = 0.0;
    for (std::size_t i = 0; i < count; ++i)
      sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    *out = sum;
  }

  static void copy(T* dst, const T* src, std::size_t count) { std::copy(src, src + count, dst); }
  template <class U>
  static void zero(U* dst, std::size_t count) {
    std::fill(dst, dst + count, U(0));
  }
  static void scale(T* dst, std::size_t count, T factor) {
    for (std::size_t i = 0; i < count; ++i) dst[i] *= factor;
  }
  template <class U>
  static void upload(Buffer<U>& buf, const U* host, std::size_t count) {
    buf.assign(host, host + count);
  }

  // Staging between the caller's arrays and the backend's memory (the
  // engine's calls, src/engine/engine_impl.hpp). The CPU's memory is the
  // caller's: nothing is copied except where the engine asks for values in
  // an array of its own.
  // stage_in: `count` values of `p` readable by the backend (p or a copy in buf).
  template <class U>
  static const U* stage_in(const U* p, std::size_t, Buffer<U>&) {
    return p;
  }
  // stage_out: where the backend writes values that fetch() later moves to p.
  template <class U>
  static U* stage_out(U* p, std::size_t, Buffer<U>&) {
    return p;
  }
  // fetch: dst (the caller's memory) receives `count` values from src (the
  // backend's), complete when fetch returns.
  template <class U>
  static void fetch(U* dst, const U* src, std::size_t count) {
    if (dst != src) std::copy(src, src + count, dst);
  }
  // Whether p is memory only the backend's operations can touch (device
  // memory); never for the CPU.
  static bool is_backend_memory(const void*) { return false; }
  template <class U>
  static void copy_from_host(U* dst, const U* host, std::size_t count) {
    std::copy(host, host + count, dst);
  }
  // Waits for the backend's work (nothing to wait for on the CPU).
  static void synchronize() {}
  // fetch_later: dst (host memory, a HostBuffer's for an asynchronous copy)
  // receives `count` values of src when the backend's queue reaches this
  // point; wait(ticket) returns when it has. On the CPU: at once.
  struct Ticket {};
  template <class U>
  using HostBuffer = std::vector<U>;
  template <class U>
  static void fetch_later(U* dst, const U* src, std::size_t count, Ticket&) {
    std::copy(src, src + count, dst);
  }
  static void wait(Ticket&) {}
  // A ticket for this point of the queue (nothing to wait for on the CPU).
  static void record(Ticket&) {}
  // The start of a phase of the engine's work (lnn::phase_times; off unless
  // LNN_PHASE_TIMES is set).
  static void mark(const char* phase) {
    if (phase_timing_enabled()) detail::host_timeline().mark(phase);
  }
  // The model's parameters where the backend reads them.
  static const T* parameters(std::span<const T> params, Buffer<T>&) { return params.data(); }

  // out[j] (+)= Σ_r X[r·ld + j] for j < cols, r < rows, summed in V. Fixed
  // order (r ascending) so a result depends only on the rows summed.
  template <class U, class V>
  static void sum_rows(int rows, int cols, const U* X, std::size_t ld, V* out) {
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (rows >= kParallelMin)
#endif
    for (int j = 0; j < cols; ++j) {
      V acc = V(0);
      for (int r = 0; r < rows; ++r) acc += static_cast<V>(X[static_cast<std::size_t>(r) * ld + j]);
      out[j] += acc;
    }
  }
};

}  // namespace lnn::cpu
