// lnn.ModelSpec, lnn.Model over lnn::AnyModel and lnn.Engine over
// lnn::AnyEngine (include/lnn/any_engine.hpp). Every call goes to the C++
// API; the bindings only check the arrays, allocate the outputs and release
// the GIL around the engine's work.
#include <nanobind/operators.h>
#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/variant.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "lnn/any_engine.hpp"
#include "lnn/errors.hpp"

namespace lnn::python {
namespace {

using namespace nb::literals;

// One embedding name for every coordinate, or one per coordinate.
using EmbeddingArg = std::variant<std::string, std::vector<std::string>>;

ModelSpec make_spec(int n, std::vector<int> hidden, const std::string& activation,
                    const EmbeddingArg& embedding) {
  ModelSpec spec;
  spec.n = n;
  spec.hidden = std::move(hidden);
  spec.activation = parse_activation(activation);
  if (const auto* all = std::get_if<std::string>(&embedding)) {
    const Embedding e = parse_embedding(*all);
    if (e != Embedding::plain && n > 0) spec.embedding.assign(static_cast<std::size_t>(n), e);
  } else {
    for (const std::string& name : std::get<std::vector<std::string>>(embedding)) {
      spec.embedding.push_back(parse_embedding(name));
    }
  }
  spec.validate();
  // All plain is stored as an empty list, the form a model file reads back as
  // (lnn/model_file.hpp), so that equal specs compare equal.
  if (std::all_of(spec.embedding.begin(), spec.embedding.end(),
                  [](Embedding e) { return e == Embedding::plain; })) {
    spec.embedding.clear();
  }
  return spec;
}

std::vector<std::string> embedding_names(const ModelSpec& spec) {
  std::vector<std::string> names;
  for (int j = 0; j < spec.n; ++j) names.emplace_back(to_string(spec.embedding_of(j)));
  return names;
}

std::string spec_repr(const ModelSpec& spec) {
  std::string hidden;
  for (std::size_t i = 0; i < spec.hidden.size(); ++i) {
    hidden += (i ? ", " : "") + std::to_string(spec.hidden[i]);
  }
  std::string embedding;
  for (const std::string& e : embedding_names(spec)) {
    embedding += (embedding.empty() ? "'" : ", '") + e + "'";
  }
  return "ModelSpec(n=" + std::to_string(spec.n) + ", hidden=[" + hidden + "], activation='" +
         std::string(to_string(spec.activation)) + "', embedding=[" + embedding + "])";
}

AnyModel make_model(const ModelSpec& spec, const std::string& precision,
                    const std::optional<std::string>& init, std::uint64_t seed) {
  AnyModel model(spec, parse_precision(precision));
  if (init) model.initialize(parse_init(*init), seed);
  return model;
}

// An AnyEngine and the lock that keeps two Python threads from calling it
// at once (one engine owns one workspace; docs/cpp-api.md). The lock is
// taken after the GIL is released, never the other way round.
struct PyEngine {
  PyEngine(const AnyModel& model, const EngineOptions& options, std::optional<Precision> precision)
      : engine(model, options, precision) {}
  AnyEngine engine;
  std::mutex mutex;
};

// Calls f(U{}) for the array type U of `states`: double, or the engine's
// precision when that is float.
template <class F>
auto with_array_type(PyEngine& self, const Input& states, F&& f) -> decltype(f(double{})) {
  if (states.dtype() == Dtype::f64) return f(double{});
  if (self.engine.precision() == Precision::f32) return f(float{});
  throw nb::type_error((std::string(states.name()) +
                        " has dtype float32 but this engine evaluates in f64: pass float64 "
                        "arrays (float32 arrays go to f32 engines only)")
                           .c_str());
}

std::string nn_shape(std::size_t B, int n) {
  return "(B, n) = (" + std::to_string(B) + ", " + std::to_string(n) + ")";
}

// An optional (B, n) input of the same dtype as states.
std::optional<Input> optional_rows(const std::optional<ArrayArg>& arg, const char* name,
                                   const Input& states, std::size_t B, int n) {
  if (!arg) return std::nullopt;
  std::optional<Input> in(std::in_place, *arg, name);
  in->require_same_dtype(states);
  in->require_shape({B, static_cast<std::size_t>(n)}, nn_shape(B, n));
  return in;
}

template <class U>
std::span<const U> span_or_empty(const std::optional<Input>& in) {
  return in ? in->span<U>() : std::span<const U>{};
}

std::span<SolveStatus> status_span(Output<std::int8_t>& out) {
  // SolveStatus is an enum class over std::int8_t (lnn/solve.hpp).
  static_assert(sizeof(SolveStatus) == sizeof(std::int8_t));
  const std::span<std::int8_t> s = out.span();
  return {reinterpret_cast<SolveStatus*>(s.data()), s.size()};
}

using Accelerations = std::tuple<Values, Statuses>;
using AccelerationsPivots = std::tuple<Values, Statuses, Values>;

std::variant<Accelerations, AccelerationsPivots> accelerations(
    PyEngine& self, ArrayArg states_obj, const std::optional<ArrayArg>& tau_obj,
    bool return_pivot, const std::optional<ArrayArg>& out) {
  const Input states(states_obj, "states");
  const int n = self.engine.dof();
  const std::size_t B = require_states(states, n);
  const std::optional<Input> tau = optional_rows(tau_obj, "tau", states, B, n);
  return with_array_type(
      self, states, [&](auto tag) -> std::variant<Accelerations, AccelerationsPivots> {
        using U = decltype(tag);
        Output<U> acc({B, static_cast<std::size_t>(n)}, out, "out");
        Output<std::int8_t> status({B});
        Output<U> pivot({return_pivot ? B : 0});
        {
          nb::gil_scoped_release release;
          std::lock_guard lock(self.mutex);
          self.engine.accelerations<U>(states.span<U>(), span_or_empty<U>(tau), acc.span(),
                                       status_span(status), pivot.span());
        }
        if (return_pivot) {
          return AccelerationsPivots{{acc.release()}, {status.release()}, {pivot.release()}};
        }
        return Accelerations{{acc.release()}, {status.release()}};
      });
}

// The calls of one states argument and per-sample outputs: f(engine, states, outputs…).
Values lagrangian(PyEngine& self, ArrayArg states_obj, const std::optional<ArrayArg>& out) {
  const Input states(states_obj, "states");
  const std::size_t B = require_states(states, self.engine.dof());
  return with_array_type(self, states, [&](auto tag) -> Values {
    using U = decltype(tag);
    Output<U> L({B}, out, "out");
    {
      nb::gil_scoped_release release;
      std::lock_guard lock(self.mutex);
      self.engine.lagrangian<U>(states.span<U>(), L.span());
    }
    return Values{L.release()};
  });
}

Values energy(PyEngine& self, ArrayArg states_obj, const std::optional<ArrayArg>& out) {
  const Input states(states_obj, "states");
  const std::size_t B = require_states(states, self.engine.dof());
  return with_array_type(self, states, [&](auto tag) -> Values {
    using U = decltype(tag);
    Output<U> E({B}, out, "out");
    {
      nb::gil_scoped_release release;
      std::lock_guard lock(self.mutex);
      self.engine.energy<U>(states.span<U>(), E.span());
    }
    return Values{E.release()};
  });
}

std::tuple<Values, Values> gradient(PyEngine& self, ArrayArg states_obj) {
  const Input states(states_obj, "states");
  const int n = self.engine.dof();
  const std::size_t B = require_states(states, n);
  return with_array_type(self, states, [&](auto tag) -> std::tuple<Values, Values> {
    using U = decltype(tag);
    Output<U> L({B});
    Output<U> grad({B, 2 * static_cast<std::size_t>(n)});
    {
      nb::gil_scoped_release release;
      std::lock_guard lock(self.mutex);
      self.engine.gradient<U>(states.span<U>(), L.span(), grad.span());
    }
    return std::tuple<Values, Values>{{L.release()}, {grad.release()}};
  });
}

std::variant<Values, std::tuple<Values, Values>> hessian(PyEngine& self, ArrayArg states_obj,
                                                         bool return_gradient) {
  const Input states(states_obj, "states");
  const int n = self.engine.dof();
  const std::size_t B = require_states(states, n);
  const std::size_t w = 2 * static_cast<std::size_t>(n);
  return with_array_type(self, states,
                         [&](auto tag) -> std::variant<Values, std::tuple<Values, Values>> {
                           using U = decltype(tag);
                           Output<U> H({B, w, w});
                           Output<U> grad({B, return_gradient ? w : 0});
                           {
                             nb::gil_scoped_release release;
                             std::lock_guard lock(self.mutex);
                             self.engine.hessian<U>(states.span<U>(), H.span(), grad.span());
                           }
                           if (return_gradient)
                             return std::tuple<Values, Values>{{H.release()}, {grad.release()}};
                           return Values{H.release()};
                         });
}

std::tuple<Values, Values, Values> euler_lagrange_terms(PyEngine& self, ArrayArg states_obj) {
  const Input states(states_obj, "states");
  const int n = self.engine.dof();
  const std::size_t B = require_states(states, n);
  const auto nn = static_cast<std::size_t>(n);
  return with_array_type(self, states, [&](auto tag) -> std::tuple<Values, Values, Values> {
    using U = decltype(tag);
    Output<U> M({B, nn, nn});
    Output<U> Cv({B, nn});
    Output<U> f({B, nn});
    {
      nb::gil_scoped_release release;
      std::lock_guard lock(self.mutex);
      self.engine.euler_lagrange_terms<U>(states.span<U>(), M.span(), Cv.span(), f.span());
    }
    return std::tuple<Values, Values, Values>{{M.release()}, {Cv.release()}, {f.release()}};
  });
}

template <class U>
LossResult<double> as_double(const LossResult<U>& r) {
  LossResult<double> out;
  out.loss = r.loss;
  out.data_loss = r.data_loss;
  out.penalty = r.penalty;
  out.solve = r.solve;
  return out;
}

using LossGradient = std::tuple<LossResult<double>, Values, std::optional<Values>>;

LossGradient loss_gradient(PyEngine& self, ArrayArg states_obj, ArrayArg targets_obj,
                           const std::optional<ArrayArg>& tau_obj, const std::string& loss,
                           const std::optional<ArrayArg>& weights_obj, double mass_penalty,
                           bool input_grad) {
  const Input states(states_obj, "states");
  const int n = self.engine.dof();
  const std::size_t B = require_states(states, n);
  const Input targets(targets_obj, "targets");
  targets.require_same_dtype(states);
  targets.require_shape({B, static_cast<std::size_t>(n)}, nn_shape(B, n));
  const std::optional<Input> tau = optional_rows(tau_obj, "tau", states, B, n);
  std::optional<Input> weights;
  if (weights_obj) {
    weights.emplace(*weights_obj, "weights");
    weights->require_same_dtype(states);
    weights->require_shape({B}, "(B,) = (" + std::to_string(B) + ",)");
  }
  const Loss kind = parse_loss(loss);
  const std::size_t P = self.engine.spec().parameter_count();
  return with_array_type(self, states, [&](auto tag) -> LossGradient {
    using U = decltype(tag);
    LossOptions<U> options;
    options.kind = kind;
    options.weights = span_or_empty<U>(weights);
    options.mass_penalty = mass_penalty;
    Output<U> param_grad({P});
    Output<U> state_grad({input_grad ? B : 0, 2 * static_cast<std::size_t>(n)});
    LossResult<U> result;
    {
      nb::gil_scoped_release release;
      std::lock_guard lock(self.mutex);
      result =
          self.engine.loss_gradient<U>(states.span<U>(), span_or_empty<U>(tau), targets.span<U>(),
                                       options, param_grad.span(), state_grad.span());
    }
    std::optional<Values> grad_states;
    if (input_grad) grad_states = Values{state_grad.release()};
    return LossGradient{as_double(result), {param_grad.release()}, grad_states};
  });
}

using Vjp = std::tuple<Values, Values, Values>;

Vjp accelerations_vjp(PyEngine& self, ArrayArg states_obj, ArrayArg cotangent_obj,
                      const std::optional<ArrayArg>& tau_obj) {
  const Input states(states_obj, "states");
  const int n = self.engine.dof();
  const std::size_t B = require_states(states, n);
  const Input cotangent(cotangent_obj, "cotangent");
  cotangent.require_same_dtype(states);
  cotangent.require_shape({B, static_cast<std::size_t>(n)}, nn_shape(B, n));
  const std::optional<Input> tau = optional_rows(tau_obj, "tau", states, B, n);
  const std::size_t P = self.engine.spec().parameter_count();
  return with_array_type(self, states, [&](auto tag) -> Vjp {
    using U = decltype(tag);
    Output<U> param_grad({P});
    Output<U> state_grad({B, 2 * static_cast<std::size_t>(n)});
    Output<U> tau_grad({B, static_cast<std::size_t>(n)});
    {
      nb::gil_scoped_release release;
      std::lock_guard lock(self.mutex);
      self.engine.accelerations_vjp<U>(states.span<U>(), span_or_empty<U>(tau),
                                       cotangent.span<U>(), param_grad.span(), state_grad.span(),
                                       tau_grad.span());
    }
    return Vjp{{param_grad.release()}, {state_grad.release()}, {tau_grad.release()}};
  });
}

// The model's parameters as a writable 1-D NumPy view of its own memory.
nb::ndarray<nb::numpy, nb::ndim<1>, nb::c_contig> parameters_view(AnyModel& model) {
  return model.visit([](auto& typed) {
    using T = typename std::decay_t<decltype(typed.parameters())>::value_type;
    const std::span<T> p = typed.parameters();
    const std::size_t shape[1] = {p.size()};
    return nb::ndarray<nb::numpy, nb::ndim<1>, nb::c_contig>(p.data(), 1, shape, nb::handle(),
                                                             nullptr, nb::dtype<T>());
  });
}

// Exposed for the tests: the address lnn reads an input array at, through the
// same checks as every engine call (so a view is seen to be one).
std::uintptr_t input_address(ArrayArg array) {
  return reinterpret_cast<std::uintptr_t>(Input(array, "array").data());
}

}  // namespace

void bind_model_engine(nb::module_& m) {
  nb::enum_<SolveStatus>(m, "SolveStatus",
                         "Per-sample outcome of a mass-matrix solve (the values of the status "
                         "arrays: int8).",
                         nb::is_arithmetic())
      .value("ok", SolveStatus::ok)
      .value("not_positive_definite", SolveStatus::not_positive_definite)
      .value("singular", SolveStatus::singular);

  nb::class_<SolveReport>(m, "SolveReport", "Counts of per-sample solve outcomes in one call.")
      .def_ro("samples", &SolveReport::samples)
      .def_ro("not_positive_definite", &SolveReport::not_positive_definite)
      .def_ro("singular", &SolveReport::singular)
      .def_prop_ro("failures", &SolveReport::failures)
      .def("__repr__", [](const SolveReport& r) {
        return "SolveReport(samples=" + std::to_string(r.samples) +
               ", not_positive_definite=" + std::to_string(r.not_positive_definite) +
               ", singular=" + std::to_string(r.singular) + ")";
      });

  nb::class_<LossResult<double>>(m, "LossResult",
                                 "Engine.loss_gradient's loss (float(result) is .loss).")
      .def_ro("loss", &LossResult<double>::loss, "data_loss + penalty")
      .def_ro("data_loss", &LossResult<double>::data_loss,
              "weighted mean over the samples that solved")
      .def_ro("penalty", &LossResult<double>::penalty, "the mass-matrix penalty")
      .def_ro("solve", &LossResult<double>::solve)
      .def("__float__", [](const LossResult<double>& r) { return r.loss; })
      .def("__repr__", [](const LossResult<double>& r) {
        const auto text = [](double v) { return std::string(nb::repr(nb::float_(v)).c_str()); };
        return "LossResult(loss=" + text(r.loss) + ", data_loss=" + text(r.data_loss) +
               ", penalty=" + text(r.penalty) + ", failures=" + std::to_string(r.solve.failures()) +
               ")";
      });

  nb::class_<ModelSpec>(m, "ModelSpec",
                        "The architecture of a model: n degrees of freedom, hidden widths, "
                        "activation, embedding of each position coordinate.")
      .def(
          "__init__",
          [](ModelSpec* self, int n, std::vector<int> hidden, const std::string& activation,
             const EmbeddingArg& embedding) {
            new (self) ModelSpec(make_spec(n, std::move(hidden), activation, embedding));
          },
          "n"_a, "hidden"_a, "activation"_a = "softplus", "embedding"_a = "plain")
      .def_ro("n", &ModelSpec::n)
      .def_prop_ro("hidden", [](const ModelSpec& s) { return s.hidden; })
      .def_prop_ro("activation",
                   [](const ModelSpec& s) { return std::string(to_string(s.activation)); })
      .def_prop_ro("embedding", &embedding_names, "one name per position coordinate")
      .def_prop_ro("parameter_count", &ModelSpec::parameter_count)
      .def_prop_ro("input_width", &ModelSpec::input_width)
      .def(nb::self == nb::self)
      .def("__repr__", &spec_repr);

  nb::class_<AnyModel>(
      m, "Model", "A model's parameters in float32 ('f32') or float64 ('f64') (lnn::AnyModel).")
      .def(
          "__init__",
          [](AnyModel* self, const ModelSpec& spec, const std::string& precision,
             const std::optional<std::string>& init,
             std::uint64_t seed) { new (self) AnyModel(make_model(spec, precision, init, seed)); },
          "spec"_a, nb::kw_only(), "precision"_a = "f32", "init"_a.none() = "lnn", "seed"_a = 0,
          "A model of `spec` initialized by `init` (lnn, xavier, he, convex; None: zeros) "
          "with `seed`, as `lnn init` does.")
      .def(
          "__init__",
          [](AnyModel* self, int n, std::vector<int> hidden, const std::string& activation,
             const EmbeddingArg& embedding, const std::string& precision,
             const std::optional<std::string>& init, std::uint64_t seed) {
            new (self) AnyModel(make_model(make_spec(n, std::move(hidden), activation, embedding),
                                           precision, init, seed));
          },
          nb::kw_only(), "n"_a, "hidden"_a, "activation"_a = "softplus", "embedding"_a = "plain",
          "precision"_a = "f32", "init"_a.none() = "lnn", "seed"_a = 0)
      .def_static(
          "load", [](const std::filesystem::path& path) { return AnyModel::load(path.string()); },
          "path"_a, nb::call_guard<nb::gil_scoped_release>(),
          "The model stored in `path` (safetensors), in its stored precision.")
      .def(
          "save",
          [](const AnyModel& model, const std::filesystem::path& path,
             const std::map<std::string, std::string>& metadata) {
            model.save(path.string(), metadata);
          },
          "path"_a, "metadata"_a = std::map<std::string, std::string>{},
          nb::call_guard<nb::gil_scoped_release>(),
          "Writes the model atomically; `metadata` keys must not start with 'lnn.'.")
      .def(
          "initialize",
          [](AnyModel& model, const std::string& init, std::uint64_t seed) {
            model.initialize(parse_init(init), seed);
          },
          "init"_a = "lnn", "seed"_a = 0,
          "Draws the parameters anew in place (engines in the other precision need "
          "refresh_parameters()).")
      .def(
          "to",
          [](const AnyModel& model, const std::string& precision) {
            return model.to(parse_precision(precision));
          },
          "precision"_a, "A copy of the model in `precision` ('f32' or 'f64').")
      .def_prop_ro("spec", &AnyModel::spec)
      .def_prop_ro("precision",
                   [](const AnyModel& model) { return std::string(to_string(model.precision())); })
      .def_prop_ro("parameter_count", &AnyModel::parameter_count)
      .def_prop_ro("parameters", &parameters_view, nb::rv_policy::reference_internal,
                   "The parameters as a writable NumPy view of the model's own memory "
                   "(layout: docs/file-formats.md).")
      .def("__repr__", [](const AnyModel& model) {
        return "Model(" + spec_repr(model.spec()) + ", precision='" +
               std::string(to_string(model.precision())) + "')";
      });

  nb::class_<PyEngine>(m, "Engine",
                       "Batched evaluation of a model (lnn::AnyEngine) on a device, in a "
                       "precision.")
      .def(
          "__init__",
          [](PyEngine* self, const AnyModel& model, const std::string& device,
             const std::optional<std::string>& precision, const std::string& solver,
             std::optional<int> chunk, double damping, double rcond, bool tf32, bool tf32x3,
             bool cache_parameters) {
            EngineOptions options;
            options.device = parse_device(device);
            options.solve.method = parse_solve_method(solver);
            options.solve.damping = damping;
            options.solve.rcond = rcond;
            if (chunk) options.chunk = *chunk;
            options.tf32 = tf32;
            options.tf32x3 = tf32x3;
            options.cache_parameters = cache_parameters;
            std::optional<Precision> p;
            if (precision) p = parse_precision(*precision);
            new (self) PyEngine(model, options, p);
          },
          "model"_a, nb::kw_only(), "device"_a = "cpu", "precision"_a = nb::none(),
          "solver"_a = "lu", "chunk"_a = nb::none(), "damping"_a = 1e-6, "rcond"_a = 0.0,
          "tf32"_a = false, "tf32x3"_a = false, "cache_parameters"_a = false,
          nb::keep_alive<1, 2>(),
          "An engine evaluating `model` (kept alive by the engine) in `precision` (default: "
          "the model's).")
      .def_prop_ro("precision",
                   [](PyEngine& e) { return std::string(to_string(e.engine.precision())); })
      .def_prop_ro("device",
                   [](PyEngine& e) { return std::string(to_string(e.engine.options().device)); })
      .def_prop_ro("spec", [](PyEngine& e) { return e.engine.spec(); })
      .def_prop_ro("dof", [](PyEngine& e) { return e.engine.dof(); })
      .def_prop_ro("epsilon", [](PyEngine& e) { return e.engine.epsilon(); })
      .def(
          "refresh_parameters",
          [](PyEngine& e) {
            nb::gil_scoped_release release;
            std::lock_guard lock(e.mutex);
            e.engine.refresh_parameters();
          },
          "After the model's parameters changed: an engine in the other precision converts "
          "them again; a caching CUDA engine uploads them again.")
      // Two overloads each of accelerations and hessian, so that the stubs
      // give the common call (no flag) its exact tuple type.
      .def(
          "accelerations",
          [](PyEngine& self, ArrayArg states, const std::optional<ArrayArg>& tau,
             const std::optional<ArrayArg>& out) {
            return std::get<Accelerations>(accelerations(self, states, tau, false, out));
          },
          "states"_a, "tau"_a = nb::none(), nb::kw_only(), "out"_a = nb::none(),
          "q̈ for (B, 2n) states and optional (B, n) forces: (acc (B, n), status (B,) int8). "
          "Failed samples have NaN rows and a nonzero status. out: a writable (B, n) array of "
          "the states' dtype that q̈ is written to (and returned) instead of a new one.")
      .def("accelerations", &accelerations, "states"_a, "tau"_a = nb::none(), nb::kw_only(),
           "return_pivot"_a, "out"_a = nb::none(),
           "With return_pivot=True also each sample's smallest pivot (B,).")
      .def("lagrangian", &lagrangian, "states"_a, nb::kw_only(), "out"_a = nb::none(),
           "L (B,); out: a writable (B,) array written instead of a new one.")
      .def("energy", &energy, "states"_a, nb::kw_only(), "out"_a = nb::none(),
           "E = q̇·∂L/∂q̇ − L (B,); out: a writable (B,) array written instead of a new one.")
      .def("gradient", &gradient, "states"_a, "(L (B,), ∇L (B, 2n))")
      .def(
          "hessian",
          [](PyEngine& self, ArrayArg states) {
            return std::get<Values>(hessian(self, states, false));
          },
          "states"_a, "H (B, 2n, 2n), the Hessian of L in [q, q̇].")
      .def("hessian", &hessian, "states"_a, nb::kw_only(), "return_gradient"_a,
           "With return_gradient=True: (H, ∇L (B, 2n)) from the same pass.")
      .def("euler_lagrange_terms", &euler_lagrange_terms, "states"_a,
           "(M (B, n, n), C·q̇ (B, n), ∂L/∂q (B, n))")
      .def("loss_gradient", &loss_gradient, "states"_a, "targets"_a, "tau"_a = nb::none(),
           "loss"_a = "l1", "weights"_a = nb::none(), "mass_penalty"_a = 0.0, "input_grad"_a = true,
           "The loss of q̈ against (B, n) targets and its exact gradient: (LossResult, "
           "∂loss/∂parameters (P,), ∂loss/∂states (B, 2n) or None).")
      .def("accelerations_vjp", &accelerations_vjp, "states"_a, "cotangent"_a,
           "tau"_a = nb::none(),
           "The exact vector–Jacobian product of q̈ for (B, n) cotangents v: "
           "(Σ_s v_s·∂q̈_s/∂parameters (P,), v_s·∂q̈_s/∂states (B, 2n), v_s·∂q̈_s/∂τ_s = "
           "M_s⁻¹v_s (B, n)), summed, not averaged, over the batch; samples whose solve "
           "failed contribute zero rows.");

  m.def("_input_address", &input_address, "array"_a,
        "For the tests: the address lnn reads an input array at (no copy is made).");
}

}  // namespace lnn::python
