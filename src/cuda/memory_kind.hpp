// Where a pointer points: lets the C API and lnn::AnyEngine refuse device
// arrays passed to a CPU engine instead of crashing; and the device memory
// and conversions AnyEngine needs for arrays of the other precision.
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

// Device memory for lnn::AnyEngine's conversion buffers (cudaMalloc; throw
// OutOfMemory / BackendError, and BackendError without CUDA). device_free
// takes nullptr and never throws.
void* device_allocate(std::size_t bytes);
void device_free(void* p) noexcept;
// to[i] = from[i] for device arrays, converted by a kernel on the device,
// after all work queued on it and finished before returning (the engines'
// streams are non-blocking, so a conversion must not overlap their work).
void convert_on_device(const double* from, float* to, std::size_t count);
void convert_on_device(const float* from, double* to, std::size_t count);

}  // namespace lnn::detail
