// Fresh training batches drawn and solved where the engine runs: the state
// sampler (Random123 Philox, the CPU's stream), the random forces and the
// analytic accelerations, per sample, in a backend loop. On a GPU a
// training run on fresh data never copies a batch across the bus. The
// numbers are those of the host path (lnn::sample_states, the trainer's
// forces, System::accelerations): the same lines in double, rounded to T.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "core/host_device.hpp"
#include "core/random.hpp"
#include "lnn/errors.hpp"
#include "lnn/generate.hpp"
#include "lnn/systems.hpp"
#include "systems/lagrangians.hpp"
#include "systems/system_model.hpp"

namespace lnn::systems {

// What a fresh batch is drawn from, by value (a kernel argument).
struct FreshSpec {
  int n = 0;
  std::uint64_t seed = 0;
  bool box = false;  // else the system's own sampling
  double lo[2 * kMaxDof] = {}, hi[2 * kMaxDof] = {};
  bool forced = false;  // any coordinate actuated
  unsigned char actuated[kMaxDof] = {};
  double force_max = 0.0;
  SolveOptions solve;
};

// Fresh batches keep per-sample storage for this many coordinates (a GPU
// thread's stack); larger systems draw their batches on the host.
inline constexpr int kFreshMaxDof = 8;

// Sample `index` of the stream: its state x (2n), forces tau (n; zero where
// not actuated, untouched when !f.forced) and exact accelerations acc (n).
template <class Sys>
LNN_HD SolveStatus fresh_sample(const Sys& sys, const FreshSpec& f, std::uint64_t index, double* x,
                                double* tau, double* acc) {
  const int n = f.n;
  double u[2 * kFreshMaxDof];
  core::uniforms(f.seed, core::RandomStream::states, index, 2 * n, u);
  if (f.box) {
    for (int k = 0; k < 2 * n; ++k) x[k] = f.lo[k] + (f.hi[k] - f.lo[k]) * u[k];
  } else {
    sys.sample(u, x);
  }
  if (f.forced) {
    core::random_forces(f.seed, index, n, f.actuated, f.force_max, u, tau);
  }
  return exact_accelerations<kFreshMaxDof>(sys, x, f.forced ? tau : nullptr, f.solve, acc).status;
}

// Batches of B fresh samples in a backend's memory: step k's batch is
// samples k·B … k·B + B − 1 (as the host data source draws them). The step
// index lives in the backend's memory too, so that the same queued work
// (a captured CUDA graph) draws step after step: seek(k) sets it, next()
// draws its batch and advances it; batch(k) is both.
template <class T>
class FreshBatches {
 public:
  virtual ~FreshBatches() = default;
  struct Batch {
    std::span<const T> states;   // B × 2n
    std::span<const T> tau;      // B × n, or empty
    std::span<const T> targets;  // B × n
  };
  virtual void seek(std::int64_t k) = 0;
  virtual Batch next() = 0;
  Batch batch(std::int64_t k) {
    seek(k);
    return next();
  }
};

template <class T, class Backend, class Sys>
class FreshBatchesOn final : public FreshBatches<T> {
  template <class U>
  using Buffer = typename Backend::template Buffer<U>;

 public:
  FreshBatchesOn(Backend backend, Sys sys, const FreshSpec& spec, std::size_t batch)
      : be_(backend), sys_(sys), spec_(spec), B_(batch) {
    const std::size_t n = static_cast<std::size_t>(spec.n);
    x_.resize(B_ * 2 * n);
    tau_.resize(spec.forced ? B_ * n : 0);
    acc_.resize(B_ * n);
    step_.resize(1);
  }

  void seek(std::int64_t k) override {
    std::int64_t* step = step_.data();
    be_.for_each(1, [=] LNN_LAMBDA(int) { *step = k; });
  }

  typename FreshBatches<T>::Batch next() override {
    const FreshSpec f = spec_;
    const Sys sys = sys_;
    const int n = f.n;
    const std::uint64_t B = B_;
    std::int64_t* step = step_.data();
    T* X = x_.data();
    T* TAU = tau_.data();
    T* ACC = acc_.data();
    be_.for_each(static_cast<int>(B_), [=] LNN_LAMBDA(int s) {
      double x[2 * kFreshMaxDof] = {}, tau[kFreshMaxDof] = {}, acc[kFreshMaxDof] = {};
      const std::uint64_t first = static_cast<std::uint64_t>(*step) * B;
      fresh_sample(sys, f, first + static_cast<std::uint64_t>(s), x, tau, acc);
      const std::size_t o = static_cast<std::size_t>(s);
      for (int j = 0; j < 2 * n; ++j) X[o * 2 * n + j] = static_cast<T>(x[j]);
      for (int j = 0; j < n; ++j) ACC[o * n + j] = static_cast<T>(acc[j]);
      if (f.forced)
        for (int j = 0; j < n; ++j) TAU[o * n + j] = static_cast<T>(tau[j]);
    });
    be_.for_each(1, [=] LNN_LAMBDA(int) { ++*step; });
    // No wait: the engine that reads the batch runs on the same queue.
    return {{x_.data(), x_.size()}, {tau_.data(), tau_.size()}, {acc_.data(), acc_.size()}};
  }

 private:
  Backend be_;
  Sys sys_;
  FreshSpec spec_;
  std::size_t B_;
  Buffer<T> x_, tau_, acc_;
  Buffer<std::int64_t> step_;
};

// The spec of `system` sampled from `box` (or its own ranges when empty),
// forces up to the system's force_max on its actuated coordinates.
FreshSpec fresh_spec(const System& system, const StateBox& box, std::uint64_t seed);

// Fresh batches of `system` over `backend`; null where the system has more
// than kFreshMaxDof coordinates or is not one of the analytic catalogue's
// (the caller draws on the host then).
template <class T, class Backend>
std::unique_ptr<FreshBatches<T>> make_fresh_batches(Backend backend, const System& system,
                                                    const StateBox& box, std::uint64_t seed,
                                                    std::size_t batch) {
  if (system.dof() > kFreshMaxDof) return nullptr;
  const FreshSpec spec = fresh_spec(system, box, seed);
  std::unique_ptr<FreshBatches<T>> out;
  visit_system(system, [&](const auto& sys) {
    using Sys = std::decay_t<decltype(sys)>;
    out = std::make_unique<FreshBatchesOn<T, Backend, Sys>>(backend, sys, spec, batch);
  });
  return out;
}

}  // namespace lnn::systems
