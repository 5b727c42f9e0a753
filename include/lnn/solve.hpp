// The n×n mass-matrix solves of the Euler–Lagrange step (docs/math.md §5).
#pragma once
#include "lnn/visibility.hpp"
#include <cstdint>
#include <string_view>

namespace lnn LNN_CXX_API {

// L and −L give the same motion, so M = ∂²L/∂q̇² may be definite of either
// sign; every method accepts both (docs/math.md §5).
enum class SolveMethod : std::uint8_t {
  cholesky,  // s·M = L Lᵀ, s = ±1 the sign of M's trace; needs M definite (either sign)
  lu,        // partial pivoting; any nonsingular M (the default: see SolveOptions)
  damped,    // Cholesky of s·M + εI (ε = SolveOptions::damping), i.e. M + sεI
  pinv,      // pseudo-inverse by symmetric eigen-decomposition with a cutoff
};

// Per-sample outcome of a factorization. Stored as one byte per sample.
enum class SolveStatus : std::int8_t {
  ok = 0,
  // Cholesky / damped met a pivot <= 0: M is indefinite (neither positive nor
  // negative definite); also any method for a non-finite entry of M.
  not_positive_definite = 1,
  // A pivot or eigenvalue at or below the cutoff. pinv still returns its
  // minimum-norm solution for such a sample (eigenvalues under the cutoff
  // dropped) and labels it singular; every other method returns NaN.
  singular = 2,
};

struct SolveOptions {
  // The one default of the library, the C API and every CLI command: LU gives
  // q̈ for every nonsingular M, definite of either sign or indefinite, as the
  // reference code's solve does; Cholesky is for flagging an indefinite M.
  SolveMethod method = SolveMethod::lu;
  // Added to the diagonal by SolveMethod::damped (absolute).
  double damping = 1e-6;
  // Relative cutoff: a pivot (Cholesky: the pivot's square, LU: |pivot|) or
  // eigenvalue (pinv: |λ|) at or below rcond · (largest diagonal or |λ|) is
  // singular. 0 means the default: n·eps of the precision, and for pinv
  // 10·n·eps, the convention of NumPy's and JAX's pinv (10·max(m, n)·eps·σ_max).
  double rcond = 0.0;
};

std::string_view to_string(SolveMethod m);
std::string_view to_string(SolveStatus s);
// Parses "cholesky", "lu", "damped", "pinv"; throws InvalidArgument otherwise.
SolveMethod parse_solve_method(std::string_view name);

}  // namespace lnn
