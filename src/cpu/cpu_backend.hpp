// The CPU backend: GEMMs through CBLAS, per-sample loops through OpenMP.
// It implements the operations the layer algorithm (src/engine) is written
// against; the CUDA backend provides the same names over cuBLAS and kernels.
#pragma once
#include <cblas.h>

#include <cstddef>
#include <vector>

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
#pragma omp parallel for schedule(static) if (count >= kParallelMin)
    for (int i = 0; i < count; ++i) f(i);
  }
  static constexpr int kParallelMin = 32;

  // out[j] (+)= Σ_r X[r·ld + j] for j < cols, r < rows. Fixed order (r
  // ascending) so a result depends only on the rows summed.
  static void sum_rows(int rows, int cols, const T* X, std::size_t ld, T* out) {
#pragma omp parallel for schedule(static) if (rows >= kParallelMin)
    for (int j = 0; j < cols; ++j) {
      T acc = T(0);
      for (int r = 0; r < rows; ++r) acc += X[static_cast<std::size_t>(r) * ld + j];
      out[j] += acc;
    }
  }
};

}  // namespace lnn::cpu
