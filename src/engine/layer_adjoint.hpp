// The layer algorithm's adjoint and mass penalty (src/engine/layer_algorithm.hpp;
// docs/math.md §4, §7). Included by layer_algorithm.hpp.
#pragma once
#include "engine/layer_algorithm.hpp"

namespace lnn::engine {

template <class T, class Backend>
void LayerAlgorithm<T, Backend>::adjoint(const Pass& pass, const T* states, const T* abar,
                                         const T* acc, T* pgrad, T* xbar, T penalty_scale,
                                         T* penalty) {
  be_.mark("adjoint: solve terms");
  require_euler_lagrange(pass);
  const int b = pass.bp, b_real = pass.b;
  const int n = n_, k = n_ + 1, d0 = width_[0];
  const unsigned char* angle = angle_.data();
  const SolveOptions opt = options_.solve;
  const int ws = core::solve_workspace(n);
  const T* work = work_.data();
  const int* iwork = iwork_.data();
  const SolveStatus* st = status_.data();
  T* SB = Sbar_.data();     // b × k × k: S̄ = H̄ + H̄ᵀ
  T* LAM = lambda_.data();  // b × n: λ = M⁻¹ā
  T* GB0 = Gbar_[0].data();
  const bool penalized = penalty_scale != T(0);
  const T* MP = penalized ? mass_penalty(pass, penalty) : nullptr;  // b × n × n: ∂pen/∂M
  const unsigned char* live = penalized ? live_.data() : nullptr;
  // λ = M⁻¹ā from solve()'s factor: per sample, or (batched_solve()) λ = ā
  // for every sample, then the backend's batched solve (a failed sample's
  // factor is the identity and its ā zero), then the sign in the loop below.
  const bool batched = batched_solve();
  if constexpr (kBatchedSolve) {
    if (batched) {
      T** Bp = Bptr_.data();
      be_.for_each(b, [=] LNN_LAMBDA(int s) {
        T* lam = LAM + static_cast<std::size_t>(s) * n;
        const bool ok = st[s] == SolveStatus::ok;
        for (int p = 0; p < n; ++p) lam[p] = ok ? abar[static_cast<std::size_t>(s) * n + p] : T(0);
        Bp[s] = lam;
      });
      be_.batched_solve(opt.method, n, b_real, Aptr_.data(), iwork_.data(), Bp);
    }
  }
  // λ, S̄ and ḡ_0. A sample whose solve failed carries zeros; its stored
  // activations are zeroed too so that 0·NaN cannot reach the shared sums,
  // unless the penalty still needs them (live, see mass_penalty()).
  be_.for_each(b, [=] LNN_LAMBDA(int s) {
    T* lam = LAM + static_cast<std::size_t>(s) * n;
    T* sb = SB + static_cast<std::size_t>(s) * k * k;
    const bool ok = st[s] == SolveStatus::ok;
    if (batched) {
      if (ok) core::batched_finish(n, opt, work + static_cast<std::size_t>(s) * ws, lam);
    } else {
      for (int p = 0; p < n; ++p) lam[p] = ok ? abar[static_cast<std::size_t>(s) * n + p] : T(0);
      if (ok)
        core::solve(n, opt, work + static_cast<std::size_t>(s) * ws,
                    iwork + static_cast<std::size_t>(s) * n, lam);
    }
    // M̄ = −λ aᵀ,  c̄ = (Cv)‾ = −λ;  S̄ = H̄ + H̄ᵀ with H̄ = [[M̄, c̄], [0, 0]]
    const T* a = acc + static_cast<std::size_t>(s) * n;
    for (int p = 0; p < n; ++p) {
      for (int q = 0; q < n; ++q) sb[p * k + q] = ok ? -(lam[p] * a[q] + lam[q] * a[p]) : T(0);
      sb[p * k + n] = -lam[p];
      sb[n * k + p] = -lam[p];
    }
    sb[n * k + n] = T(0);
    // The penalty's M̄ (symmetric) adds to the solve's: S̄ += 2·M̄_pen.
    if (MP && live[s]) {
      const T* mp = MP + static_cast<std::size_t>(s) * n * n;
      for (int p = 0; p < n; ++p)
        for (int q = 0; q < n; ++q) sb[p * k + q] += T(2) * penalty_scale * mp[p * n + q];
    }
    // A dead sample's state may be NaN, and −sin(NaN)·0 is NaN.
    if (s < b_real && (ok || (live && live[s]))) {
      core::embed_force_adjoint(n, angle, states + static_cast<std::size_t>(s) * 2 * n, lam,
                                GB0 + static_cast<std::size_t>(s) * d0);
    } else {
      for (int i = 0; i < d0; ++i) GB0[static_cast<std::size_t>(s) * d0 + i] = T(0);
    }
  });
  zero_failed(pass, live);

  be_.mark("adjoint: hessian terms");
  // Hessian terms, every layer: e_i = ½ U_iᵀ S̄ U_i, ā = σ'''⊙g⊙e,
  // ḡ = σ''⊙e. Their Ū_i = D_i S̄ U_i (D = σ''⊙g) is formed where it is used,
  // in the forward pass's adjoint below (tangent_adjoint), not stored.
  for (int l = 1; l <= K_; ++l) {
    const int m = width_[l];
    const T* A = A_[l].data();
    const T* G = G_[l].data();
    const LayerDerivs dv = derivs(l, k);
    T* AB = Abar_[l].data();
    T* GB = Gbar_[l].data();
    T* ADJ = Adj_[l].data();
    with_tangents(k, [&]<int K>() { hessian_terms<K>(b, m, k, A, G, dv, SB, AB, GB, ADJ); });
  }

  be_.mark("adjoint: reverse pass");
  // Adjoint of the reverse pass, ascending: s̄_l = W_l ḡ_{l−1},
  // W̄_l += s_l ḡ_{l−1}ᵀ, ḡ_l += σ'⊙s̄_l, ā_l += σ''⊙g_l⊙s̄_l.
  const std::vector<LayerLayout>& layout = layout_;
  for (int l = 1; l <= K_; ++l) {
    const int m = width_[l], wd = width_[l - 1];
    T* SBAR = Sbarl_.data();
    be_.gemm(false, true, b, m, wd, T(1), Gbar_[l - 1].data(), wd, weight(l - 1), wd, T(0), SBAR,
             m);
    be_.gemm(true, false, m, wd, b, T(1), S_[l].data(), m, Gbar_[l - 1].data(), wd, T(1),
             pgrad + layout[static_cast<std::size_t>(l - 1)].weight_offset, wd);
    const T* G = G_[l].data();
    const LayerDerivs dv = derivs(l, k);
    T* AB = Abar_[l].data();
    T* GB = Gbar_[l].data();
    be_.for_each_element(b, m, [=] LNN_LAMBDA(std::int64_t s, int i) {
      const std::size_t o = static_cast<std::size_t>(s) * m + i;
      const core::ActivationDerivs<T> d = dv(s, i);
      GB[o] += d.d1 * SBAR[o];
      AB[o] += d.d2 * G[o] * SBAR[o];
    });
  }
  // w̄ = Σ_samples ḡ_K (the output bias c has no effect on the dynamics).
  be_.sum_rows(b, width_[K_], Gbar_[K_].data(), static_cast<std::size_t>(width_[K_]),
               pgrad + layout[static_cast<std::size_t>(K_)].weight_offset);

  be_.mark("adjoint: forward pass");
  // Adjoint of the forward/tangent pass, descending:
  //   Ū_l = D_l S̄ U_l (the Hessian terms' part) + σ'⊙T̄_l
  //   ā_l += σ''⊙rowsum(U_l⊙T̄_l) + σ'⊙z̄_l
  //   W̄_l += [ā;Ū] [z;T]_{l−1}ᵀ,  b̄_l += ā_l,  [z̄;T̄]_{l−1} = W_lᵀ [ā;Ū]
  const int R = b * (k + 1);
  for (int l = K_; l >= 1; --l) {
    const int m = width_[l], wd = width_[l - 1];
    const T* A = A_[l].data();
    const T* G = G_[l].data();
    const LayerDerivs dv = derivs(l, k);
    const T* AB = Abar_[l].data();
    const T* ZT = l < K_ ? ZTbar_[l].data() : nullptr;
    T* ADJ = Adj_[l].data();
    with_tangents(k, [&]<int K>() { tangent_adjoint<K>(b, m, k, A, G, dv, SB, AB, ZT, ADJ); });
    const LayerLayout& lay = layout[static_cast<std::size_t>(l - 1)];
    be_.gemm(true, false, m, wd, R, T(1), ADJ, m, Z_[l - 1].data(), wd, T(1),
             pgrad + lay.weight_offset, wd);
    be_.sum_rows(b, m, ADJ, static_cast<std::size_t>(k + 1) * m, pgrad + lay.bias_offset);
    be_.gemm(false, false, R, wd, m, T(1), ADJ, m, weight(l - 1), wd, T(0), ZTbar_[l - 1].data(),
             wd);
  }

  if (xbar) {
    const T* ZT0 = ZTbar_[0].data();
    const T* G0 = G_[0].data();
    be_.for_each(b_real, [=] LNN_LAMBDA(int s) {
      if (st[s] != SolveStatus::ok && !(live && live[s])) {  // its state may be NaN
        for (int j = 0; j < 2 * n; ++j) xbar[static_cast<std::size_t>(s) * 2 * n + j] = T(0);
        return;
      }
      const T* zt = ZT0 + static_cast<std::size_t>(s) * (k + 1) * d0;
      core::embed_input_adjoint(
          n, angle, states + static_cast<std::size_t>(s) * 2 * n, zt,
          zt + static_cast<std::size_t>(k) * d0, LAM + static_cast<std::size_t>(s) * n,
          G0 + static_cast<std::size_t>(s) * d0, xbar + static_cast<std::size_t>(s) * 2 * n);
    });
  }
}

template <class T, class Backend>
template <int K>
void LayerAlgorithm<T, Backend>::hessian_terms(int b, int m, int k_run, const T* A, const T* G,
                                               LayerDerivs dv, const T* SB, T* AB, T* GB,
                                               T* ADJ) {
  be_.for_each_element(b, m, [=] LNN_LAMBDA(std::int64_t s, int i) {
    const int k = K > 0 ? K : k_run;
    const std::size_t o = static_cast<std::size_t>(s) * m + i;
    const NeuronTangents<K> u(A + static_cast<std::size_t>(s) * (k + 1) * m + m, m, i, k);
    const T* sb = SB + static_cast<std::size_t>(s) * k * k;
    const core::ActivationDerivs<T> d = dv(s, i);
    const T D = d.d2 * G[o];
    T* Ub = ADJ + static_cast<std::size_t>(s) * (k + 1) * m + m;
    T e = T(0);
    for (int p = 0; p < k; ++p) {
      const T t = u.sbar_row(sb, p);
      e += u[p] * t;
      if constexpr (!kUbarInRegisters) Ub[p * m + i] = t * D;
    }
    e *= T(0.5);
    AB[o] = d.d3 * G[o] * e;
    GB[o] = d.d2 * e;
  });
}

template <class T, class Backend>
template <int K>
void LayerAlgorithm<T, Backend>::tangent_adjoint(int b, int m, int k_run, const T* A, const T* G,
                                                 LayerDerivs dv, const T* SB, const T* AB,
                                                 const T* ZT, T* ADJ) {
  be_.for_each_element(b, m, [=] LNN_LAMBDA(std::int64_t s, int i) {
    const int k = K > 0 ? K : k_run;
    const std::size_t o = static_cast<std::size_t>(s) * m + i;
    const std::size_t r0 = static_cast<std::size_t>(s) * (k + 1) * m;
    const NeuronTangents<K> u(A + r0 + m, m, i, k);
    const T* sb = SB + static_cast<std::size_t>(s) * k * k;
    const core::ActivationDerivs<T> d = dv(s, i);
    const T D = d.d2 * G[o];
    T* adj = ADJ + r0;
    adj[i] = AB[o];
    if (ZT) {
      const T* zt = ZT + r0;
      T dot = T(0);
      for (int p = 1; p <= k; ++p) dot += u[p - 1] * zt[p * m + i];
      adj[i] += d.d2 * dot + d.d1 * zt[i];
      for (int p = 1; p <= k; ++p) {
        const T ub = kUbarInRegisters ? u.sbar_row(sb, p - 1) * D : adj[p * m + i];
        adj[p * m + i] = ub + d.d1 * zt[p * m + i];
      }
    } else if (kUbarInRegisters) {
      for (int p = 1; p <= k; ++p) adj[p * m + i] = u.sbar_row(sb, p - 1) * D;
    }
  });
}

template <class T, class Backend>
void LayerAlgorithm<T, Backend>::zero_failed(const Pass& pass, const unsigned char* live) {
  const SolveStatus* st = status_.data();
  for_each_state(pass.bp, pass.k, [=] LNN_LAMBDA(int s, T* buf, std::size_t size) {
    if (st[s] == SolveStatus::ok || (live && live[s])) return;
    for (std::size_t i = 0; i < size; ++i) buf[i] = T(0);
  });
}

template <class T, class Backend>
template <class F>
void LayerAlgorithm<T, Backend>::for_each_state(int b, int k, F f) {
  StateBuffers batch{};
  const auto add = [&](T* buf, std::size_t size) {
    if (!buf) return;
    batch.data[batch.count] = buf;
    batch.size[batch.count] = size;
    if (++batch.count == kStateBatch) {
      launch_states(b, batch, f);
      batch.count = 0;
    }
  };
  for (int l = 0; l <= K_; ++l) {
    const std::size_t m = static_cast<std::size_t>(width_[l]);
    const std::size_t rows = static_cast<std::size_t>(k + 1) * m;
    add(Z_[l].data(), rows);
    if (l > 0) add(A_[l].data(), rows);
    add(G_[l].data(), m);
    if (l > 0) {
      add(S_[l].data(), m);
      add(D1_[l].data(), m);
      add(D2_[l].data(), m);
      add(D3_[l].data(), m);
    }
  }
  if (batch.count > 0) launch_states(b, batch, f);
}

template <class T, class Backend>
template <class F>
void LayerAlgorithm<T, Backend>::launch_states(int b, const StateBuffers& bufs, F f) {
  be_.for_each(b, [=] LNN_LAMBDA(int s) {
    for (int j = 0; j < bufs.count; ++j)
      f(s, bufs.data[j] + static_cast<std::size_t>(s) * bufs.size[j], bufs.size[j]);
  });
}

template <class T, class Backend>
const T* LayerAlgorithm<T, Backend>::mass_penalty(const Pass& pass, T* value) {
  const int b = pass.bp, b_real = pass.b, n = n_, k = pass.k;
  const int pw = core::penalty_workspace(n);
  const T* Mbuf = M_.data();
  T* MP = Mpen_.data();
  T* PV = Pval_.data();
  T* work = Mpen_work_.data();
  unsigned char* live = live_.data();
  const SolveStatus* st = status_.data();
  be_.for_each(b, [=] LNN_LAMBDA(int s) {
    const bool ok = st[s] == SolveStatus::ok;
    T* mp = MP + static_cast<std::size_t>(s) * n * n;
    const T* M = Mbuf + static_cast<std::size_t>(s) * n * n;
    bool finite = s < b_real;  // padding has no M
    for (int i = 0; finite && i < n * n; ++i) finite = core::is_finite(M[i]);
    T pen = T(0);
    if (finite) {
      pen = core::negative_eigen_penalty(M, n, mp, work + static_cast<std::size_t>(s) * pw);
    } else {
      for (int i = 0; i < n * n; ++i) mp[i] = T(0);
    }
    PV[s] = pen;
    live[s] = ok || pen > T(0) ? 1 : 0;
  });
  for_each_state(b, k, [=] LNN_LAMBDA(int s, T* buf, std::size_t size) {
    if (st[s] == SolveStatus::ok || !live[s]) return;
    for (std::size_t i = 0; i < size; ++i)
      if (!core::is_finite(buf[i])) {
        live[s] = 0;
        return;
      }
  });
  be_.for_each(b, [=] LNN_LAMBDA(int s) {
    if (!live[s]) PV[s] = T(0);
    if (value && s < b_real) value[s] = PV[s];
  });
  return MP;
}

}  // namespace lnn::engine
