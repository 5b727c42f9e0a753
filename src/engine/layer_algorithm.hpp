// The batched layer algorithm (docs/math.md §2–4), written once against a backend:
//   gemm        row-major GEMM (CBLAS / cuBLAS)
//   for_each    a per-sample loop body (OpenMP loop / kernel, a thread per sample)
//   for_each_element  an element map over (sample, neuron), neuron fastest
//               (a thread per element on the GPU)
//   reduce_rows a sum over the neurons of each row (a warp per row on the GPU;
//               row(r) sets the row up once and returns its term(i))
//   sum_rows    a reduction over samples (column sums)
//   hessian_blocks<K>  the fused pass of core/hessian_blocks.hpp (every
//               layer's Hessian terms of a sample at once; on the GPU the
//               hand-written kernel of kernels/hessian_blocks.cu)
//   copy, zero  within the backend's memory
//   upload      host values into a Buffer (setup only)
//   Buffer<U>   owning storage the backend's loops can address
// The backend is an object (the CUDA one carries its stream and cuBLAS
// handle). Every pointer the algorithm is given or keeps is in the backend's
// memory; the parameters are bound per call (bind_parameters), so that a
// device backend reads its own copy of them.
// The per-sample math lives in src/core so both backends run the same lines.
// The FLOPs and device-memory bytes of every launch below, per phase (the
// mark() names), are counted in src/engine/cost_model.cpp (the roofline
// account, docs/benchmarks.md): a launch added or changed here changes there.
//
// Data layout of one chunk of b samples with k tangents (rows of width w_l):
//   Z[l]  b·(k+1) × w_l   per sample: [z_l ; T_l,1 … T_l,k]   (l = 0 … K)
//   A[l]  b·(k+1) × m_l   per sample: [a_l ; U_l,1 … U_l,k]   (l = 1 … K)
//   D1/D2/D3[l], G[l], S[l]   b × m_l   σ', σ'', σ''' at a_l;  g_l;  s_l = σ'⊙g_l
//   G[0]  b × d0   g_0 = ∂L/∂z_0
//   H     b × k × k   Σ_l U_lᵀ diag(σ''⊙g) U_l over the seeded directions
// Sample-major rows keep every per-sample reduction contiguous.
// State: forward() returns a Pass (samples, padded samples, seeds, tangent
// count) that the later stages of the same chunk take; the workspaces are
// views into one arena per engine and shape (reserve()).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <vector>

#include "core/activation.hpp"
#include "core/embedding.hpp"
#include "core/hessian_blocks.hpp"
#include "core/reduce_order.hpp"
#include "core/small_solve.hpp"
#include "lnn/engine.hpp"
#include "lnn/errors.hpp"
#include "lnn/model.hpp"

namespace lnn::engine {

using core::Seeds;

template <class T, class Backend>
class LayerAlgorithm {
  template <class U>
  using Buffer = typename Backend::template Buffer<U>;

 public:
  // What forward() set up for one chunk, taken by the stages that follow it
  // on the same chunk (the algorithm keeps no per-chunk state of its own).
  struct Pass {
    int b = 0;   // samples
    int bp = 0;  // samples with the padding (pad())
    Seeds seeds = Seeds::none;
    int k = 0;  // seeded directions (core::tangent_count)
  };

  LayerAlgorithm(const Model<T>& model, const EngineOptions& options, Backend backend = {})
      : model_(model), options_(options), be_(backend), layout_(model.layout()) {
    const ModelSpec& spec = model.spec();
    n_ = spec.n;
    K_ = spec.depth();
    width_.push_back(spec.input_width());
    for (int m : spec.hidden) width_.push_back(m);
    std::vector<unsigned char> angle;
    for (int j = 0; j < n_; ++j) angle.push_back(spec.embedding_of(j) == Embedding::angle ? 1 : 0);
    be_.upload(angle_, angle.data(), angle.size());
    if (options.chunk < 1) throw InvalidArgument("engine: chunk must be >= 1");
  }

  int n() const { return n_; }
  int chunk() const { return options_.chunk; }
  Backend& backend() { return be_; }

