// The loss of one loss_gradient call as the backend leaves it (docs/math.md
// §4, §7): formed on the backend from the batch sums by a one-thread loop, so
// that a training step on a device never waits for it; the host reads it
// when it asks (lnn::Engine::loss_gradient) or a step later (the trainer,
// docs/architecture.md "A training step on a device").
#pragma once
#include <cstddef>
#include <limits>

#include "core/host_device.hpp"
#include "lnn/engine.hpp"

namespace lnn::engine {

struct LossSummary {
  double loss = 0.0, data_loss = 0.0, penalty = 0.0;
  double samples = 0.0, not_positive_definite = 0.0, singular = 0.0;
  // The factor the summed parameter gradient is multiplied by (1: none; 0:
  // set to zero, NaN-free, when nothing solved or the weights sum to 0).
  double grad_scale = 1.0;
};

// From the batch sums `totals` of LayerAlgorithm::loss_terms (Σ w·ℓ, Σ_{solved}
// w, solved, not positive definite, singular) and Σ penalty at totals[stats],
// for B samples of n coordinates and penalty weight rho (>= 0).
LNN_HD LossSummary summarize_loss(const double* totals, int stats, double B, int n,
                                         double rho) {
  LossSummary r;
  const double sum = totals[0], wsum = totals[1], solved = totals[2], pen_sum = totals[stats];
  r.samples = B;
  r.not_positive_definite = totals[3];
  r.singular = totals[4];
  const double denom = wsum * static_cast<double>(n);
  if (rho > 0.0) {
    // The data term's gradient was normalized before the adjoint.
    r.data_loss = denom > 0.0 ? sum / denom : 0.0;
    r.penalty = B > 0.0 ? rho * pen_sum / B : 0.0;
    r.loss = r.data_loss + r.penalty;
  } else if (solved == 0.0 || denom == 0.0) {
    r.loss = r.data_loss = solved == 0.0 ? std::numeric_limits<double>::quiet_NaN() : 0.0;
    r.grad_scale = 0.0;
  } else {
    r.loss = r.data_loss = sum / denom;
    r.grad_scale = 1.0 / denom;
  }
  return r;
}

// The summed gradient entry g scaled as summary s says.
template <class T>
LNN_HD T scaled_gradient(T g, const LossSummary& s) {
  if (s.grad_scale == 1.0) return g;
  const T f = static_cast<T>(s.grad_scale);
  return f == T(0) ? T(0) : g * f;
}

template <class T>
LossResult<T> to_result(const LossSummary& s) {
  LossResult<T> r;
  r.loss = s.loss;
  r.data_loss = s.data_loss;
  r.penalty = s.penalty;
  r.solve.samples = static_cast<std::size_t>(s.samples);
  r.solve.not_positive_definite = static_cast<std::size_t>(s.not_positive_definite);
  r.solve.singular = static_cast<std::size_t>(s.singular);
  return r;
}

}  // namespace lnn::engine
