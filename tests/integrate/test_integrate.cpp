// Batched RK4 and Dormand–Prince 5(4): convergence order, tolerance
// tracking, exact output times, batch independence, failures and arguments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "lnn/errors.hpp"
#include "lnn/integrate.hpp"

namespace lnn {
namespace {

// Harmonic oscillators y = (q, v), q'' = −ω_b² q, one ω per trajectory.
template <class T>
BatchRhs<T> oscillators(const std::vector<double>& omega) {
  return [&omega](std::span<const std::size_t> rows, std::span<const T>, std::span<const T> y,
                  std::span<T> dydt) {
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const auto w = static_cast<T>(omega[rows[r]]);
      dydt[2 * r] = y[2 * r + 1];
      dydt[2 * r + 1] = -w * w * y[2 * r];
    }
  };
}

// The exact oscillator state at t from (q0, v0).
std::vector<double> oscillator_at(double w, double q0, double v0, double t) {
  return {q0 * std::cos(w * t) + v0 / w * std::sin(w * t),
          -q0 * w * std::sin(w * t) + v0 * std::cos(w * t)};
}

// Largest error of out (B × S × 2) against the exact oscillators.
double oscillator_error(const std::vector<double>& omega, const std::vector<double>& y0,
                        const std::vector<double>& times, const std::vector<double>& out) {
  double e = 0.0;
  for (std::size_t b = 0; b < omega.size(); ++b) {
    for (std::size_t s = 0; s < times.size(); ++s) {
      const auto exact = oscillator_at(omega[b], y0[2 * b], y0[2 * b + 1], times[s]);
      for (std::size_t k = 0; k < 2; ++k) {
        e = std::max(e, std::fabs(out[(b * times.size() + s) * 2 + k] - exact[k]));
      }
    }
  }
  return e;
}

std::vector<double> linspace(double a, double b, int n) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = a + (b - a) * (i + 1) / n;
  return v;
}

IntegrateOptions dopri5(double tol) {
  IntegrateOptions o;
  o.method = Integrator::dopri5;
  o.rtol = o.atol = tol;
  return o;
}

IntegrateOptions rk4(double dt) {
  IntegrateOptions o;
  o.method = Integrator::rk4;
  o.dt = dt;
  return o;
}

struct Result {
  std::vector<double> out;
  std::vector<TrajectoryReport> reports;
};

Result run(const BatchRhs<double>& rhs, int d, const std::vector<double>& y0,
           const std::vector<double>& times, const IntegrateOptions& o) {
  Result r;
  r.out.resize(y0.size() * times.size());
  r.reports = integrate<double>(rhs, d, 0.0, y0, times, r.out, o);
  return r;
}

TEST(Integrate, Rk4IsFourthOrder) {
  const std::vector<double> omega{1.0}, y0{1.0, 0.5}, times{2.5, 5.0, 7.5, 10.0};
  const auto rhs = oscillators<double>(omega);
  std::vector<double> errors;
  for (double dt : {0.1, 0.05, 0.025}) {
    const Result r = run(rhs, 2, y0, times, rk4(dt));
    EXPECT_EQ(r.reports[0].status, TrajectoryStatus::ok);
    EXPECT_EQ(r.reports[0].accepted, std::llround(10.0 / dt));
    EXPECT_EQ(r.reports[0].evaluations, 4 * r.reports[0].accepted);
    errors.push_back(oscillator_error(omega, y0, times, r.out));
  }
  for (std::size_t i = 0; i + 1 < errors.size(); ++i) {
    const double order = std::log2(errors[i] / errors[i + 1]);
    EXPECT_GE(order, 3.8) << "dt halving " << i;
    EXPECT_LE(order, 4.2) << "dt halving " << i;
  }
}

