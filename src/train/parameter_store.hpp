// Where a training run keeps its parameters, Adam moments and gradient
// between steps: the model's own arrays and the host optimizer on the CPU;
// the backend's memory on a GPU, so that a step never copies parameters or
// gradients across the bus and never waits for the host: the gradient norm,
// the clipping, the learning rate and Adam's factors are planned on the
// device by a one-thread loop (core/adam.hpp, the host optimizer's own
// code), and the step's outcome (loss, norm, skipped or not) reaches the
// host when it asks, a step later (docs/architecture.md, "A training step
// on a device").
#pragma once
#include <cmath>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "core/adam.hpp"
#include "core/host_device.hpp"
#include "core/small_solve.hpp"
#include "engine/loss_summary.hpp"
#include "lnn/errors.hpp"
#include "lnn/model.hpp"
#include "lnn/optimizer.hpp"

namespace lnn::training {

// One training step's outcome as the host reads it.
template <class T>
struct StepOutcome {
  bool stepped = false;  // false: skipped (non-finite loss or gradient), nothing changed
  typename Adam<T>::StepInfo info;  // of a step taken
  engine::LossSummary loss;         // the loss the step was taken for
};

// The device's record of its last step (backend memory), copied to the host
// after each step.
template <class T>
struct StepRecord {
  engine::LossSummary loss;
  double sq = 0.0;  // Σ g² in double (with coupled weight decay)
  double grad_norm = 0.0, lr = 0.0;
  std::int64_t adam_steps = 0;  // Adam steps taken, this one included (Adam::steps())
  int stepped = 0, clipped = 0;
  core::AdamStepFactors<T> f{};
};

// The plan of one step on the device: what Adam<T>::step does on the host
// before its element loop, skipping the step when the loss or the gradient
// is not finite.
template <class T>
LNN_HD void plan_step(StepRecord<T>& r, const engine::LossSummary& loss, const OptimizerOptions& o,
                      std::int64_t total_steps) {
  r.loss = loss;
  r.grad_norm = std::sqrt(r.sq);
  r.stepped = core::is_finite(loss.loss) && core::is_finite(r.sq);
  r.clipped = 0;
  if (!r.stepped) return;
  r.lr = core::scheduled_lr(o, r.adam_steps, total_steps);
  r.clipped = core::clips(o, r.grad_norm);
  ++r.adam_steps;
  r.f = core::adam_factors<T>(o, r.lr, r.grad_norm, r.adam_steps);
}

template <class T>
StepOutcome<T> outcome_of(const StepRecord<T>& r) {
  StepOutcome<T> o;
  o.stepped = r.stepped != 0;
  o.info.lr = r.lr;
  o.info.grad_norm = r.grad_norm;
  o.info.clipped = r.clipped != 0;
  o.loss = r.loss;
  return o;
}

template <class T>
class ParameterStore {
 public:
  virtual ~ParameterStore() = default;
  // The parameters the engine evaluates (Engine::bind_parameters) and the
  // array loss_gradient writes the gradient to.
  virtual std::span<const T> params() = 0;
  virtual std::span<T> grad() = 0;
  // Queues one Adam step from grad() for the loss `loss` (where the engine
  // left it: EngineCore::loss_gradient_queued); skipped, changing nothing,
  // when the loss or the gradient is not finite. Waits for nothing on a
  // device, and is the same queued work every step (a CUDA graph may
  // capture it). publish() then hands its outcome towards take().
  virtual void update(Adam<T>& adam, const engine::LossSummary* loss, std::int64_t total_steps) = 0;
  virtual void publish() = 0;
  void step(Adam<T>& adam, const engine::LossSummary* loss, std::int64_t total_steps) {
    update(adam, loss, total_steps);
    publish();
  }
  // Steps queued and not yet taken; the oldest one's outcome (waits for it).
  virtual int queued() const = 0;
  virtual StepOutcome<T> take() = 0;
  // How many steps may stay queued while the next is issued (0: the CPU,
  // where a step is complete when step() returns; 1: a device).
  virtual int lag() const = 0;
  // Brings the model's parameters and the optimizer's moments and step
  // count up to date (before a checkpoint and at the end); waits.
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
  void update(Adam<T>& adam, const engine::LossSummary* loss, std::int64_t total) override {
    StepOutcome<T>& o = last_;
    o = {};
    o.loss = *loss;
    o.stepped = std::isfinite(loss->loss);
    for (const T g : grad_) o.stepped = o.stepped && std::isfinite(g);
    if (o.stepped) o.info = adam.step(model_.parameters(), grad_, total);
  }
  void publish() override { done_.push_back(last_); }
  int queued() const override { return static_cast<int>(done_.size()); }
  StepOutcome<T> take() override {
    if (done_.empty()) throw Error("ParameterStore::take: no step queued");
    const StepOutcome<T> o = done_.front();
    done_.pop_front();
    return o;
  }
  int lag() const override { return 0; }
  void to_model(Model<T>&, Adam<T>&) override {}
  void grad_to_host(std::vector<T>& out) override { out.assign(grad_.begin(), grad_.end()); }

