// The CUDA device query behind `lnn info` and Device::cuda checks.
#include <cuda_runtime.h>

#include "cuda/cuda_check.hpp"
#include "cuda/memory_kind.hpp"
#include "lnn/info.hpp"

namespace lnn {

bool cuda_compiled() { return true; }

std::vector<GpuInfo> cuda_devices(std::string* why_none) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    if (why_none) *why_none = std::string("CUDA runtime: ") + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error for later callers
    return {};
  }
  std::vector<GpuInfo> out;
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    GpuInfo g;
    g.index = i;
    g.name = prop.name;
    g.compute_major = prop.major;
    g.compute_minor = prop.minor;
    g.memory_gib = static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0);
    out.push_back(g);
  }
  if (out.empty() && why_none) *why_none = "no CUDA device visible";
  return out;
}

namespace detail {

bool is_device_pointer(const void* p) {
  // Without a device no pointer can be a device pointer; ask the runtime once.
  static const bool any_device = [] {
    int count = 0;
    const bool ok = cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
    cudaGetLastError();
    return ok;
  }();
  if (!any_device || p == nullptr) return false;
  cudaPointerAttributes attributes{};
  if (cudaPointerGetAttributes(&attributes, p) != cudaSuccess) {
    cudaGetLastError();  // unregistered host memory on old runtimes
    return false;
  }
  return attributes.type == cudaMemoryTypeDevice;
}

void copy_device_to_host(void* host, const void* device, std::size_t bytes) {
  if (bytes == 0) return;
  cuda::check(cudaMemcpy(host, device, bytes, cudaMemcpyDeviceToHost),
              "cudaMemcpy (device to host)");
}

void copy_host_to_device(void* device, const void* host, std::size_t bytes) {
  if (bytes == 0) return;
  cuda::check(cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice),
              "cudaMemcpy (host to device)");
}

}  // namespace detail

}  // namespace lnn
