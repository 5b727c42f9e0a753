// Per-sample dense solves M x = b for the Euler–Lagrange step (docs/math.md §5).
// M is n×n, symmetric, row-major, runtime n; all storage is the caller's.
// Since M = Mᵀ, the factor of M also solves Mᵀ x = b: the adjoint (docs/math.md §4,
// λ = M⁻¹ā) calls solve() again on the same factor, which solve() leaves intact.
//
// Workspace per sample, solve_workspace(n) = 2n² + 2n values of T and n ints:
//   cholesky, damped: work[0, n²)   L, lower triangle; work[n²] the sign s = ±1
//                     of A (see cholesky_factor); iwork: symmetric swaps
//   lu:               work[0, n²)   L (unit, below the diagonal) and U; iwork: row swaps
//   pinv:             work[0, n²)   the eigenvectors V as a Householder QR, V = Q·R
//                     work[n², 2n²) scratch of the Jacobi sweeps
//                     work[2n², 2n²+n) eigenvalues w, work[2n²+n, 2n²+2n) τ of Q
// The pinv solve applies Q D⁺ Qᵀ (= V D⁺ Vᵀ) with reflectors in place, so solve()
// needs no scratch and only reads `work`.
//
// "singular" compares the smallest pivot or |eigenvalue| with a relative cutoff.
// Pivoted Cholesky and the eigenvalues reveal a (near) rank deficiency reliably;
// partial-pivoting LU usually does, but is not rank-revealing in general.
#pragma once
#include <cmath>

#include "core/host_device.hpp"
#include "lnn/solve.hpp"

namespace lnn::core {

template <class T>
struct FactorInfo {
  SolveStatus status;
  // cholesky/damped: the smallest pivot L_jj² (on not_positive_definite the
  // offending one); lu: the smallest |u_jj|; pinv: the eigenvalue of smallest |λ|
  // (signed). On non-finite input: the first non-finite entry of A.
  T min_pivot;
};

LNN_HD constexpr int solve_workspace(int n) { return 2 * n * n + 2 * n; }
LNN_HD constexpr int solve_int_workspace(int n) { return n; }

// Machine epsilon as literals: std::numeric_limits is not device-callable.
template <class T>
LNN_HD constexpr T epsilon();
template <>
LNN_HD constexpr float epsilon<float>() {
  return 1.1920928955078125e-7F;
}
template <>
LNN_HD constexpr double epsilon<double>() {
  return 2.220446049250313080847e-16;
}

// False for ±inf and NaN (inf − inf and NaN − NaN are NaN).
template <class T>
LNN_HD bool is_finite(T x) {
  return x - x == T(0);
}

template <class T>
LNN_HD void swap_entries(T& a, T& b) {
  const T t = a;
  a = b;
  b = t;
}

// SolveOptions::rcond, where 0 (or less) means n·eps, and for pinv 10·n·eps,
// the cutoff of NumPy's and JAX's pinv (10·max(m, n)·eps·σ_max).
template <class T>
LNN_HD T resolved_rcond(const SolveOptions& opt, int n) {
  if (opt.rcond > 0.0) return T(opt.rcond);
  return T(opt.method == SolveMethod::pinv ? 10 * n : n) * epsilon<T>();
}

// ---- Cholesky ----------------------------------------------------------------
// The start of a Cholesky factorization (pivoted here, unpivoted in the
// batched path, batched_prepare): the sign s into L[n²], s·A + shift·I into
// the lower triangle of L; returns max_i(s·A_ii + shift), the cutoff's scale.
template <class T>
LNN_HD T cholesky_setup(const T* A, int n, T shift, T* L) {
  T trace = T(0);
  for (int i = 0; i < n; ++i) trace += A[i * n + i];
  const T sign = trace < T(0) ? T(-1) : T(1);
  L[n * n] = sign;
  T scale = T(0);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < i; ++j) L[i * n + j] = sign * A[i * n + j];
    L[i * n + i] = sign * A[i * n + i] + shift;
    scale = L[i * n + i] > scale ? L[i * n + i] : scale;
  }
  return scale;
}

