// Move-only owner of device memory: the only place lnn calls cudaMalloc and
// cudaFree. resize() keeps nothing (workspaces are rewritten after they grow).
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>
#include <utility>

#include "cuda/cuda_check.hpp"

namespace lnn::cuda {

template <class U>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t count) { resize(count); }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      ptr_ = std::exchange(o.ptr_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  U* data() { return ptr_; }
  const U* data() const { return ptr_; }
  std::size_t size() const { return size_; }

  // count elements, contents undefined. Throws OutOfMemory naming the size.
  void resize(std::size_t count) {
    if (count == size_) return;
    release();
    if (count == 0) return;
    void* p = nullptr;
    const std::size_t bytes = count * sizeof(U);
    const cudaError_t err = cudaMalloc(&p, bytes);
    if (err != cudaSuccess) {
      cudaGetLastError();
      std::size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      cudaGetLastError();
      const auto mib = [](std::size_t b) { return std::to_string(b >> 20) + " MiB"; };
      const std::string msg = "CUDA out of memory: cudaMalloc of " + mib(bytes) + " failed (" +
                              mib(free_b) + " free of " + mib(total_b) +
                              "): " + cudaGetErrorString(err);
      if (err == cudaErrorMemoryAllocation) throw OutOfMemory(msg);
      throw BackendError(msg);
    }
    ptr_ = static_cast<U*>(p);
    size_ = count;
  }

 private:
  void release() noexcept {
    if (ptr_) cudaFree(ptr_);  // errors here are the earlier work's, reported there
    ptr_ = nullptr;
    size_ = 0;
  }
  U* ptr_ = nullptr;
  std::size_t size_ = 0;
};

// Page-locked host memory (cudaMallocHost), so that a copy from the device
// into it is asynchronous: where a training step's record lands
// (CudaBackend::fetch_later).
template <class U>
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer() { release(); }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  U* data() { return ptr_; }
  std::size_t size() const { return size_; }
  void resize(std::size_t count) {
    if (count == size_) return;
    release();
    if (count == 0) return;
    void* p = nullptr;
    check(cudaMallocHost(&p, count * sizeof(U)), "cudaMallocHost");
    ptr_ = static_cast<U*>(p);
    size_ = count;
  }

 private:
  void release() noexcept {
    if (ptr_) cudaFreeHost(ptr_);
    ptr_ = nullptr;
    size_ = 0;
  }
  U* ptr_ = nullptr;
  std::size_t size_ = 0;
};

// An event on a stream that the host can wait for (CudaBackend::fetch_later).
class Ticket {
 public:
  Ticket() = default;
  ~Ticket() {
    if (event_) cudaEventDestroy(event_);
  }
  Ticket(const Ticket&) = delete;
  Ticket& operator=(const Ticket&) = delete;
  void record(cudaStream_t stream) {
    if (!event_) check(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming), "cudaEventCreate");
    check(cudaEventRecord(event_, stream), "cudaEventRecord");
  }
  void wait() {
    if (event_) {
      check(cudaEventSynchronize(event_),
            "the work before a fetch_later (cudaEventSynchronize; the failing kernel ran earlier)");
    }
  }

 private:
  cudaEvent_t event_ = nullptr;
};

}  // namespace lnn::cuda
