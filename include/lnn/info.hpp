// What this build of liblnn contains and what it can use at run time.
#pragma once
#include <string>
#include <vector>

namespace lnn {

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
bool cuda_compiled();
// Devices the CUDA runtime sees; empty with a reason when none is usable.
std::vector<GpuInfo> cuda_devices(std::string* why_none = nullptr);

}  // namespace lnn
