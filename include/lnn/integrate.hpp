// Batched integration of first-order ODEs y' = F(t, y) for many independent
// trajectories at once: fixed-step RK4 and adaptive Dormand–Prince 5(4) with
// per-trajectory step control. Ground truth for datasets (issue 3) and the
// rollouts of learned models (issue 6) go through the same code.
//
// Trajectories advance in lockstep by stage: every stage evaluates the
// right-hand side once for all trajectories still running (a batch, so a
// learned model's GEMMs see many rows), while each trajectory keeps its own
// time, step size and error control. Finished or failed trajectories drop out
// of the batch.
//
// Shapes (row-major): y0  B × d;  times  S (ascending);  out  B × S × d.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

namespace lnn {

enum class Integrator : std::uint8_t {
  rk4,     // classical fourth order, fixed step
  dopri5,  // Dormand–Prince 5(4), FSAL, adaptive per trajectory
};
std::string_view to_string(Integrator m);
// "rk4", "dopri5"; throws InvalidArgument otherwise.
Integrator parse_integrator(std::string_view name);

enum class TrajectoryStatus : std::int8_t {
  ok = 0,
  step_underflow = 1,  // dopri5 needed a step below IntegrateOptions::h_min
  non_finite = 2,      // the state or F(t, y) became NaN or infinite
  max_steps = 3,       // IntegrateOptions::max_steps reached before the last time
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
  // rk4: the largest step. Each output interval [t_s, t_{s+1}] is split into
  // ceil((t_{s+1} − t_s)/dt) equal steps, so output times are hit exactly.
  double dt = 1e-3;
  // Per trajectory, accepted + rejected steps (rk4: its steps).
  std::int64_t max_steps = 100'000'000;
};

struct TrajectoryReport {
  TrajectoryStatus status = TrajectoryStatus::ok;
  double t_reached = 0.0;     // the last time reached (the last output time when ok)
  std::int64_t accepted = 0;  // steps
  std::int64_t rejected = 0;  // dopri5 steps redone with a smaller h
  std::int64_t evaluations = 0;  // rows of F evaluated for this trajectory
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

}  // namespace lnn
