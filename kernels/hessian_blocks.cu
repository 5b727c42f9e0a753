// The Hessian blocks, fused (src/core/hessian_blocks.hpp): a warp per
// sample. Each lane strides over a layer's neurons and carries every
// upper-triangle entry's partial sum in registers (k = K known: K(K+1)/2 of
// them; the sample's σ''⊙g and k tangent values are read once, coalesced
// across the lanes); the entries are combined by the shuffle tree of
// core/reduce_order.hpp and added to the layers' total in lane 0, which then
// writes the block, its lower triangle and the embedding's curvature. One
// launch replaces the zeroing of H, a reduction per layer and the
// symmetrisation; nothing is read twice.
#include "core/reduce_order.hpp"
#include "kernels/for_each.cuh"
#include "kernels/hessian_blocks.cuh"

namespace lnn::kernels {
namespace {

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = core::kWarp / 2; o > 0; o /= 2) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;  // the total in lane 0
}

// The kernel's arguments (≈ 2 KB, below the 4 KB parameter limit) are read
// in place from the parameter space: __grid_constant__, since the per-lane
// code takes them by reference and a parameter whose address is taken may
// be copied into each thread's local memory. (At -O3 ptxas -v shows the same
// 32–48-byte frames without it: the inlined code needs no copy; this keeps
// it so.)
template <class T, int K>
__global__ void __launch_bounds__(kBlock)
    hessian_blocks_kernel(const __grid_constant__ core::HessianBlocksArgs<T> a) {
  constexpr int P = core::hessian_entries<K>();
  const std::int64_t s = static_cast<std::int64_t>(blockIdx.x) * kRowsPerBlock +
                         static_cast<int>(threadIdx.x) / core::kWarp;
  const int lane = static_cast<int>(threadIdx.x) % core::kWarp;
  if (s >= a.b) return;  // the whole warp: s is the same for its lanes
  const int k = K > 0 ? K : a.k;
  T* h = a.H + static_cast<std::size_t>(s) * k * k;
  const int groups = K > 0 ? 1 : k * (k + 1) / 2;
  for (int t0 = 0; t0 < groups; ++t0) {
    int p = 0, q = 0;
    if constexpr (K == 0) core::upper_pair(t0, k, p, q);
    T total[P];
#pragma unroll
    for (int t = 0; t < P; ++t) total[t] = T(0);
    for (int l = 0; l < a.layers; ++l) {
      T acc[P];
      core::hessian_lane_sums<K>(a, l, s, lane, core::kWarp, acc, p, q);
#pragma unroll
      for (int t = 0; t < P; ++t) total[t] += warp_sum(acc[t]);  // meaningful in lane 0
    }
    if (lane == 0) {
      if constexpr (K > 0) {
        int t = 0;
#pragma unroll
        for (int r = 0; r < K; ++r)
#pragma unroll
          for (int c = r; c < K; ++c) h[r * k + c] = total[t++];
      } else {
        h[p * k + q] = total[0];
      }
    }
  }
  if (lane == 0) core::hessian_finish(a, s);
}

}  // namespace

template <class T, int K>
void hessian_blocks(const core::HessianBlocksArgs<T>& a, cudaStream_t stream) {
  if (a.b <= 0) return;
  hessian_blocks_kernel<T, K><<<blocks_for_rows(a.b), kBlock, 0, stream>>>(a);
}

#define LNN_HESSIAN_BLOCKS(T)                                                        \
  template void hessian_blocks<T, 0>(const core::HessianBlocksArgs<T>&, cudaStream_t); \
  template void hessian_blocks<T, 2>(const core::HessianBlocksArgs<T>&, cudaStream_t); \
  template void hessian_blocks<T, 3>(const core::HessianBlocksArgs<T>&, cudaStream_t); \
  template void hessian_blocks<T, 4>(const core::HessianBlocksArgs<T>&, cudaStream_t); \
  template void hessian_blocks<T, 5>(const core::HessianBlocksArgs<T>&, cudaStream_t);
LNN_HESSIAN_BLOCKS(float)
LNN_HESSIAN_BLOCKS(double)
#undef LNN_HESSIAN_BLOCKS

}  // namespace lnn::kernels
