// The roofline account (cost_model.hpp): every launch of one engine call
// with its FLOPs and device-memory bytes, counted from the code that
// enqueues it. Notation (docs/math.md §2–§3, src/engine/layer_algorithm.hpp):
//   n      coordinates; states 2n per sample
//   K      hidden layers; w_0 = d0 (ModelSpec::input_width), w_l = m_l
//   k      tangents, n + 1 for the Euler–Lagrange seeds; a sample is
//          r = k + 1 = n + 2 rows of Z[l] and A[l]
//   b      the chunk's samples padded to a multiple of 8 (LayerAlgorithm::pad);
//          b_in the real ones; R = b·r the rows of a tangent GEMM
//   P      parameters; T the bytes of a value (4 float, 8 double)
// Bytes are the compulsory traffic of a launch: each value it reads or
// writes once (a read-modify-write twice), what HBM must move if the caches
// serve the re-reads within a launch (a weight matrix re-read by every
// GEMM tile, S̄ re-read by every neuron of a sample, the rows a reduction
// re-reads per tangent pair). GEMMs: 2·M·N·K FLOPs, and A, B and C once
// (C twice with beta = 1). Copies across the host link are counted apart
// (host_bytes) and not priced: the roofline is the device's.
#include "engine/cost_model.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <stdexcept>

#include "core/reduce_order.hpp"

namespace lnn::engine {

const char* to_string(Work w) {
  switch (w) {
    case Work::accelerations:
      return "accelerations";
    case Work::loss_gradient:
      return "loss gradient";
    case Work::training_step:
      return "training step";
  }
  return "?";
}

const char* to_string(LaunchKind k) {
  switch (k) {
    case LaunchKind::gemm:
      return "gemm";
    case LaunchKind::element_map:
      return "element map";
    case LaunchKind::row_reduction:
      return "row reduction";
    case LaunchKind::per_sample:
      return "per sample";
    case LaunchKind::column_sums:
      return "column sums";
    case LaunchKind::reduction:
      return "reduction";
    case LaunchKind::memset:
      return "memset";
    case LaunchKind::device_copy:
      return "device copy";
    case LaunchKind::host_copy:
      return "host copy";
    case LaunchKind::batched_solve:
      return "batched solve";
  }
  return "?";
}

CostSetup CostSetup::benchmark(const ModelSpec& spec, int value_bytes, std::int64_t batch,
                               Work work) {
  CostSetup s;
  s.spec = spec;
  s.value_bytes = value_bytes;
  s.batch = batch;
  s.chunk = std::min<std::int64_t>(batch, 65536);  // bench_engine.cpp's Setup::options
  s.work = work;
  s.host_parameters = s.host_gradient = work != Work::training_step;
  return s;
}

namespace {

// FLOPs of core::activation_derivs for one neuron (src/core/activation.hpp),
// counted as written: each + − × ÷ and each exp or log once, comparisons,
// selects and fabs not at all.
double activation_flops(Activation a) {
  switch (a) {
    case Activation::softplus:
      return 15;  // exp, 1/(1+e), e·r, e·r·r, log1p_fast (5), +, ds(1−2s)
    case Activation::tanh:
      return 14;  // tanh_sech2 (8), −2th, h(6t²−2)
    case Activation::silu:
      return 23;  // sigmoid (3), s', 1−2s, σ, σ', σ'', σ'''
    case Activation::xtanh_half:
      return 29;  // silu + 2f−a, 2d1−1, 2d2, 2d3
    case Activation::gelu:
      return 63;  // u, u1, u2, u3, tanh_sech2, σ … σ'''
  }
  return 0;
}

// LU with partial pivoting and one solve of an n × n system
// (core::lu_factor, core::lu_solve; the other methods cost about the same at
// small n): elimination Σ_j (n−1−j)(1 + 2(n−1−j)), solves 2n(n−1) + n.
double lu_factor_flops(int n) {
  double f = 0;
  for (int j = 0; j < n; ++j) f += (n - 1 - j) * (1.0 + 2.0 * (n - 1 - j));
  return f;
}
double lu_solve_flops(int n) { return 2.0 * n * (n - 1) + n; }
double lu_flops(int n) { return lu_factor_flops(n) + lu_solve_flops(n); }

class Account {
 public:
  explicit Account(const CostSetup& s) : s_(s), T(s.value_bytes) {}

