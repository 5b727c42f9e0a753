// The public Engine's work, written once over a backend (CPU or CUDA): shape
// checks, chunking, staging between the caller's arrays and the backend's
// memory, solve reports and the loss. lnn::Engine (engine.cpp) forwards to an
// EngineCore; engine.cpp instantiates EngineOn<T, CpuBackend<T>>, and
// src/cuda/cuda_engine.cu EngineOn<T, CudaBackend<T>>.
//
// Staging (the backend's stage_in / stage_out / fetch): the CPU backend's
// memory is the caller's, so it passes pointers through; the CUDA backend
// copies host arrays to the device per chunk and back, and uses arrays that
// already are device memory in place. Host-side arithmetic here (energy,
// the loss) runs on values that fetch() brought back.
// The launches, copies and waits of each call, per phase, are counted in
// src/engine/cost_model.cpp (the roofline account): keep the two in step.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "engine/layer_algorithm.hpp"
#include "engine/loss_summary.hpp"
#include "lnn/engine.hpp"
#include "lnn/errors.hpp"

namespace lnn::engine {

// What lnn::Engine<T> calls; one implementation per backend.
template <class T>
class EngineCore {
 public:
  virtual ~EngineCore() = default;
  virtual Device device() const = 0;  // where it runs (engine/backend_factory.hpp)
  virtual void bind_parameters(std::span<const T> params) = 0;
  virtual void refresh_parameters() = 0;
  virtual void lagrangian(std::span<const T> states, std::span<T> L) = 0;
  virtual void gradient(std::span<const T> states, std::span<T> L, std::span<T> grad) = 0;
  virtual void euler_lagrange_terms(std::span<const T> states, std::span<T> M, std::span<T> Cv,
                                    std::span<T> f) = 0;
  virtual void hessian(std::span<const T> states, std::span<T> H, std::span<T> grad) = 0;
  virtual void energy(std::span<const T> states, std::span<T> E) = 0;
  virtual SolveReport accelerations(std::span<const T> states, std::span<const T> tau,
                                    std::span<T> acc, std::span<SolveStatus> status,
                                    std::span<T> pivot) = 0;
  virtual LossResult<T> loss_gradient(std::span<const T> states, std::span<const T> tau,
                                      std::span<const T> targets, const LossOptions<T>& loss,
                                      std::span<T> param_grad, std::span<T> input_grad) = 0;
  virtual SolveReport accelerations_vjp(std::span<const T> states, std::span<const T> tau,
                                        std::span<const T> cotangent, std::span<T> param_grad,
                                        std::span<T> input_grad, std::span<T> tau_grad,
                                        std::span<T> acc, std::span<SolveStatus> status) = 0;
  // loss_gradient for a training step on a device: the same work, queued on
  // the backend with nothing waiting for it. param_grad must be memory the
  // backend writes in place (the device's; the host's for the CPU); returns where the backend will hold the loss (valid until the
  // next call). The host reads it later (docs/architecture.md, "A training
  // step on a device").
  virtual const LossSummary* loss_gradient_queued(std::span<const T> states,
                                                  std::span<const T> tau,
                                                  std::span<const T> targets,
                                                  const LossOptions<T>& loss,
                                                  std::span<T> param_grad) = 0;
};

inline void count_statuses(SolveReport& r, const SolveStatus* st, int b) {
  r.samples += static_cast<std::size_t>(b);
  for (int s = 0; s < b; ++s) {
    if (st[s] == SolveStatus::not_positive_definite) ++r.not_positive_definite;
    if (st[s] == SolveStatus::singular) ++r.singular;
  }
}

template <class T, class Backend>
class EngineOn final : public EngineCore<T> {
  template <class U>
  using Buffer = typename Backend::template Buffer<U>;

 public:
  EngineOn(const Model<T>& model, const EngineOptions& options, Backend backend = {})
      : model_(model), options_(options), algo_(model, options, backend) {}
  Device device() const override { return options_.device; }

  Backend& be() { return algo_.backend(); }

  void bind_parameters(std::span<const T> params) override {
    if (!params.empty() && params.size() != model_.spec().parameter_count()) {
      throw InvalidArgument("bind_parameters: " + std::to_string(params.size()) +
                            " values for a model of " +
                            std::to_string(model_.spec().parameter_count()) + " parameters");
    }
    bound_ = params;
    cached_ = nullptr;
  }
  void refresh_parameters() override { cached_ = nullptr; }

