// `lnn evaluate`: the reference study's evaluation of a learned model on an
// analytic system — rollouts from 40 slow initial conditions to t = 100,
// energy error at the final time, and the acceleration error on held-out states.
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "lnn/errors.hpp"
#include "lnn/generate.hpp"
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
  std::string q_range, qdot_range;  // empty: the system's evaluation box
  std::string solver = "lu";
  std::string precision;  // empty: the model's own
  std::string json;
  std::string dataset;  // evaluate against this dataset file instead of a system
  bool quiet = false;
  bool unforced = false;
};

// The model file, converted when --precision names another precision than
// its own (an f32 model's parameters are exact in f64).
AnyModel load_in_precision(const std::string& path, const std::string& precision) {
  AnyModel model = AnyModel::load(path);
  if (precision.empty()) return model;
  const Precision p = parse_precision(precision);
  return p == model.precision() ? model : model.to(p);
}

// --dataset: the model against a dataset's points and trajectories
// (evaluate_dataset), what judges a model of a system not in the catalogue.
void run_evaluate_dataset(const EvaluateCliOptions& opt) {
  refuse_same_file(opt.json, "--json", {{"--model", opt.model}, {"--dataset", opt.dataset}});
  DatasetEvaluateOptions o;
  o.integrate = opt.eval.integrate;
  o.integrate.method = parse_integrator(opt.integrator);
  o.trajectories = opt.eval.trajectories;
  o.solve.method = parse_solve_method(opt.solver);
  const Dataset data = load_dataset(opt.dataset);
  Progress bar("lnn evaluate", opt.quiet);
  const AnyModel model = load_in_precision(opt.model, opt.precision);
  const DatasetEvaluateResult r =
      evaluate_dataset(model, data, o, [&](double f) { bar.update(f); });
  bar.finish();
  auto figure = [](double v) { return std::isfinite(v) ? format("%.5g", v) : std::string("n/a"); };
  std::cout << "lnn evaluate: " << opt.model << " on " << opt.dataset << " (" << data.system
            << (data.user_system ? ", user system" : "") << "; " << describe(model.spec()) << ", " << to_string(model.precision()) << ")\n";
  std::cout << format("  acceleration L1 on %zu points of the set: %s (%zu solves failed)\n",
                      r.acc_points, figure(r.acc_l1).c_str(), r.acc_failed);
  if (data.kind == DatasetKind::trajectories) {
    std::cout << format("  rollouts: %zu from the set's first states, %s", r.position_error.count + r.rollouts_failed,
                        opt.integrator.c_str());
    if (o.integrate.method != Integrator::dopri5) std::cout << format(" dt = %g", o.integrate.dt);
    std::cout << format("; %zu failed, %zu skipped (failed or forced in the set)\n", r.rollouts_failed,
                        r.trajectories_skipped);
    std::cout << format("  position error at t_end (RMS over q)   median %s   max %s\n",
                        figure(r.position_error.median).c_str(), figure(r.position_error.max).c_str());
    std::cout << format("  model energy drift / %g   median %s   max %s\n", data.potential_scale,
                        figure(r.energy_drift.median).c_str(), figure(r.energy_drift.max).c_str());
  }
  if (!opt.json.empty()) {
    auto number = [](double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr); };
    auto summary = [&](const Summary& s) {
      return nlohmann::ordered_json{{"mean", number(s.mean)}, {"median", number(s.median)},
                                    {"p90", number(s.p90)}, {"max", number(s.max)}, {"count", s.count}};
    };
    nlohmann::ordered_json j = {{"model", opt.model},
                                {"dataset", opt.dataset},
                                {"system", data.system},
                                {"integrator", opt.integrator},
                                {"dt", o.integrate.dt},
                                {"solver", opt.solver},
                                {"precision", to_string(model.precision())},
                                {"acc_l1", number(r.acc_l1)},
                                {"acc_points", r.acc_points},
                                {"acc_failed", r.acc_failed},
                                {"acc_failures", r.acc_failures},
                                {"position_error", summary(r.position_error)},
                                {"energy_drift", summary(r.energy_drift)},
                                {"rollouts_failed", r.rollouts_failed},
                                {"rollout_failures", r.rollout_failures},
                                {"trajectories_skipped", r.trajectories_skipped},
                                {"seconds", r.seconds}};
    write_file_atomic(opt.json, j.dump(2) + "\n");
  }
}

