// Rollouts: many trajectories of a learned model or an analytic system
// integrated together by any integrator of include/lnn/integrate.hpp, and the
// metrics that judge them (energy error, learned-energy drift, trajectory
// error), per trajectory and aggregated.
//
// Shapes (row-major, double): states B × 2n [q, q̇]; times S; out B × S × 2n.
#pragma once
#include "lnn/visibility.hpp"
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lnn/any_engine.hpp"
#include "lnn/engine.hpp"
#include "lnn/integrate.hpp"
#include "lnn/model.hpp"
#include "lnn/solve.hpp"
#include "lnn/systems.hpp"

namespace lnn LNN_CXX_API {

// A Lagrangian to roll out, evaluated on batches of double states. Not
// thread-safe (a learned one owns an Engine and its workspace).
class Dynamics {
 public:
  virtual ~Dynamics() = default;
  virtual int dof() const = 0;
  // q̈ of the unforced Euler–Lagrange equations; rows whose solve failed are NaN.
  virtual void accelerations(std::span<const double> states, std::span<double> acc) = 0;
  // ∇L (B × 2n) and the Hessian of L (B × 2n × 2n).
  virtual void derivatives(std::span<const double> states, std::span<double> grad,
                           std::span<double> hess) = 0;
  // Its own energy E = q̇·∂L/∂q̇ − L (B).
  virtual void energy(std::span<const double> states, std::span<double> E) = 0;
  // Machine epsilon of the evaluation: 2.2e-16 (double) or 1.2e-7 (float).
  virtual double epsilon() const = 0;
};

// An analytic system of the catalogue (exact derivatives in double); the
// energy is the system's T + V.
std::unique_ptr<Dynamics> analytic_dynamics(const System& system,
                                            SolveOptions solve = {SolveMethod::lu});
// A learned model through an AnyEngine (keeps a reference to the model).
// States are converted to T, results back to double.
template <class T>
std::unique_ptr<Dynamics> learned_dynamics(const Model<T>& model, EngineOptions options = {});
// The same over an existing engine (borrowed: it must outlive the result).
std::unique_ptr<Dynamics> learned_dynamics(AnyEngine& engine);
// The dynamics named by `model`: a model file, read here and owned by the
// result (a float32 file is evaluated in double — its weights are exact
// there — unless native_precision), or "analytic" for `system` itself.
// Throws FileError for a bad file, InvalidArgument when its n is not the
// system's.
std::unique_ptr<Dynamics> load_dynamics(const std::string& model, const System& system,
                                        bool native_precision = false,
                                        EngineOptions options = {.solve = {SolveMethod::lu}});
// The same for a model file of a system that is not in the catalogue: its n
// must be `n`; "analytic" is refused (InvalidArgument).
std::unique_ptr<Dynamics> load_dynamics(const std::string& model, int n,
                                        bool native_precision = false,
                                        EngineOptions options = {.solve = {SolveMethod::lu}});

// Integrates B = y0.size() / 2n trajectories from t0 with options.method
// (rk4 and dopri5 on [q̇, q̈]; variational on the Lagrangian itself, with
// newton_tol defaulting to 1e-10 for double and 1e-4 for float evaluation).
// Outputs, failures and progress as integrate(); the dynamics' rows are
// evaluated one batch per stage or Newton iteration.
std::vector<TrajectoryReport> rollout(Dynamics& dynamics, double t0, std::span<const double> y0,
                                      std::span<const double> times, std::span<double> out,
                                      const IntegrateOptions& options = {},
                                      const ProgressFn& progress = {});

// ---- metrics -----------------------------------------------------------------

// A time series e(t_0 … t_{S−1}): max, final and mean of |e|, and the slope
// of the least-squares line through (t_s, e(t_s)) (signed: a drift shows as a
// slope; a bounded oscillation as a slope near 0). NaN when S = 0 (slope: S < 2).
struct SeriesStats {
  double max = 0, final = 0, mean = 0, slope = 0;
};
SeriesStats series_stats(std::span<const double> t, std::span<const double> e);

struct Summary {
  double mean = 0, median = 0, p90 = 0, max = 0;
  std::size_t count = 0;
};
// Mean, median, 90th percentile (linear interpolation, NumPy's default) and
// max of the values; all 0 with count 0 when empty.
Summary summarize(std::vector<double> values);

// Angle-aware difference a − b per coordinate: wrapped to (−π, π] where
// angles[k] is set (n flags for q; velocities are never wrapped).
double wrapped_difference(double a, double b, bool angle);

}  // namespace lnn