  void lagrangian(std::span<const T> states, std::span<T> L) override {
    const std::size_t B = batch(states), w = width();
    expect(L, B, "L", false);
    bind();
    chunks(B, [&](std::size_t s0, int b) {
      const std::size_t bb = static_cast<std::size_t>(b);
      const T* x = be().stage_in(states.data() + s0 * w, bb * w, in_[0]);
      T* Lo = be().stage_out(L.data() + s0, bb, out_[0]);
      algo_.lagrangian(algo_.forward(x, b, Seeds::none), Lo);
      be().fetch(L.data() + s0, Lo, bb);
    });
  }

  void gradient(std::span<const T> states, std::span<T> L, std::span<T> grad) override {
    const std::size_t B = batch(states), w = width();
    expect(L, B, "L", true);
    expect(grad, B * w, "grad", false);
    bind();
    chunks(B, [&](std::size_t s0, int b) {
      const std::size_t bb = static_cast<std::size_t>(b);
      const T* x = be().stage_in(states.data() + s0 * w, bb * w, in_[0]);
      const auto pass = algo_.forward(x, b, Seeds::none);
      if (!L.empty()) {
        T* Lo = be().stage_out(L.data() + s0, bb, out_[0]);
        algo_.lagrangian(pass, Lo);
        be().fetch(L.data() + s0, Lo, bb);
      }
      algo_.reverse(pass);
      T* g = be().stage_out(grad.data() + s0 * w, bb * w, out_[1]);
      algo_.input_gradient(pass, x, g);
      be().fetch(grad.data() + s0 * w, g, bb * w);
    });
  }

  void energy(std::span<const T> states, std::span<T> E) override {
    const std::size_t B = batch(states), w = width();
    const std::size_t n = static_cast<std::size_t>(algo_.n());
    expect(E, B, "E", false);
    bind();
    chunks(B, [&](std::size_t s0, int b) {
      const std::size_t bb = static_cast<std::size_t>(b);
      host_L_.resize(bb);
      host_grad_.resize(bb * w);
      host_E_.resize(bb);
      const T* xh = states.data() + s0 * w;
      const T* x = be().stage_in(xh, bb * w, in_[0]);
      T* Lo = be().stage_out(host_L_.data(), bb, out_[0]);
      T* g = be().stage_out(host_grad_.data(), bb * w, out_[1]);
      const auto pass = algo_.forward(x, b, Seeds::none);
      algo_.lagrangian(pass, Lo);
      algo_.reverse(pass);
      algo_.input_gradient(pass, x, g);
      be().fetch(host_L_.data(), Lo, bb);
      be().fetch(host_grad_.data(), g, bb * w);
      // E = q̇·∂L/∂q̇ − L needs the states on the host; a device array of
      // states is read back for it.
      const T* xs = host_states(xh, bb * w);
      for (std::size_t s = 0; s < bb; ++s) {
        T e = -host_L_[s];
        for (std::size_t j = 0; j < n; ++j) e += xs[s * w + n + j] * host_grad_[s * w + n + j];
        host_E_[s] = e;
      }
      deliver(E.data() + s0, host_E_.data(), bb);
    });
  }

  void euler_lagrange_terms(std::span<const T> states, std::span<T> M, std::span<T> Cv,
                            std::span<T> f) override {
    const std::size_t B = batch(states), w = width();
    const std::size_t N = static_cast<std::size_t>(algo_.n()), k = N + 1;
    expect(M, B * N * N, "M", true);
    expect(Cv, B * N, "Cv", true);
    expect(f, B * N, "f", true);
    bind();
    chunks(B, [&](std::size_t s0, int b) {
      const std::size_t bb = static_cast<std::size_t>(b);
      const T* x = be().stage_in(states.data() + s0 * w, bb * w, in_[0]);
      const auto pass = second_order(x, b, Seeds::euler_lagrange);
      host_H_.resize(bb * k * k);
      be().fetch(host_H_.data(), algo_.hessian_data(), bb * k * k);
      if (!f.empty()) {
        host_grad_.resize(bb * w);
        T* g = be().stage_out(host_grad_.data(), bb * w, out_[1]);
        algo_.input_gradient(pass, x, g);
        be().fetch(host_grad_.data(), g, bb * w);
      }
      host_M_.resize(bb * N * N);
      host_Cv_.resize(bb * N);
      host_f_.resize(bb * N);
      for (std::size_t s = 0; s < bb; ++s) {
        const T* h = host_H_.data() + s * k * k;
        for (std::size_t p = 0; p < N; ++p) {
          for (std::size_t q = 0; q < N; ++q) host_M_[s * N * N + p * N + q] = h[p * k + q];
          host_Cv_[s * N + p] = h[p * k + N];
          if (!f.empty()) host_f_[s * N + p] = host_grad_[s * w + p];
        }
      }
      if (!M.empty()) deliver(M.data() + s0 * N * N, host_M_.data(), bb * N * N);
      if (!Cv.empty()) deliver(Cv.data() + s0 * N, host_Cv_.data(), bb * N);
      if (!f.empty()) deliver(f.data() + s0 * N, host_f_.data(), bb * N);
    });
  }