// Pivot d of step j into info; false (info not_positive_definite, min_pivot
// d) when the factorization must stop.
template <class T>
LNN_HD bool cholesky_pivot(T d, int j, T cutoff, FactorInfo<T>& info) {
  if (j == 0 || d < info.min_pivot) info.min_pivot = d;
  if (!(d > T(0)) || !is_finite(d)) {
    info = {SolveStatus::not_positive_definite, d};
    return false;
  }
  if (d <= cutoff) info.status = SolveStatus::singular;
  return true;
}

// A definite A of either sign: s = −1 when the trace of A is negative, else +1,
// and P (s·A + shift·I) Pᵀ = L Lᵀ, so A x = b is x = s·(s·A + shift·I)⁻¹ b.
// L and −L give the same motion, so a negative definite M is as valid as a
// positive one (docs/math.md §5); shift (damped) moves s·A away from zero.
// Diagonal pivoting (LAPACK pstrf): step j takes the largest remaining
// Schur-complement diagonal as pivot d_j = L_jj², so the pivots decrease and a
// (near) rank deficiency shows in the last ones. Reads the lower triangle of
// A; piv[j] is the row and column swapped with j at step j; s goes to L[n²].
// d_j <= 0 or non-finite: not_positive_definite (s·A is not positive
// definite: A is indefinite), stop. d_j <= rcond·max_i(s·A_ii + shift):
// singular (the factorization continues, so min_pivot is the minimum over all j).
template <class T>
LNN_HD FactorInfo<T> cholesky_factor(const T* A, int n, T shift, T rcond, T* L, int* piv) {
  const T cutoff = rcond * cholesky_setup(A, n, shift, L);
  FactorInfo<T> info{SolveStatus::ok, T(0)};
  for (int j = 0; j < n; ++j) {
    int p = j;
    for (int i = j + 1; i < n; ++i)
      if (L[i * n + i] > L[p * n + p]) p = i;
    piv[j] = p;
    if (p != j) {  // symmetric swap of j and p within the lower triangle
      for (int k = 0; k < j; ++k) swap_entries(L[j * n + k], L[p * n + k]);  // rows of L so far
      swap_entries(L[j * n + j], L[p * n + p]);
      for (int i = j + 1; i < p; ++i) swap_entries(L[i * n + j], L[p * n + i]);
      for (int i = p + 1; i < n; ++i) swap_entries(L[i * n + j], L[i * n + p]);
    }
    const T d = L[j * n + j];
    if (!cholesky_pivot(d, j, cutoff, info)) return info;
    const T l = std::sqrt(d);
    L[j * n + j] = l;
    for (int i = j + 1; i < n; ++i) L[i * n + j] /= l;
    for (int c = j + 1; c < n; ++c)  // Schur complement, lower triangle
      for (int i = c; i < n; ++i) L[i * n + c] -= L[i * n + j] * L[c * n + j];
  }
  return info;
}

// b ← s·(s·A + shift·I)⁻¹ b = s·Pᵀ (L Lᵀ)⁻¹ P b, s = L[n²].
template <class T>
LNN_HD void cholesky_solve(int n, const T* L, const int* piv, T* b) {
  for (int j = 0; j < n; ++j) swap_entries(b[j], b[piv[j]]);
  for (int i = 0; i < n; ++i) {
    T s = b[i];
    for (int k = 0; k < i; ++k) s -= L[i * n + k] * b[k];
    b[i] = s / L[i * n + i];
  }
  for (int i = n - 1; i >= 0; --i) {
    T s = b[i];
    for (int k = i + 1; k < n; ++k) s -= L[k * n + i] * b[k];
    b[i] = s / L[i * n + i];
  }
  for (int j = n - 1; j >= 0; --j) swap_entries(b[j], b[piv[j]]);
  if (L[n * n] < T(0))
    for (int i = 0; i < n; ++i) b[i] = -b[i];
}

// ---- LU with partial pivoting --------------------------------------------------
// The start of an LU factorization: A into LU (transposed when `transpose`:
// the batched path's column-major factor, batched_prepare); returns max|A_ij|,
// the cutoff's scale.
template <class T>
LNN_HD T lu_setup(const T* A, int n, T* LU, bool transpose = false) {
  T scale = T(0);
  for (int i = 0; i < n * n; ++i) {
    LU[transpose ? (i % n) * n + i / n : i] = A[i];
    scale = std::fabs(A[i]) > scale ? std::fabs(A[i]) : scale;
  }
  return scale;
}

