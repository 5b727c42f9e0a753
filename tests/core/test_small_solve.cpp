// The per-sample dense solves (src/core/small_solve.hpp, docs/math.md §5), for float
// and double, against references computed in long double: Gaussian elimination
// with partial pivoting, and pseudo-inverses from the matrices' construction.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/small_solve.hpp"

namespace lnn::core {
namespace {

using LD = long double;
using LMat = std::vector<LD>;  // n×n row-major
using LVec = std::vector<LD>;

constexpr int kSizes[] = {1, 2, 3, 7, 16};
constexpr SolveMethod kMethods[] = {SolveMethod::cholesky, SolveMethod::lu, SolveMethod::damped,
                                    SolveMethod::pinv};

std::string where(int n, SolveMethod m) {
  const char* const names[] = {"cholesky", "lu", "damped", "pinv"};  // SolveMethod order
  return "n=" + std::to_string(n) + " method=" + names[static_cast<int>(m)];
}

SolveOptions options(SolveMethod m, double damping = 1e-6, double rcond = 0.0) {
  SolveOptions opt;
  opt.method = m;
  opt.damping = damping;
  opt.rcond = rcond;
  return opt;
}

// The one tolerance: c·n·eps·cond. cond = 1 bounds backward errors (residuals,
// eigenvalues relative to the largest); a condition number bounds forward errors.
template <class T>
double tol(int n, double cond) {
  return 8.0 * n * static_cast<double>(std::numeric_limits<T>::epsilon()) * cond;
}

// ---- long-double references ----------------------------------------------------

LD uniform(std::mt19937_64& rng, LD lo, LD hi) {
  return lo + (hi - lo) * static_cast<LD>(rng() >> 11) * 0x1p-53L;
}

LVec random_vec(int n, std::mt19937_64& rng) {
  LVec v(n);
  for (LD& x : v) x = uniform(rng, -1, 1);
  return v;
}

// x = A⁻¹ b by Gaussian elimination with partial pivoting; empty if A is singular.
LVec ref_solve(LMat A, LVec b, int n) {
  for (int j = 0; j < n; ++j) {
    int p = j;
    for (int i = j + 1; i < n; ++i)
      if (std::fabs(A[i * n + j]) > std::fabs(A[p * n + j])) p = i;
    if (A[p * n + j] == 0) return {};
    for (int c = 0; c < n; ++c) std::swap(A[j * n + c], A[p * n + c]);
    std::swap(b[j], b[p]);
    for (int i = j + 1; i < n; ++i) {
      const LD l = A[i * n + j] / A[j * n + j];
      for (int c = j; c < n; ++c) A[i * n + c] -= l * A[j * n + c];
      b[i] -= l * b[j];
    }
  }
  for (int i = n - 1; i >= 0; --i) {
    for (int c = i + 1; c < n; ++c) b[i] -= A[i * n + c] * b[c];
    b[i] /= A[i * n + i];
  }
  return b;
}

LD norm1(const LMat& A, int n) {
  LD best = 0;
  for (int c = 0; c < n; ++c) {
    LD s = 0;
    for (int r = 0; r < n; ++r) s += std::fabs(A[r * n + c]);
    best = std::max(best, s);
  }
  return best;
}

// ‖A⁻¹‖₁ (inf if A is singular).
LD inverse_norm1(const LMat& A, int n) {
  LMat inv(n * n);
  for (int c = 0; c < n; ++c) {
    LVec e(n, 0);
    e[c] = 1;
    const LVec x = ref_solve(A, e, n);
    if (x.empty()) return std::numeric_limits<LD>::infinity();
    for (int r = 0; r < n; ++r) inv[r * n + c] = x[r];
  }
  return norm1(inv, n);
}

double cond1(const LMat& A, int n) {
  return static_cast<double>(norm1(A, n) * inverse_norm1(A, n));
}

LD norm2(const LVec& v) {
  LD s = 0;
  for (LD x : v) s += x * x;
  return std::sqrt(s);
}

LVec matvec(const LMat& A, int rows, int cols, const LVec& x) {
  LVec y(rows, 0);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) y[r] += A[r * cols + c] * x[c];
  return y;
}

// A = Q diag(λ) Qᵀ with Q orthogonal: the spectrum is known exactly.
struct Spectral {
  LMat Q;
  LVec lambda;
};

LMat random_orthogonal(int n, std::mt19937_64& rng) {
  LMat Q(n * n);
  for (LD& x : Q) x = uniform(rng, -1, 1);
  for (int pass = 0; pass < 2; ++pass)  // modified Gram–Schmidt on columns, twice
    for (int c = 0; c < n; ++c) {
      for (int k = 0; k < c; ++k) {
        LD d = 0;
        for (int r = 0; r < n; ++r) d += Q[r * n + k] * Q[r * n + c];
        for (int r = 0; r < n; ++r) Q[r * n + c] -= d * Q[r * n + k];
      }
      LD norm = 0;
      for (int r = 0; r < n; ++r) norm += Q[r * n + c] * Q[r * n + c];
      norm = std::sqrt(norm);
      for (int r = 0; r < n; ++r) Q[r * n + c] /= norm;
    }
  return Q;
}

// |λ| log-uniform in [lo, hi] with both ends present (n ≥ 2); every other one
// negative when `indefinite` (λ_0 = −lo for n = 1).
Spectral random_spectral(int n, LD lo, LD hi, bool indefinite, std::mt19937_64& rng) {
  Spectral s{random_orthogonal(n, rng), LVec(n)};
  for (int k = 0; k < n; ++k) s.lambda[k] = lo * std::pow(hi / lo, uniform(rng, 0, 1));
  s.lambda[0] = lo;
  if (n >= 2) s.lambda[1] = hi;
  if (indefinite)
    for (int k = (n == 1 ? 0 : 1); k < n; k += 2) s.lambda[k] = -s.lambda[k];
  return s;
}

LMat compose(const Spectral& s, int n) {
  LMat A(n * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) {
      LD a = 0;
      for (int k = 0; k < n; ++k) a += s.Q[i * n + k] * s.lambda[k] * s.Q[j * n + k];
      A[i * n + j] = A[j * n + i] = a;
    }
  return A;
}

// Σ over |λ_k| > cutoff of q_k (q_kᵀ b) / λ_k.
LVec spectral_pinv_solve(const Spectral& s, int n, LD cutoff, const LVec& b) {
  LVec x(n, 0);
  for (int k = 0; k < n; ++k) {
    if (std::fabs(s.lambda[k]) <= cutoff) continue;
    LD d = 0;
    for (int r = 0; r < n; ++r) d += s.Q[r * n + k] * b[r];
    for (int r = 0; r < n; ++r) x[r] += s.Q[r * n + k] * d / s.lambda[k];
  }
  return x;
}

template <class T>
std::vector<T> narrow(const LVec& a) {
  std::vector<T> r(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) r[i] = static_cast<T>(a[i]);
  return r;
}

template <class T>
LVec widen(const std::vector<T>& a) {
  return LVec(a.begin(), a.end());
}

LMat add_diagonal(LMat A, int n, LD shift) {
  for (int i = 0; i < n; ++i) A[i * n + i] += shift;
  return A;
}

// ---- running the solver ---------------------------------------------------------

template <class T>
struct Result {
  FactorInfo<T> info;
  std::vector<T> x;  // empty unless the status allows solve()
};

// factor() then solve(), in a NaN-filled workspace with guards past its end;
// checks the guards and that a second solve with the same factor is identical.
template <class T>
Result<T> factor_solve(const std::vector<T>& A, int n, const SolveOptions& opt,
                       const std::vector<T>& b, const std::string& ctx) {
  constexpr int kGuard = 4;
  const int ws = solve_workspace(n), iws = solve_int_workspace(n);
  std::vector<T> work(ws + kGuard, std::numeric_limits<T>::quiet_NaN());
  std::vector<int> iwork(iws + kGuard, -7);
  Result<T> r{factor(A.data(), n, opt, work.data(), iwork.data()), {}};
  for (int g = 0; g < kGuard; ++g) {
    EXPECT_TRUE(std::isnan(work[ws + g])) << ctx << ": factor wrote past the workspace";
    EXPECT_EQ(iwork[iws + g], -7) << ctx << ": factor wrote past the int workspace";
  }
  const bool usable = r.info.status == SolveStatus::ok ||
                      (opt.method == SolveMethod::pinv && r.info.status == SolveStatus::singular);
  if (!usable) return r;
  r.x = b;
  solve(n, opt, work.data(), iwork.data(), r.x.data());
  std::vector<T> again = b;
  solve(n, opt, work.data(), iwork.data(), again.data());
  EXPECT_EQ(0, std::memcmp(again.data(), r.x.data(), sizeof(T) * n))
      << ctx << ": a second solve with the same factor differs";
  return r;
}

// Every entry of x finite and within `bound` of the reference.
template <class T>
void expect_within(const std::vector<T>& x, const LVec& ref, double bound, const std::string& ctx) {
  ASSERT_EQ(x.size(), ref.size()) << ctx;
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_TRUE(std::isfinite(x[i])) << ctx << " entry " << i;
    EXPECT_NEAR(static_cast<double>(x[i]), static_cast<double>(ref[i]), bound)
        << ctx << " entry " << i;
  }
}

