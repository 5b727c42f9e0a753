// The engine's work over a backend whose memory is not the caller's: a CPU
// emulation of the CUDA backend's data movement. Every input is copied in,
// every output is written to a buffer poisoned with NaN (or a bogus status)
// and reaches the caller only through fetch(), the parameters are a copy,
// and every GEMM goes through the row-major → column-major mapping that the
// CUDA backend hands to cuBLAS (src/cuda/gemm_layout.hpp), here given to
// CBLAS's column-major interface. A missing upload, fetch or wrong GEMM
// argument shows as a difference from the CPU engine, without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "common/equivalence.hpp"
#include "common/fresh_reference.hpp"
#include "common/test_util.hpp"
#include "core/reduce_order.hpp"
#include "cpu/cpu_backend.hpp"
#include "cuda/gemm_layout.hpp"
#include "engine/cost_model.hpp"
#include "engine/engine_impl.hpp"
#include "lnn/generate.hpp"
#include "lnn/optimizer.hpp"
#include "lnn/systems.hpp"
#include "systems/fresh_batch.hpp"
#include "train/parameter_store.hpp"

namespace lnn {
namespace {

template <class T>
struct StagingBackend : cpu::CpuBackend<T> {
  template <class U>
  using Buffer = std::vector<U>;
  // As the CUDA backend: the adjoint's Ū formed in the tangent adjoint, not
  // stored (the CPU engine it is compared with stores it).
  static constexpr bool kUbarInRegisters = true;
  // As the CUDA backend: σ′, σ″, σ‴ formed again from a, not stored.
  static constexpr bool kRecomputeDerivs = true;

  void gemm(bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* A, int lda,
            const T* B, int ldb, T beta, T* C, int ldc) const {
    if (m == 0 || n == 0) return;
    const cuda::ColMajorGemm g = cuda::as_col_major(trans_a, trans_b, m, n, k, lda, ldb, ldc);
    const CBLAS_TRANSPOSE t1 = g.trans_first ? CblasTrans : CblasNoTrans;
    const CBLAS_TRANSPOSE t2 = g.trans_second ? CblasTrans : CblasNoTrans;
    if constexpr (sizeof(T) == 4) {
      cblas_sgemm(CblasColMajor, t1, t2, g.m, g.n, g.k, alpha, B, g.ld_first, A, g.ld_second, beta,
                  C, g.ldc);
    } else {
      cblas_dgemm(CblasColMajor, t1, t2, g.m, g.n, g.k, alpha, B, g.ld_first, A, g.ld_second, beta,
                  C, g.ldc);
    }
    ++*gemms;
  }

  template <class U>
  static void poison(U* p, std::size_t count) {
    if constexpr (std::is_floating_point_v<U>) {
      std::fill(p, p + count, std::numeric_limits<U>::quiet_NaN());
    } else {
      std::memset(static_cast<void*>(p), 0xA5, count * sizeof(U));
    }
  }
  template <class U>
  const U* stage_in(const U* p, std::size_t count, Buffer<U>& buf) const {
    if (p == nullptr) return nullptr;
    buf.assign(p, p + count);
    ++*copies;
    return buf.data();
  }
  template <class U>
  U* stage_out(U* p, std::size_t count, Buffer<U>& buf) const {
    if (p == nullptr) return nullptr;
    buf.resize(count);
    poison(buf.data(), count);
    return buf.data();
  }
  template <class U>
  void fetch(U* dst, const U* src, std::size_t count) const {
    EXPECT_NE(dst, src) << "fetch from the caller's own memory";
    std::copy(src, src + count, dst);
    ++*copies;
  }
  const T* parameters(std::span<const T> params, Buffer<T>& buf) const {
    return stage_in(params.data(), params.size(), buf);
  }