// Pivot u of step j into info; false (info singular, min_pivot |u|) when
// the factorization must stop.
template <class T>
LNN_HD bool lu_pivot(T u, int j, T cutoff, FactorInfo<T>& info) {
  const T au = std::fabs(u);
  if (j == 0 || au < info.min_pivot) info.min_pivot = au;
  if (!is_finite(u)) {
    info = {SolveStatus::singular, au};
    return false;
  }
  if (au <= cutoff) info.status = SolveStatus::singular;
  return true;
}

// P A = L U in place in LU; piv[j] is the row swapped with row j at step j.
// |u_jj| <= rcond·max|A_ij|: singular (a zero column is skipped, as LAPACK getrf does);
// a non-finite pivot (overflow): singular, stop.
template <class T>
LNN_HD FactorInfo<T> lu_factor(const T* A, int n, T rcond, T* LU, int* piv) {
  const T cutoff = rcond * lu_setup(A, n, LU);
  FactorInfo<T> info{SolveStatus::ok, T(0)};
  for (int j = 0; j < n; ++j) {
    int p = j;
    for (int i = j + 1; i < n; ++i)
      if (std::fabs(LU[i * n + j]) > std::fabs(LU[p * n + j])) p = i;
    piv[j] = p;
    if (p != j)
      for (int c = 0; c < n; ++c) swap_entries(LU[j * n + c], LU[p * n + c]);
    const T u = LU[j * n + j];
    if (!lu_pivot(u, j, cutoff, info)) return info;
    if (u == T(0)) continue;
    for (int i = j + 1; i < n; ++i) {
      const T l = LU[i * n + j] / u;
      LU[i * n + j] = l;
      for (int c = j + 1; c < n; ++c) LU[i * n + c] -= l * LU[j * n + c];
    }
  }
  return info;
}

// b ← A⁻¹ b from lu_factor.
template <class T>
LNN_HD void lu_solve(int n, const T* LU, const int* piv, T* b) {
  for (int j = 0; j < n; ++j) swap_entries(b[j], b[piv[j]]);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < i; ++k) b[i] -= LU[i * n + k] * b[k];
  for (int i = n - 1; i >= 0; --i) {
    T s = b[i];
    for (int k = i + 1; k < n; ++k) s -= LU[i * n + k] * b[k];
    b[i] = s / LU[i * n + i];
  }
}

// ---- symmetric eigen-decomposition and pseudo-inverse --------------------------
constexpr int kJacobiMaxSweeps = 100;

// A = V diag(w) Vᵀ by cyclic Jacobi rotations (Golub & Van Loan §8.5) until
// off(D) <= eps·‖A‖_F. D (n×n) is scratch that ends ≈ diag(w); the columns of V
// are the eigenvectors. Returns the number of sweeps (kJacobiMaxSweeps if capped).
template <class T>
LNN_HD int jacobi_eigen(const T* A, int n, T* V, T* D, T* w) {
  T amax = T(0);
  for (int i = 0; i < n * n; ++i) {
    D[i] = A[i];
    V[i] = T(0);
    amax = std::fabs(A[i]) > amax ? std::fabs(A[i]) : amax;
  }
  for (int i = 0; i < n; ++i) V[i * n + i] = T(1);
  // Norms of A/amax, so that squares cannot overflow.
  const T inv = amax > T(0) ? T(1) / amax : T(1);
  T norm2 = T(0);
  for (int i = 0; i < n * n; ++i) norm2 += (A[i] * inv) * (A[i] * inv);
  const T tol2 = epsilon<T>() * epsilon<T>() * norm2;
  int sweep = 0;
  for (; sweep < kJacobiMaxSweeps; ++sweep) {
    T off2 = T(0);
    for (int p = 0; p < n; ++p)
      for (int q = p + 1; q < n; ++q) off2 += T(2) * (D[p * n + q] * inv) * (D[p * n + q] * inv);
    if (off2 <= tol2) break;
    for (int p = 0; p < n; ++p)
      for (int q = p + 1; q < n; ++q) {
        const T apq = D[p * n + q];
        if (apq == T(0)) continue;
        // J = [[c, s], [−s, c]] on (p, q) zeroes d_pq of Jᵀ D J; t = s/c is the
        // smaller root of t² + 2θt − 1 = 0.
        const T app = D[p * n + p], aqq = D[q * n + q];
        const T theta = (aqq - app) / (T(2) * apq);
        const T at = std::fabs(theta);
        const T root =
            at > T(1) ? at * std::sqrt(T(1) + T(1) / (at * at)) : std::sqrt(T(1) + at * at);
        const T t = (theta < T(0) ? T(-1) : T(1)) / (at + root);
        const T c = T(1) / std::sqrt(T(1) + t * t), s = t * c;
        D[p * n + p] = app - t * apq;
        D[q * n + q] = aqq + t * apq;
        D[p * n + q] = D[q * n + p] = T(0);
        for (int r = 0; r < n; ++r) {
          if (r != p && r != q) {
            const T arp = D[r * n + p], arq = D[r * n + q];
            D[r * n + p] = D[p * n + r] = c * arp - s * arq;
            D[r * n + q] = D[q * n + r] = s * arp + c * arq;
          }
          const T vrp = V[r * n + p], vrq = V[r * n + q];
          V[r * n + p] = c * vrp - s * vrq;
          V[r * n + q] = s * vrp + c * vrq;
        }
      }
  }
  for (int i = 0; i < n; ++i) w[i] = D[i * n + i];
  return sweep;
}

