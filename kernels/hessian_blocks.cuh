// The Hessian blocks of a chunk, every layer in one launch
// (kernels/hessian_blocks.cu; the per-sample code and its CPU twin are
// src/core/hessian_blocks.hpp).
#pragma once
#include <cuda_runtime.h>

#include "core/hessian_blocks.hpp"

namespace lnn::kernels {

// H of every sample of `a` (K: the compile-time k, or 0 for k at run time).
template <class T, int K>
void hessian_blocks(const core::HessianBlocksArgs<T>& a, cudaStream_t stream);

}  // namespace lnn::kernels
