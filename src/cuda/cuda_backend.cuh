// The CUDA backend: the operations the layer algorithm (src/engine) is
// written against, over cuBLAS, cuSOLVER and the kernels in kernels/. One
// stream, one cuBLAS handle and (made on first use) one cuSOLVER handle per
// engine (CudaContext); every call is stream-ordered and the host waits only
// in fetch() and the setup uploads.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <source_location>
#include <span>
#include <string>

#include "common/phase_timer.hpp"
#include "core/small_solve.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/device_buffer.hpp"
#include "cuda/gemm_layout.hpp"
#include "cuda/memory_kind.hpp"
#include "kernels/column_sums.cuh"
#include "kernels/for_each.cuh"
#include "kernels/hessian_blocks.cuh"

namespace lnn::cuda {

// A stream's phase marks (lnn::phase_times): an event recorded at each mark,
// resolved when a report asks (waiting for the last one).
class StreamPhaseTimeline : public detail::PhaseTimeline {
 public:
  explicit StreamPhaseTimeline(cudaStream_t stream) : stream_(stream) {}
  ~StreamPhaseTimeline() override {
    for (auto& m : marks_) cudaEventDestroy(m.second);
  }
  void mark(const char* name) override {
    const std::lock_guard<std::mutex> lock(mu_);
    cudaEvent_t e = nullptr;
    check(cudaEventCreate(&e), "cudaEventCreate (phase timer)");
    check(cudaEventRecord(e, stream_), "cudaEventRecord (phase timer)");
    marks_.emplace_back(name, e);
  }
  void discard() override {
    const std::lock_guard<std::mutex> lock(mu_);
    for (auto& m : marks_) cudaEventDestroy(m.second);
    marks_.clear();
  }
  // The stream is destroyed before the timeline: no more marks after this.
  void detach() { stream_ = nullptr; }

 protected:
  void resolve(std::vector<std::pair<const char*, double>>& out) override {
    const std::lock_guard<std::mutex> lock(mu_);
    if (marks_.empty()) return;
    check(cudaEventSynchronize(marks_.back().second), "cudaEventSynchronize (phase timer)");
    for (auto& m : marks_) {
      float ms = 0.0f;
      check(cudaEventElapsedTime(&ms, marks_.front().second, m.second),
            "cudaEventElapsedTime (phase timer)");
      out.emplace_back(m.first, static_cast<double>(ms));
    }
    for (std::size_t i = 0; i + 1 < marks_.size(); ++i) cudaEventDestroy(marks_[i].second);
    marks_.erase(marks_.begin(), marks_.end() - 1);  // the open interval's start
  }

