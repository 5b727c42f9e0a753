// Where a pointer points: lets the C API refuse device arrays passed to a CPU
// workspace (and, later, host arrays passed to a CUDA one) instead of crashing.
#pragma once
#include <cstddef>

namespace lnn::detail {

// True when p is memory of a CUDA device that the host cannot dereference
// (cudaMemoryTypeDevice). False for host, pinned and managed memory, for
// nullptr, and always in builds without CUDA or without a visible device.
bool is_device_pointer(const void* p);

// Blocking copies between host memory and CUDA device memory (the C API's
// CUDA workspaces), after all work queued on the device. Throw
// BackendError; without CUDA they throw as well.
void copy_device_to_host(void* host, const void* device, std::size_t bytes);
void copy_host_to_device(void* device, const void* host, std::size_t bytes);

}  // namespace lnn::detail
