// The GPU's cuBLAS SGEMM rate (FP32, no TF32): the yardstick the CUDA
// benchmarks report their GFLOP/s against, measured in the same run.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <vector>

namespace {
// Pseudo-random values in [-1, 1) (a hash of the index): a GEMM on zeros runs
// faster than on data, so the yardstick would flatter it.
__global__ void fill_random(float* x, std::size_t count, unsigned seed) {
  const std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  unsigned h = static_cast<unsigned>(i) * 2654435761u ^ seed;
  h ^= h >> 16;
  h *= 2246822519u;
  h ^= h >> 13;
  x[i] = static_cast<float>(h >> 8) * (2.0f / 16777216.0f) - 1.0f;
}
}  // namespace

double cublas_sgemm_tflops(std::string* why_not) {
  const int N = 8192;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    if (why_not) *why_not = "no usable GPU";
    return 0.0;
  }
  float *A = nullptr, *B = nullptr, *C = nullptr;
  const std::size_t bytes = sizeof(float) * N * static_cast<std::size_t>(N);
  if (cudaMalloc(&A, bytes) != cudaSuccess || cudaMalloc(&B, bytes) != cudaSuccess ||
      cudaMalloc(&C, bytes) != cudaSuccess) {
    cudaFree(A), cudaFree(B), cudaFree(C);
    cudaGetLastError();
    if (why_not) *why_not = "cudaMalloc failed";
    return 0.0;
  }
  const std::size_t elems = static_cast<std::size_t>(N) * N;
  fill_random<<<static_cast<unsigned>((elems + 255) / 256), 256>>>(A, elems, 1u);
  fill_random<<<static_cast<unsigned>((elems + 255) / 256), 256>>>(B, elems, 2u);
  cublasHandle_t h = nullptr;
  double best = 0.0;
  if (cublasCreate(&h) == CUBLAS_STATUS_SUCCESS) {
    cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
    cudaEvent_t t0, t1;
    cudaEventCreate(&t0);
    cudaEventCreate(&t1);
    const float one = 1.0f, zero = 0.0f;
    std::vector<double> rates;
    for (int r = 0; r < 6; ++r) {
      cudaEventRecord(t0);
      cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, N, N, N, &one, A, N, B, N, &zero, C, N);
      cudaEventRecord(t1);
      cudaEventSynchronize(t1);
      float ms = 0.0f;
      cudaEventElapsedTime(&ms, t0, t1);
      if (r > 0) rates.push_back(2.0 * N * double(N) * N / (ms * 1e-3) / 1e12);  // r = 0 warms up
    }
    std::sort(rates.begin(), rates.end());
    best = rates[rates.size() / 2];  // the median
    cudaEventDestroy(t0);
    cudaEventDestroy(t1);
    cublasDestroy(h);
  } else if (why_not) {
    *why_not = "cublasCreate failed";
  }
  cudaFree(A), cudaFree(B), cudaFree(C);
  return best;
}
