// The CUDA engine against the CPU engine: every operation in float and
// double on awkward sizes (…IsEquivalentToCpu), solve statuses, a training
// step, errors. Skips, saying why, where the build has no CUDA backend or no
// GPU is usable.
#include <gtest/gtest.h>

#include <algorithm>
#include <unistd.h>
#include <filesystem>
#include <array>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "common/batched_equivalence.hpp"
#include "common/equivalence.hpp"
#include "common/fresh_reference.hpp"
#include "common/test_util.hpp"
#include "engine/backend_factory.hpp"
#include "cuda/memory_kind.hpp"
#include "engine/engine_access.hpp"
#include "engine/engine_impl.hpp"
#include "lnn/dataset.hpp"
#include "lnn/engine.hpp"
#include "lnn/errors.hpp"
#include "lnn/generate.hpp"
#include "lnn/info.hpp"
#include "lnn/optimizer.hpp"
#include "lnn/systems.hpp"
#include "lnn/train.hpp"
#include "systems/fresh_batch.hpp"
#include "train/parameter_store.hpp"

namespace lnn {
namespace {

// Host values into device memory (through the library's checked copy).
template <class T>
void to_device(T* device, const T* host, std::size_t count) {
  lnn::detail::copy_host_to_device(device, host, count * sizeof(T));
}

// Why the CUDA tests cannot run here, or "" when they can.
std::string why_no_gpu() {
  if (!cuda_compiled()) return "built without the CUDA backend";
  std::string why;
  if (cuda_devices(&why).empty()) return "no usable GPU: " + why;
  return "";
}

#define LNN_REQUIRE_GPU()                    \
  do {                                       \
    const std::string why_ = why_no_gpu();   \
    if (!why_.empty()) GTEST_SKIP() << why_; \
  } while (0)

// LU: a fresh network's M is often indefinite (Cholesky is tested below).
EngineOptions cpu_options() {
  EngineOptions o;
  o.solve.method = SolveMethod::lu;
  return o;
}
EngineOptions cuda_options(int chunk = EngineOptions::kDefaultChunk) {
  EngineOptions o = cpu_options();
  o.device = Device::cuda;
  o.chunk = chunk;
  return o;
}

template <class T>
class CudaEngine : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(CudaEngine, Precisions);

TYPED_TEST(CudaEngine, EveryOperationIsEquivalentToCpu) {
  LNN_REQUIRE_GPU();
  using T = TypeParam;
  struct Case {
    int n;
    std::vector<int> hidden;
    int B;
    bool angle;
  };
  const Case cases[] = {
      {2, {1}, 1, false},
      {2, {33, 33}, 11, true},
      {2, {33, 33, 33}, 257, false},
      {2, {600, 600, 600}, 257, false},
      {8, {128, 128}, 65, true},
      {1, {600}, 11, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("n " + std::to_string(c.n) + ", width " + std::to_string(c.hidden.front()) +
                 " × " + std::to_string(c.hidden.size()) + ", B " + std::to_string(c.B));
    const Model<T> model =
        test::equivalence_model<T>(c.n, c.hidden, 5, Activation::softplus, c.angle);
    Engine<T> cpu(model, cpu_options()), gpu(model, cuda_options());
    test::expect_equivalent(cpu, gpu, c.n, c.B, 11);
  }
}

// Many chunks and a chunk boundary inside the batch; B = 65537 on the
// cheaper operations (the CPU reference is the slow side).
TYPED_TEST(CudaEngine, LargeBatchesAcrossChunksAreEquivalentToCpu) {
  LNN_REQUIRE_GPU();
  using T = TypeParam;
  const int n = 2, B = 65537;
  const Model<T> model = test::equivalence_model<T>(n, {33, 33}, 8);
  Engine<T> cpu(model, cpu_options()), gpu(model, cuda_options(4096)),
      whole(model, cuda_options(B));
  const std::vector<T> x = test::random_states<T>(B, n, 3);
  std::vector<T> L1(B), L2(B), L3(B), a1(B * n), a2(B * n);
  std::vector<SolveStatus> s1(B), s2(B);
  cpu.lagrangian(x, L1);
  gpu.lagrangian(x, L2);
  whole.lagrangian(x, L3);
  test::expect_close_arrays(L2, L1, "L (chunks of 4096)");
  test::expect_close_arrays(L3, L1, "L (one chunk)");
  cpu.accelerations(x, {}, a1, s1);
  gpu.accelerations(x, {}, a2, s2);
  int flips = 0, far = 0;
  for (int s = 0; s < B; ++s) flips += s2[s] != s1[s] ? 1 : 0;
  EXPECT_LE(flips, B / 1000) << "solve statuses that differ from the CPU's";
  for (std::size_t i = 0; i < a1.size(); ++i)
    if (std::isfinite(a1[i]) && std::fabs(a2[i] - a1[i]) > 1e-2 * (1 + std::fabs(a1[i]))) ++far;
  EXPECT_LE(far, B / 1000) << "accelerations far from the CPU's (ill-conditioned M allowed for)";
}

TYPED_TEST(CudaEngine, SolveMethodsGiveTheCpuStatuses) {
  LNN_REQUIRE_GPU();
  using T = TypeParam;
  const int n = 3, B = 257;
  // tanh models give indefinite M for many states: statuses matter.
  const Model<T> model = test::equivalence_model<T>(n, {32, 32}, 21, Activation::tanh);
  for (const SolveMethod m : {SolveMethod::cholesky, SolveMethod::pinv, SolveMethod::damped}) {
    SCOPED_TRACE(std::string(to_string(m)));
    EngineOptions co, go = cuda_options();
    co.solve.method = go.solve.method = m;
    co.solve.damping = go.solve.damping = 1e-3;
    Engine<T> cpu(model, co), gpu(model, go);
    test::expect_equivalent(cpu, gpu, n, B, 4);
  }
}

// The batched solve (cuSOLVER potrfBatched/potrsBatched, cuBLAS
// getrfBatched/getrsBatched; docs/math.md §5), which the CUDA engine takes
// for n >= 9 (kBatchedSolveMinDefault, unless LNN_BATCHED_SOLVE_MIN says
// otherwise; here also n = 6 with it set to 1), against the CPU engine's per-sample solve: statuses, pivots,
// accelerations and the loss gradient, on awkward n and batch sizes (chunks
// of 64 and a padded last one), with samples that are not positive definite
// and singular (test::expect_batched_like_cpu, as the staging emulation).
TYPED_TEST(CudaEngine, BatchedSolveIsEquivalentToCpu) {
  LNN_REQUIRE_GPU();
  using T = TypeParam;
  for (const int n : {6, 9, 13, 31}) {
    const std::array<Model<T>, 3> models = test::batched_solve_models<T>(n);
    std::array<int, 3> total{};
    for (std::size_t mi = 0; mi < std::size(models); ++mi) {
      for (const SolveMethod m : {SolveMethod::cholesky, SolveMethod::damped, SolveMethod::lu}) {
        for (const double rcond : {0.0, 0.1}) {
          SCOPED_TRACE("n " + std::to_string(n) + ", model " + std::to_string(mi) + ", " +
                       std::string(to_string(m)) + ", rcond " + std::to_string(rcond));
          EngineOptions co, go = cuda_options(64);
          co.solve.method = go.solve.method = m;
          co.solve.damping = go.solve.damping = 1e-2;
          co.solve.rcond = go.solve.rcond = rcond;
          // n = 6: below the default threshold, batched through
          // LNN_BATCHED_SOLVE_MIN (read when an engine is made).
          if (n < 9) setenv("LNN_BATCHED_SOLVE_MIN", "1", 1);
          Engine<T> cpu(models[mi], co), gpu(models[mi], go);
          if (n < 9) unsetenv("LNN_BATCHED_SOLVE_MIN");
          const std::array<int, 3> c =
              test::expect_batched_like_cpu(cpu, gpu, co.solve, n, 157, 5);
          for (std::size_t i = 0; i < 3; ++i) total[i] += c[i];
        }
      }
    }
    SCOPED_TRACE("n " + std::to_string(n));
    EXPECT_GT(total[0], 0) << "no solved sample";
    EXPECT_GT(total[1], 0) << "no sample not positive definite";
    EXPECT_GT(total[2], 0) << "no singular sample";
  }
}

// One optimizer step from the CUDA engine's gradient equals the CPU's.
TYPED_TEST(CudaEngine, TrainingStepIsEquivalentToCpu) {
  LNN_REQUIRE_GPU();
  using T = TypeParam;
  const int n = 2, B = 512;
  Model<T> m1 = test::equivalence_model<T>(n, {128, 128, 128}, 2);
  Model<T> m2 = test::equivalence_model<T>(n, {128, 128, 128}, 2);
  Engine<T> cpu(m1, cpu_options()), gpu(m2, cuda_options());
  const std::vector<T> x = test::random_states<T>(B, n, 9);
  const std::vector<T> targets = test::uniform<T>(B * n, -2, 2, 10);
  const std::size_t P = m1.spec().parameter_count();
  OptimizerOptions ao;
  Adam<T> opt1(P, ao), opt2(P, ao);
  std::vector<T> g1(P), g2(P);
  // The gradient passes through M⁻¹, so in float one entry can differ by more
  // than the tolerance where cond(M) is large (seen on an H200: 1 of 33,793
  // by 2.9e-4 of the largest). Then the GPU must be as accurate as the CPU,
  // each against the double-precision gradient at its own parameters.
  const std::vector<double> xd(x.begin(), x.end()), td(targets.begin(), targets.end());
  const auto exact_gradient = [&](const Model<T>& m) {
    Model<double> md(m.spec());
    std::copy(m.parameters().begin(), m.parameters().end(), md.parameters().begin());
    std::vector<double> gd(P);
    Engine<double>(md, cpu_options()).loss_gradient(xd, {}, td, Loss::l1, gd);
    return gd;
  };
  for (int step = 0; step < 3; ++step) {
    const LossResult<T> r1 = cpu.loss_gradient(x, {}, targets, Loss::l1, g1);
    const LossResult<T> r2 = gpu.loss_gradient(x, {}, targets, Loss::l1, g2);
    EXPECT_NEAR(r2.loss, r1.loss, 1e2 * test::equivalence_tol<T>() * (1 + r1.loss));
    test::expect_as_accurate_as_cpu(g2, exact_gradient(m2), g1, exact_gradient(m1), "param_grad",
                                    1e2 * test::equivalence_tol<T>());
    opt1.step(m1.parameters(), g1, 3);
    opt2.step(m2.parameters(), g2, 3);
  }
  std::vector<T> p1(m1.parameters().begin(), m1.parameters().end());
  std::vector<T> p2(m2.parameters().begin(), m2.parameters().end());
  test::expect_close_arrays(p2, p1, "parameters after 3 steps", 1e2 * test::equivalence_tol<T>());
}

// A training step queued on the device (loss gradient, then the store's
// Adam step planned on the device, read a step late) equals the CPU engine's
// gradient and the host Adam, with coupled weight decay and clipping.
TYPED_TEST(CudaEngine, QueuedTrainingStepIsEquivalentToCpu) {
  LNN_REQUIRE_GPU();
  using T = TypeParam;
  const int n = 2, B = 300;
  Model<T> host = test::equivalence_model<T>(n, {600, 600, 600}, 4);
  Model<T> device = host;
  const std::size_t P = host.parameters().size();
  OptimizerOptions o;
  o.weight_decay = 1e-3;
  o.clip_norm = 1e-6;  // every step clipped, so rounding cannot flip the decision
  Adam<T> ah(P, o), ad(P, o);
  EngineOptions co;
  co.solve.method = SolveMethod::lu;
  EngineOptions go = cuda_options();
  go.solve.method = SolveMethod::lu;
  Engine<T> he(host, co), ge(device, go);
  engine::EngineCore<T>& core = engine::EngineAccess<T>::core(ge);
  auto store = engine::make_parameter_store(core, device, ad);
  ge.bind_parameters(store->params());
  std::vector<T> gh(P);
  std::vector<typename Adam<T>::StepInfo> host_info;
  for (int k = 0; k < 5; ++k) {
    const std::vector<T> x = test::random_states<T>(B, n, 60 + static_cast<unsigned>(k));
    const std::vector<T> y = test::uniform<T>(static_cast<std::size_t>(B) * n, -1.0, 1.0,
                                              70 + static_cast<unsigned>(k));
    LossOptions<T> lo;
    const LossResult<T> rh = he.loss_gradient(x, {}, y, lo, gh);
    host_info.push_back(ah.step(host.parameters(), gh, 100));
    store->step(ad, core.loss_gradient_queued(x, {}, y, lo, store->grad()), 100);
    if (k == 0) continue;
    const training::StepOutcome<T> out = store->take();
    ASSERT_TRUE(out.stepped);
    EXPECT_TRUE(out.info.clipped);
    EXPECT_EQ(out.info.lr, host_info[static_cast<std::size_t>(k - 1)].lr);
    EXPECT_NEAR(out.info.grad_norm, host_info[static_cast<std::size_t>(k - 1)].grad_norm,
                1e2 * test::equivalence_tol<T>() * host_info[static_cast<std::size_t>(k - 1)].grad_norm);
    (void)rh;
  }
  EXPECT_TRUE(store->take().stepped);
  store->to_model(device, ad);
  EXPECT_EQ(ad.steps(), ah.steps());
  const std::vector<T> ph(host.parameters().begin(), host.parameters().end());
  const std::vector<T> pd(device.parameters().begin(), device.parameters().end());
  test::expect_close_arrays(pd, ph, "parameters", 1e2 * test::equivalence_tol<T>());
}

// A short training run on the GPU (parameters, moments and gradient on the
// device) ends where the CPU's does, within rounding.
TEST(CudaTraining, TrainingRunIsEquivalentToCpu) {
  LNN_REQUIRE_GPU();
  TrainConfig c;
  c.system = "mass_spring";
  c.spec.n = 1;
  c.spec.hidden = {32, 32};
  c.init = Init::xavier;
  c.optimizer.lr = 3e-3;
  c.steps = 20;
  c.batch = 257;
  c.validation_samples = 128;
  c.validate_every = 10;
  c.checkpoint_every = 0;
  c.seed = 3;
  c.solve.method = SolveMethod::lu;
  auto run = [&](Device d) {
    TrainConfig cd = c;
    cd.device = d;
    Model<double> model(cd.spec);
    model.initialize(cd.init, cd.seed);
    Adam<double> adam(model.parameters().size(), cd.optimizer);
    TrainState state;
    const TrainResult r = train(cd, model, adam, state);
    EXPECT_EQ(r.steps, 20);
    return std::make_pair(
        r, std::vector<double>(model.parameters().begin(), model.parameters().end()));
  };
  const auto [rc, pc] = run(Device::cpu);
  const auto [rg, pg] = run(Device::cuda);
  EXPECT_NEAR(rg.loss, rc.loss, 1e-8 * (1 + rc.loss));
  EXPECT_NEAR(rg.val_loss, rc.val_loss, 1e-8 * (1 + rc.val_loss));
  test::expect_close_arrays(pg, pc, "parameters after 20 steps", 1e-9);
}

// A run records its step as a CUDA graph after the first plain one (one
// per staging slot for a dataset file) and replays it; it ends where the
// same run queued launch by launch ends (LNN_CUDA_GRAPHS=0): the same kernels in the same order, so
// bit for bit unless cuBLAS picks another algorithm inside a graph (recorded
// as a test property; the bound asserted allows for that).
TEST(CudaTraining, GraphReplayEqualsStepByStep) {
  LNN_REQUIRE_GPU();
  TrainConfig c;
  c.system = "double_pendulum";
  c.spec.n = 2;
  c.spec.hidden = {64, 64};
  c.spec.embedding.assign(2, Embedding::angle);
  c.init = Init::lnn;
  c.optimizer.lr = 1e-3;
  c.optimizer.clip_norm = 1.0;
  c.steps = 40;
  c.batch = 512;
  c.validation_samples = 256;
  c.validate_every = 15;  // two drains in the middle of the run
  c.checkpoint_every = 0;
  c.seed = 9;
  c.solve.method = SolveMethod::lu;
  c.device = Device::cuda;
  // Fresh data drawn on the device (one graph), and a dataset file whose
  // batches go through the two pinned staging slots (one graph per slot).
  const std::string dataset =
      (std::filesystem::temp_directory_path() / ("lnn-graph-" + std::to_string(getpid()) + ".h5"))
          .string();
  {
    DerivativeSetOptions g;
    g.samples = 6000;
    g.seed = 4;
    save_dataset(generate_derivatives(*make_system("double_pendulum", {}), g), dataset);
  }
  for (const bool from_file : {false, true}) {
    SCOPED_TRACE(from_file ? "dataset file" : "fresh data");
    TrainConfig cf = c;
    if (from_file) cf.dataset = dataset;
    auto run = [&](bool graphs) {
      if (graphs) {
        unsetenv("LNN_CUDA_GRAPHS");
      } else {
        setenv("LNN_CUDA_GRAPHS", "0", 1);
      }
      Model<float> model(cf.spec);
      model.initialize(cf.init, cf.seed);
      Adam<float> adam(model.parameters().size(), cf.optimizer);
      TrainState state;
      testing::internal::CaptureStderr();
      const TrainResult r = train(cf, model, adam, state);
      const std::string err = testing::internal::GetCapturedStderr();
      unsetenv("LNN_CUDA_GRAPHS");
      EXPECT_EQ(err.find("not recorded"), std::string::npos) << err;
      EXPECT_EQ(r.steps, cf.steps);
      EXPECT_EQ(adam.steps(), cf.steps - r.skipped);
      return std::make_pair(r,
                            std::vector<float>(model.parameters().begin(), model.parameters().end()));
    };
    const auto [rg, pg] = run(true);
    const auto [rs, ps] = run(false);
    const bool bitwise = pg == ps && rg.loss == rs.loss;
    RecordProperty(from_file ? "dataset_bitwise_equal" : "fresh_bitwise_equal", bitwise ? "yes" : "no");
    std::cout << "[ graph ] " << (from_file ? "dataset" : "fresh")
              << " run replayed bit for bit equal to step by step: " << (bitwise ? "yes" : "no")
              << "\n";
    EXPECT_NEAR(rg.loss, rs.loss, 1e-4 * (1 + std::fabs(rs.loss)));
    EXPECT_NEAR(rg.val_loss, rs.val_loss, 1e-4 * (1 + std::fabs(rs.val_loss)));
    test::expect_close_arrays(pg, ps, "parameters after 40 steps",
                              1e2 * test::equivalence_tol<float>());
  }
  std::filesystem::remove(dataset);
}

// The sampler and the analytic ground truth on the device equal the host
// data path (Random123 gives the same stream; libm and CUDA's maths may
// differ in the last bits of a sine).
TYPED_TEST(CudaEngine, FreshBatchesAreEquivalentToCpu) {
  LNN_REQUIRE_GPU();
  using T = TypeParam;
  const std::size_t B = 4099;
  const Model<T> model = test::equivalence_model<T>(2, {8}, 1);
  Engine<T> eng(model, cuda_options());  // the batches are drawn on its stream
  engine::EngineCore<T>& core = engine::EngineAccess<T>::core(eng);
  for (const char* name : {"double_pendulum", "cart_pole", "three_body", "mass_spring"}) {
    SCOPED_TRACE(name);
    const std::unique_ptr<System> sys = make_system(name, {});
    for (const bool boxed : {false, true}) {
      StateBox box;
      if (boxed) box = {{{-1.0, 1.0}}, {{-0.5, 0.5}}};
      auto fresh = engine::make_fresh_batches(core, *sys, box, 5, B);
      if (sys->dof() > systems::kFreshMaxDof) {
        EXPECT_EQ(fresh, nullptr);
        continue;
      }
      ASSERT_NE(fresh, nullptr);
      const auto b = fresh->batch(2);
      std::vector<double> x, tau, acc;
      test::host_fresh_batch(*sys, box, 5, 2, B, x, tau, acc);
      auto fetch = [](std::span<const T> d) {
        std::vector<T> h(d.size());
        lnn::detail::copy_device_to_host(h.data(), d.data(), d.size() * sizeof(T));
        return h;
      };
      auto as_t = [](const std::vector<double>& v) { return std::vector<T>(v.begin(), v.end()); };
      test::expect_close_arrays(fetch(b.states), as_t(x), "states", 4 * test::eps<T>());
      test::expect_close_arrays(fetch(b.tau), as_t(tau), "tau", 4 * test::eps<T>());
      test::expect_close_arrays(fetch(b.targets), as_t(acc), "targets", 1e3 * test::eps<T>());
    }
  }
}

// TF32 GEMMs: their error, measured against FP32 on the GPU with the CPU in
// double as the reference (recorded as test properties and printed; the
// bound asserted is loose: TF32 keeps 10 mantissa bits).
TEST(CudaEngineTf32, AccuracyCostAgainstFp32IsMeasured) {
  LNN_REQUIRE_GPU();
  const int n = 2, B = 4096;
  const Model<float> model = test::equivalence_model<float>(n, {600, 600, 600}, 3);
  Model<double> model64(model.spec());
  for (std::size_t i = 0; i < model.parameters().size(); ++i)
    model64.parameters()[i] = model.parameters()[i];
  // The GEMM modes compared: FP32, TF32, 3xTF32 (three TF32 products of
  // split operands, core/tf32_split.hpp).
  constexpr int kModes = 3;
  const char* names[kModes] = {"fp32", "tf32", "tf32x3"};
  EngineOptions opts[kModes] = {cuda_options(), cuda_options(), cuda_options()};
  opts[1].tf32 = true;
  opts[2].tf32x3 = true;
  Engine<double> ref(model64, cpu_options());
  const std::vector<float> x = test::random_states<float>(B, n, 5);
  const std::vector<double> x64(x.begin(), x.end());
  std::vector<double> a64(B * n);
  ref.accelerations(x64, {}, a64);
  // Relative errors against double per sample (NaN: not compared: FP32's
  // own result or the reference is not finite).
  std::vector<double> rel[kModes];
  for (int mode = 0; mode < kModes; ++mode) {
    Engine<float> e(model, opts[mode]);
    std::vector<float> a(B * n);
    e.accelerations(x, {}, a);
    rel[mode].assign(B, NAN);
    for (int s = 0; s < B; ++s) {
      double num = 0, den = 0;
      for (int p = 0; p < n; ++p) {
        const double r = a64[s * n + p];
        num += (a[s * n + p] - r) * (a[s * n + p] - r);
        den += r * r;
      }
      if (!std::isfinite(den) || den == 0) continue;
      rel[mode][s] = std::isfinite(num) ? std::sqrt(num / den) : INFINITY;
    }
  }
  auto compared = [&](int s) { return !std::isnan(rel[0][s]) && std::isfinite(rel[0][s]); };
  const auto q = [](std::vector<double> v, double f) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(f * static_cast<double>(v.size() - 1))];
  };
  double med[kModes], p99[kModes];
  for (int mode = 0; mode < kModes; ++mode) {
    std::vector<double> e;
    for (int s = 0; s < B; ++s)
      if (compared(s)) e.push_back(rel[mode][s]);
    ASSERT_GT(e.size(), static_cast<std::size_t>(B / 2));
    med[mode] = q(e, 0.5);
    p99[mode] = q(e, 0.99);
    RecordProperty(std::string(names[mode]) + "_median_rel_err", std::to_string(med[mode]));
    RecordProperty(std::string(names[mode]) + "_p99_rel_err", std::to_string(p99[mode]));
    std::cout << "accelerations vs CPU double (3 x 600, B = " << B << "), " << names[mode]
              << " GEMMs: median " << med[mode] << ", p99 " << p99[mode] << "\n";
  }
  EXPECT_LT(med[0], 1e-3);
  EXPECT_LT(med[1], 0.5);
  EXPECT_LT(med[2], 10 * med[0] + 1e-6);  // 3xTF32: about FP32's accuracy

