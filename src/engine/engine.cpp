// lnn::Engine: the public batched API over the layer algorithm. Splits a
// batch into chunks (bounded workspace), checks shapes, counts solve outcomes.
#include "lnn/engine.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "engine/layer_algorithm.hpp"
#include "lnn/errors.hpp"

namespace lnn {

using core::Seeds;

template <class T>
struct Engine<T>::Impl {
  Impl(const Model<T>& m, const EngineOptions& o) : model(m), options(o), algo(m, o) {}
  const Model<T>& model;
  EngineOptions options;
  engine::LayerAlgorithm<T, cpu::CpuBackend<T>> algo;

  int n() const { return model.spec().n; }

  // Number of samples in `states`, after checking its shape.
  std::size_t batch(std::span<const T> states) const {
    const std::size_t w = 2 * static_cast<std::size_t>(n());
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
  // Forward with tangents, reverse pass and Hessian blocks of one chunk.
  void second_order(const T* x, int b, Seeds seeds) {
    algo.forward(x, b, seeds);
    algo.reverse(b);
    algo.hessian_blocks(x, b, seeds);
  }
  // f(first sample, samples in chunk) over the batch.
  template <class F>
  void chunks(std::size_t B, F f) {
    const std::size_t c = static_cast<std::size_t>(options.chunk);
    for (std::size_t s0 = 0; s0 < B; s0 += c) f(s0, static_cast<int>(std::min(c, B - s0)));
  }
};

template <class T>
Engine<T>::Engine(const Model<T>& model, EngineOptions options) {
  model.spec().validate();
  if (options.device == Device::cuda) {
    throw InvalidArgument(
        "device 'cuda': the CUDA engine is not implemented in this version of lnn; use "
        "device 'cpu'");
  }
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
void Engine<T>::lagrangian(std::span<const T> states, std::span<T> L) {
  Impl& I = *impl_;
  const std::size_t B = I.batch(states);
  I.expect(L, B, "L", false);
  const std::size_t w = 2 * static_cast<std::size_t>(I.n());
  I.chunks(B, [&](std::size_t s0, int b) {
    I.algo.forward(states.data() + s0 * w, b, Seeds::none);
    I.algo.lagrangian(b, Seeds::none, L.data() + s0);
  });
}

template <class T>
void Engine<T>::gradient(std::span<const T> states, std::span<T> L, std::span<T> grad) {
  Impl& I = *impl_;
  const std::size_t B = I.batch(states);
  const std::size_t w = 2 * static_cast<std::size_t>(I.n());
  I.expect(L, B, "L", true);
  I.expect(grad, B * w, "grad", false);
  I.chunks(B, [&](std::size_t s0, int b) {
    const T* x = states.data() + s0 * w;
    I.algo.forward(x, b, Seeds::none);
    if (!L.empty()) I.algo.lagrangian(b, Seeds::none, L.data() + s0);
    I.algo.reverse(b);
    I.algo.input_gradient(x, b, grad.data() + s0 * w);
  });
}

template <class T>
void Engine<T>::energy(std::span<const T> states, std::span<T> E) {
  Impl& I = *impl_;
  const std::size_t B = I.batch(states);
  const int n = I.n();
  const std::size_t w = 2 * static_cast<std::size_t>(n);
  I.expect(E, B, "E", false);
  std::vector<T> L, grad;
  I.chunks(B, [&](std::size_t s0, int b) {
    L.resize(static_cast<std::size_t>(b));
    grad.resize(static_cast<std::size_t>(b) * w);
    const T* x = states.data() + s0 * w;
    I.algo.forward(x, b, Seeds::none);
    I.algo.lagrangian(b, Seeds::none, L.data());
    I.algo.reverse(b);
    I.algo.input_gradient(x, b, grad.data());
    for (int s = 0; s < b; ++s) {
      T e = -L[static_cast<std::size_t>(s)];
      for (int j = 0; j < n; ++j) e += x[s * w + n + j] * grad[s * w + n + j];
      E[s0 + static_cast<std::size_t>(s)] = e;
    }
  });
}

template <class T>
void Engine<T>::euler_lagrange_terms(std::span<const T> states, std::span<T> M, std::span<T> Cv,
                                     std::span<T> f) {
  Impl& I = *impl_;
  const std::size_t B = I.batch(states);
  const int n = I.n();
  const std::size_t N = static_cast<std::size_t>(n), w = 2 * N, k = N + 1;
  I.expect(M, B * N * N, "M", true);
  I.expect(Cv, B * N, "Cv", true);
  I.expect(f, B * N, "f", true);
  std::vector<T> grad;
  I.chunks(B, [&](std::size_t s0, int b) {
    const T* x = states.data() + s0 * w;
    I.second_order(x, b, Seeds::euler_lagrange);
    const T* H = I.algo.hessian_data();
    for (std::size_t s = 0; s < static_cast<std::size_t>(b); ++s) {
      const T* h = H + s * k * k;
      for (std::size_t p = 0; p < N; ++p) {
        if (!M.empty())
          for (std::size_t q = 0; q < N; ++q) M[(s0 + s) * N * N + p * N + q] = h[p * k + q];
        if (!Cv.empty()) Cv[(s0 + s) * N + p] = h[p * k + N];
      }
    }
    if (!f.empty()) {
      grad.resize(static_cast<std::size_t>(b) * w);
      I.algo.input_gradient(x, b, grad.data());
      for (std::size_t s = 0; s < static_cast<std::size_t>(b); ++s)
        for (std::size_t p = 0; p < N; ++p) f[(s0 + s) * N + p] = grad[s * w + p];
    }
  });
}

template <class T>
void Engine<T>::hessian(std::span<const T> states, std::span<T> H, std::span<T> grad) {
  Impl& I = *impl_;
  const std::size_t B = I.batch(states);
  const std::size_t w = 2 * static_cast<std::size_t>(I.n());
  I.expect(H, B * w * w, "H", false);
  I.expect(grad, B * w, "grad", true);
  I.chunks(B, [&](std::size_t s0, int b) {
    const T* x = states.data() + s0 * w;
    I.second_order(x, b, Seeds::full);
    const T* h = I.algo.hessian_data();
    std::copy(h, h + static_cast<std::size_t>(b) * w * w, H.data() + s0 * w * w);
    if (!grad.empty()) I.algo.input_gradient(x, b, grad.data() + s0 * w);
  });
}

namespace {
void count(SolveReport& r, const SolveStatus* st, int b) {
  r.samples += static_cast<std::size_t>(b);
  for (int s = 0; s < b; ++s) {
    if (st[s] == SolveStatus::not_positive_definite) ++r.not_positive_definite;
    if (st[s] == SolveStatus::singular) ++r.singular;
  }
}
}  // namespace

template <class T>
SolveReport Engine<T>::accelerations(std::span<const T> states, std::span<const T> tau,
                                     std::span<T> acc, std::span<SolveStatus> status,
                                     std::span<T> pivot) {
  Impl& I = *impl_;
  const std::size_t B = I.batch(states);
  const std::size_t N = static_cast<std::size_t>(I.n()), w = 2 * N;
  I.expect(tau, B * N, "tau", true);
  I.expect(acc, B * N, "acc", false);
  I.expect(status, B, "status", true);
  I.expect(pivot, B, "pivot", true);
  SolveReport report;
  std::vector<SolveStatus> st;
  I.chunks(B, [&](std::size_t s0, int b) {
    const T* x = states.data() + s0 * w;
    st.resize(static_cast<std::size_t>(b));
    I.second_order(x, b, Seeds::euler_lagrange);
    I.algo.solve(x, tau.empty() ? nullptr : tau.data() + s0 * N, b, acc.data() + s0 * N, st.data(),
                 pivot.empty() ? nullptr : pivot.data() + s0);
    if (!status.empty())
      std::copy(st.begin(), st.end(), status.begin() + static_cast<std::ptrdiff_t>(s0));
    count(report, st.data(), b);
  });
  return report;
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
  Impl& I = *impl_;
  const std::size_t B = I.batch(states);
  const std::size_t N = static_cast<std::size_t>(I.n()), w = 2 * N;
  I.expect(tau, B * N, "tau", true);
  I.expect(targets, B * N, "targets", false);
  I.expect(param_grad, I.model.spec().parameter_count(), "param_grad", false);
  I.expect(input_grad, B * w, "input_grad", true);
  I.expect(loss.weights, B, "weights", true);
  for (const T wt : loss.weights)
    if (!(wt >= T(0)) || !std::isfinite(static_cast<double>(wt)))
      throw InvalidArgument("weights must be finite and >= 0");
  if (!(loss.mass_penalty >= 0.0) || !std::isfinite(loss.mass_penalty))
    throw InvalidArgument("mass_penalty must be finite and >= 0");
  std::fill(param_grad.begin(), param_grad.end(), T(0));
  const bool penalized = loss.mass_penalty > 0.0;
  auto weight = [&](std::size_t s) { return loss.weights.empty() ? T(1) : loss.weights[s]; };
  LossResult<T> result;
  std::vector<SolveStatus> st;
  std::vector<T> acc, abar, pen;
  // The data term is normalized by the solved weights of the whole batch, the
  // penalty is not, and both flow through one adjoint per chunk. Without a
  // penalty the data gradient is scaled at the end (as it always was); with
  // one, ā must be scaled before the first adjoint, so a batch of several
  // chunks first learns which samples solve (forward passes only).
  double wsum = 0.0;  // Σ_{solved s} w_s
  std::size_t solved = 0;
  const bool two_pass = penalized && B > static_cast<std::size_t>(I.options.chunk);
  if (two_pass) {
    I.chunks(B, [&](std::size_t s0, int b) {
      const std::size_t bb = static_cast<std::size_t>(b);
      st.resize(bb);
      acc.resize(bb * N);
      I.second_order(states.data() + s0 * w, b, Seeds::euler_lagrange);
      I.algo.solve(states.data() + s0 * w, tau.empty() ? nullptr : tau.data() + s0 * N, b,
                   acc.data(), st.data(), nullptr);
      for (std::size_t s = 0; s < bb; ++s)
        if (st[s] == SolveStatus::ok) wsum += static_cast<double>(weight(s0 + s));
    });
  }
  double sum = 0.0, pen_sum = 0.0;
  I.chunks(B, [&](std::size_t s0, int b) {
    const std::size_t bb = static_cast<std::size_t>(b);
    const T* x = states.data() + s0 * w;
    st.resize(bb);
    acc.resize(bb * N);
    abar.resize(bb * N);
    I.second_order(x, b, Seeds::euler_lagrange);
    I.algo.solve(x, tau.empty() ? nullptr : tau.data() + s0 * N, b, acc.data(), st.data(), nullptr);
    count(result.solve, st.data(), b);
    // ∂ℓ/∂q̈ before the 1/(Σw·n) of the mean, applied at the end (or below).
    for (std::size_t s = 0; s < bb; ++s) {
      const bool ok = st[s] == SolveStatus::ok;
      const T ws = weight(s0 + s);
      solved += ok ? 1 : 0;
      if (ok && !two_pass) wsum += static_cast<double>(ws);
      const bool used = ok && ws != T(0);  // a zero weight masks even a NaN q̈
      for (std::size_t p = 0; p < N; ++p) {
        const T d = used ? acc[s * N + p] - targets[(s0 + s) * N + p] : T(0);
        if (loss.kind == Loss::l1) {
          sum += static_cast<double>(ws) * std::fabs(static_cast<double>(d));
          abar[s * N + p] = ws * (d > T(0) ? T(1) : (d < T(0) ? T(-1) : T(0)));
        } else {
          sum += static_cast<double>(ws) * (static_cast<double>(d) * static_cast<double>(d));
          abar[s * N + p] = ws * (T(2) * d);
        }
      }
    }
    T pscale = T(0);
    if (penalized) {
      // Here wsum is complete: one chunk, or counted by the first pass.
      const double denom = wsum * static_cast<double>(N);
      const T scale = static_cast<T>(denom > 0.0 ? 1.0 / denom : 0.0);
      for (T& a : abar) a *= scale;
      pscale = static_cast<T>(loss.mass_penalty / static_cast<double>(B));
      pen.assign(bb, T(0));  // stays 0 if pscale underflows and the adjoint skips it
    }
    I.algo.adjoint(x, b, abar.data(), acc.data(), param_grad.data(),
                   input_grad.empty() ? nullptr : input_grad.data() + s0 * w, pscale,
                   penalized ? pen.data() : nullptr);
    if (penalized)
      for (std::size_t s = 0; s < bb; ++s) pen_sum += static_cast<double>(pen[s]);
  });
  const double denom = wsum * static_cast<double>(N);
  if (penalized) {
    result.data_loss = denom > 0.0 ? sum / denom : 0.0;
    result.penalty = B > 0 ? loss.mass_penalty * pen_sum / static_cast<double>(B) : 0.0;
    result.loss = result.data_loss + result.penalty;
    return result;
  }
  if (solved == 0 || denom == 0.0) {
    result.loss = result.data_loss = solved == 0 ? std::numeric_limits<double>::quiet_NaN() : 0.0;
    std::fill(param_grad.begin(), param_grad.end(), T(0));
    std::fill(input_grad.begin(), input_grad.end(), T(0));
    return result;
  }
  result.loss = result.data_loss = sum / denom;
  const T scale = static_cast<T>(1.0 / denom);
  for (T& g : param_grad) g *= scale;
  for (T& g : input_grad) g *= scale;
  return result;
}

template class Engine<float>;
template class Engine<double>;

}  // namespace lnn