  void hessian(std::span<const T> states, std::span<T> H, std::span<T> grad) override {
    const std::size_t B = batch(states), w = width();
    expect(H, B * w * w, "H", false);
    expect(grad, B * w, "grad", true);
    bind();
    chunks(B, [&](std::size_t s0, int b) {
      const std::size_t bb = static_cast<std::size_t>(b);
      const T* x = be().stage_in(states.data() + s0 * w, bb * w, in_[0]);
      const auto pass = second_order(x, b, Seeds::full);
      be().fetch(H.data() + s0 * w * w, algo_.hessian_data(), bb * w * w);
      if (!grad.empty()) {
        T* g = be().stage_out(grad.data() + s0 * w, bb * w, out_[1]);
        algo_.input_gradient(pass, x, g);
        be().fetch(grad.data() + s0 * w, g, bb * w);
      }
    });
  }

  SolveReport accelerations(std::span<const T> states, std::span<const T> tau, std::span<T> acc,
                            std::span<SolveStatus> status, std::span<T> pivot) override {
    const std::size_t B = batch(states);
    const std::size_t N = static_cast<std::size_t>(algo_.n());
    expect(tau, B * N, "tau", true);
    expect(acc, B * N, "acc", false);
    expect(status, B, "status", true);
    expect(pivot, B, "pivot", true);
    bind();
    SolveReport report;
    chunks(B, [&](std::size_t s0, int b) {
      const std::size_t bb = static_cast<std::size_t>(b);
      host_status_.resize(bb);
      T* a = be().stage_out(acc.data() + s0 * N, bb * N, out_[0]);
      SolveStatus* st = be().stage_out(host_status_.data(), bb, status_out_);
      T* pv = pivot.empty() ? nullptr : be().stage_out(pivot.data() + s0, bb, out_[1]);
      (void)solve_chunk(states, tau, s0, b, a, st, pv);
      be().mark("results out and wait");
      be().fetch(acc.data() + s0 * N, a, bb * N);
      be().fetch(host_status_.data(), st, bb);
      if (pv) be().fetch(pivot.data() + s0, pv, bb);
      if (!status.empty()) deliver(status.data() + s0, host_status_.data(), bb);
      count_statuses(report, host_status_.data(), b);
    });
    be().mark("host");  // until the next mark: the caller's own work
    return report;
  }

  LossResult<T> loss_gradient(std::span<const T> states, std::span<const T> tau,
                              std::span<const T> targets, const LossOptions<T>& loss,
                              std::span<T> param_grad, std::span<T> input_grad) override {
    const std::size_t P = model_.spec().parameter_count();
    expect(param_grad, P, "param_grad", false);
    T* pg = be().stage_out(param_grad.data(), P, pgrad_);
    const LossSummary* summary = queue_loss_gradient(states, tau, targets, loss, pg, input_grad);
    LossSummary s;
    be().mark("totals out and wait");
    be().fetch(&s, summary, 1);
    if (s.grad_scale != 1.0) scale_caller(input_grad, static_cast<T>(s.grad_scale));
    be().mark("gradient out");
    be().fetch(param_grad.data(), pg, P);
    be().mark("host");  // until the next mark: the caller's own work
    return to_result<T>(s);
  }

