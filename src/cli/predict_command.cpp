// `lnn predict` (alias `lnn eval`): accelerations and energies of a model on states read from CSV.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "lnn/any_engine.hpp"
#include "lnn/model_file.hpp"

namespace lnn::cli {
namespace {

struct EvalOptions {
  std::string model;
  std::string states;
  std::string out;
  std::string tau;
  std::string solver = "lu";
  std::string device = "cpu";
  double damping = 1e-6;
  double rcond = 0.0;
  std::string precision = "auto";
  int chunk = lnn::EngineOptions{}.chunk;
};

// Values of precision p, printed as p prints them.
std::string render_csv(int n, std::size_t B, const std::vector<double>& acc,
                       const std::vector<double>& energy, const std::vector<SolveStatus>& status,
                       const std::vector<double>& pivot, Precision p) {
  std::string text;
  for (int j = 1; j <= n; ++j) text += "qdd_" + std::to_string(j) + ",";
  text += "energy,status,min_pivot\n";
  text.reserve(text.size() + B * (static_cast<std::size_t>(n) + 3) * 24);
  const auto nn = static_cast<std::size_t>(n);
  for (std::size_t b = 0; b < B; ++b) {
    for (std::size_t j = 0; j < nn; ++j) {
      append_number(text, acc[b * nn + j], p);
      text += ',';
    }
    append_number(text, energy[b], p);
    text += ',';
    text += to_string(status[b]);
    text += ',';
    append_number(text, pivot[b], p);
    text += '\n';
  }
  return text;
}

void evaluate(const EvalOptions& opt) {
  const AnyModel model = AnyModel::load(opt.model);
  const Precision precision =
      opt.precision == "auto" ? model.precision() : parse_precision(opt.precision);
  const int n = model.spec().n;
  const auto nn = static_cast<std::size_t>(n);
  const CsvTable<double> states = read_csv(
      opt.states, 2 * nn, format("2n = %zu values (n = %d)", 2 * nn, n), precision);
  const std::size_t B = states.rows;

  std::vector<double> tau;
  if (!opt.tau.empty()) {
    CsvTable<double> t = read_csv(opt.tau, nn, format("n = %d generalized forces", n), precision);
    if (t.rows != B) {
      throw FileError(opt.tau, format("has %zu rows of forces but %s has %zu states", t.rows,
                                      opt.states.c_str(), B));
    }
    tau = std::move(t.values);
  }

  EngineOptions options;
  options.solve.method = parse_solve_method(opt.solver);
  options.solve.damping = opt.damping;
  options.solve.rcond = opt.rcond;
  options.chunk = opt.chunk;
  options.device = resolve_device(opt.device);
  AnyEngine engine(model, options, precision);

  std::vector<double> acc(B * nn), energy(B), pivot(B);
  std::vector<SolveStatus> status(B);
  const Stopwatch clock;
  const SolveReport report = engine.accelerations<double>(states.values, tau, acc, status, pivot);
  engine.energy<double>(states.values, energy);
  const double seconds = clock.seconds();

  write_file_atomic(opt.out, render_csv(n, B, acc, energy, status, pivot, precision));

  std::cerr << format(
      "lnn predict: %zu samples, %zu failed (%zu not_positive_definite, %zu singular), %s, %s, %s, "
      "%.3g s, %.4g samples/s%s%s\n",
      B, report.failures(), report.not_positive_definite, report.singular,
      std::string(to_string(precision)).c_str(), opt.solver.c_str(),
      std::string(to_string(options.device)).c_str(), seconds,
      seconds > 0 ? static_cast<double>(B) / seconds : 0.0, opt.out == "-" ? "" : " -> ",
      opt.out == "-" ? "" : opt.out.c_str());
  if (B > 0 && report.failures() == B) {
    std::cerr << "lnn: warning: every sample failed to solve (its accelerations are NaN); the "
                 "mass matrix is not usable with --solver "
              << opt.solver << "; try --solver damped, lu or pinv\n";
  }
}

void run_eval(const EvalOptions& opt) {
  refuse_same_file(opt.out, "--out", {{"--model", opt.model}, {"--states", opt.states}, {"--tau", opt.tau}});
  if (opt.states == "-" && opt.tau == "-") {
    throw InvalidArgument("--states and --tau cannot both read standard input");
  }
  evaluate(opt);
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto opt = std::make_shared<EvalOptions>();
  // "predict", not "eval": `lnn evaluate` is the reference protocol's judgement
  // of a model; "eval", this command's old name, stays an alias.
  CLI::App* sub = app.add_subcommand(
      "predict", "Accelerations and energies of a model on states from a CSV file (alias: eval)");
  sub->alias("eval");
  sub->add_option("--model,-m", opt->model, "Model file (safetensors)")->required();
  sub->add_option("--states", opt->states,
                  "CSV of states, one per row: q_1..q_n, qdot_1..qdot_n ('-' = stdin); an "
                  "optional header, '#' comments and blank lines are skipped")
      ->required();
  sub->add_option("--out,-o", opt->out,
                  "CSV to write: qdd_1..qdd_n,energy,status,min_pivot ('-' = stdout)")
      ->required();
  sub->add_option("--tau", opt->tau, "CSV of generalized forces, n per row, one row per state");
  add_device_flag(*sub, opt->device);
  sub->add_option("--solver", opt->solver, "Mass-matrix solve: cholesky | lu | damped | pinv")
      ->capture_default_str()
      ->check(parsed_by([](const std::string& t) { parse_solve_method(t); }, "SOLVER"));
  sub->add_option("--damping", opt->damping, "Diagonal shift of --solver damped")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--rcond", opt->rcond,
                  "Relative singularity cutoff in [0, 1); 0 = n * machine epsilon (pinv: 10 n eps)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--precision", opt->precision,
                  "auto (the model file's dtype) | f32 | f64 (converts the model)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "f32", "f64"}));
  sub->add_option("--chunk", opt->chunk, "Samples processed together (bounds memory)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->callback([opt] { run_eval(*opt); });
}

}  // namespace lnn::cli