  // The parameters (model layout, parameter_count() values in the backend's
  // memory) that the following calls use.
  void bind_parameters(const T* params) { params_ = params; }
  const T* weight(int l) const {
    return params_ + layout_[static_cast<std::size_t>(l)].weight_offset;
  }
  const T* bias(int l) const { return params_ + layout_[static_cast<std::size_t>(l)].bias_offset; }

  // ---- forward pass with tangents (docs/math.md §2) ---------------------------
  // states: b × 2n. Fills Z, A, D1..D3 for Seeds `seeds`.
  Pass forward(const T* states_in, int b_in, Seeds seeds);

  // L = w·z_K + c per sample (after forward).
  void lagrangian(const Pass& pass, T* L) const;

  // ---- reverse pass: g_l, s_l, g_0 (docs/math.md §2) ---------------------------
  void reverse(const Pass& pass);

  // ∇_x L per sample (b × 2n) after reverse.
  void input_gradient(const Pass& pass, const T* states, T* grad) const;

  // ---- Hessian blocks over the seeded directions ----------------------------
  // H (b × k × k) = Σ_l U_lᵀ diag(σ''(a_l) ⊙ g_l) U_l; for Seeds::full also the
  // embedding's own curvature, so that H is ∇²_x L.
  void hessian_blocks(const Pass& pass, const T* states);

  const T* hessian_data() const { return H_.data(); }

  // ---- Euler–Lagrange solve (docs/math.md §1, §5) --------------------------------
  // After forward/reverse/hessian_blocks with Seeds::euler_lagrange.
  // acc (b × n); status, pivot (b) may be null.
  void solve(const Pass& pass, const T* states, const T* tau, T* acc, SolveStatus* status,
             T* pivot);

  // ---- the loss on accelerations (docs/math.md §4, §7) ---------------------------
  // After solve, for the chunk's real samples: ∂ℓ/∂q̈ before the batch's
  // normalization into abar (b × n; w·sign(d) for L1, 2w·d for MSE with
  // d = q̈ − target, zero rows for failed or zero-weight samples: a zero
  // weight masks even a NaN q̈), and per sample a row of kLossStats sums
  //   [w·Σ_p ℓ(d_p), w·ok, ok, not_positive_definite, singular]
  // that the engine adds up over the batch (sum_rows). weights may be null (1).
  static constexpr int kLossStats = 5;
  void loss_terms(const Pass& pass, const T* acc, const T* targets, const T* weights, Loss kind,
                  T* abar, double* stats);

  // abar *= 1/(Σ_{solved} w · n), the sum read where the backend keeps it
  // (totals[1] of the loss_terms sums); 0 when nothing solved. Used when the
  // mass penalty needs the data term normalized before the adjoint.
  void normalize_loss_adjoint(const Pass& pass, T* abar, const double* totals);

  // ā for a given cotangent v (b × n) of q̈ (Engine::accelerations_vjp):
  // abar = v on the samples that solved, zero rows elsewhere.
  void cotangent_terms(const Pass& pass, const T* v, T* abar);

  // ---- the adjoint (docs/math.md §4, §7) ------------------------------------------
  // After forward/reverse/hessian_blocks/solve for Seeds::euler_lagrange.
  // abar (b × n): ∂ℓ/∂q̈ per sample (zero rows for failed samples).
  // Accumulates parameter gradients into pgrad (model layout); writes the
  // input gradient (b × 2n) if xbar is not null.
  // penalty_scale ≠ 0 adds the mass-matrix penalty penalty_scale·Σ_j relu(−λ_j(M))
  // of every sample, solved or not, and writes its unscaled value per sample
  // (b) to `penalty` if not null. With penalty_scale = 0 nothing of it runs.
  void adjoint(const Pass& pass, const T* states, const T* abar, const T* acc, T* pgrad, T* xbar,
               T penalty_scale = T(0), T* penalty = nullptr);
  // After adjoint(): λ = M⁻¹ā per sample (b × n, zero rows for failed
  // samples), which is also ā's product with ∂q̈/∂τ = M⁻¹ (M symmetric).
  const T* adjoint_lambda() const { return lambda_.data(); }

