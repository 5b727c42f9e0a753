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
  const int n = n_;
  const SolveOptions opt = options_.solve;
  const SolveInputs in{H_.data(), states, tau,      G_[0].data(), angle_.data(),
                       M_.data(), F_.data(), n_, width_[0]};
  if constexpr (kBatchedSolve) {
    if (batched_solve()) {
      solve_batched(pass, in, acc, status, pivot);
      return;
    }
  }
  T* work = work_.data();
  int* iwork = iwork_.data();
  SolveStatus* st = status_.data();
  const int ws = core::solve_workspace(n);
  be_.for_each(b, [=] LNN_LAMBDA(int s) {
    if (s >= b_real) {  // padding: inactive, never reported
      st[s] = SolveStatus::singular;
      return;
    }
    T* out = acc + static_cast<std::size_t>(s) * n;
    const T* M = in(s, out);
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

// Three per-sample passes around the backend's two library calls: prepare
// (M, the right-hand side, the matrix to factor and the pointer arrays, built
// here on the backend, no host loop), factor, classify, solve, finish.
template <class T, class Backend>
void LayerAlgorithm<T, Backend>::solve_batched(const Pass& pass, const SolveInputs& in, T* acc,
                                               SolveStatus* status, T* pivot) {
  const int b = pass.bp, b_real = pass.b;
  const int n = n_;
  const SolveOptions opt = options_.solve;
  const int ws = core::solve_workspace(n);
  T* work = work_.data();
  int* iwork = iwork_.data();
  int* info = info_.data();
  T** Ap = Aptr_.data();
  T** Bp = Bptr_.data();
  const T* Mbuf = M_.data();
  SolveStatus* st = status_.data();
  be_.for_each(b, [=] LNN_LAMBDA(int s) {
    if (s >= b_real) {  // padding: inactive, never reported, not factored
      st[s] = SolveStatus::singular;
      return;
    }
    T* out = acc + static_cast<std::size_t>(s) * n;
    T* wk = work + static_cast<std::size_t>(s) * ws;
    core::batched_prepare(in(s, out), n, opt, wk, iwork + static_cast<std::size_t>(s) * n);
    Ap[s] = wk;
    Bp[s] = out;
  });
  be_.batched_factor(opt.method, n, b_real, Ap, iwork, info);
  be_.for_each(b_real, [=] LNN_LAMBDA(int s) {
    const core::FactorInfo<T> fi = core::batched_classify(
        Mbuf + static_cast<std::size_t>(s) * n * n, n, opt, info[s],
        work + static_cast<std::size_t>(s) * ws, iwork + static_cast<std::size_t>(s) * n);
    st[s] = fi.status;
    if (status) status[s] = fi.status;
    if (pivot) pivot[s] = fi.min_pivot;
  });
  be_.batched_solve(opt.method, n, b_real, Ap, iwork, Bp);
  be_.for_each(b_real, [=] LNN_LAMBDA(int s) {
    T* out = acc + static_cast<std::size_t>(s) * n;
    if (st[s] == SolveStatus::ok) {  // usable(): ok, for every batched method
      core::batched_finish(n, opt, work + static_cast<std::size_t>(s) * ws, out);
    } else {
      for (int p = 0; p < n; ++p) out[p] = std::numeric_limits<T>::quiet_NaN();
    }
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
void LayerAlgorithm<T, Backend>::cotangent_terms(const Pass& pass, const T* v, T* abar) {
  be_.mark("cotangent terms");
  const int n = n_;
  const SolveStatus* st = status_.data();
  be_.for_each(pass.b, [=] LNN_LAMBDA(int s) {
    const bool ok = st[s] == SolveStatus::ok;  // a failed sample's v may be anything
    for (int p = 0; p < n; ++p) {
      const std::size_t i = static_cast<std::size_t>(s) * n + p;
      abar[i] = ok ? v[i] : T(0);
    }
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