 private:
  std::mutex mu_;
  cudaStream_t stream_;
  std::vector<std::pair<const char*, cudaEvent_t>> marks_;
};

// The default smallest n of the batched solve (CudaBackend::batched_solve,
// docs/math.md §5): just above the per-sample solve's register limit
// (core::kFixedSolveMax). Up to it a sample's factor lives in its thread's
// registers; above it the per-sample code keeps its factor in global memory
// and runs ~n³/3 dependent steps in one thread, where the batched kernels
// spread a matrix over many threads. Chosen by that reasoning, NOT measured
// (docs/benchmarks.md, "Batched solve crossover").
constexpr int kBatchedSolveMinDefault = core::kFixedSolveMax + 1;

// LNN_BATCHED_SOLVE_MIN in the environment when an engine is made: the
// smallest n for the batched solve (1: always; a value above any n: never),
// else kBatchedSolveMinDefault. For the crossover benchmark and tests.
inline int batched_solve_min_from_environment() {
  const char* e = std::getenv("LNN_BATCHED_SOLVE_MIN");
  if (e == nullptr || *e == '\0') return kBatchedSolveMinDefault;
  char* end = nullptr;
  const long x = std::strtol(e, &end, 10);
  return end != e && *end == '\0' && x >= 1 && x <= (1L << 30) ? static_cast<int>(x)
                                                               : kBatchedSolveMinDefault;
}

// The stream and cuBLAS handle of one engine, on the device current when it
// was made. Move-less: shared by the backend copies that hold it.
class CudaContext {
 public:
  // tf32: cuBLAS may use TF32 tensor cores for float GEMMs; split_tf32:
  // every float GEMM as three TF32 products of split operands (3xTF32).
  explicit CudaContext(bool tf32, bool split_tf32 = false) : split_tf32_(split_tf32) {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count == 0) {
      cudaGetLastError();
      throw BackendError(std::string("device 'cuda': no usable CUDA device (") +
                         (err != cudaSuccess ? cudaGetErrorString(err) : "none visible") + ")");
    }
    check(cudaGetDevice(&device_), "cudaGetDevice");
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    const cublasStatus_t s = cublasCreate(&blas_);
    if (s != CUBLAS_STATUS_SUCCESS) {
      cudaStreamDestroy(stream_);
      check(s, "cublasCreate");
    }
    try {
      check(cublasSetStream(blas_, stream_), "cublasSetStream");
      // A workspace of the handle's own (cublasSetStream resets it to the
      // library's pool): cuBLAS then allocates nothing while a training step
      // is recorded as a CUDA graph. 32 MiB: what cuBLAS asks for on Hopper.
      workspace_.resize(kBlasWorkspaceBytes);
      check(cublasSetWorkspace(blas_, workspace_.data(), kBlasWorkspaceBytes), "cublasSetWorkspace");
      check(cublasSetPointerMode(blas_, CUBLAS_POINTER_MODE_HOST), "cublasSetPointerMode");
      check(cublasSetMathMode(blas_, tf32 || split_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH
                                                        : CUBLAS_DEFAULT_MATH),
            "cublasSetMathMode");
    } catch (...) {
      cublasDestroy(blas_);
      cudaStreamDestroy(stream_);
      throw;
    }
  }
  ~CudaContext() {
    cudaStreamSynchronize(stream_);
    if (timeline_) timeline_->detach();
    if (solver_) cusolverDnDestroy(solver_);
    cublasDestroy(blas_);
    cudaStreamDestroy(stream_);
  }
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  cudaStream_t stream() const { return stream_; }
  cublasHandle_t blas() const { return blas_; }
  bool split_tf32() const { return split_tf32_; }
  // The cuSOLVER handle on this stream, made on first use (only engines with
  // the batched solve need one; making it costs time and device memory).
  cusolverDnHandle_t solver() {
    const std::lock_guard<std::mutex> lock(solver_mu_);
    if (!solver_) {
      cusolverDnHandle_t h = nullptr;
      check(cusolverDnCreate(&h), "cusolverDnCreate");
      const cusolverStatus_t st = cusolverDnSetStream(h, stream_);
      if (st != CUSOLVER_STATUS_SUCCESS) {
        cusolverDnDestroy(h);
        check(st, "cusolverDnSetStream");
      }
      solver_ = h;
    }
    return solver_;
  }
  int device() const { return device_; }
  int batched_solve_min() const { return batched_solve_min_; }
  // This stream's phase marks, registered with the report on first use.
  StreamPhaseTimeline& timeline() {
    if (!timeline_) {
      timeline_ = std::make_shared<StreamPhaseTimeline>(stream_);
      detail::register_timeline(timeline_);
    }
    return *timeline_;
  }

 private:
  static constexpr std::size_t kBlasWorkspaceBytes = std::size_t{32} << 20;
  bool split_tf32_ = false;
  int device_ = 0;
  int batched_solve_min_ = batched_solve_min_from_environment();
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  DeviceBuffer<unsigned char> workspace_;
  std::mutex solver_mu_;
  cusolverDnHandle_t solver_ = nullptr;
  std::shared_ptr<StreamPhaseTimeline> timeline_;
};

template <class T>
class CudaBackend {
 public:
  template <class U>
  using Buffer = DeviceBuffer<U>;
  // The adjoint's Ū formed again where it is used instead of stored
  // (LayerAlgorithm::kUbarInRegisters): memory traffic is the GPU's cost.
  static constexpr bool kUbarInRegisters = true;
  // σ′, σ″, σ‴ formed again from the pre-activation where they are used
  // (LayerAlgorithm::kRecomputeDerivs), not stored.
  static constexpr bool kRecomputeDerivs = true;

