// The fused Hessian blocks' CPU twin (core/hessian_blocks.hpp) against a
// plain loop per entry, the order the previous engine summed in: the same
// bits in the ascending order, within an eps-derived bound in the GPU's
// warp order, and the run-time-k path equal to the compile-time one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "core/hessian_blocks.hpp"

namespace lnn {
namespace {

template <class T>
struct Chunk {
  int b, k, n = 2;
  std::vector<int> widths;
  std::vector<std::vector<T>> A, G, D2;
  std::vector<T> states, G0;
  std::vector<unsigned char> angle{1, 0};
  int d0 = 3;  // angle (cos, sin) + one linear coordinate

  Chunk(int b_, int k_, std::vector<int> w, unsigned seed) : b(b_), k(k_), widths(std::move(w)) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (int m : widths) {
      A.emplace_back(static_cast<std::size_t>(b) * (k + 1) * m);
      G.emplace_back(static_cast<std::size_t>(b) * m);
      D2.emplace_back(static_cast<std::size_t>(b) * m);
      for (auto* v : {&A.back(), &G.back(), &D2.back()})
        for (T& x : *v) x = static_cast<T>(u(rng));
    }
    states.resize(static_cast<std::size_t>(b) * 2 * n);
    G0.resize(static_cast<std::size_t>(b) * d0);
    for (T& x : states) x = static_cast<T>(3 * u(rng));
    for (T& x : G0) x = static_cast<T>(u(rng));
  }
  core::HessianBlocksArgs<T> args(T* H, bool full, int b_real) const {
    core::HessianBlocksArgs<T> a{};
    a.H = H;
    a.b = b;
    a.k = k;
    a.layers = static_cast<int>(widths.size());
    for (int l = 0; l < a.layers; ++l)
      a.layer[l] = {A[l].data(), G[l].data(), D2[l].data(), widths[l]};
    if (full) {
      a.angle = angle.data();
      a.states = states.data();
      a.G0 = G0.data();
    }
    a.b_real = b_real;
    a.n = n;
    a.d0 = d0;
    return a;
  }
  // The previous engine: H zeroed, then per layer and entry p <= q a sum over
  // i ascending of σ''·g·U_p·U_q added to H; the lower triangle copied; the
  // embedding's curvature on the diagonal.
  std::vector<T> plain(bool full, int b_real) const {
    std::vector<T> H(static_cast<std::size_t>(b) * k * k, T(0));
    for (int s = 0; s < b; ++s) {
      T* h = H.data() + static_cast<std::size_t>(s) * k * k;
      for (std::size_t l = 0; l < widths.size(); ++l) {
        const int m = widths[l];
        const T* U = A[l].data() + static_cast<std::size_t>(s) * (k + 1) * m + m;
        const T* d2 = D2[l].data() + static_cast<std::size_t>(s) * m;
        const T* g = G[l].data() + static_cast<std::size_t>(s) * m;
        for (int p = 0; p < k; ++p)
          for (int q = p; q < k; ++q) {
            T sum = T(0);
            for (int i = 0; i < m; ++i) sum += d2[i] * g[i] * U[p * m + i] * U[q * m + i];
            h[p * k + q] += sum;
          }
      }
      for (int p = 0; p < k; ++p)
        for (int q = 0; q < p; ++q) h[p * k + q] = h[q * k + p];
      if (full && s < b_real) {
        int pos = 0;
        for (int j = 0; j < n; ++j) {
          h[j * k + j] += core::embed_curvature(angle.data(), j, pos,
                                                states.data() + static_cast<std::size_t>(s) * 2 * n,
                                                G0.data() + static_cast<std::size_t>(s) * d0);
          pos += angle[j] ? 2 : 1;
        }
      }
    }
    return H;
  }
};

template <int K, class T>
std::vector<T> fused(const Chunk<T>& c, bool full, int b_real, int lanes) {
  std::vector<T> H(static_cast<std::size_t>(c.b) * c.k * c.k,
                   std::numeric_limits<T>::quiet_NaN());  // every entry must be written
  const core::HessianBlocksArgs<T> a = c.args(H.data(), full, b_real);
  for (int s = 0; s < c.b; ++s) core::hessian_block_sample<K>(a, s, lanes);
  return H;
}

template <class T>
class HessianBlocks : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(HessianBlocks, Precisions);

// Awkward widths: below a warp, one past it, many warps, and a layer of one.
const std::vector<int> kWidths{31, 33, 600, 1};

TYPED_TEST(HessianBlocks, AscendingOrderIsThePlainLoopBitForBit) {
  using T = TypeParam;
  for (const bool full : {false, true}) {
    const Chunk<T> c3(5, 3, kWidths, 1);
    const std::vector<T> ref3 = c3.plain(full, 4);
    const std::vector<T> h3 = fused<3>(c3, full, 4, 1);
    const std::vector<T> h3run = fused<0>(c3, full, 4, 1);
    const Chunk<T> c7(3, 7, kWidths, 2);  // k at run time only
    const std::vector<T> ref7 = c7.plain(full, 3);
    const std::vector<T> h7 = fused<0>(c7, full, 3, 1);
    for (std::size_t i = 0; i < ref3.size(); ++i) {
      ASSERT_EQ(h3[i], ref3[i]) << "entry " << i;
      ASSERT_EQ(h3run[i], ref3[i]) << "entry " << i;
    }
    for (std::size_t i = 0; i < ref7.size(); ++i) ASSERT_EQ(h7[i], ref7[i]) << "entry " << i;
  }
}

// A layer without stored σ'' (D2 null, a device backend's
// LayerAlgorithm::kRecomputeDerivs) forms it from a, row 0 of A: the same
// bits as the same values stored.
TYPED_TEST(HessianBlocks, RecomputedSecondDerivativeEqualsTheStoredOne) {
  using T = TypeParam;
  for (const Activation act : {Activation::softplus, Activation::tanh}) {
    Chunk<T> c(4, 3, kWidths, 21);
    for (std::size_t l = 0; l < c.widths.size(); ++l) {
      const int m = c.widths[l];
      for (int s = 0; s < c.b; ++s)
        for (int i = 0; i < m; ++i) {
          const T a = c.A[l][static_cast<std::size_t>(s) * (c.k + 1) * m + i];
          c.D2[l][static_cast<std::size_t>(s) * m + i] = core::activation_derivs(act, a).d2;
        }
    }
    const std::vector<T> stored = fused<3>(c, true, 4, core::kWarp);
    std::vector<T> H(stored.size(), std::numeric_limits<T>::quiet_NaN());
    core::HessianBlocksArgs<T> a = c.args(H.data(), true, 4);
    a.act = act;
    for (int l = 0; l < a.layers; ++l) a.layer[l].D2 = nullptr;
    for (int s = 0; s < c.b; ++s) core::hessian_block_sample<3>(a, s, core::kWarp);
    for (std::size_t i = 0; i < H.size(); ++i) ASSERT_EQ(H[i], stored[i]) << "entry " << i;
  }
}

TYPED_TEST(HessianBlocks, WarpOrderAgreesWithinRounding) {
  using T = TypeParam;
  for (const int k : {2, 4, 5}) {
    const Chunk<T> c(4, k, kWidths, 10 + static_cast<unsigned>(k));
    const std::vector<T> ref = c.plain(true, 4);
    std::vector<T> warp;
    if (k == 2) warp = fused<2>(c, true, 4, core::kWarp);
    if (k == 4) warp = fused<4>(c, true, 4, core::kWarp);
    if (k == 5) warp = fused<5>(c, true, 4, core::kWarp);
    const std::vector<T> warp_run = fused<0>(c, true, 4, core::kWarp);
    // Reordering a sum of N = 665 terms (Σ m over the layers) moves it by at
    // most about N·eps·Σ|terms|, and every term has magnitude <= 1.
    const double bound = 665.0 * std::numeric_limits<T>::epsilon() * 665.0;
    bool any_differs = false;
    for (std::size_t i = 0; i < ref.size(); ++i) {
      ASSERT_NEAR(warp[i], ref[i], bound) << "k " << k << ", entry " << i;
      ASSERT_EQ(warp_run[i], warp[i]) << "k " << k << ", entry " << i;  // same order per entry
      any_differs = any_differs || warp[i] != ref[i];
    }
    // The warp order is another order: some sums round differently (else
    // this test would not see the lanes at all).
    EXPECT_TRUE(any_differs) << "k " << k;
  }
}

TYPED_TEST(HessianBlocks, PaddingGetsNoCurvature) {
  using T = TypeParam;
  const Chunk<T> c(6, 4, {8}, 3);
  const std::vector<T> with = fused<4>(c, true, 2, 1), without = fused<4>(c, false, 2, 1);
  const std::size_t kk = 16;
  for (std::size_t s = 0; s < 6; ++s)
    for (std::size_t j = 0; j < kk; ++j) {
      const std::size_t i = s * kk + j;
      const bool curved_diagonal = s < 2 && (j == 0 || j == 5);  // (0,0), (1,1): n = 2
      if (!curved_diagonal) {
        EXPECT_EQ(with[i], without[i]) << "sample " << s << ", entry " << j;
      }
    }
}

}  // namespace
}  // namespace lnn