TEST(Integrate, Rk4TakesNoExtraStepForRoundedIntervals) {
  // 0.3 − 0.2 = 0.09999999999999998 and 0.1 / 0.05 = 2.0000000000000004 in
  // floating point: still 2 steps per interval, 2000 to t = 100.
  const std::vector<double> omega{1.0}, y0{1.0, 0.0};
  std::vector<double> times;
  for (int k = 1; k <= 1000; ++k) times.push_back(k / 10.0);
  const Result r = run(oscillators<double>(omega), 2, y0, times, rk4(0.05));
  EXPECT_EQ(r.reports[0].accepted, 2000);
}

TEST(Integrate, Rk4SplitsEachIntervalIntoEqualSteps) {
  // Intervals 0.25 and 0.1 with dt = 0.1: 3 steps of 1/12, then 1 of 0.1.
  const std::vector<double> omega{2.0}, y0{1.0, 0.0}, times{0.25, 0.35};
  std::vector<double> stage_times;
  const BatchRhs<double> rhs = [&](std::span<const std::size_t> rows, std::span<const double> t,
                                   std::span<const double> y, std::span<double> dydt) {
    stage_times.push_back(t[0]);
    oscillators<double>(omega)(rows, t, y, dydt);
  };
  const Result r = run(rhs, 2, y0, times, rk4(0.1));
  EXPECT_EQ(r.reports[0].accepted, 4);
  ASSERT_EQ(stage_times.size(), 16u);
  EXPECT_EQ(stage_times[11], 0.25);  // the last stage of an interval is its end, exactly
  EXPECT_EQ(stage_times[15], 0.35);
  EXPECT_NEAR(stage_times[4], 0.25 / 3, 1e-15);
  EXPECT_LT(oscillator_error(omega, y0, times, r.out), 1e-4);
}

TEST(Integrate, Dopri5ErrorTracksTolerance) {
  const std::vector<double> omega{1.0, 2.5}, y0{1.0, 0.0, 0.3, -1.0};
  const std::vector<double> times = linspace(0.0, 10.0, 10);
  const auto rhs = oscillators<double>(omega);
  std::vector<double> errors;
  for (double tol : {1e-6, 1e-8, 1e-10}) {
    const Result r = run(rhs, 2, y0, times, dopri5(tol));
    for (const auto& rep : r.reports) EXPECT_EQ(rep.status, TrajectoryStatus::ok);
    errors.push_back(oscillator_error(omega, y0, times, r.out));
    EXPECT_LT(errors.back(), 100 * tol) << "tol " << tol;
  }
  // A hundredfold tighter tolerance buys roughly a hundredfold smaller error.
  for (std::size_t i = 0; i + 1 < errors.size(); ++i) {
    const double ratio = errors[i] / errors[i + 1];
    EXPECT_GT(ratio, 10.0) << i;
    EXPECT_LT(ratio, 1000.0) << i;
  }
}

TEST(Integrate, Dopri5LandsOnOutputTimesAndStartsAtY0) {
  // y' = 1 from y = 0 at t0 = 0: y(t) = t, which dopri5 reproduces exactly
  // up to rounding, so every output must equal its time.
  const std::vector<double> times{0.0, 0.0, 0.3, 1.7, 1.7, 2.0};
  std::vector<double> stage_times;
  const BatchRhs<double> rhs = [&](std::span<const std::size_t> rows, std::span<const double> t,
                                   std::span<const double>, std::span<double> dydt) {
    stage_times.push_back(t[0]);
    for (std::size_t r = 0; r < rows.size(); ++r) dydt[r] = 1.0;
  };
  const Result r = run(rhs, 1, {0.0}, times, dopri5(1e-8));
  ASSERT_EQ(r.reports[0].status, TrajectoryStatus::ok);
  EXPECT_EQ(r.reports[0].t_reached, 2.0);
  for (std::size_t s = 0; s < times.size(); ++s) {
    EXPECT_NEAR(r.out[s], times[s], 1e-14) << s;
    // Each output time is the end of a step, so F was evaluated there exactly.
    if (times[s] > 0.0) {
      EXPECT_NE(std::count(stage_times.begin(), stage_times.end(), times[s]), 0) << s;
    }
  }
  EXPECT_EQ(r.out[0], 0.0);
  EXPECT_EQ(r.out[1], 0.0);
}