  // The batched solve (LayerAlgorithm::kBatchedSolve, docs/math.md §5):
  // cuSOLVER potrfBatched/potrsBatched (cholesky, damped) and cuBLAS
  // getrfBatched/getrsBatched (lu) for n >= batched_solve_min().
  static constexpr bool kBatchedSolve = true;
  int batched_solve_min() const { return ctx_->batched_solve_min(); }

  CudaBackend() = default;
  explicit CudaBackend(std::shared_ptr<CudaContext> ctx) : ctx_(std::move(ctx)) {}
  cudaStream_t stream() const { return ctx_->stream(); }

  // C (m×n) = alpha·op(A)·op(B) + beta·C, all row-major (gemm_layout.hpp).
  void gemm(bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* A, int lda,
            const T* B, int ldb, T beta, T* C, int ldc,
            std::source_location loc = std::source_location::current()) const {
    if (m == 0 || n == 0) return;
    const ColMajorGemm g = as_col_major(trans_a, trans_b, m, n, k, lda, ldb, ldc);
    const cublasOperation_t t1 = g.trans_first ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t t2 = g.trans_second ? CUBLAS_OP_T : CUBLAS_OP_N;
    if constexpr (sizeof(T) == 4) {
      auto sgemm = [&](const float* a, const float* b, float beta_) {
        check(cublasSgemm(ctx_->blas(), t1, t2, g.m, g.n, g.k, &alpha, b, g.ld_first, a,
                          g.ld_second, &beta_, C, g.ldc),
              "cublasSgemm");
      };
      if (ctx_->split_tf32() && k > 0) {
        // 3xTF32 (core/tf32_split.hpp): the operands split into scratch.
        const std::size_t na = stored(trans_a ? k : m, trans_a ? m : k, lda);
        const std::size_t nb = stored(trans_b ? n : k, trans_b ? k : n, ldb);
        float* s = reinterpret_cast<float*>(split_scratch(2 * (na + nb)));
        float *ah = s, *al = s + na, *bh = s + 2 * na, *bl = s + 2 * na + nb;
        kernels::split_tf32<<<kernels::blocks_for(na), kernels::kBlock, 0, stream()>>>(na, A, ah, al);
        launched("split_tf32", loc);
        kernels::split_tf32<<<kernels::blocks_for(nb), kernels::kBlock, 0, stream()>>>(nb, B, bh, bl);
        launched("split_tf32", loc);
        core::three_tf32_products(sgemm, ah, al, bh, bl, beta);
      } else {
        sgemm(A, B, beta);
      }
    } else {
      check(cublasDgemm(ctx_->blas(), t1, t2, g.m, g.n, g.k, &alpha, B, g.ld_first, A, g.ld_second,
                        &beta, C, g.ldc),
            "cublasDgemm");
    }
    if (sync_launches()) launched(sizeof(T) == 4 ? "cublasSgemm" : "cublasDgemm", loc);
  }

  // Every sample's A[s] (n×n, column-major, in place) factored: Cholesky of
  // the upper triangle (the row-major lower one), A = UᵀU, for cholesky and
  // damped (cuSOLVER potrfBatched, info[s] = j + 1 where step j failed); LU
  // with partial pivoting for lu (cuBLAS getrfBatched; piv: count × n,
  // 1-based). A: count device pointers in device memory.
  void batched_factor(SolveMethod method, int n, int count, T* const* A, int* piv, int* info,
                      std::source_location loc = std::source_location::current()) const {
    if (count <= 0) return;
    if (method == SolveMethod::lu) {
      if constexpr (sizeof(T) == 4) {
        check(cublasSgetrfBatched(ctx_->blas(), n, A, n, piv, info, count), "cublasSgetrfBatched");
      } else {
        check(cublasDgetrfBatched(ctx_->blas(), n, A, n, piv, info, count), "cublasDgetrfBatched");
      }
    } else {
      // (cuSOLVER's batched API takes non-const pointer arrays.)
      T** a = const_cast<T**>(A);
      if constexpr (sizeof(T) == 4) {
        check(cusolverDnSpotrfBatched(ctx_->solver(), CUBLAS_FILL_MODE_UPPER, n, a, n, info, count),
              "cusolverDnSpotrfBatched");
      } else {
        check(cusolverDnDpotrfBatched(ctx_->solver(), CUBLAS_FILL_MODE_UPPER, n, a, n, info, count),
              "cusolverDnDpotrfBatched");
      }
    }
    if (sync_launches()) launched("batched factor", loc);
  }

