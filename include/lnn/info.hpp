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
// The kernel set the CPU BLAS chose (OpenBLAS: its core name, e.g. "SkylakeX").
std::string blas_kernels();
// A faster OpenBLAS kernel set this CPU supports than the one chosen, or ""
// (OpenBLAS misidentifies some virtual CPUs and falls back to SSE3 kernels).
std::string blas_better_kernels();
// For programs, first thing in main(): sets what the BLAS and OpenMP
// runtimes read only when they are loaded, and re-executes the program once
// if it set anything (returns normally otherwise, or if exec fails):
//   OPENBLAS_CORETYPE = blas_better_kernels(), when that is not empty and the
//     variable is unset;
//   GOMP_SPINCOUNT = 1000 (libgomp: spin about a thousand rounds at a barrier,
//     then sleep; its default spins 300,000), when neither it nor
//     OMP_WAIT_POLICY is set. With the cores shared with other work the long
//     spin wastes the time slices the waiting threads need (README,
//     "Performance"; bench/loaded.sh).
// Set LNN_NO_REEXEC=1 (or the older LNN_NO_BLAS_REEXEC=1) to disable.
void prepare_process(char** argv);
bool cuda_compiled();
// Devices the CUDA runtime sees; empty with a reason when none is usable.
std::vector<GpuInfo> cuda_devices(std::string* why_none = nullptr);
// The CUDA versions this process runs with, e.g. "runtime 13.0, driver 13.0,
// cuBLAS 13.1.0" (the driver's part says when there is none); "" in a build
// without the CUDA backend.
std::string cuda_versions();

}  // namespace lnn
