// Where a pointer points: lets the C API refuse device arrays passed to a CPU
// workspace (and, later, host arrays passed to a CUDA one) instead of crashing.
#pragma once

namespace lnn::detail {

// True when p is memory of a CUDA device that the host cannot dereference
// (cudaMemoryTypeDevice). False for host, pinned and managed memory, for
// nullptr, and always in builds without CUDA or without a visible device.
bool is_device_pointer(const void* p);

}  // namespace lnn::detail