  SolveReport accelerations_vjp(std::span<const T> states, std::span<const T> tau,
                                std::span<const T> cotangent, std::span<T> param_grad,
                                std::span<T> input_grad, std::span<T> tau_grad, std::span<T> acc,
                                std::span<SolveStatus> status) override {
    const std::size_t B = batch(states), w = width();
    const std::size_t N = static_cast<std::size_t>(algo_.n());
    const std::size_t P = model_.spec().parameter_count();
    expect(tau, B * N, "tau", true);
    expect(cotangent, B * N, "cotangent", false);
    expect(param_grad, P, "param_grad", false);
    expect(input_grad, B * w, "input_grad", true);
    expect(tau_grad, B * N, "tau_grad", true);
    expect(acc, B * N, "acc", true);
    expect(status, B, "status", true);
    bind();
    T* pg = be().stage_out(param_grad.data(), P, pgrad_);
    be().zero(pg, P);
    SolveReport report;
    // Per chunk: the forward pass and solve of accelerations(), ā = v on
    // the solved samples, and the adjoint of loss_gradient() with that ā
    // (no normalization, no penalty); λ = M⁻¹ā is the adjoint's own.
    chunks(B, [&](std::size_t s0, int b) {
      const std::size_t bb = static_cast<std::size_t>(b);
      host_status_.resize(bb);
      const T* v = be().stage_in(cotangent.data() + s0 * N, bb * N, in_[2]);
      grow(acc_, bb * N);
      grow(abar_, bb * N);
      SolveStatus* st = be().stage_out(host_status_.data(), bb, status_out_);
      const SolvedChunk c = solve_chunk(states, tau, s0, b, acc_.data(), st, nullptr);
      algo_.cotangent_terms(c.pass, v, abar_.data());
      T* xb = input_grad.empty() ? nullptr
                                 : be().stage_out(input_grad.data() + s0 * w, bb * w, out_[1]);
      algo_.adjoint(c.pass, c.x, abar_.data(), acc_.data(), pg, xb);
      be().mark("results out and wait");
      if (xb) be().fetch(input_grad.data() + s0 * w, xb, bb * w);
      if (!tau_grad.empty()) be().fetch(tau_grad.data() + s0 * N, algo_.adjoint_lambda(), bb * N);
      if (!acc.empty()) be().fetch(acc.data() + s0 * N, acc_.data(), bb * N);
      be().fetch(host_status_.data(), st, bb);
      if (!status.empty()) deliver(status.data() + s0, host_status_.data(), bb);
      count_statuses(report, host_status_.data(), b);
    });
    be().mark("gradient out");
    be().fetch(param_grad.data(), pg, P);
    be().mark("host");  // until the next mark: the caller's own work
    return report;
  }

  const LossSummary* loss_gradient_queued(std::span<const T> states, std::span<const T> tau,
                                          std::span<const T> targets, const LossOptions<T>& loss,
                                          std::span<T> param_grad) override {
    expect(param_grad, model_.spec().parameter_count(), "param_grad", false);
    return queue_loss_gradient(states, tau, targets, loss, param_grad.data(), {});
  }

