// The variational midpoint integrator: order 2, exact energy for a quadratic
// L, bounded energy error over 10^5 steps where RK4 drifts, batch
// independence, failures and arguments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "lnn/errors.hpp"
#include "lnn/generate.hpp"
#include "lnn/integrate.hpp"
#include "lnn/rollout.hpp"
#include "lnn/systems.hpp"

namespace lnn {
namespace {

// Harmonic oscillators L = ½q̇² − ½ω_b²q², one ω per trajectory.
BatchLagrangian oscillators(const std::vector<double>& omega) {
  return [&omega](std::span<const std::size_t> rows, std::span<const double> x,
                  std::span<double> grad, std::span<double> hess) {
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const double w2 = omega[rows[r]] * omega[rows[r]];
      grad[2 * r] = -w2 * x[2 * r];
      grad[2 * r + 1] = x[2 * r + 1];
      double* H = hess.data() + 4 * r;
      H[0] = -w2, H[1] = 0, H[2] = 0, H[3] = 1;
    }
  };
}

// t_end·1/S … t_end.
std::vector<double> grid(double t_end, int S) {
  std::vector<double> t(static_cast<std::size_t>(S));
  for (int s = 0; s < S; ++s) t[static_cast<std::size_t>(s)] = t_end * (s + 1) / S;
  return t;
}

IntegrateOptions fixed(Integrator m, double dt) {
  IntegrateOptions o;
  o.method = m;
  o.dt = dt;
  return o;
}

struct Outcome {
  std::vector<double> out;
  std::vector<TrajectoryReport> reports;
};

Outcome variational(const BatchLagrangian& L, int n, const std::vector<double>& y0,
                const std::vector<double>& times, const IntegrateOptions& o) {
  Outcome r;
  r.out.resize(y0.size() * times.size());
  r.reports = integrate_variational(L, n, 0.0, y0, times, r.out, o);
  return r;
}

Outcome roll(Dynamics& dyn, const std::vector<double>& y0, const std::vector<double>& times,
         const IntegrateOptions& o) {
  Outcome r;
  r.out.resize(y0.size() * times.size());
  r.reports = rollout(dyn, 0.0, y0, times, r.out, o);
  return r;
}

// (E(x(t_s)) − E(x0)) / scale for trajectory b of a run.
std::vector<double> energy_error(Dynamics& dyn, const std::vector<double>& y0,
                                 const std::vector<double>& out, std::size_t S, std::size_t b,
                                 double scale) {
  const std::size_t d = 2 * static_cast<std::size_t>(dyn.dof());
  std::vector<double> E(S), E0(1), e(S);
  dyn.energy(std::span<const double>(y0.data() + b * d, d), E0);
  dyn.energy(std::span<const double>(out.data() + b * S * d, S * d), E);
  for (std::size_t s = 0; s < S; ++s) e[s] = (E[s] - E0[0]) / scale;
  return e;
}

const StateBox kEvaluationBox{{{0.0, 6.283185307179586}}, {{0.0, 0.1}}};

TEST(Variational, QuadraticLagrangianConservesEnergyExactly) {
  // For a quadratic L the midpoint rule conserves the quadratic energy to
  // rounding, at any step; Newton is exact after one correction.
  const std::vector<double> omega{0.5, 1.0, 3.0}, y0{1.0, 0.0, 0.3, -0.7, -0.2, 2.0};
  const std::vector<double> times{1000.0};
  const Outcome r = variational(oscillators(omega), 1, y0, times, fixed(Integrator::variational, 0.1));
  for (std::size_t b = 0; b < omega.size(); ++b) {
    ASSERT_EQ(r.reports[b].status, TrajectoryStatus::ok);
    EXPECT_EQ(r.reports[b].accepted, 10000);
    // p_0, then (predictor + one exact correction) per step, then the
    // velocity at the output (one correction and its check).
    EXPECT_LE(r.reports[b].evaluations, 1 + 2 * 10000 + 2);
    const double w2 = omega[b] * omega[b];
    const auto energy = [&](const double* x) { return 0.5 * x[1] * x[1] + 0.5 * w2 * x[0] * x[0]; };
    const double E0 = energy(&y0[2 * b]), E = energy(&r.out[2 * b]);
    EXPECT_NEAR(E, E0, 1e-12 * E0) << "omega " << omega[b];
  }
}

TEST(Variational, IsSecondOrderOnTheDoublePendulum) {
  const auto system = make_system("double_pendulum");
  auto dyn = analytic_dynamics(*system);
  std::vector<double> y0(3 * 4);
  system->sample_states(7, 0, y0);
  const auto times = grid(2.0, 4);
  IntegrateOptions reference;
  reference.rtol = reference.atol = 1e-13;
  const Outcome truth = roll(*dyn, y0, times, reference);
  std::vector<double> errors;
  for (double dt : {0.004, 0.002, 0.001}) {
    const Outcome r = roll(*dyn, y0, times, fixed(Integrator::variational, dt));
    double e = 0;
    for (std::size_t i = 0; i < r.out.size(); ++i) e = std::max(e, std::abs(r.out[i] - truth.out[i]));
    for (const auto& rep : r.reports) {
      ASSERT_EQ(rep.status, TrajectoryStatus::ok);
      // Newton converges quadratically with the exact Hessian: about three
      // evaluations per step.
      EXPECT_LE(static_cast<double>(rep.evaluations) / static_cast<double>(rep.accepted), 3.6);
    }
    errors.push_back(e);
  }
  for (std::size_t i = 0; i + 1 < errors.size(); ++i) {
    const double order = std::log2(errors[i] / errors[i + 1]);
    EXPECT_GE(order, 1.9) << "dt halving " << i << ": errors " << errors[i] << ", " << errors[i + 1];
    EXPECT_LE(order, 2.1) << "dt halving " << i;
  }
}

TEST(Variational, DoublePendulumEnergyStaysBoundedWhereRk4Drifts) {
  // dt = 0.01, 10^5 steps, t = 0 … 1000, initial conditions of the reference
  // evaluation. The energy error of the variational integrator oscillates
  // without trend (|slope|·T a few % of its maximum); RK4's grows steadily
  // (|slope|·T about its maximum, reached at the end).
  const auto system = make_system("double_pendulum");
  auto dyn = analytic_dynamics(*system);
  const std::size_t B = 4;
  std::vector<double> y0(B * 4);
  sample_states(*system, kEvaluationBox, 1, 0, y0);
  const auto times = grid(1000.0, 1000);
  const double T = times.back(), scale = system->info().potential_scale;
  const Outcome v = roll(*dyn, y0, times, fixed(Integrator::variational, 0.01));
  const Outcome k = roll(*dyn, y0, times, fixed(Integrator::rk4, 0.01));
  for (std::size_t b = 0; b < B; ++b) {
    ASSERT_EQ(v.reports[b].status, TrajectoryStatus::ok);
    ASSERT_EQ(k.reports[b].status, TrajectoryStatus::ok);
    EXPECT_EQ(v.reports[b].accepted, 100000);
    const SeriesStats sv = series_stats(times, energy_error(*dyn, y0, v.out, times.size(), b, scale));
    const SeriesStats sk = series_stats(times, energy_error(*dyn, y0, k.out, times.size(), b, scale));
    EXPECT_LE(std::abs(sv.slope) * T, 0.05 * sv.max) << "variational, trajectory " << b;
    EXPECT_LE(sv.max, 0.02) << "variational, trajectory " << b;
    EXPECT_GE(std::abs(sk.slope) * T, 0.5 * sk.max) << "rk4, trajectory " << b;
    EXPECT_GE(sk.final, 0.9 * sk.max) << "rk4, trajectory " << b;
  }
}

TEST(Variational, TooLargeAStepFailsInsteadOfJumpingToAnotherMotion) {
  // dt = 0.05 is too large for the faster of these motions (|q̇| up to 12,
  // h·|q̇| ≈ 0.6 rad per step): there the discrete equation loses the root
  // near the motion, and Newton would find one of another motion (energy
  // errors of 1e9 were seen). Such trajectories must stop (no_convergence);
  // the others keep a bounded, if large, energy error.
  const auto system = make_system("double_pendulum");
  auto dyn = analytic_dynamics(*system);
  const std::size_t B = 40;
  std::vector<double> y0(B * 4);
  sample_states(*system, kEvaluationBox, 1, 0, y0);
  const auto times = grid(300.0, 300);
  const Outcome v = roll(*dyn, y0, times, fixed(Integrator::variational, 0.05));
  for (std::size_t b = 0; b < B; ++b) {
    const auto& r = v.reports[b];
    if (r.status != TrajectoryStatus::ok) {
      EXPECT_EQ(r.status, TrajectoryStatus::no_convergence) << b;
      continue;
    }
    const SeriesStats s = series_stats(
        times, energy_error(*dyn, y0, v.out, times.size(), b, system->info().potential_scale));
    EXPECT_LT(s.max, 1.0) << "trajectory " << b;  // large (up to 0.6 seen), but not 1e9
  }
}

TEST(Variational, MethodsAgreeOnTheDoublePendulum) {
  const auto system = make_system("double_pendulum");
  auto dyn = analytic_dynamics(*system);
  std::vector<double> y0(2 * 4);
  sample_states(*system, kEvaluationBox, 3, 0, y0);
  const auto times = grid(1.0, 5);
  const Outcome d = roll(*dyn, y0, times, IntegrateOptions{});
  const Outcome k = roll(*dyn, y0, times, fixed(Integrator::rk4, 1e-3));
  const Outcome v = roll(*dyn, y0, times, fixed(Integrator::variational, 1e-3));
  for (std::size_t i = 0; i < d.out.size(); ++i) {
    EXPECT_NEAR(k.out[i], d.out[i], 1e-8) << i;
    EXPECT_NEAR(v.out[i], d.out[i], 3e-4) << i;  // O(h²) with |q⃛| up to ~100
  }
}

TEST(Variational, BatchEqualsEachTrajectoryAlone) {
  const auto system = make_system("double_pendulum");
  auto dyn = analytic_dynamics(*system);
  std::vector<double> y0(3 * 4);
  system->sample_states(11, 0, y0);
  const std::vector<double> times{0.05, 0.5, 1.0};
  const auto o = fixed(Integrator::variational, 0.01);
  const Outcome all = roll(*dyn, y0, times, o);
  for (std::size_t b = 0; b < 3; ++b) {
    const std::vector<double> one(y0.begin() + static_cast<long>(4 * b),
                                  y0.begin() + static_cast<long>(4 * b + 4));
    const Outcome alone = roll(*dyn, one, times, o);
    EXPECT_EQ(std::memcmp(alone.out.data(), all.out.data() + b * 12, 12 * sizeof(double)), 0) << b;
    EXPECT_EQ(alone.reports[0].evaluations, all.reports[b].evaluations);
  }
}

TEST(Variational, StartsFromTheGivenVelocityAndLandsOnOutputTimes) {
  const std::vector<double> omega{1.0}, y0{0.4, 0.9};
  std::vector<double> seen;
  const BatchLagrangian L = [&](std::span<const std::size_t> rows, std::span<const double> x,
                                std::span<double> g, std::span<double> h) {
    oscillators(omega)(rows, x, g, h);
  };
  // Output at t0 gives y0 itself; 0.25 with dt = 0.1 takes 3 steps of 1/12.
  const std::vector<double> times{0.0, 0.25, 0.35};
  const Outcome r = variational(L, 1, y0, times, fixed(Integrator::variational, 0.1));
  EXPECT_EQ(r.out[0], 0.4);
  EXPECT_EQ(r.out[1], 0.9);
  EXPECT_EQ(r.reports[0].accepted, 4);
  EXPECT_EQ(r.reports[0].t_reached, 0.35);
  // The exact solution within the midpoint rule's O(h²).
  EXPECT_NEAR(r.out[4], 0.4 * std::cos(0.35) + 0.9 * std::sin(0.35), 2e-3);
  EXPECT_NEAR(r.out[5], -0.4 * std::sin(0.35) + 0.9 * std::cos(0.35), 2e-3);
}

TEST(Variational, FailuresStopOnlyTheirTrajectory) {
  const std::vector<double> omega{1.0, 1.0, 1.0, 1.0};
  const std::vector<double> y0{1.0, 0.0, 1.0, 0.0, 1.0, 0.0, std::nan(""), 0.0};
  // Trajectory 1: NaN derivatives once q < 0.5; trajectory 2: a singular
  // mass matrix (∂²L/∂q̇² = 0) once q < 0.5.
  const BatchLagrangian L = [&](std::span<const std::size_t> rows, std::span<const double> x,
                                std::span<double> g, std::span<double> h) {
    oscillators(omega)(rows, x, g, h);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (x[2 * r] >= 0.5) continue;
      if (rows[r] == 1) g[2 * r] = std::nan("");
      if (rows[r] == 2) h[4 * r + 3] = 0.0;
    }
  };
  const std::vector<double> times{0.5, 3.0};
  const Outcome r = variational(L, 1, y0, times, fixed(Integrator::variational, 0.01));
  EXPECT_EQ(r.reports[0].status, TrajectoryStatus::ok);
  EXPECT_EQ(r.reports[1].status, TrajectoryStatus::non_finite);
  EXPECT_EQ(r.reports[2].status, TrajectoryStatus::no_convergence);
  EXPECT_EQ(r.reports[3].status, TrajectoryStatus::non_finite);
  for (std::size_t b = 1; b < 3; ++b) {
    EXPECT_GT(r.reports[b].t_reached, 0.5);  // q = cos t falls below 0.5 at t ≈ 1.05
    EXPECT_LT(r.reports[b].t_reached, 1.1);
    EXPECT_TRUE(std::isfinite(r.out[b * 4]));   // t = 0.5 was reached
    EXPECT_TRUE(std::isnan(r.out[b * 4 + 2]));  // t = 3 was not
  }
  EXPECT_TRUE(std::isfinite(r.out[2]));
}

