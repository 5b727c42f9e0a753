// Training an LNN on exact accelerations: fresh random states from an
// analytic system every step (the reference study's protocol) or a dataset
// file; Adam with a schedule; validation; non-finite steps skipped and
// counted; atomic checkpoints from which a run resumes exactly.
//
// Evaluation by the reference study's protocol: rollouts of the learned
// dynamics from given initial conditions, energy error of the true system
// along them, and the acceleration error on held-out states.
#pragma once
#include "lnn/visibility.hpp"
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lnn/any_engine.hpp"
#include "lnn/dataset.hpp"
#include "lnn/engine.hpp"
#include "lnn/generate.hpp"
#include "lnn/integrate.hpp"
#include "lnn/model.hpp"
#include "lnn/optimizer.hpp"
#include "lnn/rollout.hpp"
#include "lnn/solve.hpp"

namespace lnn LNN_CXX_API {

struct TrainConfig {
  // Data: fresh states of `system` (with `system_params`, sampled from its
  // default ranges or `box`) unless `dataset` names a file from lnn generate.
  std::string system = "double_pendulum";
  std::map<std::string, double> system_params;
  StateBox box;
  std::string dataset;
  double validation_fraction = 0.1;     // dataset: share held out for validation
  std::size_t validation_samples = 4096;  // fresh data: held-out states (another seed)

  // Model (the spec's n must match the system's).
  ModelSpec spec;
  Init init = Init::lnn;
  // A fresh run first divides the first layer's weight on each embedded input
  // by that input's standard deviation over the first batch (normalised
  // inputs) and sets every hidden layer's biases so that its pre-activations
  // have mean zero on that batch (docs/results.md, "The q̈ ≈ 0 plateau").
  bool scale_inputs = false;

  // Optimization.
  OptimizerOptions optimizer;
  std::int64_t steps = 1000;
  std::size_t batch = 512;
  Loss loss = Loss::l1;
  double mass_penalty = 0.0;  // ρ of docs/math.md §7
  SolveOptions solve{SolveMethod::lu};
  std::uint64_t seed = 0;     // initialization, data, shuffling

  // Robustness and output.
  std::int64_t max_bad_steps = 50;     // consecutive non-finite steps before stopping
  std::int64_t validate_every = 100;   // steps; 0 = only at the end
  std::int64_t checkpoint_every = 500;  // steps; 0 = only at the end
  std::string checkpoint;  // path; empty = none
  // Also keep every checkpoint under its step's name (kept_checkpoint_path),
  // for evaluating a run as it went (bench/time_to_quality.py).
  bool keep_checkpoints = false;
  // At every validation: the definiteness and condition of the learned M, the
  // size of the predicted q̈ and of the right-hand side, and the gradient norm
  // per layer (TrainProgress::diagnostics; docs/results.md, "The q̈ ≈ 0
  // plateau").
  bool diagnostics = false;
  Device device = Device::cpu;
  int chunk = 1024;  // EngineOptions::chunk