  // loss_gradient's work into pg (backend memory, parameter_count()) and,
  // per chunk, the caller's input_grad (unscaled); the loss summary and the
  // scaled pg are the backend's when the queued work has run. (Public only
  // because nvcc refuses device lambdas in private member functions.)
  const LossSummary* queue_loss_gradient(std::span<const T> states, std::span<const T> tau,
                                         std::span<const T> targets, const LossOptions<T>& loss,
                                         T* pg, std::span<T> input_grad) {
    const std::size_t B = batch(states), w = width();
    const std::size_t N = static_cast<std::size_t>(algo_.n());
    const std::size_t P = model_.spec().parameter_count();
    expect(tau, B * N, "tau", true);
    expect(targets, B * N, "targets", false);
    expect(input_grad, B * w, "input_grad", true);
    expect(loss.weights, B, "weights", true);
    if (!loss.weights.empty()) {  // checked on the host (a copy where they are device memory)
      const T* wh = host_copy(loss.weights, host_weights_);
      for (std::size_t s = 0; s < B; ++s)
        if (!(wh[s] >= T(0)) || !std::isfinite(static_cast<double>(wh[s])))
          throw InvalidArgument("weights must be finite and >= 0");
    }
    if (!(loss.mass_penalty >= 0.0) || !std::isfinite(loss.mass_penalty))
      throw InvalidArgument("mass_penalty must be finite and >= 0");
    bind();
    constexpr int S = LayerAlgorithm<T, Backend>::kLossStats;
    be().zero(pg, P);
    // Batch sums, where the backend keeps them: the loss_terms columns, then
    // Σ penalty (totals_), and Σ_{solved} w of a first pass (first_).
    grow(totals_, S + 1);
    grow(first_, S);
    grow(stats_, static_cast<std::size_t>(std::min<std::size_t>(B, options_.chunk)) * S);
    be().zero(totals_.data(), S + 1);
    be().zero(first_.data(), S);
    const bool penalized = loss.mass_penalty > 0.0;
    // The data term is normalized by the solved weights of the whole batch,
    // the penalty is not, and both flow through one adjoint per chunk.
    // Without a penalty the data gradient is scaled at the end; with one, ā
    // must be normalized before the first adjoint, so a batch of several
    // chunks first learns which samples solve (forward passes only). Nothing
    // here waits for the backend until the totals are read at the end, except
    // input_grad, fetched per chunk where the caller asked for it.
    const bool two_pass = penalized && B > static_cast<std::size_t>(options_.chunk);
    // One chunk's solve and loss terms, summed into `totals`. q̈ and ā stay
    // where the backend holds them (acc_, abar_: the adjoint reads them there).
    auto loss_chunk = [&](std::size_t s0, int b, double* totals) {
      const std::size_t bb = static_cast<std::size_t>(b);
      const T* tg = be().stage_in(targets.data() + s0 * N, bb * N, in_[2]);
      const T* wt =
          loss.weights.empty() ? nullptr : be().stage_in(loss.weights.data() + s0, bb, weights_in_);
      grow(acc_, bb * N);
      grow(abar_, bb * N);
      const SolvedChunk c = solve_chunk(states, tau, s0, b, acc_.data(), nullptr, nullptr);
      algo_.loss_terms(c.pass, acc_.data(), tg, wt, loss.kind, abar_.data(), stats_.data());
      be().sum_rows(b, S, stats_.data(), static_cast<std::size_t>(S), totals);
      return c;
    };
    if (two_pass) {
      chunks(B, [&](std::size_t s0, int b) { (void)loss_chunk(s0, b, first_.data()); });
    }
    const T pscale = penalized ? static_cast<T>(loss.mass_penalty / static_cast<double>(B)) : T(0);
    chunks(B, [&](std::size_t s0, int b) {
      const std::size_t bb = static_cast<std::size_t>(b);
      const SolvedChunk c = loss_chunk(s0, b, totals_.data());
      const T* x = c.x;
      const auto& pass = c.pass;
      T* pd = nullptr;
      if (penalized) {
        // Here Σw is complete: one chunk, or counted by the first pass.
        algo_.normalize_loss_adjoint(pass, abar_.data(), two_pass ? first_.data() : totals_.data());
        grow(pen_, bb);
        pd = pen_.data();
        be().zero(pd, bb);  // stays 0 if pscale underflows and the adjoint skips it
      }
      T* xb = input_grad.empty() ? nullptr
                                 : be().stage_out(input_grad.data() + s0 * w, bb * w, out_[1]);
      algo_.adjoint(pass, x, abar_.data(), acc_.data(), pg, xb, pscale, pd);
      if (pd) be().sum_rows(b, 1, pd, 1, totals_.data() + S);
      if (xb) be().fetch(input_grad.data() + s0 * w, xb, bb * w);
    });
    // The loss from the sums and the gradient's normalization, on the backend.
    be().mark("loss summary");
    grow(summary_, 1);
    LossSummary* summary = summary_.data();
    const double* tot = totals_.data();
    const double rho = penalized ? loss.mass_penalty : 0.0, Bd = static_cast<double>(B);
    const int n = algo_.n();
    be().for_each(1, [=] LNN_LAMBDA(int) { *summary = summarize_loss(tot, S, Bd, n, rho); });
    be().for_each(static_cast<int>(P), [=] LNN_LAMBDA(int i) { pg[i] = scaled_gradient(pg[i], *summary); });
    return summary;
  }
 private:
  std::size_t width() const { return 2 * static_cast<std::size_t>(algo_.n()); }

  // Number of samples in `states`, after checking its shape.
  std::size_t batch(std::span<const T> states) const {
    const std::size_t w = width();
    if (states.size() % w != 0) {
      throw InvalidArgument("states has " + std::to_string(states.size()) +
                            " values, not a multiple of 2n = " + std::to_string(w));
    }
    return states.size() / w;
  }
  template <class U>
  static void expect(std::span<U> s, std::size_t size, const char* name, bool optional) {
    if (optional && s.empty()) return;
    if (s.size() != size) {
      throw InvalidArgument(std::string(name) + " has " + std::to_string(s.size()) +
                            " entries, expected " + std::to_string(size));
    }
  }
  // The parameters as the model (or the array bound instead) holds them now:
  // a trainer changes them between calls.
  // With EngineOptions::cache_parameters the backend's copy is made once and
  // again only after refresh_parameters() or bind_parameters().
  void bind() {
    if (cached_ == nullptr || !options_.cache_parameters)
      cached_ = be().parameters(bound_.empty() ? model_.parameters() : bound_, params_);
    algo_.bind_parameters(cached_);
  }

