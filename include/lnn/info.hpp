// What this build of liblnn contains and what it can use at run time.
#pragma once
#include "lnn/visibility.hpp"
#include <string>
#include <vector>

namespace lnn LNN_CXX_API {

struct GpuInfo {
  int index = 0;
  std::string name;
  int compute_major = 0, compute_minor = 0;
  double memory_gib = 0.0;
};

std::string version();
// Name of the CPU BLAS the library was built with (e.g. "OpenBLAS 0.3.21").
std::string blas_name();
// Threads the CPU backend uses (OpenMP for per-sample loops; BLAS its own).
int cpu_threads();
// The kernel set the CPU BLAS chose (OpenBLAS: its core name, e.g. "SkylakeX").
std::string blas_kernels();
// A faster OpenBLAS kernel set this CPU supports than the one chosen, or ""
// (OpenBLAS misidentifies some virtual CPUs and falls back to SSE3 kernels).
std::string blas_better_kernels();
bool cuda_compiled();
// Devices the CUDA runtime sees; empty with a reason when none is usable.
std::vector<GpuInfo> cuda_devices(std::string* why_none = nullptr);
// The CUDA versions this process runs with, e.g. "runtime 13.0, driver 13.0,
// cuBLAS 13.1.0" (the driver's part says when there is none); "" in a build
// without the CUDA backend.
std::string cuda_versions();

}  // namespace lnn