TEST(Integrate, OnlyInitialTimesNeedNoEvaluation) {
  int calls = 0;
  const BatchRhs<double> rhs = [&](std::span<const std::size_t>, std::span<const double>,
                                   std::span<const double>, std::span<double>) { ++calls; };
  const std::vector<double> y0{1.0, 2.0, 3.0, 4.0};
  for (const IntegrateOptions& o : {dopri5(1e-8), rk4(0.1)}) {
    std::vector<double> out(4 * 2);
    const auto reports = integrate<double>(rhs, 2, 3.0, y0, std::vector<double>{3.0, 3.0}, out, o);
    EXPECT_EQ(out, (std::vector<double>{1, 2, 1, 2, 3, 4, 3, 4}));
    ASSERT_EQ(reports.size(), 2u);
    EXPECT_EQ(reports[1].t_reached, 3.0);
    EXPECT_EQ(reports[1].evaluations, 0);
  }
  EXPECT_EQ(calls, 0);
}

TEST(Integrate, Dopri5CutStepsDoNotShrinkLaterSteps) {
  // Each whole time t is followed by an output at t + 1e-9: the 1e-9 step
  // cut to reach it must not become the next step size (which would then take
  // many steps to grow back), so each sliver costs about one extra step.
  const std::vector<double> omega{1.0}, y0{1.0, 0.0};
  const auto rhs = oscillators<double>(omega);
  std::vector<double> whole, slivers;
  for (int i = 1; i <= 20; ++i) {
    whole.push_back(i);
    slivers.push_back(i);
    slivers.push_back(i + 1e-9);
  }
  const Result plain = run(rhs, 2, y0, whole, dopri5(1e-6));
  const Result cut = run(rhs, 2, y0, slivers, dopri5(1e-6));
  EXPECT_EQ(cut.reports[0].status, TrajectoryStatus::ok);
  EXPECT_LE(cut.reports[0].accepted + cut.reports[0].rejected,
            plain.reports[0].accepted + plain.reports[0].rejected + 20 + 5);
  EXPECT_LT(oscillator_error(omega, y0, slivers, cut.out), 1e-4);
}

// Every trajectory of a batch equals, bit for bit, the same trajectory
// integrated alone: results never depend on the rest of the batch.
void expect_batch_independent(const IntegrateOptions& o) {
  const std::vector<double> omega{0.5, 1.0, 3.0, 7.0, 1.7};
  const std::vector<double> y0{1.0, 0.0, -0.3, 2.0, 0.7, 0.7, 0.1, -0.2, 3.0, 1.0};
  const std::vector<double> times = linspace(0.0, 5.0, 7);
  const auto batch = run(oscillators<double>(omega), 2, y0, times, o);
  const std::size_t S = times.size();
  for (std::size_t b = 0; b < omega.size(); ++b) {
    const std::vector<double> w{omega[b]}, y{y0[2 * b], y0[2 * b + 1]};
    const auto alone = run(oscillators<double>(w), 2, y, times, o);
    EXPECT_EQ(std::memcmp(alone.out.data(), batch.out.data() + b * S * 2, S * 2 * sizeof(double)),
              0)
        << "trajectory " << b;
    EXPECT_EQ(alone.reports[0].accepted, batch.reports[b].accepted);
    EXPECT_EQ(alone.reports[0].rejected, batch.reports[b].rejected);
    EXPECT_EQ(alone.reports[0].evaluations, batch.reports[b].evaluations);
  }
  EXPECT_LT(oscillator_error(omega, y0, times, batch.out), 1e-5);
}

TEST(Integrate, Dopri5BatchEqualsEachTrajectoryAlone) {
  expect_batch_independent(dopri5(1e-9));
  IntegrateOptions o = dopri5(1e-9);
  o.h0 = 0.5;  // with rejections too
  expect_batch_independent(o);
}