  void phase(const char* name) { phase_ = name; }

  LaunchCost& add(LaunchKind kind, std::string what, double flops, double bytes,
                  double host_bytes = 0, int launches = 1) {
    LaunchCost c;
    c.phase = phase_;
    c.what = std::move(what);
    c.kind = kind;
    c.flops = flops;
    c.bytes = bytes;
    c.host_bytes = host_bytes;
    c.launches = launches;
    out_.push_back(c);
    return out_.back();
  }

  // C (m×n) = A (m×k)·B (k×n) + beta·C: 2mnk FLOPs; A, B, C once, C twice
  // when beta = 1 (read and written). src/cuda/cuda_backend.cuh: one cuBLAS call.
  void gemm(std::string what, double gm, double gn, double gk, bool beta_one) {
    LaunchCost& c = add(LaunchKind::gemm, std::move(what), 2.0 * gm * gn * gk,
                        T * (gm * gk + gk * gn + gm * gn * (beta_one ? 2.0 : 1.0)));
    c.gemm_m = static_cast<std::int64_t>(gm);
    c.gemm_n = static_cast<std::int64_t>(gn);
    c.gemm_k = static_cast<std::int64_t>(gk);
  }

  // sum_rows(rows, cols, X, ld, out) (kernels/column_sums.cu): pass 1 reads
  // rows·cols values of U and writes a partial sum per chunk of
  // core::kColumnChunk rows and column; pass 2 reads the partials and adds
  // them to out (read and written). One pass-1 launch per 65535 chunks.
  void column_sums(std::string what, double rows, double cols, double u_bytes, double v_bytes) {
    const double chunks = static_cast<double>(core::column_chunks(static_cast<std::int64_t>(rows)));
    const int pass1 = static_cast<int>((static_cast<std::int64_t>(chunks) + 65534) / 65535);
    add(LaunchKind::column_sums, std::move(what), rows * cols,
        rows * cols * u_bytes + 2.0 * chunks * cols * v_bytes + 2.0 * cols * v_bytes, 0, pass1 + 1);
  }

  std::vector<LaunchCost> run() {
    const ModelSpec& spec = s_.spec;
    n = spec.n;
    K = spec.depth();
    w.assign(1, spec.input_width());
    for (int m : spec.hidden) w.push_back(m);
    k = n + 1;
    P = static_cast<double>(spec.parameter_count());
    angles = 0;
    for (int j = 0; j < n; ++j) angles += spec.embedding_of(j) == Embedding::angle ? 1 : 0;

    // Before the first chunk: on the engine's timeline this is charged to
    // "host", the phase that runs from the end of the previous call.
    phase("host");
    if (s_.host_parameters)  // bind(): stage_in of the model's host parameters
      add(LaunchKind::host_copy, "parameters in (bind)", 0, 0, T * P);
    if (s_.work != Work::accelerations) {
      // engine_impl.hpp loss_gradient: zero(pg, P), zero(totals, S + 1), zero(first, S)
      add(LaunchKind::memset, "zero the parameter gradient", 0, T * P);
      add(LaunchKind::memset, "zero the loss totals", 0, 8.0 * (2 * kLossStats + 1), 0, 2);
    }
    for (std::int64_t s0 = 0; s0 < s_.batch; s0 += s_.chunk)
      chunk(std::min(s_.chunk, s_.batch - s0));
    if (s_.work == Work::accelerations) return out_;

    // engine_impl.hpp queue_loss_gradient: the loss from the sums (one
    // thread), then every gradient entry scaled (LossSummary::grad_scale).
    phase("loss summary");
    add(LaunchKind::per_sample, "loss summary (one thread)", 10, 8.0 * (kLossStats + 1) + 8.0 * 7);
    add(LaunchKind::per_sample, "scale the parameter gradient", P, 2.0 * T * P + 8.0 * 7);
    if (s_.work != Work::training_step) {
      phase("totals out and wait");  // fetch(LossSummary): 7 doubles
      add(LaunchKind::host_copy, "loss summary out", 0, 0, 8.0 * 7);
      phase("gradient out");
      if (s_.host_gradient) add(LaunchKind::host_copy, "parameter gradient out", 0, 0, T * P);
      return out_;
    }

    // The parameter store's Adam step on the same stream
    // (src/train/parameter_store.hpp); nothing waits for the host.
    phase("adam: gradient norm");
    // sum_squares_into: kReduceBlocks (512) blocks read g once (x², +: 2
    // FLOPs) and write a double each; one block adds the 512 into the record.
    add(LaunchKind::reduction, "sum of g^2 (sum_squares_partial, sum_partials)", 2.0 * P + 512,
        T * P + 2.0 * 512 * 8 + 8, 0, 2);
    phase("adam: plan and update");
    // plan_step (one thread): the schedule, the clip and the factors.
    add(LaunchKind::per_sample, "Adam plan (one thread)", 40, 8.0 * 7 + 160);
    // core::adam_update per parameter: reads p, g, m, v and writes p, m, v;
    // 14 FLOPs (m: 3, v: 4, denominator: 3 with the sqrt, p: 4).
    add(LaunchKind::per_sample, "Adam update", 14.0 * P, 7.0 * T * P);
    // The step's record to pinned host memory, read a step later.
    add(LaunchKind::host_copy, "step record out (asynchronous)", 0, 0, 160);
    return out_;
  }

