// The layer algorithm's solve and loss stages (src/engine/layer_algorithm.hpp):
// the Euler–Lagrange solve and the loss terms on accelerations (docs/math.md
// §1, §4, §5, §7). Included by layer_algorithm.hpp.
#pragma once
#include "engine/layer_algorithm.hpp"

namespace lnn::engine {

template <class T, class Backend>
void LayerAlgorithm<T, Backend>::solve(const Pass& pass, const T* states, const T* tau, T* acc,
                                       SolveStatus* status, T* pivot) {
  be_.mark("solve");
  require_euler_lagrange(pass);
  const int b = pass.bp, b_real = pass.b;
  const int n = n_, k = n_ + 1, d0 = width_[0];
  const unsigned char* angle = angle_.data();
  const SolveOptions opt = options_.solve;
  const T* H = H_.data();
  const T* G0 = G_[0].data();
  T* work = work_.data();
  int* iwork = iwork_.data();
  T* Mbuf = M_.data();
  T* F = F_.data();
  SolveStatus* st = status_.data();
  const int ws = core::solve_workspace(n);
  be_.for_each(b, [=] LNN_LAMBDA(int s) {
    if (s >= b_real) {  // padding: inactive, never reported
      st[s] = SolveStatus::singular;
      return;
    }
    const T* h = H + static_cast<std::size_t>(s) * k * k;
    const T* x = states + static_cast<std::size_t>(s) * 2 * n;
    T* M = Mbuf + static_cast<std::size_t>(s) * n * n;
    for (int p = 0; p < n; ++p)
      for (int q = 0; q < n; ++q) M[p * n + q] = h[p * k + q];
    T* out = acc + static_cast<std::size_t>(s) * n;
    // rhs = f − C q̇ + τ, with f = J_φᵀ g_0 (q part)
    T* g = F + static_cast<std::size_t>(s) * 2 * n;
    core::embed_gradient(n, angle, x, G0 + static_cast<std::size_t>(s) * d0, g);
    for (int p = 0; p < n; ++p)
      out[p] = g[p] - h[p * k + n] + (tau ? tau[static_cast<std::size_t>(s) * n + p] : T(0));
    T* wk = work + static_cast<std::size_t>(s) * ws;
    int* iw = iwork + static_cast<std::size_t>(s) * n;
    // In registers for n <= core::kFixedSolveMax (one switch on n).
    const core::FactorInfo<T> info = core::factor_solve(M, n, opt, wk, iw, out);
    if (!core::usable(info, opt)) {
      for (int p = 0; p < n; ++p) out[p] = std::numeric_limits<T>::quiet_NaN();
    }
    st[s] = info.status;
    if (status) status[s] = info.status;
    if (pivot) pivot[s] = info.min_pivot;
  });
}

template <class T, class Backend>
void LayerAlgorithm<T, Backend>::loss_terms(const Pass& pass, const T* acc, const T* targets,
                                            const T* weights, Loss kind, T* abar, double* stats) {
  be_.mark("loss terms");
  const int n = n_;
  const SolveStatus* st = status_.data();
  be_.for_each(pass.b, [=] LNN_LAMBDA(int s) {
    const bool ok = st[s] == SolveStatus::ok;
    const T w = weights ? weights[s] : T(1);
    const bool used = ok && w != T(0);
    double l = 0.0;
    for (int p = 0; p < n; ++p) {
      const std::size_t i = static_cast<std::size_t>(s) * n + p;
      const T d = used ? acc[i] - targets[i] : T(0);
      if (kind == Loss::l1) {
        l += static_cast<double>(w) * std::fabs(static_cast<double>(d));
        abar[i] = w * (d > T(0) ? T(1) : (d < T(0) ? T(-1) : T(0)));
      } else {
        l += static_cast<double>(w) * (static_cast<double>(d) * static_cast<double>(d));
        abar[i] = w * (T(2) * d);
      }
    }
    double* row = stats + static_cast<std::size_t>(s) * kLossStats;
    row[0] = l;
    row[1] = ok ? static_cast<double>(w) : 0.0;
    row[2] = ok ? 1.0 : 0.0;
    row[3] = st[s] == SolveStatus::not_positive_definite ? 1.0 : 0.0;
    row[4] = st[s] == SolveStatus::singular ? 1.0 : 0.0;
  });
}

template <class T, class Backend>
void LayerAlgorithm<T, Backend>::normalize_loss_adjoint(const Pass& pass, T* abar,
                                                        const double* totals) {
  const int n = n_;
  be_.for_each(pass.b, [=] LNN_LAMBDA(int s) {
    const double denom = totals[1] * static_cast<double>(n);
    const T scale = static_cast<T>(denom > 0.0 ? 1.0 / denom : 0.0);
    for (int p = 0; p < n; ++p) abar[static_cast<std::size_t>(s) * n + p] *= scale;
  });
}

}  // namespace lnn::engine