// A nonsingular solve: forward error <= tol(n, cond)·‖x‖.
template <class T>
void expect_solves(const std::vector<T>& x, const LVec& ref, double cond, const std::string& ctx) {
  LD scale = 0;
  for (LD v : ref) scale = std::max(scale, std::fabs(v));
  EXPECT_GT(scale, 0) << ctx << ": the reference solution is zero";
  expect_within(x, ref, tol<T>(static_cast<int>(x.size()), cond) * static_cast<double>(scale), ctx);
}

// A pseudo-inverse solve keeping eigenvalues |λ| >= kept, at least `gap` away from the
// dropped ones: a perturbation of A (norm_a) moves the kept solve by ~ norm_a/kept and
// the kept subspace by ~ norm_a/gap, on a solution of size up to ‖b‖/kept.
template <class T>
void expect_pinv_solves(const std::vector<T>& x, const LVec& ref, LD norm_a, LD kept, LD gap,
                        LD norm_b, const std::string& ctx) {
  const int n = static_cast<int>(x.size());
  const double cond = static_cast<double>(norm_a / kept + norm_a / gap);
  expect_within(x, ref, tol<T>(n, cond) * static_cast<double>(norm_b / kept), ctx);
}

// ‖(A + shift·I)x − b‖∞ <= tol(n, 1)·‖A + shift·I‖∞‖x‖∞ (backward stability).
template <class T>
void expect_small_residual(const std::vector<T>& A, int n, LD shift, const std::vector<T>& x,
                           const std::vector<T>& b, const std::string& ctx) {
  const LMat As = add_diagonal(widen(A), n, shift);
  const LVec Ax = matvec(As, n, n, widen(x));
  const LD normA = norm1(As, n);  // = ‖·‖∞, As is symmetric
  LD normx = 0;
  for (T v : x) normx = std::max(normx, std::fabs(static_cast<LD>(v)));
  for (int i = 0; i < n; ++i)
    EXPECT_LE(static_cast<double>(std::fabs(Ax[i] - b[i])),
              tol<T>(n, 1) * static_cast<double>(normA * normx))
        << ctx << " residual entry " << i;
}