TEST(Integrate, Rk4BatchEqualsEachTrajectoryAlone) { expect_batch_independent(rk4(0.01)); }

TEST(Integrate, Dopri5ReportsCountSteps) {
  // y' = −50 (y − cos t): after a transient, y ≈ cos t. A first step of 1
  // is far too big and must be rejected.
  const BatchRhs<double> rhs = [](std::span<const std::size_t> rows, std::span<const double> t,
                                  std::span<const double> y, std::span<double> dydt) {
    for (std::size_t r = 0; r < rows.size(); ++r) dydt[r] = -50.0 * (y[r] - std::cos(t[r]));
  };
  IntegrateOptions o = dopri5(1e-8);
  o.h0 = 1.0;
  const Result r = run(rhs, 1, {0.0}, {2.0}, o);
  const TrajectoryReport& rep = r.reports[0];
  EXPECT_EQ(rep.status, TrajectoryStatus::ok);
  EXPECT_GT(rep.rejected, 0);
  EXPECT_GT(rep.accepted, 10);
  // FSAL: one evaluation at t0, then six per attempted step.
  EXPECT_EQ(rep.evaluations, 1 + 6 * (rep.accepted + rep.rejected));
  // The exact solution: y = (2500 cos t + 50 sin t − 2500 e^{−50t}) / 2501.
  const double exact = (2500 * std::cos(2.0) + 50 * std::sin(2.0) - 2500 * std::exp(-100.0)) / 2501;
  EXPECT_NEAR(r.out[0], exact, 1e-6);

  // The automatic first step costs one more evaluation and rarely a rejection.
  const Result automatic = run(rhs, 1, {0.0}, {2.0}, dopri5(1e-8));
  const TrajectoryReport& a = automatic.reports[0];
  EXPECT_EQ(a.evaluations, 2 + 6 * (a.accepted + a.rejected));
  EXPECT_LT(a.rejected, rep.rejected);
  EXPECT_NEAR(automatic.out[0], exact, 1e-6);
}

TEST(Integrate, NonFiniteRhsStopsOnlyThatTrajectory) {
  const std::vector<double> omega{1.0, 2.0, 3.0}, y0{1.0, 0.0, 1.0, 0.0, 1.0, 0.0};
  const std::vector<double> times{0.5, 1.0, 1.5, 2.0, 3.0};
  const auto base = oscillators<double>(omega);
  const BatchRhs<double> rhs = [&](std::span<const std::size_t> rows, std::span<const double> t,
                                   std::span<const double> y, std::span<double> dydt) {
    base(rows, t, y, dydt);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (rows[r] == 1 && t[r] > 1.0) dydt[2 * r] = std::numeric_limits<double>::quiet_NaN();
    }
  };
  for (const IntegrateOptions& o : {dopri5(1e-8), rk4(0.01)}) {
    const Result r = run(rhs, 2, y0, times, o);
    EXPECT_EQ(r.reports[0].status, TrajectoryStatus::ok);
    EXPECT_EQ(r.reports[2].status, TrajectoryStatus::ok);
    EXPECT_EQ(r.reports[1].status, TrajectoryStatus::non_finite);
    EXPECT_GE(r.reports[1].t_reached, 1.0 - 0.02);
    EXPECT_LE(r.reports[1].t_reached, 1.0);
    const std::size_t S = times.size();
    for (std::size_t s = 0; s < S; ++s) {
      for (std::size_t k = 0; k < 2; ++k) {
        const double v = r.out[(S + s) * 2 + k];
        if (times[s] <= r.reports[1].t_reached) {
          EXPECT_TRUE(std::isfinite(v)) << s;
        } else {
          EXPECT_TRUE(std::isnan(v)) << s;
        }
      }
    }
    EXPECT_TRUE(std::isfinite(r.out[(S + 1) * 2]));  // t = 1 is still reached
    const std::vector<double> ok_omega{omega[0]}, ok_y0{1.0, 0.0};
    std::vector<double> first(r.out.begin(), r.out.begin() + static_cast<std::ptrdiff_t>(2 * S));
    EXPECT_LT(oscillator_error(ok_omega, ok_y0, times, first), 1e-6);
  }
}

