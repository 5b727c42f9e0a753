// The host-side optimizer: Adam / AdamW over a model's flat parameter buffer,
// learning-rate schedules, gradient-norm clipping; and training checkpoints
// (a model file that also carries the optimizer state).
#pragma once
#include "lnn/visibility.hpp"
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lnn/model.hpp"

namespace lnn LNN_CXX_API {

// With s the step, S the total steps and cos(a → b, x) = b + (a − b)(1 + cos πx)/2:
enum class Schedule : std::uint8_t {
  constant,   // lr
  step,       // lr, ÷10 from s = S/3 on and again from s = 2S/3 on
  one_cycle,  // the reference study's: with W = warmup_fraction·S,
              //   s < W: cos(lr/div_factor → lr, s/W),
              //   s ≥ W: cos(lr → lr/(div_factor·final_div_factor), (s − W)/(S − 1 − W)),
              // so the last step (s = S − 1) gets the final value
  cosine,     // cos(lr → 0, s/S): cosine annealing towards 0 at s = S
};
std::string_view to_string(Schedule s);
Schedule parse_schedule(std::string_view name);  // throws InvalidArgument

struct OptimizerOptions {
  double lr = 1e-3;
  Schedule schedule = Schedule::constant;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  // L2 weight decay: added to the gradient (Adam) or, with decoupled = true,
  // applied to the parameters as p −= lr·weight_decay·p (AdamW).
  double weight_decay = 0.0;
  bool decoupled = false;
  // Gradients whose L2 norm exceeds clip_norm are scaled down to it; 0 = off.
  double clip_norm = 0.0;
  // one_cycle parameters.
  double warmup_fraction = 0.3;
  double div_factor = 25.0;
  double final_div_factor = 1e4;
  // Throws InvalidArgument naming the bad field.
  void validate() const;
};

// The learning rate of step `step` (0-based, ≥ 0) of `total_steps` (≥ 1); a
// step past the end gets the last step's rate. Throws InvalidArgument.
double learning_rate(const OptimizerOptions& options, std::int64_t step, std::int64_t total_steps);

// Adam (Kingma & Ba) with bias correction, moments kept in T:
//   g ← grad (+ weight_decay·p unless decoupled), clipped to clip_norm
//   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²
//   p ← p − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)  (− lr·weight_decay·p if decoupled)
// The scalar factors are computed in double, the per-element arithmetic in T.
// Results do not depend on the number of OpenMP threads.
template <class T>
class Adam {
 public:
  // Zero moments, no steps; throws InvalidArgument for invalid options.
  Adam(std::size_t parameter_count, OptimizerOptions options);

  struct StepInfo {
    double lr = 0.0;         // the learning rate used
    double grad_norm = 0.0;  // L2 norm of g (with coupled weight decay) before clipping
    bool clipped = false;
  };
  // One update of `params` (size parameter_count) from `grad` at learning
  // rate learning_rate(options, steps(), total_steps). Throws InvalidArgument
  // on a size mismatch. The caller decides what to do with non-finite
  // gradients (the trainer skips them); this function applies what it gets.
  StepInfo step(std::span<T> params, std::span<const T> grad, std::int64_t total_steps);

  std::int64_t steps() const { return steps_; }
  const OptimizerOptions& options() const { return options_; }
  std::span<const T> first_moment() const { return m_; }
  std::span<const T> second_moment() const { return v_; }
  // Restores the state saved from first_moment(), second_moment(), steps().
  // Throws InvalidArgument for a size mismatch or negative steps.
  void restore(std::span<const T> m, std::span<const T> v, std::int64_t steps);

 private:
  OptimizerOptions options_;
  std::vector<T> m_, v_;
  std::int64_t steps_ = 0;
};

extern template class Adam<float>;
extern template class Adam<double>;

// What a checkpoint records besides the model and the optimizer moments.
struct TrainState {
  std::int64_t step = 0;     // training steps done, skipped ones included
  std::int64_t skipped = 0;  // steps skipped for a non-finite loss or gradient
  std::string config = "{}";  // the training configuration, JSON
  // The last figures, so that a resumed or finished run can report them:
  // the loss of the last good step and the latest validation L1 (NaN: none yet).
  double loss = NAN;
  double val_loss = NAN;
};

template <class T>
struct Checkpoint {
  Model<T> model;
  Adam<T> optimizer;
  TrainState state;
};

// A checkpoint is a model file (so `lnn predict` and load_model read it) with
// two more tensors, optimizer.m and optimizer.v (the Adam moments, dtype of
// T), and metadata lnn.train.step, lnn.train.skipped,
// lnn.train.optimizer_steps (Adam::steps()), lnn.train.config,
// lnn.train.optimizer (the OptimizerOptions, JSON) and lnn.train.figures
// (TrainState::loss and val_loss, JSON; optional when read: older
// checkpoints lack it). Written atomically like
// save_model: an existing file survives a failed save. save_checkpoint throws
// InvalidArgument for moments that do not match the model, FileError for what
// could not be loaded back (negative counts, a config that is not JSON).
// load_checkpoint restores everything bit for bit and throws FileError naming
// the file for a model file without training state, a checkpoint written in
// the other precision, a moment tensor of the wrong size, or malformed
// metadata (besides everything load_model refuses).
template <class T>
void save_checkpoint(const std::string& path, const Model<T>& model, const Adam<T>& optimizer,
                     const TrainState& state);
template <class T>
Checkpoint<T> load_checkpoint(const std::string& path);

extern template void save_checkpoint<float>(const std::string&, const Model<float>&,
                                            const Adam<float>&, const TrainState&);
extern template void save_checkpoint<double>(const std::string&, const Model<double>&,
                                             const Adam<double>&, const TrainState&);
extern template Checkpoint<float> load_checkpoint<float>(const std::string&);
extern template Checkpoint<double> load_checkpoint<double>(const std::string&);

}  // namespace lnn
