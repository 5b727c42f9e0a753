// Throughput of the engine (Google Benchmark): accelerations and the
// loss-gradient step for the reference double-pendulum network shape
// (n = 2, 3 hidden layers, float), with GFLOP/s by the docs/math.md §3 count and
// this machine's SGEMM rate measured in the same run (OpenBLAS on the CPU,
// cuBLAS on the GPU). The CUDA benchmarks (names ending in /device:1) add
// scaling over the batch (512 … 2^20) and n (1 … 16); without a usable GPU
// they report an error and the CPU ones still run. BM_SolveCrossover times
// the per-sample against the batched solve on the GPU for n = 2 … 32.
//
//   ./build/bench/lnn_bench --benchmark_out=results.json --benchmark_out_format=json
//   ./build/bench/lnn_bench --benchmark_filter='device:1'   # the GPU only
//   ./build/bench/lnn_bench --roofline            # the H200 roofline account, no device needed
//   ./build/bench/lnn_bench --roofline-launches   # … and every launch in it
//
// Every benchmark reports `H200_implied_ms`, the time per call its roofline
// account implies on an H200 (src/engine/cost_model.hpp). With
// LNN_PHASE_TIMES=1 the account of each benchmark is printed at the end with
// the measured phase times beside the implied ones (docs/benchmarks.md,
// "Roofline account").
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "engine/backend_factory.hpp"
#include "engine/cost_model.hpp"
#include "lnn/engine.hpp"
#include "cpu/prepare_process.hpp"
#include "lnn/info.hpp"
#include "lnn/phase_times.hpp"
#include "lnn/optimizer.hpp"
#include "engine/engine_access.hpp"
#include "engine/engine_impl.hpp"
#include "lnn/systems.hpp"
#include "systems/fresh_batch.hpp"
#include "train/parameter_store.hpp"
#include "train/step_graph.hpp"

// cuBLAS SGEMM rate of the current GPU in TFLOP/s (bench/cuda_peak.cu), 0
// without one; why_not says why.
#if defined(LNN_HAVE_CUDA)
double cublas_sgemm_tflops(std::string* why_not);
#else
double cublas_sgemm_tflops(std::string* why_not) {
  if (why_not) *why_not = "built without the CUDA backend";
  return 0.0;
}
#endif

namespace {

constexpr int kHidden = 3;  // hidden layers; kHidden − 1 of them are m×m

// SGEMM rate of this machine: the median of 11 2048×600×600 products.
double sgemm_gflops() {
  static const double rate = [] {
    const int M = 2048, N = 600, K = 600;
    std::vector<float> A(static_cast<std::size_t>(M) * K, 0.5f),
        B(static_cast<std::size_t>(N) * K, 0.25f), C(static_cast<std::size_t>(M) * N);
    std::vector<double> rates;
    for (int r = 0; r < 11; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A.data(), K, B.data(), K,
                  0.0f, C.data(), N);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rates.push_back(2.0 * M * N * K / s / 1e9);
    }
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
  }();
  return rate;
}

// Arguments of every benchmark: {width, batch, n, device (0 cpu, 1 cuda)}.
struct Setup {
  explicit Setup(const benchmark::State& state)
      : width(static_cast<int>(state.range(0))),
        batch(static_cast<int>(state.range(1))),
        n(static_cast<int>(state.range(2))),
        device(state.range(3) == 1 ? lnn::Device::cuda : lnn::Device::cpu),
        model(spec(width, n)) {
    model.initialize(lnn::Init::lnn, 0);
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<float> uq(0.0f, 6.2831853f), uv(-10.0f, 10.0f);
    const std::size_t w = 2 * static_cast<std::size_t>(n);
    states.resize(static_cast<std::size_t>(batch) * w);
    for (std::size_t i = 0; i < states.size(); ++i) states[i] = (i % w) < w / 2 ? uq(rng) : uv(rng);
    acc.resize(static_cast<std::size_t>(batch) * n);
    grad.resize(model.spec().parameter_count());
  }
  static lnn::ModelSpec spec(int width, int n) {
    lnn::ModelSpec s;
    s.n = n;
    s.hidden.assign(kHidden, width);
    s.embedding.assign(static_cast<std::size_t>(n), lnn::Embedding::angle);
    return s;
  }
  lnn::EngineOptions options() const {
    lnn::EngineOptions opt;
    opt.device = device;
    opt.solve.method = lnn::SolveMethod::lu;  // a fresh network's M is often indefinite
    // One launch sequence per call up to 65536 samples (≈ 11 GB of workspace
    // for the loss gradient at width 600); larger batches in chunks of it.
    if (device == lnn::Device::cuda) opt.chunk = std::min(batch, 65536);
    return opt;
  }
  int width, batch, n;
  lnn::Device device;
  lnn::Model<float> model;
  std::vector<float> states, acc, grad;
};