 private:
  Model<T>& model_;
  std::vector<T> grad_;
  StepOutcome<T> last_;
  std::deque<StepOutcome<T>> done_;
};

// Any backend with memory of its own (the CUDA one; tests/cpu emulates one),
// on the engine's own queue (the backend is a copy of the engine's), so that
// a step follows the loss it was computed from with nothing in between.
template <class T, class Backend>
class BackendParameterStore final : public ParameterStore<T> {
  template <class U>
  using Buffer = typename Backend::template Buffer<U>;
  template <class U>
  using HostBuffer = typename Backend::template HostBuffer<U>;
  using Ticket = typename Backend::Ticket;

 public:
  BackendParameterStore(Backend backend, const Model<T>& model, const Adam<T>& adam)
      : be_(backend), count_(model.parameters().size()) {
    be_.upload(p_, model.parameters().data(), count_);
    be_.upload(m_, adam.first_moment().data(), count_);
    be_.upload(v_, adam.second_moment().data(), count_);
    g_.resize(count_);
    be_.zero(g_.data(), count_);
    StepRecord<T> r;
    r.adam_steps = adam.steps();
    be_.upload(rec_, &r, 1);
    host_.resize(kSlots);
  }
  std::span<const T> params() override { return {p_.data(), count_}; }
  std::span<T> grad() override { return {g_.data(), count_}; }

  void update(Adam<T>& adam, const engine::LossSummary* loss, std::int64_t total) override {
    const OptimizerOptions o = adam.options();
    T* p = p_.data();
    T* g = g_.data();
    T* m = m_.data();
    T* v = v_.data();
    StepRecord<T>* r = rec_.data();
    const int count = static_cast<int>(count_);
    be_.mark("adam: gradient norm");
    if (o.weight_decay > 0.0 && !o.decoupled) {
      const T wd = static_cast<T>(o.weight_decay);
      be_.for_each(count, [=] LNN_LAMBDA(int i) { g[i] += wd * p[i]; });
    }
    be_.sum_squares_into(g, count_, &r->sq);
    be_.mark("adam: plan and update");
    be_.for_each(1, [=] LNN_LAMBDA(int) { plan_step(*r, *loss, o, total); });
    be_.for_each(count, [=] LNN_LAMBDA(int i) {
      if (r->stepped) core::adam_update(p[i], g[i], m[i], v[i], r->f);
    });
    be_.mark("host (store)");
  }
  // The record to the host when the queue gets here (read by take()).
  void publish() override {
    if (queued_ == kSlots) {
      throw Error("ParameterStore::publish: " + std::to_string(kSlots) +
                  " steps queued and not taken");
    }
    const int slot = (first_ + queued_) % kSlots;
    be_.fetch_later(&host_.data()[slot], rec_.data(), 1, tickets_[slot]);
    ++queued_;
  }
  int queued() const override { return queued_; }
  StepOutcome<T> take() override {
    if (queued_ == 0) throw Error("ParameterStore::take: no step queued");
    be_.wait(tickets_[first_]);
    const StepOutcome<T> out = outcome_of(host_.data()[first_]);
    first_ = (first_ + 1) % kSlots;
    --queued_;
    return out;
  }
  int lag() const override { return 1; }

  void to_model(Model<T>& model, Adam<T>& adam) override {
    be_.fetch(model.parameters().data(), p_.data(), count_);
    std::vector<T> m(count_), v(count_);
    be_.fetch(m.data(), m_.data(), count_);
    be_.fetch(v.data(), v_.data(), count_);
    StepRecord<T> r;
    be_.fetch(&r, rec_.data(), 1);
    adam.restore(m, v, r.adam_steps);
  }

  void grad_to_host(std::vector<T>& out) override {
    out.resize(count_);
    be_.fetch(out.data(), g_.data(), count_);
  }

 private:
  static constexpr int kSlots = 2;  // steps in flight: the one issued, the one read
  Backend be_;
  std::size_t count_;
  Buffer<T> p_, g_, m_, v_;
  Buffer<StepRecord<T>> rec_;
  HostBuffer<StepRecord<T>> host_;
  Ticket tickets_[kSlots];
  int first_ = 0, queued_ = 0;
};

}  // namespace lnn::training
