// The CUDA device query. Skips, saying why, where no GPU is usable.
#include <gtest/gtest.h>

#include "lnn/info.hpp"

namespace lnn {
namespace {

TEST(CudaDevice, QueryReportsDevicesOrWhyNone) {
  if (!cuda_compiled()) GTEST_SKIP() << "built without the CUDA backend";
  std::string why;
  const std::vector<GpuInfo> devices = cuda_devices(&why);
  if (devices.empty()) {
    EXPECT_FALSE(why.empty());
    GTEST_SKIP() << "no usable GPU: " << why;
  }
  for (const GpuInfo& g : devices) {
    EXPECT_FALSE(g.name.empty());
    EXPECT_GE(g.compute_major, 3);
    EXPECT_GT(g.memory_gib, 0.0);
  }
}

}  // namespace
}  // namespace lnn