void run_evaluate(EvaluateCliOptions opt) {
  if (!opt.dataset.empty()) {
    run_evaluate_dataset(opt);
    return;
  }
  refuse_same_file(opt.json, "--json", {{"--model", opt.model}});
  const auto system = system_for(opt.system, opt.params, opt.model);
  refuse_forced(*system, opt.unforced, "lnn evaluate");
  EvaluateOptions& o = opt.eval;
  o.integrate.method = parse_integrator(opt.integrator);
  o.box = parse_box(opt.q_range, opt.qdot_range, *system);
  o.solve.method = parse_solve_method(opt.solver);

  Progress bar("lnn evaluate", opt.quiet);
  const ProgressFn progress = [&](double f) { bar.update(f); };
  const AnyModel model = load_in_precision(opt.model, opt.precision);
  const EvaluateResult r = evaluate(model, *system, o, progress);
  bar.finish();
  const double scale = system->info().potential_scale;
  const bool none_finished = r.energy_error.count == 0;
  auto percent = [&](double v) { return none_finished ? std::string("n/a") : format("%.4g%%", 100 * v); };
  // "3 non_finite, 1 max_steps"
  auto list = [](const std::map<std::string, std::size_t>& by) {
    std::string s;
    for (const auto& [why, count] : by) s += format("%s%zu %s", s.empty() ? "" : ", ", count, why.c_str());
    return s;
  };
  auto reasons = [&](const std::map<std::string, std::size_t>& by) {
    return by.empty() ? std::string() : " (" + list(by) + ")";
  };
  std::cout << "lnn evaluate: " << opt.model << " on " << system->name() << " ("
            << describe(model.spec()) << ", " << to_string(model.precision()) << ")\n";
  std::cout << format("  rollouts: %zu from %s, t = 0 .. %g, %s", o.trajectories,
                      describe(r.box, *system).c_str(), o.t_end, opt.integrator.c_str());
  if (o.integrate.method != Integrator::dopri5) std::cout << format(" dt = %g", o.integrate.dt);
  std::cout << format("; %zu failed%s\n", r.rollouts_failed, reasons(r.rollout_failures).c_str());
  std::cout << format("  energy error |E(t_end) - E(0)| / %g   mean %s   median %s   p90 %s   max %s\n",
                      scale, percent(r.energy_error.mean).c_str(),
                      percent(r.energy_error.median).c_str(), percent(r.energy_error.p90).c_str(),
                      percent(r.energy_error.max).c_str());
  std::cout << format("  acceleration L1 on %zu held-out states: %.5g (%zu solves failed%s)\n",
                      o.held_out, r.acc_l1, r.acc_failed,
                      r.acc_failures.empty() ? "" : (": " + list(r.acc_failures)).c_str());
  std::cout << format("  %s\n", format_duration(r.seconds).c_str());
  if (!opt.json.empty()) {
    // NaN (no rollout finished, no sample solved) is written as null.
    auto number = [](double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr); };
    nlohmann::ordered_json box = describe(r.box, *system);
    nlohmann::ordered_json j = {
        {"model", opt.model},
        {"system", system->name()},
        {"trajectories", o.trajectories},
        {"initial_conditions", box},
        {"t_end", o.t_end},
        {"integrator", opt.integrator},
        {"dt", o.integrate.dt},
        {"solver", opt.solver},
        {"precision", to_string(model.precision())},
        {"energy_error", {{"mean", number(r.energy_error.mean)}, {"median", number(r.energy_error.median)},
                          {"p90", number(r.energy_error.p90)}, {"max", number(r.energy_error.max)},
                          {"count", r.energy_error.count}}},
        {"rollouts_failed", r.rollouts_failed},
        {"rollout_failures", r.rollout_failures},
        {"acc_l1", number(r.acc_l1)},
        {"held_out", o.held_out},
        {"acc_failed", r.acc_failed},
        {"acc_failures", r.acc_failures},
        {"seconds", r.seconds}};
    write_file_atomic(opt.json, j.dump(2) + "\n");
  }
  if (none_finished) {
    throw Error("no rollout finished (" + std::to_string(r.rollouts_failed) + " of " +
                std::to_string(o.trajectories) + " failed" + reasons(r.rollout_failures) +
                "): there is no energy error to report; try --integrator dopri5, a smaller --dt "
                "or other initial conditions (--q-range, --qdot-range)");
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
  sub->add_option("--trajectories", opt->eval.trajectories, "Rollouts (with --dataset: the set's first N trajectories; 0 = all)")->capture_default_str();
  sub->add_option("--t-end", opt->eval.t_end, "Rollout length")->capture_default_str();
  sub->add_option("--integrator", opt->integrator, "rk4 | dopri5 | variational (rk4 at dt 0.01: the reference study's protocol)")->capture_default_str();
  sub->add_option("--dt", opt->eval.integrate.dt, "rk4 and variational step")->capture_default_str();
  sub->add_option("--rtol", opt->eval.integrate.rtol, "dopri5 tolerance")->capture_default_str();
  sub->add_option("--atol", opt->eval.integrate.atol, "dopri5 tolerance")->capture_default_str();
  sub->add_option("--q-range", opt->q_range,
                  "Initial q ~ U[LO, HI): LO,HI or one LO,HI per coordinate (default: the "
                  "system's evaluation box, `lnn systems`)");
  sub->add_option("--qdot-range", opt->qdot_range, "Initial qdot ~ U[LO, HI), as --q-range");
  sub->add_option("--held-out", opt->eval.held_out, "Held-out states for the acceleration error")
      ->capture_default_str();
  sub->add_option("--seed", opt->eval.seed, "Seed of initial conditions and held-out states (judging commands default to 1, "
                  "creating ones to 0, so evaluations never start from training's draws)")
      ->capture_default_str();
  sub->add_option("--solver", opt->solver, "cholesky | lu | damped | pinv")->capture_default_str();
  sub->add_option("--precision", opt->precision,
                  "Run the network in f32 or f64 (default: the model's own; the reference protocol "
                  "evaluates an f32 model in f32)")
      ->check(CLI::IsMember({"f32", "f64"}));
  sub->add_option("--json", opt->json, "Also write the results as JSON to this file");
  CLI::Option* dataset = sub->add_option(
      "--dataset", opt->dataset,
      "Evaluate against this dataset file instead (a system of your own, docs/python.md): "
      "acceleration error at its points, rollouts from its trajectories' first states");
  for (const char* name : {"--system", "--param", "--t-end", "--q-range", "--qdot-range", "--held-out", "--seed"}) {
    dataset->excludes(sub->get_option(name));
  }
  sub->add_flag("--unforced", opt->unforced, "Roll out a forced system with tau = 0 (forced rollouts are not supported yet)");
  sub->add_flag("--quiet,-q", opt->quiet, "No progress display");
  sub->callback([opt] { run_evaluate(*opt); });
}

}  // namespace lnn::cli
