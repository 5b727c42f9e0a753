// Adam / AdamW on the host, the learning-rate schedules and the options'
// validation (include/lnn/optimizer.hpp). Results are bit-identical for any
// number of OpenMP threads: every element's update is independent, and the
// one reduction (the gradient norm) is a serial sum.
#include "lnn/optimizer.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

#include "core/adam.hpp"
#include "lnn/errors.hpp"

namespace lnn LNN_CXX_API {
namespace {

// Below this many parameters a parallel region costs more than the update.
constexpr std::size_t kParallelThreshold = 1 << 15;

[[noreturn]] void bad_option(const char* field, double value, const char* rule) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  throw InvalidArgument(std::string("optimizer option ") + field + " = " + text + ": " + rule);
}

}  // namespace

void OptimizerOptions::validate() const {
  // Written so that NaN fails every check.
  if (!(lr > 0.0 && std::isfinite(lr))) bad_option("lr", lr, "must be positive and finite");
  if (!(beta1 >= 0.0 && beta1 < 1.0)) bad_option("beta1", beta1, "must be in [0, 1)");
  if (!(beta2 >= 0.0 && beta2 < 1.0)) bad_option("beta2", beta2, "must be in [0, 1)");
  if (!(eps > 0.0 && std::isfinite(eps))) bad_option("eps", eps, "must be positive and finite");
  if (!(weight_decay >= 0.0 && std::isfinite(weight_decay))) {
    bad_option("weight_decay", weight_decay, "must be non-negative and finite");
  }
  if (!(clip_norm >= 0.0 && std::isfinite(clip_norm))) {
    bad_option("clip_norm", clip_norm, "must be non-negative and finite (0 = no clipping)");
  }
  if (!(warmup_fraction > 0.0 && warmup_fraction < 1.0)) {
    bad_option("warmup_fraction", warmup_fraction, "must be in (0, 1)");
  }
  if (!(div_factor >= 1.0 && std::isfinite(div_factor))) {
    bad_option("div_factor", div_factor, "must be at least 1 and finite");
  }
  if (!(final_div_factor >= 1.0 && std::isfinite(final_div_factor))) {
    bad_option("final_div_factor", final_div_factor, "must be at least 1 and finite");
  }
}

double learning_rate(const OptimizerOptions& o, std::int64_t step, std::int64_t total_steps) {
  if (total_steps < 1) {
    throw InvalidArgument("learning_rate: total_steps = " + std::to_string(total_steps) +
                          ", must be at least 1");
  }
  if (step < 0) {
    throw InvalidArgument("learning_rate: step = " + std::to_string(step) + ", must be >= 0");
  }
  return core::scheduled_lr(o, step, total_steps);
}

template <class T>
Adam<T>::Adam(std::size_t parameter_count, OptimizerOptions options)
    : options_(options), m_(parameter_count, T(0)), v_(parameter_count, T(0)) {
  options_.validate();
}

template <class T>
typename Adam<T>::StepInfo Adam<T>::step(std::span<T> params, std::span<const T> grad,
                                         std::int64_t total_steps) {
  const std::size_t n = m_.size();
  if (params.size() != n || grad.size() != n) {
    throw InvalidArgument("Adam::step: " + std::to_string(params.size()) + " parameters and " +
                          std::to_string(grad.size()) + " gradient entries for an optimizer of " +
                          std::to_string(n) + " parameters");
  }
  const OptimizerOptions& o = options_;
  // g = grad (+ weight_decay·p); its norm in double, summed serially in a
  // fixed order so that it does not depend on the thread count.
  const bool coupled_decay = o.weight_decay > 0.0 && !o.decoupled;
  const T wd = static_cast<T>(o.weight_decay);
  auto g_of = [&](std::size_t i) { return coupled_decay ? grad[i] + wd * params[i] : grad[i]; };
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto g = static_cast<double>(g_of(i));
    sum += g * g;
  }
  StepInfo info;
  info.lr = learning_rate(o, steps_, total_steps);
  info.grad_norm = std::sqrt(sum);
  info.clipped = core::clips(o, info.grad_norm);
  ++steps_;
  const core::AdamStepFactors<T> f = core::adam_factors<T>(o, info.lr, info.grad_norm, steps_);
  T* const p = params.data();
  T* const m = m_.data();
  T* const v = v_.data();
#pragma omp parallel for schedule(static) if (n >= kParallelThreshold)
  for (std::size_t i = 0; i < n; ++i) core::adam_update(p[i], g_of(i), m[i], v[i], f);
  return info;
}

template <class T>
void Adam<T>::restore(std::span<const T> m, std::span<const T> v, std::int64_t steps) {
  if (m.size() != m_.size() || v.size() != v_.size()) {
    throw InvalidArgument("Adam::restore: moments of " + std::to_string(m.size()) + " and " +
                          std::to_string(v.size()) + " entries for an optimizer of " +
                          std::to_string(m_.size()) + " parameters");
  }
  if (steps < 0) {
    throw InvalidArgument("Adam::restore: steps = " + std::to_string(steps) + ", must be >= 0");
  }
  m_.assign(m.begin(), m.end());
  v_.assign(v.begin(), v.end());
  steps_ = steps;
}

template class Adam<float>;
template class Adam<double>;

}  // namespace lnn