  // Forward with tangents, reverse pass and Hessian blocks of one chunk.
  typename LayerAlgorithm<T, Backend>::Pass second_order(const T* x, int b, Seeds seeds) {
    const auto pass = algo_.forward(x, b, seeds);
    algo_.reverse(pass);
    algo_.hessian_blocks(pass, x);
    return pass;
  }

  // One chunk's solve (docs/math.md §3), shared by accelerations, their VJP
  // and the loss: the states and τ of samples [s0, s0 + b) staged in, the
  // second-order pass, q̈ into `a` and statuses and pivots where not null
  // (backend memory). The staged states and the pass are what the adjoint
  // reads afterwards.
  struct SolvedChunk {
    const T* x;
    typename LayerAlgorithm<T, Backend>::Pass pass;
  };
  SolvedChunk solve_chunk(std::span<const T> states, std::span<const T> tau, std::size_t s0, int b,
                          T* a, SolveStatus* st, T* pv) {
    const std::size_t bb = static_cast<std::size_t>(b), w = width();
    const std::size_t N = static_cast<std::size_t>(algo_.n());
    const T* x = be().stage_in(states.data() + s0 * w, bb * w, in_[0]);
    const T* ta = tau.empty() ? nullptr : be().stage_in(tau.data() + s0 * N, bb * N, in_[1]);
    SolvedChunk c{x, second_order(x, b, Seeds::euler_lagrange)};
    algo_.solve(c.pass, x, ta, a, st, pv);
    return c;
  }
  // f(first sample, samples in chunk) over the batch. A backend's
  // out-of-memory error is given the batch and chunk sizes.
  template <class F>
  void chunks(std::size_t B, F f) {
    const std::size_t c = static_cast<std::size_t>(options_.chunk);
    try {
      for (std::size_t s0 = 0; s0 < B; s0 += c) {
        be().mark("chunk: copies in");
        f(s0, static_cast<int>(std::min(c, B - s0)));
      }
    } catch (const OutOfMemory& e) {
      throw OutOfMemory(std::string(e.what()) + " (batch of " + std::to_string(B) +
                        " samples in chunks of " + std::to_string(std::min(c, B)) +
                        "; a smaller EngineOptions::chunk needs less memory)");
    }
  }
  // Host values `host` (count) into the caller's array p, wherever it lives.
  template <class U>
  void deliver(U* p, const U* host, std::size_t count) {
    if (be().is_backend_memory(p)) {
      be().copy_from_host(p, host, count);
    } else {
      std::copy(host, host + count, p);
    }
  }
  // a *= factor (factor 0: a = 0, even where a held NaN), wherever a lives.
  void scale_caller(std::span<T> a, T factor) {
    if (a.empty()) return;
    if (be().is_backend_memory(a.data())) {
      if (factor == T(0)) {
        be().zero(a.data(), a.size());
      } else {
        be().scale(a.data(), a.size(), factor);
      }
    } else if (factor == T(0)) {
      std::fill(a.begin(), a.end(), T(0));
    } else {
      for (T& v : a) v *= factor;
    }
  }
  // The caller's array on the host (itself, or a copy read back from the backend).
  template <class U>
  const U* host_copy(std::span<const U> a, std::vector<U>& copy) {
    if (!be().is_backend_memory(a.data())) return a.data();
    copy.resize(a.size());
    be().fetch(copy.data(), a.data(), a.size());
    return copy.data();
  }
  const T* host_states(const T* p, std::size_t count) {
    return host_copy(std::span<const T>(p, count), host_states_);
  }

  const Model<T>& model_;
  EngineOptions options_;
  LayerAlgorithm<T, Backend> algo_;
  std::span<const T> bound_;  // bind_parameters(); empty: the model's
  const T* cached_ = nullptr;  // where the backend reads them (bind())
  template <class U>
  static void grow(Buffer<U>& buf, std::size_t size) {
    if (buf.size() < size) buf.resize(size);
  }

  Buffer<T> params_, pgrad_, in_[3], out_[3], weights_in_, acc_, abar_, pen_;
  Buffer<double> stats_, totals_, first_;  // loss_gradient's per-sample rows and batch sums
  Buffer<LossSummary> summary_;
  Buffer<SolveStatus> status_out_;
  std::vector<T> host_L_, host_grad_, host_E_, host_H_, host_M_, host_Cv_, host_f_, host_weights_,
      host_states_;
  std::vector<SolveStatus> host_status_;
};

}  // namespace lnn::engine
