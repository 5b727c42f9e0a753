// lnn::AnyModel and lnn::AnyEngine (include/lnn/any_engine.hpp): the one
// place outside the engine that switches on precision. Arrays of the
// engine's own precision pass straight to Engine<T>; arrays of the other
// precision are converted where they live (docs/architecture.md, "One engine
// for any precision").
#include "lnn/any_engine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cuda/memory_kind.hpp"
#include "lnn/errors.hpp"

namespace lnn LNN_CXX_API {

// ---- AnyModel ---------------------------------------------------------------

namespace {

std::variant<Model<float>, Model<double>> zero_model(const ModelSpec& spec, Precision p) {
  return with_precision(p, [&](auto tag) -> std::variant<Model<float>, Model<double>> {
    return Model<decltype(tag)>(spec);
  });
}

// `from` in T: exact for float → double; a double outside float's range is
// refused (it would become ±inf and poison every result).
template <class T, class U>
Model<T> convert_model(const Model<U>& from) {
  Model<T> to(from.spec());
  const std::span<const U> src = from.parameters();
  const std::span<T> dst = to.parameters();
  for (std::size_t i = 0; i < src.size(); ++i) {
    dst[i] = static_cast<T>(src[i]);
    if (std::isfinite(src[i]) && !std::isfinite(dst[i])) {
      throw InvalidArgument("parameter " + std::to_string(i) + " of the model (" +
                            std::to_string(static_cast<double>(src[i])) +
                            ") is outside the range of float; evaluate in f64");
    }
  }
  return to;
}

}  // namespace

AnyModel::AnyModel(const ModelSpec& spec, Precision precision)
    : model_(zero_model(spec, precision)) {}

AnyModel AnyModel::load(const std::string& path) {
  return with_precision(read_model_info(path).precision, [&](auto tag) {
    return AnyModel(load_model<decltype(tag)>(path));
  });
}

Precision AnyModel::precision() const {
  return holds<float>() ? Precision::f32 : Precision::f64;
}

const ModelSpec& AnyModel::spec() const {
  return std::visit([](const auto& m) -> const ModelSpec& { return m.spec(); }, model_);
}

void AnyModel::initialize(Init scheme, std::uint64_t seed) {
  std::visit([&](auto& m) { m.initialize(scheme, seed); }, model_);
}

void AnyModel::save(const std::string& path,
                    const std::map<std::string, std::string>& metadata) const {
  std::visit([&](const auto& m) { save_model(m, path, metadata); }, model_);
}

AnyModel AnyModel::to(Precision precision) const {
  if (precision == this->precision()) return *this;
  if (precision == Precision::f32) return AnyModel(convert_model<float>(as<double>()));
  return AnyModel(convert_model<double>(as<float>()));
}

template <class T>
const Model<T>& AnyModel::as() const {
  if (const Model<T>* m = std::get_if<Model<T>>(&model_)) return *m;
  throw InvalidArgument(std::string("the model is ") + std::string(to_string(precision())) +
                        ", not " + std::string(to_string(precision_of<T>())));
}
template <class T>
Model<T>& AnyModel::as() {
  return const_cast<Model<T>&>(std::as_const(*this).as<T>());
}
template const Model<float>& AnyModel::as<float>() const;
template const Model<double>& AnyModel::as<double>() const;
template Model<float>& AnyModel::as<float>();
template Model<double>& AnyModel::as<double>();

// ---- AnyEngine --------------------------------------------------------------

namespace {

// Conversion buffers of one array: host values, or device memory for arrays
// that live on the device. Grown, never shrunk, so repeated calls of one
// size (an integrator's steps) allocate once.
template <class T>
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { detail::device_free(device_); }

  T* host(std::size_t count) {
    if (host_.size() < count) host_.resize(count);
    return host_.data();
  }
  T* device(std::size_t count) {
    if (count > device_count_) {
      detail::device_free(device_);
      device_ = nullptr;
      device_count_ = 0;
      device_ = static_cast<T*>(detail::device_allocate(count * sizeof(T)));
      device_count_ = count;
    }
    return device_;
  }