bool cholesky_like(SolveMethod m) { return m == SolveMethod::cholesky || m == SolveMethod::damped; }

template <class T>
class SmallSolve : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(SmallSolve, Precisions);

// ---- well-posed problems ------------------------------------------------------------

TYPED_TEST(SmallSolve, SpdMatchesReferenceForEveryMethod) {
  using T = TypeParam;
  for (int n : kSizes) {
    std::mt19937_64 rng(100 + n);
    const Spectral s = random_spectral(n, 3, 300, false, rng);
    const std::vector<T> A = narrow<T>(compose(s, n)), b = narrow<T>(random_vec(n, rng));
    for (SolveMethod m : kMethods) {
      const std::string ctx = where(n, m);
      const SolveOptions opt = options(m);
      const Result<T> r = factor_solve(A, n, opt, b, ctx);
      ASSERT_EQ(r.info.status, SolveStatus::ok) << ctx << " min_pivot " << r.info.min_pivot;
      const LD shift = m == SolveMethod::damped ? static_cast<LD>(T(opt.damping)) : 0;
      const LMat As = add_diagonal(widen(A), n, shift);
      expect_solves(r.x, ref_solve(As, widen(b), n), cond1(As, n), ctx);
      expect_small_residual(A, n, shift, r.x, b, ctx);
      const double lmin = 3 + static_cast<double>(shift), lmax = (n == 1 ? 3 : 300) + lmin - 3;
      const double p = static_cast<double>(r.info.min_pivot);
      if (cholesky_like(m)) {  // a Schur-complement diagonal lies in [λ_min, max A_ii]
        EXPECT_GE(p, lmin * (1 - tol<T>(n, lmax / lmin))) << ctx;
        EXPECT_LE(p, lmax * (1 + tol<T>(n, 1))) << ctx;
      } else if (m == SolveMethod::lu) {
        EXPECT_GT(p, 0) << ctx;
        EXPECT_LE(p, lmax * (1 + tol<T>(n, 1))) << ctx;
      } else {
        EXPECT_NEAR(p, lmin, tol<T>(n, 1) * lmax) << ctx;
      }
    }
  }
}

