#include "lnn/info.hpp"

#include <omp.h>

namespace LNN_CXX_API lnn {
std::string version() { return LNN_VERSION; }
int cpu_threads() { return omp_get_max_threads(); }
}  // namespace lnn