  // The mapping primitives as the CUDA kernels run them (kernels/): elements
  // in reverse order (a body that depends on the order shows), row sums and
  // column sums in exactly the GPU's order (core/reduce_order.hpp).
  template <class F>
  void for_each_element(std::int64_t rows, int m, F f) const {
    for (std::int64_t e = rows * m - 1; e >= 0; --e) f(e / m, static_cast<int>(e % m));
    if (rows > 0 && m > 0) ++*element_maps;
  }
  template <class Row, class G>
  void reduce_rows(std::int64_t rows, int m, Row row, G g) const {
    for (std::int64_t r = 0; r < rows; ++r) {
      const auto term = row(r);
      using V = decltype(term(0));
      V lane[core::kWarp];
      for (int l = 0; l < core::kWarp; ++l) {
        lane[l] = V(0);
        for (int i = l; i < m; i += core::kWarp) lane[l] += term(i);
      }
      for (int o = core::kWarp / 2; o > 0; o /= 2)
        for (int l = 0; l < o; ++l) lane[l] += lane[l + o];
      g(r, lane[0]);
    }
    if (rows > 0) ++*row_reductions;
  }
  // The fused Hessian blocks in the kernel's order (a warp per sample,
  // kernels/hessian_blocks.cu), samples in reverse order.
  template <int K>
  void hessian_blocks(const core::HessianBlocksArgs<T>& a) const {
    for (std::int64_t s = a.b - 1; s >= 0; --s) core::hessian_block_sample<K>(a, s, core::kWarp);
    ++*fused_passes;
  }
  // Per-sample loops and the gradient's scaling as the CPU runs them, counted
  // as the CUDA backend would launch them (nothing for an empty range).
  template <class F>
  void for_each(int count, F f) const {
    if (count > 0) ++*per_sample;
    cpu::CpuBackend<T>::for_each(count, f);
  }
  void scale(T* dst, std::size_t count, T factor) const {
    if (count > 0) ++*per_sample;
    cpu::CpuBackend<T>::scale(dst, count, factor);
  }
  template <class U, class V>
  void sum_rows(int rows, int cols, const U* X, std::size_t ld, V* out) const {
    if (rows > 0 && cols > 0) ++*column_sums;
    const std::int64_t chunks = core::column_chunks(rows);
    for (int j = 0; j < cols; ++j) {
      V total = V(0);
      for (std::int64_t c = 0; c < chunks; ++c) {
        const std::int64_t r0 = c * core::kColumnChunk;
        const std::int64_t r1 = std::min<std::int64_t>(r0 + core::kColumnChunk, rows);
        V chunk = V(0);
        for (int y = 0; y < core::kColumnLanes; ++y) {
          V lane = V(0);
          for (std::int64_t r = r0 + y; r < r1; r += core::kColumnLanes)
            lane += static_cast<V>(X[static_cast<std::size_t>(r) * ld + j]);
          chunk = y == 0 ? lane : chunk + lane;
        }
        total += chunk;
      }
      out[j] += total;
    }
  }

