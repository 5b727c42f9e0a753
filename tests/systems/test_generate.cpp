// Ground-truth trajectories and generated datasets.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "lnn/dataset.hpp"
#include "lnn/errors.hpp"
#include "lnn/generate.hpp"
#include "lnn/integrate.hpp"
#include "lnn/systems.hpp"

namespace lnn {
namespace {

namespace fs = std::filesystem;

// The bar: the double pendulum over t ∈ [0, 100] with Dormand–Prince
// at rtol = atol = 1e-10 keeps its energy to 1e-7 of 29.4, both from the
// training distribution (fast, chaotic) and from the reference study's
// evaluation initial conditions (q ~ U[0, 2π), q̇ ~ U[0, 0.1)).
TEST(GroundTruth, DoublePendulumConservesEnergyUnderDopri5) {
  const auto sys = make_system("double_pendulum");
  for (const bool evaluation_box : {false, true}) {
    TrajectorySetOptions o;
    o.trajectories = 4;
    o.t_end = 100;
    o.rate = 1;
    o.seed = 5;
    if (evaluation_box) o.box = {{{0.0, 2 * M_PI}}, {{0.0, 0.1}}};
    const Dataset d = generate_trajectories(*sys, o);
    const std::size_t S = d.times.size();
    ASSERT_EQ(S, 101u);
    for (std::size_t b = 0; b < o.trajectories; ++b) {
      EXPECT_EQ(d.status[b], 0);
      double worst = 0;
      for (std::size_t k = 0; k < S; ++k) {
        worst = std::max(worst, std::fabs(d.energies[b * S + k] - d.energies[b * S]));
      }
      EXPECT_LT(worst / 29.4, 1e-7) << "trajectory " << b << (evaluation_box ? " (evaluation box)" : "");
    }
  }
}

// Fixed-step RK4 on the double pendulum: the difference between runs at dt,
// dt/2 and dt/4 shrinks by 2⁴ per halving (Richardson's estimate of the order).
TEST(GroundTruth, Rk4ShowsFourthOrderOnTheDoublePendulum) {
  const auto sys = make_system("double_pendulum");
  std::vector<double> y0(4);
  sys->sample_states(3, 0, y0);
  const BatchRhs<double> rhs = [&](std::span<const std::size_t>, std::span<const double>,
                                   std::span<const double> y, std::span<double> dydt) {
    const std::size_t R = y.size() / 4;
    std::vector<double> acc(2 * R);
    sys->accelerations(y, {}, acc);
    for (std::size_t r = 0; r < R; ++r) {
      dydt[4 * r] = y[4 * r + 2];
      dydt[4 * r + 1] = y[4 * r + 3];
      dydt[4 * r + 2] = acc[2 * r];
      dydt[4 * r + 3] = acc[2 * r + 1];
    }
  };
  const std::vector<double> times = {2.0};
  auto run = [&](double dt) {
    IntegrateOptions o;
    o.method = Integrator::rk4;
    o.dt = dt;
    std::vector<double> out(4);
    integrate<double>(rhs, 4, 0.0, y0, times, out, o);
    return out;
  };
  auto distance = [](const std::vector<double>& a, const std::vector<double>& b) {
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
  };
  const double dt = 1e-3;
  const auto y1 = run(dt), y2 = run(dt / 2), y4 = run(dt / 4);
  const double order = std::log2(distance(y1, y2) / distance(y2, y4));
  std::printf("rk4 dt=%g: |y(dt)-y(dt/2)| = %.3g, observed order %.3f\n", dt, distance(y1, y2), order);
  EXPECT_NEAR(order, 4.0, 0.25);
}

TEST(Generate, DerivativeSetHoldsExactAccelerationsAndEnergies) {
  const auto sys = make_system("double_pendulum");
  DerivativeSetOptions o;
  o.samples = 1000;
  o.seed = 9;
  const Dataset d = generate_derivatives(*sys, o);
  d.validate();
  EXPECT_EQ(d.kind, DatasetKind::derivatives);
  EXPECT_EQ(d.points(), 1000u);
  EXPECT_TRUE(d.tau.empty());
  EXPECT_TRUE(d.states_true.empty());
  std::vector<double> acc(2000), E(1000);
  sys->accelerations(d.states, {}, acc);
  sys->energy(d.states, E);
  EXPECT_EQ(d.accelerations, acc);
  EXPECT_EQ(d.energies, E);
  EXPECT_EQ(d.parameters.size(), 5u);
  EXPECT_EQ(d.parameters[0].first, "m1");
  EXPECT_DOUBLE_EQ(d.potential_scale, 29.4);
  // The same seed gives the same data; another seed other data.
  const Dataset again = generate_derivatives(*sys, o);
  EXPECT_EQ(again.states, d.states);
  o.seed = 10;
  EXPECT_NE(generate_derivatives(*sys, o).states, d.states);
}

TEST(Generate, ForcedSystemsRecordTheirForces) {
  const auto sys = make_system("cart_pole");
  DerivativeSetOptions o;
  o.samples = 200;
  const Dataset d = generate_derivatives(*sys, o);
  ASSERT_EQ(d.tau.size(), 400u);
  std::vector<double> acc(400);
  sys->accelerations(d.states, d.tau, acc);
  EXPECT_EQ(d.accelerations, acc);
  for (std::size_t s = 0; s < 200; ++s) {
    EXPECT_LE(std::fabs(d.tau[2 * s]), 5.0);  // the cart, actuated
    EXPECT_EQ(d.tau[2 * s + 1], 0.0);        // the pole, not
  }
  TrajectorySetOptions t;
  t.trajectories = 3;
  t.t_end = 2;
  const Dataset traj = generate_trajectories(*sys, t);
  ASSERT_EQ(traj.tau.size(), traj.points() * 2);
  std::vector<double> acc2(traj.points() * 2);
  sys->accelerations(traj.states, traj.tau, acc2);
  EXPECT_EQ(traj.accelerations, acc2);
  double largest = 0;
  for (std::size_t p = 0; p < traj.points(); ++p) largest = std::max(largest, std::fabs(traj.tau[2 * p]));
  EXPECT_GT(largest, 0.0);
}

TEST(Generate, TrajectorySetShapesTimesAndNoise) {
  const auto sys = make_system("pendulum");
  TrajectorySetOptions o;
  o.trajectories = 5;
  o.t_end = 3;
  o.rate = 10;
  o.noise = 0.01;
  o.seed = 4;
  const Dataset d = generate_trajectories(*sys, o);
  d.validate();
  ASSERT_EQ(d.times.size(), 31u);
  EXPECT_DOUBLE_EQ(d.times.back(), 3.0);
  EXPECT_EQ(d.points(), 5u * 31u);
  ASSERT_EQ(d.states_true.size(), d.states.size());
  // The first sample is the sampled initial condition.
  std::vector<double> y0(10);
  sys->sample_states(4, 0, y0);
  for (std::size_t b = 0; b < 5; ++b) {
    EXPECT_EQ(d.states_true[b * 31 * 2], y0[2 * b]);
    EXPECT_EQ(d.states_true[b * 31 * 2 + 1], y0[2 * b + 1]);
  }
  // Noise: mean ≈ 0 and standard deviation ≈ 0.01 over 310 values.
  double sum = 0, sq = 0;
  for (std::size_t i = 0; i < d.states.size(); ++i) {
    const double e = d.states[i] - d.states_true[i];
    sum += e;
    sq += e * e;
  }
  const double nvals = static_cast<double>(d.states.size());
  EXPECT_NEAR(sum / nvals, 0.0, 0.003);
  EXPECT_NEAR(std::sqrt(sq / nvals), 0.01, 0.002);
  // Exact accelerations at the exact states.
  std::vector<double> acc(d.points());
  sys->accelerations(d.states_true, {}, acc);
  EXPECT_EQ(d.accelerations, acc);
}

TEST(Generate, BadOptionsAreRefused) {
  const auto sys = make_system("pendulum");
  DerivativeSetOptions d;
  d.samples = 0;
  EXPECT_THROW(generate_derivatives(*sys, d), InvalidArgument);
  TrajectorySetOptions t;
  t.t_end = 0;
  EXPECT_THROW(generate_trajectories(*sys, t), InvalidArgument);
  t.t_end = 1;
  t.rate = -1;
  EXPECT_THROW(generate_trajectories(*sys, t), InvalidArgument);
  t.rate = 1;
  t.noise = -0.1;
  EXPECT_THROW(generate_trajectories(*sys, t), InvalidArgument);
}

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Generate, SameSeedGivesByteIdenticalFiles) {
  const fs::path dir = fs::temp_directory_path() / ("lnn-generate-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto sys = make_system("spring_pendulum");
  TrajectorySetOptions o;
  o.trajectories = 4;
  o.t_end = 1;
  o.noise = 0.001;
  o.seed = 77;
  save_dataset(generate_trajectories(*sys, o), (dir / "a.h5").string());
  save_dataset(generate_trajectories(*sys, o), (dir / "b.h5").string());
  const std::string a = bytes_of(dir / "a.h5");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, bytes_of(dir / "b.h5"));
  const Dataset back = load_dataset((dir / "a.h5").string());
  EXPECT_EQ(back.states, generate_trajectories(*sys, o).states);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lnn
