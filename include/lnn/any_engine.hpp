// A model and an engine whose precision and device are chosen at run time
// (docs/cpp-api.md, "One engine for any precision"). lnn::Engine<T> fixes
// the model's precision at compile time; programs that take a model file
// from a user (the CLI, the C API, rollouts, Python) do not know it until
// they read the file. AnyModel holds a model in either precision and
// AnyEngine evaluates it in either, on either device, with arrays of double
// or of the evaluation precision. This is the one place outside the engine
// that switches on precision.
#pragma once
#include "lnn/visibility.hpp"
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "lnn/engine.hpp"
#include "lnn/model.hpp"
#include "lnn/model_file.hpp"

namespace lnn LNN_CXX_API {

std::string_view to_string(Precision p);         // "f32", "f64"
Precision parse_precision(std::string_view name);  // throws InvalidArgument

// The precision of T (float: f32, double: f64).
template <class T>
constexpr Precision precision_of() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  return std::is_same_v<T, float> ? Precision::f32 : Precision::f64;
}

// f(T{}) for the type T of precision p (float or double): the one switch on
// precision, for code written once for both.
template <class F>
decltype(auto) with_precision(Precision p, F&& f) {
  if (p == Precision::f32) return std::forward<F>(f)(float{});
  return std::forward<F>(f)(double{});
}

// A model in float or in double.
class AnyModel {
 public:
  AnyModel(Model<float> model) : model_(std::move(model)) {}    // NOLINT: implicit by design
  AnyModel(Model<double> model) : model_(std::move(model)) {}   // NOLINT: implicit by design
  // Zero parameters in `precision`.
  AnyModel(const ModelSpec& spec, Precision precision);

  // The model stored in `path`, in the precision it was stored in (exactly
  // the stored values). Throws FileError.
  static AnyModel load(const std::string& path);

  Precision precision() const;
  const ModelSpec& spec() const;
  std::size_t parameter_count() const { return spec().parameter_count(); }

  void initialize(Init scheme, std::uint64_t seed);
  void save(const std::string& path, const std::map<std::string, std::string>& metadata = {}) const;

  // The same parameters in `precision` (a copy; the model itself when it is
  // in that precision already). A double parameter outside float's range is
  // an InvalidArgument that names it.
  AnyModel to(Precision precision) const;

  // The model as Model<T>; InvalidArgument when it is in the other precision.
  template <class T>
  const Model<T>& as() const;
  template <class T>
  Model<T>& as();
  template <class T>
  bool holds() const {
    return std::holds_alternative<Model<T>>(model_);
  }
  // f(Model<T>&) for the model's precision T: for code written once for
  // both precisions.
  template <class F>
  decltype(auto) visit(F&& f) {
    return std::visit(std::forward<F>(f), model_);
  }
  template <class F>
  decltype(auto) visit(F&& f) const {
    return std::visit(std::forward<F>(f), model_);
  }

 private:
  std::variant<Model<float>, Model<double>> model_;
};

// Engine<float> or Engine<double> behind one interface.
//
// Arrays: every array argument is double or the engine's precision
// (precision()), and lives where the engine can read it: host memory, or
// for a CUDA engine also that device's memory (each array on its own; a
// device array given to a CPU engine is an InvalidArgument). An array whose
// type is not the engine's precision is converted where it lives: on the
// host for host arrays, by a kernel on the device for device arrays (so a
// float engine takes double device arrays without a trip through the host).
// Arrays of the engine's precision are passed to Engine<T> as they are.
//
// Parameters: the engine reads the model it was given, like Engine<T>, when
// it evaluates in the model's precision. Evaluating in the other precision,
// it keeps a converted copy, made at construction and again by
// refresh_parameters(); with EngineOptions::cache_parameters a CUDA engine
// uploads parameters once and again after refresh_parameters().
class AnyEngine {
 public:
  // Evaluates `model` (kept by reference; it must outlive the engine) in
  // `precision`, by default the model's own. Throws InvalidArgument,
  // BackendError (as Engine<T>).
  explicit AnyEngine(const AnyModel& model, EngineOptions options = {},
                     std::optional<Precision> precision = std::nullopt);
  // The same for a model held as Model<T> (kept by reference).
  explicit AnyEngine(const Model<float>& model, EngineOptions options = {},
                     std::optional<Precision> precision = std::nullopt);
  explicit AnyEngine(const Model<double>& model, EngineOptions options = {},
                     std::optional<Precision> precision = std::nullopt);
  ~AnyEngine();
  AnyEngine(AnyEngine&&) noexcept;
  AnyEngine& operator=(AnyEngine&&) noexcept;
  AnyEngine(const AnyEngine&) = delete;
  AnyEngine& operator=(const AnyEngine&) = delete;