 private:
  static constexpr int kLossStats = 5;  // LayerAlgorithm::kLossStats

  // One chunk of b_in samples: engine_impl.hpp's accelerations or
  // loss_chunk + adjoint, over layer_algorithm.hpp's launches.
  void chunk(std::int64_t b_in_i) {
    const double b_in = static_cast<double>(b_in_i);
    const double b = static_cast<double>((b_in_i + 7) / 8 * 8);  // LayerAlgorithm::pad
    const double r = k + 1, R = b * r, d0 = w[0];
    const bool grad = s_.work != Work::accelerations;
    // σ′, σ″, σ‴ formed again where used (CostSetup::recompute_derivs): a
    // read of a instead of the stored values, activation_derivs' FLOPs each time.
    const bool rd = s_.recompute_derivs;
    const double dx = rd ? activation_flops(s_.spec.activation) : 0.0;

    phase("chunk: copies in");
    add(LaunchKind::host_copy, "states in", 0, 0, T * b_in * 2 * n);
    if (grad) add(LaunchKind::host_copy, "targets in", 0, 0, T * b_in * n);

    // ---- forward (docs/math.md §2) -------------------------------------------
    phase("forward");
    if (b != b_in) {  // the padding: copy the states, zero the rest
      add(LaunchKind::device_copy, "states into the padded buffer", 0, 2.0 * T * b_in * 2 * n);
      add(LaunchKind::memset, "zero the padding", 0, T * (b - b_in) * 2 * n);
    }
    // embed_sample: reads the 2n states, writes the r rows of z_0 (d0 each);
    // cos, sin and the two products of u_0 per angle coordinate.
    add(LaunchKind::per_sample, "embed z0 and seeds", b * 4.0 * angles, T * b * (2.0 * n + r * d0));
    for (int l = 1; l <= K; ++l) {
      const double m = w[l], wd = w[l - 1];
      // [a; U]_l = [z; T]_{l−1} W_lᵀ: R × m × w_{l−1}, beta 0.
      gemm("forward GEMM layer " + std::to_string(l), R, m, wd, false);
      // activation_pass: per neuron reads the k + 1 rows of A, writes a back
      // (the bias added), the k + 1 rows of Z and, unless recomputed,
      // σ', σ'', σ'''; the bias once. FLOPs: the bias, activation_derivs, k
      // tangent products.
      add(LaunchKind::element_map, "activation pass layer " + std::to_string(l),
          b * m * (1.0 + activation_flops(s_.spec.activation) + k),
          T * (b * m * (2.0 * k + 3.0 + (rd ? 0.0 : 3.0)) + m));
    }

    // ---- reverse pass (docs/math.md §2) -----------------------------------------
    phase("reverse");
    add(LaunchKind::element_map, "g_K = w", 0, T * (b * w[K] + w[K]));
    for (int l = K; l >= 1; --l) {
      const double m = w[l], wd = w[l - 1];
      // s = σ'⊙g: reads 2 (σ' or a), writes 1 per neuron.
      add(LaunchKind::element_map, "s = d1*g layer " + std::to_string(l), b * m * (1.0 + dx),
          3.0 * T * b * m);
      // g_{l−1} = s W_l: b × w_{l−1} × m, beta 0.
      gemm("reverse GEMM layer " + std::to_string(l), b, wd, m, false);
    }

    // ---- Hessian blocks (docs/math.md §2) -----------------------------------------
    phase("hessian blocks");
    {
      // hessian_blocks (kernels/hessian_blocks.cu), one launch for every
      // layer: per sample and layer σ'', g and the k tangent rows are read
      // once ((k + 2)m values); per neuron D = σ''g (1 FLOP) and for each of
      // the k(k+1)/2 entries 2 products and an add; the block written once
      // (k² values, the lower triangle from the upper). For Seeds::full the
      // embedding's curvature adds a few FLOPs per angle (not counted).
      const double np = k * (k + 1) / 2.0;
      double m_sum = 0;
      for (int l = 1; l <= K; ++l) m_sum += w[l];
      add(LaunchKind::row_reduction, "H blocks (every layer)", b * m_sum * (1.0 + dx + 3.0 * np),
          T * (b * (k + 2.0) * m_sum + b * k * k));
    }

    // ---- solve (docs/math.md §1, §5) -----------------------------------------------
    phase("solve");
    const bool batched = n >= s_.batched_solve_min;
    if (batched) {
      // LayerAlgorithm::solve_batched, LU (cuBLAS getrfBatched/getrsBatched).
      // prepare: per real sample reads M and C q̇ from H (n² + n), the states
      // (2n), g_0 (d0); writes M (n²), ∇L (2n), the right-hand side (n), the
      // matrix to factor and its scale (n² + 1) and two pointers (16 bytes);
      // padding writes its status. FLOPs: the embedding, the right-hand side.
      add(LaunchKind::per_sample, "batched solve: M, rhs, matrix, pointers",
          b_in * (5.0 * angles + n),
          b_in * (T * (n * n + n + 2.0 * n + d0 + n * n + 2.0 * n + n + n * n + 1.0) + 16.0) +
              (b - b_in));
      // getrfBatched: each matrix read and written, its pivots (n ints) and info.
      add(LaunchKind::batched_solve, "LU factor (getrfBatched)", b_in * lu_factor_flops(n),
          b_in * (2.0 * T * n * n + 4.0 * n + 4.0));
      // classify: reads M (n²: the finite check and the scale), the factor's
      // diagonal (n) and info; writes the status (the engine's, and the
      // caller's in accelerations); n² + n comparisons.
      add(LaunchKind::per_sample, "batched solve: classify", b_in * (n * n + n),
          b_in * (T * (n * n + n) + 4.0 + (grad ? 1.0 : 2.0)));
      // getrsBatched: reads the factor and pivots, the right-hand side read and written.
      add(LaunchKind::batched_solve, "LU solve (getrsBatched)", b_in * lu_solve_flops(n),
          b_in * (T * (n * n + 2.0 * n) + 4.0 * n));
      // finish: reads the status, q̈ read and written.
      add(LaunchKind::per_sample, "batched solve: finish", 0, b_in * (1.0 + 2.0 * T * n));
    } else {
      // Per real sample: reads M and C q̇ from H (n² + n), the states (2n),
      // g_0 (d0); writes M (n²), ∇L (2n), q̈ (n), the factor
      // (core::solve_workspace = 2n² + 2n) and its n pivots (int); status
      // bytes (the engine's, and the caller's in accelerations). Padding
      // writes its status only. FLOPs: ∂L/∂q through the embedding (5 per
      // angle), the right-hand side (n), the LU factor and solve.
      const double per_real =
          T * (n * n + n + 2.0 * n + d0 + n * n + 2.0 * n + n + 2.0 * n * n + 2.0 * n) + 4.0 * n +
          (grad ? 1.0 : 2.0);
      add(LaunchKind::per_sample, "factor and solve", b_in * (5.0 * angles + n + lu_flops(n)),
          b_in * per_real + (b - b_in));
    }
    if (!grad) {
      phase("results out and wait");
      add(LaunchKind::host_copy, "accelerations and status out", 0, 0, b_in * (T * n + 1.0), 2);
      return;
    }

    // ---- loss terms (docs/math.md §4) -----------------------------------------------
    phase("loss terms");
    // loss_terms over the real samples: reads the status, q̈ and target (n
    // each), writes ā (n) and kLossStats doubles; L1: 4 FLOPs per coordinate.
    add(LaunchKind::per_sample, "loss terms", b_in * 4.0 * n,
        b_in * (1.0 + 3.0 * T * n + 8.0 * kLossStats));
    column_sums("loss totals (sum_rows)", b_in, kLossStats, 8, 8);

    // ---- the adjoint (docs/math.md §4) ------------------------------------------------
    phase("adjoint: solve terms");
    {
      // Per real sample: reads the status, ā, q̈ (n each), the LU factor (n²)
      // and pivots (n ints), the states (2n); writes λ (n), S̄ (k²) and ḡ_0
      // (d0). Padding: status read, λ, S̄, ḡ_0 written. FLOPs: the solve
      // (2n² + n), S̄'s n² entries (3 each), ḡ_0 (4 per angle).
      const double real = 1.0 + T * (n + n + n * n + 2.0 * n) + 4.0 * n + T * (n + k * k + d0);
      const double pad = 1.0 + T * (n + k * k + d0);
      if (batched) {
        // λ = ā and a pointer per sample (status read, ā read, λ written),
        // getrsBatched on the stored factor, then the loop below without its
        // solve: it reads λ (n) instead of the factor and pivots.
        add(LaunchKind::per_sample, "lambda = abar, pointers", 0,
            b_in * (1.0 + 2.0 * T * n + 8.0) + (b - b_in) * (1.0 + T * n + 8.0));
        add(LaunchKind::batched_solve, "LU solve (getrsBatched)", b_in * lu_solve_flops(n),
            b_in * (T * (n * n + 2.0 * n) + 4.0 * n));
        add(LaunchKind::per_sample, "Sbar, gbar_0", b_in * (3.0 * n * n + 4.0 * angles),
            b_in * (1.0 + T * (n + n + 2.0 * n) + T * (n + k * k + d0)) + (b - b_in) * pad);
      } else {
        add(LaunchKind::per_sample, "lambda = M^-1 abar, Sbar, gbar_0",
            b_in * (2.0 * n * n + n + 3.0 * n * n + 4.0 * angles), b_in * real + (b - b_in) * pad);
      }
      // zero_failed: one launch per LayerAlgorithm::kStateBatch (32) stored
      // buffers (Z, G of every layer; A, S, D1–D3 of the hidden ones); a
      // thread reads its sample's status and, for a failed sample only,
      // zeroes its state. The account assumes every sample solved.
      const int buffers = 2 * (K + 1) + (rd ? 2 : 5) * K;
      add(LaunchKind::per_sample, "zero failed samples", 0, b, 0, (buffers + 31) / 32);
    }

    phase("adjoint: hessian terms");
    for (int l = 1; l <= K; ++l) {
      const double m = w[l];
      // hessian_terms: per neuron reads U (k), g, σ'', σ''' and writes ā, ḡ
      // (Ū is formed in tangent_adjoint, not stored); S̄ (k²) once per
      // sample. FLOPs 2k² + 2k + 4 (S̄U: 2k², e: 2k, ½, ā: 2, ḡ: 1).
      // Recomputed: a instead of σ'' and σ''' (one value fewer).
      add(LaunchKind::element_map, "Hessian terms layer " + std::to_string(l),
          b * m * (2.0 * k * k + 2.0 * k + 4.0 + dx),
          T * (b * m * (k + (rd ? 4.0 : 5.0)) + b * k * k));
    }

    phase("adjoint: reverse pass");
    for (int l = 1; l <= K; ++l) {
      const double m = w[l], wd = w[l - 1];
      // s̄_l = ḡ_{l−1} W_lᵀ: b × m × w_{l−1}, beta 0.
      gemm("reverse adjoint sbar GEMM layer " + std::to_string(l), b, m, wd, false);
      // W̄_l += s_lᵀ ḡ_{l−1}: m × w_{l−1} × b, beta 1.
      gemm("reverse adjoint Wbar GEMM layer " + std::to_string(l), m, wd, b, true);
      // ḡ += σ'⊙s̄, ā += σ''⊙g⊙s̄: reads 6, writes 2 per neuron; 5 FLOPs.
      // (recomputed: a instead of σ' and σ'', one value fewer)
      add(LaunchKind::element_map, "gbar, abar from sbar layer " + std::to_string(l),
          (5.0 + dx) * b * m, (rd ? 7.0 : 8.0) * T * b * m);
    }
    column_sums("wbar = sum of gbar_K (sum_rows)", b, w[K], T, T);

    phase("adjoint: forward pass");
    for (int l = K; l >= 1; --l) {
      const double m = w[l], wd = w[l - 1];
      // tangent_adjoint: per neuron Ū = D·S̄u from U (k), g and σ'' (2k² + k
      // + 1 FLOPs; S̄, k², once per sample) and ā into the value row. The
      // output layer reads those k + 3 values and writes [ā; Ū] (k + 1);
      // below it a neuron also reads z̄ and T̄ (k + 1) and σ', and adds σ'⊙T̄
      // and σ''·(U·T̄) + σ'z̄ (4k + 4 FLOPs): 3k + 6 values.
      // Recomputed: a instead of σ'' (and σ' below the output layer).
      const double ubar_flops = 2.0 * k * k + k + 1.0 + dx;
      if (l == K) {
        add(LaunchKind::element_map, "[abar; Ubar] layer " + std::to_string(l), b * m * ubar_flops,
            T * (b * m * (2.0 * k + 4.0) + b * k * k));
      } else {
        add(LaunchKind::element_map, "[abar; Ubar] layer " + std::to_string(l),
            b * m * (ubar_flops + 4.0 * k + 4.0),
            T * (b * m * (3.0 * k + (rd ? 5.0 : 6.0)) + b * k * k));
      }
      // W̄_l += [ā; Ū]ᵀ [z; T]_{l−1}: m × w_{l−1} × R, beta 1.
      gemm("forward adjoint Wbar GEMM layer " + std::to_string(l), m, wd, R, true);
      // b̄_l += Σ ā_l (the value rows of Adj).
      column_sums("bbar = sum of abar, layer " + std::to_string(l) + " (sum_rows)", b, m, T, T);
      // [z̄; T̄]_{l−1} = [ā; Ū] W_l: R × w_{l−1} × m, beta 0.
      gemm("forward adjoint [zbar; Tbar] GEMM layer " + std::to_string(l), R, wd, m, false);
    }
  }

