// Batched evaluation of a learned Lagrangian: L, ∇L, M, C·q̇, the full
// Hessian, the energy, accelerations and exact loss gradients (docs/math.md §1–4).
//
// Shapes (all row-major, sample-major, B = number of samples):
//   states   B × 2n   each row [q_1 … q_n, q̇_1 … q̇_n]
//   tau      B × n    generalized forces, or empty for none
//   acc      B × n    q̈
//   M        B × n × n,  Cv, f  B × n,   H  B × 2n × 2n,   grad  B × 2n
//   status   B        SolveStatus per sample;  pivot  B  its smallest pivot
//                     (Cholesky: pivot of L; LU: |U_jj|; pinv: eigenvalue)
#pragma once
#include "lnn/visibility.hpp"
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "lnn/model.hpp"
#include "lnn/solve.hpp"

namespace lnn LNN_CXX_API {
namespace engine {
template <class T>
struct EngineAccess;  // src/engine/engine_access.hpp: the library's own use
}

enum class Device : std::uint8_t { cpu, cuda };
enum class Loss : std::uint8_t {
  l1,   // mean over solved samples and coordinates of |q̈ − target|
  mse,  // mean of (q̈ − target)²
};
std::string_view to_string(Device d);
std::string_view to_string(Loss l);
Device parse_device(std::string_view name);
Loss parse_loss(std::string_view name);

struct EngineOptions {
  Device device = Device::cpu;
  SolveOptions solve;
  // Samples processed together; bounds the workspace (about
  // (4k + 11)·Σm_l·chunk values, k = n+1: 170 MB for n = 2, 3 × 600, float).
  // Results do not depend on it (chunks are padded, see docs/design-notes.md).
  // 1024 was fastest of 128…4096 on 2 cores (docs/benchmarks.md). The CUDA
  // engine takes this default as kCudaDefaultChunk (a GPU needs large
  // launches); any other value is used as given.
  static constexpr int kDefaultChunk = 1024;
  static constexpr int kCudaDefaultChunk = 65536;
  int chunk = kDefaultChunk;
  // CUDA only: let cuBLAS use TF32 tensor cores for float GEMMs (faster,
  // about 10 bits of mantissa in the products; docs/benchmarks.md measures
  // the cost). Ignored for double and on the CPU.
  bool tf32 = false;
  // CUDA only: each float GEMM as three TF32 tensor-core products of split
  // operands (3xTF32: about FP32's accuracy; docs/benchmarks.md measures
  // it). Takes precedence over tf32. Ignored for double and on the CPU.
  bool tf32x3 = false;
  // CUDA: upload the model's parameters on the first call and then only
  // after refresh_parameters() (false: before every call, so that a change
  // to the model is seen by the next call). With true, a caller that
  // changes the parameters must call refresh_parameters(). The CPU reads
  // the model's memory in place: the option changes nothing there.
  bool cache_parameters = false;
};

// Counts of per-sample solve outcomes in one call.
struct SolveReport {
  std::size_t samples = 0;
  std::size_t not_positive_definite = 0;
  std::size_t singular = 0;
  std::size_t failures() const { return not_positive_definite + singular; }
};

// What Engine::loss_gradient minimizes (docs/math.md §4, §7).
template <class T>
struct LossOptions {
  Loss kind = Loss::l1;
  // B per-sample weights, finite and >= 0, or empty for all 1. The data loss
  // is Σ_s w_s ℓ_s / Σ_{solved s} w_s (ℓ_s the mean over coordinates).
  std::span<const T> weights;
  // ρ >= 0 of the mass-matrix penalty ρ·(1/B)·Σ_s Σ_j relu(−λ_j(M_s)) over all
  // B samples, including those whose solve failed (indefinite M under
  // Cholesky: exactly the ones the penalty is for).
  double mass_penalty = 0.0;
};

template <class T>
struct LossResult {
  double loss = 0.0;       // data_loss + penalty
  double data_loss = 0.0;  // weighted mean over the samples that solved
  double penalty = 0.0;    // ρ·(1/B)·Σ relu(−λ(M)), 0 when ρ = 0
  SolveReport solve;       // failed samples contribute nothing to data_loss or its gradient
};

template <class T>
class Engine {
 public:
  // The engine keeps a reference to the model: parameter updates are seen by
  // the next call. Throws InvalidArgument / BackendError.
  Engine(const Model<T>& model, EngineOptions options = {});
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const Model<T>& model() const;
  const EngineOptions& options() const;