// The mass-matrix penalty of docs/math.md §7 for one symmetric A (n×n): returns
// Σ_j relu(−λ_j) and writes G = ∂/∂A = −Σ_{λ_j<0} v_j v_jᵀ (n×n, symmetric).
// G is the projector onto the negative eigenspace, so it is well defined even
// where negative eigenvalues repeat; λ_j = 0 counts as not negative (relu's
// kink). work: penalty_workspace(n) values.
LNN_HD constexpr int penalty_workspace(int n) { return 2 * n * n + n; }

template <class T>
LNN_HD T negative_eigen_penalty(const T* A, int n, T* G, T* work) {
  T* V = work;
  T* w = work + 2 * n * n;
  jacobi_eigen(A, n, V, work + n * n, w);
  T pen = T(0);
  for (int i = 0; i < n * n; ++i) G[i] = T(0);
  for (int j = 0; j < n; ++j) {
    if (!(w[j] < T(0))) continue;
    pen -= w[j];
    for (int p = 0; p < n; ++p)
      for (int q = 0; q < n; ++q) G[p * n + q] -= V[p * n + j] * V[q * n + j];
  }
  return pen;
}

// Householder QR in place (LAPACK geqr2 layout): Q = H_0 ⋯ H_{n−1},
// H_j = I − τ_j v vᵀ with v_j = 1 and v_i (i > j) below the diagonal; R on and above.
template <class T>
LNN_HD void householder_qr(T* R, int n, T* tau) {
  for (int j = 0; j < n; ++j) {
    T x2 = T(0);
    for (int i = j + 1; i < n; ++i) x2 += R[i * n + j] * R[i * n + j];
    const T alpha = R[j * n + j];
    if (x2 == T(0)) {
      tau[j] = T(0);
      continue;
    }
    const T norm = std::sqrt(alpha * alpha + x2);
    const T beta = alpha >= T(0) ? -norm : norm;
    tau[j] = (beta - alpha) / beta;
    const T inv = T(1) / (alpha - beta);
    for (int i = j + 1; i < n; ++i) R[i * n + j] *= inv;
    R[j * n + j] = beta;
    for (int c = j + 1; c < n; ++c) {
      T s = R[j * n + c];
      for (int i = j + 1; i < n; ++i) s += R[i * n + j] * R[i * n + c];
      s *= tau[j];
      R[j * n + c] -= s;
      for (int i = j + 1; i < n; ++i) R[i * n + c] -= s * R[i * n + j];
    }
  }
}

