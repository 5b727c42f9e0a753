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

// Σ x_i² in double, in two deterministic passes: each of kReduceBlocks
// blocks sums a grid-strided share and reduces it in shared memory to
// partial[block]; one block then reduces the partials to out[0]. The order
// depends only on count, so repeated runs give the same bits.
constexpr int kReduceBlocks = 512;

__device__ inline double block_sum(double v) {
  __shared__ double buf[kBlock];
  buf[threadIdx.x] = v;
  __syncthreads();
  for (int half = kBlock / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) buf[threadIdx.x] += buf[threadIdx.x + half];
    __syncthreads();
  }
  return buf[0];
}

template <class T>
__global__ void sum_squares_partial(const T* __restrict__ x, std::size_t count,
                                    double* __restrict__ partial) {
  double acc = 0.0;
  const std::size_t stride = static_cast<std::size_t>(kReduceBlocks) * kBlock;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * kBlock + threadIdx.x; i < count;
       i += stride) {
    const double v = static_cast<double>(x[i]);
    acc += v * v;
  }
  const double s = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

template <class V>
__global__ void sum_partials(const V* __restrict__ partial, int count, V* __restrict__ out) {
  V acc = V(0);
  for (int i = static_cast<int>(threadIdx.x); i < count; i += kBlock) acc += partial[i];
  const V s = block_sum(acc);
  if (threadIdx.x == 0) out[0] = s;
}

inline unsigned blocks_for(std::size_t count) {
  return static_cast<unsigned>((count + kBlock - 1) / kBlock);
}

}  // namespace lnn::kernels