  std::shared_ptr<long> gemms = std::make_shared<long>(0);
  std::shared_ptr<long> copies = std::make_shared<long>(0);
  std::shared_ptr<long> element_maps = std::make_shared<long>(0);
  std::shared_ptr<long> row_reductions = std::make_shared<long>(0);
  std::shared_ptr<long> fused_passes = std::make_shared<long>(0);
  std::shared_ptr<long> per_sample = std::make_shared<long>(0);
  std::shared_ptr<long> column_sums = std::make_shared<long>(0);
};

template <class T>
class EngineStaging : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(EngineStaging, Precisions);

TYPED_TEST(EngineStaging, EveryOperationEqualsTheCpuEngine) {
  using T = TypeParam;
  struct Case {
    int n;
    std::vector<int> hidden;
    int B;
    int chunk;
    bool angle;
  };
  const Case cases[] = {
      {2, {1}, 1, 1024, false},      {2, {33, 33}, 11, 1024, true},
      {2, {33, 33}, 257, 64, false}, {3, {16, 16, 16}, 37, 1024, true},
      {2, {600}, 11, 1024, false},   {2, {40, 40}, 600, 1024, true},  // 3 column-sum chunks
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("n " + std::to_string(c.n) + ", widths " + std::to_string(c.hidden.front()) +
                 " × " + std::to_string(c.hidden.size()) + ", B " + std::to_string(c.B) +
                 ", chunk " + std::to_string(c.chunk));
    const Model<T> model =
        test::equivalence_model<T>(c.n, c.hidden, 17, Activation::softplus, c.angle);
    EngineOptions opt;
    opt.chunk = c.chunk;
    // LU: a fresh network's M is often indefinite, and Cholesky would leave
    // the loss without solved samples. Cholesky and pinv are below.
    opt.solve.method = SolveMethod::lu;
    Engine<T> ref(model, opt);
    StagingBackend<T> be;
    engine::EngineOn<T, StagingBackend<T>> staged(model, opt, be);
    test::expect_equivalent(ref, staged, c.n, c.B, 99);
    EXPECT_GT(*be.gemms, 0);
    EXPECT_GT(*be.copies, 0);
    EXPECT_GT(*be.element_maps, 0);
    EXPECT_GT(*be.row_reductions, 0);
    EXPECT_GT(*be.fused_passes, 0);
  }
}

TYPED_TEST(EngineStaging, SolveMethodsAndFailuresEqualTheCpuEngine) {
  using T = TypeParam;
  const int n = 3;
  const Model<T> model = test::equivalence_model<T>(n, {32, 32}, 21, Activation::tanh);
  for (const SolveMethod m : {SolveMethod::cholesky, SolveMethod::pinv, SolveMethod::damped}) {
    SCOPED_TRACE(std::string(to_string(m)));
    EngineOptions opt;
    opt.solve.method = m;
    opt.solve.damping = 1e-3;
    Engine<T> ref(model, opt);
    engine::EngineOn<T, StagingBackend<T>> staged(model, opt);
    test::expect_equivalent(ref, staged, n, 41, 4);
  }
}

// The training store over a backend with memory of its own equals the host
// Adam: the same parameters, moments and step count after steps with coupled
// or decoupled weight decay, clipping and a schedule, with the Adam step
// planned on the backend and its outcome read a step later; a non-finite
// gradient or loss changes nothing and is reported as skipped.
TYPED_TEST(EngineStaging, ParameterStoreStepsEqualTheHostAdam) {
  using T = TypeParam;
  const Model<T> start = test::equivalence_model<T>(2, {16, 16}, 4);
  const std::size_t P = start.parameters().size();
  for (const int variant : {0, 1, 2, 3}) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    OptimizerOptions o;
    o.lr = 1e-2;
    if (variant == 1) o.weight_decay = 1e-2;
    if (variant == 2) o.weight_decay = 1e-2, o.decoupled = true, o.clip_norm = 0.5;
    if (variant == 3) o.schedule = Schedule::one_cycle, o.clip_norm = 3.0;
    Model<T> host = start, device = start;
    Adam<T> adam_host(P, o), adam_device(P, o);
    training::BackendParameterStore<T, StagingBackend<T>> store(StagingBackend<T>{}, device,
                                                                adam_device);
    EXPECT_EQ(store.lag(), 1);
    engine::LossSummary loss;
    loss.loss = 0.25;
    std::vector<typename Adam<T>::StepInfo> expected;
    for (int k = 0; k < 6; ++k) {
      std::vector<T> g = test::uniform<T>(P, -1.0, 1.0, 100 + static_cast<unsigned>(k));
      engine::LossSummary lk = loss;
      const bool bad_gradient = k == 2, bad_loss = k == 4;
      if (bad_gradient) g[P / 2] = std::numeric_limits<T>::infinity();
      if (bad_loss) lk.loss = std::numeric_limits<double>::quiet_NaN();
      if (!bad_gradient && !bad_loss) expected.push_back(adam_host.step(host.parameters(), g, 10));
      std::copy(g.begin(), g.end(), store.grad().begin());
      store.step(adam_device, &lk, 10);
      if (k == 0) continue;  // read a step late
      ASSERT_EQ(store.queued(), 2);
      const training::StepOutcome<T> out = store.take();
      const bool skipped = k - 1 == 2 || k - 1 == 4;
      EXPECT_EQ(out.stepped, !skipped);
      if (!skipped) {
        const auto& want = expected[static_cast<std::size_t>(k - 1 - (k - 1 > 2) - (k - 1 > 4))];
        EXPECT_EQ(out.info.clipped, want.clipped);
        EXPECT_EQ(out.info.lr, want.lr);
        EXPECT_NEAR(out.info.grad_norm, want.grad_norm, 1e-12 * want.grad_norm);
        EXPECT_EQ(out.loss.loss, 0.25);
      }
    }
    EXPECT_TRUE(store.take().stepped);
    EXPECT_EQ(store.queued(), 0);
    EXPECT_THROW(store.take(), Error);
    store.to_model(device, adam_device);
    EXPECT_EQ(adam_device.steps(), adam_host.steps());
    const std::vector<T> ph(host.parameters().begin(), host.parameters().end());
    const std::vector<T> pd(device.parameters().begin(), device.parameters().end());
    EXPECT_EQ(pd, ph);
    const std::vector<T> mh(adam_host.first_moment().begin(), adam_host.first_moment().end());
    const std::vector<T> md(adam_device.first_moment().begin(), adam_device.first_moment().end());
    EXPECT_EQ(md, mh);
    const std::vector<T> vh(adam_host.second_moment().begin(), adam_host.second_moment().end());
    const std::vector<T> vd(adam_device.second_moment().begin(), adam_device.second_moment().end());
    EXPECT_EQ(vd, vh);
  }
}

// A training step queued on the emulated device (the engine's loss gradient
// into the store's gradient, the loss summary and the gradient's scaling on
// the backend, then the store's Adam step planned there and read a step
// late) equals the CPU engine's loss and gradient and the host Adam, with
// and without the mass penalty, for several chunks.
TYPED_TEST(EngineStaging, QueuedTrainingStepsEqualTheCpuEngineAndHostAdam) {
  using T = TypeParam;
  const int n = 2, B = 70;
  for (const double rho : {0.0, 0.5}) {
    SCOPED_TRACE("mass penalty " + std::to_string(rho));
    Model<T> host = test::equivalence_model<T>(n, {24, 24}, 6, Activation::softplus, true);
    Model<T> device = host;
    const std::size_t P = host.parameters().size();
    OptimizerOptions o;
    o.lr = 3e-3;
    o.clip_norm = 1e-4;  // every step clipped: rounding cannot flip the decision
    o.schedule = Schedule::cosine;
    Adam<T> ah(P, o), ad(P, o);
    EngineOptions opt;
    opt.solve.method = SolveMethod::lu;
    opt.chunk = 32;  // three chunks (and the penalty's first pass)
    Engine<T> he(host, opt);
    engine::EngineOn<T, StagingBackend<T>> staged(device, opt);
    training::BackendParameterStore<T, StagingBackend<T>> store(staged.be(), device, ad);
    staged.bind_parameters(store.params());
    LossOptions<T> lo;
    lo.mass_penalty = rho;
    std::vector<T> gh(P);
    std::vector<LossResult<T>> host_loss;
    std::vector<typename Adam<T>::StepInfo> host_info;
    for (int k = 0; k < 4; ++k) {
      const std::vector<T> x = test::random_states<T>(B, n, 30 + static_cast<unsigned>(k));
      const std::vector<T> y = test::uniform<T>(static_cast<std::size_t>(B) * n, -1.0, 1.0,
                                                40 + static_cast<unsigned>(k));
      host_loss.push_back(he.loss_gradient(x, {}, y, lo, gh));
      host_info.push_back(ah.step(host.parameters(), gh, 8));
      store.step(ad, staged.loss_gradient_queued(x, {}, y, lo, store.grad()), 8);
      if (k == 0) continue;
      const training::StepOutcome<T> out = store.take();
      const auto j = static_cast<std::size_t>(k - 1);
      ASSERT_TRUE(out.stepped);
      EXPECT_TRUE(out.info.clipped);
      EXPECT_EQ(out.info.lr, host_info[j].lr);
      const double tol = 1e3 * test::equivalence_tol<T>();
      EXPECT_NEAR(out.info.grad_norm, host_info[j].grad_norm, tol * host_info[j].grad_norm);
      EXPECT_NEAR(out.loss.loss, host_loss[j].loss, tol * (1 + host_loss[j].loss));
      EXPECT_NEAR(out.loss.penalty, host_loss[j].penalty, tol * (1 + host_loss[j].penalty));
      EXPECT_EQ(out.loss.samples, B);
    }
    EXPECT_TRUE(store.take().stepped);
    store.to_model(device, ad);
    EXPECT_EQ(ad.steps(), ah.steps());
    const std::vector<T> ph(host.parameters().begin(), host.parameters().end());
    const std::vector<T> pd(device.parameters().begin(), device.parameters().end());
    test::expect_close_arrays(pd, ph, "parameters after 4 queued steps",
                              1e2 * test::equivalence_tol<T>());
  }
}

// bind_parameters: another parameter array evaluates as a model holding it.
TYPED_TEST(EngineStaging, BoundParametersReplaceTheModels) {
  using T = TypeParam;
  const Model<T> a = test::equivalence_model<T>(2, {16, 16}, 1);
  const Model<T> b = test::equivalence_model<T>(2, {16, 16}, 2);
  EngineOptions opt;
  opt.solve.method = SolveMethod::lu;
  Engine<T> eb(b, opt);
  engine::EngineOn<T, StagingBackend<T>> ea(a, opt);
  ea.bind_parameters(b.parameters());
  test::expect_equivalent(eb, ea, 2, 13, 3);
  EXPECT_THROW(ea.bind_parameters(std::span<const T>(b.parameters().data(), 3)), InvalidArgument);
}

// EngineOptions::cache_parameters on a backend with memory of its own: the
// parameters are copied in once; a change to the model is seen after
// refresh_parameters() (or bind_parameters()), not before.
TYPED_TEST(EngineStaging, CachedParametersAreUploadedOnceAndRefreshed) {
  using T = TypeParam;
  Model<T> model = test::equivalence_model<T>(2, {16, 16}, 1);
  const Model<T> other = test::equivalence_model<T>(2, {16, 16}, 2);
  EngineOptions opt;
  opt.solve.method = SolveMethod::lu;
  opt.cache_parameters = true;
  StagingBackend<T> be;
  engine::EngineOn<T, StagingBackend<T>> staged(model, opt, be);
  const int B = 9;
  const std::vector<T> x = test::random_states<T>(B, 2, 5);
  std::vector<T> L0(B), L1(B), L2(B), Lother(B);
  staged.lagrangian(x, L0);
  const long copies_first = *be.copies;
  staged.lagrangian(x, L1);
  EXPECT_EQ(*be.copies - copies_first, copies_first - 1) << "the parameters copied again";
  EXPECT_EQ(L1, L0);
  std::copy(other.parameters().begin(), other.parameters().end(), model.parameters().begin());
  staged.lagrangian(x, L2);
  EXPECT_EQ(L2, L0);  // not refreshed: the cached copy
  staged.refresh_parameters();
  staged.lagrangian(x, L2);
  Engine<T> ref(other, opt);
  ref.lagrangian(x, Lother);
  test::expect_close_arrays(L2, Lother, "after refresh_parameters", test::equivalence_tol<T>());
  // Without the option every call copies them (the model's changes seen at once).
  opt.cache_parameters = false;
  StagingBackend<T> be2;
  engine::EngineOn<T, StagingBackend<T>> plain(model, opt, be2);
  plain.lagrangian(x, L0);
  const long per_call = *be2.copies;
  plain.lagrangian(x, L0);
  EXPECT_EQ(*be2.copies, 2 * per_call);
}

// Fresh batches drawn in a backend loop (as on a GPU) equal the host data
// path: lnn::sample_states (own ranges or a box), the trainer's forces and
// System::accelerations, rounded to T.
TYPED_TEST(EngineStaging, FreshBatchesEqualTheHostPath) {
  using T = TypeParam;
  struct Case {
    const char* system;
    StateBox box;
  };
  const Case cases[] = {{"double_pendulum", {}},
                        {"double_pendulum", {{{0.0, 6.283185307179586}}, {{0.0, 0.1}}}},
                        {"cart_pole", {}},
                        {"mass_spring", {}}};
  const std::uint64_t seed = 77;
  const std::size_t B = 37;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.system);
    const std::unique_ptr<System> sys = make_system(c.system, {});
    auto fresh = systems::make_fresh_batches<T>(StagingBackend<T>{}, *sys, c.box, seed, B);
    ASSERT_NE(fresh, nullptr);
    for (const std::int64_t k : {0, 3}) {
      const auto b = fresh->batch(k);
      std::vector<double> x, tau, acc;
      test::host_fresh_batch(*sys, c.box, seed, k, B, x, tau, acc);
      ASSERT_EQ(b.states.size(), x.size());
      ASSERT_EQ(b.tau.size(), tau.size());
      ASSERT_EQ(b.targets.size(), acc.size());
      for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(b.states[i], static_cast<T>(x[i])) << i;
      for (std::size_t i = 0; i < tau.size(); ++i) EXPECT_EQ(b.tau[i], static_cast<T>(tau[i])) << i;
      for (std::size_t i = 0; i < acc.size(); ++i) {
        if (std::isnan(acc[i])) {
          EXPECT_TRUE(std::isnan(b.targets[i])) << i;
        } else {
          EXPECT_EQ(b.targets[i], static_cast<T>(acc[i])) << i;
        }
      }
    }
  }
  // Systems larger than a GPU thread's storage draw on the host.
  const std::unique_ptr<System> chain = make_system("chain_pendulum", {{"links", 12.0}});
  EXPECT_EQ(systems::make_fresh_batches<T>(StagingBackend<T>{}, *chain, {}, 1, 4), nullptr);
}