  const CostSetup& s_;
  const double T;
  std::string phase_;
  std::vector<LaunchCost> out_;
  int n = 0, K = 0, angles = 0;
  double k = 0, P = 0;
  std::vector<double> w;
};

}  // namespace

std::vector<LaunchCost> launch_costs(const CostSetup& setup) {
  setup.spec.validate();
  if (setup.batch < 1 || setup.chunk < 1)
    throw std::invalid_argument("cost model: batch and chunk must be >= 1");
  if (setup.value_bytes != 4 && setup.value_bytes != 8)
    throw std::invalid_argument("cost model: value_bytes must be 4 or 8");
  return Account(setup).run();
}

double implied_seconds(const LaunchCost& c, const Roofline& r) {
  return std::max(c.flops / r.flop_per_s, c.bytes / r.bytes_per_s);
}

bool memory_bound(const LaunchCost& c, const Roofline& r) {
  return c.bytes / r.bytes_per_s > c.flops / r.flop_per_s;
}

std::vector<PhaseCost> phase_costs(const std::vector<LaunchCost>& launches, const Roofline& r) {
  std::vector<PhaseCost> out;
  for (const LaunchCost& c : launches) {
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const PhaseCost& p) { return p.phase == c.phase; });
    if (it == out.end()) {
      out.push_back(PhaseCost{c.phase});
      it = out.end() - 1;
    }
    it->flops += c.flops;
    it->bytes += c.bytes;
    it->host_bytes += c.host_bytes;
    it->launches += c.launches;
    const double t = implied_seconds(c, r);
    it->seconds += t;
    if (memory_bound(c, r)) it->memory_seconds += t;
  }
  return out;
}

