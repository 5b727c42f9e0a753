// Hyper-dual numbers against hand-derived first and second derivatives.
#include <gtest/gtest.h>

#include <cmath>

#include "core/analytic.hpp"
#include "core/hyperdual.hpp"

namespace lnn::core {
namespace {

using HD = HyperDual<double>;

// x seeded along ε₁ and y along ε₂: a = ∂f/∂x, b = ∂f/∂y, ab = ∂²f/∂x∂y.
template <class F>
HD mixed(F f, double x, double y) {
  return f(HD(x, 1, 0, 0), HD(y, 0, 1, 0));
}
// x seeded along both: a = b = f', ab = f''.
template <class F>
HD second(F f, double x) {
  return f(HD(x, 1, 1, 0));
}

TEST(HyperDual, ElementaryFunctionsGiveExactSecondDerivatives) {
  const double x = 0.7;
  struct Case {
    HD r;
    double f, df, d2f;
  };
  const Case cases[] = {
      {second([](HD u) { return sin(u); }, x), std::sin(x), std::cos(x), -std::sin(x)},
      {second([](HD u) { return cos(u); }, x), std::cos(x), -std::sin(x), -std::cos(x)},
      {second([](HD u) { return exp(u); }, x), std::exp(x), std::exp(x), std::exp(x)},
      {second([](HD u) { return log(u); }, x), std::log(x), 1 / x, -1 / (x * x)},
      {second([](HD u) { return sqrt(u); }, x), std::sqrt(x), 0.5 / std::sqrt(x),
       -0.25 * std::pow(x, -1.5)},
      {second([](HD u) { return pow(u, -0.5); }, x), std::pow(x, -0.5), -0.5 * std::pow(x, -1.5),
       0.75 * std::pow(x, -2.5)},
      {second([](HD u) { return 1.0 / u; }, x), 1 / x, -1 / (x * x), 2 / (x * x * x)},
      {second([](HD u) { return u * u * u - 2.0 * u; }, x), x * x * x - 2 * x, 3 * x * x - 2, 6 * x},
  };
  for (const Case& c : cases) {
    EXPECT_NEAR(c.r.v, c.f, 1e-15);
    EXPECT_NEAR(c.r.a, c.df, 1e-14);
    EXPECT_NEAR(c.r.b, c.df, 1e-14);
    EXPECT_NEAR(c.r.ab, c.d2f, 1e-13);
  }
}

TEST(HyperDual, MixedPartialsOfProductsAndQuotients) {
  const double x = 1.3, y = -0.4;
  // f = x² y / (1 + y²) · sin(x y)
  auto f = [](auto u, auto w) { return u * u * w / (1.0 + w * w) * sin(u * w); };
  const HD r = mixed(f, x, y);
  const double g = 1 + y * y, s = std::sin(x * y), c = std::cos(x * y);
  const double fx = (2 * x * y * s + x * x * y * y * c) / g;
  // ∂/∂y of fx, by hand: d/dy[(2xy s + x²y² c)/g]
  const double num = 2 * x * y * s + x * x * y * y * c;
  const double dnum = 2 * x * s + 2 * x * x * y * c + 2 * x * x * y * c - x * x * x * y * y * s;
  const double fxy = (dnum * g - num * 2 * y) / (g * g);
  EXPECT_NEAR(r.v, x * x * y / g * s, 1e-15);
  EXPECT_NEAR(r.a, fx, 1e-14);
  EXPECT_NEAR(r.ab, fxy, 1e-13);
}

// A two-coordinate Lagrangian with known M, C q̇ and f:
// L = ½ (2 + cos q₁) q̇₀² + q̇₀ q̇₁ q₀ − q₀² q₁.
struct Toy {
  int dof() const { return 2; }
  template <class S>
  S lagrangian(const S* q, const S* v) const {
    return 0.5 * (2.0 + cos(q[1])) * v[0] * v[0] + v[0] * v[1] * q[0] - q[0] * q[0] * q[1];
  }
};

TEST(HyperDual, EulerLagrangeTermsOfAToyLagrangian) {
  const double x[4] = {0.3, -1.1, 0.8, 2.0};
  const double q0 = x[0], q1 = x[1], v0 = x[2], v1 = x[3];
  double M[4], Cv[2], f[2];
  analytic_euler_lagrange_terms<2>(Toy{}, x, M, Cv, f);
  EXPECT_NEAR(M[0], 2 + std::cos(q1), 1e-15);
  EXPECT_NEAR(M[1], q0, 1e-15);
  EXPECT_NEAR(M[2], q0, 1e-15);
  EXPECT_NEAR(M[3], 0.0, 1e-15);
  // ∂L/∂q̇₀ = (2 + cos q₁) q̇₀ + q̇₁ q₀,  ∂L/∂q̇₁ = q̇₀ q₀
  // (C q̇)₀ = ∂²L/∂q̇₀∂q₀ q̇₀ + ∂²L/∂q̇₀∂q₁ q̇₁ = q̇₁ q̇₀ − sin q₁ q̇₀ q̇₁
  EXPECT_NEAR(Cv[0], v1 * v0 - std::sin(q1) * v0 * v1, 1e-14);
  EXPECT_NEAR(Cv[1], v0 * v0, 1e-14);
  EXPECT_NEAR(f[0], v0 * v1 - 2 * q0 * q1, 1e-14);
  EXPECT_NEAR(f[1], -0.5 * std::sin(q1) * v0 * v0 - q0 * q0, 1e-14);
  // E = q̇·∂L/∂q̇ − L = ½(2 + cos q₁) q̇₀² + q̇₀q̇₁q₀ + q₀² q₁
  EXPECT_NEAR(legendre_energy<2>(Toy{}, x),
              0.5 * (2 + std::cos(q1)) * v0 * v0 + v0 * v1 * q0 + q0 * q0 * q1, 1e-14);
}

}  // namespace
}  // namespace lnn::core