  // B[s] ← A[s]⁻¹ B[s] (n values each) from batched_factor.
  void batched_solve(SolveMethod method, int n, int count, T* const* A, const int* piv,
                     T* const* B, std::source_location loc = std::source_location::current()) const {
    if (count <= 0) return;
    if (method == SolveMethod::lu) {
      int host_info = 0;  // argument errors only (getrsBatched's info is a host value)
      if constexpr (sizeof(T) == 4) {
        check(cublasSgetrsBatched(ctx_->blas(), CUBLAS_OP_N, n, 1, A, n, piv, B, n, &host_info,
                                  count),
              "cublasSgetrsBatched");
      } else {
        check(cublasDgetrsBatched(ctx_->blas(), CUBLAS_OP_N, n, 1, A, n, piv, B, n, &host_info,
                                  count),
              "cublasDgetrsBatched");
      }
      if (host_info != 0)
        throw BackendError("cuBLAS: getrsBatched: argument " + std::to_string(-host_info) +
                           " is invalid");
    } else {
      T** a = const_cast<T**>(A);
      T** b = const_cast<T**>(B);
      // potrsBatched reports argument errors in one device int (not read).
      int* dinfo = reinterpret_cast<int*>(scratch(1));
      if constexpr (sizeof(T) == 4) {
        check(cusolverDnSpotrsBatched(ctx_->solver(), CUBLAS_FILL_MODE_UPPER, n, 1, a, n, b, n,
                                      dinfo, count),
              "cusolverDnSpotrsBatched");
      } else {
        check(cusolverDnDpotrsBatched(ctx_->solver(), CUBLAS_FILL_MODE_UPPER, n, 1, a, n, b, n,
                                      dinfo, count),
              "cusolverDnDpotrsBatched");
      }
    }
    if (sync_launches()) launched("batched solve", loc);
  }

  // f(i) for i in [0, count) on the device, one thread per sample.
  template <class F>
  void for_each(int count, F f, std::source_location loc = std::source_location::current()) const {
    if (count <= 0) return;
    kernels::for_each<<<kernels::blocks_for(static_cast<std::size_t>(count)), kernels::kBlock, 0,
                        stream()>>>(count, f);
    launched("for_each", loc);
  }

  // f(r, i) for r < rows, i < m on the device, one thread per element (i
  // fastest: a warp reads 32 neighbouring neurons).
  template <class F>
  void for_each_element(std::int64_t rows, int m, F f,
                        std::source_location loc = std::source_location::current()) const {
    if (rows <= 0 || m <= 0) return;
    kernels::for_each_element<<<kernels::blocks_for(static_cast<std::size_t>(rows) *
                                                    static_cast<std::size_t>(m)),
                                kernels::kBlock, 0, stream()>>>(rows, m, f);
    launched("for_each_element", loc);
  }

  // g(r, Σ_{i<m} term(i)) with term = row(r), for r < rows: a warp per row.
  template <class Row, class G>
  void reduce_rows(std::int64_t rows, int m, Row row, G g,
                   std::source_location loc = std::source_location::current()) const {
    if (rows <= 0) return;
    kernels::reduce_rows<<<kernels::blocks_for_rows(rows), kernels::kBlock, 0, stream()>>>(
        rows, m, row, g);
    launched("reduce_rows", loc);
  }