// y ← H_j y for a reflector stored by householder_qr.
template <class T>
LNN_HD void apply_reflector(int n, const T* QR, const T* tau, int j, T* y) {
  T s = y[j];
  for (int i = j + 1; i < n; ++i) s += QR[i * n + j] * y[i];
  s *= tau[j];
  y[j] -= s;
  for (int i = j + 1; i < n; ++i) y[i] -= s * QR[i * n + j];
}

// Eigenvalues with |λ| at or below this are dropped by the pseudo-inverse.
template <class T>
LNN_HD T eigen_cutoff(int n, const T* w, T rcond) {
  T big = T(0);
  for (int i = 0; i < n; ++i) big = std::fabs(w[i]) > big ? std::fabs(w[i]) : big;
  return rcond * big;
}

// Eigen-decomposition of A into `work` (layout at the top of this file).
// singular if any |λ| <= rcond·max|λ| (pinv_solve drops those), else ok.
template <class T>
LNN_HD FactorInfo<T> pinv_factor(const T* A, int n, T rcond, T* work) {
  T* QR = work;
  T* w = work + 2 * n * n;
  jacobi_eigen(A, n, QR, work + n * n, w);
  householder_qr(QR, n, w + n);
  const T cutoff = eigen_cutoff(n, w, rcond);
  FactorInfo<T> info{SolveStatus::ok, n > 0 ? w[0] : T(0)};
  for (int i = 0; i < n; ++i) {
    if (std::fabs(w[i]) < std::fabs(info.min_pivot)) info.min_pivot = w[i];
    if (std::fabs(w[i]) <= cutoff) info.status = SolveStatus::singular;
  }
  return info;
}

// b ← V diag(w)⁺ Vᵀ b, the minimum-norm least-squares solution. Column k of
// Q = H_0 ⋯ H_{n−1} is ±(eigenvector k) because R ≈ diag(±1), and the signs cancel.
template <class T>
LNN_HD void pinv_solve(int n, T rcond, const T* QR, const T* tau, const T* w, T* b) {
  for (int j = 0; j < n; ++j) apply_reflector(n, QR, tau, j, b);  // Qᵀ b
  const T cutoff = eigen_cutoff(n, w, rcond);
  for (int k = 0; k < n; ++k) b[k] = std::fabs(w[k]) > cutoff ? b[k] / w[k] : T(0);
  for (int j = n - 1; j >= 0; --j) apply_reflector(n, QR, tau, j, b);  // Q y
}

// ---- dispatch ---------------------------------------------------------------
// True, with info set to that failure, when A (n×n) has a non-finite entry.
template <class T>
LNN_HD bool non_finite_entry(const T* A, int n, FactorInfo<T>& info) {
  for (int i = 0; i < n * n; ++i)
    if (!is_finite(A[i])) {
      info = {SolveStatus::not_positive_definite, A[i]};
      return true;
    }
  return false;
}

// Factor A (n×n, both triangles, read only) with opt.method into work
// (solve_workspace(n) values) and iwork (solve_int_workspace(n) ints). A non-finite
// entry anywhere in A fails up front with not_positive_definite for every method
// (pinv's singular would read as solvable) and min_pivot = that entry.
template <class T>
LNN_HD FactorInfo<T> factor(const T* A, int n, const SolveOptions& opt, T* work, int* iwork) {
  const T rcond = resolved_rcond<T>(opt, n);
  FactorInfo<T> bad;
  if (non_finite_entry(A, n, bad)) return bad;
  switch (opt.method) {
    case SolveMethod::cholesky:
      return cholesky_factor(A, n, T(0), rcond, work, iwork);
    case SolveMethod::damped:
      return cholesky_factor(A, n, T(opt.damping), rcond, work, iwork);
    case SolveMethod::lu:
      return lu_factor(A, n, rcond, work, iwork);
    case SolveMethod::pinv:
      return pinv_factor(A, n, rcond, work);
  }
  return {SolveStatus::singular, T(0)};  // not reached
}

// b ← A⁻¹ b (= A⁻ᵀ b, A symmetric) from a factor() whose status was ok, or for pinv
// also singular. Reads work and iwork only, so one factor serves any number of solves.
template <class T>
LNN_HD void solve(int n, const SolveOptions& opt, const T* work, const int* iwork, T* b) {
  switch (opt.method) {
    case SolveMethod::cholesky:
    case SolveMethod::damped:
      cholesky_solve(n, work, iwork, b);
      return;
    case SolveMethod::lu:
      lu_solve(n, work, iwork, b);
      return;
    case SolveMethod::pinv:
      pinv_solve(n, resolved_rcond<T>(opt, n), work, work + 2 * n * n + n, work + 2 * n * n, b);
      return;
  }
}

