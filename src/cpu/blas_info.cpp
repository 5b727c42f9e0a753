#include "lnn/info.hpp"

namespace lnn {
std::string blas_name() { return LNN_BLAS_NAME; }
}  // namespace lnn
