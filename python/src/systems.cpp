// lnn.systems() and lnn.System over the catalogue of analytic systems
// (include/lnn/systems.hpp): exact q̈, L and energies in double, the ground
// truth to compare a learned model with.
#include "lnn/systems.hpp"

#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"

namespace lnn::python {
namespace {

using namespace nb::literals;

// (B, 2n) float64 states of a system (its functions take double only).
std::size_t system_states(const PySystem& self, const Input& states) {
  if (states.dtype() != Dtype::f64) {
    throw nb::type_error((std::string(states.name()) + " has dtype " + dtype_name(states.dtype()) +
                          "; a System evaluates in float64 and takes float64 arrays")
                             .c_str());
  }
  return require_states(states, self.system->dof());
}

std::tuple<Values, Statuses> accelerations(const PySystem& self, ArrayArg states_obj,
                                           const std::optional<ArrayArg>& tau_obj,
                                           const std::string& solver) {
  const Input states(states_obj, "states");
  const std::size_t B = system_states(self, states);
  const auto n = static_cast<std::size_t>(self.system->dof());
  std::optional<Input> tau;
  if (tau_obj) {
    tau.emplace(*tau_obj, "tau");
    tau->require_same_dtype(states);
    tau->require_shape({B, n}, "(B, n) = (" + std::to_string(B) + ", " + std::to_string(n) + ")");
  }
  SolveOptions solve;
  solve.method = parse_solve_method(solver);
  Output<double> acc({B, n});
  Output<std::int8_t> status({B});
  {
    nb::gil_scoped_release release;
    const std::span<std::int8_t> s = status.span();
    self.system->accelerations(states.span<double>(),
                               tau ? tau->span<double>() : std::span<const double>{}, acc.span(),
                               {reinterpret_cast<SolveStatus*>(s.data()), s.size()}, solve);
  }
  return {{acc.release()}, {status.release()}};
}

Values energy(const PySystem& self, ArrayArg states_obj) {
  const Input states(states_obj, "states");
  const std::size_t B = system_states(self, states);
  Output<double> E({B});
  {
    nb::gil_scoped_release release;
    self.system->energy(states.span<double>(), E.span());
  }
  return {E.release()};
}

Values lagrangian(const PySystem& self, ArrayArg states_obj) {
  const Input states(states_obj, "states");
  const std::size_t B = system_states(self, states);
  Output<double> L({B});
  {
    nb::gil_scoped_release release;
    self.system->lagrangian(states.span<double>(), L.span());
  }
  return {L.release()};
}

Values sample_states(const PySystem& self, std::size_t count, std::uint64_t seed,
                     std::uint64_t first) {
  Output<double> states({count, 2 * static_cast<std::size_t>(self.system->dof())});
  {
    nb::gil_scoped_release release;
    self.system->sample_states(seed, first, states.span());
  }
  return {states.release()};
}

}  // namespace

const System& system_arg(nb::handle arg, std::unique_ptr<System>& holder) {
  if (nb::isinstance<nb::str>(arg)) {
    holder = make_system(nb::cast<std::string>(arg));
    return *holder;
  }
  PySystem* s = nullptr;
  if (nb::try_cast(arg, s) && s != nullptr) return *s->system;
  throw nb::type_error(("system must be an lnn.System or a catalogue name (str), got " +
                        std::string(nb::inst_name(arg).c_str()))
                           .c_str());
}

void bind_systems(nb::module_& m) {
  m.def("systems", &system_names, "The catalogue's system names, in `lnn systems` order.");

  nb::class_<PySystem>(m, "System",
                       "An analytic system of the catalogue: exact q̈, L and energies (float64).")
      .def(
          "__init__",
          [](PySystem* self, const std::string& name, const std::map<std::string, double>& params) {
            new (self) PySystem{make_system(name, params)};
          },
          "name"_a, "params"_a = std::map<std::string, double>{},
          "The system `name` with its default parameters changed by `params`.")
      .def_prop_ro("name", [](const PySystem& s) { return s.system->name(); })
      .def_prop_ro("dof", [](const PySystem& s) { return s.system->dof(); })
      .def_prop_ro("description", [](const PySystem& s) { return s.system->info().description; })
      .def_prop_ro(
          "parameters",
          [](const PySystem& s) {
            std::map<std::string, double> values;
            for (const SystemParameter& p : s.system->info().parameters) {
              values[p.name] = p.value;
            }
            return values;
          },
          "name → value")
      .def_prop_ro("coordinates", [](const PySystem& s) { return s.system->info().coordinates; })
      .def_prop_ro(
          "angles",
          [](const PySystem& s) {
            std::vector<bool> flags;
            for (std::uint8_t a : s.system->info().angles) flags.push_back(a != 0);
            return flags;
          },
          "per coordinate: is it periodic")
      .def("accelerations", &accelerations, "states"_a, "tau"_a = nb::none(), "solver"_a = "lu",
           "Exact q̈ (B, n) and the per-sample status (B,) int8.")
      .def("energy", &energy, "states"_a, "E = T + V (B,)")
      .def("lagrangian", &lagrangian, "states"_a, "L (B,)")
      .def("sample_states", &sample_states, "count"_a, "seed"_a = 0, "first"_a = 0,
           "States first … first + count − 1 of the default sampling for `seed` (count, 2n).")
      .def("__repr__", [](const PySystem& s) { return "System('" + s.system->name() + "')"; });
}

}  // namespace lnn::python