PhaseCost total_cost(const std::vector<PhaseCost>& phases) {
  PhaseCost t{"total"};
  for (const PhaseCost& p : phases) {
    t.flops += p.flops;
    t.bytes += p.bytes;
    t.host_bytes += p.host_bytes;
    t.launches += p.launches;
    t.seconds += p.seconds;
    t.memory_seconds += p.memory_seconds;
  }
  return t;
}

namespace {

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return buf;
}

// "compute" or "memory", with the share of the implied time in memory-bound launches.
std::string bound(const PhaseCost& p) {
  if (p.seconds <= 0) return "-";
  const double mem = p.memory_seconds / p.seconds;
  return format("%s %3.0f%%", mem > 0.5 ? "memory " : "compute",
                100.0 * (mem > 0.5 ? mem : 1.0 - mem));
}

}  // namespace

std::string roofline_table(const CostSetup& setup, const Roofline& r,
                           const std::vector<std::pair<std::string, double>>& measured,
                           bool launches_too) {
  const std::vector<LaunchCost> launches = launch_costs(setup);
  const std::vector<PhaseCost> phases = phase_costs(launches, r);
  const PhaseCost total = total_cost(phases);
  const double B = static_cast<double>(setup.batch);
  std::string s;
  std::string hidden;
  for (int m : setup.spec.hidden) hidden += (hidden.empty() ? "" : "x") + std::to_string(m);
  s += format("Roofline account: %s, n = %d, hidden %s, %s, B = %lld (chunk %lld), on %s\n",
              to_string(setup.work), setup.spec.n, hidden.c_str(),
              setup.value_bytes == 4 ? "float" : "double", static_cast<long long>(setup.batch),
              static_cast<long long>(setup.chunk), r.name);
  s += format(
      "  %.4g GFLOP, %.4g MB device memory, %.4g MB host link per call; implied %.4g ms "
      "(%.0f samples/s, %.1f TFLOP/s)\n",
      total.flops / 1e9, total.bytes / 1e6, total.host_bytes / 1e6, total.seconds * 1e3,
      B / total.seconds, total.flops / total.seconds / 1e12);
  const bool with_measured = !measured.empty();
  s += format("  %-32s %8s %12s %12s %8s %10s %12s %9s", "phase", "launches", "FLOP/sample",
              "bytes/sample", "FLOP/B", "implied ms", "bound", "host MB");
  if (with_measured) s += format(" %11s %9s", "measured ms", "meas/impl");
  s += "\n";
  double measured_sum = 0;
  auto measured_of = [&](const std::string& name, double& ms) {
    for (const auto& [phase, t] : measured)
      if (phase == name) {
        ms = t;
        return true;
      }
    return false;
  };
  auto row = [&](const PhaseCost& p) {
    s += format("  %-32s %8d %12.4g %12.4g %8.3g %10.4g %12s %9.3g", p.phase.c_str(), p.launches,
                p.flops / B, p.bytes / B, p.bytes > 0 ? p.flops / p.bytes : 0.0, p.seconds * 1e3,
                bound(p).c_str(), p.host_bytes / 1e6);
    if (with_measured) {
      // measured / implied; "-" where the account implies no device time
      // (host copies and waits only).
      const auto ratio = [&](double ms) {
        return p.seconds > 0 ? format(" %9.2f", ms / (p.seconds * 1e3)) : format(" %9s", "-");
      };
      double ms = 0;
      if (p.phase == "total") {  // over the phases of the account only
        s += format(" %11.4g", measured_sum) + ratio(measured_sum);
      } else if (measured_of(p.phase, ms)) {
        measured_sum += ms;
        s += format(" %11.4g", ms) + ratio(ms);
      } else {
        s += format(" %11s %9s", "-", "-");
      }
    }
    s += "\n";
  };
  for (const PhaseCost& p : phases) row(p);
  row(total);
  if (with_measured) {
    for (const auto& [phase, ms] : measured) {
      // A named copy for the lambda: clang before 16 cannot capture a
      // structured binding (the fuzz build, tests/fuzz, uses clang 14).
      const std::string& phase_name = phase;
      const bool in_account = std::any_of(phases.begin(), phases.end(),
                                          [&](const PhaseCost& p) { return p.phase == phase_name; });
      if (!in_account)
        s += format("  %-32s %8s %12s %12s %8s %10s %12s %9s %11.4g %9s   (measured only)\n",
                    phase.c_str(), "-", "-", "-", "-", "-", "-", "-", ms, "-");
    }
  }
  if (launches_too) {
    s += format("  %-32s %-44s %-13s %8s %12s %12s %10s\n", "phase", "launch", "kind", "launches",
                "GFLOP", "MB", "implied us");
    for (const LaunchCost& c : launches)
      s += format("  %-32s %-44s %-13s %8d %12.4g %12.4g %10.4g\n", c.phase.c_str(), c.what.c_str(),
                  to_string(c.kind), c.launches, c.flops / 1e9, c.bytes / 1e6,
                  implied_seconds(c, r) * 1e6);
  }
  return s;
}

}  // namespace lnn::engine
