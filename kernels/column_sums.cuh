// Column sums over a batch on the GPU (bias gradients, the loss totals):
// out[j] += Σ_{r<rows} X[r·ld + j], deterministic and parallel over rows and
// columns, in core/reduce_order.hpp's order (kernels/column_sums.cu).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace lnn::kernels {

// Scratch values of V that column_sums needs for `rows` × `cols`.
std::size_t column_sums_scratch(std::int64_t rows, int cols);

// Enqueues the two passes on `stream`; scratch holds column_sums_scratch()
// values of V. U, V: (float, float), (double, double), (float, double).
template <class U, class V>
void column_sums(std::int64_t rows, int cols, const U* X, std::size_t ld, V* out, V* scratch,
                 cudaStream_t stream);

}  // namespace lnn::kernels