 private:
  std::vector<T> host_;
  T* device_ = nullptr;
  std::size_t device_count_ = 0;
};

// The model an AnyEngine evaluates, in the precision it is kept in.
using Source = std::variant<const Model<float>*, const Model<double>*>;

// One engine of precision T and its conversion buffers.
template <class T>
struct Typed {
  using Value = T;
  Typed(const Source& source, const EngineOptions& options)
      : converted(std::holds_alternative<const Model<T>*>(source)
                      ? nullptr
                      : std::make_unique<Model<T>>(own(source))),
        engine(converted ? *converted : *std::get<const Model<T>*>(source), options) {}

  // The source's parameters in T (only called when it is the other precision).
  static Model<T> own(const Source& source) {
    return std::visit(
        [](const auto* m) -> Model<T> {
          using U = typename std::remove_reference_t<decltype(m->parameters())>::value_type;
          if constexpr (std::is_same_v<std::remove_const_t<U>, T>) {
            return *m;
          } else {
            return convert_model<T>(*m);
          }
        },
        source);
  }

  std::unique_ptr<Model<T>> converted;  // the model in T when it is kept in the other precision
  Engine<T> engine;
  Scratch<T> in[3], out[4];
  Scratch<T> weights;
};

// The arrays of one call: each array of U seen as T, converted where it lives.
template <class T, class U>
class Call {
 public:
  Call(Typed<T>& t, Device device) : t_(t), device_(device) {}

  std::span<const T> in(std::span<const U> a, int slot, const char* name) {
    return in(a, t_.in[slot], name);
  }
  // The caller's array as T, converted into `scratch` where it lives.
  std::span<const T> in(std::span<const U> a, Scratch<T>& scratch, const char* name) {
    if constexpr (std::is_same_v<T, U>) {
      check(a.data(), name);
      return a;
    } else {
      const bool device = on_device(a.data(), name);
      if (a.empty()) return {};
      const std::size_t n = a.size();
      if (device) {
        T* d = scratch.device(n);
        detail::convert_on_device(a.data(), d, n);
        return {d, n};
      }
      T* h = scratch.host(n);
      std::transform(a.begin(), a.end(), h, [](U v) { return static_cast<T>(v); });
      return {h, n};
    }
  }
  std::span<T> out(std::span<U> a, int slot, const char* name) {
    if constexpr (std::is_same_v<T, U>) {
      check(a.data(), name);
      return a;
    } else {
      const bool device = on_device(a.data(), name);
      if (a.empty()) return {};
      const std::size_t n = a.size();
      T* p = device ? t_.out[slot].device(n) : t_.out[slot].host(n);
      back_[slot] = {a, {p, n}, device};
      return {p, n};
    }
  }
  // The engine's results into the caller's arrays (after a successful call).
  void finish() {
    if constexpr (!std::is_same_v<T, U>) {
      for (const Back& b : back_) {
        if (b.to.empty()) continue;
        if (b.device) {
          detail::convert_on_device(b.from.data(), b.to.data(), b.to.size());
        } else {
          std::transform(b.from.begin(), b.from.end(), b.to.begin(),
                         [](T v) { return static_cast<U>(v); });
        }
      }
    }
  }
  // A CPU engine cannot read device memory: refuse instead of crashing.
  void check(const void* p, const char* name) const {
    if (device_ == Device::cpu) (void)on_device(p, name);
  }
  LossOptions<T> loss(const LossOptions<U>& o) {
    LossOptions<T> r;
    r.kind = o.kind;
    r.mass_penalty = o.mass_penalty;
    r.weights = in(o.weights, t_.weights, "weights");
    return r;
  }

 private:
  // Whether p is device memory (asked once per array); refused on the CPU.
  bool on_device(const void* p, const char* name) const {
    const bool device = detail::is_device_pointer(p);
    if (device && device_ == Device::cpu) {
      throw InvalidArgument(std::string(name) +
                            " is CUDA device memory; this engine runs on the CPU and needs host "
                            "arrays");
    }
    return device;
  }
  struct Back {
    std::span<U> to;
    std::span<const T> from;
    bool device = false;
  };
  Typed<T>& t_;
  Device device_;
  Back back_[4];
};

}  // namespace

