// The summation orders of the CUDA backend's reductions (kernels/), named
// once so that their CPU emulation (tests/cpu/test_engine_staging.cpp)
// sums in exactly the same order and a wrong index shows there without a
// GPU. docs/design-notes.md, "Mapping primitives".
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/host_device.hpp"

namespace lnn::core {

// reduce_rows: one warp per row. Lane l sums elements l, l + 32, l + 64, …
// in ascending order; the 32 lane sums are then combined by the shuffle tree
// v[l] += v[l + o] for o = 16, 8, 4, 2, 1, leaving the total in lane 0.
constexpr int kWarp = 32;

// sum_rows (column sums over a batch): the rows are cut into chunks of
// kColumnChunk; in each chunk, lane y (y < kColumnLanes) sums rows
// y, y + kColumnLanes, … of the chunk in ascending order, the lane sums are
// added in lane order, and the chunk sums are added in chunk order to out.
constexpr int kColumnChunk = 256;
constexpr int kColumnLanes = 8;
LNN_HD std::int64_t column_chunks(std::int64_t rows) {
  return (rows + kColumnChunk - 1) / kColumnChunk;
}

// The pair (p, q), p <= q < k, of the t-th entry of the upper triangle of a
// k × k matrix in row order: (0,0), (0,1), …, (0,k−1), (1,1), …
LNN_HD void upper_pair(int t, int k, int& p, int& q) {
  p = 0;
  while (t >= k - p) {
    t -= k - p;
    ++p;
  }
  q = p + t;
}

}  // namespace lnn::core