// The mapping itself, on shapes where every flag and leading dimension
// matters (padded leading dimensions, all four transposition cases).
TEST(GemmLayout, ColumnMajorCallEqualsRowMajorGemm) {
  const int m = 5, n = 3, k = 4;
  for (const bool ta : {false, true}) {
    for (const bool tb : {false, true}) {
      const int lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
      std::vector<double> A((ta ? k : m) * lda), B((tb ? n : k) * ldb), C1(m * ldc), C2;
      for (std::size_t i = 0; i < A.size(); ++i) A[i] = std::sin(1.0 + double(i));
      for (std::size_t i = 0; i < B.size(); ++i) B[i] = std::cos(2.0 + double(i));
      for (std::size_t i = 0; i < C1.size(); ++i) C1[i] = 0.5 * double(i);
      C2 = C1;
      cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m,
                  n, k, 1.5, A.data(), lda, B.data(), ldb, 0.25, C1.data(), ldc);
      const cuda::ColMajorGemm g = cuda::as_col_major(ta, tb, m, n, k, lda, ldb, ldc);
      ASSERT_TRUE(g.b_first);
      cblas_dgemm(CblasColMajor, g.trans_first ? CblasTrans : CblasNoTrans,
                  g.trans_second ? CblasTrans : CblasNoTrans, g.m, g.n, g.k, 1.5, B.data(),
                  g.ld_first, A.data(), g.ld_second, 0.25, C2.data(), g.ldc);
      for (std::size_t i = 0; i < C1.size(); ++i)
        EXPECT_NEAR(C2[i], C1[i], 1e-13 * (1 + std::fabs(C1[i]))) << ta << tb << " at " << i;
    }
  }
}

}  // namespace
}  // namespace lnn

