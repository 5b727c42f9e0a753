// The catalogue against independent closed forms and finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "common/test_util.hpp"
#include "lnn/errors.hpp"
#include "lnn/generate.hpp"
#include "lnn/systems.hpp"
#include "systems/closed_forms.hpp"

namespace lnn {
namespace {

// Every parameter moved off its default (so a parameter wired to the wrong
// place in the catalogue shows), links kept.
std::map<std::string, double> perturbed(const std::string& name) {
  std::map<std::string, double> p;
  const auto sys = make_system(name);
  int i = 0;
  for (const SystemParameter& q : sys->info().parameters) {
    ++i;
    if (q.name == "links") continue;
    p[q.name] = q.value != 0 ? q.value * (1.0 + 0.07 * i) : 0.3;
  }
  return p;
}

std::vector<double> sampled(const System& sys, std::size_t B, std::uint64_t seed) {
  std::vector<double> x(B * 2 * static_cast<std::size_t>(sys.dof()));
  sys.sample_states(seed, 0, x);
  return x;
}

// Random forces on the actuated coordinates, zero elsewhere.
std::vector<double> forces(const System& sys, std::size_t B) {
  const auto n = static_cast<std::size_t>(sys.dof());
  std::vector<double> tau(B * n, 0.0);
  for (std::size_t s = 0; s < B; ++s)
    for (std::size_t k = 0; k < n; ++k)
      if (sys.info().actuated[k] != 0) tau[s * n + k] = std::sin(1.7 * static_cast<double>(s + k)) * 3.0;
  return tau;
}

class EverySystem : public ::testing::TestWithParam<std::string> {};

TEST_P(EverySystem, AccelerationsMatchClosedForm) {
  for (const bool perturb : {false, true}) {
    auto params = perturb ? perturbed(GetParam()) : std::map<std::string, double>{};
    // The chain's closed form is the double pendulum's (more links: see the
    // finite-difference tests).
    if (GetParam() == "chain_pendulum") params["links"] = 2;
    const auto sys = make_system(GetParam(), params);
    const std::size_t B = 300;
    const auto n = static_cast<std::size_t>(sys->dof());
    const auto x = sampled(*sys, B, 7);
    const auto tau = forces(*sys, B);
    std::vector<double> acc(B * n);
    std::vector<SolveStatus> status(B);
    const SolveReport rep = sys->accelerations(x, tau, acc, status);
    EXPECT_EQ(rep.failures(), 0u);
    ASSERT_FALSE(test::closed_form_acc(*sys, x.data(), tau.data()).empty()) << "no closed form";
    double worst = 0.0;
    for (std::size_t s = 0; s < B; ++s) {
      const auto ref = test::closed_form_acc(*sys, x.data() + s * 2 * n, tau.data() + s * n);
      double diff = 0.0, mag = 0.0;
      for (std::size_t k = 0; k < n; ++k) {
        diff = std::max(diff, std::fabs(acc[s * n + k] - ref[k]));
        mag = std::max(mag, std::fabs(ref[k]));
      }
      worst = std::max(worst, diff / mag);
    }
    // The bar for the double pendulum, met by every system.
    EXPECT_LE(worst, 1e-12) << GetParam() << (perturb ? " (perturbed parameters)" : "");
  }
}

// M, C·q̇, f, ∇L and the full Hessian against central differences of L alone.
void check_against_finite_differences(const System& sys, std::uint64_t seed) {
  const int n = sys.dof(), d = 2 * n;
  const auto un = static_cast<std::size_t>(n), ud = static_cast<std::size_t>(d);
  const std::size_t B = 6;
  const auto x = sampled(sys, B, seed);
  std::vector<double> L(B), grad(B * ud), H(B * ud * ud), M(B * un * un), Cv(B * un), f(B * un);
  sys.gradient(x, L, grad);
  sys.hessian(x, H);
  sys.euler_lagrange_terms(x, M, Cv, f);
  auto Lat = [&](std::vector<double> y) {
    double out = 0.0;
    sys.lagrangian(y, std::span<double>(&out, 1));
    return out;
  };
  const double h = 1e-3;
  for (std::size_t s = 0; s < B; ++s) {
    const std::vector<double> x0(x.begin() + static_cast<std::ptrdiff_t>(s * ud),
                                 x.begin() + static_cast<std::ptrdiff_t>((s + 1) * ud));
    const double scale = std::fabs(L[s]) + 1.0;
    for (std::size_t i = 0; i < ud; ++i) {
      const double g = test::richardson([&](double e) { auto y = x0; y[i] += e; return Lat(y); }, h);
      EXPECT_NEAR(grad[s * ud + i], g, 1e-7 * scale) << sys.name() << " dL/dx" << i;
      for (std::size_t j = 0; j < ud; ++j) {
        // ∂/∂x_j of the Richardson first derivative along x_i.
        const double hij = test::richardson(
            [&](double e) {
              return test::richardson([&](double e2) { auto y = x0; y[j] += e; y[i] += e2; return Lat(y); }, h);
            },
            h);
        EXPECT_NEAR(H[(s * ud + i) * ud + j], hij, 1e-5 * scale) << sys.name() << " H" << i << j;
      }
    }
    // The Euler–Lagrange terms are blocks of the (already checked) Hessian
    // and gradient: check the assembly exactly.
    const double* Hs = H.data() + s * ud * ud;
    for (std::size_t i = 0; i < un; ++i) {
      EXPECT_NEAR(f[s * un + i], grad[s * ud + i], 1e-14 * scale);
      double cv = 0.0;
      for (std::size_t j = 0; j < un; ++j) {
        EXPECT_NEAR(M[(s * un + i) * un + j], Hs[(un + i) * ud + un + j], 1e-13 * scale);
        cv += Hs[(un + i) * ud + j] * x0[un + j];
      }
      EXPECT_NEAR(Cv[s * un + i], cv, 1e-12 * scale);
    }
  }
}

TEST_P(EverySystem, DerivativesMatchFiniteDifferences) {
  check_against_finite_differences(*make_system(GetParam(), perturbed(GetParam())), 3);
}

TEST_P(EverySystem, EnergyEqualsLegendreTransformOfL) {
  const auto sys = make_system(GetParam(), perturbed(GetParam()));
  const std::size_t B = 200;
  const auto n = static_cast<std::size_t>(sys->dof());
  const auto x = sampled(*sys, B, 11);
  std::vector<double> L(B), grad(B * 2 * n), E(B);
  sys->gradient(x, L, grad);
  sys->energy(x, E);
  for (std::size_t s = 0; s < B; ++s) {
    double legendre = -L[s];
    for (std::size_t k = 0; k < n; ++k) legendre += x[s * 2 * n + n + k] * grad[s * 2 * n + n + k];
    EXPECT_NEAR(E[s], legendre, 1e-12 * (std::fabs(E[s]) + sys->info().potential_scale)) << s;
  }
}

TEST_P(EverySystem, InfoIsConsistent) {
  const auto sys = make_system(GetParam());
  const SystemInfo& info = sys->info();
  EXPECT_EQ(info.name, GetParam());
  EXPECT_FALSE(info.description.empty());
  EXPECT_FALSE(info.sampling.empty());
  const auto n = static_cast<std::size_t>(info.dof);
  EXPECT_EQ(info.coordinates.size(), n);
  EXPECT_EQ(info.angles.size(), n);
  EXPECT_EQ(info.actuated.size(), n);
  EXPECT_GT(info.potential_scale, 0.0);
  bool actuated = false;
  for (auto a : info.actuated) actuated = actuated || a != 0;
  EXPECT_EQ(actuated, info.force_max > 0);
}

TEST_P(EverySystem, SamplingIsCounterBased) {
  const auto sys = make_system(GetParam());
  const std::size_t w = 2 * static_cast<std::size_t>(sys->dof());
  std::vector<double> all(10 * w), slice(3 * w), other(10 * w);
  sys->sample_states(42, 0, all);
  sys->sample_states(42, 5, slice);
  sys->sample_states(43, 0, other);
  for (std::size_t k = 0; k < slice.size(); ++k) EXPECT_EQ(slice[k], all[5 * w + k]);
  EXPECT_NE(all, other);
  for (double v : all) EXPECT_TRUE(std::isfinite(v));
}

INSTANTIATE_TEST_SUITE_P(Catalogue, EverySystem, ::testing::ValuesIn(system_names()),
                         [](const auto& p) { return p.param; });

TEST(Systems, DoublePendulumReferenceValues) {
  const auto sys = make_system("double_pendulum");
  EXPECT_DOUBLE_EQ(sys->info().potential_scale, 29.4);
  EXPECT_EQ(sys->dof(), 2);
  // Its default sampling: q ~ U[0, 2π)², q̇ ~ U[−10, 10)².
  std::vector<double> x(4000 * 4);
  sys->sample_states(1, 0, x);
  for (std::size_t s = 0; s < 4000; ++s) {
    for (int k = 0; k < 2; ++k) {
      EXPECT_GE(x[s * 4 + k], 0.0);
      EXPECT_LT(x[s * 4 + k], 2 * M_PI);
      EXPECT_GE(x[s * 4 + 2 + k], -10.0);
      EXPECT_LT(x[s * 4 + 2 + k], 10.0);
    }
  }
}

TEST(Systems, ChainOfTwoIsTheDoublePendulumAndTenLinksPassFiniteDifferences) {
  const auto chain = make_system("chain_pendulum", {{"links", 2}, {"m", 1.3}, {"l", 0.8}});
  const auto x = sampled(*chain, 100, 5);
  std::vector<double> acc(200);
  chain->accelerations(x, {}, acc);
  for (std::size_t s = 0; s < 100; ++s) {
    const auto ref = test::closed_form_acc(*chain, x.data() + 4 * s, nullptr);
    for (std::size_t k = 0; k < 2; ++k) EXPECT_NEAR(acc[2 * s + k], ref[k], 1e-12 * std::fabs(ref[k]) + 1e-12);
  }
  const auto ten = make_system("chain_pendulum", {{"links", 10}});
  EXPECT_EQ(ten->dof(), 10);
  check_against_finite_differences(*ten, 9);
}

TEST(Systems, BadParametersAreRefused) {
  auto message = [](const std::string& name, std::map<std::string, double> p) {
    try {
      make_system(name, p);
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("double_pendulum", {{"m1", -1}}).find("m1"), std::string::npos);
  EXPECT_NE(message("double_pendulum", {{"l2", 0}}).find("> 0"), std::string::npos);
  EXPECT_NE(message("chain_pendulum", {{"links", 0}}).find("whole number"), std::string::npos);
  EXPECT_NE(message("chain_pendulum", {{"links", 2.5}}).find("links"), std::string::npos);
  EXPECT_NE(message("chain_pendulum", {{"links", 33}}).find("32"), std::string::npos);
  EXPECT_NE(message("pendulum", {{"g", NAN}}).find("g"), std::string::npos);
  EXPECT_NE(message("pendulum", {{"mass", 1}}).find("its parameters: m, l, g"), std::string::npos);
  EXPECT_NE(message("triple_pendulum", {}).find("known: double_pendulum"), std::string::npos);
  EXPECT_EQ(message("pendulum", {{"g", 0}}), "no error");  // no gravity is allowed
}

TEST(Systems, ShapesAreChecked) {
  const auto sys = make_system("double_pendulum");
  std::vector<double> x(8), acc(3), L(1);
  EXPECT_THROW(sys->accelerations(x, {}, acc), InvalidArgument);
  EXPECT_THROW(sys->lagrangian(std::vector<double>(7), L), InvalidArgument);
  EXPECT_THROW(sys->parameter("mass"), InvalidArgument);
}

TEST(Systems, AnUnsolvableStateIsFlaggedNotHidden) {
  // A relativistic particle at the speed of light: M is infinite.
  const auto sys = make_system("relativistic");
  std::vector<double> x = {0.0, 1.0, 0.0, 0.5}, acc(2);
  std::vector<SolveStatus> status(2);
  const SolveReport rep = sys->accelerations(x, {}, acc, status);
  EXPECT_EQ(rep.failures(), 1u);
  EXPECT_NE(status[0], SolveStatus::ok);
  EXPECT_TRUE(std::isnan(acc[0]));
  EXPECT_EQ(status[1], SolveStatus::ok);
  EXPECT_NEAR(acc[1], std::pow(0.75, 1.5), 1e-15);
}

TEST(Systems, StateBoxesReplaceTheDefaultSampling) {
  const auto sys = make_system("double_pendulum");
  StateBox box;
  box.q = {{0.0, 2 * M_PI}};
  box.qdot = {{0.0, 0.1}};
  std::vector<double> x(500 * 4);
  sample_states(*sys, box, 3, 0, x);
  for (std::size_t s = 0; s < 500; ++s) {
    EXPECT_GE(x[4 * s + 2], 0.0);
    EXPECT_LT(x[4 * s + 3], 0.1);
  }
  box.qdot = {{0, 1}, {0, 1}, {0, 1}};
  EXPECT_THROW(sample_states(*sys, box, 3, 0, x), InvalidArgument);
  box.qdot = {};
  EXPECT_THROW(sample_states(*sys, box, 3, 0, x), InvalidArgument);
  box.qdot = {{1, 0}};
  EXPECT_THROW(sample_states(*sys, box, 3, 0, x), InvalidArgument);
}

}  // namespace
}  // namespace lnn