  // The terms of reduce_rows (a row's pointers, set up once per row; types
  // of the class, since nvcc lets no function-local type leave a lambda).
  // L = c + w₀z₀ + w₁z₁ + …: the bias joins the first term.
  struct OutputTerm {
    const T* w;
    const T* z;
    const T* c;
    LNN_HD T operator()(int i) const {
      const T t = w[i] * z[i];
      return i == 0 ? c[0] + t : t;
    }
  };

  // The element passes whose per-neuron work loops over the k tangents, with
  // k a compile-time K for the common sizes (k = 2..5: n <= 4 for the
  // Euler–Lagrange seeds, n <= 2 for the full Hessian): the loops unroll and
  // a neuron's tangent values stay in registers, which the CPU needs to keep
  // the speed of its old row loops (measured: the runtime-k passes made a
  // width-128 loss gradient 15 % slower). K = 0: k at run time. Same lines,
  // same order of operations, for every K.
  template <class F>
  static void with_tangents(int k, F f) {
    switch (k) {
      case 2: f.template operator()<2>(); break;
      case 3: f.template operator()<3>(); break;
      case 4: f.template operator()<4>(); break;
      case 5: f.template operator()<5>(); break;
      default: f.template operator()<0>(); break;
    }
  }

  // Where σ′, σ″, σ‴ come from after the forward pass: stored by it (D1..D3,
  // three b × m arrays per layer written once and read by the reverse pass,
  // the Hessian blocks and the adjoint) or formed again from the stored
  // pre-activation a wherever they are used (row 0 of A; no D arrays at all).
  // A device backend declares kRecomputeDerivs = true: an activation's
  // derivatives cost 10–30 FLOPs, a stored value 4–8 bytes each way, and the
  // passes are memory-bound there (H200: ≈ 16 FLOP per byte). The CPU stores
  // them. The values are the same bits either way (the same function of the
  // same a).
  static constexpr bool kRecomputeDerivs = [] {
    if constexpr (requires { Backend::kRecomputeDerivs; }) {
      return Backend::kRecomputeDerivs;
    } else {
      return false;
    }
  }();
  // σ′, σ″, σ‴ of sample s, neuron i of one layer (kRecomputeDerivs above);
  // `f` is not filled.
  struct LayerDerivs {
    const T *A, *D1, *D2, *D3;
    int m, k;
    Activation act;
    LNN_HD core::ActivationDerivs<T> operator()(std::int64_t s, int i) const {
      if constexpr (kRecomputeDerivs) {
        return core::activation_derivs(act, A[static_cast<std::size_t>(s) * (k + 1) * m + i]);
      } else {
        const std::size_t o = static_cast<std::size_t>(s) * m + i;
        return {T(0), D1[o], D2[o], D3[o]};
      }
    }
  };
  LayerDerivs derivs(int l, int k) const {
    return {A_[l].data(), D1_[l].data(), D2_[l].data(), D3_[l].data(), width_[l], k,
            model_.spec().activation};
  }

  // Bias, activation and the tangents' scaling in one element pass.
  template <int K>
  void activation_pass(int b, int m, int k_run, Activation act, const T* bl, T* A, T* Z, T* D1,
                       T* D2, T* D3);

  // The adjoint's Hessian terms of one layer (adjoint()): a neuron's e =
  // ½ uᵀS̄u from its k tangent values u (in registers when k is known), and
  // Ū = D·S̄u into rows 1..k of ADJ unless kUbarInRegisters.
  template <int K>
  void hessian_terms(int b, int m, int k_run, const T* A, const T* G, LayerDerivs dv,
                     const T* SB, T* AB, T* GB, T* ADJ);

  // Where Ū lives between the adjoint's Hessian terms and the tangent
  // adjoint: stored (k rows per layer written, then read back to add σ'⊙T̄)
  // or formed again in the tangent adjoint's registers (2k² + k + 1 FLOPs
  // per neuron instead of 2k values of memory traffic). A device backend
  // declares kUbarInRegisters = true (memory-bound there); the CPU stores
  // it (measured: forming it again made the CPU's loss gradient slower,
  // docs/design-notes.md). The order of operations is the same either way.
  static constexpr bool kUbarInRegisters = [] {
    if constexpr (requires { Backend::kUbarInRegisters; }) {
      return Backend::kUbarInRegisters;
    } else {
      return false;
    }
  }();

