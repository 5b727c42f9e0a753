// The host optimizer: Adam / AdamW steps against hand-computed numbers, the
// learning-rate schedules, option validation, thread-count independence and
// exact continuation after restore().
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/test_util.hpp"
#include "lnn/errors.hpp"
#include "lnn/optimizer.hpp"

namespace lnn {
namespace {

// The worked example: p = (1, −2, 0.5), grad = (0.3, −0.4, 1.2), lr = 0.01.
// On the first step m̂ = g and v̂ = g² exactly, so the update is
// p − lr·g/(|g| + ε); ε = 0.1 makes ε visible in the numbers.
const std::vector<double> kP0 = {1.0, -2.0, 0.5};
const std::vector<double> kGrad = {0.3, -0.4, 1.2};  // ‖grad‖ = √1.69 = 1.3

OptimizerOptions example_options() {
  OptimizerOptions o;
  o.lr = 0.01;
  o.eps = 0.1;
  return o;
}

template <class T>
std::vector<T> as(const std::vector<double>& v) {
  std::vector<T> out;
  for (double x : v) out.push_back(static_cast<T>(x));
  return out;
}

// A few ulps of the result, whose magnitude is about 1.
template <class T>
void expect_near_all(const std::vector<T>& got, const std::vector<double>& expected) {
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(static_cast<double>(got[i]), expected[i],
                8 * test::eps<T>() * (1.0 + std::fabs(expected[i])))
        << "parameter " << i;
  }
}

template <class T>
typename Adam<T>::StepInfo one_step(const OptimizerOptions& o, std::vector<T>& p) {
  Adam<T> adam(p.size(), o);
  const std::vector<T> grad = as<T>(kGrad);
  return adam.step(p, grad, 100);
}

template <class T>
class AdamStep : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(AdamStep, Precisions);

TYPED_TEST(AdamStep, PlainStepMatchesHandComputation) {
  using T = TypeParam;
  std::vector<T> p = as<T>(kP0);
  const auto info = one_step<T>(example_options(), p);
  // 1 − 0.01·0.3/0.4, −2 + 0.01·0.4/0.5, 0.5 − 0.01·1.2/1.3
  expect_near_all(p, {0.9925, -1.992, 0.5 - 0.012 / 1.3});
  EXPECT_EQ(info.lr, 0.01);
  EXPECT_NEAR(info.grad_norm, 1.3, 4 * test::eps<T>());
  EXPECT_FALSE(info.clipped);
}

TYPED_TEST(AdamStep, ClippingScalesTheGradientToTheNorm) {
  using T = TypeParam;
  OptimizerOptions o = example_options();
  o.clip_norm = 0.65;  // half of 1.3: g = (0.15, −0.2, 0.6)
  std::vector<T> p = as<T>(kP0);
  const auto info = one_step<T>(o, p);
  // 1 − 0.01·0.15/0.25, −2 + 0.01·0.2/0.3, 0.5 − 0.01·0.6/0.7
  expect_near_all(p, {0.994, -2.0 + 0.002 / 0.3, 0.5 - 0.006 / 0.7});
  EXPECT_NEAR(info.grad_norm, 1.3, 4 * test::eps<T>());  // before clipping
  EXPECT_TRUE(info.clipped);

  o.clip_norm = 1.4;  // above the norm: no effect
  std::vector<T> q = as<T>(kP0);
  EXPECT_FALSE(one_step<T>(o, q).clipped);
  expect_near_all(q, {0.9925, -1.992, 0.5 - 0.012 / 1.3});
}

TYPED_TEST(AdamStep, CoupledWeightDecayAddsToTheGradient) {
  using T = TypeParam;
  OptimizerOptions o = example_options();
  o.weight_decay = 0.1;  // g = grad + 0.1·p = (0.4, −0.6, 1.25)
  std::vector<T> p = as<T>(kP0);
  const auto info = one_step<T>(o, p);
  // 1 − 0.01·0.4/0.5, −2 + 0.01·0.6/0.7, 0.5 − 0.01·1.25/1.35
  expect_near_all(p, {0.992, -2.0 + 0.006 / 0.7, 0.5 - 0.0125 / 1.35});
  EXPECT_NEAR(info.grad_norm, std::sqrt(0.16 + 0.36 + 1.5625), 4 * test::eps<T>());
}

TYPED_TEST(AdamStep, DecoupledWeightDecayShrinksTheParameters) {
  using T = TypeParam;
  OptimizerOptions o = example_options();
  o.weight_decay = 0.1;
  o.decoupled = true;  // p·(1 − 0.01·0.1) − the plain update
  std::vector<T> p = as<T>(kP0);
  const auto info = one_step<T>(o, p);
  expect_near_all(p, {0.999 - 0.0075, -1.998 + 0.008, 0.4995 - 0.012 / 1.3});
  EXPECT_NEAR(info.grad_norm, 1.3, 4 * test::eps<T>());  // the gradient alone
}

TYPED_TEST(AdamStep, TwoStepsWithBiasCorrection) {
  using T = TypeParam;
  OptimizerOptions o;
  o.lr = 0.01;
  o.eps = 1e-3;  // β₁ = 0.9, β₂ = 0.999
  Adam<T> adam(3, o);
  std::vector<T> p = as<T>(kP0);
  adam.step(p, as<T>(kGrad), 10);
  // Step 1: m = 0.1·g, v = 0.001·g², p − 0.01·g/(|g| + 0.001).
  expect_near_all(p, {1.0 - 0.003 / 0.301, -2.0 + 0.004 / 0.401, 0.5 - 0.012 / 1.201});
  expect_near_all(std::vector<T>(adam.first_moment().begin(), adam.first_moment().end()),
                  {0.03, -0.04, 0.12});
  expect_near_all(std::vector<T>(adam.second_moment().begin(), adam.second_moment().end()),
                  {0.00009, 0.00016, 0.00144});

  adam.step(p, as<T>({-0.1, 0.5, 2.0}), 10);
  EXPECT_EQ(adam.steps(), 2);
  // m = 0.9·m + 0.1·g = (0.017, 0.014, 0.308); v = 0.999·v + 0.001·g² =
  // (0.00009991, 0.00040984, 0.00543856); p −= 0.01·(m/0.19)/(√(v/0.001999) + 0.001).
  expect_near_all(std::vector<T>(adam.first_moment().begin(), adam.first_moment().end()),
                  {0.017, 0.014, 0.308});
  expect_near_all(std::vector<T>(adam.second_moment().begin(), adam.second_moment().end()),
                  {0.00009991, 0.00040984, 0.00543856});
  expect_near_all(p, {0.98604885905382823, -1.9916486742352765, 0.48018636253978679});
}

TEST(Adam, RefusesMismatchedSizesAndInvalidOptions) {
  Adam<double> adam(3, OptimizerOptions{});
  std::vector<double> p(3), g(2);
  EXPECT_THROW(adam.step(p, g, 10), InvalidArgument);
  std::vector<double> p4(4), g4(4);
  EXPECT_THROW(adam.step(p4, g4, 10), InvalidArgument);
  EXPECT_EQ(adam.steps(), 0);
  std::vector<double> g3(3);
  EXPECT_THROW(adam.step(p, g3, 0), InvalidArgument);  // total_steps < 1
  EXPECT_THROW(adam.restore(std::vector<double>(2), std::vector<double>(3), 1), InvalidArgument);
  EXPECT_THROW(adam.restore(std::vector<double>(3), std::vector<double>(3), -1), InvalidArgument);
  OptimizerOptions bad;
  bad.beta2 = 1.0;
  EXPECT_THROW(Adam<float>(3, bad), InvalidArgument);
}

// A deterministic gradient that depends on the parameters, like a real one.
template <class T>
std::vector<T> fake_gradient(const std::vector<T>& p, int step) {
  std::vector<T> g(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    g[i] = static_cast<T>(std::sin(3.0 * static_cast<double>(p[i]) + static_cast<double>(i)) +
                          0.01 * step);
  }
  return g;
}

template <class T>
std::vector<T> start_parameters(std::size_t n) {
  std::vector<T> p(n);
  for (std::size_t i = 0; i < n; ++i)
    p[i] = static_cast<T>(std::cos(0.37 * static_cast<double>(i)));
  return p;
}

OptimizerOptions busy_options() {
  OptimizerOptions o;
  o.lr = 0.003;
  o.schedule = Schedule::one_cycle;
  o.weight_decay = 1e-3;
  o.decoupled = true;
  o.clip_norm = 5.0;
  return o;
}

// Spans of T or const T, compared byte for byte.
template <class A, class B>
bool same_bits(std::span<A> a, std::span<B> b) {
  static_assert(std::is_same_v<std::remove_const_t<A>, std::remove_const_t<B>>);
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

TYPED_TEST(AdamStep, RestoreThenContinueIsBitIdentical) {
  using T = TypeParam;
  constexpr int kTotal = 12, kBreak = 5;
  const std::size_t n = 257;
  std::vector<T> straight = start_parameters<T>(n);
  Adam<T> a(n, busy_options());
  for (int k = 0; k < kTotal; ++k) a.step(straight, fake_gradient(straight, k), kTotal);

  std::vector<T> resumed = start_parameters<T>(n);
  std::vector<T> m, v;
  std::int64_t steps = 0;
  {
    Adam<T> first(n, busy_options());
    for (int k = 0; k < kBreak; ++k) first.step(resumed, fake_gradient(resumed, k), kTotal);
    m.assign(first.first_moment().begin(), first.first_moment().end());
    v.assign(first.second_moment().begin(), first.second_moment().end());
    steps = first.steps();
  }
  Adam<T> second(n, busy_options());
  second.restore(m, v, steps);
  for (int k = kBreak; k < kTotal; ++k) second.step(resumed, fake_gradient(resumed, k), kTotal);

  EXPECT_TRUE(same_bits(std::span<const T>(straight), std::span<const T>(resumed)));
  EXPECT_TRUE(same_bits(a.first_moment(), second.first_moment()));
  EXPECT_TRUE(same_bits(a.second_moment(), second.second_moment()));
  EXPECT_EQ(second.steps(), kTotal);
}

TYPED_TEST(AdamStep, ResultsDoNotDependOnTheThreadCount) {
  using T = TypeParam;
  const std::size_t n = 200'003;  // large enough for the parallel loop
  const int threads_before = omp_get_max_threads();
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    std::vector<T> p = start_parameters<T>(n);
    Adam<T> adam(n, busy_options());
    double norm = 0.0;
    for (int k = 0; k < 3; ++k) norm = adam.step(p, fake_gradient(p, k), 10).grad_norm;
    return std::pair{p, norm};
  };
  const auto [serial, serial_norm] = run(1);
  const auto [parallel, parallel_norm] = run(4);
  omp_set_num_threads(threads_before);
  EXPECT_TRUE(same_bits(std::span<const T>(serial), std::span<const T>(parallel)));
  EXPECT_EQ(std::memcmp(&serial_norm, &parallel_norm, sizeof(double)), 0);
}

// ---- schedules ----------------------------------------------------------------

TEST(LearningRate, Constant) {
  OptimizerOptions o;
  o.lr = 0.02;
  for (std::int64_t s : {0, 1, 50, 99, 100, 5000}) EXPECT_EQ(learning_rate(o, s, 100), 0.02);
}

TEST(LearningRate, StepDividesByTenAtOneThirdAndTwoThirds) {
  OptimizerOptions o;
  o.lr = 0.3;
  o.schedule = Schedule::step;
  for (std::int64_t s : {0, 99}) EXPECT_EQ(learning_rate(o, s, 300), 0.3) << s;
  for (std::int64_t s : {100, 199}) EXPECT_EQ(learning_rate(o, s, 300), 0.3 / 10) << s;
  for (std::int64_t s : {200, 299, 300, 1000}) EXPECT_EQ(learning_rate(o, s, 300), 0.3 / 100) << s;
  // 10 steps: 1/3 of the way is 3.33, so step 4 is the first ÷10; 2/3 is 6.67.
  EXPECT_EQ(learning_rate(o, 3, 10), 0.3);
  EXPECT_EQ(learning_rate(o, 4, 10), 0.03);
  EXPECT_EQ(learning_rate(o, 6, 10), 0.03);
  EXPECT_EQ(learning_rate(o, 7, 10), 0.003);
  EXPECT_EQ(learning_rate(o, 0, 1), 0.3);
}

TEST(LearningRate, OneCycleWarmsUpThenAnneals) {
  OptimizerOptions o;
  o.lr = 0.01;
  o.schedule = Schedule::one_cycle;
  o.warmup_fraction = 0.4;  // 125 steps: warm-up over steps 0…49, peak at 50
  // lr/div = 0.0004; the end is 0.0004/1e4 = 4e-8.
  const double tol = 1e-15;
  EXPECT_NEAR(learning_rate(o, 0, 125), 0.0004, tol);
  // Step 10 is 1/5 of the warm-up: 0.01 − 0.0096·(1 + cos(π/5))/2.
  EXPECT_NEAR(learning_rate(o, 10, 125), 0.01 - 0.0096 * (1 + std::cos(std::numbers::pi / 5)) / 2,
              tol);
  EXPECT_NEAR(learning_rate(o, 10, 125), 0.0013167184270002508, tol);
  EXPECT_NEAR(learning_rate(o, 25, 125), 0.0052, tol);      // half way up
  EXPECT_NEAR(learning_rate(o, 50, 125), 0.01, tol);        // the peak
  EXPECT_NEAR(learning_rate(o, 87, 125), 0.00500002, tol);  // half way down: (50 + 74/2)
  EXPECT_NEAR(learning_rate(o, 124, 125), 4e-8, 1e-20);     // the last step
  EXPECT_EQ(learning_rate(o, 500, 125), learning_rate(o, 124, 125));
  // Monotone up to the peak, then down.
  for (std::int64_t s = 1; s < 125; ++s) {
    if (s <= 50) {
      EXPECT_GT(learning_rate(o, s, 125), learning_rate(o, s - 1, 125)) << s;
    } else {
      EXPECT_LT(learning_rate(o, s, 125), learning_rate(o, s - 1, 125)) << s;
    }
  }
  // Degenerate lengths still give finite rates that end at the final value.
  EXPECT_NEAR(learning_rate(o, 0, 1), 0.0004, tol);  // all warm-up
  o.warmup_fraction = 0.5;
  EXPECT_NEAR(learning_rate(o, 1, 2), 4e-8, 1e-20);  // W = S − 1: no room to decay
}

TEST(LearningRate, CosineAnnealsTowardsZero) {
  OptimizerOptions o;
  o.lr = 0.1;
  o.schedule = Schedule::cosine;
  const double tol = 1e-16;
  EXPECT_NEAR(learning_rate(o, 0, 100), 0.1, tol);
  EXPECT_NEAR(learning_rate(o, 25, 100), 0.05 * (1 + std::sqrt(0.5)), tol);  // cos(π/4)
  EXPECT_NEAR(learning_rate(o, 50, 100), 0.05, tol);
  EXPECT_NEAR(learning_rate(o, 99, 100), 0.05 * (1 + std::cos(0.99 * std::numbers::pi)), tol);
  EXPECT_NEAR(learning_rate(o, 99, 100), 2.467198171342e-05, 1e-17);
  EXPECT_EQ(learning_rate(o, 150, 100), learning_rate(o, 99, 100));
}

TEST(LearningRate, RefusesBadStepCounts) {
  const OptimizerOptions o;
  EXPECT_THROW(learning_rate(o, 0, 0), InvalidArgument);
  EXPECT_THROW(learning_rate(o, 0, -5), InvalidArgument);
  EXPECT_THROW(learning_rate(o, -1, 10), InvalidArgument);
}

// ---- names and validation ---------------------------------------------------------

TEST(Schedule, NamesRoundTripAndUnknownNamesListTheValidOnes) {
  for (Schedule s : {Schedule::constant, Schedule::step, Schedule::one_cycle, Schedule::cosine})
    EXPECT_EQ(parse_schedule(to_string(s)), s);
  EXPECT_EQ(to_string(Schedule::one_cycle), "one_cycle");
  try {
    parse_schedule("linear");
    ADD_FAILURE() << "no InvalidArgument";
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    for (const char* phrase : {"'linear'", "constant", "step", "one_cycle", "cosine"})
      EXPECT_NE(what.find(phrase), std::string::npos) << what;
  }
  EXPECT_THROW(parse_schedule(""), InvalidArgument);
  EXPECT_THROW(parse_schedule("Cosine"), InvalidArgument);
}

TEST(OptimizerOptions, ValidateNamesTheBadField) {
  EXPECT_NO_THROW(OptimizerOptions{}.validate());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    const char* field;
    void (*set)(OptimizerOptions&, double);
    std::vector<double> bad, good;
  };
  const std::vector<Case> cases = {
      {"lr", [](OptimizerOptions& o, double x) { o.lr = x; }, {0.0, -1e-3, inf, nan}, {1e-9, 10}},
      {"beta1", [](OptimizerOptions& o, double x) { o.beta1 = x; }, {-0.1, 1.0, nan}, {0.0, 0.99}},
      {"beta2", [](OptimizerOptions& o, double x) { o.beta2 = x; }, {-0.1, 1.0, nan}, {0.0, 0.9}},
      {"eps", [](OptimizerOptions& o, double x) { o.eps = x; }, {0.0, -1e-8, nan}, {1e-12}},
      {"weight_decay",
       [](OptimizerOptions& o, double x) { o.weight_decay = x; },
       {-1e-4, inf, nan},
       {0.0, 0.1}},
      {"clip_norm",
       [](OptimizerOptions& o, double x) { o.clip_norm = x; },
       {-1.0, nan},
       {0.0, 1.0}},
      {"warmup_fraction",
       [](OptimizerOptions& o, double x) { o.warmup_fraction = x; },
       {0.0, 1.0, -0.5, nan},
       {0.01, 0.99}},
      {"div_factor",
       [](OptimizerOptions& o, double x) { o.div_factor = x; },
       {0.5, 0.0, nan},
       {1.0, 25.0}},
      {"final_div_factor",
       [](OptimizerOptions& o, double x) { o.final_div_factor = x; },
       {0.99, -1.0, nan},
       {1.0, 1e4}},
  };
  for (const Case& c : cases) {
    for (double x : c.bad) {
      OptimizerOptions o;
      c.set(o, x);
      try {
        o.validate();
        ADD_FAILURE() << c.field << " = " << x << " accepted";
      } catch (const InvalidArgument& e) {
        EXPECT_NE(std::string(e.what()).find(c.field), std::string::npos) << e.what();
      }
    }
    for (double x : c.good) {
      OptimizerOptions o;
      c.set(o, x);
      EXPECT_NO_THROW(o.validate()) << c.field << " = " << x;
    }
  }
}

}  // namespace
}  // namespace lnn
