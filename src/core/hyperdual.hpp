// Hyper-dual numbers: exact first and second derivatives of code written for
// a plain number type (Fike & Alonso 2011). x = v + a·ε₁ + b·ε₂ + ab·ε₁ε₂ with
// ε₁² = ε₂² = 0, ε₁ε₂ ≠ 0. Seeding a = u, b = w for the inputs and evaluating
// f gives
//   v = f,  a = ∇f·u,  b = ∇f·w,  ab = uᵀ ∇²f w,
// with no truncation error (unlike finite differences) and no tape (unlike
// reverse mode), so one evaluation per (u, w) pair suffices and the code runs
// unchanged on the device. The analytic systems (src/systems) are written once
// as L(q, q̇) templates over the number type and evaluated with these.
//
// Every function applies the second-order chain rule
//   f(x) = f(v) + f'(v)·(a ε₁ + b ε₂ + ab ε₁ε₂) + f''(v)·a·b ε₁ε₂.
#pragma once
#include <cmath>

#include "core/host_device.hpp"

namespace lnn::core {

template <class T>
struct HyperDual {
  T v = T(0), a = T(0), b = T(0), ab = T(0);

  HyperDual() = default;
  // A constant: implicit so that literals and parameters mix with variables.
  LNN_HD HyperDual(T value) : v(value) {}  // NOLINT(google-explicit-constructor)
  LNN_HD HyperDual(T value, T da, T db, T dab) : v(value), a(da), b(db), ab(dab) {}

  LNN_HD HyperDual& operator+=(const HyperDual& y) { return *this = *this + y; }
  LNN_HD HyperDual& operator-=(const HyperDual& y) { return *this = *this - y; }
  LNN_HD HyperDual& operator*=(const HyperDual& y) { return *this = *this * y; }
  LNN_HD HyperDual& operator/=(const HyperDual& y) { return *this = *this / y; }

  LNN_HD friend HyperDual operator+(const HyperDual& x, const HyperDual& y) {
    return {x.v + y.v, x.a + y.a, x.b + y.b, x.ab + y.ab};
  }
  LNN_HD friend HyperDual operator-(const HyperDual& x, const HyperDual& y) {
    return {x.v - y.v, x.a - y.a, x.b - y.b, x.ab - y.ab};
  }
  LNN_HD friend HyperDual operator-(const HyperDual& x) { return {-x.v, -x.a, -x.b, -x.ab}; }
  LNN_HD friend HyperDual operator*(const HyperDual& x, const HyperDual& y) {
    return {x.v * y.v, x.a * y.v + x.v * y.a, x.b * y.v + x.v * y.b,
            x.ab * y.v + x.a * y.b + x.b * y.a + x.v * y.ab};
  }
  LNN_HD friend HyperDual operator/(const HyperDual& x, const HyperDual& y) {
    const T r = T(1) / y.v;
    // 1/y by the chain rule (f' = −r², f'' = 2r³), then the product.
    const HyperDual inv = apply(y, r, -r * r, T(2) * r * r * r);
    return x * inv;
  }
  LNN_HD friend bool operator<(const HyperDual& x, const HyperDual& y) { return x.v < y.v; }
  LNN_HD friend bool operator>(const HyperDual& x, const HyperDual& y) { return x.v > y.v; }

  // f(x) from f(v), f'(v), f''(v).
  LNN_HD static HyperDual apply(const HyperDual& x, T f, T df, T d2f) {
    return {f, df * x.a, df * x.b, df * x.ab + d2f * x.a * x.b};
  }
};

// The value of a plain number or a hyper-dual (for branches in system code).
template <class T>
LNN_HD T value_of(T x) {
  return x;
}
template <class T>
LNN_HD T value_of(const HyperDual<T>& x) {
  return x.v;
}

template <class T>
LNN_HD HyperDual<T> sin(const HyperDual<T>& x) {
  using std::cos;
  using std::sin;
  const T s = sin(x.v);
  return HyperDual<T>::apply(x, s, cos(x.v), -s);
}
template <class T>
LNN_HD HyperDual<T> cos(const HyperDual<T>& x) {
  using std::cos;
  using std::sin;
  const T c = cos(x.v);
  return HyperDual<T>::apply(x, c, -sin(x.v), -c);
}
template <class T>
LNN_HD HyperDual<T> exp(const HyperDual<T>& x) {
  using std::exp;
  const T e = exp(x.v);
  return HyperDual<T>::apply(x, e, e, e);
}
template <class T>
LNN_HD HyperDual<T> log(const HyperDual<T>& x) {
  using std::log;
  const T r = T(1) / x.v;
  return HyperDual<T>::apply(x, log(x.v), r, -r * r);
}
template <class T>
LNN_HD HyperDual<T> sqrt(const HyperDual<T>& x) {
  using std::sqrt;
  const T s = sqrt(x.v);
  const T d = T(0.5) / s;  // f' = 1/(2√v), f'' = −f'/(2v)
  return HyperDual<T>::apply(x, s, d, -d / (T(2) * x.v));
}
// x^p for a constant real exponent p (x > 0 unless p is a whole number).
template <class T>
LNN_HD HyperDual<T> pow(const HyperDual<T>& x, T p) {
  using std::pow;
  const T f2 = pow(x.v, p - T(2));
  const T f1 = f2 * x.v;
  return HyperDual<T>::apply(x, f1 * x.v, p * f1, p * (p - T(1)) * f2);
}

}  // namespace lnn::core