  Precision precision() const;
  const EngineOptions& options() const;
  const ModelSpec& spec() const;
  int dof() const { return spec().n; }
  // Machine epsilon of the evaluation precision.
  double epsilon() const;

  // The model's parameters changed: a converted copy is made again, and a
  // caching CUDA engine uploads them again before the next call.
  void refresh_parameters();

  // The engine of the evaluation precision T (InvalidArgument otherwise):
  // for code that works in T itself, such as the trainer.
  template <class T>
  Engine<T>& typed();
  // f(Engine<T>&) for the evaluation precision T: for code written once for
  // both precisions that works in T itself (a benchmark, the trainer).
  template <class F>
  decltype(auto) visit(F&& f) {
    return with_precision(precision(), [&](auto tag) -> decltype(auto) {
      return f(typed<decltype(tag)>());
    });
  }

  // As Engine<T>'s functions of the same names (include/lnn/engine.hpp), for
  // U = double or U = the engine's precision.
  template <class U>
  void lagrangian(std::span<const U> states, std::span<U> L);
  template <class U>
  void gradient(std::span<const U> states, std::span<U> L, std::span<U> grad);
  template <class U>
  void euler_lagrange_terms(std::span<const U> states, std::span<U> M, std::span<U> Cv,
                            std::span<U> f);
  template <class U>
  void hessian(std::span<const U> states, std::span<U> H, std::span<U> grad = {});
  template <class U>
  void energy(std::span<const U> states, std::span<U> E);
  template <class U>
  SolveReport accelerations(std::span<const U> states, std::span<const U> tau, std::span<U> acc,
                            std::span<SolveStatus> status = {}, std::span<U> pivot = {});
  template <class U>
  LossResult<U> loss_gradient(std::span<const U> states, std::span<const U> tau,
                              std::span<const U> targets, const LossOptions<U>& loss,
                              std::span<U> param_grad, std::span<U> input_grad = {});
  template <class U>
  SolveReport accelerations_vjp(std::span<const U> states, std::span<const U> tau,
                                std::span<const U> cotangent, std::span<U> param_grad,
                                std::span<U> input_grad = {}, std::span<U> tau_grad = {},
                                std::span<U> acc = {}, std::span<SolveStatus> status = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

#define LNN_ANY_ENGINE_EXTERN(U)                                                                   \
  extern template void AnyEngine::lagrangian<U>(std::span<const U>, std::span<U>);                \
  extern template void AnyEngine::gradient<U>(std::span<const U>, std::span<U>, std::span<U>);    \
  extern template void AnyEngine::euler_lagrange_terms<U>(std::span<const U>, std::span<U>,       \
                                                          std::span<U>, std::span<U>);            \
  extern template void AnyEngine::hessian<U>(std::span<const U>, std::span<U>, std::span<U>);     \
  extern template void AnyEngine::energy<U>(std::span<const U>, std::span<U>);                    \
  extern template SolveReport AnyEngine::accelerations<U>(                                        \
      std::span<const U>, std::span<const U>, std::span<U>, std::span<SolveStatus>, std::span<U>); \
  extern template LossResult<U> AnyEngine::loss_gradient<U>(                                      \
      std::span<const U>, std::span<const U>, std::span<const U>, const LossOptions<U>&,          \
      std::span<U>, std::span<U>);                                                                \
  extern template SolveReport AnyEngine::accelerations_vjp<U>(                                    \
      std::span<const U>, std::span<const U>, std::span<const U>, std::span<U>, std::span<U>,     \
      std::span<U>, std::span<U>, std::span<SolveStatus>);
LNN_ANY_ENGINE_EXTERN(float)
LNN_ANY_ENGINE_EXTERN(double)
#undef LNN_ANY_ENGINE_EXTERN

extern template const Model<float>& AnyModel::as<float>() const;
extern template const Model<double>& AnyModel::as<double>() const;
extern template Model<float>& AnyModel::as<float>();
extern template Model<double>& AnyModel::as<double>();
extern template Engine<float>& AnyEngine::typed<float>();
extern template Engine<double>& AnyEngine::typed<double>();

}  // namespace lnn
