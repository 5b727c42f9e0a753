// CUDA workspaces: device arrays in, the CPU workspace's numbers out; host
// arrays refused with LNN_ERR_WRONG_DEVICE, and device memory passed to a CPU
// workspace likewise (builds with CUDA, on a machine with a GPU; skipped
// otherwise).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "capi/capi_test_util.hpp"
#include "lnn/info.hpp"

#if defined(LNN_HAVE_CUDA)
#include <cuda_runtime.h>
#endif

namespace lnn::test {
namespace {

TEST(CApiCuda, DeviceArraysToACpuWorkspaceAreWrongDevice) {
#if !defined(LNN_HAVE_CUDA)
  GTEST_SKIP() << "this build has no CUDA backend";
#else
  std::string why;
  if (lnn::cuda_devices(&why).empty()) GTEST_SKIP() << "no CUDA device: " << why;
  TempDir dir("cuda");
  const std::string path = save_test_model<double>(dir, "model.safetensors");
  lnn_model* m = nullptr;
  ASSERT_LNN_OK(lnn_model_load(path.c_str(), &m));
  ModelPtr model(m);
  lnn_workspace* w = nullptr;
  ASSERT_LNN_OK(lnn_workspace_create(model.get(), 4, nullptr, &w));
  WorkspacePtr ws(w);
  double* device = nullptr;
  ASSERT_EQ(cudaMalloc(&device, 64 * sizeof(double)), cudaSuccess);
  std::vector<double> host(64, 0.5);
  EXPECT_LNN_ERROR(lnn_accelerations(ws.get(), 2, device, nullptr, host.data(), nullptr, nullptr),
                   LNN_ERR_WRONG_DEVICE, "states is CUDA device memory");
  EXPECT_LNN_ERROR(lnn_energy(ws.get(), 2, host.data(), device), LNN_ERR_WRONG_DEVICE,
                   "E is CUDA device memory");
  const double times[1] = {0.1};
  EXPECT_LNN_ERROR(lnn_rollout(ws.get(), nullptr, 2, 0.0, host.data(), 1, times, device, nullptr),
                   LNN_ERR_WRONG_DEVICE, "out is CUDA device memory");
  EXPECT_LNN_ERROR(lnn_step(ws.get(), nullptr, 2, 0.0, 0.1, device, nullptr), LNN_ERR_WRONG_DEVICE,
                   "states is CUDA device memory");
  // Host arrays still work after the refusals.
  std::vector<double> E(2);
  EXPECT_EQ(lnn_energy(ws.get(), 2, host.data(), E.data()), LNN_OK) << lnn_last_error();
  cudaFree(device);
#endif
}

#if defined(LNN_HAVE_CUDA)
// Device copies of host arrays, and back.
struct DeviceArray {
  explicit DeviceArray(const std::vector<double>& host) : count(host.size()) {
    EXPECT_EQ(cudaMalloc(&p, count * sizeof(double)), cudaSuccess);
    cudaMemcpy(p, host.data(), count * sizeof(double), cudaMemcpyHostToDevice);
  }
  explicit DeviceArray(std::size_t n) : DeviceArray(std::vector<double>(n, -7.0)) {}
  ~DeviceArray() { cudaFree(p); }
  std::vector<double> host() const {
    std::vector<double> h(count);
    cudaMemcpy(h.data(), p, count * sizeof(double), cudaMemcpyDeviceToHost);
    return h;
  }
  double* p = nullptr;
  std::size_t count;
};

// A test model and two workspaces of it, CPU and CUDA, with the LU solve in
// `precision` (LNN_PRECISION_*).
struct Workspaces {
  Workspaces(const char* name, int B, int precision) : dir(name) {
    const std::string path = save_test_model<double>(dir, "model.safetensors");
    lnn_model* m = nullptr;
    EXPECT_EQ(lnn_model_load(path.c_str(), &m), LNN_OK) << lnn_last_error();
    model.reset(m);
    lnn_workspace_options o;
    lnn_workspace_options_default(&o);
    o.solve = LNN_SOLVE_LU;
    o.precision = precision;
    lnn_workspace *wc = nullptr, *wg = nullptr;
    EXPECT_EQ(lnn_workspace_create(model.get(), B, &o, &wc), LNN_OK) << lnn_last_error();
    cpu.reset(wc);
    o.device = LNN_DEVICE_CUDA;
    EXPECT_EQ(lnn_workspace_create(model.get(), B, &o, &wg), LNN_OK) << lnn_last_error();
    gpu.reset(wg);
  }
  TempDir dir;
  ModelPtr model;
  WorkspacePtr cpu, gpu;
};
#endif

TEST(CApiCuda, CudaWorkspaceWithDeviceArraysEqualsTheCpuWorkspace) {
#if !defined(LNN_HAVE_CUDA)
  GTEST_SKIP() << "this build has no CUDA backend";
#else
  std::string why;
  if (lnn::cuda_devices(&why).empty()) GTEST_SKIP() << "no CUDA device: " << why;
  const int B = 33, n = 2;
  Workspaces ws("cuda-ws", B, LNN_PRECISION_MODEL);
  ASSERT_TRUE(ws.cpu && ws.gpu);
  lnn_workspace* cpu_ws = ws.cpu.get();
  lnn_workspace* gpu_ws = ws.gpu.get();
  std::vector<double> x(B * 2 * n);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.3 * std::sin(1.7 * double(i) + 0.2);
  DeviceArray dx(x);
  auto close = [](const std::vector<double>& got, const std::vector<double>& want, const char* w,
                  double tol = 1e-9) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i)
      EXPECT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << w << "[" << i << "]";
  };
  {
    std::vector<double> a(B * n);
    std::vector<int> st(B);
    int64_t fails = -1;
    ASSERT_LNN_OK(lnn_accelerations(cpu_ws, B, x.data(), nullptr, a.data(), st.data(), &fails));
    DeviceArray da(B * n);
    ASSERT_LNN_OK(lnn_accelerations(gpu_ws, B, dx.p, nullptr, da.p, nullptr, nullptr));
    close(da.host(), a, "acc");
  }
  {
    std::vector<double> E(B);
    ASSERT_LNN_OK(lnn_energy(cpu_ws, B, x.data(), E.data()));
    DeviceArray dE(B);
    ASSERT_LNN_OK(lnn_energy(gpu_ws, B, dx.p, dE.p));
    close(dE.host(), E, "E");
  }
  {
    std::vector<double> H(B * 4 * n * n);
    ASSERT_LNN_OK(lnn_hessian(cpu_ws, B, x.data(), H.data()));
    DeviceArray dH(H.size());
    ASSERT_LNN_OK(lnn_hessian(gpu_ws, B, dx.p, dH.p));
    close(dH.host(), H, "H");
  }
  {
    const double times[2] = {0.05, 0.1};
    std::vector<double> out(2 * B * 2 * n);
    ASSERT_LNN_OK(lnn_rollout(cpu_ws, nullptr, B, 0.0, x.data(), 2, times, out.data(), nullptr));
    DeviceArray dt(std::vector<double>(times, times + 2)), dout(out.size());
    ASSERT_LNN_OK(lnn_rollout(gpu_ws, nullptr, B, 0.0, dx.p, 2, dt.p, dout.p, nullptr));
    // Adaptive steps (Dormand–Prince, rtol 1e-10) may be chosen differently
    // when q̈ differs in the last bits: agreement to the tolerance's order.
    close(dout.host(), out, "rollout", 1e-7);
  }
  // Host arrays are refused by a CUDA workspace.
  std::vector<double> E(B);
  EXPECT_LNN_ERROR(lnn_energy(gpu_ws, B, x.data(), E.data()), LNN_ERR_WRONG_DEVICE,
                   "states is host memory");
#endif
}