struct AnyEngine::Impl {
  Impl(Source m, const EngineOptions& o, Precision p) : model(m), options(o) {
    if (p == Precision::f32) {
      engine = std::make_unique<Typed<float>>(m, o);
    } else {
      engine = std::make_unique<Typed<double>>(m, o);
    }
  }
  const ModelSpec& spec() const {
    return std::visit([](const auto* m) -> const ModelSpec& { return m->spec(); }, model);
  }
  Source model;
  EngineOptions options;
  std::variant<std::unique_ptr<Typed<float>>, std::unique_ptr<Typed<double>>> engine;
};

AnyEngine::AnyEngine(const AnyModel& model, EngineOptions options,
                     std::optional<Precision> precision) {
  const Precision p = precision.value_or(model.precision());
  if (model.holds<float>()) {
    impl_ = std::make_unique<Impl>(&model.as<float>(), options, p);
  } else {
    impl_ = std::make_unique<Impl>(&model.as<double>(), options, p);
  }
}
AnyEngine::AnyEngine(const Model<float>& model, EngineOptions options,
                     std::optional<Precision> precision)
    : impl_(std::make_unique<Impl>(&model, options, precision.value_or(Precision::f32))) {}
AnyEngine::AnyEngine(const Model<double>& model, EngineOptions options,
                     std::optional<Precision> precision)
    : impl_(std::make_unique<Impl>(&model, options, precision.value_or(Precision::f64))) {}
AnyEngine::~AnyEngine() = default;
AnyEngine::AnyEngine(AnyEngine&&) noexcept = default;
AnyEngine& AnyEngine::operator=(AnyEngine&&) noexcept = default;

Precision AnyEngine::precision() const {
  return std::holds_alternative<std::unique_ptr<Typed<float>>>(impl_->engine) ? Precision::f32
                                                                             : Precision::f64;
}
const EngineOptions& AnyEngine::options() const { return impl_->options; }
const ModelSpec& AnyEngine::spec() const { return impl_->spec(); }
double AnyEngine::epsilon() const {
  return precision() == Precision::f32 ? std::numeric_limits<float>::epsilon()
                                       : std::numeric_limits<double>::epsilon();
}

void AnyEngine::refresh_parameters() {
  std::visit(
      [&](auto& t) {
        if (t->converted) {  // the same memory: the engine keeps its reference
          const auto fresh = std::remove_reference_t<decltype(*t)>::own(impl_->model);
          std::ranges::copy(fresh.parameters(), t->converted->parameters().begin());
        }
        t->engine.refresh_parameters();
      },
      impl_->engine);
}

template <class T>
Engine<T>& AnyEngine::typed() {
  if (auto* t = std::get_if<std::unique_ptr<Typed<T>>>(&impl_->engine)) return (*t)->engine;
  throw InvalidArgument(std::string("this engine evaluates in ") +
                        std::string(to_string(precision())) + ", not " +
                        std::string(to_string(precision_of<T>())));
}
template Engine<float>& AnyEngine::typed<float>();
template Engine<double>& AnyEngine::typed<double>();

// Each public function: the engine of precision T, the call's arrays as T.
#define LNN_ANY_VISIT(body)                                                  \
  std::visit(                                                                \
      [&](auto& typed) {                                                     \
        using T = typename std::remove_reference_t<decltype(*typed)>::Value; \
        Call<T, U> c(*typed, impl_->options.device);                         \
        Engine<T>& e = typed->engine;                                        \
        body;                                                                \
      },                                                                     \
      impl_->engine)

template <class U>
void AnyEngine::lagrangian(std::span<const U> states, std::span<U> L) {
  LNN_ANY_VISIT({
    e.lagrangian(c.in(states, 0, "states"), c.out(L, 0, "L"));
    c.finish();
  });
}

template <class U>
void AnyEngine::gradient(std::span<const U> states, std::span<U> L, std::span<U> grad) {
  LNN_ANY_VISIT({
    e.gradient(c.in(states, 0, "states"), c.out(L, 0, "L"), c.out(grad, 1, "grad"));
    c.finish();
  });
}

template <class U>
void AnyEngine::euler_lagrange_terms(std::span<const U> states, std::span<U> M, std::span<U> Cv,
                                     std::span<U> f) {
  LNN_ANY_VISIT({
    e.euler_lagrange_terms(c.in(states, 0, "states"), c.out(M, 0, "M"), c.out(Cv, 1, "Cv"),
                           c.out(f, 2, "f"));
    c.finish();
  });
}

