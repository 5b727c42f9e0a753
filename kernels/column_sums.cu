// Column sums over a batch (kernels/column_sums.cuh). The previous kernel
// gave each column one thread that looped over every row: at B = 65536 and
// 5 loss totals, five threads did all the work. Here pass 1 gives each
// chunk of kColumnChunk rows a block of 32 columns × kColumnLanes row lanes
// (reads coalesced across the 32 columns), each lane summing its rows of the
// chunk in ascending order, then the lanes in lane order; pass 2 adds the
// chunk sums in chunk order. Fixed order: the same bits every run.
#include "core/reduce_order.hpp"
#include "kernels/column_sums.cuh"

namespace lnn::kernels {
namespace {

constexpr int kCols = 32;

template <class U, class V>
__global__ void column_chunk_sums(std::int64_t rows, int cols, const U* __restrict__ X,
                                  std::size_t ld, std::int64_t chunk0, V* __restrict__ partial) {
  __shared__ V lane_sum[core::kColumnLanes][kCols];
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int j = static_cast<int>(blockIdx.x) * kCols + tx;
  const std::int64_t chunk = chunk0 + blockIdx.y;
  const std::int64_t r0 = chunk * core::kColumnChunk;
  const std::int64_t r1 = r0 + core::kColumnChunk < rows ? r0 + core::kColumnChunk : rows;
  V acc = V(0);
  if (j < cols) {
    for (std::int64_t r = r0 + ty; r < r1; r += core::kColumnLanes)
      acc += static_cast<V>(X[static_cast<std::size_t>(r) * ld + static_cast<std::size_t>(j)]);
  }
  lane_sum[ty][tx] = acc;
  __syncthreads();
  if (ty == 0 && j < cols) {
    V s = lane_sum[0][tx];
    for (int y = 1; y < core::kColumnLanes; ++y) s += lane_sum[y][tx];
    partial[static_cast<std::size_t>(chunk) * static_cast<std::size_t>(cols) + j] = s;
  }
}

template <class V>
__global__ void add_chunk_sums(std::int64_t chunks, int cols, const V* __restrict__ partial,
                               V* __restrict__ out) {
  const int j = static_cast<int>(blockIdx.x) * blockDim.x + static_cast<int>(threadIdx.x);
  if (j >= cols) return;
  V acc = V(0);
  for (std::int64_t c = 0; c < chunks; ++c)
    acc += partial[static_cast<std::size_t>(c) * static_cast<std::size_t>(cols) + j];
  out[j] += acc;
}

}  // namespace

std::size_t column_sums_scratch(std::int64_t rows, int cols) {
  return static_cast<std::size_t>(core::column_chunks(rows)) * static_cast<std::size_t>(cols);
}

template <class U, class V>
void column_sums(std::int64_t rows, int cols, const U* X, std::size_t ld, V* out, V* scratch,
                 cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const std::int64_t chunks = core::column_chunks(rows);
  const dim3 block(kCols, core::kColumnLanes);
  constexpr std::int64_t kMaxGridY = 65535;
  for (std::int64_t c0 = 0; c0 < chunks; c0 += kMaxGridY) {
    const std::int64_t count = chunks - c0 < kMaxGridY ? chunks - c0 : kMaxGridY;
    const dim3 grid(static_cast<unsigned>((cols + kCols - 1) / kCols), static_cast<unsigned>(count));
    column_chunk_sums<U, V><<<grid, block, 0, stream>>>(rows, cols, X, ld, c0, scratch);
  }
  add_chunk_sums<V><<<static_cast<unsigned>((cols + 127) / 128), 128, 0, stream>>>(chunks, cols,
                                                                                 scratch, out);
}

template void column_sums<float, float>(std::int64_t, int, const float*, std::size_t, float*,
                                        float*, cudaStream_t);
template void column_sums<double, double>(std::int64_t, int, const double*, std::size_t, double*,
                                          double*, cudaStream_t);
template void column_sums<float, double>(std::int64_t, int, const float*, std::size_t, double*,
                                         double*, cudaStream_t);

}  // namespace lnn::kernels
