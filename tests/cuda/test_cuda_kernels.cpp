// The hand-written kernels (kernels/*.cu) against their CPU twins directly,
// so that a failure names the kernel rather than an engine call: the fused
// Hessian blocks (kernels/hessian_blocks.cu) against core/hessian_blocks.hpp
// in the GPU's order, in float and double, k known at compile time (2..5)
// and at run time (7), awkward widths, padding without curvature. Skips
// without the CUDA backend or a usable GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/hessian_blocks.hpp"
#include "lnn/info.hpp"

#if defined(LNN_HAVE_CUDA)
#include <cuda_runtime.h>

#include "kernels/hessian_blocks.cuh"
#endif

namespace lnn {
namespace {

#if defined(LNN_HAVE_CUDA)

std::string why_no_gpu() {
  std::string why;
  if (cuda_devices(&why).empty()) return "no usable GPU: " + why;
  return "";
}

// Device memory holding a copy of a host vector, freed on scope exit.
template <class U>
struct Device {
  U* p = nullptr;
  std::size_t n = 0;
  explicit Device(const std::vector<U>& host) : n(host.size()) {
    EXPECT_EQ(cudaMalloc(&p, n * sizeof(U)), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(p, host.data(), n * sizeof(U), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~Device() { cudaFree(p); }
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  std::vector<U> host() const {
    std::vector<U> out(n);
    EXPECT_EQ(cudaMemcpy(out.data(), p, n * sizeof(U), cudaMemcpyDeviceToHost), cudaSuccess);
    return out;
  }
};

template <class T>
std::vector<T> random_values(std::size_t count, std::mt19937& rng, double scale = 1.0) {
  std::uniform_real_distribution<double> u(-scale, scale);
  std::vector<T> v(count);
  for (T& x : v) x = static_cast<T>(u(rng));
  return v;
}

template <class T, int K>
void check_hessian_blocks(int k, bool full) {
  SCOPED_TRACE("k " + std::to_string(k) + (full ? ", full" : ", Euler-Lagrange seeds"));
  const std::vector<int> widths{31, 33, 600, 1};
  const int b = 37, b_real = 35, n = 2, d0 = 3;  // n = 2: one angle, one plain coordinate
  std::mt19937 rng(static_cast<unsigned>(100 + k));
  std::vector<std::vector<T>> A, G, D2;
  for (int m : widths) {
    A.push_back(random_values<T>(static_cast<std::size_t>(b) * (k + 1) * m, rng));
    G.push_back(random_values<T>(static_cast<std::size_t>(b) * m, rng));
    D2.push_back(random_values<T>(static_cast<std::size_t>(b) * m, rng));
  }
  const std::vector<unsigned char> angle{1, 0};
  const std::vector<T> states = random_values<T>(static_cast<std::size_t>(b) * 2 * n, rng, 3.0);
  const std::vector<T> G0 = random_values<T>(static_cast<std::size_t>(b) * d0, rng);
  const std::vector<T> poison(static_cast<std::size_t>(b) * k * k,
                              std::numeric_limits<T>::quiet_NaN());  // every entry is written

  // The twin on the host.
  std::vector<T> H_cpu = poison;
  core::HessianBlocksArgs<T> a{};
  a.b = b;
  a.k = k;
  a.layers = static_cast<int>(widths.size());
  a.b_real = b_real;
  a.n = n;
  a.d0 = d0;
  for (int l = 0; l < a.layers; ++l)
    a.layer[l] = {A[l].data(), G[l].data(), D2[l].data(), widths[l]};
  if (full) {
    a.angle = angle.data();
    a.states = states.data();
    a.G0 = G0.data();
  }
  a.H = H_cpu.data();
  for (int s = 0; s < b; ++s) core::hessian_block_sample<K>(a, s, core::kWarp);

  // The kernel.
  std::vector<std::unique_ptr<Device<T>>> keep;
  core::HessianBlocksArgs<T> d = a;
  for (int l = 0; l < a.layers; ++l) {
    keep.push_back(std::make_unique<Device<T>>(A[l]));
    d.layer[l].A = keep.back()->p;
    keep.push_back(std::make_unique<Device<T>>(G[l]));
    d.layer[l].G = keep.back()->p;
    keep.push_back(std::make_unique<Device<T>>(D2[l]));
    d.layer[l].D2 = keep.back()->p;
  }
  Device<unsigned char> dangle(angle);
  Device<T> dstates(states), dG0(G0), dH(poison);
  if (full) {
    d.angle = dangle.p;
    d.states = dstates.p;
    d.G0 = dG0.p;
  }
  d.H = dH.p;
  kernels::hessian_blocks<T, K>(d, nullptr);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const std::vector<T> H_gpu = dH.host();

  // Same order of summation; the GPU may contract a product and an add into
  // one rounding (FMA): within N·eps·Σ|terms|, N = 665 terms of magnitude <= 1.
  const double bound = 665.0 * std::numeric_limits<T>::epsilon() * 665.0;
  for (std::size_t i = 0; i < H_cpu.size(); ++i) {
    ASSERT_TRUE(std::isfinite(static_cast<double>(H_gpu[i]))) << "entry " << i << " not written";
    ASSERT_NEAR(H_gpu[i], H_cpu[i], bound) << "entry " << i;
    ASSERT_EQ(H_gpu[i], H_gpu[(i / (k * k)) * k * k + (i % k) * k + (i % (k * k)) / k])
        << "entry " << i << ": the block is not symmetric";
  }
}

template <class T>
class CudaKernels : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(CudaKernels, Precisions);

TYPED_TEST(CudaKernels, HessianBlocksEqualTheirCpuTwin) {
  const std::string why = why_no_gpu();
  if (!why.empty()) GTEST_SKIP() << why;
  using T = TypeParam;
  for (const bool full : {false, true}) {
    check_hessian_blocks<T, 2>(2, full);
    check_hessian_blocks<T, 3>(3, full);
    check_hessian_blocks<T, 4>(4, full);
    check_hessian_blocks<T, 5>(5, full);
    check_hessian_blocks<T, 0>(3, full);  // the run-time path on a small k
    check_hessian_blocks<T, 0>(7, full);
  }
}

#else

TEST(CudaKernels, HessianBlocksEqualTheirCpuTwin) {
  GTEST_SKIP() << "built without the CUDA backend";
}

#endif

}  // namespace
}  // namespace lnn