  // The batched solve (docs/math.md §5): a backend that declares
  // kBatchedSolve = true offers
  //   batched_solve_min()  the smallest n for which it is used
  //   batched_factor(method, n, count, A, piv, info)  every sample's matrix
  //               A[s] (n×n, core::batched_prepare's layout) factored in place,
  //               Cholesky unpivoted (cholesky, damped) or LU with partial
  //               pivoting (lu); piv (count × n) and info (count) as LAPACK's
  //   batched_solve(method, n, count, A, piv, B)  B[s] ← A[s]⁻¹ B[s] from them
  // with A, B arrays of per-sample pointers in its memory. Where n >= that
  // size, the method is not pinv and the backend has it, solve() and the
  // adjoint's solve go through it (the CUDA backend: cuSOLVER / cuBLAS
  // batched); otherwise each sample is factored in its own thread
  // (core::factor_solve). The per-sample passes around the library calls are
  // core::batched_prepare, batched_classify and batched_finish.
  static constexpr bool kBatchedSolve = [] {
    if constexpr (requires { Backend::kBatchedSolve; }) {
      return Backend::kBatchedSolve;
    } else {
      return false;
    }
  }();
  bool batched_solve() const {
    if constexpr (kBatchedSolve) {
      return core::batched_method(options_.solve.method) && n_ >= be_.batched_solve_min();
    } else {
      return false;
    }
  }

  // Sample s's M (copied from the Hessian block into Mbuf) and its
  // right-hand side f − C q̇ + τ (docs/math.md §1) into out; returns M.
  struct SolveInputs {
    const T* H;
    const T* states;
    const T* tau;
    const T* G0;
    const unsigned char* angle;
    T* Mbuf;
    T* F;
    int n, d0;
    LNN_HD const T* operator()(int s, T* out) const {
      const int k = n + 1;
      const T* h = H + static_cast<std::size_t>(s) * k * k;
      const T* x = states + static_cast<std::size_t>(s) * 2 * n;
      T* M = Mbuf + static_cast<std::size_t>(s) * n * n;
      for (int p = 0; p < n; ++p)
        for (int q = 0; q < n; ++q) M[p * n + q] = h[p * k + q];
      // rhs = f − C q̇ + τ, with f = J_φᵀ g_0 (q part)
      T* g = F + static_cast<std::size_t>(s) * 2 * n;
      core::embed_gradient(n, angle, x, G0 + static_cast<std::size_t>(s) * d0, g);
      for (int p = 0; p < n; ++p)
        out[p] = g[p] - h[p * k + n] + (tau ? tau[static_cast<std::size_t>(s) * n + p] : T(0));
      return M;
    }
  };
  // solve() through the backend's batched factor and solve.
  void solve_batched(const Pass& pass, const SolveInputs& in, T* acc, SolveStatus* status,
                     T* pivot);

  // The adjoint of the tangent scaling of one layer: [ā; Ū] from ā, the
  // Hessian terms' Ū (read back, or formed here from D·S̄u when
  // kUbarInRegisters) and the next layer's [z̄; T̄] (ZT, null for the output
  // layer).
  template <int K>
  void tangent_adjoint(int b, int m, int k_run, const T* A, const T* G, LayerDerivs dv,
                       const T* SB, const T* AB, const T* ZT, T* ADJ);