  // The same errors by the condition of M (|λ|max / |λ|min of the double
  // engine's M): TF32 rounds the GEMMs' inputs to 10 bits, and the solve
  // amplifies an error in M by up to cond(M). Printed per decade (issue 15:
  // the effect of TF32 and 3xTF32 as a function of the condition of M).
  std::vector<double> M(static_cast<std::size_t>(B) * n * n);
  ref.euler_lagrange_terms(x64, M, {}, {});
  constexpr int kDecades = 5;  // [1, 10), …, [1e3, 1e4), >= 1e4
  std::vector<double> by[kDecades][kModes];
  for (int s = 0; s < B; ++s) {
    const double a = M[s * 4], b = M[s * 4 + 1], d = M[s * 4 + 3];
    const double mean = 0.5 * (a + d), r = std::sqrt(0.25 * (a - d) * (a - d) + b * b);
    const double l1 = std::fabs(mean + r), l2 = std::fabs(mean - r);
    const double cond = std::max(l1, l2) / std::min(l1, l2);
    if (!std::isfinite(cond) || !compared(s)) continue;
    const int decade = std::min(kDecades - 1, std::max(0, static_cast<int>(std::log10(cond))));
    for (int mode = 0; mode < kModes; ++mode) by[decade][mode].push_back(rel[mode][s]);
  }
  std::cout << "median relative error of q̈ by cond(M): decade, samples, FP32, TF32, 3xTF32\n";
  for (int k = 0; k < kDecades; ++k) {
    if (by[k][0].empty()) continue;
    const std::string name = "cond_1e" + std::to_string(k) + (k + 1 < kDecades ? "" : "_up");
    RecordProperty(name + "_samples", std::to_string(by[k][0].size()));
    std::cout << "  cond in [1e" << k << (k + 1 < kDecades ? ", 1e" + std::to_string(k + 1) : ", inf")
              << "): " << by[k][0].size();
    for (int mode = 0; mode < kModes; ++mode) {
      const double m = q(by[k][mode], 0.5);
      RecordProperty(name + "_" + names[mode] + "_median_rel_err", std::to_string(m));
      std::cout << ", " << m;
    }
    std::cout << "\n";
  }
}

TEST(CudaEngineErrors, OutOfMemoryNamesTheBatch) {
  LNN_REQUIRE_GPU();
  const int n = 2, B = 1 << 22;
  const Model<float> model = test::equivalence_model<float>(n, {4096, 4096, 4096}, 1);
  Engine<float> gpu(model, cuda_options(B));  // one chunk of 4 Mi samples: terabytes
  const std::vector<float> x(static_cast<std::size_t>(B) * 2 * n, 0.1f);
  std::vector<float> acc(static_cast<std::size_t>(B) * n);
  try {
    gpu.accelerations(x, {}, acc);
    FAIL() << "expected OutOfMemory";
  } catch (const OutOfMemory& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(std::to_string(B)), std::string::npos) << what;
    EXPECT_NE(what.find("chunk"), std::string::npos) << what;
  }
  // The engine is still usable with a batch that fits.
  std::vector<float> small(2 * n * 8, 0.1f), a(n * 8);
  EXPECT_NO_THROW(gpu.accelerations(small, {}, a));
}

TEST(CudaEngineErrors, BadShapesAreRefusedAsOnTheCpu) {
  LNN_REQUIRE_GPU();
  const Model<double> model = test::equivalence_model<double>(2, {8}, 1);
  Engine<double> gpu(model, cuda_options());
  std::vector<double> x(7), L(2);
  EXPECT_THROW(gpu.lagrangian(x, L), InvalidArgument);
}

TEST(CudaEngineBuild, RefusedWithAReasonWhereNotUsable) {
  const std::string why = why_no_gpu();
  if (why.empty()) GTEST_SKIP() << "a GPU is usable here";
  const Model<float> model = test::equivalence_model<float>(2, {8}, 1);
  try {
    Engine<float> gpu(model, cuda_options());
    FAIL() << "a CUDA engine without a usable GPU";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cuda"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace lnn
