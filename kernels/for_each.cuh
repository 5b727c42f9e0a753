// The generic kernels of the CUDA backend. The per-sample math is the
// src/core code (LNN_HD) that the CPU backend runs; these only map samples
// or elements to threads.
#pragma once
#include "core/tf32_split.hpp"
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "core/reduce_order.hpp"

namespace lnn::kernels {

constexpr int kBlock = 256;
constexpr int kRowsPerBlock = kBlock / core::kWarp;  // reduce_rows: a warp per row

// f(i) for i < count: one thread per sample, for per-sample work that is not
// a loop over neurons (embeddings, the n × n solves, the loss terms). f is a
// __host__ __device__ lambda of the layer algorithm (nvcc --extended-lambda).
template <class F>
__global__ void for_each(int count, F f) {
  const int i = static_cast<int>(blockIdx.x) * kBlock + static_cast<int>(threadIdx.x);
  if (i < count) f(i);
}

// f(r, i) for r < rows, i < m: one thread per element, i fastest, so that
// a warp reads 32 neighbouring neurons of a row (coalesced). The element
// index is 64-bit: rows·m passes 2³¹ at n = 16, B = 2²⁰.
template <class F>
__global__ void for_each_element(std::int64_t rows, int m, F f) {
  const std::int64_t e = static_cast<std::int64_t>(blockIdx.x) * kBlock + threadIdx.x;
  if (e >= rows * m) return;
  const std::int64_t r = e / m;
  f(r, static_cast<int>(e - r * m));
}

// g(r, Σ_i term(i)) with term = row(r): one warp per row, in
// core/reduce_order.hpp's order (lane-strided sums, then the shuffle tree;
// lane 0 calls g).
template <class Row, class G>
__global__ void reduce_rows(std::int64_t rows, int m, Row row, G g) {
  const std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * kRowsPerBlock +
                         static_cast<int>(threadIdx.x) / core::kWarp;
  const int lane = static_cast<int>(threadIdx.x) % core::kWarp;
  if (r >= rows) return;  // the whole warp: r is the same for its lanes
  const auto term = row(r);
  using V = decltype(term(0));
  V acc = V(0);
  for (int i = lane; i < m; i += core::kWarp) acc += term(i);
  for (int o = core::kWarp / 2; o > 0; o /= 2) acc += __shfl_down_sync(0xffffffffu, acc, o);
  if (lane == 0) g(r, acc);
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

// hi, lo = the TF32 split of each x (core::split_tf32, 3xTF32 GEMMs).
__global__ inline void split_tf32(std::size_t count, const float* __restrict__ x,
                                  float* __restrict__ hi, float* __restrict__ lo) {
  const std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) core::split_tf32(x[i], hi[i], lo[i]);
}

inline unsigned blocks_for(std::size_t count) {
  return static_cast<unsigned>((count + kBlock - 1) / kBlock);
}
inline unsigned blocks_for_rows(std::int64_t rows) {
  return static_cast<unsigned>((rows + kRowsPerBlock - 1) / kRowsPerBlock);
}

}  // namespace lnn::kernels