  // A neuron's k tangent values U_0,i … U_{k−1},i: copied into registers
  // when k = K is known at compile time, read where they are otherwise.
  template <int K>
  struct NeuronTangents {
    T v[K > 0 ? K : 1];
    const T* U;
    int m, i, k;
    LNN_HD NeuronTangents(const T* U_, int m_, int i_, int k_) : U(U_), m(m_), i(i_), k(k_) {
      if constexpr (K > 0)
        for (int q = 0; q < K; ++q) v[q] = U[static_cast<std::size_t>(q) * m + i];
    }
    LNN_HD T operator[](int q) const {
      if constexpr (K > 0) {
        return v[q];
      } else {
        return U[static_cast<std::size_t>(q) * m + i];
      }
    }
    // (S̄u)_p = Σ_q S̄[p, q] u_q, q ascending.
    LNN_HD T sbar_row(const T* sb, int p) const {
      const int kk = K > 0 ? K : k;  // a constant bound keeps v in registers
      T t = T(0);
      for (int q = 0; q < kk; ++q) t += sb[p * kk + q] * (*this)[q];
      return t;
    }
  };

  // (Public only because nvcc's extended lambdas may not be defined in
  // private member functions: zero_failed, for_each_state, launch_states,
  // mass_penalty.)
  // Chunks are padded to a multiple of 8 samples with zero states. BLAS
  // kernels round a row differently at the ragged edge of a matrix; with
  // padding a sample's row does not depend on where in the batch it sits, so
  // a permuted batch gives bit-identical results even when samples change
  // chunks (tested). Batches of other sizes give other GEMM shapes, which
  // BLAS may block or thread differently: equal within rounding only.
  // Padded samples are inactive (status singular, never reported) and carry
  // zero adjoints.
  static int pad(int b) { return (b + 7) / 8 * 8; }

  // A failed sample's stored forward/reverse state is zeroed before the
  // adjoint, so that its (zero) adjoints cannot meet a NaN: 0·NaN would reach
  // the GEMMs shared by the whole batch. live (b, or null): samples kept
  // although their solve failed, because the mass penalty acts on them.
  void zero_failed(const Pass& pass, const unsigned char* live);

  // f(s, values of sample s, count) over every stored buffer that the
  // adjoint reads per sample: Z, A, G, S, D1..D3 of every layer. One launch
  // per kStateBatch buffers (a thread per sample walks them), not one per
  // buffer: at B = 512 the launches were the cost.
  static constexpr int kStateBatch = 32;
  struct StateBuffers {
    T* data[kStateBatch];
    std::size_t size[kStateBatch];  // values per sample
    int count = 0;
  };
  template <class F>
  void for_each_state(int b, int k, F f);
  template <class F>
  void launch_states(int b, const StateBuffers& bufs, F f);

  // The mass penalty of docs/math.md §7 per sample: value (unscaled, to `value`
  // if not null) and ∂/∂M = −Σ_{λ<0} v vᵀ (returned, b × n × n), from the
  // M that solve() kept. Sets live_: samples whose state the adjoint uses.
  // A failed sample stays live if the penalty acts on it (a negative
  // eigenvalue) and its whole stored state is finite; M itself finite is not
  // enough, since an overflowing activation can leave M finite and 0·inf
  // would poison the batch. Non-finite M or state: the sample contributes
  // nothing to the penalty (it is counted in the solve report).
  const T* mass_penalty(const Pass& pass, T* value);

 private:
  // A workspace: a typed view into the arena (no storage of its own).
  template <class U>
  struct View {
    U* p = nullptr;
    U* data() const { return p; }
  };

  // Every workspace of a chunk comes from one arena per engine and shape:
  // views of the largest chunk (b samples, k tangents, with or without the
  // Euler–Lagrange stages) seen so far, re-planned and the arena re-made
  // (one allocation) only when a larger shape comes. Nothing in a workspace
  // outlives the call that fills it.
  void reserve(int b, int k, bool euler_lagrange) {
    if (b <= cap_b_ && k <= cap_k_ && (cap_el_ || !euler_lagrange)) return;
    cap_b_ = std::max(cap_b_, b);
    cap_k_ = std::max(cap_k_, k);
    cap_el_ = cap_el_ || euler_lagrange;
    const std::size_t bytes = plan(nullptr);
    arena_.resize(0);  // the old arena goes before the new one is made
    arena_.resize(bytes);
    plan(arena_.data());
  }

