// The generic kernels of the CUDA backend. The per-sample math is the
// src/core code (LNN_HD) that the CPU backend runs; these only map samples
// or elements to threads.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

namespace lnn::kernels {

constexpr int kBlock = 256;

// f(i) for i < count: one thread per sample. f is a __host__ __device__
// lambda of the layer algorithm (nvcc --extended-lambda).
template <class F>
__global__ void for_each(int count, F f) {
  const int i = static_cast<int>(blockIdx.x) * kBlock + static_cast<int>(threadIdx.x);
  if (i < count) f(i);
}

// out[j] += Σ_r X[r·ld + j] in V: one thread per column, rows in ascending
// order (the CPU backend's order), so coalesced across j.
template <class U, class V>
__global__ void sum_rows(int rows, int cols, const U* __restrict__ X, std::size_t ld,
                         V* __restrict__ out) {
  const int j = static_cast<int>(blockIdx.x) * kBlock + static_cast<int>(threadIdx.x);
  if (j >= cols) return;
  V acc = V(0);
  for (int r = 0; r < rows; ++r) acc += static_cast<V>(X[static_cast<std::size_t>(r) * ld + j]);
  out[j] += acc;
}

// x[i] *= factor.
template <class T>
__global__ void scale(std::size_t count, T* x, T factor) {
  const std::size_t i = static_cast<std::size_t>(blockIdx.x) * kBlock + threadIdx.x;
  if (i < count) x[i] *= factor;
}

inline unsigned blocks_for(std::size_t count) {
  return static_cast<unsigned>((count + kBlock - 1) / kBlock);
}

}  // namespace lnn::kernels
