// Built when the CUDA backend is off: the device query answers "none" and
// device memory is refused (engine/backend_factory.cpp refuses a CUDA engine).
#include "cuda/memory_kind.hpp"
#include "lnn/errors.hpp"
#include "lnn/info.hpp"

namespace lnn LNN_CXX_API {
bool cuda_compiled() { return false; }
std::vector<GpuInfo> cuda_devices(std::string* why_none) {
  if (why_none) *why_none = "this build has no CUDA backend (configured without nvcc)";
  return {};
}
std::string cuda_versions() { return ""; }
namespace detail LNN_HIDDEN {
bool is_device_pointer(const void*) { return false; }
void copy_device_to_host(void*, const void*, std::size_t) {
  throw BackendError("this build has no CUDA backend: no device memory to copy");
}
void copy_host_to_device(void*, const void*, std::size_t) {
  throw BackendError("this build has no CUDA backend: no device memory to copy");
}
void* device_allocate(std::size_t) {
  throw BackendError("this build has no CUDA backend: no device memory to allocate");
}
void device_free(void*) noexcept {}
void convert_on_device(const double*, float*, std::size_t) {
  throw BackendError("this build has no CUDA backend: no device memory to convert");
}
void convert_on_device(const float*, double*, std::size_t) {
  throw BackendError("this build has no CUDA backend: no device memory to convert");
}
}  // namespace detail
}  // namespace lnn
