// `lnn generate`: a dataset (HDF5) of exact states, accelerations and
// energies from an analytic system.
#include "lnn/generate.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "lnn/dataset.hpp"
#include "lnn/errors.hpp"

namespace lnn::cli {
namespace {

struct GenerateOptions {
  std::string system;
  std::vector<std::string> params;
  std::string kind = "derivatives";
  std::size_t samples = 10000;
  std::size_t trajectories = 100;
  double t_end = 10.0;
  double rate = 10.0;
  double noise = 0.0;
  std::uint64_t seed = 0;
  std::string integrator = "dopri5";
  double rtol = 1e-10, atol = 1e-10, dt = 1e-3;
  std::string q_range, qdot_range;
  double force_max = -1.0;
  std::string out;
  bool quiet = false;
  bool force = false;
};

// Largest |E(t) − E(0)| / scale over the samples of each trajectory that
// finished; mean and maximum over those trajectories.
struct Drift {
  double mean = 0, max = 0;
  std::size_t counted = 0;
};
Drift energy_drift(const Dataset& d) {
  Drift r;
  const std::size_t S = d.times.size();
  for (std::size_t b = 0; b < d.trajectories; ++b) {
    if (d.status[b] != 0) continue;
    double worst = 0;
    for (std::size_t k = 1; k < S; ++k) {
      worst = std::max(worst, std::fabs(d.energies[b * S + k] - d.energies[b * S]));
    }
    worst /= d.potential_scale;
    r.mean += worst;
    r.max = std::max(r.max, worst);
    ++r.counted;
  }
  if (r.counted > 0) r.mean /= static_cast<double>(r.counted);
  return r;
}

void run_generate(const GenerateOptions& opt) {
  const auto system = make_system(opt.system, parse_parameters(opt.params));
  const DatasetKind kind = parse_dataset_kind(opt.kind);
  const OutputTarget target = resolve_output(opt.out);
  refuse_existing(opt.out, opt.force, "--out");
  if (target.special) {
    throw FileError(opt.out,
                    "exists and is not a regular file; a dataset is written with a rename, "
                    "which would replace it");
  }
  const StateBox box = parse_box(opt.q_range, opt.qdot_range, *system);

  Stopwatch clock;
  Progress progress("lnn generate", opt.quiet);
  const ProgressFn report = [&](double f) { progress.update(f); };
  Dataset data;
  if (kind == DatasetKind::derivatives) {
    DerivativeSetOptions o;
    o.samples = opt.samples;
    o.seed = opt.seed;
    o.box = box;
    o.force_max = opt.force_max;
    data = generate_derivatives(*system, o, report);
  } else {
    TrajectorySetOptions o;
    o.trajectories = opt.trajectories;
    o.t_end = opt.t_end;
    o.rate = opt.rate;
    o.noise = opt.noise;
    o.seed = opt.seed;
    o.box = box;
    o.force_max = opt.force_max;
    o.integrate.method = parse_integrator(opt.integrator);
    o.integrate.rtol = opt.rtol;
    o.integrate.atol = opt.atol;
    o.integrate.dt = opt.dt;
    data = generate_trajectories(*system, o, report);
  }
  progress.finish();
  save_dataset(data, target.path);
  const double seconds = clock.seconds();

  std::error_code ec;
  const auto bytes = std::filesystem::file_size(target.path, ec);
  std::cout << "lnn generate: wrote " << opt.out << " (" << format_bytes(ec ? 0.0 : static_cast<double>(bytes))
            << ", " << format_duration(seconds) << ")\n";
  std::cout << "  system " << data.system << " (n = " << data.n << "), seed " << data.seed << ", "
            << to_string(kind) << ": " << data.points() << " points";
  if (kind == DatasetKind::trajectories) {
    std::cout << " = " << data.trajectories << " trajectories x " << data.times.size()
              << " times, t in [0, " << data.times.back() << "]";
  }
  std::cout << "\n";
  const std::size_t failed = static_cast<std::size_t>(
      std::count_if(data.status.begin(), data.status.end(), [](std::int8_t s) { return s != 0; }));
  if (kind == DatasetKind::derivatives) {
    std::cout << "  solves: " << data.points() - failed << " ok, " << failed << " failed\n";
    return;
  }
  std::int64_t accepted = 0, rejected = 0;
  for (std::size_t b = 0; b < data.trajectories; ++b) {
    accepted += data.accepted[b];
    rejected += data.rejected[b];
  }
  std::cout << "  integrator " << opt.integrator << ": " << accepted << " steps, " << rejected
            << " rejected; " << failed << " of " << data.trajectories << " trajectories failed\n";
  if (!data.tau.empty() && opt.force_max != 0) {
    std::cout << "  forced system: energy is not conserved, no drift reported\n";
    return;
  }
  const Drift drift = energy_drift(data);
  std::cout << format("  ground-truth energy drift max|E(t) - E(0)| / %g: mean %.3g, max %.3g\n",
                      data.potential_scale, drift.mean, drift.max);
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto opt = std::make_shared<GenerateOptions>();
  CLI::App* sub = app.add_subcommand(
      "generate", "Write a dataset (HDF5) of exact states, accelerations and energies of a system");
  sub->add_option("--system,-s", opt->system, "System name (see 'lnn systems')")->required();
  sub->add_option("--param,-p", opt->params, "Parameter NAME=VALUE (repeatable, or comma-separated)");
  sub->add_option("--kind", opt->kind, "derivatives (random states) | trajectories")
      ->capture_default_str()
      ->check(CLI::IsMember({"derivatives", "trajectories"}));
  sub->add_option("--samples", opt->samples, "Derivative set: number of states")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--trajectories", opt->trajectories, "Trajectory set: number of trajectories")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--t-end", opt->t_end, "Trajectory set: final time")->capture_default_str();
  sub->add_option("--rate", opt->rate, "Trajectory set: samples per unit time")->capture_default_str();
  sub->add_option("--noise", opt->noise, "Std. dev. of Gaussian noise on observed states")
      ->capture_default_str();
  sub->add_option("--seed", opt->seed, "Random seed (0, as every creating command; judging ones use 1)")->capture_default_str();
  sub->add_option("--integrator", opt->integrator, "dopri5 | rk4 (dopri5 at 1e-10: ground truth)")
      ->capture_default_str()
      ->check(CLI::IsMember({"dopri5", "rk4"}));
  sub->add_option("--rtol", opt->rtol, "dopri5 relative tolerance")->capture_default_str();
  sub->add_option("--atol", opt->atol, "dopri5 absolute tolerance")->capture_default_str();
  sub->add_option("--dt", opt->dt, "rk4 step")->capture_default_str();
  sub->add_option("--q-range", opt->q_range,
                  "Sample q in [LO, HI) instead of the default: LO,HI or one LO,HI per coordinate");
  sub->add_option("--qdot-range", opt->qdot_range, "Sample qdot in [LO, HI), as --q-range (with it)");
  sub->add_option("--force-max", opt->force_max,
                  "Amplitude of generated forces on actuated coordinates (default: the system's)");
  sub->add_option("--out,-o", opt->out, "Dataset file to write (.h5)")->required();
  sub->add_flag("--force", opt->force, "Replace an existing --out (never done otherwise)");
  sub->add_flag("--quiet,-q", opt->quiet, "No progress display");
  sub->callback([opt] { run_generate(*opt); });
}

}  // namespace lnn::cli
