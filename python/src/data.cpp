// lnn.Dataset over lnn::Dataset (include/lnn/dataset.hpp): read and write
// the HDF5 files of docs/file-formats.md, build one from NumPy arrays (a
// catalogue system's or the user's own, Dataset::user_system), and generate
// one from a catalogue system (include/lnn/generate.hpp). The arrays are
// checked here for shape and dtype, naming the argument; everything else
// (consistency, the catalogue) is Dataset::validate's.
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "lnn/dataset.hpp"
#include "lnn/errors.hpp"
#include "lnn/generate.hpp"
#include "lnn/integrate.hpp"

namespace lnn::python {
namespace {

using namespace nb::literals;
using Intervals = std::vector<std::pair<double, double>>;

std::string shape_of(std::initializer_list<std::size_t> dims) {
  std::string s = "(";
  std::size_t i = 0;
  for (std::size_t d : dims) s += (i++ ? ", " : "") + std::to_string(d);
  return s + (dims.size() == 1 ? ",)" : ")");
}

// A float64 input's values, copied (a Dataset owns its arrays).
std::vector<double> f64_values(const Input& in) {
  if (in.dtype() != Dtype::f64) {
    throw nb::type_error((std::string(in.name()) + " has dtype " + dtype_name(in.dtype()) +
                          "; a Dataset holds float64 arrays")
                             .c_str());
  }
  const std::span<const double> v = in.span<double>();
  return {v.begin(), v.end()};
}

// A read-only NumPy view of `values` with `shape`, kept alive by `owner`
// (the Python Dataset); None when the field is empty (absent).
template <class T>
nb::object view(nb::handle owner, const std::vector<T>& values, std::vector<std::size_t> shape) {
  if (values.empty()) return nb::none();
  return nb::cast(nb::ndarray<nb::numpy, const T>(values.data(), shape.size(), shape.data(), owner),
                  nb::rv_policy::reference);
}

// The same for a float64 field, typed as such in the stubs.
std::optional<Values> float_view(nb::handle owner, const std::vector<double>& values,
                                 std::vector<std::size_t> shape) {
  if (values.empty()) return std::nullopt;
  return Values{view(owner, values, std::move(shape))};
}

// Points as the arrays are shaped: (P,) for a derivative set, (T, S) for a
// trajectory set, then `tail`.
std::vector<std::size_t> point_shape(const Dataset& d, std::initializer_list<std::size_t> tail) {
  std::vector<std::size_t> s;
  if (d.kind == DatasetKind::trajectories) {
    s = {d.trajectories, d.times.size()};
  } else {
    s = {d.points()};
  }
  s.insert(s.end(), tail.begin(), tail.end());
  return s;
}

std::vector<std::uint8_t> flags_arg(const std::optional<std::vector<bool>>& given,
                                    const std::vector<std::uint8_t>& fallback, int n,
                                    const char* name) {
  if (!given) return fallback;
  if (given->size() != static_cast<std::size_t>(n)) {
    throw nb::value_error((std::string(name) + " must have n = " + std::to_string(n) +
                           " flags, got " + std::to_string(given->size()))
                              .c_str());
  }
  std::vector<std::uint8_t> f;
  for (bool b : *given) f.push_back(b ? 1 : 0);
  return f;
}

// Dataset(states, accelerations, system=..., ...): the arrays of a derivative
// set (P, 2n) / (P, n), or with `times` those of a trajectory set
// (T, S, 2n) / (T, S, n).
Dataset from_arrays(ArrayArg states_obj, ArrayArg acc_obj, const std::string& system,
                    const std::optional<ArrayArg>& times_obj,
                    const std::optional<ArrayArg>& energies_obj,
                    const std::optional<ArrayArg>& tau_obj,
                    const std::optional<ArrayArg>& states_true_obj,
                    const std::optional<ArrayArg>& status_obj,
                    const std::optional<std::map<std::string, double>>& parameters,
                    const std::optional<std::vector<bool>>& angles,
                    const std::optional<std::vector<bool>>& actuated,
                    std::optional<double> potential_scale, std::optional<bool> user_system,
                    std::uint64_t seed, const std::string& generator) {
  Dataset d;
  d.system = system;
  d.seed = seed;
  d.generator = generator;
  const std::vector<std::string> catalogue = system_names();
  const bool known = std::find(catalogue.begin(), catalogue.end(), system) != catalogue.end();
  d.user_system = user_system.value_or(!known);

  const Input states(states_obj, "states");
  const bool trajectories = times_obj && !times_obj->object.is_none();
  const std::size_t lead = trajectories ? 2 : 1;
  if (states.ndim() != lead + 1 || states.shape(lead) % 2 != 0 || states.shape(lead) == 0) {
    throw nb::value_error(
        (std::string("states must have shape ") +
         (trajectories ? "(T, S, 2n) (a trajectory set: times given)" : "(P, 2n)") +
         " with rows [q_1..q_n, qdot_1..qdot_n]" + ", got ndim " + std::to_string(states.ndim()) +
         (states.ndim() > 0 ? ", last dimension " + std::to_string(states.shape(states.ndim() - 1))
                            : std::string()))
            .c_str());
  }
  const int n = static_cast<int>(states.shape(lead) / 2);
  const auto un = static_cast<std::size_t>(n);
  d.n = n;
  d.states = f64_values(states);

  if (d.user_system) {
    d.angles = flags_arg(angles, std::vector<std::uint8_t>(un, 0), n, "angles");
    d.actuated = flags_arg(actuated, std::vector<std::uint8_t>(un, 0), n, "actuated");
    if (parameters) d.parameters.assign(parameters->begin(), parameters->end());
    d.potential_scale = potential_scale.value_or(1.0);
  } else {
    // A catalogue system's: its parameters (the defaults changed by
    // `parameters`), flags and potential scale, as start_dataset gives them.
    const std::unique_ptr<System> sys = make_system(system, parameters.value_or(
                                                                std::map<std::string, double>{}));
    const Dataset start = start_dataset(*sys, DatasetKind::derivatives, seed);
    d.parameters = start.parameters;
    d.angles = flags_arg(angles, start.angles, n, "angles");
    d.actuated = flags_arg(actuated, start.actuated, n, "actuated");
    d.potential_scale = potential_scale.value_or(start.potential_scale);
  }

  std::size_t status_count = 0;
  std::size_t T = 0, S = 0, P = 0;
  if (trajectories) {
    d.kind = DatasetKind::trajectories;
    T = states.shape(0);
    S = states.shape(1);
    const Input times(*times_obj, "times");
    times.require_shape({S}, "(S,) = " + shape_of({S}) + " (states is (T, S, 2n))");
    d.times = f64_values(times);
    d.trajectories = T;
    status_count = T;
  } else {
    d.kind = DatasetKind::derivatives;
    P = states.shape(0);
    status_count = P;
  }
  auto dims = [&](std::size_t tail) -> std::vector<std::size_t> {
    std::vector<std::size_t> v = trajectories ? std::vector<std::size_t>{T, S}
                                              : std::vector<std::size_t>{P};
    if (tail) v.push_back(tail);
    return v;
  };
  auto check = [&](const Input& in, std::size_t tail, const char* meaning) {
    const std::vector<std::size_t> want = dims(tail);
    bool ok = in.ndim() == want.size();
    for (std::size_t i = 0; ok && i < want.size(); ++i) ok = in.shape(i) == want[i];
    if (!ok) {
      std::string w = "(";
      for (std::size_t i = 0; i < want.size(); ++i) w += (i ? ", " : "") + std::to_string(want[i]);
      w += want.size() == 1 ? ",)" : ")";
      std::string got = "(";
      for (std::size_t i = 0; i < in.ndim(); ++i) got += (i ? ", " : "") + std::to_string(in.shape(i));
      got += in.ndim() == 1 ? ",)" : ")";
      throw nb::value_error((std::string(in.name()) + " must have shape " + meaning + " = " + w +
                             " to match states, got " + got)
                                .c_str());
    }
  };
  const char* rows_n = trajectories ? "(T, S, n)" : "(P, n)";
  const char* rows_2n = trajectories ? "(T, S, 2n)" : "(P, 2n)";
  const char* rows_1 = trajectories ? "(T, S)" : "(P,)";
  {
    const Input acc(acc_obj, "accelerations");
    check(acc, un, rows_n);
    d.accelerations = f64_values(acc);
  }
  if (energies_obj && !energies_obj->object.is_none()) {
    const Input e(*energies_obj, "energies");
    check(e, 0, rows_1);
    d.energies = f64_values(e);
  }
  if (tau_obj && !tau_obj->object.is_none()) {
    const Input t(*tau_obj, "tau");
    check(t, un, rows_n);
    d.tau = f64_values(t);
  }
  if (states_true_obj && !states_true_obj->object.is_none()) {
    const Input t(*states_true_obj, "states_true");
    check(t, 2 * un, rows_2n);
    d.states_true = f64_values(t);
  }
  if (status_obj && !status_obj->object.is_none()) {
    nb::ndarray<nb::ro, const std::int8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu> st;
    if (!nb::try_cast(status_obj->object, st, false)) {
      throw nb::type_error(
          "status must be a C-contiguous 1-D int8 array (0 = ok; SolveStatus or TrajectoryStatus "
          "codes)");
    }
    if (st.shape(0) != status_count) {
      throw nb::value_error(("status must have shape (" + std::to_string(status_count) + ",) (" +
                             (trajectories ? "one per trajectory" : "one per point") + "), got (" +
                             std::to_string(st.shape(0)) + ",)")
                                .c_str());
    }
    d.status.assign(st.data(), st.data() + st.shape(0));
  } else {
    d.status.assign(status_count, 0);
  }
  d.validate();
  return d;
}

StateBox box_arg(const std::optional<Intervals>& q, const std::optional<Intervals>& qdot) {
  StateBox box;
  if (q) box.q = *q;
  if (qdot) box.qdot = *qdot;
  return box;
}

}  // namespace

void bind_data(nb::module_& m) {
  nb::class_<Dataset>(m, "Dataset",
                      "States with their accelerations (and energies, forces, times) of a "
                      "catalogue system or your own: lnn::Dataset (docs/python.md, \"Datasets\").")
      .def("__init__",
           [](Dataset* self, ArrayArg states, ArrayArg accelerations, const std::string& system,
              const std::optional<ArrayArg>& times, const std::optional<ArrayArg>& energies,
              const std::optional<ArrayArg>& tau, const std::optional<ArrayArg>& states_true,
              const std::optional<ArrayArg>& status,
              const std::optional<std::map<std::string, double>>& parameters,
              const std::optional<std::vector<bool>>& angles,
              const std::optional<std::vector<bool>>& actuated,
              std::optional<double> potential_scale, std::optional<bool> user_system,
              std::uint64_t seed, const std::string& generator) {
             new (self) Dataset(from_arrays(states, accelerations, system, times, energies, tau,
                                            states_true, status, parameters, angles, actuated,
                                            potential_scale, user_system, seed, generator));
           },
           "states"_a, "accelerations"_a, nb::kw_only(), "system"_a, "times"_a = nb::none(),
           "energies"_a = nb::none(), "tau"_a = nb::none(), "states_true"_a = nb::none(),
           "status"_a = nb::none(), "parameters"_a = nb::none(), "angles"_a = nb::none(),
           "actuated"_a = nb::none(), "potential_scale"_a = nb::none(),
           "user_system"_a = nb::none(), "seed"_a = 0, "generator"_a = "{}",
           "A dataset from float64 arrays (copied): a derivative set from states (P, 2n) and "
           "accelerations (P, n), or with times (S,) a trajectory set from states (T, S, 2n) and "
           "accelerations (T, S, n). energies (P,) / (T, S), tau and states_true are optional "
           "(energies are required for a catalogue system); status (int8, per point or per "
           "trajectory) defaults to 0 (ok). A `system` not in lnn.systems() is your own "
           "(user_system): angles and actuated default to all False, potential_scale to 1.")
      .def_static(
          "load",
          [](const std::string& path) {
            nb::gil_scoped_release release;
            return load_dataset(path);
          },
          "path"_a, "Reads a dataset file (HDF5, docs/file-formats.md); lnn.FileError names it.")
      .def(
          "save",
          [](const Dataset& d, const std::string& path) {
            nb::gil_scoped_release release;
            save_dataset(d, path);
          },
          "path"_a, "Writes the dataset (HDF5, atomically).")
      .def_prop_ro("kind", [](const Dataset& d) { return std::string(to_string(d.kind)); },
                   "'derivatives' or 'trajectories'")
      .def_ro("system", &Dataset::system)
      .def_ro("user_system", &Dataset::user_system, "the system is not the catalogue's")
      .def_ro("n", &Dataset::n)
      .def_prop_ro("parameters",
                   [](const Dataset& d) {
                     return std::map<std::string, double>(d.parameters.begin(),
                                                          d.parameters.end());
                   })
      .def_prop_ro("angles",
                   [](const Dataset& d) { return std::vector<bool>(d.angles.begin(), d.angles.end()); })
      .def_prop_ro("actuated",
                   [](const Dataset& d) {
                     return std::vector<bool>(d.actuated.begin(), d.actuated.end());
                   })
      .def_ro("potential_scale", &Dataset::potential_scale)
      .def_ro("seed", &Dataset::seed)
      .def_ro("generator", &Dataset::generator, "how the set was made (JSON)")
      .def_ro("trajectories", &Dataset::trajectories, "T (0 for a derivative set)")
      .def_prop_ro("points", &Dataset::points, "P (= T·S for a trajectory set)")
      .def_prop_ro(
          "times", [](nb::handle self) {
            const Dataset& d = nb::cast<const Dataset&>(self);
            return float_view(self, d.times, {d.times.size()});
          },
          "(S,) or None (read-only views of the dataset's memory, like every array field)")
      .def_prop_ro("states",
                   [](nb::handle self) {
                     const Dataset& d = nb::cast<const Dataset&>(self);
                     return float_view(self, d.states, point_shape(d, {2 * std::size_t(d.n)}));
                   },
                   "(P, 2n) or (T, S, 2n)")
      .def_prop_ro("states_true",
                   [](nb::handle self) {
                     const Dataset& d = nb::cast<const Dataset&>(self);
                     return float_view(self, d.states_true, point_shape(d, {2 * std::size_t(d.n)}));
                   })
      .def_prop_ro("accelerations",
                   [](nb::handle self) {
                     const Dataset& d = nb::cast<const Dataset&>(self);
                     return float_view(self, d.accelerations, point_shape(d, {std::size_t(d.n)}));
                   },
                   "(P, n) or (T, S, n)")
      .def_prop_ro("energies",
                   [](nb::handle self) {
                     const Dataset& d = nb::cast<const Dataset&>(self);
                     return float_view(self, d.energies, point_shape(d, {}));
                   },
                   "(P,) or (T, S); None for a user system without them")
      .def_prop_ro("model_energies",
                   [](nb::handle self) {
                     const Dataset& d = nb::cast<const Dataset&>(self);
                     return float_view(self, d.model_energies, point_shape(d, {}));
                   })
      .def_prop_ro("tau",
                   [](nb::handle self) {
                     const Dataset& d = nb::cast<const Dataset&>(self);
                     return float_view(self, d.tau, point_shape(d, {std::size_t(d.n)}));
                   })
      .def_prop_ro("status",
                   [](nb::handle self) {
                     const Dataset& d = nb::cast<const Dataset&>(self);
                     return Statuses{view(self, d.status, {d.status.size()})};
                   },
                   "int8 per point (derivatives) or per trajectory; 0 = ok")
      .def_prop_ro("accepted",
                   [](nb::handle self) {
                     const Dataset& d = nb::cast<const Dataset&>(self);
                     return view(self, d.accepted, {d.accepted.size()});
                   })
      .def_prop_ro("rejected",
                   [](nb::handle self) {
                     const Dataset& d = nb::cast<const Dataset&>(self);
                     return view(self, d.rejected, {d.rejected.size()});
                   })
      .def("__repr__", [](const Dataset& d) {
        return "Dataset(kind='" + std::string(to_string(d.kind)) + "', system='" + d.system +
               "', n=" + std::to_string(d.n) + ", points=" + std::to_string(d.points()) +
               (d.kind == DatasetKind::trajectories
                    ? ", trajectories=" + std::to_string(d.trajectories) +
                          ", times=" + std::to_string(d.times.size())
                    : std::string()) +
               (d.user_system ? ", user_system=True" : "") + ")";
      });

  m.def(
      "generate_derivatives",
      [](nb::handle system, std::size_t samples, std::uint64_t seed,
         const std::optional<Intervals>& box_q, const std::optional<Intervals>& box_qdot,
         double force_max) {
        std::unique_ptr<System> holder;
        const System& sys = system_arg(system, holder);
        DerivativeSetOptions o;
        o.samples = samples;
        o.seed = seed;
        o.box = box_arg(box_q, box_qdot);
        o.force_max = force_max;
        nb::gil_scoped_release release;
        return generate_derivatives(sys, o);
      },
      "system"_a, "samples"_a = 10000, nb::kw_only(), "seed"_a = 0, "box_q"_a = nb::none(),
      "box_qdot"_a = nb::none(), "force_max"_a = -1.0,
      "A derivative set of a catalogue system (lnn generate --kind derivatives): random states "
      "from its sampling or the box (one (lo, hi) for every coordinate, or n), exact q̈ and "
      "energies.");
  m.def(
      "generate_trajectories",
      [](nb::handle system, std::size_t trajectories, double t_end, double rate, double noise,
         std::uint64_t seed, const std::optional<Intervals>& box_q,
         const std::optional<Intervals>& box_qdot, double force_max, const std::string& integrator,
         double rtol, double atol, double dt) {
        std::unique_ptr<System> holder;
        const System& sys = system_arg(system, holder);
        TrajectorySetOptions o;
        o.trajectories = trajectories;
        o.t_end = t_end;
        o.rate = rate;
        o.noise = noise;
        o.seed = seed;
        o.box = box_arg(box_q, box_qdot);
        o.force_max = force_max;
        o.integrate.method = parse_integrator(integrator);
        o.integrate.rtol = rtol;
        o.integrate.atol = atol;
        o.integrate.dt = dt;
        nb::gil_scoped_release release;
        return generate_trajectories(sys, o);
      },
      "system"_a, "trajectories"_a = 100, nb::kw_only(), "t_end"_a = 10.0, "rate"_a = 10.0,
      "noise"_a = 0.0, "seed"_a = 0, "box_q"_a = nb::none(), "box_qdot"_a = nb::none(),
      "force_max"_a = -1.0, "integrator"_a = "dopri5", "rtol"_a = 1e-10, "atol"_a = 1e-10,
      "dt"_a = 1e-3,
      "A trajectory set of a catalogue system (lnn generate --kind trajectories): initial "
      "conditions integrated from t = 0 and sampled at k / rate.");
}

}  // namespace lnn::python