// Whether a factor() result can be solved with: ok, or singular under pinv
// (whose solve is the pseudo-inverse's).
template <class T>
LNN_HD bool usable(const FactorInfo<T>& info, const SolveOptions& opt) {
  return info.status == SolveStatus::ok ||
         (opt.method == SolveMethod::pinv && info.status == SolveStatus::singular);
}

// ---- the batched path (docs/math.md §5) ----------------------------------------
// Above the per-sample limit a device backend factors every sample's M in one
// library call (Backend::batched_factor: cuSOLVER potrfBatched, Cholesky
// WITHOUT pivoting, for cholesky and damped; cuBLAS getrfBatched, LU with
// partial pivoting, for lu; pinv stays per-sample) and solves with
// Backend::batched_solve (potrsBatched / getrsBatched). The engine's
// per-sample passes around those calls are these functions:
//   batched_prepare   before the factor: the matrix the library factors
//   batched_classify  after it: status and min_pivot by the rules of factor()
//   batched_finish    after each solve: the sign s of a negative definite M
// Work per sample (within solve_workspace(n)):
//   cholesky, damped: work[0, n²) s·A + shift·I in the lower triangle
//                     (row-major; the upper triangle of the library's
//                     column-major view), then its L there; work[n²] the sign
//                     s; work[n² + 1] the cutoff's scale max_i(s·A_ii + shift)
//   lu:               work[0, n²) Aᵀ, i.e. A column-major, then L and U
//                     column-major; work[n²] the cutoff's scale max|A_ij|;
//                     iwork: the row swaps, 1-based (LAPACK's ipiv)
// A sample without a usable factor (non-finite M, a failed or singular
// factor) gets the identity as its factor, so the library only ever meets
// finite values; the engine writes NaN for its accelerations.
// What differs from factor(): the Cholesky pivots are taken in the order of
// M's rows, not largest first, so min_pivot is the smallest of other pivots
// and "singular" (a pivot at or below the cutoff) is not rank-revealing; the
// pivots are L_jj² after the square root; and a failed factor's pivot is
// recomputed from the row of L the library left (docs/math.md §5).
LNN_HD constexpr bool batched_method(SolveMethod m) { return m != SolveMethod::pinv; }

template <class T>
LNN_HD void batched_identity(int n, SolveMethod m, T* work, int* iwork) {
  for (int i = 0; i < n * n; ++i) work[i] = T(0);
  for (int i = 0; i < n; ++i) work[i * n + i] = T(1);
  work[n * n] = T(1);  // cholesky: the sign
  if (m == SolveMethod::lu)
    for (int i = 0; i < n; ++i) iwork[i] = i + 1;
}

// The matrix that Backend::batched_factor factors, from A (n×n, row-major).
template <class T>
LNN_HD void batched_prepare(const T* A, int n, const SolveOptions& opt, T* work, int* iwork) {
  FactorInfo<T> bad;
  if (non_finite_entry(A, n, bad)) {
    batched_identity(n, opt.method, work, iwork);
  } else if (opt.method == SolveMethod::lu) {
    work[n * n] = lu_setup(A, n, work, true);
  } else {
    const T shift = opt.method == SolveMethod::damped ? T(opt.damping) : T(0);
    work[n * n + 1] = cholesky_setup(A, n, shift, work);
  }
}