// The GPU's cuBLAS SGEMM rate, measured once per run.
double gpu_sgemm_gflops() {
  static const double rate = [] {
    std::string why;
    return 1e3 * cublas_sgemm_tflops(&why);
  }();
  return rate;
}

// Skips a CUDA benchmark where no GPU is usable (true: skipped).
bool skip_without_gpu(benchmark::State& state) {
  if (state.range(3) != 1) return false;
  std::string why;
  if (!lnn::cuda_compiled()) {
    why = "built without the CUDA backend";
  } else if (lnn::cuda_devices(&why).empty()) {
    why = "no usable GPU: " + why;
  } else {
    return false;
  }
  state.SkipWithError(why.c_str());
  return true;
}

// The roofline account of each benchmark run with the phase timer, by
// benchmark (the last repetition's), printed after all benchmarks ran.
std::map<std::string, std::string>& phase_accounts() {
  static std::map<std::string, std::string> accounts;
  return accounts;
}

void report(benchmark::State& state, const Setup& s, lnn::engine::Work work, double flop_per_sample,
            std::size_t failures) {
  const int width = s.width;
  const double batch = static_cast<double>(state.range(1));
  state.SetItemsProcessed(state.iterations() * state.range(1));
  state.counters["samples_per_s"] = benchmark::Counter(
      batch * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["GFLOP_per_s"] =
      benchmark::Counter(flop_per_sample * batch * static_cast<double>(state.iterations()) / 1e9,
                         benchmark::Counter::kIsRate);
  state.counters["sgemm_GFLOP_per_s"] =
      s.device == lnn::Device::cuda ? gpu_sgemm_gflops() : sgemm_gflops();
  state.counters["solve_failures"] = static_cast<double>(failures);
  // The time per call this call's roofline account implies on an H200.
  const lnn::engine::CostSetup account = lnn::engine::CostSetup::benchmark(
      s.model.spec(), static_cast<int>(sizeof(float)), s.batch, work);
  const auto implied = lnn::engine::total_cost(
      lnn::engine::phase_costs(lnn::engine::launch_costs(account), lnn::engine::kH200Fp32));
  state.counters["H200_implied_ms"] = implied.seconds * 1e3;
  // LNN_PHASE_TIMES=1: where the time of a call goes (include/lnn/phase_times.hpp),
  // ms per call by phase; the marks perturb the totals a little.
  if (lnn::phase_timing_enabled() && state.iterations() > 0) {
    std::vector<std::pair<std::string, double>> measured;
    for (const lnn::PhaseTime& p : lnn::phase_times()) {
      const double ms = p.ms / static_cast<double>(state.iterations());
      state.counters["phase " + p.name + " ms"] = ms;
      measured.emplace_back(p.name, ms);
    }
    const std::string name = std::string(lnn::engine::to_string(work)) + " width " +
                             std::to_string(width) + ", batch " + std::to_string(s.batch) + ", n " +
                             std::to_string(s.n) + ", measured on " +
                             std::string(lnn::to_string(s.device));
    phase_accounts()[name] =
        name + "\n" + lnn::engine::roofline_table(account, lnn::engine::kH200Fp32, measured);
  }
  state.SetLabel("n=" + std::to_string(s.n) + " hidden=3x" + std::to_string(width) + " float " +
                 std::string(lnn::to_string(s.device)));
}

// Columns per sample of the m×m GEMMs of one loss gradient, counted from
// src/engine/layer_algorithm.hpp: forward with n + 1 tangents (n + 2), the
// reverse pass (1), the adjoint of the reverse pass (s̄ and W̄: 2) and of the
// forward pass (W̄ and the next [z̄; T̄]: 2(n + 2)); 3n + 9 (the count used
// before 2026-11-30, 3n + 7, missed the reverse adjoint's two).
int kGradColumns(int n) { return 3 * n + 9; }

// docs/math.md §3: multiply-adds per sample in the m×m GEMMs.
double flops(int width, int per_layer_columns) {
  return 2.0 * per_layer_columns * (kHidden - 1) * static_cast<double>(width) * width;
}

void BM_Accelerations(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  Setup s(state);
  lnn::Engine<float> engine(s.model, s.options());
  std::size_t failures = 0;
  lnn::reset_phase_times();
  for (auto _ : state) {
    failures = engine.accelerations(s.states, {}, s.acc).failures();
    benchmark::DoNotOptimize(s.acc.data());
  }
  report(state, s, lnn::engine::Work::accelerations, flops(s.width, s.n + 3), failures);
}

void BM_LossGradient(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  Setup s(state);
  lnn::Engine<float> engine(s.model, s.options());
  std::vector<float> targets(s.acc.size(), 0.0f);
  std::size_t failures = 0;
  lnn::reset_phase_times();
  for (auto _ : state) {
    failures = engine.loss_gradient(s.states, {}, targets, lnn::Loss::l1, s.grad).solve.failures();
    benchmark::DoNotOptimize(s.grad.data());
  }
  report(state, s, lnn::engine::Work::loss_gradient, flops(s.width, kGradColumns(s.n)), failures);
}

// Training steps as lnn train queues them (src/train/trainer.cpp): the loss
// gradient into the store's gradient with the store's parameters bound, the
// Adam step where the parameters live (device memory on the GPU), and each
// step's outcome read a step late (nothing waits on the GPU but that read).
// `queue(k)` queues step k's batch and loss gradient; the steps still queued
// when the timing ends are read after it (one step of all those timed).
template <class Queue>
std::size_t run_steps(benchmark::State& state, lnn::training::ParameterStore<float>& store,
                      lnn::Adam<float>& adam, Queue queue, lnn::training::StepGraph* graph) {
  std::size_t failures = 0;
  bool recorded = false;
  std::int64_t k = 0;
  auto take = [&] {
    const auto out = store.take();
    failures = static_cast<std::size_t>(out.loss.not_positive_definite + out.loss.singular);
  };
  for (auto _ : state) {
    if (recorded) {
      graph->replay();
    } else if (graph != nullptr && k > 0) {
      recorded = graph->capture([&] { store.update(adam, queue(k), 1 << 30); });
      if (!recorded) state.SkipWithError(("not recorded as a CUDA graph: " + graph->why()).c_str());
      else graph->replay();
    } else {
      store.update(adam, queue(k), 1 << 30);
    }
    store.publish();
    ++k;
    while (store.queued() > store.lag()) take();
  }
  while (store.queued() > 0) take();
  return failures;
}

// A whole training step with the batch uploaded from the host each step (a
// dataset file's run).
void BM_TrainingStep(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  Setup s(state);
  lnn::Engine<float> engine(s.model, s.options());
  lnn::engine::EngineCore<float>& core = lnn::engine::EngineAccess<float>::core(engine);
  lnn::OptimizerOptions o;
  o.lr = 1e-6;  // keep the network where it started: every step costs the same
  lnn::Adam<float> adam(s.model.parameters().size(), o);
  std::unique_ptr<lnn::training::ParameterStore<float>> store =
      lnn::engine::make_parameter_store(core, s.model, adam);
  engine.bind_parameters(store->params());
  const std::vector<float> targets(s.acc.size(), 0.0f);
  lnn::LossOptions<float> lo;
  lnn::reset_phase_times();
  const std::size_t failures = run_steps(
      state, *store, adam,
      [&](std::int64_t) { return core.loss_gradient_queued(s.states, {}, targets, lo, store->grad()); },
      nullptr);
  report(state, s, lnn::engine::Work::training_step, flops(s.width, kGradColumns(s.n)), failures);
}

// A whole training step on fresh double-pendulum data drawn on the GPU, the
// step recorded once as a CUDA graph and replayed (lnn train's GPU run on an
// analytic system). n = 2 only.
void BM_TrainingStepFresh(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  Setup s(state);
  lnn::Engine<float> engine(s.model, s.options());
  lnn::engine::EngineCore<float>& core = lnn::engine::EngineAccess<float>::core(engine);
  lnn::OptimizerOptions o;
  o.lr = 1e-6;
  lnn::Adam<float> adam(s.model.parameters().size(), o);
  auto store = lnn::engine::make_parameter_store(core, s.model, adam);
  engine.bind_parameters(store->params());
  const std::unique_ptr<lnn::System> sys = lnn::make_system("double_pendulum", {});
  auto fresh = lnn::engine::make_fresh_batches(core, *sys, {}, 1, static_cast<std::size_t>(s.batch));
  fresh->seek(0);
  auto graph = lnn::engine::make_step_graph(core);
  lnn::LossOptions<float> lo;
  lnn::reset_phase_times();
  const std::size_t failures = run_steps(
      state, *store, adam,
      [&](std::int64_t) {
        const auto b = fresh->next();
        return core.loss_gradient_queued(b.states, b.tau, b.targets, lo, store->grad());
      },
      graph.get());
  state.counters["cuda_graph"] = graph ? 1.0 : 0.0;
  report(state, s, lnn::engine::Work::training_step, flops(s.width, kGradColumns(s.n)), failures);
}

// The CPU: the reference shapes (n = 2), five repetitions.
void cpu_shapes(benchmark::internal::Benchmark* b) {
  for (int width : {128, 600})
    for (int batch : {512, 65536}) b->Args({width, batch, 2, 0});
  b->ArgNames({"width", "batch", "n", "device"})
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Repetitions(5);
}

// The GPU: the reference shapes, then scaling over the batch (width 600,
// n = 2) and over n (width 600, batch 65536); three repetitions.
void gpu_shapes(benchmark::internal::Benchmark* b) {
  for (int width : {128, 600})
    for (int batch : {512, 65536}) b->Args({width, batch, 2, 1});
  for (int width : {128, 600})
    for (int batch : {4096, 262144, 1 << 20}) b->Args({width, batch, 2, 1});
  for (int n : {1, 4, 8, 16}) b->Args({600, 65536, n, 1});
  b->ArgNames({"width", "batch", "n", "device"})
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Repetitions(3)
      ->MinTime(0.2);
}

BENCHMARK(BM_Accelerations)->Apply(cpu_shapes);
BENCHMARK(BM_LossGradient)->Apply(cpu_shapes);
BENCHMARK(BM_Accelerations)->Apply(gpu_shapes);
BENCHMARK(BM_LossGradient)->Apply(gpu_shapes);
// The training step at the reference shapes, CPU and GPU.
BENCHMARK(BM_TrainingStepFresh)->Apply([](benchmark::internal::Benchmark* b) {
  for (int width : {128, 600})
    for (int batch : {512, 65536}) b->Args({width, batch, 2, 1});
  b->ArgNames({"width", "batch", "n", "device"})
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Repetitions(3)
      ->MinTime(0.2);
});
BENCHMARK(BM_TrainingStep)->Apply([](benchmark::internal::Benchmark* b) {
  for (int device : {0, 1})
    for (int width : {128, 600})
      for (int batch : {512, 65536}) b->Args({width, batch, 2, device});
  b->ArgNames({"width", "batch", "n", "device"})
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Repetitions(3);
});

// ---- the batched solve's crossover (docs/benchmarks.md, "Batched solve crossover")
// Accelerations on the GPU (width 64, B = 16384, float) with the per-sample
// solve (path 0: a thread per sample, core::factor_solve) and the batched one
// (path 1: cuSOLVER / cuBLAS batched, docs/math.md §5) for n = 2 … 32, lu and
// cholesky. The two paths differ only in the solve, so the difference of the
// times is the difference of the solves. The path is chosen through
// LNN_BATCHED_SOLVE_MIN, which an engine reads when it is made. At the end
// the table of both, by n, and which is faster.
// Args: {width, batch, n, device, method (0 lu, 1 cholesky), path}.
struct CrossoverTimes {
  double ms[2] = {0.0, 0.0};  // per call, the fastest repetition, by path
  std::size_t failures = 0;
};
std::map<std::pair<int, int>, CrossoverTimes>& crossover() {
  static std::map<std::pair<int, int>, CrossoverTimes> times;
  return times;
}

void BM_SolveCrossover(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  Setup s(state);
  const int method = static_cast<int>(state.range(4)), path = static_cast<int>(state.range(5));
  lnn::EngineOptions opt = s.options();
  opt.solve.method = method == 1 ? lnn::SolveMethod::cholesky : lnn::SolveMethod::lu;
  setenv("LNN_BATCHED_SOLVE_MIN", path == 1 ? "1" : "1000000000", 1);
  lnn::Engine<float> engine(s.model, opt);
  unsetenv("LNN_BATCHED_SOLVE_MIN");
  std::size_t failures = 0;
  engine.accelerations(s.states, {}, s.acc);  // warm-up: the arena, the cuSOLVER handle
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    failures = engine.accelerations(s.states, {}, s.acc).failures();
    benchmark::DoNotOptimize(s.acc.data());
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                        .count() /
                    static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
  CrossoverTimes& t = crossover()[{s.n, method}];
  t.ms[path] = t.ms[path] > 0.0 ? std::min(t.ms[path], ms) : ms;
  t.failures = failures;
  state.counters["solve_failures"] = static_cast<double>(failures);
  state.SetItemsProcessed(state.iterations() * state.range(1));
  state.SetLabel(std::string(path == 1 ? "batched" : "per-sample") + " " +
                 (method == 1 ? "cholesky" : "lu") + " n=" + std::to_string(s.n));
}

BENCHMARK(BM_SolveCrossover)->Apply([](benchmark::internal::Benchmark* b) {
  for (int n = 2; n <= 32; ++n)
    for (int method : {0, 1})
      for (int path : {0, 1}) b->Args({64, 16384, n, 1, method, path});
  b->ArgNames({"width", "batch", "n", "device", "method", "path"})
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Repetitions(3)
      ->MinTime(0.05);
});

void print_crossover() {
  if (crossover().empty()) return;
  std::printf("\nBatched solve crossover (accelerations, width 64, B = 16384, float; ms per call)\n");
  std::printf("%4s  %-8s  %12s  %12s  %-10s  %s\n", "n", "method", "per-sample", "batched",
              "faster", "failures");
  for (const auto& [key, t] : crossover()) {
    const char* faster = t.ms[0] <= 0.0 || t.ms[1] <= 0.0 ? "-"
                         : t.ms[1] < t.ms[0]              ? "batched"
                                                          : "per-sample";
    std::printf("%4d  %-8s  %12.4f  %12.4f  %-10s  %zu\n", key.first,
                key.second == 1 ? "cholesky" : "lu", t.ms[0], t.ms[1], faster, t.failures);
  }
}

// --roofline: the account of the reference shapes (width 600, n = 2, float;
// B = 512 and 65536; accelerations, loss gradient, training step) on an
// H200, without running anything (src/engine/cost_model.hpp).
int print_roofline(bool launches) {
  for (std::int64_t batch : {65536, 512})
    for (lnn::engine::Work work :
         {lnn::engine::Work::accelerations, lnn::engine::Work::loss_gradient,
          lnn::engine::Work::training_step}) {
      const lnn::engine::CostSetup setup = lnn::engine::CostSetup::benchmark(
          Setup::spec(600, 2), static_cast<int>(sizeof(float)), batch, work);
      std::fputs(lnn::engine::roofline_table(setup, lnn::engine::kH200Fp32, {}, launches).c_str(),
                 stdout);
      std::fputs("\n", stdout);
    }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--roofline") == 0) return print_roofline(false);
    if (std::strcmp(argv[i], "--roofline-launches") == 0) return print_roofline(true);
  }
  lnn::prepare_process(argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("lnn_version", lnn::version());
  benchmark::AddCustomContext("blas", lnn::blas_name() + ", kernels " + lnn::blas_kernels());
  benchmark::AddCustomContext("cpu_threads", std::to_string(lnn::cpu_threads()));
  benchmark::RunSpecifiedBenchmarks();
  for (const auto& [name, table] : phase_accounts()) std::printf("\n%s", table.c_str());
  print_crossover();
  benchmark::Shutdown();
  return 0;
}