TYPED_TEST(SmallSolve, DiagonalMinPivotIsTheDocumentedEntry) {
  using T = TypeParam;
  for (int n : kSizes) {
    for (bool negative : {false, true}) {
      // One negative entry makes an indefinite matrix for n >= 2 (a 1×1 one
      // is negative definite: OneByOneNegative).
      if (negative && n == 1) continue;
      std::vector<T> d(n), A(n * n, T(0)), b(n);
      int half = 0;  // the entry 0.5: negated, the trace stays positive
      for (int i = 0; i < n; ++i) {
        d[i] = T(0.5) + T((5 * i + 3) % n);  // a permutation of 0.5 … n − 0.5
        b[i] = T(i + 1);
        if (d[i] == T(0.5)) half = i;
      }
      if (negative) d[half] = -d[half];
      for (int i = 0; i < n; ++i) A[i * n + i] = d[i];
      T smallest = d[0];  // entry of smallest magnitude, signed
      for (T v : d)
        if (std::fabs(v) < std::fabs(smallest)) smallest = v;
      for (SolveMethod m : kMethods) {
        const std::string ctx = where(n, m) + (negative ? " (one negative entry)" : "");
        const SolveOptions opt = options(m, 0.25);
        const Result<T> r = factor_solve(A, n, opt, b, ctx);
        const T shift = m == SolveMethod::damped ? T(0.25) : T(0);
        if (cholesky_like(m)) {
          if (negative) {  // stops at the first pivot <= 0 and reports it
            EXPECT_EQ(r.info.status, SolveStatus::not_positive_definite) << ctx;
            EXPECT_EQ(r.info.min_pivot, d[half] + shift) << ctx;
          } else {
            EXPECT_EQ(r.info.status, SolveStatus::ok) << ctx;
            EXPECT_EQ(r.info.min_pivot, T(0.5) + shift) << ctx;
          }
          continue;
        }
        ASSERT_EQ(r.info.status, SolveStatus::ok) << ctx;
        EXPECT_EQ(r.info.min_pivot, m == SolveMethod::lu ? std::fabs(smallest) : smallest) << ctx;
        for (int i = 0; i < n; ++i) EXPECT_EQ(r.x[i], b[i] / d[i]) << ctx << " entry " << i;
      }
    }
  }
}

TYPED_TEST(SmallSolve, IndefiniteFailsCholeskyAndSolvesOtherwise) {
  using T = TypeParam;
  for (int n : kSizes) {
    std::mt19937_64 rng(200 + n);
    const Spectral s = random_spectral(n, 3, 300, true, rng);
    const std::vector<T> A = narrow<T>(compose(s, n)), b = narrow<T>(random_vec(n, rng));
    const LMat Aw = widen(A);
    // Damping 1.5 < 3 <= |λ| leaves a negative eigenvalue.
    for (SolveMethod m : kMethods) {
      const std::string ctx = where(n, m);
      const Result<T> r = factor_solve(A, n, options(m, 1.5), b, ctx);
      if (cholesky_like(m) && n > 1) {
        EXPECT_EQ(r.info.status, SolveStatus::not_positive_definite) << ctx;
        EXPECT_LE(r.info.min_pivot, T(0)) << ctx;
        continue;
      }
      ASSERT_EQ(r.info.status, SolveStatus::ok) << ctx;
      if (m == SolveMethod::damped) continue;  // n = 1: A = −3 is negative definite, solved as A − 1.5
      expect_solves(r.x, ref_solve(Aw, widen(b), n), cond1(Aw, n), ctx);
      expect_small_residual(A, n, 0, r.x, b, ctx);
      if (m == SolveMethod::pinv) {  // λ_0 = +3 (n ≥ 2) or −3 (n = 1)
        EXPECT_NEAR(static_cast<double>(r.info.min_pivot), static_cast<double>(s.lambda[0]),
                    tol<T>(n, 1) * 300)
            << ctx;
      }
    }
  }
}

