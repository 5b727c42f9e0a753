// Names of the public enums, and their parsers: every to_string and parse_*
// of include/lnn/*.hpp, over the tables of src/common/enum_names.hpp.
#include <string>
#include <string_view>

#include "common/enum_names.hpp"
#include "lnn/dataset.hpp"
#include "lnn/engine.hpp"
#include "lnn/errors.hpp"
#include "lnn/integrate.hpp"
#include "lnn/model.hpp"
#include "lnn/optimizer.hpp"
#include "lnn/solve.hpp"

namespace lnn LNN_CXX_API {

using enum_names::name_of;
using enum_names::parse;

std::string_view to_string(Activation a) { return name_of(enum_names::kActivations, a); }
std::string_view to_string(Embedding e) { return name_of(enum_names::kEmbeddings, e); }
std::string_view to_string(Init i) { return name_of(enum_names::kInits, i); }
std::string_view to_string(SolveMethod m) { return name_of(enum_names::kSolveMethods, m); }
std::string_view to_string(SolveStatus s) { return name_of(enum_names::kSolveStatuses, s); }
std::string_view to_string(Device d) { return name_of(enum_names::kDevices, d); }
std::string_view to_string(Precision p) { return name_of(enum_names::kPrecisions, p); }
std::string_view to_string(Loss l) { return name_of(enum_names::kLosses, l); }
std::string_view to_string(Integrator m) { return name_of(enum_names::kIntegrators, m); }
std::string_view to_string(TrajectoryStatus s) {
  return name_of(enum_names::kTrajectoryStatuses, s);
}
std::string_view to_string(Schedule s) { return name_of(enum_names::kSchedules, s); }
std::string_view to_string(DatasetKind k) { return name_of(enum_names::kDatasetKinds, k); }

Activation parse_activation(std::string_view name) {
  if (name == "relu") {
    throw InvalidArgument(
        "activation 'relu' is refused: its second derivative is zero, so the mass matrix "
        "∂²L/∂q̇² would vanish and the Euler–Lagrange solve is impossible; use softplus, "
        "silu, gelu, tanh or xtanh_half");
  }
  return parse(enum_names::kActivations, name, "activation");
}
Embedding parse_embedding(std::string_view name) {
  return parse(enum_names::kEmbeddings, name, "embedding");
}
Init parse_init(std::string_view name) { return parse(enum_names::kInits, name, "initialization"); }
SolveMethod parse_solve_method(std::string_view name) {
  return parse(enum_names::kSolveMethods, name, "solve method");
}
Device parse_device(std::string_view name) { return parse(enum_names::kDevices, name, "device"); }
Precision parse_precision(std::string_view name) {
  return parse(enum_names::kPrecisions, name, "precision");
}
Loss parse_loss(std::string_view name) { return parse(enum_names::kLosses, name, "loss"); }
Integrator parse_integrator(std::string_view name) {
  return parse(enum_names::kIntegrators, name, "integrator");
}
Schedule parse_schedule(std::string_view name) {
  return parse(enum_names::kSchedules, name, "schedule");
}
DatasetKind parse_dataset_kind(std::string_view name) {
  return parse(enum_names::kDatasetKinds, name, "dataset kind");
}

}  // namespace lnn
