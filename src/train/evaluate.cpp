// Evaluation by the reference study's protocol (include/lnn/train.hpp).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <span>
#include <vector>

#include "lnn/any_engine.hpp"
#include "lnn/errors.hpp"
#include "lnn/rollout.hpp"
#include "lnn/train.hpp"

namespace lnn LNN_CXX_API {
namespace {

// Held-out states use their own key, apart from training (seed) and
// validation states.
constexpr std::uint64_t kHeldOutKey = 0xd1b54a32d192ed03ULL;
// The failure reason of a rollout that ended where the system's energy is
// not defined (EvaluateResult::rollout_failures).
constexpr std::string_view kEnergyUndefined = "energy_undefined";

EngineOptions engine_options(const ModelSpec& spec, const System& system,
                             const EvaluateOptions& o) {
  if (spec.n != system.dof()) {
    throw InvalidArgument("the model has n = " + std::to_string(spec.n) + " but " +
                          system.name() + " has n = " + std::to_string(system.dof()));
  }
  if (o.trajectories == 0 || !(o.t_end > 0) || !(o.rate > 0)) {
    throw InvalidArgument("evaluate: need trajectories >= 1, t_end > 0 and rate > 0");
  }
  EngineOptions eo;
  eo.solve = o.solve;
  eo.chunk = o.chunk;
  return eo;
}

// The held-out acceleration error of both protocols: q̈ of the model at the
// states x (with forces tau, or none) against `truth`; into `result`: the
// mean |q̈ − truth| over the samples that solved (NaN if none), the failed
// samples and their count by reason.
template <class Result>
void acceleration_error(AnyEngine& engine, std::span<const double> x, std::span<const double> tau,
                        std::span<const double> truth, std::size_t un, Result& result) {
  const std::size_t B = truth.size() / un;
  std::vector<double> pred(truth.size());
  std::vector<SolveStatus> status(B);
  result.acc_failed = engine.accelerations<double>(x, tau, pred, status).failures();
  double sum = 0;
  std::size_t count = 0;
  for (std::size_t s = 0; s < B; ++s) {
    if (status[s] != SolveStatus::ok) {
      ++result.acc_failures[std::string(to_string(status[s]))];
      continue;
    }
    for (std::size_t k = 0; k < un; ++k) sum += std::fabs(pred[s * un + k] - truth[s * un + k]);
    count += un;
  }
  result.acc_l1 = count ? sum / static_cast<double>(count) : NAN;
}

// Summary with NaN figures when nothing was measured (count 0).
Summary summary_or_nan(std::vector<double> values) {
  Summary s = summarize(std::move(values));
  if (s.count == 0) s.mean = s.median = s.p90 = s.max = NAN;
  return s;
}

// The protocol on an engine made by engine_options().
EvaluateResult evaluate_on(AnyEngine& engine, const System& system, const EvaluateOptions& o,
                           const ProgressFn& progress) {
  const auto start = std::chrono::steady_clock::now();
  const int n = system.dof(), d = 2 * n;
  const auto un = static_cast<std::size_t>(n), ud = static_cast<std::size_t>(d);
  EvaluateResult result;

  // Rollouts of the learned dynamics, integrated in double; the network
  // runs in T. Unforced (τ = 0).
  const std::size_t B = o.trajectories;
  std::vector<double> y0(B * ud), E0(B);
  result.box = evaluation_box(system, o.box);
  sample_states(system, result.box, o.seed, 0, y0);
  system.energy(y0, E0);
  const std::size_t S = output_time_count(o.t_end, o.rate, B, ud, "evaluate");
  std::vector<double> times(S);
  for (std::size_t k = 0; k < S; ++k) times[k] = static_cast<double>(k) / o.rate;
  times.back() = o.t_end;
  std::vector<double> out(B * S * ud);
  const ProgressFn rollout_progress = [&](double f) {
    if (progress) progress(0.95 * f);
  };
  const std::vector<TrajectoryReport> reports =
      rollout(*learned_dynamics(engine), 0.0, y0, times, out, o.integrate, rollout_progress);
  std::vector<double> final_states, errors;
  std::vector<std::size_t> finished;
  for (std::size_t b = 0; b < B; ++b) {
    if (reports[b].status != TrajectoryStatus::ok) {
      ++result.rollouts_failed;
      ++result.rollout_failures[std::string(to_string(reports[b].status))];
      continue;
    }
    const double* y = out.data() + (b * S + S - 1) * ud;
    final_states.insert(final_states.end(), y, y + ud);
    finished.push_back(b);
  }
  std::vector<double> E(finished.size());
  system.energy(final_states, E);
  for (std::size_t i = 0; i < finished.size(); ++i) {
    // A rollout that ended (or, from a box the caller chose, started) where
    // the true energy is not defined (a relativistic particle's |q̇| ≥ c) has
    // no energy error to average: it failed, and says why.
    if (!std::isfinite(E[i]) || !std::isfinite(E0[finished[i]])) {
      ++result.rollouts_failed;
      ++result.rollout_failures[std::string(kEnergyUndefined)];
      continue;
    }
    errors.push_back(std::fabs(E[i] - E0[finished[i]]) / system.info().potential_scale);
  }
  result.energy_error = summary_or_nan(std::move(errors));

  // Acceleration error on held-out states from the system's own sampling.
  if (o.held_out > 0) {
    std::vector<double> x(o.held_out * ud), truth(o.held_out * un);
    system.sample_states(o.seed ^ kHeldOutKey, 0, x);
    system.accelerations(x, {}, truth);
    acceleration_error(engine, x, {}, truth, un, result);
  }
  if (progress) progress(1.0);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

template <class T>
EvaluateResult evaluate(const Model<T>& model, const System& system, const EvaluateOptions& o,
                        const ProgressFn& progress) {
  AnyEngine engine(model, engine_options(model.spec(), system, o));
  return evaluate_on(engine, system, o, progress);
}
EvaluateResult evaluate(const AnyModel& model, const System& system, const EvaluateOptions& o,
                        const ProgressFn& progress) {
  AnyEngine engine(model, engine_options(model.spec(), system, o));
  return evaluate_on(engine, system, o, progress);
}

DatasetEvaluateResult evaluate_dataset(const AnyModel& model, const Dataset& data,
                                       const DatasetEvaluateOptions& o,
                                       const ProgressFn& progress) {
  const auto start = std::chrono::steady_clock::now();
  data.validate();
  if (model.spec().n != data.n) {
    throw InvalidArgument("the model has n = " + std::to_string(model.spec().n) +
                          " but the dataset (" + data.system + ") has n = " + std::to_string(data.n));
  }
  EngineOptions eo;
  eo.solve = o.solve;
  eo.chunk = o.chunk;
  AnyEngine engine(model, eo);
  const auto un = static_cast<std::size_t>(data.n), ud = 2 * un;
  const std::vector<double>& exact = data.states_true.empty() ? data.states : data.states_true;
  const bool trajectories = data.kind == DatasetKind::trajectories;
  const std::size_t S = trajectories ? data.times.size() : 1;
  DatasetEvaluateResult result;

  // Accelerations at the points of status ok (per trajectory for a trajectory set).
  std::vector<double> x, tau, truth;
  for (std::size_t k = 0; k < data.status.size(); ++k) {
    if (data.status[k] != 0) continue;
    const std::size_t first = k * S;
    x.insert(x.end(), exact.begin() + static_cast<std::ptrdiff_t>(first * ud),
             exact.begin() + static_cast<std::ptrdiff_t>((first + S) * ud));
    truth.insert(truth.end(), data.accelerations.begin() + static_cast<std::ptrdiff_t>(first * un),
                 data.accelerations.begin() + static_cast<std::ptrdiff_t>((first + S) * un));
    if (!data.tau.empty()) {
      tau.insert(tau.end(), data.tau.begin() + static_cast<std::ptrdiff_t>(first * un),
                 data.tau.begin() + static_cast<std::ptrdiff_t>((first + S) * un));
    }
  }
  result.acc_points = x.size() / ud;
  if (result.acc_points > 0) {
    acceleration_error(engine, x, tau, truth, un, result);
  }
  if (progress) progress(0.05);

  // Rollouts of a trajectory set's unforced trajectories of status ok.
  std::vector<double> position, drift;
  if (trajectories) {
    std::vector<std::size_t> chosen;
    const std::size_t limit = o.trajectories == 0 ? data.trajectories
                                                  : std::min(o.trajectories, data.trajectories);
    for (std::size_t b = 0; b < limit; ++b) {
      const bool forced =
          !data.tau.empty() &&
          std::any_of(data.tau.begin() + static_cast<std::ptrdiff_t>(b * S * un),
                      data.tau.begin() + static_cast<std::ptrdiff_t>((b + 1) * S * un),
                      [](double v) { return v != 0.0; });
      if (data.status[b] != 0 || forced) {
        ++result.trajectories_skipped;
        continue;
      }
      chosen.push_back(b);
    }
    const std::size_t B = chosen.size();
    if (B > 0) {
      std::vector<double> y0(B * ud);
      for (std::size_t i = 0; i < B; ++i) {
        std::copy_n(exact.begin() + static_cast<std::ptrdiff_t>(chosen[i] * S * ud), ud,
                    y0.begin() + static_cast<std::ptrdiff_t>(i * ud));
      }
      std::vector<double> out(B * S * ud);
      const ProgressFn rollout_progress = [&](double f) {
        if (progress) progress(0.05 + 0.9 * f);
      };
      const std::vector<TrajectoryReport> reports =
          rollout(*learned_dynamics(engine), data.times.front(), y0, data.times, out, o.integrate,
                  rollout_progress);
      std::vector<double> ends;  // [first state, last state] of each finished rollout
      for (std::size_t i = 0; i < B; ++i) {
        if (reports[i].status != TrajectoryStatus::ok) {
          ++result.rollouts_failed;
          ++result.rollout_failures[std::string(to_string(reports[i].status))];
          continue;
        }
        const double* pred = out.data() + (i * S + S - 1) * ud;
        const double* want = exact.data() + (chosen[i] * S + S - 1) * ud;
        double sq = 0;
        for (std::size_t k = 0; k < un; ++k) {
          const double e = wrapped_difference(pred[k], want[k], data.angles[k] != 0);
          sq += e * e;
        }
        position.push_back(std::sqrt(sq / static_cast<double>(un)));
        ends.insert(ends.end(), out.data() + i * S * ud, out.data() + i * S * ud + ud);
        ends.insert(ends.end(), pred, pred + ud);
      }
      std::vector<double> E(ends.size() / ud);
      if (!E.empty()) engine.energy<double>(ends, E);
      for (std::size_t i = 0; i + 1 < E.size(); i += 2) {
        drift.push_back(std::fabs(E[i + 1] - E[i]) / data.potential_scale);
      }
    }
  }
  result.position_error = summary_or_nan(std::move(position));
  result.energy_drift = summary_or_nan(std::move(drift));
  if (progress) progress(1.0);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

template EvaluateResult evaluate<float>(const Model<float>&, const System&, const EvaluateOptions&,
                                        const ProgressFn&);
template EvaluateResult evaluate<double>(const Model<double>&, const System&, const EvaluateOptions&,
                                         const ProgressFn&);

}  // namespace lnn