// A float workspace on the GPU: the caller's double device arrays are
// converted on the device (AnyEngine), statuses and the failure count are
// written to device memory; the numbers are the CPU float workspace's to
// float rounding.
TEST(CApiCuda, FloatCudaWorkspaceConvertsDeviceArraysOnTheDevice) {
#if !defined(LNN_HAVE_CUDA)
  GTEST_SKIP() << "this build has no CUDA backend";
#else
  std::string why;
  if (lnn::cuda_devices(&why).empty()) GTEST_SKIP() << "no CUDA device: " << why;
  const int B = 40, n = 2;
  Workspaces ws("cuda-f32", B, LNN_PRECISION_F32);
  ASSERT_TRUE(ws.cpu && ws.gpu);
  lnn_workspace* cpu_ws = ws.cpu.get();
  lnn_workspace* gpu_ws = ws.gpu.get();
  int precision = -1;
  ASSERT_LNN_OK(lnn_workspace_get(gpu_ws, nullptr, nullptr, &precision));
  EXPECT_EQ(precision, LNN_PRECISION_F32);
  std::vector<double> x(B * 2 * n);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.3 * std::sin(1.3 * double(i) + 0.1);
  DeviceArray dx(x);
  std::vector<double> a(B * n);
  std::vector<int> st(B);
  int64_t fails = -1;
  ASSERT_LNN_OK(lnn_accelerations(cpu_ws, B, x.data(), nullptr, a.data(), st.data(), &fails));
  DeviceArray da(B * n);
  int* dst = nullptr;
  int64_t* dfails = nullptr;
  ASSERT_EQ(cudaMalloc(&dst, B * sizeof(int)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&dfails, sizeof(int64_t)), cudaSuccess);
  ASSERT_LNN_OK(lnn_accelerations(gpu_ws, B, dx.p, nullptr, da.p, dst, dfails));
  std::vector<int> gst(B);
  int64_t gfails = -1;
  cudaMemcpy(gst.data(), dst, B * sizeof(int), cudaMemcpyDeviceToHost);
  cudaMemcpy(&gfails, dfails, sizeof(int64_t), cudaMemcpyDeviceToHost);
  cudaFree(dst);
  cudaFree(dfails);
  EXPECT_EQ(gst, st);
  EXPECT_EQ(gfails, fails);
  const std::vector<double> ga = da.host();
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(ga[i], a[i], 1e-3 * (1 + std::fabs(a[i]))) << "acc[" << i << "]";
  }
  std::vector<double> E(B);
  ASSERT_LNN_OK(lnn_energy(cpu_ws, B, x.data(), E.data()));
  DeviceArray dE(B);
  ASSERT_LNN_OK(lnn_energy(gpu_ws, B, dx.p, dE.p));
  const std::vector<double> gE = dE.host();
  for (std::size_t i = 0; i < E.size(); ++i) {
    EXPECT_NEAR(gE[i], E[i], 1e-4 * (1 + std::fabs(E[i]))) << "E[" << i << "]";
    EXPECT_EQ(static_cast<double>(static_cast<float>(gE[i])), gE[i]) << "not a float value";
  }
#endif
}

}  // namespace
}  // namespace lnn::test
