// One Adam/AdamW update of one parameter: the per-element arithmetic that the
// host optimizer (src/train/optimizer.cpp) and the device training store
// (src/train/parameter_store.hpp, on either backend) run. The factors are
// computed once per step on the host (Adam<T>::plan_step).
#pragma once
#include <cmath>

#include "core/host_device.hpp"
#include "lnn/optimizer.hpp"

namespace lnn::core {

// g already includes coupled weight decay; f.clipped scales it by f.clip_scale.
template <class T>
LNN_HD void adam_update(T& p, T g, T& m, T& v, const AdamStepFactors<T>& f) {
  if (f.clipped) g *= f.clip_scale;
  m = f.b1 * m + f.one_minus_b1 * g;
  v = f.b2 * v + f.one_minus_b2 * g * g;
  const T denom = std::sqrt(v) * f.inv_sqrt_bias2 + f.eps;
  p = f.keep * p - f.step_size * m / denom;
}

}  // namespace lnn::core