namespace lnn {
namespace {

// The roofline account (src/engine/cost_model.cpp) restates the CUDA
// backend's launches by hand. Here the emulation counts the launches the
// layer algorithm and the engine really make, kind by kind, for one chunk of
// each call the account describes (accelerations; the L1 loss gradient),
// so that a launch added to the code and not to the account shows.
TEST(EngineStagingCosts, TheRooflineAccountHasTheLaunchesTheEngineMakes) {
  using T = float;
  struct Shape {
    int n;
    std::vector<int> hidden;
  };
  for (const Shape& sh : {Shape{2, {33, 20}}, Shape{3, {16, 16, 16}}, Shape{1, {40}}}) {
    ModelSpec spec;
    spec.n = sh.n;
    spec.hidden = sh.hidden;
    spec.embedding.assign(static_cast<std::size_t>(sh.n), Embedding::angle);
    Model<T> model(spec);
    model.initialize(Init::lnn, 4);
    EngineOptions opt;
    opt.solve.method = SolveMethod::lu;
    opt.chunk = 1024;
    const int B = 300;
    const std::vector<T> x = test::random_states<T>(B, sh.n, 8);
    for (const engine::Work work : {engine::Work::accelerations, engine::Work::loss_gradient}) {
      SCOPED_TRACE(std::string(engine::to_string(work)) + ", n " + std::to_string(sh.n) +
                   ", layers " + std::to_string(sh.hidden.size()));
      StagingBackend<T> be;
      engine::EngineOn<T, StagingBackend<T>> staged(model, opt, be);
      if (work == engine::Work::accelerations) {
        std::vector<T> acc(static_cast<std::size_t>(B) * sh.n);
        staged.accelerations(x, {}, acc, {}, {});
      } else {
        const std::vector<T> targets(static_cast<std::size_t>(B) * sh.n, T(0.5));
        std::vector<T> grad(spec.parameter_count());
        staged.loss_gradient(x, {}, targets, LossOptions<T>{}, grad, {});
      }
      engine::CostSetup c = engine::CostSetup::benchmark(spec, 4, B, work);
      c.chunk = opt.chunk;
      long gemm = 0, element = 0, rows = 0, per_sample = 0, column = 0;
      for (const engine::LaunchCost& l : engine::launch_costs(c)) {
        switch (l.kind) {
          case engine::LaunchKind::gemm: gemm += l.launches; break;
          case engine::LaunchKind::element_map: element += l.launches; break;
          case engine::LaunchKind::row_reduction: rows += l.launches; break;
          case engine::LaunchKind::per_sample: per_sample += l.launches; break;
          case engine::LaunchKind::column_sums: ++column; break;  // one sum_rows call each
          default: break;  // copies, memsets: the CPU backend has no such calls to count
        }
      }
      EXPECT_EQ(gemm, *be.gemms);
      EXPECT_EQ(element, *be.element_maps);
      EXPECT_EQ(rows, *be.row_reductions + *be.fused_passes);
      EXPECT_EQ(per_sample, *be.per_sample);
      EXPECT_EQ(column, *be.column_sums);
    }
  }
}

}  // namespace
}  // namespace lnn