TYPED_TEST(SmallSolve, OneByOneNegative) {
  using T = TypeParam;
  const std::vector<T> A{T(-2)}, b{T(3)};
  for (SolveMethod m : kMethods) {
    const std::string ctx = where(1, m);
    const Result<T> r = factor_solve(A, 1, options(m), b, ctx);
    // A negative definite M is factored as −M: the pivot is that of −A (+ damping).
    ASSERT_EQ(r.info.status, SolveStatus::ok) << ctx;
    const T shift = m == SolveMethod::damped ? T(1e-6) : T(0);  // (A − εI)⁻¹ b for damped:
    EXPECT_EQ(r.info.min_pivot, m == SolveMethod::pinv ? T(-2) : T(2) + shift) << ctx;
    // Cholesky divides by √2 twice: within an ulp or two of −3 / (2 + ε).
    EXPECT_NEAR(r.x[0], -T(3) / (T(2) + shift), tol<T>(1, 1) * 1.5) << ctx;
  }
}

// L and −L give the same motion: a negative definite M is solved by every
// method, Cholesky and damped factoring −M, to exactly the negated solution
// of the positive definite problem (negation is exact, and s·(−A) = A).
TYPED_TEST(SmallSolve, NegativeDefiniteSolvesAsThePositive) {
  using T = TypeParam;
  for (int n : kSizes) {
    std::mt19937_64 rng(150 + n);
    const Spectral s = random_spectral(n, 3, 300, false, rng);
    const std::vector<T> A = narrow<T>(compose(s, n)), b = narrow<T>(random_vec(n, rng));
    std::vector<T> neg(A);
    for (T& v : neg) v = -v;
    for (SolveMethod m : kMethods) {
      const std::string ctx = where(n, m) + " (negative definite)";
      const Result<T> pos = factor_solve(A, n, options(m), b, ctx);
      const Result<T> r = factor_solve(neg, n, options(m), b, ctx);
      ASSERT_EQ(pos.info.status, SolveStatus::ok) << ctx;
      ASSERT_EQ(r.info.status, SolveStatus::ok) << ctx;
      for (int i = 0; i < n; ++i) {
        if (cholesky_like(m) || m == SolveMethod::lu) {
          EXPECT_EQ(r.x[i], -pos.x[i]) << ctx << " entry " << i;
        } else {  // the Jacobi sweeps of −A may rotate in another order
          EXPECT_NEAR(static_cast<double>(r.x[i]), -static_cast<double>(pos.x[i]),
                      tol<T>(n, cond1(widen(A), n)) * (1 + std::fabs(static_cast<double>(pos.x[i]))))
              << ctx << " entry " << i;
        }
      }
    }
  }
}

// pinv drops eigenvalues at or below 10·n·eps·max|λ| (NumPy's and JAX's
// convention), solves the rest and labels the minimum-norm result singular.
TYPED_TEST(SmallSolve, PinvCutoffIsTenNEps) {
  using T = TypeParam;
  const T eps = std::numeric_limits<T>::epsilon();
  for (const T small : {T(5) * eps, T(19) * eps, T(21) * eps}) {
    const std::vector<T> A{T(1), T(0), T(0), small}, b{T(1), T(1)};
    const std::string ctx = "pinv, eigenvalues 1 and " + std::to_string(small / eps) + " eps";
    const Result<T> r = factor_solve(A, 2, options(SolveMethod::pinv), b, ctx);
    ASSERT_EQ(r.x.size(), 2u) << ctx;
    EXPECT_EQ(r.x[0], T(1)) << ctx;
    if (small <= T(20) * eps) {
      EXPECT_EQ(r.info.status, SolveStatus::singular) << ctx;
      EXPECT_EQ(r.x[1], T(0)) << ctx << ": the dropped direction's minimum-norm value";
    } else {
      EXPECT_EQ(r.info.status, SolveStatus::ok) << ctx;
      EXPECT_NEAR(static_cast<double>(r.x[1]), 1.0 / static_cast<double>(small),
                  1e-6 / static_cast<double>(small))
          << ctx;
    }
  }
}

