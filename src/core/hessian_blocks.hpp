// The Hessian blocks of a chunk over its seeded directions, every layer in
// one pass per sample (docs/math.md §2, docs/architecture.md "Fused
// kernels"):
//   H_s[p, q] = Σ_l Σ_i σ''(a_l,i) g_l,i U_l,p,i U_l,q,i   (p <= q < k)
// then the lower triangle from the upper and, for Seeds::full, the
// embedding's own curvature on the diagonal.
// A sample's σ''⊙g and its k tangent rows are read once for all k(k+1)/2
// entries: the entries' sums are carried side by side, in registers on the
// GPU (kernels/hessian_blocks.cu: a warp per sample, the lanes striding over
// the neurons, a shuffle tree per entry). This header is the kernel's per-lane
// and per-sample code and its CPU twin:
//   lanes = 1   the CPU backend: each entry summed over i ascending, the
//               reference order (the same bits as a plain loop per entry);
//   lanes = 32  the GPU's order (core/reduce_order.hpp), emulated on the
//               CPU for the device-emulating tests.
// Each entry's sum over a layer is formed completely before it joins the
// layers' total, H = ((0 + S_1) + S_2) + …, in both orders.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/activation.hpp"
#include "core/embedding.hpp"
#include "core/host_device.hpp"
#include "core/reduce_order.hpp"

