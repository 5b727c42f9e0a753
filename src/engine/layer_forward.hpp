// The layer algorithm's forward stages (src/engine/layer_algorithm.hpp):
// the forward pass with tangents, the Lagrangian, the reverse pass, ∇_x L
// and the Hessian blocks (docs/math.md §2). Included by layer_algorithm.hpp.
#pragma once
#include "engine/layer_algorithm.hpp"

namespace lnn::engine {

template <class T, class Backend>
typename LayerAlgorithm<T, Backend>::Pass LayerAlgorithm<T, Backend>::forward(const T* states_in,
                                                                              int b_in,
                                                                              Seeds seeds) {
  be_.mark("forward");
  const int b = pad(b_in);
  const int k = core::tangent_count(seeds, n_);
  reserve(b, k, seeds == Seeds::euler_lagrange);
  const Pass pass{b_in, b, seeds, k};
  const T* states = states_in;
  if (b != b_in) {  // zero states fill the padding (see pad())
    const std::size_t w = 2 * static_cast<std::size_t>(n_);
    be_.copy(X_.data(), states_in, static_cast<std::size_t>(b_in) * w);
    be_.zero(X_.data() + static_cast<std::size_t>(b_in) * w,
             static_cast<std::size_t>(b - b_in) * w);
    states = X_.data();
  }
  const int R = b * (k + 1);
  const int n = n_, d0 = width_[0];
  const unsigned char* angle = angle_.data();
  T* z0 = Z_[0].data();
  be_.for_each(b, [=] LNN_LAMBDA(int s) {
    core::embed_sample(n, angle, seeds, states + static_cast<std::size_t>(s) * 2 * n,
                       z0 + static_cast<std::size_t>(s) * (k + 1) * d0, d0);
  });
  const Activation act = model_.spec().activation;
  for (int l = 1; l <= K_; ++l) {
    const int m = width_[l], w = width_[l - 1];
    be_.gemm(false, true, R, m, w, T(1), Z_[l - 1].data(), w, weight(l - 1), w, T(0), A_[l].data(),
             m);
    const T* bl = bias(l - 1);
    T* A = A_[l].data();
    T* Z = Z_[l].data();
    T* D1 = D1_[l].data();
    T* D2 = D2_[l].data();
    T* D3 = D3_[l].data();
    with_tangents(k, [&]<int K>() { activation_pass<K>(b, m, k, act, bl, A, Z, D1, D2, D3); });
  }
  return pass;
}

template <class T, class Backend>
void LayerAlgorithm<T, Backend>::lagrangian(const Pass& pass, T* L) const {
  const int b = pass.b, k = pass.k;
  const int m = width_[K_];
  const T* w = weight(K_);
  const T* c = bias(K_);  // read where the parameters live
  const T* Z = Z_[K_].data();
  // The output bias joins the first term: c + w₀z₀ + w₁z₁ + …, as summed
  // before the reduction primitive.
  be_.reduce_rows(
      b, m,
      [=] LNN_LAMBDA(std::int64_t s) {
        return OutputTerm{w, Z + static_cast<std::size_t>(s) * (k + 1) * m, c};
      },
      [=] LNN_LAMBDA(std::int64_t s, T sum) { L[s] = sum; });
}

template <class T, class Backend>
void LayerAlgorithm<T, Backend>::reverse(const Pass& pass) {
  be_.mark("reverse");
  const int b = pass.bp;
  const T* w = weight(K_);
  {
    const int m = width_[K_];
    T* G = G_[K_].data();
    be_.for_each_element(b, m, [=] LNN_LAMBDA(std::int64_t s, int i) {
      G[static_cast<std::size_t>(s) * m + i] = w[i];
    });
  }
  for (int l = K_; l >= 1; --l) {
    const int m = width_[l], wd = width_[l - 1];
    const T* G = G_[l].data();
    const LayerDerivs dv = derivs(l, pass.k);
    T* S = S_[l].data();
    be_.for_each_element(b, m, [=] LNN_LAMBDA(std::int64_t s, int i) {
      const std::size_t o = static_cast<std::size_t>(s) * m + i;
      S[o] = dv(s, i).d1 * G[o];
    });
    be_.gemm(false, false, b, wd, m, T(1), S, m, weight(l - 1), wd, T(0), G_[l - 1].data(), wd);
  }
}

template <class T, class Backend>
void LayerAlgorithm<T, Backend>::input_gradient(const Pass& pass, const T* states, T* grad) const {
  const int b = pass.b;
  const int n = n_, d0 = width_[0];
  const unsigned char* angle = angle_.data();
  const T* G0 = G_[0].data();
  be_.for_each(b, [=] LNN_LAMBDA(int s) {
    core::embed_gradient(n, angle, states + static_cast<std::size_t>(s) * 2 * n,
                         G0 + static_cast<std::size_t>(s) * d0,
                         grad + static_cast<std::size_t>(s) * 2 * n);
  });
}

template <class T, class Backend>
void LayerAlgorithm<T, Backend>::hessian_blocks(const Pass& pass, const T* states) {
  be_.mark("hessian blocks");
  const int k = pass.k;
  // Every layer in one pass per sample (core/hessian_blocks.hpp; on the GPU
  // the fused kernel of kernels/hessian_blocks.cu).
  core::HessianBlocksArgs<T> a{};
  a.H = H_.data();
  a.b = pass.bp;
  a.k = k;
  a.layers = K_;
  for (int l = 1; l <= K_; ++l)
    a.layer[l - 1] = {A_[l].data(), G_[l].data(), D2_[l].data(), width_[l]};  // D2 null: recompute
  a.act = model_.spec().activation;
  if (pass.seeds == Seeds::full) {
    a.angle = angle_.data();
    a.states = states;
    a.G0 = G_[0].data();
  }
  a.b_real = pass.b;
  a.n = n_;
  a.d0 = width_[0];
  with_tangents(k, [&]<int K>() { be_.template hessian_blocks<K>(a); });
}

template <class T, class Backend>
template <int K>
void LayerAlgorithm<T, Backend>::activation_pass(int b, int m, int k_run, Activation act,
                                                 const T* bl, T* A, T* Z, T* D1, T* D2, T* D3) {
  be_.for_each_element(b, m, [=] LNN_LAMBDA(std::int64_t s, int i) {
    const int k = K > 0 ? K : k_run;
    T* a = A + static_cast<std::size_t>(s) * (k + 1) * m;
    T* z = Z + static_cast<std::size_t>(s) * (k + 1) * m;
    a[i] += bl[i];
    const core::ActivationDerivs<T> d = core::activation_derivs(act, a[i]);
    z[i] = d.f;
    if (!kRecomputeDerivs) {  // (not `if constexpr`: nvcc's lambdas cannot capture inside one)
      const std::size_t o = static_cast<std::size_t>(s) * m + i;
      D1[o] = d.d1;
      D2[o] = d.d2;
      D3[o] = d.d3;
    }
    for (int r = 1; r <= k; ++r) z[r * m + i] = d.d1 * a[r * m + i];
  });
}

}  // namespace lnn::engine
