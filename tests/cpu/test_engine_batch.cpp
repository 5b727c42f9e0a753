// A sample's results do not depend on its batch; float agrees with double;
// bad shapes and failed solves are reported, never silent.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "common/test_util.hpp"
#include "lnn/engine.hpp"
#include "lnn/errors.hpp"
#include "lnn/info.hpp"

namespace lnn {
namespace {

ModelSpec spec(int n, std::vector<int> hidden, bool angles = false) {
  ModelSpec s;
  s.n = n;
  s.hidden = std::move(hidden);
  if (angles) s.embedding.assign(static_cast<std::size_t>(n), Embedding::angle);
  return s;
}

template <class T>
std::vector<T> accelerations(Engine<T>& e, const std::vector<T>& x, int n) {
  std::vector<T> acc(x.size() / 2);
  (void)n;
  e.accelerations(x, {}, acc);
  return acc;
}

// Restores the OpenMP thread count on scope exit.
struct Threads {
  explicit Threads(int t) : saved(omp_get_max_threads()) { omp_set_num_threads(t); }
  ~Threads() { omp_set_num_threads(saved); }
  int saved;
};

// With padded chunks a sample's row meets the same BLAS arithmetic wherever
// it sits, so a permuted batch is bit-identical. That holds for the OpenBLAS
// kernel sets checked (Prescott, SkylakeX); the Haswell kernels round a row
// by its position inside their tile, so there only a rounding bound holds.
bool exact_under_permutation() {
  const std::string k = blas_kernels();
  return k == "Prescott" || k == "SkylakeX";
}

TEST(EngineBatch, PermutingTheBatchPermutesResultsBitExactly) {
  Threads threads(2);  // per-sample loops split across threads, still exact
  const bool exact = exact_under_permutation();
  if (!exact) RecordProperty("note", "OpenBLAS kernels " + blas_kernels() + ": bound, not bits");
  auto same = [&](float got, float want) {
    return exact ? std::memcmp(&got, &want, sizeof(float)) == 0
                 : std::fabs(got - want) <= 256 * test::eps<float>() * (1 + std::fabs(want));
  };
  const int n = 2, B = 37;
  Model<float> model(spec(n, {33, 20}, true));
  model.initialize(Init::lnn, 3);
  EngineOptions opt;
  opt.chunk = 16;  // awkward on purpose: samples change chunk and position
  opt.solve.method = SolveMethod::lu;
  Engine<float> engine(model, opt);
  const std::vector<float> x = test::random_states<float>(B, n, 11);
  std::vector<int> perm(B);
  std::iota(perm.begin(), perm.end(), 0);
  std::reverse(perm.begin(), perm.end());
  std::rotate(perm.begin(), perm.begin() + 5, perm.end());
  std::vector<float> xp(x.size());
  for (int s = 0; s < B; ++s)
    std::copy_n(x.begin() + perm[s] * 2 * n, 2 * n, xp.begin() + s * 2 * n);
  const auto a = accelerations(engine, x, n);
  const auto ap = accelerations(engine, xp, n);
  for (int s = 0; s < B; ++s)
    for (int j = 0; j < n; ++j)
      EXPECT_TRUE(same(ap[s * n + j], a[perm[s] * n + j]))
          << "sample " << s << " coordinate " << j << ": " << ap[s * n + j] << " vs "
          << a[perm[s] * n + j] << " (kernels " << blas_kernels() << ")";
  std::vector<float> H(static_cast<std::size_t>(B) * 16), Hp(H.size());
  engine.hessian(x, H);
  engine.hessian(xp, Hp);
  for (int s = 0; s < B; ++s)
    for (int e = 0; e < 16; ++e)
      EXPECT_TRUE(same(Hp[s * 16 + e], H[perm[s] * 16 + e])) << "Hessian " << s << " entry " << e;
}

TEST(EngineBatch, ResultsDoNotDependOnBatchSizeOrNeighbours) {
  const int n = 3;
  Model<double> model(spec(n, {24, 24, 24}));
  model.initialize(Init::xavier, 4);
  EngineOptions opt;
  opt.solve.method = SolveMethod::lu;
  Engine<double> engine(model, opt);
  const std::vector<double> x = test::random_states<double>(257, n, 12);
  const auto all = accelerations(engine, x, n);
  for (int s : {0, 1, 100, 256}) {
    std::vector<double> one(x.begin() + s * 2 * n, x.begin() + (s + 1) * 2 * n);
    const auto a = accelerations(engine, one, n);
    for (int j = 0; j < n; ++j)  // other GEMM shapes may split work differently
      EXPECT_NEAR(a[j], all[s * n + j], 64 * test::eps<double>() * (1 + std::fabs(a[j])))
          << "sample " << s << " alone vs in a batch of 257";
  }
}

TEST(EngineBatch, ParameterGradientsAreAdditiveOverChunks) {
  const int n = 2, B = 50;
  Model<double> model(spec(n, {16, 16}));
  model.initialize(Init::xavier, 8);
  EngineOptions small, big;
  small.solve.method = big.solve.method = SolveMethod::lu;
  small.chunk = 7;
  big.chunk = 64;
  Engine<double> e1(model, small), e2(model, big);
  const std::vector<double> x = test::random_states<double>(B, n, 1);
  std::vector<double> t(static_cast<std::size_t>(B * n), 0.3);
  std::vector<double> g1(model.spec().parameter_count()), g2(g1.size());
  const double l1 = e1.loss_gradient(x, {}, t, Loss::mse, g1).loss;
  const double l2 = e2.loss_gradient(x, {}, t, Loss::mse, g2).loss;
  EXPECT_NEAR(l1, l2, 1e-13 * l1);
  const double scale = test::max_abs(std::vector<double>(g2.begin(), g2.end()));
  for (std::size_t i = 0; i < g1.size(); ++i)
    EXPECT_NEAR(g1[i], g2[i], 256 * test::eps<double>() * scale) << "parameter " << i;
}

// Every workspace is a view into one arena, re-planned when a larger chunk
// or more tangents come (layer_algorithm.hpp, reserve()): an engine whose
// arena grew (and shrank its use) between calls gives what a fresh engine
// gives, bit for bit, for each kind of call.
TEST(EngineBatch, AnEngineWhoseWorkspacesGrewEqualsAFreshOne) {
  const int n = 3;
  Model<double> model(spec(n, {17, 9}, true));
  model.initialize(Init::lnn, 5);
  EngineOptions opt;
  opt.solve.method = SolveMethod::lu;
  opt.chunk = 64;
  Engine<double> used(model, opt);
  const auto fresh = [&] { return Engine<double>(model, opt); };
  for (int B : {3, 40, 5, 64}) {
    SCOPED_TRACE("B " + std::to_string(B));
    const std::vector<double> x = test::random_states<double>(B, n, static_cast<unsigned>(B));
    const std::size_t w = 2 * n;
    std::vector<double> H1(static_cast<std::size_t>(B) * w * w), H2(H1.size());
    used.hessian(x, H1);  // k = 2n tangents
    fresh().hessian(x, H2);
    EXPECT_EQ(H1, H2);
    std::vector<double> L1(static_cast<std::size_t>(B)), L2(L1.size());
    used.lagrangian(x, L1);  // no tangents
    fresh().lagrangian(x, L2);
    EXPECT_EQ(L1, L2);
    EXPECT_EQ(accelerations(used, x, n), [&] {  // k = n + 1 and the solve
      Engine<double> e = fresh();
      return accelerations(e, x, n);
    }());
    const std::vector<double> t(static_cast<std::size_t>(B) * n, 0.1);
    std::vector<double> g1(model.spec().parameter_count()), g2(g1.size());
    const double l1 = used.loss_gradient(x, {}, t, Loss::l1, g1).loss;
    Engine<double> e = fresh();
    const double l2 = e.loss_gradient(x, {}, t, Loss::l1, g2).loss;
    EXPECT_EQ(l1, l2);
    EXPECT_EQ(g1, g2);
  }
}

TEST(EngineBatch, FloatAgreesWithDouble) {
  const int n = 2, B = 37;
  ModelSpec s = spec(n, {64, 64, 64});
  Model<double> md(s);
  md.initialize(Init::lnn, 21);
  Model<float> mf(s);
  for (std::size_t i = 0; i < md.parameters().size(); ++i)
    mf.parameters()[i] = static_cast<float>(md.parameters()[i]);
  EngineOptions opt;
  opt.solve.method = SolveMethod::lu;
  Engine<double> ed(md, opt);
  Engine<float> ef(mf, opt);
  const std::vector<double> xd = test::random_states<double>(B, n, 5);
  std::vector<float> xf(xd.begin(), xd.end());
  std::vector<double> xdr(xf.begin(), xf.end());  // the same rounded inputs
  std::vector<double> ad(static_cast<std::size_t>(B * n)), Md(static_cast<std::size_t>(B * n * n));
  std::vector<float> af(ad.size()), Mf(Md.size());
  ed.accelerations(xdr, {}, ad);
  ef.accelerations(xf, {}, af);
  ed.euler_lagrange_terms(xdr, Md, {}, {});
  ef.euler_lagrange_terms(xf, Mf, {}, {});
  // Float rounding grows with depth·width (the sums) and with cond(M) (the solve).
  for (int b = 0; b < B; ++b) {
    double mscale = 0, inv = 0;
    std::vector<double> M(Md.begin() + b * n * n, Md.begin() + (b + 1) * n * n);
    for (double v : M) mscale = std::max(mscale, std::fabs(v));
    for (int c = 0; c < n; ++c) {
      std::vector<double> e(n, 0.0);
      e[c] = 1;
      inv = std::max(inv, test::max_abs(test::reference_solve(M, e)));
    }
    const double tol_M = 64 * 3 * 64 * test::eps<float>() * mscale;
    for (int i = 0; i < n * n; ++i)
      EXPECT_NEAR(Mf[b * n * n + i], Md[b * n * n + i], tol_M) << "M sample " << b;
    const double amax = std::max(std::fabs(ad[b * n]), std::fabs(ad[b * n + 1]));
    for (int j = 0; j < n; ++j)
      EXPECT_NEAR(af[b * n + j], ad[b * n + j], tol_M * inv * (1 + amax) * 4)
          << "qddot sample " << b;
  }
}

TEST(EngineErrors, BadShapesAreRefused) {
  Model<double> model(spec(2, {8}));
  Engine<double> engine(model);
  std::vector<double> x(7), acc(2);
  EXPECT_THROW(engine.accelerations(x, {}, acc), InvalidArgument);
  x.resize(8);
  EXPECT_THROW(engine.accelerations(x, {}, acc), InvalidArgument);  // acc should be 4
  std::vector<double> g(3);
  EXPECT_THROW(engine.loss_gradient(x, {}, std::vector<double>(4), Loss::l1, g), InvalidArgument);
  EngineOptions bad;
  bad.chunk = 0;
  EXPECT_THROW(Engine<double>(model, bad), InvalidArgument);
  // Without the CUDA backend (InvalidArgument) or without a usable GPU
  // (BackendError) a CUDA engine is refused, saying why.
  if (!cuda_compiled() || cuda_devices().empty()) {
    bad = {};
    bad.device = Device::cuda;
    EXPECT_THROW(Engine<double>(model, bad), Error);
  }
}

TEST(EngineErrors, FailedSolvesAreFlaggedCountedAndDoNotPoisonGradients) {
  const int n = 2, B = 6;
  Model<double> model(spec(n, {12, 12}));
  model.initialize(Init::xavier, 2);
  Engine<double> engine(model);  // Cholesky
  std::vector<double> x = test::random_states<double>(B, n, 9);
  x[2 * 2 * n + 1] = std::nan("");  // sample 2 is not a state
  std::vector<double> acc(static_cast<std::size_t>(B * n));
  std::vector<SolveStatus> st(B);
  std::vector<double> piv(B);
  const SolveReport r = engine.accelerations(x, {}, acc, st, piv);
  EXPECT_EQ(r.samples, static_cast<std::size_t>(B));
  EXPECT_GE(r.failures(), 1u);
  EXPECT_NE(st[2], SolveStatus::ok);
  EXPECT_TRUE(std::isnan(acc[2 * n]));
  std::size_t flagged = 0;
  for (int s = 0; s < B; ++s) {
    if (st[s] != SolveStatus::ok) {
      ++flagged;
      EXPECT_TRUE(std::isnan(acc[s * n])) << "failed sample " << s << " must not look valid";
    } else {
      EXPECT_TRUE(std::isfinite(acc[s * n])) << s;
    }
  }
  EXPECT_EQ(flagged, r.failures());
  std::vector<double> t(acc.size(), 0.0), pg(model.spec().parameter_count()), xg(x.size());
  const LossResult<double> lr = engine.loss_gradient(x, {}, t, Loss::l1, pg, xg);
  EXPECT_EQ(lr.solve.failures(), r.failures());
  if (r.failures() < static_cast<std::size_t>(B)) {
    EXPECT_TRUE(std::isfinite(lr.loss));
    for (double g : pg) ASSERT_TRUE(std::isfinite(g));
    for (int j = 0; j < 2 * n; ++j) EXPECT_EQ(xg[2 * 2 * n + j], 0.0);
  }
}

}  // namespace
}  // namespace lnn
