// `lnn rollout`: trajectories of a learned model (or the analytic system)
// from given or sampled initial conditions, written as a trajectory dataset
// (HDF5, docs/file-formats.md) with the system's energy and the model's own
// energy along each predicted path.
#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "lnn/dataset.hpp"
#include "lnn/errors.hpp"
#include "lnn/generate.hpp"
#include "lnn/rollout.hpp"

namespace lnn::cli {
namespace {

struct RolloutOptions {
  std::string model = "analytic";
  std::string system;
  std::vector<std::string> params;
  std::string initial;
  std::size_t trajectories = 10;
  std::uint64_t seed = 1;
  std::string q_range, qdot_range;
  double t_end = 10.0;
  double rate = 10.0;
  std::string integrator = "variational";
  IntegrateOptions integrate{Integrator::variational, 1e-10, 1e-10, 0.0, 0.0, 0.0, 0.01};
  bool unforced = false;

  bool force = false;

  bool native_precision = false;
  std::string out;
  bool quiet = false;
};

void run_rollout(RolloutOptions o) {
  const auto system = system_for(o.system, o.params, o.model);
  refuse_forced(*system, o.unforced, "lnn rollout");
  const auto n = static_cast<std::size_t>(system->dof()), d = 2 * n;
  if (!(o.t_end > 0 && std::isfinite(o.t_end))) throw InvalidArgument("--t-end must be > 0");
  if (!(o.rate > 0 && std::isfinite(o.rate))) throw InvalidArgument("--rate must be > 0");
  if (resolve_output(o.out).special) throw FileError(o.out, "exists and is not a regular file");
  refuse_same_file(o.out, "--out", {{"--model", o.model}, {"--initial", o.initial}});
  refuse_existing(o.out, o.force, "--out");
  o.integrate.method = parse_integrator(o.integrator);

  // Initial conditions: a CSV of B rows × 2n, or sampled.
  std::vector<double> y0;
  nlohmann::ordered_json gen{{"tool", "lnn rollout"}, {"model", o.model}};
  if (!o.initial.empty()) {
    const CsvTable<double> t = read_csv<double>(o.initial, d, "2n = " + std::to_string(d) + " values");
    y0 = t.values;
    gen["initial"] = o.initial;
  } else {
    if (o.trajectories == 0) throw InvalidArgument("--trajectories must be >= 1");
    const StateBox box = evaluation_box(*system, parse_box(o.q_range, o.qdot_range, *system));
    y0.resize(o.trajectories * d);
    sample_states(*system, box, o.seed, 0, y0);
    gen["seed"] = o.seed;
    gen["initial_conditions"] = describe(box, *system);
  }
  const std::size_t B = y0.size() / d;
  const std::size_t S = output_time_count(o.t_end, o.rate, B, d, "--t-end x --rate");
  std::vector<double> times(S);
  for (std::size_t k = 0; k < S; ++k) times[k] = static_cast<double>(k) / o.rate;
  if (times.back() < o.t_end) times.push_back(o.t_end);

  const bool learned = o.model != "analytic";
  const std::unique_ptr<Dynamics> dyn = load_dynamics(o.model, *system, o.native_precision);
  gen["integrator"] = o.integrator;
  if (o.integrate.method == Integrator::dopri5) {
    gen["rtol"] = o.integrate.rtol;
    gen["atol"] = o.integrate.atol;
  } else {
    gen["dt"] = o.integrate.dt;
  }
  gen["t_end"] = o.t_end;
  gen["rate"] = o.rate;
  gen["evaluation"] = learned && o.native_precision ? "native" : "double";

  std::cout << "lnn rollout: " << (learned ? o.model : "the analytic system") << " on "
            << system->name() << ", " << B << " trajectories to t = " << o.t_end << ", "
            << o.integrator << "\n";
  Dataset ds = start_dataset(*system, DatasetKind::trajectories, o.seed);
  ds.trajectories = B;
  ds.times = times;
  ds.states.resize(B * times.size() * d);
  Progress bar("lnn rollout", o.quiet);
  Stopwatch clock;
  const auto reports = rollout(*dyn, 0.0, y0, times, ds.states, o.integrate,
                               [&](double f) { bar.update(f); });
  bar.finish();
  const double seconds = clock.seconds();
  const std::size_t P = B * times.size();
  ds.accelerations.resize(P * n);
  ds.energies.resize(P);
  dyn->accelerations(ds.states, ds.accelerations);
  system->energy(ds.states, ds.energies);
  if (learned) {
    ds.model_energies.resize(P);
    dyn->energy(ds.states, ds.model_energies);
  }
  std::size_t failed = 0;
  std::vector<double> final_error;
  for (std::size_t b = 0; b < B; ++b) {
    ds.status.push_back(static_cast<std::int8_t>(reports[b].status));
    ds.accepted.push_back(reports[b].accepted);
    ds.rejected.push_back(reports[b].rejected);
    if (reports[b].status != TrajectoryStatus::ok) {
      ++failed;
      std::cerr << "lnn rollout: trajectory " << b << ": " << to_string(reports[b].status)
                << " at t = " << reports[b].t_reached << "\n";
      continue;
    }
    const std::size_t last = (b + 1) * times.size() - 1, first = b * times.size();
    final_error.push_back(std::abs(ds.energies[last] - ds.energies[first]) / ds.potential_scale);
  }
  ds.generator = gen.dump();
  // A trajectory that integrated but holds a non-finite q̈ or energy at a
  // sample is saved as failed (docs/file-formats.md), not refused after the work.
  if (const std::size_t marked = mark_non_finite_trajectories(ds)) {
    failed += marked;
    std::cerr << "lnn rollout: " << marked
              << " trajectories hold a non-finite acceleration or energy: marked non_finite\n";
  }
  save_dataset(ds, o.out);
  const Summary e = summarize(final_error);
  std::cout << format("  %zu failed; energy error |E(t_end) - E(0)| / %g: median %.3g, max %.3g; %s\n",
                      failed, ds.potential_scale, e.median, e.max, format_duration(seconds).c_str());
  std::cout << "  wrote " << o.out << "\n";
}

}  // namespace

void add_rollout_command(CLI::App& app) {
  auto o = std::make_shared<RolloutOptions>();
  CLI::App* sub = app.add_subcommand(
      "rollout", "Roll out a model (or the analytic system) and write the trajectories (HDF5)");
  sub->add_option("--model,-m", o->model, "Model file, or 'analytic'")->capture_default_str();
  sub->add_option("--system,-s", o->system, "System (default: the model's, else double_pendulum)");
  sub->add_option("--param,-p", o->params, "System parameter NAME=VALUE (repeatable)");
  sub->add_option("--initial", o->initial, "CSV of initial states, one row [q, qdot] each");
  sub->add_option("--trajectories", o->trajectories, "Sampled initial conditions (without --initial)")
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Seed of the sampled initial conditions (1, as every judging command; 0 creates)")->capture_default_str();
  sub->add_option("--q-range", o->q_range,
                  "Initial q ~ U[LO, HI): LO,HI or one LO,HI per coordinate (default: the "
                  "system's evaluation box, `lnn systems`)");
  sub->add_option("--qdot-range", o->qdot_range, "Initial qdot ~ U[LO, HI), as --q-range");
  sub->add_option("--t-end", o->t_end, "Rollout length")->capture_default_str();
  sub->add_option("--rate", o->rate, "Output samples per unit time")->capture_default_str();
  sub->add_option("--integrator", o->integrator, "variational | rk4 | dopri5 (variational: it conserves a learned energy over long rollouts)")->capture_default_str();
  sub->add_option("--dt", o->integrate.dt, "Step of rk4 and variational")->capture_default_str();
  sub->add_option("--rtol", o->integrate.rtol, "dopri5 tolerance")->capture_default_str();
  sub->add_option("--atol", o->integrate.atol, "dopri5 tolerance")->capture_default_str();
  sub->add_option("--newton-max-iterations", o->integrate.newton_max_iterations,
                  "Variational integrator: Newton iterations per step")
      ->capture_default_str();
  sub->add_flag("--native-precision", o->native_precision,
                "Evaluate an f32 model in float (default: in double)");
  sub->add_option("--out,-o", o->out, "Trajectory file to write (HDF5)")->required();
  sub->add_flag("--force", o->force, "Replace an existing --out (never done otherwise)");
  sub->add_flag("--unforced", o->unforced, "Roll out a forced system with tau = 0 (forced rollouts are not supported yet)");
  sub->add_flag("--quiet,-q", o->quiet, "No progress display");
  sub->callback([o] { run_rollout(*o); });
}

}  // namespace lnn::cli