// ---- (nearly) singular problems ------------------------------------------------------
// Pivoted Cholesky and the eigenvalues flag these reliably (no miss when these tests
// were rerun with 300 other seeds). Partial-pivoting LU is not rank-revealing: in
// those reruns about 2.6% of the matrices with n >= 3 kept every |u_jj| above the
// default cutoff. The seeds here were fixed before that was measured.

TYPED_TEST(SmallSolve, NearlySingular) {
  using T = TypeParam;
  const LD eps = std::numeric_limits<T>::epsilon(), scale = 3;
  for (int n : kSizes) {
    if (n == 1) continue;  // a relative cutoff cannot call a nonzero 1×1 matrix singular
    std::mt19937_64 rng(300 + n);
    Spectral s = random_spectral(n, scale, 100 * scale, false, rng);
    s.lambda[0] = LD(1e-3) * eps * scale;
    const std::vector<T> A = narrow<T>(compose(s, n)), b = narrow<T>(random_vec(n, rng));
    for (SolveMethod m : {SolveMethod::cholesky, SolveMethod::lu, SolveMethod::pinv}) {
      const std::string ctx = where(n, m);
      const Result<T> r = factor_solve(A, n, options(m), b, ctx);
      if (m == SolveMethod::cholesky) {
        EXPECT_NE(r.info.status, SolveStatus::ok) << ctx << " min_pivot " << r.info.min_pivot;
      } else {
        EXPECT_EQ(r.info.status, SolveStatus::singular) << ctx << " min_pivot " << r.info.min_pivot;
      }
      if (m != SolveMethod::pinv) continue;
      const LD cutoff = n * eps * 100 * scale;
      EXPECT_LE(std::fabs(static_cast<LD>(r.info.min_pivot)), cutoff) << ctx;
      // Drops λ_0 only: kept |λ| >= scale, gap to λ_0 about scale.
      expect_pinv_solves(r.x, spectral_pinv_solve(s, n, 2 * s.lambda[0], widen(b)), 100 * scale,
                         scale, scale - s.lambda[0], norm2(widen(b)), ctx);
    }
  }
}

// A = C Cᵀ with C = B/16, B an n×(n−1) integer matrix of full column rank: A is
// exact in float and of rank n − 1 (A = 0 for n = 1).
LMat rank_deficient_factor(int n, std::mt19937_64& rng) {
  const int r = n - 1;
  LMat C(n * r, 0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < r; ++j)
      if (i == j)
        C[i * r + j] = 1;
      else if (i > j)
        C[i * r + j] = static_cast<LD>(static_cast<int>(rng() % 5) - 2);
  for (int i = n - 1; i > 0; --i) {  // shuffle the rows
    const int k = static_cast<int>(rng() % (i + 1));
    for (int j = 0; j < r; ++j) std::swap(C[i * r + j], C[k * r + j]);
  }
  for (LD& c : C) c /= 16;
  return C;
}