template <class U>
void AnyEngine::hessian(std::span<const U> states, std::span<U> H, std::span<U> grad) {
  LNN_ANY_VISIT({
    e.hessian(c.in(states, 0, "states"), c.out(H, 0, "H"), c.out(grad, 1, "grad"));
    c.finish();
  });
}

template <class U>
void AnyEngine::energy(std::span<const U> states, std::span<U> E) {
  LNN_ANY_VISIT({
    e.energy(c.in(states, 0, "states"), c.out(E, 0, "E"));
    c.finish();
  });
}

template <class U>
SolveReport AnyEngine::accelerations(std::span<const U> states, std::span<const U> tau,
                                     std::span<U> acc, std::span<SolveStatus> status,
                                     std::span<U> pivot) {
  SolveReport report;
  LNN_ANY_VISIT({
    c.check(status.data(), "status");
    report = e.accelerations(c.in(states, 0, "states"), c.in(tau, 1, "tau"), c.out(acc, 0, "acc"),
                             status, c.out(pivot, 1, "pivot"));
    c.finish();
  });
  return report;
}

template <class U>
LossResult<U> AnyEngine::loss_gradient(std::span<const U> states, std::span<const U> tau,
                                       std::span<const U> targets, const LossOptions<U>& loss,
                                       std::span<U> param_grad, std::span<U> input_grad) {
  LossResult<U> r;
  LNN_ANY_VISIT({
    const LossResult<T> t =
        e.loss_gradient(c.in(states, 0, "states"), c.in(tau, 1, "tau"),
                        c.in(targets, 2, "targets"), c.loss(loss), c.out(param_grad, 0, "param_grad"),
                        c.out(input_grad, 1, "input_grad"));
    c.finish();
    r.loss = t.loss;
    r.data_loss = t.data_loss;
    r.penalty = t.penalty;
    r.solve = t.solve;
  });
  return r;
}

template <class U>
SolveReport AnyEngine::accelerations_vjp(std::span<const U> states, std::span<const U> tau,
                                         std::span<const U> cotangent, std::span<U> param_grad,
                                         std::span<U> input_grad, std::span<U> tau_grad,
                                         std::span<U> acc, std::span<SolveStatus> status) {
  SolveReport report;
  LNN_ANY_VISIT({
    c.check(status.data(), "status");
    report = e.accelerations_vjp(c.in(states, 0, "states"), c.in(tau, 1, "tau"),
                                 c.in(cotangent, 2, "cotangent"), c.out(param_grad, 0, "param_grad"),
                                 c.out(input_grad, 1, "input_grad"), c.out(tau_grad, 2, "tau_grad"),
                                 c.out(acc, 3, "acc"), status);
    c.finish();
  });
  return report;
}

#undef LNN_ANY_VISIT

#define LNN_ANY_ENGINE_DEFINE(U)                                                                 \
  template void AnyEngine::lagrangian<U>(std::span<const U>, std::span<U>);                     \
  template void AnyEngine::gradient<U>(std::span<const U>, std::span<U>, std::span<U>);         \
  template void AnyEngine::euler_lagrange_terms<U>(std::span<const U>, std::span<U>,            \
                                                   std::span<U>, std::span<U>);                 \
  template void AnyEngine::hessian<U>(std::span<const U>, std::span<U>, std::span<U>);          \
  template void AnyEngine::energy<U>(std::span<const U>, std::span<U>);                         \
  template SolveReport AnyEngine::accelerations<U>(std::span<const U>, std::span<const U>,      \
                                                   std::span<U>, std::span<SolveStatus>,        \
                                                   std::span<U>);                               \
  template LossResult<U> AnyEngine::loss_gradient<U>(std::span<const U>, std::span<const U>,    \
                                                     std::span<const U>, const LossOptions<U>&, \
                                                     std::span<U>, std::span<U>);               \
  template SolveReport AnyEngine::accelerations_vjp<U>(                                         \
      std::span<const U>, std::span<const U>, std::span<const U>, std::span<U>, std::span<U>,   \
      std::span<U>, std::span<U>, std::span<SolveStatus>);
LNN_ANY_ENGINE_DEFINE(float)
LNN_ANY_ENGINE_DEFINE(double)
#undef LNN_ANY_ENGINE_DEFINE

}  // namespace lnn
