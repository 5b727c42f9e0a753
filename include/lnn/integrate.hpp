// Batched integration of many independent trajectories at once: of
// first-order ODEs y' = F(t, y) by fixed-step RK4 and adaptive Dormand–Prince
// 5(4) with per-trajectory step control, and of a Lagrangian system by the
// variational midpoint integrator (symplectic, for any L(q, q̇), learned or
// not). Ground truth for datasets and the rollouts of learned models
// (include/lnn/rollout.hpp) go through the same code.
//
// Trajectories advance in lockstep by stage: every stage evaluates the
// right-hand side once for all trajectories still running (a batch, so a
// learned model's GEMMs see many rows), while each trajectory keeps its own
// time, step size and error control. Finished or failed trajectories drop out
// of the batch.
//
// Shapes (row-major): y0  B × d;  times  S (ascending);  out  B × S × d.
#pragma once
#include "lnn/visibility.hpp"
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

namespace lnn LNN_CXX_API {

enum class Integrator : std::uint8_t {
  rk4,     // classical fourth order, fixed step
  dopri5,  // Dormand–Prince 5(4), FSAL, adaptive per trajectory
  // The discrete Euler–Lagrange equations of the midpoint discrete Lagrangian
  // L_d(q0, q1) = h·L((q0 + q1)/2, (q1 − q0)/h), fixed step, Newton's method
  // with the full Hessian of L per step (integrate_variational()).
  variational,
};
std::string_view to_string(Integrator m);
// "rk4", "dopri5", "variational"; throws InvalidArgument otherwise.
Integrator parse_integrator(std::string_view name);

// The number of output times t_k = k / rate, k = 0 … ⌊t_end·rate⌋ (t_end·rate
// a whole number up to rounding counts as one: 10 · 10 gives 101 times), for
// trajectories of `values_per_time` values each, `count` of them. Throws
// InvalidArgument naming `what` for t_end < 0 or rate <= 0 or either not
// finite, more than 2³² output times, or count · times · values_per_time
// values that would not fit in memory's address range (so a huge t_end is a
// clear error, never an undefined float-to-integer conversion).
std::size_t output_time_count(double t_end, double rate, std::size_t count,
                              std::size_t values_per_time, std::string_view what);

enum class TrajectoryStatus : std::int8_t {
  ok = 0,
  step_underflow = 1,  // dopri5 needed a step below IntegrateOptions::h_min
  non_finite = 2,      // the state or F(t, y) became NaN or infinite
  max_steps = 3,       // IntegrateOptions::max_steps reached before the last time
  no_convergence = 4,  // variational: Newton's method did not converge within
                       // newton_max_iterations, its Jacobian was singular, or
                       // its root lies farther than h·max(1, |v|) from the
                       // predicted position (dt too large for that motion)
};
std::string_view to_string(TrajectoryStatus s);

struct IntegrateOptions {
  Integrator method = Integrator::dopri5;
  // dopri5: a step is accepted when the RMS over components of
  // err_i / (atol + rtol·max(|y_i|, |y_new,i|)) is at most 1 (Hairer–Nørsett–Wanner).
  double rtol = 1e-10;
  double atol = 1e-10;
  // dopri5: first step; 0 = Hairer's automatic estimate (HNW I, II.4), which
  // costs one more evaluation of F per trajectory.
  double h0 = 0.0;
  // dopri5: smallest step before step_underflow; 0 = 16·eps·max(1, |t|).
  double h_min = 0.0;
  // dopri5: largest step; 0 = unbounded (steps are always cut to land on
  // each output time exactly).
  double h_max = 0.0;
  // rk4, variational: the largest step. Each output interval [t_s, t_{s+1}] is split into
  // ceil((t_{s+1} − t_s)/dt) equal steps (a quotient within 1e-12 of an integer
  // counts as that integer), so output times are hit exactly.
  double dt = 1e-3;
  // Per trajectory, accepted + rejected steps (rk4, variational: its steps).
  std::int64_t max_steps = 100'000'000;
  // variational: Newton's method stops when its next correction Δq₁ is at
  // most newton_tol·h·max(1, |v|∞) in every component (v = (q₁ − q₀)/h, the
  // step's velocity): a relative error of the velocity. 0 = 1e-10, the
  // setting for derivatives evaluated in double; rollout() uses 1e-4 for a
  // model evaluated in float, whose derivatives are no more precise.
  double newton_tol = 0.0;
  int newton_max_iterations = 20;  // per step, and per velocity at an output time
};

struct TrajectoryReport {
  TrajectoryStatus status = TrajectoryStatus::ok;
  double t_reached = 0.0;     // the last time reached (the last output time when ok)
  std::int64_t accepted = 0;  // steps
  std::int64_t rejected = 0;  // dopri5 steps redone with a smaller h
  // Rows of F (variational: of ∇L and the Hessian) evaluated for this trajectory.
  std::int64_t evaluations = 0;
};

// F over a batch of rows. rows[i] names the trajectory (0 ≤ rows[i] < B) of row
// i, t[i] its time, y its state (rows.size() × d), and dydt receives F
// (rows.size() × d). rows is any subset of the trajectories, in no promised
// order, and shrinks as trajectories finish; F must treat each row on its own
// for a trajectory's result not to depend on the batch (the integrator's own
// arithmetic is per row). A row that F cannot evaluate is marked by a
// non-finite value in dydt; that trajectory stops with status non_finite (the
// step is not retried with a smaller h).
template <class T>
using BatchRhs = std::function<void(std::span<const std::size_t> rows, std::span<const T> t,
                                    std::span<const T> y, std::span<T> dydt)>;

// Called now and then (at most every 0.2 s) from the calling thread with the
// fraction of the total time span covered, averaged over trajectories (0 … 1;
// a failed trajectory counts as covered), and once at the end with 1.
using ProgressFn = std::function<void(double fraction)>;

// Integrates B = y0.size() / d trajectories from t0 and writes the state of
// trajectory b at times[s] to out[(b·S + s)·d …]. times must be ascending and
// ≥ t0 (repeats allowed; a time equal to t0 gives y0). After a failure, that
// trajectory's remaining outputs are NaN (all of them when its y0 is not
// finite). Throws InvalidArgument on bad shapes or options.
template <class T>
std::vector<TrajectoryReport> integrate(const BatchRhs<T>& rhs, int d, T t0, std::span<const T> y0,
                                        std::span<const T> times, std::span<T> out,
                                        const IntegrateOptions& options = {},
                                        const ProgressFn& progress = {});

extern template std::vector<TrajectoryReport> integrate<float>(
    const BatchRhs<float>&, int, float, std::span<const float>, std::span<const float>,
    std::span<float>, const IntegrateOptions&, const ProgressFn&);
extern template std::vector<TrajectoryReport> integrate<double>(
    const BatchRhs<double>&, int, double, std::span<const double>, std::span<const double>,
    std::span<double>, const IntegrateOptions&, const ProgressFn&);

// ---- the variational integrator --------------------------------------------
//
// ∇L and the Hessian of L at rows of states x = [q, q̇]: states rows.size() × 2n,
// grad rows.size() × 2n ([∂L/∂q, ∂L/∂q̇]), hess rows.size() × 2n × 2n (row-major,
// symmetric). rows as for BatchRhs; a row that cannot be evaluated is marked
// by a non-finite value in grad or hess (status non_finite).
using BatchLagrangian =
    std::function<void(std::span<const std::size_t> rows, std::span<const double> states,
                       std::span<double> grad, std::span<double> hess)>;

// Integrates the unforced Euler–Lagrange equations of L for B = y0.size() / 2n
// trajectories by the variational midpoint integrator (options.method is
// ignored; dt, max_steps, newton_tol and newton_max_iterations are read).
// y0 and out hold [q, q̇] as for integrate() with d = 2n. Per step it solves
// the discrete Euler–Lagrange equation p_k = ∂L/∂q̇ − (h/2)·∂L/∂q at
// ((q_k + q_{k+1})/2, (q_{k+1} − q_k)/h) for q_{k+1} by Newton's method, then
// p_{k+1} = ∂L/∂q̇ + (h/2)·∂L/∂q there (p_0 = ∂L/∂q̇(q_0, q̇_0)). The velocity
// written at an output time solves ∂L/∂q̇(q_k, q̇) = p_k (Newton with the mass
// matrix), so energy and momentum are those of the discrete flow. Steps split
// each output interval as rk4's do. The map is symplectic: the energy error of
// a smooth L stays bounded over long times instead of drifting.
// Throws InvalidArgument on bad shapes or options.
std::vector<TrajectoryReport> integrate_variational(const BatchLagrangian& derivatives, int n,
                                                    double t0, std::span<const double> y0,
                                                    std::span<const double> times,
                                                    std::span<double> out,
                                                    const IntegrateOptions& options = {},
                                                    const ProgressFn& progress = {});

}  // namespace lnn
