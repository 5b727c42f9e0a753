// Shared test helpers: tolerances derived from the precision (the rule
// "tol + |ref|·eps"), random states, small reference linear algebra.
#pragma once
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "lnn/model.hpp"

namespace lnn::test {

template <class T>
constexpr double eps() {
  return static_cast<double>(std::numeric_limits<T>::epsilon());
}

// Central differences with step h ~ eps^(1/3) err by about eps^(2/3) relative
// to the function's scale; `scale` is the magnitude of the quantity compared.
template <class T>
double fd_tol(double scale) {
  return 1e3 * std::pow(eps<T>(), 2.0 / 3.0) * (1.0 + scale);
}

template <class T>
double fd_step() {
  return std::cbrt(eps<T>());
}

// Central difference with one Richardson step: (4·D(h/2) − D(h))/3 has
// truncation error O(h⁴) where D(h) has O(h²); for functions with large
// higher derivatives (a solve through an ill-conditioned M) that matters.
template <class F>
double richardson(F f, double h) {
  const double d1 = (f(h) - f(-h)) / (2 * h);
  const double d2 = (f(h / 2) - f(-h / 2)) / h;
  return (4 * d2 - d1) / 3;
}

inline double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// Random states with q in [−2, 2], q̇ in [−1.5, 1.5] (B × 2n).
template <class T>
std::vector<T> random_states(int B, int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uq(-2.0, 2.0), uv(-1.5, 1.5);
  std::vector<T> x(static_cast<std::size_t>(B) * 2 * n);
  for (int s = 0; s < B; ++s)
    for (int j = 0; j < 2 * n; ++j)
      x[static_cast<std::size_t>(s) * 2 * n + j] = static_cast<T>(j < n ? uq(rng) : uv(rng));
  return x;
}

// Solves A x = b (n×n row-major) by Gaussian elimination with partial
// pivoting in long double: an independent reference for the engine's solves.
inline std::vector<double> reference_solve(std::vector<double> A, std::vector<double> b) {
  const int n = static_cast<int>(b.size());
  std::vector<long double> a(A.begin(), A.end()), r(b.begin(), b.end());
  for (int c = 0; c < n; ++c) {
    int p = c;
    for (int i = c + 1; i < n; ++i)
      if (std::fabs(a[i * n + c]) > std::fabs(a[p * n + c])) p = i;
    for (int j = 0; j < n; ++j) std::swap(a[c * n + j], a[p * n + j]);
    std::swap(r[c], r[p]);
    for (int i = c + 1; i < n; ++i) {
      const long double f = a[i * n + c] / a[c * n + c];
      for (int j = c; j < n; ++j) a[i * n + j] -= f * a[c * n + j];
      r[i] -= f * r[c];
    }
  }
  std::vector<double> x(static_cast<std::size_t>(n));
  for (int i = n - 1; i >= 0; --i) {
    long double s = r[i];
    for (int j = i + 1; j < n; ++j) s -= a[i * n + j] * x[j];
    x[i] = static_cast<double>(s / a[i * n + i]);
  }
  return x;
}

}  // namespace lnn::test
