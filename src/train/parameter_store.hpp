// Where a training run keeps its parameters, Adam moments and gradient
// between steps: the model's own arrays and the host optimizer on the CPU;
// the backend's memory on a GPU, so that a step never copies parameters or
// gradients across the bus (the engine reads the bound parameters in place,
// writes the gradient in place, and the Adam update runs where they are).
#pragma once
#include <cmath>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/adam.hpp"
#include "core/host_device.hpp"
#include "lnn/engine.hpp"
#include "lnn/errors.hpp"
#include "lnn/model.hpp"
#include "lnn/optimizer.hpp"

namespace lnn::training {

template <class T>
class ParameterStore {
 public:
  virtual ~ParameterStore() = default;
  // The parameters the engine evaluates (Engine::bind_parameters) and the
  // array loss_gradient writes the gradient to.
  virtual std::span<const T> params() = 0;
  virtual std::span<T> grad() = 0;
  // One Adam step from grad(); nothing (and no change) when the gradient is
  // not finite.
  virtual std::optional<typename Adam<T>::StepInfo> step(Adam<T>& adam,
                                                         std::int64_t total_steps) = 0;
  // Brings the model's parameters and the optimizer's moments up to date
  // (before a checkpoint and at the end).
  virtual void to_model(Model<T>& model, Adam<T>& adam) = 0;
  // A host copy of grad() (the training diagnostics, TrainConfig::diagnostics).
  virtual void grad_to_host(std::vector<T>& out) = 0;
};

// The CPU: the model's arrays and the host Adam themselves.
template <class T>
class HostParameterStore final : public ParameterStore<T> {
 public:
  explicit HostParameterStore(Model<T>& model) : model_(model), grad_(model.parameters().size()) {}
  std::span<const T> params() override { return model_.parameters(); }
  std::span<T> grad() override { return grad_; }
  std::optional<typename Adam<T>::StepInfo> step(Adam<T>& adam, std::int64_t total) override {
    for (const T g : grad_)
      if (!std::isfinite(g)) return std::nullopt;
    return adam.step(model_.parameters(), grad_, total);
  }
  void to_model(Model<T>&, Adam<T>&) override {}
  void grad_to_host(std::vector<T>& out) override { out.assign(grad_.begin(), grad_.end()); }

 private:
  Model<T>& model_;
  std::vector<T> grad_;
};

// Any backend with memory of its own (the CUDA one; tests/cpu emulates one).
// The Adam factors come from the host optimizer (Adam::plan_step), the
// per-element update is src/core/adam.hpp in a backend loop.
template <class T, class Backend>
class BackendParameterStore final : public ParameterStore<T> {
  template <class U>
  using Buffer = typename Backend::template Buffer<U>;

 public:
  BackendParameterStore(Backend backend, const Model<T>& model, const Adam<T>& adam)
      : be_(backend), count_(model.parameters().size()) {
    be_.upload(p_, model.parameters().data(), count_);
    be_.upload(m_, adam.first_moment().data(), count_);
    be_.upload(v_, adam.second_moment().data(), count_);
    g_.resize(count_);
    be_.zero(g_.data(), count_);
  }
  std::span<const T> params() override { return {p_.data(), count_}; }
  std::span<T> grad() override { return {g_.data(), count_}; }

  std::optional<typename Adam<T>::StepInfo> step(Adam<T>& adam, std::int64_t total) override {
    const OptimizerOptions& o = adam.options();
    T* p = p_.data();
    T* g = g_.data();
    T* m = m_.data();
    T* v = v_.data();
    const int count = static_cast<int>(count_);
    be_.mark("adam: gradient norm and wait");
    if (o.weight_decay > 0.0 && !o.decoupled) {
      const T wd = static_cast<T>(o.weight_decay);
      be_.for_each(count, [=] LNN_LAMBDA(int i) { g[i] += wd * p[i]; });
    }
    const double sq = be_.sum_squares(g, count_);  // waits for the backend
    if (!std::isfinite(sq)) return std::nullopt;
    // Named members, not a structured binding: clang before 16 cannot
    // capture one in a lambda (the fuzz build, tests/fuzz, uses clang 14).
    const auto plan = adam.plan_step(std::sqrt(sq), total);
    const auto info = plan.first;
    const auto f = plan.second;
    be_.mark("adam: update and wait");
    be_.for_each(count, [=] LNN_LAMBDA(int i) { core::adam_update(p[i], g[i], m[i], v[i], f); });
    // The engine may run on another stream: the parameters are complete
    // before the next evaluation.
    be_.synchronize();
    be_.mark("host (store)");
    return info;
  }

  void to_model(Model<T>& model, Adam<T>& adam) override {
    be_.fetch(model.parameters().data(), p_.data(), count_);
    std::vector<T> m(count_), v(count_);
    be_.fetch(m.data(), m_.data(), count_);
    be_.fetch(v.data(), v_.data(), count_);
    adam.restore(m, v, adam.steps());
  }

  void grad_to_host(std::vector<T>& out) override {
    out.resize(count_);
    be_.fetch(out.data(), g_.data(), count_);
  }

 private:
  Backend be_;
  std::size_t count_;
  Buffer<T> p_, g_, m_, v_;
};

}  // namespace lnn::training
