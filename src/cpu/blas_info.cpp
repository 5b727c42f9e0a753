// What CPU BLAS the library uses, and a guard against OpenBLAS choosing
// generic kernels on CPUs it fails to identify (seen on virtual machines
// that report a plain "Intel Xeon Processor": OpenBLAS 0.3.21 picks its
// Prescott SSE3 kernels, ~15 GFLOP/s instead of ~170 with AVX-512).
#include <cblas.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <string>
#include <vector>

#include "cpu/prepare_process.hpp"
#include "lnn/info.hpp"

namespace lnn LNN_CXX_API {

std::string blas_name() { return LNN_BLAS_NAME; }

std::string blas_kernels() {
#if defined(LNN_BLAS_OPENBLAS)
  const char* core = openblas_get_corename();
  return core ? core : "unknown";
#else
  return "unknown";
#endif
}

std::string blas_better_kernels() {
#if defined(LNN_BLAS_OPENBLAS) && (defined(__x86_64__) || defined(__i386__))
  std::string core = blas_kernels();
  for (char& c : core) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool has512 = core == "skylakex" || core == "cooperlake" || core == "sapphirerapids";
  const bool has2 = has512 || core == "haswell" || core == "zen";
  if (avx512 && !has512) return "SkylakeX";
  if (avx2 && !has2) return "Haswell";
#endif
  return "";
}

void prepare_process(char** argv) {
  if (argv == nullptr || std::getenv("LNN_NO_REEXEC") || std::getenv("LNN_NO_BLAS_REEXEC")) return;
  // OpenBLAS reads OPENBLAS_CORETYPE, libgomp its variables, once, when they
  // are loaded: what is set here takes effect in a new process image.
  std::vector<const char*> set;
  const std::string better = std::getenv("OPENBLAS_CORETYPE") ? "" : blas_better_kernels();
  if (!better.empty()) {
    setenv("OPENBLAS_CORETYPE", better.c_str(), 1);
    set.push_back("OPENBLAS_CORETYPE");
  }
  if (!std::getenv("GOMP_SPINCOUNT") && !std::getenv("OMP_WAIT_POLICY")) {
    setenv("GOMP_SPINCOUNT", "1000", 1);
    set.push_back("GOMP_SPINCOUNT");
  }
  if (set.empty()) return;
  execv("/proc/self/exe", argv);
  for (const char* name : set) unsetenv(name);  // exec failed: carry on with what we have
}

}  // namespace lnn