  // JSON (every field above but `checkpoint`); from_json throws InvalidArgument
  // naming a bad field.
  std::string to_json() const;
  static TrainConfig from_json(const std::string& text);
  void validate() const;
};

// Where a run with keep_checkpoints keeps the checkpoint of step `step`:
// "run.safetensors" → "run.step5000.safetensors" (a path without that
// extension gets ".step5000"). Replaced when the step is saved again.
std::string kept_checkpoint_path(const std::string& checkpoint, std::int64_t step);

// What `lnn train` (and Python's lnn.train) does to a configuration before
// a fresh run: spec.n from the system, or from the dataset file, whose
// system and parameters then name the run; with `auto_embedding` an angle
// embedding for each periodic coordinate and plain otherwise, else one
// embedding name stands for every coordinate (n names: one each). Then
// validate(). Throws InvalidArgument for an unknown system, for spec.n other
// than the system's when `n_given`, for another number of embedding names,
// and for a bad result; FileError for a bad dataset file.
void complete_train_config(TrainConfig& config, bool auto_embedding, bool n_given = false);

// What TrainConfig::diagnostics measures at a validation step, on the first
// (up to) 4096 validation states; NaN where nothing was measured.
struct TrainDiagnostics {
  // Fractions of the states whose M = ∂²L/∂q̇² has all eigenvalues > 0, all
  // < 0, or neither (a zero or non-finite eigenvalue counts as indefinite).
  double posdef = NAN, negdef = NAN, indefinite = NAN;
  // Medians over the states of M's smallest and largest eigenvalue (signed)
  // and of its condition number max|λ| / min|λ| (inf where min|λ| = 0).
  double eig_min = NAN, eig_max = NAN, cond = NAN;
  // Mean |q̈| predicted (over solved states and coordinates), mean |target|,
  // and mean |f − C q̇ + τ|, the right-hand side M q̈ = f − C q̇ + τ.
  double qdd_abs = NAN, target_abs = NAN, rhs_abs = NAN;
  // The largest |q̈| predicted (a pole: M nearly singular at some state).
  double qdd_max = NAN;
  // Mean |L| over the states (the scale of the learned Lagrangian).
  double lagrangian_abs = NAN;
  // RMS over the parameters of Adam's step per unit learning rate,
  // m̂ / (√v̂ + ε) for the moments after this step: about 0.1–1 while Adam
  // moves, orders of magnitude less while a past gradient spike holds v̂ up.
  double adam_step_rms = NAN;
  // L2 norm of this step's loss gradient per affine layer (weight and bias),
  // 0 … K (K = the output layer); empty when the step was skipped.
  std::vector<double> layer_grad_norm;
};

struct TrainProgress {
  std::int64_t step = 0;  // steps done (including skipped)
  std::int64_t total = 0;
  double lr = 0.0;
  double loss = 0.0;        // of the last good step (data + penalty)
  double penalty = 0.0;
  double grad_norm = 0.0;
  double val_loss = -1.0;   // mean L1 acceleration error on the validation set; < 0: not yet
  std::int64_t skipped = 0;
  std::size_t failed_solves = 0;  // in the last batch
  double samples_per_second = 0.0;
  double seconds = 0.0;     // since this process started training
  bool validated = false;   // val_loss was computed at this step
  bool checkpointed = false;  // this step's checkpoint is written right after the callback
  // Filled when validated and TrainConfig::diagnostics is set.
  bool diagnosed = false;
  TrainDiagnostics diagnostics;
};

using TrainCallback = std::function<void(const TrainProgress&)>;

struct TrainResult {
  std::int64_t steps = 0;
  std::int64_t skipped = 0;
  double loss = NAN;      // of the last good step; NaN when no step succeeded
  double val_loss = NAN;  // the latest validation L1; NaN when none ran
  double seconds = 0.0;
};

// Trains `model` from its current parameters, continuing from `optimizer`
// and `state` (a fresh run: Adam with no steps and a default TrainState; a
// resumed run: what load_checkpoint returned, with the same config). Calls
// `callback` after every step. Writes config.checkpoint every
// checkpoint_every steps and at the end (atomically; a checkpoint holds only
// parameters from good steps). Throws Error when max_bad_steps consecutive
// steps were non-finite, saying where the last good checkpoint is.
template <class T>
TrainResult train(const TrainConfig& config, Model<T>& model, Adam<T>& optimizer, TrainState& state,
                  const TrainCallback& callback = {});

extern template TrainResult train<float>(const TrainConfig&, Model<float>&, Adam<float>&,
                                         TrainState&, const TrainCallback&);
extern template TrainResult train<double>(const TrainConfig&, Model<double>&, Adam<double>&,
                                          TrainState&, const TrainCallback&);

// A model, its optimizer and its progress in a precision chosen at run time
// (a checkpoint's, or the caller's): train() for callers that do not fix T
// at compile time (the CLI, Python).
class TrainingRun {
 public:
  // A fresh run of `config` in `precision`: the model of config.spec
  // initialised by config.init and config.seed, Adam with config.optimizer.
  TrainingRun(const TrainConfig& config, Precision precision);
  // The run a checkpoint holds (load_checkpoint), in its stored precision.
  static TrainingRun resume(const std::string& checkpoint);
  ~TrainingRun();
  TrainingRun(TrainingRun&&) noexcept;
  TrainingRun& operator=(TrainingRun&&) noexcept;

  Precision precision() const { return model_.precision(); }
  const AnyModel& model() const { return model_; }
  const TrainState& state() const { return state_; }
  // train(config, model, optimizer, state, callback) in the run's precision.
  TrainResult run(const TrainConfig& config, const TrainCallback& callback = {});

