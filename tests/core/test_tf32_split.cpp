// The 3xTF32 split (core/tf32_split.hpp), the per-element code of the CUDA
// backend's split kernel: exact, of TF32 width, and, in the three products a
// tensor core computes (operands rounded to TF32, FP32-exact products,
// accumulation emulated here in double), about FP32's accuracy where one
// TF32 product has about 2⁻¹¹.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <algorithm>
#include <limits>
#include <random>
#include <vector>

#include "core/tf32_split.hpp"

namespace lnn {
namespace {

std::uint32_t bits(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
float hi_of(float x) {
  float h, l;
  core::split_tf32(x, h, l);
  return h;
}

TEST(Tf32Split, IsExactAndOfTf32Width) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> mant(-1.0, 1.0);
  std::uniform_int_distribution<int> ex(-60, 60);
  for (int t = 0; t < 100000; ++t) {
    const auto x = static_cast<float>(std::ldexp(mant(rng), ex(rng)));
    float h, l;
    core::split_tf32(x, h, l);
    EXPECT_EQ(bits(h) & 0x1fffu, 0u) << x;                        // 10 explicit mantissa bits
    EXPECT_EQ(h + l, x) << x;                                     // nothing lost
    EXPECT_LE(std::fabs(l), std::ldexp(std::fabs(x), -11)) << x;  // rounded to nearest
  }
  for (const float x : {0.0f, -0.0f, std::numeric_limits<float>::infinity(),
                        std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min()}) {
    float h, l;
    core::split_tf32(x, h, l);
    EXPECT_EQ(h + l, x) << x;
  }
  float h, l;
  core::split_tf32(std::numeric_limits<float>::quiet_NaN(), h, l);
  EXPECT_TRUE(std::isnan(h));
  EXPECT_EQ(l, 0.0f);
}

// C = A·B (m × k times k × n) three ways against double: one TF32 product,
// the three of 3xTF32 (through three_tf32_products), and FP32 itself.
TEST(Tf32Split, ThreeProductsReachFp32Accuracy) {
  const int m = 64, n = 48, k = 600;
  std::mt19937 rng(11);
  std::normal_distribution<double> u(0.0, 1.0);
  std::vector<float> A(static_cast<std::size_t>(m) * k), B(static_cast<std::size_t>(k) * n);
  for (float& x : A) x = static_cast<float>(u(rng));
  for (float& x : B) x = static_cast<float>(u(rng));
  auto split = [](const std::vector<float>& x, std::vector<float>& h, std::vector<float>& l) {
    h.resize(x.size());
    l.resize(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) core::split_tf32(x[i], h[i], l[i]);
  };
  std::vector<float> Ah, Al, Bh, Bl;
  split(A, Ah, Al);
  split(B, Bh, Bl);
  // A tensor core: both operands rounded to TF32, products exact, sums in
  // FP32 (here in double, which only flatters the FP32 sum a little).
  std::vector<double> C3(static_cast<std::size_t>(m) * n, 0.0);
  auto tf32_gemm = [&](const float* a, const float* b, float beta) {
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double s = 0.0;
        for (int p = 0; p < k; ++p)
          s += static_cast<double>(hi_of(a[i * k + p])) * static_cast<double>(hi_of(b[p * n + j]));
        double& c = C3[static_cast<std::size_t>(i) * n + j];
        c = static_cast<float>(static_cast<double>(beta) * c + s);
      }
  };
  core::three_tf32_products(tf32_gemm, Ah.data(), Al.data(), Bh.data(), Bl.data(), 0.0f);
  double err1 = 0.0, err3 = 0.0, err32 = 0.0, norm = 0.0;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double exact = 0.0, one = 0.0;
      float f32 = 0.0f;
      for (int p = 0; p < k; ++p) {
        const float a = A[static_cast<std::size_t>(i) * k + p], b = B[static_cast<std::size_t>(p) * n + j];
        exact += static_cast<double>(a) * static_cast<double>(b);
        one += static_cast<double>(hi_of(a)) * static_cast<double>(hi_of(b));
        f32 += a * b;
      }
      norm = std::max(norm, std::fabs(exact));
      err1 = std::max(err1, std::fabs(static_cast<double>(static_cast<float>(one)) - exact));
      err3 = std::max(err3, std::fabs(C3[static_cast<std::size_t>(i) * n + j] - exact));
      err32 = std::max(err32, std::fabs(static_cast<double>(f32) - exact));
    }
  err1 /= norm;
  err3 /= norm;
  err32 /= norm;
  std::cout << "[ tf32 ] max relative error: one TF32 product " << err1 << ", 3xTF32 " << err3
            << ", FP32 " << err32 << "\n";
  EXPECT_GT(err1, 1e-4);            // one TF32 product: about 2^-11 per term
  EXPECT_LT(err3, 4.0 * err32 + 1e-7);  // three: FP32's accuracy
  EXPECT_LT(err3, 1e-2 * err1);
}

}  // namespace
}  // namespace lnn
