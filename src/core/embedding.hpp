// The input embedding z_0 = φ(x) and its derivatives (docs/math.md §6).
// z_0 = [φ(q_1), …, φ(q_n), q̇_1, …, q̇_n] with φ(q_j) = q_j (plain) or
// (cos q_j, sin q_j) (angle). `angle` holds one byte per coordinate (1 = angle).
#pragma once
#include <cmath>

#include "core/host_device.hpp"

namespace lnn::core {

// Which tangent directions one forward pass carries (docs/math.md §2).
enum class Seeds : int {
  none = 0,            // k = 0: L and ∇L only
  euler_lagrange = 1,  // k = n+1: P_0 = [0; I_n], u_0 = [q̇; 0]
  full = 2,            // k = 2n: T_0 = I_2n (full Hessian)
};

LNN_HD int tangent_count(Seeds seeds, int n) {
  return seeds == Seeds::none ? 0 : (seeds == Seeds::euler_lagrange ? n + 1 : 2 * n);
}

// Writes sample x (2n) into rows[0 .. k] (each d0 wide, stride ld): the value
// φ(x) and the embedded seed directions J_φ·t_j.
template <class T>
LNN_HD void embed_sample(int n, const unsigned char* angle, Seeds seeds, const T* x, T* rows,
                         int ld) {
  const int k = tangent_count(seeds, n);
  int d0 = n;
  for (int j = 0; j < n; ++j) d0 += angle[j] ? 2 : 1;
  for (int r = 0; r <= k; ++r)
    for (int c = 0; c < d0; ++c) rows[r * ld + c] = T(0);
  const int vbase = d0 - n;
  int pos = 0;
  for (int j = 0; j < n; ++j) {
    const T q = x[j], v = x[n + j];
    if (angle[j]) {
      const T c = std::cos(q), s = std::sin(q);
      rows[pos] = c;
      rows[pos + 1] = s;
      if (seeds == Seeds::euler_lagrange) {  // u_0 = [q̇; 0] through J_φ
        rows[(k)*ld + pos] = -s * v;
        rows[(k)*ld + pos + 1] = c * v;
      } else if (seeds == Seeds::full) {  // direction e_j
        rows[(1 + j) * ld + pos] = -s;
        rows[(1 + j) * ld + pos + 1] = c;
      }
      pos += 2;
    } else {
      rows[pos] = q;
      if (seeds == Seeds::euler_lagrange) rows[k * ld + pos] = v;
      if (seeds == Seeds::full) rows[(1 + j) * ld + pos] = T(1);
      pos += 1;
    }
    rows[vbase + j] = v;
    if (seeds == Seeds::euler_lagrange) rows[(1 + j) * ld + vbase + j] = T(1);
    if (seeds == Seeds::full) rows[(1 + n + j) * ld + vbase + j] = T(1);
  }
}

// ∇_x L from g_0 = ∂L/∂z_0 (d0 entries): grad (2n) = J_φᵀ g_0.
template <class T>
LNN_HD void embed_gradient(int n, const unsigned char* angle, const T* x, const T* g0, T* grad) {
  int pos = 0;
  int d0 = n;
  for (int j = 0; j < n; ++j) d0 += angle[j] ? 2 : 1;
  for (int j = 0; j < n; ++j) {
    if (angle[j]) {
      grad[j] = -std::sin(x[j]) * g0[pos] + std::cos(x[j]) * g0[pos + 1];
      pos += 2;
    } else {
      grad[j] = g0[pos];
      pos += 1;
    }
    grad[n + j] = g0[d0 - n + j];
  }
}

// The curvature the embedding adds to ∂²L/∂q_j² (diagonal): Σ_k g_0k ∂²φ_k/∂q_j².
template <class T>
LNN_HD T embed_curvature(const unsigned char* angle, int j, int pos, const T* x, const T* g0) {
  if (!angle[j]) return T(0);
  return -std::cos(x[j]) * g0[pos] - std::sin(x[j]) * g0[pos + 1];
}

// ḡ_0 from f̄ = ∂ℓ/∂f (n): f = J_φᵀ g_0 on the q part, so ḡ_0 = J_φ f̄ on the
// embedded q entries and 0 on the q̇ entries (docs/math.md §4).
template <class T>
LNN_HD void embed_force_adjoint(int n, const unsigned char* angle, const T* x, const T* fbar,
                                T* gbar0) {
  int pos = 0;
  for (int j = 0; j < n; ++j) {
    if (angle[j]) {
      gbar0[pos] = -std::sin(x[j]) * fbar[j];
      gbar0[pos + 1] = std::cos(x[j]) * fbar[j];
      pos += 2;
    } else {
      gbar0[pos] = fbar[j];
      pos += 1;
    }
  }
  for (int j = 0; j < n; ++j) gbar0[pos + j] = T(0);
}

// Input gradient x̄ (2n, overwritten) of the Euler–Lagrange pass, from
//   zbar0 = z̄_0, ubar0 = T̄_0 column of u_0 = J_φ [q̇; 0]  (d0 each),
//   fbar = f̄ and g0 = ∂L/∂z_0 (f = J_φᵀ g_0 also depends on q).
// x enters through z_0 = φ(x), through u_0, and through J_φ in f.
template <class T>
LNN_HD void embed_input_adjoint(int n, const unsigned char* angle, const T* x, const T* zbar0,
                                const T* ubar0, const T* fbar, const T* g0, T* xbar) {
  int d0 = n;
  for (int j = 0; j < n; ++j) d0 += angle[j] ? 2 : 1;
  const int vbase = d0 - n;
  int pos = 0;
  for (int j = 0; j < n; ++j) {
    const T v = x[n + j];
    if (angle[j]) {
      const T c = std::cos(x[j]), s = std::sin(x[j]);
      // z_0: (c, s);  u_0: (−s v, c v);  f_j = −s g_c + c g_s
      xbar[j] = -s * zbar0[pos] + c * zbar0[pos + 1] - c * v * ubar0[pos] - s * v * ubar0[pos + 1] +
                fbar[j] * (-c * g0[pos] - s * g0[pos + 1]);
      xbar[n + j] = zbar0[vbase + j] - s * ubar0[pos] + c * ubar0[pos + 1];
      pos += 2;
    } else {
      xbar[j] = zbar0[pos];
      xbar[n + j] = zbar0[vbase + j] + ubar0[pos];
      pos += 1;
    }
  }
}

}  // namespace lnn::core
