// `lnn throughput`: samples per second of accelerations (or of the exact loss
// gradient) on random states, for a model file or a freshly initialized spec.
#include <algorithm>
#include <iostream>
#include <memory>
#include <numbers>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "lnn/any_engine.hpp"
#include "lnn/info.hpp"
#include "lnn/model_file.hpp"

namespace lnn::cli {
namespace {

struct ThroughputOptions {
  std::string model;
  SpecFlags spec;
  std::size_t batch = 65536;
  int repeat = 5;
  std::string precision = "auto";
  std::string what = "acc";
  std::string solver = "lu";
  int chunk = lnn::EngineOptions{}.chunk;
  std::string device = "cpu";
  bool tf32 = false;
  bool tf32x3 = false;
};

constexpr std::uint64_t kStateSeed = 20240611;

// q ~ U[0, 2π), q̇ ~ U[-10, 10), from a fixed seed.
template <class T>
std::vector<T> random_states(std::size_t B, int n) {
  std::mt19937_64 rng(kStateSeed);
  std::uniform_real_distribution<double> q(0.0, 2.0 * std::numbers::pi);
  std::uniform_real_distribution<double> v(-10.0, 10.0);
  const auto nn = static_cast<std::size_t>(n);
  std::vector<T> states(B * 2 * nn);
  for (std::size_t b = 0; b < B; ++b) {
    for (std::size_t j = 0; j < nn; ++j) states[b * 2 * nn + j] = static_cast<T>(q(rng));
    for (std::size_t j = 0; j < nn; ++j) states[b * 2 * nn + nn + j] = static_cast<T>(v(rng));
  }
  return states;
}

// The model file, or a fresh model of the spec flags in `precision`.
AnyModel make_model(const ThroughputOptions& opt, Precision precision) {
  if (!opt.model.empty()) return AnyModel::load(opt.model);
  AnyModel model(opt.spec.spec(), precision);
  model.initialize(opt.spec.init_scheme(), opt.spec.seed);
  return model;
}

// Times `engine` on arrays of its own precision T (no conversions timed).
template <class T>
void measure(const ThroughputOptions& opt, Engine<T>& engine) {
  const Model<T>& model = engine.model();
  const EngineOptions& options = engine.options();
  const int n = model.spec().n;
  const std::size_t B = opt.batch;
  const bool grad = opt.what == "grad";

  const std::vector<T> states = random_states<T>(B, n);
  std::vector<T> acc(grad ? 0 : B * static_cast<std::size_t>(n));
  std::vector<T> targets(grad ? B * static_cast<std::size_t>(n) : 0, T(0));
  std::vector<T> param_grad(grad ? model.parameters().size() : 0);
  const auto once = [&]() -> SolveReport {
    if (grad) return engine.loss_gradient(states, {}, targets, Loss::l1, param_grad).solve;
    return engine.accelerations(states, {}, acc);
  };

  std::cout << "lnn throughput: " << (grad ? "loss gradient (L1)" : "accelerations") << ", "
            << to_string(precision_of<T>()) << ", " << describe(model.spec()) << "\n";
  if (options.device == Device::cuda) {
    const std::vector<GpuInfo> gpus = cuda_devices();
    std::cout << format("  batch %zu, chunk %d, solver %s, cuda (%s)%s\n", B,
                        engine.options().chunk == EngineOptions::kDefaultChunk
                            ? EngineOptions::kCudaDefaultChunk
                            : engine.options().chunk,
                        opt.solver.c_str(), gpus.empty() ? "?" : gpus.front().name.c_str(),
                        sizeof(T) != 4 ? ""
                        : opt.tf32x3   ? ", 3xTF32 GEMMs"
                        : opt.tf32     ? ", TF32 GEMMs"
                                       : "");
  } else {
    std::cout << format("  batch %zu, chunk %d, solver %s, cpu, %d threads, BLAS %s\n", B,
                        opt.chunk, opt.solver.c_str(), cpu_threads(), blas_name().c_str());
  }

  const Stopwatch warm_clock;
  const SolveReport warm = once();
  std::cout << format("  warm-up: %.3f s", warm_clock.seconds());
  if (warm.failures() > 0) {
    std::cout << format(
        ", %zu of %zu samples failed to solve (%zu not_positive_definite, "
        "%zu singular)",
        warm.failures(), warm.samples, warm.not_positive_definite, warm.singular);
  }
  std::cout << "\n";

  std::vector<double> rates;
  for (int r = 0; r < opt.repeat; ++r) {
    const Stopwatch clock;
    once();
    const double s = clock.seconds();
    const double rate = s > 0 ? static_cast<double>(B) / s : 0.0;
    rates.push_back(rate);
    std::cout << format("  repeat %d: %.4f s, %.4g samples/s\n", r + 1, s, rate);
  }
  std::sort(rates.begin(), rates.end());
  const std::size_t m = rates.size();
  const double median = m % 2 ? rates[m / 2] : 0.5 * (rates[m / 2 - 1] + rates[m / 2]);
  std::cout << format("samples/s: median %.4g, min %.4g, max %.4g (%d repeats)\n", median,
                      rates.front(), rates.back(), opt.repeat);
}

void run_throughput(const ThroughputOptions& opt) {
  const Precision asked = opt.precision == "auto" ? Precision::f32 : parse_precision(opt.precision);
  const AnyModel model = make_model(opt, asked);
  EngineOptions options;
  options.solve.method = parse_solve_method(opt.solver);
  options.chunk = opt.chunk;
  options.device = resolve_device(opt.device);
  options.tf32 = opt.tf32;
  options.tf32x3 = opt.tf32x3;
  // auto: a file's own precision, f32 for a fresh model.
  AnyEngine engine(model, options,
                   opt.precision == "auto" ? model.precision() : asked);
  engine.visit([&](auto& e) { measure(opt, e); });
}

}  // namespace

void add_throughput_command(CLI::App& app) {
  auto opt = std::make_shared<ThroughputOptions>();
  CLI::App* sub = app.add_subcommand(
      "throughput",
      "Measure samples/s of accelerations (or loss gradients) on random states; the model is "
      "--model or a fresh one from the spec flags");
  CLI::Option* model =
      sub->add_option("--model,-m", opt->model, "Model file (default: a fresh model, see below)");
  for (CLI::Option* o : add_spec_flags(*sub, opt->spec)) o->excludes(model);
  sub->add_option("--batch", opt->batch, "Samples per call")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--repeat", opt->repeat, "Timed calls after one warm-up")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--precision", opt->precision,
                  "auto (the model file's dtype, f32 for a fresh model) | f32 | f64")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "f32", "f64"}));
  sub->add_option("--what", opt->what,
                  "acc: accelerations | grad: exact L1 loss gradient against zero targets")
      ->capture_default_str()
      ->check(CLI::IsMember({"acc", "grad"}));
  sub->add_option("--solver", opt->solver, "Mass-matrix solve: cholesky | lu | damped | pinv")
      ->capture_default_str()
      ->check(parsed_by([](const std::string& t) { parse_solve_method(t); }, "SOLVER"));
  sub->add_option("--chunk", opt->chunk,
                  "Samples processed together (bounds memory; the CUDA engine takes the default "
                  "as 65536)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_device_flag(*sub, opt->device);
  sub->add_flag("--tf32", opt->tf32, "CUDA, float: TF32 tensor-core GEMMs");
  sub->add_flag("--tf32x3", opt->tf32x3,
                "CUDA, float: each GEMM as three TF32 products of split operands (3xTF32)");
  sub->callback([opt] { run_throughput(*opt); });
}

}  // namespace lnn::cli
