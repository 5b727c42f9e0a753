#include "lnn/info.hpp"

#include <omp.h>

namespace lnn LNN_CXX_API {
std::string version() { return LNN_VERSION; }
int cpu_threads() { return omp_get_max_threads(); }
}  // namespace lnn
