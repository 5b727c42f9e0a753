// The CUDA device query behind `lnn info` and Device::cuda checks; device
// memory and conversions for lnn::AnyEngine (cuda/memory_kind.hpp).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <string>

#include "cuda/cuda_check.hpp"
#include "cuda/memory_kind.hpp"
#include "lnn/errors.hpp"
#include "lnn/info.hpp"

namespace lnn LNN_CXX_API {

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

std::string cuda_versions() {
  const auto dotted = [](int v) {  // 13000 -> "13.0"
    return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
  };
  int runtime = 0, driver = 0;
  std::string out = cudaRuntimeGetVersion(&runtime) == cudaSuccess ? "runtime " + dotted(runtime)
                                                                   : std::string("runtime unknown");
  if (cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0) {
    out += ", driver " + dotted(driver);
  } else {
    out += ", no driver";
  }
  cudaGetLastError();
  // cuBLAS's version needs no handle (and so no device).
  int major = 0, minor = 0, patch = 0;
  if (cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS) {
    out += ", cuBLAS " + std::to_string(major) + "." + std::to_string(minor) + "." +
           std::to_string(patch);
  } else {
    out += ", cuBLAS unknown";
  }
  return out;
}

namespace detail LNN_HIDDEN {

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
  // The engines' streams are non-blocking: wait for their work first.
  cuda::check(cudaDeviceSynchronize(), "cudaDeviceSynchronize (before a copy to the host)");
  cuda::check(cudaMemcpy(host, device, bytes, cudaMemcpyDeviceToHost),
              "cudaMemcpy (device to host)");
}

void copy_host_to_device(void* device, const void* host, std::size_t bytes) {
  if (bytes == 0) return;
  cuda::check(cudaDeviceSynchronize(), "cudaDeviceSynchronize (before a copy to the device)");
  cuda::check(cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice),
              "cudaMemcpy (host to device)");
}

void* device_allocate(std::size_t bytes) {
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes == 0 ? 1 : bytes);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw OutOfMemory("cudaMalloc of " + std::to_string(bytes) +
                      " bytes for a conversion buffer failed: out of device memory");
  }
  cuda::check(e, "cudaMalloc (conversion buffer)");
  return p;
}

void device_free(void* p) noexcept {
  if (p != nullptr) cudaFree(p);
}

namespace {
template <class From, class To>
__global__ void convert_kernel(const From* from, To* to, std::size_t count) {
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < count;
       i += std::size_t(gridDim.x) * blockDim.x) {
    to[i] = static_cast<To>(from[i]);
  }
}
template <class From, class To>
void convert(const From* from, To* to, std::size_t count) {
  if (count == 0) return;
  cuda::check(cudaDeviceSynchronize(), "cudaDeviceSynchronize (before a conversion)");
  constexpr unsigned kThreads = 256;
  const std::size_t blocks = std::min<std::size_t>((count + kThreads - 1) / kThreads, 65535);
  convert_kernel<<<static_cast<unsigned>(blocks), kThreads>>>(from, to, count);
  cuda::check(cudaGetLastError(), "convert_kernel launch");
  cuda::check(cudaDeviceSynchronize(), "cudaDeviceSynchronize (after a conversion)");
}
}  // namespace

void convert_on_device(const double* from, float* to, std::size_t count) {
  convert(from, to, count);
}
void convert_on_device(const float* from, double* to, std::size_t count) {
  convert(from, to, count);
}

}  // namespace detail

}  // namespace lnn
