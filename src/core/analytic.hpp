// Exact derivatives of an analytic Lagrangian by hyper-dual evaluation, per
// sample, for both backends. `Sys` provides dof() and
// template <class S> S lagrangian(const S* q, const S* v) (src/systems).
//
// One evaluation seeded with unit directions e_i (ε₁) and e_j (ε₂) over the 2n
// inputs x = [q, q̇] gives ∂L/∂x_i, ∂L/∂x_j and ∂²L/∂x_i∂x_j; ε₂ may also be
// seeded with any direction w, giving (∇²L w)_i. So:
//   M_ij  = ∂²L/∂q̇_i∂q̇_j       one evaluation per i ≤ j    n(n+1)/2
//   (Cq̇)_i = Σ_j ∂²L/∂q̇_i∂q_j q̇_j  ε₂ = (q̇, 0)              n
//   f_i   = ∂L/∂q_i             two coordinates per evaluation ⌈n/2⌉
// the same quantities the learned model's layer algorithm produces, so both
// feed the same Euler–Lagrange solve (core/small_solve.hpp).
#pragma once
#include "core/host_device.hpp"
#include "core/hyperdual.hpp"

namespace lnn::core {

// Evaluates L at x (2n values) with ε₁ seeded on input ia and ε₂ on input ib
// (either may be −1 for none) or, if dir_b is not null, along dir_b (2n).
template <int MaxDof, class Sys, class T>
LNN_HD HyperDual<T> seeded_lagrangian(const Sys& sys, const T* x, int ia, int ib,
                                      const T* dir_b = nullptr) {
  const int n = sys.dof();
  HyperDual<T> q[MaxDof], v[MaxDof];
  for (int k = 0; k < n; ++k) {
    q[k] = HyperDual<T>(x[k]);
    v[k] = HyperDual<T>(x[n + k]);
  }
  auto input = [&](int i) -> HyperDual<T>& { return i < n ? q[i] : v[i - n]; };
  if (ia >= 0) input(ia).a = T(1);
  if (dir_b != nullptr) {
    for (int k = 0; k < 2 * n; ++k) input(k).b = dir_b[k];
  } else if (ib >= 0) {
    input(ib).b = T(1);
  }
  return sys.template lagrangian<HyperDual<T>>(q, v);
}

// L and ∇L (2n) at x.
template <int MaxDof, class Sys, class T>
LNN_HD T analytic_gradient(const Sys& sys, const T* x, T* grad) {
  const int d = 2 * sys.dof();
  T L = T(0);
  for (int i = 0; i < d; i += 2) {
    const int j = i + 1 < d ? i + 1 : -1;
    const HyperDual<T> r = seeded_lagrangian<MaxDof>(sys, x, i, j);
    grad[i] = r.a;
    if (j >= 0) grad[j] = r.b;
    L = r.v;
  }
  return L;
}

// The full Hessian of L over x = [q, q̇]: H (2n × 2n, row-major, symmetric).
template <int MaxDof, class Sys, class T>
LNN_HD void analytic_hessian(const Sys& sys, const T* x, T* H) {
  const int d = 2 * sys.dof();
  for (int i = 0; i < d; ++i) {
    for (int j = i; j < d; ++j) {
      const T h = seeded_lagrangian<MaxDof>(sys, x, i, j).ab;
      H[i * d + j] = h;
      H[j * d + i] = h;
    }
  }
}

// M (n × n), Cv = (∂²L/∂q̇∂q) q̇ and f = ∂L/∂q (n each) at x; any may be null.
template <int MaxDof, class Sys, class T>
LNN_HD void analytic_euler_lagrange_terms(const Sys& sys, const T* x, T* M, T* Cv, T* f) {
  const int n = sys.dof();
  if (M != nullptr) {
    for (int i = 0; i < n; ++i) {
      for (int j = i; j < n; ++j) {
        const T m = seeded_lagrangian<MaxDof>(sys, x, n + i, n + j).ab;
        M[i * n + j] = m;
        M[j * n + i] = m;
      }
    }
  }
  if (Cv != nullptr) {
    T dir[2 * MaxDof];
    for (int k = 0; k < n; ++k) {
      dir[k] = x[n + k];
      dir[n + k] = T(0);
    }
    for (int i = 0; i < n; ++i) Cv[i] = seeded_lagrangian<MaxDof>(sys, x, n + i, -1, dir).ab;
  }
  if (f != nullptr) {
    for (int i = 0; i < n; i += 2) {
      const int j = i + 1 < n ? i + 1 : -1;
      const HyperDual<T> r = seeded_lagrangian<MaxDof>(sys, x, i, j);
      f[i] = r.a;
      if (j >= 0) f[j] = r.b;
    }
  }
}

// The energy from the Lagrangian alone, E = q̇·∂L/∂q̇ − L (the analytic
// systems also write E = T + V independently; tests compare the two).
template <int MaxDof, class Sys, class T>
LNN_HD T legendre_energy(const Sys& sys, const T* x) {
  const int n = sys.dof();
  T E = T(0), L = T(0);
  for (int i = 0; i < n; i += 2) {
    const int j = i + 1 < n ? n + i + 1 : -1;
    const HyperDual<T> r = seeded_lagrangian<MaxDof>(sys, x, n + i, j);
    E += x[n + i] * r.a;
    if (j >= 0) E += x[j] * r.b;
    L = r.v;
  }
  return E - L;
}

}  // namespace lnn::core