// Status and min_pivot of a sample after Backend::batched_factor; `info` is
// the library's (Cholesky: j + 1 when the factor stopped at step j). A
// factor that is not usable() is replaced by the identity.
template <class T>
LNN_HD FactorInfo<T> batched_classify(const T* A, int n, const SolveOptions& opt, int info,
                                      T* work, int* iwork) {
  const T rcond = resolved_rcond<T>(opt, n);
  FactorInfo<T> fi{SolveStatus::ok, T(0)};
  if (!non_finite_entry(A, n, fi)) {
    if (opt.method == SolveMethod::lu) {
      const T cutoff = rcond * work[n * n];
      for (int j = 0; j < n && lu_pivot(work[j * n + j], j, cutoff, fi); ++j) {
      }
    } else {
      const T* L = work;
      const T cutoff = rcond * L[n * n + 1];
      const int failed = info > 0 && info <= n ? info - 1 : n;
      for (int j = 0; j < n; ++j) {
        T d = L[j * n + j] * L[j * n + j];
        if (j == failed) {  // the pivot the library rejected: s·A_jj + shift − Σ_k L_jk²
          const T shift = opt.method == SolveMethod::damped ? T(opt.damping) : T(0);
          d = L[n * n] * A[j * n + j] + shift;
          for (int k = 0; k < j; ++k) d -= L[j * n + k] * L[j * n + k];
        }
        if (!cholesky_pivot(d, j, cutoff, fi)) break;
        if (j == failed) {  // rejected although rounding put it above zero here
          fi = {SolveStatus::not_positive_definite, d};
          break;
        }
      }
    }
  }
  if (!usable(fi, opt)) batched_identity(n, opt.method, work, iwork);
  return fi;
}

// After Backend::batched_solve of a usable sample: b ← s·b (Cholesky's sign).
template <class T>
LNN_HD void batched_finish(int n, const SolveOptions& opt, const T* work, T* b) {
  if (opt.method != SolveMethod::lu && work[n * n] < T(0))
    for (int i = 0; i < n; ++i) b[i] = -b[i];
}

namespace detail {

// factor() + solve() with n = N known at compile time: A, the factor and b
// are local arrays that the compiler unrolls over (in registers on a GPU for
// small N), and the factor is stored to work/iwork afterwards for later
// solves (the adjoint's). The same lines in the same order as the runtime-n
// path, so the results are the same bits.
template <int N, class T>
LNN_HD FactorInfo<T> factor_solve_fixed(const T* A, const SolveOptions& opt, T* work, int* iwork,
                                        T* b) {
  T a[N * N], x[N];
  T w[solve_workspace(N)] = {};  // a failed or pinv factor leaves parts unwritten
  int iw[N] = {};
  for (int i = 0; i < N * N; ++i) a[i] = A[i];
  for (int i = 0; i < N; ++i) x[i] = b[i];
  const FactorInfo<T> info = factor(a, N, opt, w, iw);
  if (usable(info, opt)) {
    solve(N, opt, w, iw, x);
    for (int i = 0; i < N; ++i) b[i] = x[i];
  }
  for (int i = 0; i < solve_workspace(N); ++i) work[i] = w[i];
  for (int i = 0; i < N; ++i) iwork[i] = iw[i];
  return info;
}

}  // namespace detail

// Factor A (as factor()) into work/iwork and, where usable(), solve b in
// place (b is left alone otherwise). One switch picks a compile-time size for
// n ≤ kFixedSolveMax (detail::factor_solve_fixed), the runtime-n code above
// otherwise.
constexpr int kFixedSolveMax = 8;
template <class T>
LNN_HD FactorInfo<T> factor_solve(const T* A, int n, const SolveOptions& opt, T* work, int* iwork,
                                  T* b) {
  switch (n) {
    case 1:
      return detail::factor_solve_fixed<1>(A, opt, work, iwork, b);
    case 2:
      return detail::factor_solve_fixed<2>(A, opt, work, iwork, b);
    case 3:
      return detail::factor_solve_fixed<3>(A, opt, work, iwork, b);
    case 4:
      return detail::factor_solve_fixed<4>(A, opt, work, iwork, b);
    case 5:
      return detail::factor_solve_fixed<5>(A, opt, work, iwork, b);
    case 6:
      return detail::factor_solve_fixed<6>(A, opt, work, iwork, b);
    case 7:
      return detail::factor_solve_fixed<7>(A, opt, work, iwork, b);
    case 8:
      return detail::factor_solve_fixed<8>(A, opt, work, iwork, b);
    default:
      break;
  }
  const FactorInfo<T> info = factor(A, n, opt, work, iwork);
  if (usable(info, opt)) solve(n, opt, work, iwork, b);
  return info;
}

}  // namespace lnn::core
