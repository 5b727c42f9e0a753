// Rollouts of learned models (the same numbers as the Engine), the learned
// energy under the variational integrator over 10^5 steps, and the metrics.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <numbers>
#include <string>
#include <vector>

#include "lnn/engine.hpp"
#include "lnn/errors.hpp"
#include "lnn/model_file.hpp"
#include "lnn/rollout.hpp"
#include "lnn/systems.hpp"

namespace lnn {
namespace {

std::string test_data(const std::string& name) {
  const char* env = std::getenv("LNN_TEST_DATA");
  const std::filesystem::path dir =
      env ? std::filesystem::path(env)
          : std::filesystem::path(__FILE__).parent_path().parent_path() / "data";
  return (dir / name).string();
}

TEST(Rollout, LearnedDynamicsGivesTheEngineNumbers) {
  const Model<double> model = load_model<double>(test_data("pendulum_32x32_f64.safetensors"));
  Engine<double> engine(model, {.solve = {SolveMethod::lu}});
  auto dyn = learned_dynamics(model, {.solve = {SolveMethod::lu}});
  ASSERT_EQ(dyn->dof(), 1);
  EXPECT_EQ(dyn->epsilon(), std::numeric_limits<double>::epsilon());
  const std::vector<double> x{0.3, -1.2, 2.5, 0.7, -3.0, 4.0};
  std::vector<double> acc(3), acc_ref(3), g(6), g_ref(6), H(12), H_ref(12), E(3), E_ref(3), L(3);
  dyn->accelerations(x, acc);
  engine.accelerations(x, {}, acc_ref);
  dyn->derivatives(x, g, H);
  engine.gradient(x, L, g_ref);
  engine.hessian(x, H_ref);
  dyn->energy(x, E);
  engine.energy(x, E_ref);
  EXPECT_EQ(acc, acc_ref);
  EXPECT_EQ(g, g_ref);  // from Engine::hessian's pass: the same arithmetic as gradient()
  EXPECT_EQ(H, H_ref);
  EXPECT_EQ(E, E_ref);
}

TEST(Rollout, FloatModelsAreEvaluatedInFloat) {
  const Model<float> model = load_model<float>(test_data("pendulum_32x32_f64.safetensors"));
  auto dyn = learned_dynamics(model);
  EXPECT_EQ(dyn->epsilon(), static_cast<double>(std::numeric_limits<float>::epsilon()));
  const Model<double> exact = load_model<double>(test_data("pendulum_32x32_f64.safetensors"));
  auto dyn64 = learned_dynamics(exact);
  const std::vector<double> x{0.3, -1.2};
  std::vector<double> E(1), E64(1);
  dyn->energy(x, E);
  dyn64->energy(x, E64);
  EXPECT_NEAR(E[0], E64[0], 1e-5 * std::abs(E64[0]));
}

TEST(Rollout, LearnedEnergyStaysBoundedUnderTheVariationalIntegrator) {
  // A trained pendulum model, dt = 0.01, 10^5 steps: the learned energy
  // E = q̇·∂L/∂q̇ − L oscillates without trend; RK4 at the same step drifts.
  const Model<double> model = load_model<double>(test_data("pendulum_32x32_f64.safetensors"));
  auto dyn = learned_dynamics(model, {.solve = {SolveMethod::lu}});
  const std::vector<double> y0{0.5, 0.0, 2.0, 0.5, -1.0, 1.5, 3.0, -0.2};
  const std::size_t B = 4, S = 1000;
  std::vector<double> times(S);
  for (std::size_t s = 0; s < S; ++s) times[s] = static_cast<double>(s + 1);
  IntegrateOptions o;
  o.method = Integrator::variational;
  o.dt = 0.01;
  std::vector<double> out(B * S * 2), rk(B * S * 2);
  const auto reports = rollout(*dyn, 0.0, y0, times, out, o);
  o.method = Integrator::rk4;
  const auto rk_reports = rollout(*dyn, 0.0, y0, times, rk, o);
  for (std::size_t b = 0; b < B; ++b) {
    ASSERT_EQ(reports[b].status, TrajectoryStatus::ok) << b;
    ASSERT_EQ(rk_reports[b].status, TrajectoryStatus::ok) << b;
    EXPECT_EQ(reports[b].accepted, 100000);
    std::vector<double> E0(1), E(S), e(S), Ek(S), ek(S);
    dyn->energy(std::span<const double>(y0.data() + 2 * b, 2), E0);
    dyn->energy(std::span<const double>(out.data() + b * S * 2, S * 2), E);
    dyn->energy(std::span<const double>(rk.data() + b * S * 2, S * 2), Ek);
    for (std::size_t s = 0; s < S; ++s) {
      e[s] = E[s] - E0[0];
      ek[s] = Ek[s] - E0[0];
    }
    const SeriesStats v = series_stats(times, e), k = series_stats(times, ek);
    // No growth: the last tenth of the horizon is no worse than the first.
    const std::span<const double> first(e.data(), S / 10), last(e.data() + S - S / 10, S / 10);
    const std::span<const double> t_first(times.data(), S / 10);
    EXPECT_LE(series_stats(t_first, last).max, 2.0 * series_stats(t_first, first).max) << b;
    EXPECT_LE(std::abs(v.slope) * 1000.0, 0.05 * v.max) << b;
    EXPECT_GE(std::abs(k.slope) * 1000.0, 0.5 * k.max) << b;
  }
}

TEST(Rollout, LoadDynamicsByName) {
  const auto pendulum = make_system("pendulum");
  const std::string path = test_data("pendulum_32x32_f64.safetensors");
  auto analytic = load_dynamics("analytic", *pendulum);
  EXPECT_EQ(analytic->dof(), 1);
  auto learned = load_dynamics(path, *pendulum, /*native_precision=*/true);  // an f64 file
  EXPECT_EQ(learned->epsilon(), std::numeric_limits<double>::epsilon());
  // The same numbers as the model loaded by hand.
  const Model<double> model = load_model<double>(path);
  auto by_hand = learned_dynamics(model, {.solve = {SolveMethod::lu}});
  const std::vector<double> x{0.3, -1.2};
  std::vector<double> a(1), b(1);
  learned->accelerations(x, a);
  by_hand->accelerations(x, b);
  EXPECT_EQ(a, b);
  try {
    load_dynamics(path, *make_system("double_pendulum"));
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("has n = 1 but double_pendulum has n = 2"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(load_dynamics(test_data("missing.safetensors"), *pendulum), FileError);
}

TEST(Rollout, SeriesStats) {
  const std::vector<double> t{0, 1, 2, 3}, e{1, -1, 3, 5};
  const SeriesStats s = series_stats(t, e);
  EXPECT_DOUBLE_EQ(s.max, 5.0);
  EXPECT_DOUBLE_EQ(s.final, 5.0);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_DOUBLE_EQ(s.slope, 1.6);  // Σ(t−1.5)(e−2) / Σ(t−1.5)² = 8 / 5
  EXPECT_TRUE(std::isnan(series_stats({}, {}).max));
  const std::vector<double> one_t{2.0}, one_e{-4.0};
  const SeriesStats one = series_stats(one_t, one_e);
  EXPECT_EQ(one.max, 4.0);
  EXPECT_TRUE(std::isnan(one.slope));
  const std::vector<double> nan_e{1, std::nan(""), 3, 5};
  EXPECT_TRUE(std::isnan(series_stats(t, nan_e).max));
  EXPECT_THROW(series_stats(t, one_e), InvalidArgument);
}

TEST(Rollout, WrappedDifference) {
  constexpr double pi = std::numbers::pi;
  EXPECT_NEAR(wrapped_difference(0.1, 2 * pi - 0.1, true), 0.2, 1e-14);
  EXPECT_DOUBLE_EQ(wrapped_difference(0.1, 2 * pi - 0.1, false), 0.2 - 2 * pi);
  EXPECT_DOUBLE_EQ(wrapped_difference(3 * pi, 0.0, true), pi);
  EXPECT_DOUBLE_EQ(wrapped_difference(-3 * pi, 0.0, true), pi);
  EXPECT_DOUBLE_EQ(wrapped_difference(5.0, 4.0, true), 1.0);
  EXPECT_TRUE(std::isnan(wrapped_difference(std::nan(""), 1.0, true)));
}

}  // namespace
}  // namespace lnn
