// σ', σ'', σ''' of every activation against central differences of the
// level below, in double; and float agrees with double.
#include <gtest/gtest.h>

#include <cmath>

#include "common/test_util.hpp"
#include "core/activation.hpp"

namespace lnn {
namespace {

class ActivationDerivatives : public testing::TestWithParam<Activation> {};

TEST_P(ActivationDerivatives, MatchFiniteDifferences) {
  const Activation act = GetParam();
  for (double a = -9.0; a <= 9.0; a += 0.37) {
    const double h = test::fd_step<double>() * std::max(1.0, std::fabs(a));
    const auto d = core::activation_derivs(act, a);
    const auto p = core::activation_derivs(act, a + h);
    const auto m = core::activation_derivs(act, a - h);
    EXPECT_NEAR(d.d1, (p.f - m.f) / (2 * h), test::fd_tol<double>(std::fabs(d.f))) << "σ' at " << a;
    EXPECT_NEAR(d.d2, (p.d1 - m.d1) / (2 * h), test::fd_tol<double>(std::fabs(d.d1)))
        << "σ'' at " << a;
    EXPECT_NEAR(d.d3, (p.d2 - m.d2) / (2 * h), test::fd_tol<double>(std::fabs(d.d2)))
        << "σ''' at " << a;
  }
}

TEST_P(ActivationDerivatives, SecondDerivativeIsNotIdenticallyZero) {
  double sum = 0.0;
  for (double a = -3.0; a <= 3.0; a += 0.5)
    sum += std::fabs(core::activation_derivs(GetParam(), a).d2);
  EXPECT_GT(sum, 0.1);
}

TEST_P(ActivationDerivatives, FloatAgreesWithDouble) {
  for (float a = -20.0f; a <= 20.0f; a += 0.61f) {
    const auto f = core::activation_derivs(GetParam(), a);
    const auto d = core::activation_derivs(GetParam(), static_cast<double>(a));
    const double tol = 16 * test::eps<float>();
    EXPECT_NEAR(f.f, d.f, tol * (1 + std::fabs(d.f))) << a;
    EXPECT_NEAR(f.d1, d.d1, tol * (1 + std::fabs(d.d1))) << a;
    EXPECT_NEAR(f.d2, d.d2, tol * (1 + std::fabs(d.d2))) << a;
    EXPECT_NEAR(f.d3, d.d3, tol * (1 + std::fabs(d.d3))) << a;
  }
}

TEST(Activation, SoftplusIsStableForLargeInputs) {
  const auto big = core::activation_derivs(Activation::softplus, 800.0);
  EXPECT_EQ(big.f, 800.0);
  EXPECT_EQ(big.d1, 1.0);
  const auto small = core::activation_derivs(Activation::softplus, -800.0);
  EXPECT_EQ(small.f, 0.0);
  EXPECT_TRUE(std::isfinite(small.d3));
}

INSTANTIATE_TEST_SUITE_P(All, ActivationDerivatives,
                         testing::Values(Activation::softplus, Activation::tanh, Activation::silu,
                                         Activation::gelu, Activation::xtanh_half),
                         [](const testing::TestParamInfo<Activation>& i) {
                           return std::string(to_string(i.param));
                         });

}  // namespace
}  // namespace lnn