namespace lnn::core {

// Hidden layers one launch covers: the model's limit (model spec: at most
// 64 hidden layers), so a kernel's arguments hold them all (≈ 2 KB).
constexpr int kMaxHessianLayers = 64;

template <class T>
struct HessianLayer {
  const T* A;   // b·(k+1) × m: per sample [a; U_1 … U_k]
  const T* G;   // b × m: g
  const T* D2;  // b × m: σ''(a); null: formed from a (row 0 of A) with the args' activation
  int m;
};

template <class T>
struct HessianBlocksArgs {
  T* H;    // b × k × k, written (every entry)
  int b;   // samples (padded)
  int k;   // seeded directions
  int layers;
  HessianLayer<T> layer[kMaxHessianLayers];
  // The embedding's curvature (Seeds::full only; `angle` null otherwise), for
  // the real samples s < b_real.
  const unsigned char* angle;
  const T* states;  // b_real × 2n
  const T* G0;      // b × d0: ∂L/∂z_0
  int b_real, n, d0;
  Activation act;  // for layers whose D2 is null
};

// Entries carried at once: all k(k+1)/2 when k = K is known at compile time
// (k = 2..5), else one (K = 0: one pass over the layer per entry).
template <int K>
constexpr int hessian_entries() {
  return K > 0 ? K * (K + 1) / 2 : 1;
}

// hessian_lane_sums' loop into acc (the caller's local array; inlined, so it
// stays in registers), with σ'' stored (d2) or formed from a (a0).
template <int K, bool Stored, class T>
LNN_HD void hessian_lane_loop(const T* d2, const T* a0, Activation act, const T* g, const T* U,
                              int m, int lane, int lanes, int p, int q, T* acc) {
  for (int i = lane; i < m; i += lanes) {
    const T D = (Stored ? d2[i] : activation_derivs(act, a0[i]).d2) * g[i];
    if constexpr (K > 0) {
      T u[K];
      for (int r = 0; r < K; ++r) u[r] = U[static_cast<std::size_t>(r) * m + i];
      int t = 0;
      for (int r = 0; r < K; ++r)
        for (int c = r; c < K; ++c) acc[t++] += D * u[r] * u[c];
    } else {
      acc[0] += D * U[static_cast<std::size_t>(p) * m + i] * U[static_cast<std::size_t>(q) * m + i];
    }
  }
}

// out[t] = Σ over i = lane, lane + lanes, … < m (ascending) of layer l's
// terms of sample s, for the upper-triangle entries t (row order,
// upper_pair) when K > 0, or for the one entry (p, q) when K = 0. The sums
// run in local variables (registers), not through `out`, which the compiler
// could not tell apart from the layer's arrays.
template <int K, class T>
LNN_HD void hessian_lane_sums(const HessianBlocksArgs<T>& a, int l, std::int64_t s, int lane,
                              int lanes, T* out, int p = 0, int q = 0) {
  constexpr int P = hessian_entries<K>();
  const HessianLayer<T>& L = a.layer[l];
  const int m = L.m, k = K > 0 ? K : a.k;
  const std::size_t o = static_cast<std::size_t>(s) * static_cast<std::size_t>(m);
  const T* a0 = L.A + static_cast<std::size_t>(s) * static_cast<std::size_t>(k + 1) * m;
  const T* U = a0 + m;
  const T* d2 = L.D2 ? L.D2 + o : nullptr;
  const T* g = L.G + o;
  T acc[P];
  for (int t = 0; t < P; ++t) acc[t] = T(0);
  // The choice of σ'' source made once, not per neuron.
  if (d2) {
    hessian_lane_loop<K, true>(d2, a0, a.act, g, U, m, lane, lanes, p, q, acc);
  } else {
    hessian_lane_loop<K, false>(d2, a0, a.act, g, U, m, lane, lanes, p, q, acc);
  }
  for (int t = 0; t < P; ++t) out[t] = acc[t];
}

// After the upper triangle of sample s's block is written: the lower
// triangle from it, and the embedding's curvature for Seeds::full.
template <class T>
LNN_HD void hessian_finish(const HessianBlocksArgs<T>& a, std::int64_t s) {
  const int k = a.k;
  T* h = a.H + static_cast<std::size_t>(s) * k * k;
  for (int p = 0; p < k; ++p)
    for (int q = 0; q < p; ++q) h[p * k + q] = h[q * k + p];
  if (a.angle && s < a.b_real) {
    const T* x = a.states + static_cast<std::size_t>(s) * 2 * a.n;
    const T* g0 = a.G0 + static_cast<std::size_t>(s) * a.d0;
    int pos = 0;
    for (int j = 0; j < a.n; ++j) {
      h[j * k + j] += embed_curvature(a.angle, j, pos, x, g0);
      pos += a.angle[j] ? 2 : 1;
    }
  }
}

// One sample's whole block on the CPU, its sums in the order of `lanes`
// lanes (1: ascending; kWarp: the GPU's lanes and shuffle tree).
template <int K, class T>
inline void hessian_block_sample(const HessianBlocksArgs<T>& a, std::int64_t s, int lanes) {
  constexpr int P = hessian_entries<K>();
  const int k = K > 0 ? K : a.k;
  T* h = a.H + static_cast<std::size_t>(s) * k * k;
  const int groups = K > 0 ? 1 : k * (k + 1) / 2;  // K = 0: an entry at a time
  for (int t0 = 0; t0 < groups; ++t0) {
    int p = 0, q = 0;
    if constexpr (K == 0) upper_pair(t0, k, p, q);
    T total[P];
    for (int t = 0; t < P; ++t) total[t] = T(0);
    for (int l = 0; l < a.layers; ++l) {
      T lane_acc[kWarp][P];
      for (int ln = 0; ln < lanes; ++ln) hessian_lane_sums<K>(a, l, s, ln, lanes, lane_acc[ln], p, q);
      for (int o = lanes / 2; o > 0; o /= 2)  // the shuffle tree (lanes = 1: none)
        for (int ln = 0; ln < o; ++ln)
          for (int t = 0; t < P; ++t) lane_acc[ln][t] += lane_acc[ln + o][t];
      for (int t = 0; t < P; ++t) total[t] += lane_acc[0][t];
    }
    if constexpr (K > 0) {
      int t = 0;
      for (int r = 0; r < K; ++r)
        for (int c = r; c < K; ++c) h[r * k + c] = total[t++];
    } else {
      h[p * k + q] = total[0];
    }
  }
  hessian_finish(a, s);
}

}  // namespace lnn::core
