// The roofline account of the engine's work (issue 15, item 7): for a model
// shape and a batch, every launch the CUDA backend enqueues for one call —
// each GEMM, element map, row reduction, per-sample loop, column sum, memset
// and copy — with the FLOPs it does and the device-memory bytes it reads and
// writes, grouped by the phase timer's phases (include/lnn/phase_times.hpp,
// docs/benchmarks.md "Where the time goes"). The time a launch implies on a
// machine is max(FLOPs / peak, bytes / bandwidth); a phase's is the sum over
// its launches. A pure host computation, built without CUDA too, so a
// design can be judged before a GPU runs it and the first GPU run checks it.
//
// The counts are derived from the code: src/engine/layer_algorithm.hpp and
// src/engine/engine_impl.hpp (which launches, on which buffers, per phase),
// src/cuda/cuda_backend.cuh and kernels/ (how each primitive maps onto
// kernels), src/train/parameter_store.hpp (Adam). Each formula is stated in
// cost_model.cpp at the launch it describes; the mathematics is
// docs/math.md §2–§5 (§3 for the GEMM FLOPs). When a launch in those files
// changes, change its entry here: tests/engine/test_cost_model.cpp checks
// the GEMM FLOPs against docs/math.md §3 and the structure of the account,
// and tests/cpu/test_engine_staging.cpp (EngineStagingCosts) the number of
// launches of each kind against those the engine makes on the emulated
// device.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lnn/model.hpp"

namespace lnn::engine {

// A machine's two roofs.
struct Roofline {
  const char* name;
  double flop_per_s;   // arithmetic peak
  double bytes_per_s;  // device-memory bandwidth
};
// NVIDIA H200: FP32 67 TFLOP/s (the non-tensor FP32 peak issue 15 quotes),
// HBM 4.3 TB/s (issue 15: as measured on the H200 the GPU checks ran on).
// The account is for float; a double account's bytes are right, its FLOPs
// would need the FP64 peak.
inline constexpr Roofline kH200Fp32{"H200 (FP32 67 TFLOP/s, HBM 4.3 TB/s)", 67e12, 4.3e12};

// What one call of the engine does, as the benchmarks (bench/bench_engine.cpp) call it.
enum class Work {
  accelerations,  // Engine::accelerations (no τ, no pivots)
  loss_gradient,  // Engine::loss_gradient (L1, no weights, no τ, no penalty)
  training_step,  // loss_gradient into a device parameter store, then its Adam step
};
const char* to_string(Work w);

struct CostSetup {
  ModelSpec spec;
  int value_bytes = 4;  // sizeof(T): 4 float, 8 double
  std::int64_t batch = 0;
  std::int64_t chunk = 65536;  // EngineOptions::chunk (the CUDA default)
  Work work = Work::accelerations;
  // Where the caller's arrays live. The benchmarks' accelerations and loss
  // gradient pass the model's host parameters (uploaded per call by bind())
  // and a host gradient (fetched per call); a training step binds the
  // parameter store's device arrays. States and targets come from the host.
  bool host_parameters = true;
  bool host_gradient = true;
  // σ′, σ″, σ‴ formed again from a where used instead of stored (the CUDA
  // backend: LayerAlgorithm::kRecomputeDerivs).
  bool recompute_derivs = true;
  // The smallest n the CUDA backend solves batched (kBatchedSolveMinDefault
  // in src/cuda/cuda_backend.cuh, unless LNN_BATCHED_SOLVE_MIN says otherwise).
  int batched_solve_min = 9;
  // The setup of the benchmark of `work` (the above as bench_engine.cpp does it).
  static CostSetup benchmark(const ModelSpec& spec, int value_bytes, std::int64_t batch, Work work);
};

enum class LaunchKind {
  gemm,           // cuBLAS GEMM
  element_map,    // for_each_element: a thread per (sample, neuron)
  row_reduction,  // reduce_rows: a warp per row
  per_sample,     // for_each: a thread per sample (or per parameter)
  column_sums,    // sum_rows (kernels/column_sums.cu, two passes)
  reduction,      // sum_squares (two passes)
  memset,         // cudaMemsetAsync
  device_copy,    // cudaMemcpyAsync within the device
  host_copy,      // cudaMemcpyAsync across the host link
  batched_solve,  // a cuSOLVER / cuBLAS batched factor or solve (docs/math.md §5)
};
const char* to_string(LaunchKind k);

// One entry of the account: one backend call (a GEMM, a kernel, a copy).
struct LaunchCost {
  std::string phase;  // the phase timer's name it is charged to
  std::string what;   // which call, e.g. "forward GEMM layer 2"
  LaunchKind kind = LaunchKind::per_sample;
  double flops = 0;       // each + − × ÷ and each exp, log, sin, cos, sqrt counted once
  double bytes = 0;       // device memory read + written (each value once: compulsory traffic)
  double host_bytes = 0;  // across the host link (PCIe); not in the roofline
  int launches = 1;       // kernels, memsets and copies it enqueues
  std::int64_t gemm_m = 0, gemm_n = 0, gemm_k = 0;  // gemm: C (m×n) += A (m×k)·B (k×n)
};

// Every launch of one call of setup.work, in the order the backend enqueues them.
std::vector<LaunchCost> launch_costs(const CostSetup& setup);

// max(FLOPs / peak, bytes / bandwidth) in seconds, and whether bandwidth is the roof.
double implied_seconds(const LaunchCost& c, const Roofline& r);
bool memory_bound(const LaunchCost& c, const Roofline& r);

struct PhaseCost {
  std::string phase;
  double flops = 0, bytes = 0, host_bytes = 0;
  int launches = 0;
  double seconds = 0;         // Σ implied_seconds of its launches
  double memory_seconds = 0;  // the part of `seconds` in memory-bound launches
  bool memory_bound() const { return memory_seconds > 0.5 * seconds; }
};
// Per phase, in order of first appearance.
std::vector<PhaseCost> phase_costs(const std::vector<LaunchCost>& launches, const Roofline& r);
// The sum over phases.
PhaseCost total_cost(const std::vector<PhaseCost>& phases);

// The account as a text table: per phase launches, FLOPs and bytes per
// sample, arithmetic intensity, the implied time and its bound, and the
// sum; with `measured` (phase name, ms per call, as the phase timer gives
// them) the measured time and measured / implied beside it. Phases measured
// but not in the account (the time between calls, "host (store)") are
// listed with the measured time only and left out of the total's measured
// time. `launches_too`: every launch after the phases.
std::string roofline_table(const CostSetup& setup, const Roofline& r,
                           const std::vector<std::pair<std::string, double>>& measured = {},
                           bool launches_too = false);

}  // namespace lnn::engine