  // The Hessian blocks of every sample: the fused kernel of
  // kernels/hessian_blocks.cu (a warp per sample, every layer in one launch).
  template <int K>
  void hessian_blocks(const core::HessianBlocksArgs<T>& a,
                      std::source_location loc = std::source_location::current()) const {
    if (a.b <= 0) return;
    kernels::hessian_blocks<T, K>(a, stream());
    launched("hessian_blocks", loc);
  }

  // out[j] += Σ_r X[r·ld + j] in V (kernels/column_sums.cu: parallel over
  // rows and columns, a fixed order).
  template <class U, class V>
  void sum_rows(int rows, int cols, const U* X, std::size_t ld, V* out,
                std::source_location loc = std::source_location::current()) const {
    if (cols <= 0 || rows <= 0) return;
    const std::size_t bytes = kernels::column_sums_scratch(rows, cols) * sizeof(V);
    kernels::column_sums<U, V>(rows, cols, X, ld, out,
                               reinterpret_cast<V*>(scratch((bytes + 7) / 8)), stream());
    launched("column_sums", loc);
  }

  // *out (device memory) = Σ x_i² in double (kernels::sum_squares_partial).
  void sum_squares_into(const T* x, std::size_t count, double* out,
                        std::source_location loc = std::source_location::current()) const {
    if (count == 0) {
      zero(out, 1);
      return;
    }
    double* partial = scratch(kernels::kReduceBlocks);
    kernels::sum_squares_partial<<<kernels::kReduceBlocks, kernels::kBlock, 0, stream()>>>(x, count,
                                                                                           partial);
    launched("sum_squares_partial", loc);
    kernels::sum_partials<<<1, kernels::kBlock, 0, stream()>>>(partial, kernels::kReduceBlocks, out);
    launched("sum_partials", loc);
  }

  void copy(T* dst, const T* src, std::size_t count) const {
    if (count == 0 || dst == src) return;
    check(cudaMemcpyAsync(dst, src, count * sizeof(T), cudaMemcpyDeviceToDevice, stream()),
          "cudaMemcpyAsync (device to device)");
  }
  template <class U>
  void zero(U* dst, std::size_t count) const {
    if (count == 0) return;
    check(cudaMemsetAsync(dst, 0, count * sizeof(U), stream()), "cudaMemsetAsync");
  }
  void scale(T* dst, std::size_t count, T factor,
             std::source_location loc = std::source_location::current()) const {
    if (count == 0) return;
    kernels::scale<<<kernels::blocks_for(count), kernels::kBlock, 0, stream()>>>(count, dst,
                                                                                 factor);
    launched("scale", loc);
  }
  // A Buffer holding `count` host values (setup; waits for the copy).
  template <class U>
  void upload(Buffer<U>& buf, const U* host, std::size_t count) const {
    buf.resize(count);
    copy_from_host(buf.data(), host, count);
  }
  template <class U>
  void copy_from_host(U* dst, const U* host, std::size_t count) const {
    if (count == 0) return;
    check(cudaMemcpyAsync(dst, host, count * sizeof(U), cudaMemcpyHostToDevice, stream()),
          "cudaMemcpyAsync (host to device)");
    check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize after an upload");
  }