TEST(Integrate, BlowUpStopsWithoutHanging) {
  // y' = y² from y(0) = 1: y = 1/(1 − t) blows up at t = 1.
  const BatchRhs<double> rhs = [](std::span<const std::size_t> rows, std::span<const double>,
                                  std::span<const double> y, std::span<double> dydt) {
    for (std::size_t r = 0; r < rows.size(); ++r) dydt[r] = y[r] * y[r];
  };
  for (const IntegrateOptions& o : {dopri5(1e-8), rk4(1e-3)}) {
    const Result r = run(rhs, 1, {1.0}, {0.5, 2.0}, o);
    const TrajectoryReport& rep = r.reports[0];
    EXPECT_TRUE(rep.status == TrajectoryStatus::step_underflow ||
                rep.status == TrajectoryStatus::non_finite)
        << to_string(rep.status);
    EXPECT_GT(rep.t_reached, 0.99);
    EXPECT_LT(rep.t_reached, 1.01);
    EXPECT_LT(rep.accepted + rep.rejected, 100'000);
    EXPECT_NEAR(r.out[0], 2.0, 1e-6);
    EXPECT_TRUE(std::isnan(r.out[1]));
  }
}

TEST(Integrate, MaxStepsIsRespected) {
  const std::vector<double> omega{1.0}, y0{1.0, 0.0}, times{1.0, 100.0};
  const auto rhs = oscillators<double>(omega);
  IntegrateOptions o = dopri5(1e-10);
  o.max_steps = 40;
  Result r = run(rhs, 2, y0, times, o);
  EXPECT_EQ(r.reports[0].status, TrajectoryStatus::max_steps);
  EXPECT_EQ(r.reports[0].accepted + r.reports[0].rejected, 40);
  EXPECT_GT(r.reports[0].t_reached, 1.0);
  EXPECT_LT(r.reports[0].t_reached, 100.0);
  EXPECT_NEAR(r.out[0], std::cos(1.0), 1e-8);
  EXPECT_TRUE(std::isnan(r.out[2]) && std::isnan(r.out[3]));

  o = rk4(0.1);
  o.max_steps = 5;
  r = run(rhs, 2, y0, times, o);
  EXPECT_EQ(r.reports[0].status, TrajectoryStatus::max_steps);
  EXPECT_EQ(r.reports[0].accepted, 5);
  EXPECT_NEAR(r.reports[0].t_reached, 0.5, 1e-15);
  EXPECT_TRUE(std::isnan(r.out[0]));
}

TEST(Integrate, ProgressEndsAtOne) {
  const std::vector<double> omega{1.0, 2.0}, y0{1.0, 0.0, 0.0, 1.0}, times{1.0, 3.0};
  std::vector<double> fractions;
  std::vector<double> out(8);
  integrate<double>(oscillators<double>(omega), 2, 0.0, y0, times, out, dopri5(1e-8),
                    [&](double f) { fractions.push_back(f); });
  ASSERT_FALSE(fractions.empty());
  EXPECT_EQ(fractions.back(), 1.0);
  for (double f : fractions) {
    EXPECT_GE(f, 0.0);
    EXPECT_LE(f, 1.0);
  }
}

TEST(Integrate, BadArgumentsThrow) {
  const std::vector<double> omega{1.0, 1.0};
  const auto rhs = oscillators<double>(omega);
  const std::vector<double> y0{1.0, 0.0, 0.5, 0.5}, times{1.0, 2.0};
  std::vector<double> out(8);
  const auto call = [&](int d, std::vector<double> y, std::vector<double> t, std::size_t n_out,
                        const IntegrateOptions& o, double t0 = 0.0) {
    std::vector<double> o_buf(n_out);
    integrate<double>(rhs, d, t0, y, t, o_buf, o);
  };
  const IntegrateOptions good = dopri5(1e-8);
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_NO_THROW(call(2, y0, times, 8, good));
  EXPECT_THROW(call(0, y0, times, 8, good), InvalidArgument);
  EXPECT_THROW(call(3, y0, times, 8, good), InvalidArgument);
  EXPECT_THROW(call(2, y0, times, 7, good), InvalidArgument);
  EXPECT_THROW(call(2, y0, {2.0, 1.0}, 8, good), InvalidArgument);
  EXPECT_THROW(call(2, y0, {1.0, 2.0}, 8, good, 1.5), InvalidArgument);
  EXPECT_THROW(call(2, y0, {1.0, std::nan("")}, 8, good), InvalidArgument);
  EXPECT_THROW(call(2, y0, {1.0, inf}, 8, good), InvalidArgument);
  for (double bad : {0.0, -1e-6, inf, std::nan("")}) {
    IntegrateOptions o = good;
    o.rtol = bad;
    EXPECT_THROW(call(2, y0, times, 8, o), InvalidArgument) << "rtol " << bad;
    o = good;
    o.atol = bad;
    EXPECT_THROW(call(2, y0, times, 8, o), InvalidArgument) << "atol " << bad;
    o = rk4(bad);
    EXPECT_THROW(call(2, y0, times, 8, o), InvalidArgument) << "dt " << bad;
  }
  IntegrateOptions o = good;
  o.h0 = -1.0;
  EXPECT_THROW(call(2, y0, times, 8, o), InvalidArgument);
  o = good;
  o.h_min = 0.1;
  o.h_max = 0.01;
  EXPECT_THROW(call(2, y0, times, 8, o), InvalidArgument);
  // rk4 ignores the tolerances.
  o = rk4(0.1);
  o.rtol = 0.0;
  EXPECT_NO_THROW(call(2, y0, times, 8, o));
  try {
    call(2, y0, {2.0, 1.0}, 8, good);
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("ascending"), std::string::npos) << e.what();
  }
}

