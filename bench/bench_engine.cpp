// CPU throughput of the engine (Google Benchmark): accelerations and the
// loss-gradient step for the reference double-pendulum network shape
// (n = 2, 3 hidden layers, float), with GFLOP/s by the MATH.md §3 count and
// the fraction of this machine's SGEMM rate measured in the same run.
//
//   ./build/bench/lnn_bench --benchmark_out=results.json --benchmark_out_format=json
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "lnn/engine.hpp"
#include "lnn/info.hpp"

namespace {

constexpr int kN = 2;       // degrees of freedom
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

struct Setup {
  explicit Setup(int width, int batch) : model(spec(width)) {
    model.initialize(lnn::Init::lnn, 0);
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<float> uq(0.0f, 6.2831853f), uv(-10.0f, 10.0f);
    states.resize(static_cast<std::size_t>(batch) * 2 * kN);
    for (std::size_t i = 0; i < states.size(); ++i)
      states[i] = (i % (2 * kN)) < kN ? uq(rng) : uv(rng);
    acc.resize(static_cast<std::size_t>(batch) * kN);
    grad.resize(model.spec().parameter_count());
  }
  static lnn::ModelSpec spec(int width) {
    lnn::ModelSpec s;
    s.n = kN;
    s.hidden.assign(kHidden, width);
    s.embedding.assign(kN, lnn::Embedding::angle);
    return s;
  }
  lnn::Model<float> model;
  std::vector<float> states, acc, grad;
};

void report(benchmark::State& state, int width, double flop_per_sample, std::size_t failures) {
  const double batch = static_cast<double>(state.range(1));
  state.SetItemsProcessed(state.iterations() * state.range(1));
  state.counters["samples_per_s"] = benchmark::Counter(
      batch * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["GFLOP_per_s"] =
      benchmark::Counter(flop_per_sample * batch * static_cast<double>(state.iterations()) / 1e9,
                         benchmark::Counter::kIsRate);
  state.counters["sgemm_GFLOP_per_s"] = sgemm_gflops();
  state.counters["solve_failures"] = static_cast<double>(failures);
  state.SetLabel("n=2 hidden=3x" + std::to_string(width) + " float");
}

// MATH.md §3: multiply-adds per sample in the m×m GEMMs.
double flops(int width, int per_layer_columns) {
  return 2.0 * per_layer_columns * (kHidden - 1) * static_cast<double>(width) * width;
}

void BM_Accelerations(benchmark::State& state) {
  const int width = static_cast<int>(state.range(0)), batch = static_cast<int>(state.range(1));
  Setup s(width, batch);
  lnn::EngineOptions opt;
  opt.solve.method = lnn::SolveMethod::lu;  // a fresh network's M is often indefinite
  lnn::Engine<float> engine(s.model, opt);
  std::size_t failures = 0;
  for (auto _ : state) {
    failures = engine.accelerations(s.states, {}, s.acc).failures();
    benchmark::DoNotOptimize(s.acc.data());
  }
  report(state, width, flops(width, kN + 3), failures);
}

void BM_LossGradient(benchmark::State& state) {
  const int width = static_cast<int>(state.range(0)), batch = static_cast<int>(state.range(1));
  Setup s(width, batch);
  lnn::EngineOptions opt;
  opt.solve.method = lnn::SolveMethod::lu;
  lnn::Engine<float> engine(s.model, opt);
  std::vector<float> targets(s.acc.size(), 0.0f);
  std::size_t failures = 0;
  for (auto _ : state) {
    failures = engine.loss_gradient(s.states, {}, targets, lnn::Loss::l1, s.grad).solve.failures();
    benchmark::DoNotOptimize(s.grad.data());
  }
  report(state, width, flops(width, 3 * kN + 7), failures);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (int width : {128, 600})
    for (int batch : {512, 65536}) b->Args({width, batch});
  b->ArgNames({"width", "batch"})->UseRealTime()->Unit(benchmark::kMillisecond)->Repetitions(5);
}

BENCHMARK(BM_Accelerations)->Apply(shapes);
BENCHMARK(BM_LossGradient)->Apply(shapes);

}  // namespace

int main(int argc, char** argv) {
  lnn::select_blas_kernels(argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("lnn_version", lnn::version());
  benchmark::AddCustomContext("blas", lnn::blas_name() + ", kernels " + lnn::blas_kernels());
  benchmark::AddCustomContext("cpu_threads", std::to_string(lnn::cpu_threads()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
