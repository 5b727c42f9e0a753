// Activations with exact first, second and third derivatives (docs/math.md §2).
// One function evaluates all four at once so that each transcendental is
// computed once per neuron; both backends call it.
#pragma once
#include <cmath>

#include "core/host_device.hpp"
#include "lnn/model.hpp"

namespace lnn::core {

template <class T>
struct ActivationDerivs {
  T f;   // σ(a)
  T d1;  // σ'(a)
  T d2;  // σ''(a)
  T d3;  // σ'''(a)
};

template <class T>
LNN_HD T sigmoid(T a) {
  // Stable for both signs: exp of a non-positive number only.
  if (a >= T(0)) {
    const T e = std::exp(-a);
    return T(1) / (T(1) + e);
  }
  const T e = std::exp(a);
  return e / (T(1) + e);
}

// SiLU a·s and its derivatives; xtanh_half is 2·SiLU − a.
template <class T>
LNN_HD ActivationDerivs<T> silu_derivs(T a) {
  const T s = sigmoid(a);
  const T ds = s * (T(1) - s);       // s'
  const T one_2s = T(1) - T(2) * s;  // s''/s' = 1 − 2s
  return {a * s, s + a * ds, T(2) * ds + a * ds * one_2s,
          T(3) * ds * one_2s + a * (ds * one_2s * one_2s - T(2) * ds * ds)};
}

// log(1 + x) by Kahan's trick: as accurate as log1p, but costs one log
// (glibc's log1pf took a quarter of the forward pass, measured with perf).
template <class T>
LNN_HD T log1p_fast(T x) {
  const T u = T(1) + x;
  if (u == T(1)) return x;
  return std::log(u) * (x / (u - T(1)));
}

// tanh(u) and 1 − tanh²(u), the latter without cancellation at large |u|.
template <class T>
LNN_HD void tanh_sech2(T u, T& t, T& h) {
  const T e = std::exp(T(-2) * std::fabs(u));  // in (0, 1]
  const T one_e = T(1) + e;
  t = (T(1) - e) / one_e;
  if (u < T(0)) t = -t;
  h = T(4) * e / (one_e * one_e);
}

template <class T>
LNN_HD ActivationDerivs<T> activation_derivs(Activation act, T a) {
  switch (act) {
    case Activation::softplus: {
      // One exp serves both: e = e^{−|a|}, s = sigmoid(a),
      // log(1 + e^a) = max(a, 0) + log1p(e).
      const T e = std::exp(-std::fabs(a));
      const T r = T(1) / (T(1) + e);
      const T s = a >= T(0) ? r : e * r;
      const T ds = e * r * r;  // s(1 − s)
      const T f = (a > T(0) ? a : T(0)) + log1p_fast(e);
      return {f, s, ds, ds * (T(1) - T(2) * s)};
    }
    case Activation::tanh: {
      T t, h;
      tanh_sech2(a, t, h);
      return {t, h, T(-2) * t * h, h * (T(6) * t * t - T(2))};
    }
    case Activation::silu:
      return silu_derivs(a);
    case Activation::xtanh_half: {
      // a·tanh(a/2) = a(2s − 1) = 2·SiLU(a) − a
      const ActivationDerivs<T> d = silu_derivs(a);
      return {T(2) * d.f - a, T(2) * d.d1 - T(1), T(2) * d.d2, T(2) * d.d3};
    }
    case Activation::gelu: {
      // σ = a/2 (1 + tanh u), u = c(a + k a³)
      const T c = T(0.7978845608028654);  // √(2/π)
      const T k = T(0.044715);
      const T u = c * (a + k * a * a * a);
      const T u1 = c * (T(1) + T(3) * k * a * a);
      const T u2 = c * T(6) * k * a;
      const T u3 = c * T(6) * k;
      T t, h;
      tanh_sech2(u, t, h);
      const T f = T(0.5) * a * (T(1) + t);
      const T d1 = T(0.5) * (T(1) + t) + T(0.5) * a * h * u1;
      const T d2 = h * u1 + T(0.5) * a * h * (u2 - T(2) * t * u1 * u1);
      const T d3 =
          T(1.5) * h * (u2 - T(2) * t * u1 * u1) +
          T(0.5) * a * h * (u3 - T(6) * t * u1 * u2 + (T(4) * t * t - T(2) * h) * u1 * u1 * u1);
      return {f, d1, d2, d3};
    }
  }
  return {T(0), T(0), T(0), T(0)};  // unreachable: Activation is validated
}

}  // namespace lnn::core
