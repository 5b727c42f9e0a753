// The n×n mass-matrix solves of the Euler–Lagrange step (docs/math.md §5).
#pragma once
#include <cstdint>
#include <string_view>

namespace lnn {

enum class SolveMethod : std::uint8_t {
  cholesky,  // M = L Lᵀ; fast path, needs M positive definite
  lu,        // partial pivoting; any nonsingular M
  damped,    // Cholesky of M + εI (ε = SolveOptions::damping)
  pinv,      // pseudo-inverse by symmetric eigen-decomposition with a cutoff
};

// Per-sample outcome of a factorization. Stored as one byte per sample.
enum class SolveStatus : std::int8_t {
  ok = 0,
  not_positive_definite = 1,  // Cholesky / damped met a pivot <= 0
  singular = 2,               // a pivot or eigenvalue below the cutoff
};

struct SolveOptions {
  SolveMethod method = SolveMethod::cholesky;
  // Added to the diagonal by SolveMethod::damped (absolute).
  double damping = 1e-6;
  // Relative cutoff: a pivot (Cholesky: the pivot's square, LU: |pivot|) or
  // eigenvalue (pinv: |λ|) at or below rcond · (largest diagonal or |λ|) is
  // singular. 0 means the default n·eps of the precision.
  double rcond = 0.0;
};

std::string_view to_string(SolveMethod m);
std::string_view to_string(SolveStatus s);
// Parses "cholesky", "lu", "damped", "pinv"; throws InvalidArgument otherwise.
SolveMethod parse_solve_method(std::string_view name);

}  // namespace lnn
