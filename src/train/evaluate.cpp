// Evaluation by the reference study's protocol (include/lnn/train.hpp).
#include <algorithm>
#include <chrono>
#include <cmath>
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
    errors.push_back(std::fabs(E[i] - E0[finished[i]]) / system.info().potential_scale);
  }
  result.energy_error = summarize(errors);
  if (errors.empty()) {
    result.energy_error.mean = result.energy_error.median = result.energy_error.p90 =
        result.energy_error.max = NAN;
  }

  // Acceleration error on held-out states from the system's own sampling.
  if (o.held_out > 0) {
    std::vector<double> x(o.held_out * ud), truth(o.held_out * un);
    system.sample_states(o.seed ^ kHeldOutKey, 0, x);
    system.accelerations(x, {}, truth);
    std::vector<double> pred(truth.size());
    std::vector<SolveStatus> status(o.held_out);
    result.acc_failed = engine.accelerations<double>(x, {}, pred, status).failures();
    double sum = 0;
    std::size_t count = 0;
    for (std::size_t s = 0; s < o.held_out; ++s) {
      if (status[s] != SolveStatus::ok) {
        ++result.acc_failures[std::string(to_string(status[s]))];
        continue;
      }
      for (std::size_t k = 0; k < un; ++k) sum += std::fabs(pred[s * un + k] - truth[s * un + k]);
      count += un;
    }
    result.acc_l1 = count ? sum / static_cast<double>(count) : NAN;
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

template EvaluateResult evaluate<float>(const Model<float>&, const System&, const EvaluateOptions&,
                                        const ProgressFn&);
template EvaluateResult evaluate<double>(const Model<double>&, const System&, const EvaluateOptions&,
                                         const ProgressFn&);

}  // namespace lnn