TYPED_TEST(SmallSolve, ExactlySingular) {
  using T = TypeParam;
  for (int n : kSizes) {
    std::mt19937_64 rng(400 + n);
    const int rank = n - 1;
    const LMat C = rank_deficient_factor(n, rng);
    LMat Aexact(n * n, 0), G(rank * rank, 0);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        for (int k = 0; k < rank; ++k) Aexact[i * n + j] += C[i * rank + k] * C[j * rank + k];
    for (int i = 0; i < rank; ++i)
      for (int j = 0; j < rank; ++j)
        for (int k = 0; k < n; ++k) G[i * rank + j] += C[k * rank + i] * C[k * rank + j];
    const std::vector<T> A = narrow<T>(Aexact), b = narrow<T>(random_vec(n, rng));
    ASSERT_EQ(widen(A), Aexact) << "n=" << n << ": the test matrix is not exact in this precision";
    for (SolveMethod m : kMethods) {
      const std::string ctx = where(n, m);
      const Result<T> r = factor_solve(A, n, options(m, 1e-3), b, ctx);
      switch (m) {
        case SolveMethod::cholesky:
          EXPECT_NE(r.info.status, SolveStatus::ok) << ctx << " min_pivot " << r.info.min_pivot;
          break;
        case SolveMethod::lu:
          EXPECT_EQ(r.info.status, SolveStatus::singular)
              << ctx << " min_pivot " << r.info.min_pivot;
          break;
        case SolveMethod::damped: {  // x = (A + εI)⁻¹ b
          ASSERT_EQ(r.info.status, SolveStatus::ok) << ctx << " min_pivot " << r.info.min_pivot;
          const LD shift = static_cast<LD>(T(1e-3));
          const LMat As = add_diagonal(widen(A), n, shift);
          expect_solves(r.x, ref_solve(As, widen(b), n), cond1(As, n), ctx);
          expect_small_residual(A, n, shift, r.x, b, ctx);
          break;
        }
        case SolveMethod::pinv: {  // x = A⁺b = C (CᵀC)⁻² Cᵀ b, the minimum-norm solution
          ASSERT_EQ(r.info.status, SolveStatus::singular)
              << ctx << " min_pivot " << r.info.min_pivot;
          LVec y(rank, 0);  // Cᵀ b
          for (int k = 0; k < rank; ++k)
            for (int i = 0; i < n; ++i) y[k] += C[i * rank + k] * static_cast<LD>(b[i]);
          if (rank > 0) y = ref_solve(G, ref_solve(G, y, rank), rank);
          const LVec ref = matvec(C, n, rank, y);
          // The kept eigenvalues are those of G, |λ| >= 1/‖G⁻¹‖₁; the dropped one is 0.
          const LD kept = rank > 0 ? 1 / inverse_norm1(G, rank) : 1;
          expect_pinv_solves(r.x, ref, norm1(Aexact, n), kept, kept, norm2(widen(b)), ctx);
          EXPECT_LE(std::fabs(static_cast<double>(r.info.min_pivot)),
                    tol<T>(n, 1) * static_cast<double>(norm1(Aexact, n)))
              << ctx;
          break;
        }
      }
    }
  }
}

TYPED_TEST(SmallSolve, ExplicitRcondIsHonoured) {
  using T = TypeParam;
  for (int n : kSizes) {
    std::mt19937_64 rng(500 + n);
    const Spectral s = random_spectral(n, 3, 300, true, rng);
    const std::vector<T> A = narrow<T>(compose(s, n)), b = narrow<T>(random_vec(n, rng));
    // pinv drops |λ| <= rcond·max|λ|: rcond 0.05 drops λ = ±3 (n ≥ 2) and any
    // random one below 15, rcond 0.5 about half of them.
    const LD lmax = n == 1 ? 3 : 300;
    for (double rcond : {0.05, 0.5}) {
      const std::string ctx = where(n, SolveMethod::pinv) + " rcond=" + std::to_string(rcond);
      const LD cutoff = static_cast<LD>(rcond) * lmax;
      bool clear = true, dropped = false;  // clear: no |λ| within rounding of the cutoff
      LD kept = std::numeric_limits<LD>::infinity(), gap = kept;
      for (LD l : s.lambda) {
        clear = clear && std::fabs(std::fabs(l) - cutoff) > LD(tol<T>(n, 1)) * lmax;
        dropped = dropped || std::fabs(l) <= cutoff;
        if (std::fabs(l) > cutoff) kept = std::min(kept, std::fabs(l));
        for (LD d : s.lambda)
          if (std::fabs(l) > cutoff && std::fabs(d) <= cutoff)
            gap = std::min(gap, std::fabs(l - d));
      }
      if (!clear) continue;
      const Result<T> r = factor_solve(A, n, options(SolveMethod::pinv, 0, rcond), b, ctx);
      EXPECT_EQ(r.info.status, dropped ? SolveStatus::singular : SolveStatus::ok) << ctx;
      expect_pinv_solves(r.x, spectral_pinv_solve(s, n, cutoff, widen(b)), lmax, kept, gap,
                         norm2(widen(b)), ctx);
    }
    // Cholesky pivots never exceed max A_ii, so rcond = 1 makes any SPD matrix singular.
    const std::vector<T> spd = narrow<T>(compose(random_spectral(n, 3, 300, false, rng), n));
    const Result<T> r = factor_solve(spd, n, options(SolveMethod::cholesky, 0, 1.0), b,
                                     where(n, SolveMethod::cholesky) + " rcond=1");
    EXPECT_EQ(r.info.status, SolveStatus::singular) << where(n, SolveMethod::cholesky);
  }
}