  // Lays the views out from `base` (null: only counts) and returns the bytes
  // they take; each view starts on a kArenaAlign boundary.
  static constexpr std::size_t kArenaAlign = 256;
  std::size_t plan(unsigned char* base) {
    std::size_t off = 0;
    const auto take = [&]<class U>(View<U>& v, std::size_t count) {
      off = (off + kArenaAlign - 1) / kArenaAlign * kArenaAlign;
      v.p = base ? reinterpret_cast<U*>(base + off) : nullptr;
      off += count * sizeof(U);
    };
    const std::size_t B = static_cast<std::size_t>(cap_b_), k = static_cast<std::size_t>(cap_k_);
    const std::size_t L = static_cast<std::size_t>(K_) + 1, n = static_cast<std::size_t>(n_);
    for (auto* v : {&Z_, &A_, &D1_, &D2_, &D3_, &G_, &S_, &Abar_, &Gbar_, &Adj_, &ZTbar_})
      v->assign(L, View<T>{});
    std::size_t max_m = 0;
    for (std::size_t l = 0; l < L; ++l) {
      const std::size_t w = static_cast<std::size_t>(width_[l]);
      max_m = std::max(max_m, w);
      take(Z_[l], B * (k + 1) * w);
      take(G_[l], B * w);
      if (l > 0) {
        take(A_[l], B * (k + 1) * w);
        if constexpr (!kRecomputeDerivs) take(D1_[l], B * w), take(D2_[l], B * w), take(D3_[l], B * w);
        take(S_[l], B * w);
      }
    }
    take(H_, B * k * k);
    take(X_, B * 2 * n);
    if (cap_el_) {
      take(M_, B * n * n);
      take(F_, B * 2 * n);
      take(work_, B * static_cast<std::size_t>(core::solve_workspace(n_)));
      take(iwork_, B * n);
      take(status_, B);
      take(Aptr_, B), take(Bptr_, B), take(info_, B);  // the batched solve's
      take(lambda_, B * n);
      take(Sbar_, B * k * k);
      take(Sbarl_, B * max_m);
      for (std::size_t l = 0; l < L; ++l) {
        const std::size_t w = static_cast<std::size_t>(width_[l]);
        take(Gbar_[l], B * w);
        take(ZTbar_[l], B * (k + 1) * w);
        if (l > 0) take(Abar_[l], B * w), take(Adj_[l], B * (k + 1) * w);
      }
      take(Mpen_, B * n * n);
      take(Mpen_work_, B * static_cast<std::size_t>(core::penalty_workspace(n_)));
      take(Pval_, B);
      take(live_, B);
    }
    return off;
  }

  // The stages after the solve need the Euler–Lagrange seeds' workspaces.
  void require_euler_lagrange(const Pass& pass) const {
    if (pass.seeds != Seeds::euler_lagrange)
      throw std::logic_error("layer algorithm: the solve and the adjoint need a forward pass with the "
                       "Euler-Lagrange seeds");
  }

  const Model<T>& model_;
  EngineOptions options_;
  Backend be_;
  std::vector<LayerLayout> layout_;
  const T* params_ = nullptr;
  int n_ = 0, K_ = 0;
  std::vector<int> width_;  // w_0 = d0, w_l = m_l
  Buffer<unsigned char> angle_;
  Buffer<unsigned char> arena_;                   // every workspace (reserve())
  int cap_b_ = 0, cap_k_ = 0;                     // the shape the views are planned for
  bool cap_el_ = false;
  std::vector<View<T>> Z_, A_, D1_, D2_, D3_, G_, S_, Abar_, Gbar_, Adj_, ZTbar_;  // per layer
  View<T> X_, H_, M_, F_, work_, lambda_, Sbar_, Sbarl_;
  View<T> Mpen_, Mpen_work_, Pval_;  // the mass penalty (mass_penalty())
  View<int> iwork_;
  View<T*> Aptr_, Bptr_;  // per sample: its factor in work_, its right-hand side
  View<int> info_;        // per sample: the batched factor's info
  View<unsigned char> live_;
  View<SolveStatus> status_;
};

}  // namespace lnn::engine

// The stages' definitions, by stage.
#include "engine/layer_adjoint.hpp"
#include "engine/layer_forward.hpp"
#include "engine/layer_solve.hpp"