TEST(Variational, NewtonIterationCapAndMaxStepsAreRespected) {
  const auto system = make_system("double_pendulum");
  auto dyn = analytic_dynamics(*system);
  std::vector<double> y0(4);
  system->sample_states(5, 0, y0);
  const std::vector<double> times{1.0};
  auto o = fixed(Integrator::variational, 0.01);
  o.newton_max_iterations = 1;  // the predictor is never exact on a nonlinear system
  EXPECT_EQ(roll(*dyn, y0, times, o).reports[0].status, TrajectoryStatus::no_convergence);
  o.newton_max_iterations = 20;
  o.max_steps = 10;
  const Outcome r = roll(*dyn, y0, times, o);
  EXPECT_EQ(r.reports[0].status, TrajectoryStatus::max_steps);
  EXPECT_EQ(r.reports[0].accepted, 10);
}

TEST(Variational, BadArgumentsThrow) {
  const std::vector<double> omega{1.0}, y0{1.0, 0.0}, times{1.0};
  std::vector<double> out(2);
  const auto L = oscillators(omega);
  const auto o = fixed(Integrator::variational, 0.1);
  const auto expect_throw = [&](auto&& f, const std::string& what) {
    try {
      f();
      ADD_FAILURE() << "no exception, expected: " << what;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  expect_throw([&] { integrate_variational(L, 0, 0.0, y0, times, out, o); }, "n must be >= 1");
  expect_throw([&] { integrate_variational(L, 2, 0.0, y0, times, out, o); }, "multiple of d");
  auto bad = o;
  bad.dt = 0.0;
  expect_throw([&] { integrate_variational(L, 1, 0.0, y0, times, out, bad); }, "dt must be");
  bad = o;
  bad.newton_tol = -1.0;
  expect_throw([&] { integrate_variational(L, 1, 0.0, y0, times, out, bad); }, "newton_tol");
  bad = o;
  bad.newton_max_iterations = 0;
  expect_throw([&] { integrate_variational(L, 1, 0.0, y0, times, out, bad); },
               "newton_max_iterations");
  expect_throw([&] { integrate_variational({}, 1, 0.0, y0, times, out, o); }, "empty");
  const std::vector<double> back{-1.0};
  expect_throw([&] { integrate_variational(L, 1, 0.0, y0, back, out, o); }, "ascending");
  // integrate() cannot run it: it has only a right-hand side.
  const BatchRhs<double> rhs = [](std::span<const std::size_t>, std::span<const double>,
                                  std::span<const double>, std::span<double>) {};
  expect_throw([&] { integrate<double>(rhs, 2, 0.0, y0, times, out, o); }, "integrate_variational");
}

TEST(Variational, NamesRoundTrip) {
  EXPECT_EQ(parse_integrator("variational"), Integrator::variational);
  EXPECT_EQ(to_string(Integrator::variational), "variational");
  EXPECT_EQ(to_string(TrajectoryStatus::no_convergence), "no_convergence");
}

}  // namespace
}  // namespace lnn
