// Device memory passed to a CPU workspace is refused with LNN_ERR_WRONG_DEVICE
// (builds with CUDA, on a machine with a GPU; skipped otherwise).
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace lnn::test
