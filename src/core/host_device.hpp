// LNN_HD marks per-sample math that both backends run: host+device under nvcc,
// nothing otherwise. Code in src/core is header-only, allocates nothing and
// does no I/O.
#pragma once

#if defined(__CUDACC__)
#define LNN_HD __host__ __device__ __forceinline__
#else
#define LNN_HD inline
#endif

// A per-sample loop body that the CPU backend calls from an OpenMP loop and
// the CUDA backend from a kernel (nvcc --extended-lambda).
#if defined(__CUDACC__)
#define LNN_LAMBDA __host__ __device__
#else
#define LNN_LAMBDA
#endif