  // Staging (engine_impl.hpp): device arrays are used in place; host arrays
  // are copied to a buffer of the engine's (in) or written there and fetched.
  bool is_backend_memory(const void* p) const { return detail::is_device_pointer(p); }
  template <class U>
  const U* stage_in(const U* p, std::size_t count, Buffer<U>& buf) const {
    if (p == nullptr || is_backend_memory(p)) return p;
    if (buf.size() < count) buf.resize(count);
    if (count > 0) {
      // From pageable memory the copy is staged before the call returns, so
      // the caller may reuse p at once.
      check(cudaMemcpyAsync(buf.data(), p, count * sizeof(U), cudaMemcpyHostToDevice, stream()),
            "cudaMemcpyAsync (host to device)");
    }
    return buf.data();
  }
  template <class U>
  U* stage_out(U* p, std::size_t count, Buffer<U>& buf) const {
    if (p == nullptr || is_backend_memory(p)) return p;
    if (buf.size() < count) buf.resize(count);
    return buf.data();
  }
  // dst receives count values from src (device memory), complete on return.
  // A kernel that failed earlier on the stream is reported here.
  template <class U>
  void fetch(U* dst, const U* src, std::size_t count) const {
    if (count > 0 && dst != src) {
      check(cudaMemcpyAsync(dst, src, count * sizeof(U), cudaMemcpyDefault, stream()),
            "cudaMemcpyAsync (results)");
    }
    check(cudaStreamSynchronize(stream()),
          "the engine's work on its stream (cudaStreamSynchronize; the failing kernel or "
          "copy ran earlier)");
  }
  // The start of a phase of the engine's work (lnn::phase_times; off unless
  // LNN_PHASE_TIMES is set): an event on this stream.
  void mark(const char* phase) const {
    if (phase_timing_enabled()) ctx_->timeline().mark(phase);
  }
  // dst (host memory; a HostBuffer's makes the copy asynchronous) receives
  // `count` values of src when the stream reaches this point; wait(ticket)
  // returns when it has.
  template <class U>
  using HostBuffer = PinnedBuffer<U>;
  using Ticket = cuda::Ticket;
  template <class U>
  void fetch_later(U* dst, const U* src, std::size_t count, Ticket& t) const {
    if (count > 0) {
      check(cudaMemcpyAsync(dst, src, count * sizeof(U), cudaMemcpyDeviceToHost, stream()),
            "cudaMemcpyAsync (fetch_later)");
    }
    t.record(stream());
  }
  void wait(Ticket& t) const { t.wait(); }
  // A ticket for this point of the stream.
  void record(Ticket& t) const { t.record(stream()); }
  void synchronize() const {
    check(cudaStreamSynchronize(stream()),
          "the work on this stream (cudaStreamSynchronize; the failing kernel ran earlier)");
  }
  const T* parameters(std::span<const T> params, Buffer<T>& buf) const {
    return stage_in(params.data(), params.size(), buf);
  }

 private:
  // After every launch: a launch error names the kernel and its call site.
  // With LNN_CUDA_SYNC=1 (sync_launches) the host also waits for the kernel,
  // so a fault inside it is reported here, naming it, instead of at the next
  // fetch (docs/benchmarks.md, "When a GPU test fails").
  void launched(const char* kernel, const std::source_location& loc) const {
    cudaError_t err = cudaGetLastError();
    if (err == cudaSuccess && sync_launches()) err = cudaStreamSynchronize(stream());
    if (err == cudaSuccess) return;
    throw BackendError(std::string("CUDA: kernel ") + kernel + " launched from " +
                       loc.function_name() + " (" + where(loc) + ") failed" +
                       (sync_launches() ? " (LNN_CUDA_SYNC=1: it ran to its end or fault)" : "") +
                       ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
  }

  // Values a row-major rows × cols array with leading dimension ld spans.
  static std::size_t stored(int rows, int cols, int ld) {
    return rows > 0 && cols > 0 ? static_cast<std::size_t>(rows - 1) * ld + cols : 0;
  }

  std::shared_ptr<CudaContext> ctx_;
  // The split operands of 3xTF32 GEMMs, grown on demand (float cells).
  mutable std::shared_ptr<DeviceBuffer<float>> split_ = std::make_shared<DeviceBuffer<float>>();
  float* split_scratch(std::size_t cells) const {
    if (split_->size() < cells) split_->resize(cells);
    return split_->data();
  }
  // The reductions' scratch (sum_squares' partial sums, sum_rows' chunk sums,
  // in double-sized cells), shared by the copies of this backend and grown on
  // demand. Uses follow each other on the one stream; growing frees the old
  // buffer with cudaFree, which waits for the device.
  mutable std::shared_ptr<DeviceBuffer<double>> scratch_ = std::make_shared<DeviceBuffer<double>>();
  double* scratch(std::size_t cells) const {
    if (scratch_->size() < cells) scratch_->resize(cells);
    return scratch_->data();
  }
};

}  // namespace lnn::cuda
