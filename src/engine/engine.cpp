// lnn::Engine: the public batched API. The work (shape checks, chunks,
// staging, the loss) is src/engine/engine_impl.hpp over the chosen backend.
#include "lnn/engine.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "engine/backend_factory.hpp"
#include "engine/engine_access.hpp"
#include "engine/engine_impl.hpp"
#include "lnn/errors.hpp"

namespace lnn LNN_CXX_API {

template <class T>
struct Engine<T>::Impl {
  Impl(const Model<T>& m, const EngineOptions& o)
      : model(m), options(o), core(engine::make_core(m, o)) {}
  const Model<T>& model;
  EngineOptions options;
  std::unique_ptr<engine::EngineCore<T>> core;
};

template <class T>
Engine<T>::Engine(const Model<T>& model, EngineOptions options) {
  model.spec().validate();
  if (options.solve.method == SolveMethod::damped && !(options.solve.damping >= 0.0)) {
    throw InvalidArgument("solve: damping must be >= 0");
  }
  if (!(options.solve.rcond >= 0.0) || options.solve.rcond >= 1.0) {
    throw InvalidArgument("solve: rcond must be in [0, 1)");
  }
  impl_ = std::make_unique<Impl>(model, options);
}
template <class T>
Engine<T>::~Engine() = default;
template <class T>
Engine<T>::Engine(Engine&&) noexcept = default;
template <class T>
Engine<T>& Engine<T>::operator=(Engine&&) noexcept = default;

template <class T>
const Model<T>& Engine<T>::model() const {
  return impl_->model;
}
template <class T>
const EngineOptions& Engine<T>::options() const {
  return impl_->options;
}

template <class T>
void Engine<T>::bind_parameters(std::span<const T> params) {
  impl_->core->bind_parameters(params);
}
template <class T>
void Engine<T>::refresh_parameters() {
  impl_->core->refresh_parameters();
}

template <class T>
void Engine<T>::lagrangian(std::span<const T> states, std::span<T> L) {
  impl_->core->lagrangian(states, L);
}

template <class T>
void Engine<T>::gradient(std::span<const T> states, std::span<T> L, std::span<T> grad) {
  impl_->core->gradient(states, L, grad);
}

template <class T>
void Engine<T>::energy(std::span<const T> states, std::span<T> E) {
  impl_->core->energy(states, E);
}

template <class T>
void Engine<T>::euler_lagrange_terms(std::span<const T> states, std::span<T> M, std::span<T> Cv,
                                     std::span<T> f) {
  impl_->core->euler_lagrange_terms(states, M, Cv, f);
}

template <class T>
void Engine<T>::hessian(std::span<const T> states, std::span<T> H, std::span<T> grad) {
  impl_->core->hessian(states, H, grad);
}

template <class T>
SolveReport Engine<T>::accelerations(std::span<const T> states, std::span<const T> tau,
                                     std::span<T> acc, std::span<SolveStatus> status,
                                     std::span<T> pivot) {
  return impl_->core->accelerations(states, tau, acc, status, pivot);
}

template <class T>
LossResult<T> Engine<T>::loss_gradient(std::span<const T> states, std::span<const T> tau,
                                       std::span<const T> targets, Loss loss,
                                       std::span<T> param_grad, std::span<T> input_grad) {
  LossOptions<T> options;
  options.kind = loss;
  return loss_gradient(states, tau, targets, options, param_grad, input_grad);
}

template <class T>
LossResult<T> Engine<T>::loss_gradient(std::span<const T> states, std::span<const T> tau,
                                       std::span<const T> targets, const LossOptions<T>& loss,
                                       std::span<T> param_grad, std::span<T> input_grad) {
  return impl_->core->loss_gradient(states, tau, targets, loss, param_grad, input_grad);
}

template <class T>
SolveReport Engine<T>::accelerations_vjp(std::span<const T> states, std::span<const T> tau,
                                         std::span<const T> cotangent, std::span<T> param_grad,
                                         std::span<T> input_grad, std::span<T> tau_grad,
                                         std::span<T> acc, std::span<SolveStatus> status) {
  return impl_->core->accelerations_vjp(states, tau, cotangent, param_grad, input_grad, tau_grad,
                                        acc, status);
}

template class Engine<float>;
template class Engine<double>;

namespace engine LNN_HIDDEN {
template <class T>
EngineCore<T>& EngineAccess<T>::core(Engine<T>& e) {
  return *e.impl_->core;
}
template struct EngineAccess<float>;
template struct EngineAccess<double>;
}  // namespace engine

}  // namespace lnn
