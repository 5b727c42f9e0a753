// `lnn evaluate`: the reference study's evaluation of a learned model on an
// analytic system — rollouts from 40 slow initial conditions to t = 100,
// energy error at the final time, and the acceleration error on held-out states.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "lnn/errors.hpp"
#include "lnn/model_file.hpp"
#include "lnn/systems.hpp"
#include "lnn/train.hpp"

namespace lnn::cli {
namespace {

struct EvaluateCliOptions {
  std::string model;
  std::string system;  // default: the checkpoint's training system, else double_pendulum
  std::vector<std::string> params;
  EvaluateOptions eval;
  std::string integrator = "rk4";
  std::string q_range = "0,6.283185307179586", qdot_range = "0,0.1";
  std::string solver = "lu";
  std::string json;
  bool quiet = false;
};

template <class T>
EvaluateResult run_typed(const std::string& path, const System& system, const EvaluateOptions& o,
                         const ProgressFn& progress) {
  const Model<T> model = load_model<T>(path);
  return evaluate(model, system, o, progress);
}

void run_evaluate(EvaluateCliOptions opt) {
  const ModelFileInfo info = read_model_info(opt.model);
  const auto system = system_for(opt.system, opt.params, opt.model);
  EvaluateOptions& o = opt.eval;
  o.integrate.method = parse_integrator(opt.integrator);
  o.box.q = {parse_interval(opt.q_range, "--q-range")};
  o.box.qdot = {parse_interval(opt.qdot_range, "--qdot-range")};
  o.solve.method = parse_solve_method(opt.solver);

  Progress bar("lnn evaluate", opt.quiet);
  const ProgressFn progress = [&](double f) { bar.update(f); };
  const EvaluateResult r = info.precision == Precision::f32
                               ? run_typed<float>(opt.model, *system, o, progress)
                               : run_typed<double>(opt.model, *system, o, progress);
  bar.finish();
  const double scale = system->info().potential_scale;
  std::cout << "lnn evaluate: " << opt.model << " on " << system->name() << " ("
            << describe(info.spec) << ")\n";
  std::cout << format("  rollouts: %zu from q ~ U[%s), qdot ~ U[%s), t = 0 .. %g, %s",
                      o.trajectories, opt.q_range.c_str(), opt.qdot_range.c_str(), o.t_end,
                      opt.integrator.c_str());
  if (o.integrate.method == Integrator::rk4) std::cout << format(" dt = %g", o.integrate.dt);
  std::cout << format("; %zu failed\n", r.rollouts_failed);
  std::cout << format("  energy error |E(t_end) - E(0)| / %g   mean %.4g%%   median %.4g%%   p90 %.4g%%   max %.4g%%\n",
                      scale, 100 * r.energy_error.mean, 100 * r.energy_error.median,
                      100 * r.energy_error.p90, 100 * r.energy_error.max);
  std::cout << format("  acceleration L1 on %zu held-out states: %.5g (%zu solves failed)\n",
                      o.held_out, r.acc_l1, r.acc_failed);
  std::cout << format("  %s\n", format_duration(r.seconds).c_str());
  if (!opt.json.empty()) {
    nlohmann::ordered_json j = {
        {"model", opt.model},
        {"system", system->name()},
        {"trajectories", o.trajectories},
        {"t_end", o.t_end},
        {"integrator", opt.integrator},
        {"dt", o.integrate.dt},
        {"energy_error", {{"mean", r.energy_error.mean}, {"median", r.energy_error.median},
                          {"p90", r.energy_error.p90}, {"max", r.energy_error.max},
                          {"count", r.energy_error.count}}},
        {"rollouts_failed", r.rollouts_failed},
        {"acc_l1", r.acc_l1},
        {"held_out", o.held_out},
        {"acc_failed", r.acc_failed},
        {"seconds", r.seconds}};
    write_file_atomic(opt.json, j.dump(2) + "\n");
  }
}

}  // namespace

void add_evaluate_command(CLI::App& app) {
  auto opt = std::make_shared<EvaluateCliOptions>();
  CLI::App* sub = app.add_subcommand(
      "evaluate", "Evaluate a model: energy error of rollouts and held-out acceleration error");
  sub->add_option("--model,-m", opt->model, "Model or checkpoint file")->required();
  sub->add_option("--system,-s", opt->system, "System (default: the checkpoint's, else double_pendulum)");
  sub->add_option("--param,-p", opt->params, "System parameter NAME=VALUE (repeatable)");
  sub->add_option("--trajectories", opt->eval.trajectories, "Rollouts")->capture_default_str();
  sub->add_option("--t-end", opt->eval.t_end, "Rollout length")->capture_default_str();
  sub->add_option("--integrator", opt->integrator, "rk4 | dopri5 | variational")->capture_default_str();
  sub->add_option("--dt", opt->eval.integrate.dt, "rk4 and variational step")->capture_default_str();
  sub->add_option("--rtol", opt->eval.integrate.rtol, "dopri5 tolerance")->capture_default_str();
  sub->add_option("--atol", opt->eval.integrate.atol, "dopri5 tolerance")->capture_default_str();
  sub->add_option("--q-range", opt->q_range, "Initial q ~ U[LO, HI)")->capture_default_str();
  sub->add_option("--qdot-range", opt->qdot_range, "Initial qdot ~ U[LO, HI)")->capture_default_str();
  sub->add_option("--held-out", opt->eval.held_out, "Held-out states for the acceleration error")
      ->capture_default_str();
  sub->add_option("--seed", opt->eval.seed, "Seed of initial conditions and held-out states")
      ->capture_default_str();
  sub->add_option("--solver", opt->solver, "cholesky | lu | damped | pinv")->capture_default_str();
  sub->add_option("--json", opt->json, "Also write the results as JSON to this file");
  sub->add_flag("--quiet,-q", opt->quiet, "No progress display");
  sub->callback([opt] { run_evaluate(*opt); });
}

}  // namespace lnn::cli