 private:
  TrainingRun(AnyModel model, TrainState state);
  struct Optimizer;
  AnyModel model_;
  TrainState state_;
  std::unique_ptr<Optimizer> optimizer_;
};

// ---- evaluation --------------------------------------------------------------

struct EvaluateOptions {
  std::size_t trajectories = 40;
  double t_end = 100.0;
  double rate = 10.0;  // samples per unit time (energy errors are reported at t_end)
  // Initial conditions; empty: the system's evaluation box (evaluation_box(),
  // for the double pendulum the reference study's q ~ U[0, 2π), q̇ ~ U[0, 0.1)).
  StateBox box;
  IntegrateOptions integrate{Integrator::rk4, 1e-8, 1e-8, 0.0, 0.0, 0.0, 0.01};
  std::size_t held_out = 100000;  // random states for the acceleration error
  std::uint64_t seed = 1;
  SolveOptions solve{SolveMethod::lu};
  int chunk = 1024;
};

struct EvaluateResult {
  // |E_true(predicted state at t_end) − E_true(initial)| / potential scale,
  // over the trajectories that finished (count 0: none did, and the figures
  // are NaN, never 0).
  Summary energy_error;
  std::size_t rollouts_failed = 0;
  // Failed rollouts by reason (to_string(TrajectoryStatus)), reasons that
  // occurred; "energy_undefined": the rollout finished where the true energy
  // is not defined (outside the system's domain), so it has no energy error.
  std::map<std::string, std::size_t> rollout_failures;
  // Mean |q̈_pred − q̈_true| over held-out states and coordinates (solved
  // samples); NaN when no sample was solved.
  double acc_l1 = 0.0;
  std::size_t acc_failed = 0;
  // Failed held-out solves by reason (to_string(SolveStatus)).
  std::map<std::string, std::size_t> acc_failures;
  StateBox box;  // the box the initial conditions came from (evaluation_box())
  double seconds = 0.0;
};

template <class T>
EvaluateResult evaluate(const Model<T>& model, const System& system, const EvaluateOptions& options,
                        const ProgressFn& progress = {});
// The same for a model whose precision is known at run time (a model file).
EvaluateResult evaluate(const AnyModel& model, const System& system,
                        const EvaluateOptions& options, const ProgressFn& progress = {});

// Evaluation against a dataset instead of a catalogue system: what judges a
// model of the user's own system (Dataset::user_system), or of any system
// whose data is at hand (docs/python.md, "Your own system").
struct DatasetEvaluateOptions {
  // Rollouts of a trajectory set: from each trajectory's first state (the
  // exact one, states_true, when the set has it) over the set's times.
  IntegrateOptions integrate{Integrator::rk4, 1e-8, 1e-8, 0.0, 0.0, 0.0, 0.01};
  std::size_t trajectories = 0;  // the first ones rolled out; 0 = all
  SolveOptions solve{SolveMethod::lu};
  int chunk = 1024;
};

struct DatasetEvaluateResult {
  // Mean |q̈_pred − q̈_data| over the points of status ok (the model's q̈
  // with the set's τ at the exact states) and coordinates; NaN when no
  // sample was solved.
  double acc_l1 = NAN;
  std::size_t acc_points = 0;  // points of status ok evaluated
  std::size_t acc_failed = 0;
  std::map<std::string, std::size_t> acc_failures;  // by to_string(SolveStatus)
  // Trajectory sets only (count 0 and NaN figures otherwise). Per
  // trajectory rolled out (unforced ones of status ok: a forced one cannot be
  // compared with an unforced rollout), at the set's last time:
  //   position_error  the RMS over coordinates of q_pred − q_data (angles
  //                   wrapped, wrapped_difference);
  //   energy_drift    |E(pred, t_end) − E(pred, t_0)| / potential_scale with
  //                   E the model's own energy q̇·∂L/∂q̇ − L, the only energy a
  //                   user system has (a learned Lagrangian's scale is its
  //                   own, so this is a drift, not a comparison with the set's
  //                   energies).
  Summary position_error;
  Summary energy_drift;
  std::size_t rollouts_failed = 0;
  std::map<std::string, std::size_t> rollout_failures;  // by to_string(TrajectoryStatus)
  std::size_t trajectories_skipped = 0;  // of status not ok, or forced (τ ≠ 0)
  double seconds = 0.0;
};

// Throws InvalidArgument when the model's n is not the set's or the options
// are bad.
DatasetEvaluateResult evaluate_dataset(const AnyModel& model, const Dataset& data,
                                       const DatasetEvaluateOptions& options = {},
                                       const ProgressFn& progress = {});

extern template EvaluateResult evaluate<float>(const Model<float>&, const System&,
                                               const EvaluateOptions&, const ProgressFn&);
extern template EvaluateResult evaluate<double>(const Model<double>&, const System&,
                                                const EvaluateOptions&, const ProgressFn&);

}  // namespace lnn
