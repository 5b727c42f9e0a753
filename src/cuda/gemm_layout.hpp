// Row-major GEMMs on a column-major BLAS (cuBLAS). A row-major m×n matrix is
// the column-major n×m matrix of its transpose, so C = op(A)·op(B) (row-major)
// is Cᵀ = op(B)ᵀ·op(A)ᵀ (column-major): the same call with the operands and
// the m/n sizes swapped, transposition flags and leading dimensions kept.
// Plain C++ so that tests/cpu checks the mapping against CBLAS's column-major
// interface without a GPU.
#pragma once

namespace lnn::cuda {

struct ColMajorGemm {
  bool trans_first = false, trans_second = false;  // op of the first / second operand
  int m = 0, n = 0, k = 0;                         // column-major sizes
  bool b_first = true;                             // the first operand is the row-major B
  int ld_first = 0, ld_second = 0, ldc = 0;
};

// For row-major C (m×n) = op(A) (m×k) · op(B) (k×n) with leading dimensions
// lda, ldb, ldc: the column-major call computing the same memory.
constexpr ColMajorGemm as_col_major(bool trans_a, bool trans_b, int m, int n, int k, int lda,
                                    int ldb, int ldc) {
  ColMajorGemm g;
  g.trans_first = trans_b;
  g.trans_second = trans_a;
  g.m = n;
  g.n = m;
  g.k = k;
  g.b_first = true;
  g.ld_first = ldb;
  g.ld_second = lda;
  g.ldc = ldc;
  return g;
}

}  // namespace lnn::cuda
