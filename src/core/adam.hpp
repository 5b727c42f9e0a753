// Adam's scalar plan and per-element update, written once for the host
// optimizer (src/train/optimizer.cpp) and the device training store
// (src/train/parameter_store.hpp), which runs the plan in a one-thread
// backend loop so that a training step never waits for the host
// (docs/architecture.md, "A training step on a device").
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.hpp"
#include "lnn/optimizer.hpp"

namespace lnn::core {

// The per-element factors of one Adam step, from the step's scalars in
// double rounded once to T.
template <class T>
struct AdamStepFactors {
  T b1, one_minus_b1, b2, one_minus_b2;
  T step_size;       // lr / (1 − β₁ᵗ)
  T inv_sqrt_bias2;  // 1 / √(1 − β₂ᵗ)
  T eps;
  T keep;        // 1 − lr·weight_decay (decoupled), else 1
  T clip_scale;  // clip_norm / ‖g‖ where clipped
  bool clipped;
};

// From `from` at x = 0 to `to` at x = 1 along half a cosine period.
LNN_HD double cosine_between(double from, double to, double x) {
  constexpr double kPi = 3.14159265358979323846;
  return to + (from - to) * 0.5 * (1.0 + std::cos(kPi * x));
}

// The learning rate of step `step` (>= 0) of `total` (>= 1) under
// o.schedule (include/lnn/optimizer.hpp); a step past the end gets the last
// step's. Arguments unchecked: lnn::learning_rate checks them on the host.
LNN_HD double scheduled_lr(const OptimizerOptions& o, std::int64_t step, std::int64_t total) {
  const std::int64_t s = step < total - 1 ? step : total - 1;
  switch (o.schedule) {
    case Schedule::constant:
      return o.lr;
    case Schedule::step: {
      // In integers, so that the boundaries fall exactly on 1/3 and 2/3:
      // s ≥ S/3 ⇔ s ≥ ⌈S/3⌉ and s ≥ 2S/3 ⇔ s ≥ S − ⌊S/3⌋, without forming 3s.
      const std::int64_t third = total / 3;
      if (s >= total - third) return o.lr / 100.0;
      if (s >= third + (total % 3 != 0 ? 1 : 0)) return o.lr / 10.0;
      return o.lr;
    }
    case Schedule::one_cycle: {
      const double start = o.lr / o.div_factor;
      const double end = start / o.final_div_factor;
      const double warmup = o.warmup_fraction * static_cast<double>(total);
      const auto x = static_cast<double>(s);
      if (x < warmup) return cosine_between(start, o.lr, x / warmup);
      const double span = static_cast<double>(total - 1) - warmup;
      // The last step gets `end` even when the warm-up leaves no room to decay.
      return cosine_between(o.lr, end, span > 0.0 ? (x - warmup) / span : 1.0);
    }
    case Schedule::cosine:
      return cosine_between(o.lr, 0.0, static_cast<double>(s) / static_cast<double>(total));
  }
  return o.lr;
}

// Whether a gradient of L2 norm grad_norm is clipped.
LNN_HD bool clips(const OptimizerOptions& o, double grad_norm) {
  return o.clip_norm > 0.0 && grad_norm > o.clip_norm;
}

// The factors of Adam step t (>= 1, this step counted) at learning rate lr
// for a gradient (with coupled weight decay added) of L2 norm grad_norm.
template <class T>
LNN_HD AdamStepFactors<T> adam_factors(const OptimizerOptions& o, double lr, double grad_norm,
                                       std::int64_t t) {
  const bool clipped = clips(o, grad_norm);
  const auto td = static_cast<double>(t);
  const double bias1 = 1.0 - std::pow(o.beta1, td);
  const double bias2 = 1.0 - std::pow(o.beta2, td);
  AdamStepFactors<T> f;
  f.clip_scale = static_cast<T>(clipped ? o.clip_norm / grad_norm : 1.0);
  f.clipped = clipped;
  f.b1 = static_cast<T>(o.beta1);
  f.one_minus_b1 = static_cast<T>(1.0 - o.beta1);
  f.b2 = static_cast<T>(o.beta2);
  f.one_minus_b2 = static_cast<T>(1.0 - o.beta2);
  f.step_size = static_cast<T>(lr / bias1);
  f.inv_sqrt_bias2 = static_cast<T>(1.0 / std::sqrt(bias2));
  f.eps = static_cast<T>(o.eps);
  f.keep = static_cast<T>(o.decoupled ? 1.0 - lr * o.weight_decay : 1.0);
  return f;
}

// One Adam/AdamW update of one parameter; g already includes coupled
// weight decay; f.clipped scales it by f.clip_scale.
template <class T>
LNN_HD void adam_update(T& p, T g, T& m, T& v, const AdamStepFactors<T>& f) {
  if (f.clipped) g *= f.clip_scale;
  m = f.b1 * m + f.one_minus_b1 * g;
  v = f.b2 * v + f.one_minus_b2 * g * g;
  const T denom = std::sqrt(v) * f.inv_sqrt_bias2 + f.eps;
  p = f.keep * p - f.step_size * m / denom;
}

}  // namespace lnn::core