TYPED_TEST(SmallSolve, NonFiniteInputFailsWithoutCrashing) {
  using T = TypeParam;
  const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
  for (int n : kSizes) {
    std::mt19937_64 rng(600 + n);
    const std::vector<T> A0 = narrow<T>(compose(random_spectral(n, 3, 300, false, rng), n));
    const std::vector<T> b = narrow<T>(random_vec(n, rng));
    struct Poison {
      int row, col;
      bool symmetric;
      T value;
    };
    const Poison poisons[] = {{0, 0, false, nan},         {n - 1, 0, false, nan},
                              {0, n - 1, false, nan},     {n - 1, n / 2, true, nan},
                              {n / 2, n / 2, false, inf}, {n - 1, 0, true, -inf}};
    for (const Poison& p : poisons) {
      std::vector<T> A = A0;
      A[p.row * n + p.col] = p.value;
      if (p.symmetric) A[p.col * n + p.row] = p.value;
      for (SolveMethod m : kMethods) {
        const std::string ctx = where(n, m) + " bad entry (" + std::to_string(p.row) + ", " +
                                std::to_string(p.col) + ")";
        const Result<T> r = factor_solve(A, n, options(m), b, ctx);
        EXPECT_EQ(r.info.status, SolveStatus::not_positive_definite) << ctx;
        EXPECT_FALSE(std::isfinite(r.info.min_pivot)) << ctx;
        EXPECT_TRUE(r.x.empty()) << ctx;
      }
    }
  }
}

// ---- the pieces --------------------------------------------------------------------------

TYPED_TEST(SmallSolve, JacobiEigenDecomposition) {
  using T = TypeParam;
  for (int n : kSizes) {
    std::mt19937_64 rng(700 + n);
    // An indefinite matrix and a rank-one one (n − 1 repeated zero eigenvalues).
    const LVec v = random_vec(n, rng);
    LMat rank_one(n * n);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) rank_one[i * n + j] = v[i] * v[j];
    for (const LMat& Aexact : {compose(random_spectral(n, 3, 300, true, rng), n), rank_one}) {
      const std::vector<T> A = narrow<T>(Aexact);
      std::vector<T> V(n * n), D(n * n), w(n);
      const int sweeps = jacobi_eigen(A.data(), n, V.data(), D.data(), w.data());
      const std::string ctx = "n=" + std::to_string(n) + " jacobi";
      EXPECT_LT(sweeps, kJacobiMaxSweeps) << ctx;
      const double normA = static_cast<double>(norm1(widen(A), n));
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
          LD vtv = 0, av = 0;  // (VᵀV)_ij and (AV − V diag(w))_ij
          for (int k = 0; k < n; ++k) {
            vtv += static_cast<LD>(V[k * n + i]) * V[k * n + j];
            av += static_cast<LD>(A[i * n + k]) * V[k * n + j];
          }
          av -= static_cast<LD>(V[i * n + j]) * w[j];
          EXPECT_NEAR(static_cast<double>(vtv), i == j ? 1.0 : 0.0, tol<T>(n, 1))
              << ctx << " VᵀV entry (" << i << ", " << j << ")";
          EXPECT_NEAR(static_cast<double>(av), 0.0, tol<T>(n, 1) * normA)
              << ctx << " AV − VΛ entry (" << i << ", " << j << ")";
        }
    }
  }
}

TEST(SmallSolveWorkspace, Sizes) {
  EXPECT_EQ(solve_workspace(1), 4);
  EXPECT_EQ(solve_workspace(3), 24);
  EXPECT_EQ(solve_int_workspace(7), 7);
  static_assert(solve_workspace(16) == 2 * 16 * 16 + 2 * 16);
  EXPECT_EQ(resolved_rcond<double>(SolveOptions{}, 4), 4 * std::numeric_limits<double>::epsilon());
  EXPECT_EQ(epsilon<float>(), std::numeric_limits<float>::epsilon());
  EXPECT_EQ(epsilon<double>(), std::numeric_limits<double>::epsilon());
}

}  // namespace
}  // namespace lnn::core
