// lnn::AnyModel and lnn::AnyEngine: the run-time precision facade gives
// Engine<T>'s numbers bit for bit, with arrays of either precision; models
// convert with range checks; bad arrays are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <vector>

#include "lnn/any_engine.hpp"
#include "lnn/errors.hpp"

namespace lnn {
namespace {

ModelSpec small_spec() {
  ModelSpec s;
  s.n = 2;
  s.hidden = {16, 12};
  return s;
}

std::vector<double> states(int B, int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> x(static_cast<std::size_t>(B) * 2 * n);
  for (double& v : x) v = u(rng);
  return x;
}

template <class T, class Range>
std::vector<T> as(const Range& v) {
  return std::vector<T>(v.begin(), v.end());
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Every function of a float engine given double arrays equals Engine<float>
// given the arrays rounded to float, bit for bit once widened.
TEST(AnyEngine, DoubleArraysOnAFloatModelEqualEngineFloat) {
  AnyModel model(small_spec(), Precision::f32);
  model.initialize(Init::convex, 3);
  const EngineOptions options{.solve = {SolveMethod::lu}};
  AnyEngine any(model, options);
  ASSERT_EQ(any.precision(), Precision::f32);
  Engine<float> plain(model.as<float>(), options);

  const int B = 9, n = 2;
  const std::vector<double> x = states(B, n, 1);
  const std::vector<float> xf = as<float>(x);
  const std::vector<double> tau = states(B, n / 2, 2);
  const std::vector<float> tauf = as<float>(tau);

  std::vector<double> acc(B * n), pivot(B);
  std::vector<SolveStatus> status(B);
  const SolveReport r = any.accelerations<double>(x, tau, acc, status, pivot);
  std::vector<float> accf(B * n), pivotf(B);
  std::vector<SolveStatus> statusf(B);
  const SolveReport rf = plain.accelerations(xf, tauf, accf, statusf, pivotf);
  EXPECT_TRUE(same_bits(acc, as<double>(accf)));
  EXPECT_TRUE(same_bits(pivot, as<double>(pivotf)));
  EXPECT_EQ(status, statusf);
  EXPECT_EQ(r.failures(), rf.failures());

  std::vector<double> H(B * 16), g(B * 4), E(B), L(B), M(B * 4), Cv(B * 2), f(B * 2);
  std::vector<float> Hf(B * 16), gf(B * 4), Ef(B), Lf(B), Mf(B * 4), Cvf(B * 2), ff(B * 2);
  any.hessian<double>(x, H, g);
  plain.hessian(xf, Hf, gf);
  EXPECT_TRUE(same_bits(H, as<double>(Hf)));
  EXPECT_TRUE(same_bits(g, as<double>(gf)));
  any.energy<double>(x, E);
  plain.energy(xf, Ef);
  EXPECT_TRUE(same_bits(E, as<double>(Ef)));
  any.gradient<double>(x, L, g);
  plain.gradient(xf, Lf, gf);
  EXPECT_TRUE(same_bits(L, as<double>(Lf)));
  EXPECT_TRUE(same_bits(g, as<double>(gf)));
  any.lagrangian<double>(x, L);
  plain.lagrangian(xf, Lf);
  EXPECT_TRUE(same_bits(L, as<double>(Lf)));
  any.euler_lagrange_terms<double>(x, M, Cv, {});
  plain.euler_lagrange_terms(xf, Mf, Cvf, {});
  EXPECT_TRUE(same_bits(M, as<double>(Mf)));
  EXPECT_TRUE(same_bits(Cv, as<double>(Cvf)));
  any.euler_lagrange_terms<double>(x, {}, {}, f);
  plain.euler_lagrange_terms(xf, {}, {}, ff);
  EXPECT_TRUE(same_bits(f, as<double>(ff)));

  // The loss gradient, weights converted too.
  const std::vector<double> targets = states(B, n / 2, 4);
  std::vector<double> w(B, 1.0);
  w[3] = 0.5;
  const std::vector<float> wf = as<float>(w);
  LossOptions<double> lo;
  lo.weights = w;
  lo.mass_penalty = 0.25;
  LossOptions<float> lof;
  lof.weights = wf;
  lof.mass_penalty = 0.25;
  const std::size_t P = model.parameter_count();
  std::vector<double> pg(P), ig(B * 4);
  std::vector<float> pgf(P), igf(B * 4);
  const LossResult<double> lr = any.loss_gradient<double>(x, tau, targets, lo, pg, ig);
  const LossResult<float> lrf =
      plain.loss_gradient(xf, tauf, as<float>(targets), lof, pgf, igf);
  EXPECT_EQ(lr.loss, lrf.loss);
  EXPECT_EQ(lr.data_loss, lrf.data_loss);
  EXPECT_EQ(lr.penalty, lrf.penalty);
  EXPECT_TRUE(same_bits(pg, as<double>(pgf)));
  EXPECT_TRUE(same_bits(ig, as<double>(igf)));

  // The VJP: cotangent in, four arrays and the statuses out.
  const std::vector<double> v = states(B, n / 2, 5);
  std::vector<double> vp(P), vx(B * 4), vt(B * n), va(B * n);
  std::vector<float> vpf(P), vxf(B * 4), vtf(B * n), vaf(B * n);
  std::vector<SolveStatus> vs(B), vsf(B);
  any.accelerations_vjp<double>(x, tau, v, vp, vx, vt, va, vs);
  plain.accelerations_vjp(xf, tauf, as<float>(v), vpf, vxf, vtf, vaf, vsf);
  EXPECT_TRUE(same_bits(vp, as<double>(vpf)));
  EXPECT_TRUE(same_bits(vx, as<double>(vxf)));
  EXPECT_TRUE(same_bits(vt, as<double>(vtf)));
  EXPECT_TRUE(same_bits(va, as<double>(vaf)));
  EXPECT_EQ(vs, vsf);
}

// Arrays of the engine's own precision pass through unchanged; a double
// model's engine is Engine<double>'s numbers.
TEST(AnyEngine, OwnPrecisionArraysPassThrough) {
  AnyModel model(small_spec(), Precision::f64);
  model.initialize(Init::convex, 5);
  AnyEngine any(model);
  Engine<double> plain(model.as<double>());
  const int B = 5, n = 2;
  const std::vector<double> x = states(B, n, 6);
  std::vector<double> a(B * n), b(B * n);
  any.accelerations<double>(x, {}, a);
  plain.accelerations(x, {}, b);
  EXPECT_TRUE(same_bits(a, b));
  EXPECT_EQ(&any.typed<double>().model(), &model.as<double>());  // no copy of the model
  EXPECT_THROW(any.typed<float>(), InvalidArgument);

  // Float arrays on a double engine: widened on the way in, rounded on the way out.
  std::vector<float> af(B * n);
  any.accelerations<float>(as<float>(x), {}, af);
  std::vector<double> c(B * n);
  plain.accelerations(as<double>(as<float>(x)), {}, c);
  EXPECT_TRUE(same_bits(af, as<float>(c)));
}

// A double model evaluated in float: the converted copy, refreshed on request.
TEST(AnyEngine, OtherPrecisionIsAConvertedCopyRefreshedOnRequest) {
  AnyModel model(small_spec(), Precision::f64);
  model.initialize(Init::convex, 7);
  AnyEngine any(model, {}, Precision::f32);
  EXPECT_EQ(any.precision(), Precision::f32);
  EXPECT_EQ(any.epsilon(), std::numeric_limits<float>::epsilon());
  const AnyModel f32 = model.to(Precision::f32);
  Engine<float> plain(f32.as<float>());
  const int B = 4;
  const std::vector<double> x = states(B, 2, 8);
  std::vector<double> E(B);
  std::vector<float> Ef(B);
  any.energy<double>(x, E);
  plain.energy(as<float>(x), Ef);
  EXPECT_TRUE(same_bits(E, as<double>(Ef)));

  // A change to the model is seen after refresh_parameters(), not before.
  for (double& p : model.as<double>().parameters()) p *= 2;
  std::vector<double> E2(B);
  any.energy<double>(x, E2);
  EXPECT_TRUE(same_bits(E, E2));
  any.refresh_parameters();
  any.energy<double>(x, E2);
  EXPECT_FALSE(same_bits(E, E2));
  AnyEngine fresh(model, {}, Precision::f32);
  std::vector<double> E3(B);
  fresh.energy<double>(x, E3);
  EXPECT_TRUE(same_bits(E2, E3));
}

TEST(AnyModel, ConversionChecksFloatRange) {
  AnyModel model(small_spec(), Precision::f64);
  model.as<double>().parameters()[5] = 1e300;
  try {
    (void)model.to(Precision::f32);
    FAIL() << "1e300 became a float";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("parameter 5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(AnyEngine(model, {}, Precision::f32), InvalidArgument);
  // Float to double is exact and the original is untouched.
  AnyModel f(small_spec(), Precision::f32);
  f.initialize(Init::xavier, 1);
  const AnyModel d = f.to(Precision::f64);
  for (std::size_t i = 0; i < f.parameter_count(); ++i) {
    EXPECT_EQ(d.as<double>().parameters()[i], static_cast<double>(f.as<float>().parameters()[i]));
  }
  EXPECT_THROW((void)f.as<double>(), InvalidArgument);
}

TEST(AnyModel, LoadKeepsTheStoredPrecision) {
  const auto dir = std::filesystem::temp_directory_path() / "lnn_any_model_test";
  std::filesystem::create_directories(dir);
  for (const Precision p : {Precision::f32, Precision::f64}) {
    AnyModel m(small_spec(), p);
    m.initialize(Init::xavier, 2);
    const std::string path = (dir / (std::string(to_string(p)) + ".safetensors")).string();
    m.save(path);
    const AnyModel back = AnyModel::load(path);
    EXPECT_EQ(back.precision(), p);
    EXPECT_EQ(back.spec(), m.spec());
    if (p == Precision::f32) {
      EXPECT_TRUE(same_bits(as<float>(back.as<float>().parameters()),
                            as<float>(m.as<float>().parameters())));
    } else {
      EXPECT_TRUE(same_bits(as<double>(back.as<double>().parameters()),
                            as<double>(m.as<double>().parameters())));
    }
  }
  std::filesystem::remove_all(dir);
  EXPECT_EQ(parse_precision("f32"), Precision::f32);
  EXPECT_THROW(parse_precision("f16"), InvalidArgument);
}

// Shapes are Engine<T>'s checks, whatever the arrays' precision.
TEST(AnyEngine, BadShapesAreRefusedInEitherPrecision) {
  AnyModel model(small_spec(), Precision::f32);
  AnyEngine any(model);
  std::vector<double> x(7), acc(2);
  EXPECT_THROW(any.accelerations<double>(x, {}, acc), InvalidArgument);
  std::vector<float> xf(8), accf(3);
  EXPECT_THROW(any.accelerations<float>(xf, {}, accf), InvalidArgument);
}

}  // namespace
}  // namespace lnn
