// Built when the CUDA backend is off: the device query answers "none".
#include "lnn/info.hpp"

namespace lnn {
bool cuda_compiled() { return false; }
std::vector<GpuInfo> cuda_devices(std::string* why_none) {
  if (why_none) *why_none = "this build has no CUDA backend (configured without nvcc)";
  return {};
}
}  // namespace lnn