  // Evaluate with `params` (the model's layout, parameter_count() values; host
  // memory, or device memory for a CUDA engine, used in place) instead of the
  // model's own, until called again; an empty span returns to the model's.
  // The array must stay valid while bound. A training run on the GPU keeps
  // its parameters there this way. Throws InvalidArgument on a wrong size.
  void bind_parameters(std::span<const T> params);
  // With EngineOptions::cache_parameters: the next call uploads the
  // parameters again (after the caller changed them). Otherwise nothing.
  void refresh_parameters();

  void lagrangian(std::span<const T> states, std::span<T> L);
  void gradient(std::span<const T> states, std::span<T> L, std::span<T> grad);
  // M = ∂²L/∂q̇∂q̇, Cv = (∂²L/∂q̇∂q) q̇, f = ∂L/∂q; any may be empty to skip.
  void euler_lagrange_terms(std::span<const T> states, std::span<T> M, std::span<T> Cv,
                            std::span<T> f);
  // The full Hessian of L in x = [q, q̇]; grad (optional) receives ∇L from the
  // same pass, cheaper than a separate gradient() call.
  void hessian(std::span<const T> states, std::span<T> H, std::span<T> grad = {});
  // E = q̇·∂L/∂q̇ − L.
  void energy(std::span<const T> states, std::span<T> E);
  // q̈ = M⁻¹(f − C q̇ + τ). Samples whose solve failed get NaN in acc and
  // their status; they are counted in the report, never silently zeroed.
  SolveReport accelerations(std::span<const T> states, std::span<const T> tau, std::span<T> acc,
                            std::span<SolveStatus> status = {}, std::span<T> pivot = {});
  // Loss on accelerations against targets (B × n) and its exact gradient
  // (docs/math.md §4, §7) w.r.t. every parameter (param_grad: parameter_count(),
  // overwritten) and, if not empty, the input states (input_grad: B × 2n).
  // If no sample solves, data_loss is NaN when mass_penalty = 0 (nothing was
  // measured) and 0 otherwise, so that the penalty alone can still train a
  // model out of indefinite M; solved samples whose weights sum to 0 give a
  // data_loss of 0 and no gradient. Throws InvalidArgument on bad shapes,
  // weights or mass_penalty.
  LossResult<T> loss_gradient(std::span<const T> states, std::span<const T> tau,
                              std::span<const T> targets, const LossOptions<T>& loss,
                              std::span<T> param_grad, std::span<T> input_grad = {});
  // The unweighted loss without penalty.
  LossResult<T> loss_gradient(std::span<const T> states, std::span<const T> tau,
                              std::span<const T> targets, Loss loss, std::span<T> param_grad,
                              std::span<T> input_grad = {});
  // The vector–Jacobian product of the accelerations (docs/math.md §4, "Any cotangent"): for
  // cotangents v (B × n), the exact
  //   param_grad = Σ_s v_sᵀ ∂q̈_s/∂θ          (parameter_count(), overwritten),
  // and where not empty
  //   input_grad_s = v_sᵀ ∂q̈_s/∂x_s          (B × 2n),
  //   tau_grad_s   = M_s⁻ᵀ v_s = v_sᵀ ∂q̈_s/∂τ_s (B × n),
  //   acc, status: accelerations() of the same pass.
  // Not averaged: what autodiff frameworks expect of a layer's backward pass.
  // Samples whose solve failed (NaN q̈, nonzero status) contribute nothing:
  // zero rows in input_grad and tau_grad. Throws InvalidArgument on bad shapes.
  SolveReport accelerations_vjp(std::span<const T> states, std::span<const T> tau,
                                std::span<const T> cotangent, std::span<T> param_grad,
                                std::span<T> input_grad = {}, std::span<T> tau_grad = {},
                                std::span<T> acc = {}, std::span<SolveStatus> status = {});

 private:
  friend struct engine::EngineAccess<T>;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class Engine<float>;
extern template class Engine<double>;

}  // namespace lnn
