// Built when the CUDA backend is off: the device query answers "none".
#include "cuda/memory_kind.hpp"
#include "lnn/info.hpp"

namespace lnn {
bool cuda_compiled() { return false; }
std::vector<GpuInfo> cuda_devices(std::string* why_none) {
  if (why_none) *why_none = "this build has no CUDA backend (configured without nvcc)";
  return {};
}
namespace detail {
bool is_device_pointer(const void*) { return false; }
}  // namespace detail
}  // namespace lnn
