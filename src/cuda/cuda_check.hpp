// Checked CUDA runtime, cuBLAS and cuSOLVER calls: a failure throws BackendError (or
// OutOfMemory) naming the call, the file and line, and the library's message.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cusolverDn.h>

#include <cstdlib>
#include <cstring>
#include <source_location>
#include <string>

#include "lnn/errors.hpp"

namespace lnn::cuda {

inline std::string where(const std::source_location& loc) {
  std::string file = loc.file_name();
  const std::size_t slash = file.find_last_of('/');
  if (slash != std::string::npos) file = file.substr(slash + 1);
  return file + ":" + std::to_string(loc.line());
}

// LNN_CUDA_SYNC=1 in the environment: the backend waits for every kernel and
// cuBLAS call as it is launched and names the one that failed (for finding a
// faulting kernel; slow). Read once per process.
inline bool sync_launches() {
  static const bool on = [] {
    const char* v = std::getenv("LNN_CUDA_SYNC");
    return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
  }();
  return on;
}

inline void check(cudaError_t err, const char* what,
                  std::source_location loc = std::source_location::current()) {
  if (err == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next call is not blamed
  const std::string msg = std::string("CUDA: ") + what + " failed at " + where(loc) + ": " +
                          cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
  if (err == cudaErrorMemoryAllocation) throw OutOfMemory(msg);
  throw BackendError(msg);
}

inline const char* cublas_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
      return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    default:
      return "unknown cuBLAS status";
  }
}

inline void check(cublasStatus_t s, const char* what,
                  std::source_location loc = std::source_location::current()) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  const std::string msg =
      std::string("cuBLAS: ") + what + " failed at " + where(loc) + ": " + cublas_name(s);
  if (s == CUBLAS_STATUS_ALLOC_FAILED) throw OutOfMemory(msg);
  throw BackendError(msg);
}

inline const char* cusolver_name(cusolverStatus_t s) {
  switch (s) {
    case CUSOLVER_STATUS_SUCCESS:
      return "CUSOLVER_STATUS_SUCCESS";
    case CUSOLVER_STATUS_NOT_INITIALIZED:
      return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED:
      return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE:
      return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH:
      return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_EXECUTION_FAILED:
      return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR:
      return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_NOT_SUPPORTED:
      return "CUSOLVER_STATUS_NOT_SUPPORTED";
    default:
      return "unknown cuSOLVER status";
  }
}

inline void check(cusolverStatus_t s, const char* what,
                  std::source_location loc = std::source_location::current()) {
  if (s == CUSOLVER_STATUS_SUCCESS) return;
  const std::string msg =
      std::string("cuSOLVER: ") + what + " failed at " + where(loc) + ": " + cusolver_name(s);
  if (s == CUSOLVER_STATUS_ALLOC_FAILED) throw OutOfMemory(msg);
  throw BackendError(msg);
}

}  // namespace lnn::cuda