TEST(Integrate, NamesRoundTrip) {
  for (Integrator m : {Integrator::rk4, Integrator::dopri5}) {
    EXPECT_EQ(parse_integrator(to_string(m)), m);
  }
  EXPECT_EQ(to_string(Integrator::dopri5), "dopri5");
  try {
    parse_integrator("euler");
    ADD_FAILURE() << "euler accepted";
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("euler"), std::string::npos) << what;
    EXPECT_NE(what.find("rk4"), std::string::npos) << what;
    EXPECT_NE(what.find("dopri5"), std::string::npos) << what;
  }
  EXPECT_EQ(to_string(TrajectoryStatus::ok), "ok");
  EXPECT_EQ(to_string(TrajectoryStatus::step_underflow), "step_underflow");
  EXPECT_EQ(to_string(TrajectoryStatus::non_finite), "non_finite");
  EXPECT_EQ(to_string(TrajectoryStatus::max_steps), "max_steps");
}

TEST(Integrate, FloatIntegrates) {
  const std::vector<double> omega{1.0, 2.0};
  const std::vector<float> y0{1.0f, 0.0f, 0.5f, 1.0f};
  const std::vector<float> times{1.0f, 2.5f, 4.0f};
  const std::vector<double> y0d(y0.begin(), y0.end()), times_d(times.begin(), times.end());
  IntegrateOptions o = dopri5(1e-5);
  for (const IntegrateOptions& opt : {o, rk4(0.01)}) {
    std::vector<float> out(y0.size() * times.size());
    const auto reports = integrate<float>(oscillators<float>(omega), 2, 0.0f, y0, times, out, opt);
    for (const auto& rep : reports) EXPECT_EQ(rep.status, TrajectoryStatus::ok);
    const std::vector<double> outd(out.begin(), out.end());
    EXPECT_LT(oscillator_error(omega, y0d, times_d, outd), 1e-3) << to_string(opt.method);
  }
}

}  // namespace
}  // namespace lnn
