// The training loop (include/lnn/train.hpp): data for step k is a pure
// function of (seed, k), so a resumed run sees exactly the batches the
// uninterrupted run would have, and parameters match bit for bit on the CPU.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <memory>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/activation.hpp"
#include "core/random.hpp"
#include "core/small_solve.hpp"
#include "engine/backend_factory.hpp"
#include "engine/engine_access.hpp"
#include "engine/engine_impl.hpp"
#include "lnn/dataset.hpp"
#include "lnn/errors.hpp"
#include "lnn/train.hpp"
#include "systems/fresh_batch.hpp"
#include "train/batch_staging.hpp"
#include "train/parameter_store.hpp"
#include "train/step_graph.hpp"

namespace lnn LNN_CXX_API {
namespace {

// Validation states are drawn with another key so they never coincide with
// training states (which use the seed itself).
constexpr std::uint64_t kValidationKey = 0x9e3779b97f4a7c15ULL;

// Where batches come from: fresh states of an analytic system, or a dataset
// file split once into training and validation points and reshuffled every
// epoch. Everything is held in double and converted to T per batch.
template <class T>
class DataSource {
 public:
  explicit DataSource(const TrainConfig& c) : config_(c) {
    if (c.dataset.empty()) {
      system_ = make_system(c.system, c.system_params);
      n_ = system_->dof();
      actuated_ = any_of(system_->info().actuated);
      std::vector<double> x(c.validation_samples * width());
      sample_states(*system_, c.box, c.seed ^ kValidationKey, 0, x);
      fill_validation(x);
    } else {
      load_file();
    }
    if (n_ != c.spec.n) {
      throw InvalidArgument("the model has n = " + std::to_string(c.spec.n) + " but the data has n = " +
                            std::to_string(n_));
    }
  }

  int n() const { return n_; }
  std::size_t width() const { return 2 * static_cast<std::size_t>(n_); }
  // The analytic system of fresh data (null for a dataset file).
  const System* system() const { return system_.get(); }
  bool has_tau() const { return actuated_; }

  // Sizes of a batch: states (B × 2n), tau (B × n, or none) and targets (B × n).
  std::size_t states_size() const { return config_.batch * width(); }
  std::size_t tau_size() const { return actuated_ ? config_.batch * static_cast<std::size_t>(n_) : 0; }
  std::size_t targets_size() const { return config_.batch * static_cast<std::size_t>(n_); }

  // The batch of step k into arrays of those sizes.
  void batch(std::int64_t k, std::span<T> states, std::span<T> tau, std::span<T> targets) {
    const std::size_t B = config_.batch, un = static_cast<std::size_t>(n_);
    xd_.resize(B * width());
    taud_.assign(actuated_ ? B * un : 0, 0.0);
    accd_.resize(B * un);
    if (system_) {
      const auto first = static_cast<std::uint64_t>(k) * B;
      sample_states(*system_, config_.box, config_.seed, first, xd_);
      if (actuated_) random_forces(first);
      system_->accelerations(xd_, taud_, accd_);
    } else {
      gather(k);
    }
    convert_into(xd_, states);
    convert_into(taud_, tau);
    convert_into(accd_, targets);
  }
  // The vector form (scale_inputs' first batch).
  void batch(std::int64_t k, std::vector<T>& states, std::vector<T>& tau, std::vector<T>& targets) {
    states.resize(states_size());
    tau.resize(tau_size());
    targets.resize(targets_size());
    batch(k, std::span<T>(states), std::span<T>(tau), std::span<T>(targets));
  }

  const std::vector<T>& validation_states() const { return val_states_; }
  const std::vector<T>& validation_tau() const { return val_tau_; }
  const std::vector<T>& validation_targets() const { return val_targets_; }

 private:
  static bool any_of(const std::vector<std::uint8_t>& flags) {
    return std::any_of(flags.begin(), flags.end(), [](std::uint8_t f) { return f != 0; });
  }

  static void convert_into(const std::vector<double>& from, std::span<T> to) {
    if (from.size() != to.size()) throw Error("internal: a batch of the wrong size");
    std::transform(from.begin(), from.end(), to.begin(), [](double v) { return static_cast<T>(v); });
  }
  static void convert(const std::vector<double>& from, std::vector<T>& to) {
    to.resize(from.size());
    std::transform(from.begin(), from.end(), to.begin(), [](double v) { return static_cast<T>(v); });
  }

  // Forces like a derivative set's: τ ~ U[−force_max, force_max) on actuated coordinates.
  void random_forces(std::uint64_t first) {
    const std::size_t un = static_cast<std::size_t>(n_), B = taud_.size() / un;
    const double fmax = system_->info().force_max;
    std::vector<double> u(un);
    for (std::size_t s = 0; s < B; ++s) {
      core::random_forces(config_.seed, first + s, n_, system_->info().actuated.data(), fmax,
                          u.data(), taud_.data() + s * un);
    }
  }

  // Validation for fresh data: states `x` with their exact accelerations and,
  // on actuated coordinates, random forces drawn like the training ones.
  void fill_validation(const std::vector<double>& x) {
    const std::size_t V = x.size() / width(), un = static_cast<std::size_t>(n_);
    std::vector<double> tau, acc(V * un);
    if (actuated_) {
      tau.assign(V * un, 0.0);
      const double fmax = system_->info().force_max;
      std::vector<double> u(un);
      for (std::size_t s = 0; s < V; ++s) {
        core::random_forces(config_.seed ^ kValidationKey, s, n_, system_->info().actuated.data(),
                            fmax, u.data(), tau.data() + s * un);
      }
    }
    system_->accelerations(x, tau, acc);
    convert(x, val_states_);
    convert(tau, val_tau_);
    convert(acc, val_targets_);
  }

  // A dataset: the permutation of its points by a hash of (seed, point)
  // fixes the validation split; each epoch's order is the training points
  // sorted by a hash of (seed, epoch, point).
  void load_file() {
    data_ = std::make_unique<Dataset>(load_dataset(config_.dataset));
    n_ = data_->n;
    actuated_ = !data_->tau.empty();
    const std::size_t P = data_->points();
    std::vector<std::size_t> order = shuffled(P, 0xffffffffu);
    // A point whose status is not ok (a failed solve, a trajectory that
    // stopped) is no data: neither trained nor validated on
    // (docs/file-formats.md, "Status and non-finite values"). Removed after
    // the shuffle, so a set without failures splits as before.
    std::erase_if(order, [&](std::size_t p) { return !point_ok(p); });
    const std::size_t usable = order.size();
    if (usable == 0) {
      throw InvalidArgument(config_.dataset + ": no point has status ok (all " + std::to_string(P) +
                            " failed), nothing to train on");
    }
    const auto V =
        static_cast<std::size_t>(std::floor(config_.validation_fraction * static_cast<double>(usable)));
    if (usable - V < 1) throw InvalidArgument(config_.dataset + ": no training points left after the split");
    train_.assign(order.begin() + static_cast<std::ptrdiff_t>(V), order.end());
    std::vector<double> x, tau, acc;
    for (std::size_t i = 0; i < V; ++i) append_point(order[i], x, tau, acc);
    convert(x, val_states_);
    convert(tau, val_tau_);
    convert(acc, val_targets_);
  }

  // Point p's status: per point in a derivative set, per trajectory in a trajectory set.
  bool point_ok(std::size_t p) const {
    const std::size_t per_status =
        data_->kind == DatasetKind::trajectories ? data_->times.size() : std::size_t{1};
    return data_->status[p / per_status] == 0;
  }

  std::vector<std::size_t> shuffled(std::size_t count, std::uint32_t epoch) const {
    std::vector<std::pair<std::uint64_t, std::size_t>> keyed(count);
    for (std::size_t i = 0; i < count; ++i) {
      const auto r = core::philox_block(config_.seed, core::RandomStream::states, i, epoch);
      keyed[i] = {core::join_words(r[0], r[1]), i};
    }
    std::sort(keyed.begin(), keyed.end());
    std::vector<std::size_t> out(count);
    for (std::size_t i = 0; i < count; ++i) out[i] = keyed[i].second;
    return out;
  }

  void append_point(std::size_t p, std::vector<double>& x, std::vector<double>& tau,
                    std::vector<double>& acc) const {
    const std::size_t w = width(), un = static_cast<std::size_t>(n_);
    x.insert(x.end(), data_->states.begin() + static_cast<std::ptrdiff_t>(p * w),
             data_->states.begin() + static_cast<std::ptrdiff_t>((p + 1) * w));
    acc.insert(acc.end(), data_->accelerations.begin() + static_cast<std::ptrdiff_t>(p * un),
               data_->accelerations.begin() + static_cast<std::ptrdiff_t>((p + 1) * un));
    if (!data_->tau.empty()) {
      tau.insert(tau.end(), data_->tau.begin() + static_cast<std::ptrdiff_t>(p * un),
                 data_->tau.begin() + static_cast<std::ptrdiff_t>((p + 1) * un));
    }
  }

  // Step k's batch: positions [k·B, (k+1)·B) of the concatenated epoch orders.
  void gather(std::int64_t k) {
    const std::size_t B = config_.batch, N = train_.size();
    xd_.clear();
    taud_.clear();
    accd_.clear();
    for (std::size_t i = 0; i < B; ++i) {
      const std::size_t pos = static_cast<std::size_t>(k) * B + i;
      const auto epoch = static_cast<std::uint32_t>(pos / N);
      if (epoch != epoch_ || epoch_order_.empty()) {
        epoch_ = epoch;
        epoch_order_ = shuffled(N, epoch);
      }
      append_point(train_[epoch_order_[pos % N]], xd_, taud_, accd_);
    }
  }

  const TrainConfig& config_;
  std::unique_ptr<System> system_;
  std::unique_ptr<Dataset> data_;
  int n_ = 0;
  bool actuated_ = false;
  std::vector<std::size_t> train_, epoch_order_;
  std::uint32_t epoch_ = 0;
  std::vector<double> xd_, taud_, accd_;
  std::vector<T> val_states_, val_tau_, val_targets_;
};

// Mean |q̈ − target| over solved samples and coordinates.
template <class T>
double mean_l1(Engine<T>& engine, const std::vector<T>& states, const std::vector<T>& tau,
               const std::vector<T>& targets, std::size_t* failed = nullptr) {
  if (states.empty()) return -1.0;
  std::vector<T> acc(targets.size());
  const std::size_t n = static_cast<std::size_t>(engine.model().spec().n);
  std::vector<SolveStatus> status(states.size() / (2 * n));
  const SolveReport rep = engine.accelerations(states, tau, acc, status);
  if (failed) *failed = rep.failures();
  double sum = 0.0;
  std::size_t count = 0;
  for (std::size_t s = 0; s < status.size(); ++s) {
    if (status[s] != SolveStatus::ok) continue;
    for (std::size_t k = 0; k < n; ++k) {
      sum += std::fabs(static_cast<double>(acc[s * n + k]) - static_cast<double>(targets[s * n + k]));
    }
    count += n;
  }
  return count ? sum / static_cast<double>(count) : -1.0;
}

// At most this many validation states are diagnosed (TrainConfig::diagnostics).
constexpr std::size_t kDiagnosticStates = 4096;

double median(std::vector<double> v) {
  std::erase_if(v, [](double x) { return std::isnan(x); });
  if (v.empty()) return NAN;
  const std::size_t h = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(h), v.end());
  const double hi = v[h];
  if (v.size() % 2 == 1) return hi;
  return 0.5 * (hi + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(h)));
}

// The learned M, q̈ and right-hand side on the first validation states
// (TrainDiagnostics); layer gradient norms from `grad` (empty: none).
template <class T>
TrainDiagnostics diagnose(Engine<T>& engine, const std::vector<T>& all_states,
                          const std::vector<T>& all_tau, const std::vector<T>& all_targets,
                          const std::vector<T>& grad) {
  TrainDiagnostics d;
  const Model<T>& model = engine.model();
  const int n = model.spec().n;
  const std::size_t un = static_cast<std::size_t>(n);
  const std::size_t B = std::min(all_states.size() / (2 * un), kDiagnosticStates);
  for (const LayerLayout& l : model.layout()) {
    if (grad.empty()) break;
    double sum = 0.0;
    const std::size_t count = static_cast<std::size_t>(l.rows) * static_cast<std::size_t>(l.cols);
    for (std::size_t i = 0; i < count; ++i) sum += static_cast<double>(grad[l.weight_offset + i]) *
                                                   static_cast<double>(grad[l.weight_offset + i]);
    for (int i = 0; i < l.rows; ++i) sum += static_cast<double>(grad[l.bias_offset + static_cast<std::size_t>(i)]) *
                                            static_cast<double>(grad[l.bias_offset + static_cast<std::size_t>(i)]);
    d.layer_grad_norm.push_back(std::sqrt(sum));
  }
  if (B == 0) return d;
  const std::span<const T> states(all_states.data(), B * 2 * un);
  const std::span<const T> tau =
      all_tau.empty() ? std::span<const T>{} : std::span<const T>(all_tau.data(), B * un);
  std::vector<T> M(B * un * un), Cv(B * un), f(B * un), acc(B * un), L(B);
  std::vector<SolveStatus> status(B);
  engine.euler_lagrange_terms(states, M, Cv, f);
  engine.accelerations(states, tau, acc, status);
  engine.lagrangian(states, L);
  std::vector<double> lo(B), hi(B), cond(B), A(un * un), V(un * un), D(un * un), w(un);
  std::size_t pos = 0, neg = 0;
  double qdd = 0.0, target = 0.0, rhs = 0.0, lag = 0.0, qdd_max = 0.0;
  std::size_t solved = 0;
  for (std::size_t s = 0; s < B; ++s) {
    bool finite = true;
    for (std::size_t i = 0; i < un * un; ++i) {
      A[i] = static_cast<double>(M[s * un * un + i]);
      finite = finite && std::isfinite(A[i]);
    }
    if (finite) {
      core::jacobi_eigen(A.data(), n, V.data(), D.data(), w.data());
      const auto [mn, mx] = std::minmax_element(w.begin(), w.end());
      double amin = INFINITY, amax = 0.0;
      for (const double x : w) {
        amin = std::min(amin, std::fabs(x));
        amax = std::max(amax, std::fabs(x));
      }
      lo[s] = *mn;
      hi[s] = *mx;
      cond[s] = amin > 0.0 ? amax / amin : INFINITY;
      if (*mn > 0.0) ++pos;
      if (*mx < 0.0) ++neg;
    } else {
      lo[s] = hi[s] = cond[s] = NAN;
    }
    lag += std::fabs(static_cast<double>(L[s]));
    for (std::size_t k = 0; k < un; ++k) {
      const double t = tau.empty() ? 0.0 : static_cast<double>(tau[s * un + k]);
      rhs += std::fabs(static_cast<double>(f[s * un + k]) - static_cast<double>(Cv[s * un + k]) + t);
      target += std::fabs(static_cast<double>(all_targets[s * un + k]));
    }
    if (status[s] == SolveStatus::ok) {
      for (std::size_t k = 0; k < un; ++k) {
        qdd += std::fabs(static_cast<double>(acc[s * un + k]));
        qdd_max = std::max(qdd_max, std::fabs(static_cast<double>(acc[s * un + k])));
      }
      ++solved;
    }
  }
  const auto b = static_cast<double>(B);
  d.posdef = static_cast<double>(pos) / b;
  d.negdef = static_cast<double>(neg) / b;
  d.indefinite = 1.0 - d.posdef - d.negdef;
  d.eig_min = median(lo);
  d.eig_max = median(hi);
  d.cond = median(cond);
  d.qdd_abs = solved ? qdd / static_cast<double>(solved * un) : NAN;
  d.target_abs = target / (b * static_cast<double>(un));
  d.rhs_abs = rhs / (b * static_cast<double>(un));
  d.qdd_max = solved ? qdd_max : NAN;
  d.lagrangian_abs = lag / b;
  return d;
}

// RMS of m̂ / (√v̂ + ε) over the parameters (TrainDiagnostics::adam_step_rms).
template <class T>
double adam_step_rms(const Adam<T>& adam) {
  const OptimizerOptions& o = adam.options();
  const auto t = static_cast<double>(adam.steps());
  if (t < 1) return NAN;
  const double b1 = 1.0 - std::pow(o.beta1, t), b2 = 1.0 - std::pow(o.beta2, t);
  const std::span<const T> m = adam.first_moment(), v = adam.second_moment();
  double sum = 0.0;
  for (std::size_t i = 0; i < m.size(); ++i) {
    const double u = (static_cast<double>(m[i]) / b1) / (std::sqrt(static_cast<double>(v[i]) / b2) + o.eps);
    sum += u * u;
  }
  return m.empty() ? NAN : std::sqrt(sum / static_cast<double>(m.size()));
}

// TrainConfig::scale_inputs, a data-dependent start: column j of the first
// weight matrix divided by the standard deviation of embedded input j
// (docs/math.md §6: cos q, sin q or q per position, then q̇) over `states`,
// as if the inputs were normalised (a column whose input does not vary is
// left alone); then each hidden layer's biases set so that its
// pre-activations have mean zero over `states`. Biases do not change the
// signs of the weights, so a convex start (Init::convex) stays convex.
template <class T>
void normalise_start(Model<T>& model, const std::vector<T>& states) {
  const ModelSpec& spec = model.spec();
  const auto n = static_cast<std::size_t>(spec.n);
  const std::size_t B = states.size() / (2 * n);
  if (B < 2) return;
  std::vector<std::vector<double>> z;  // features × samples
  for (std::size_t j = 0; j < n; ++j) {
    const bool angle = spec.embedding_of(static_cast<int>(j)) == Embedding::angle;
    std::vector<double> a(B), b(B);
    for (std::size_t s = 0; s < B; ++s) {
      const auto q = static_cast<double>(states[s * 2 * n + j]);
      a[s] = angle ? std::cos(q) : q;
      b[s] = std::sin(q);
    }
    z.push_back(std::move(a));
    if (angle) z.push_back(std::move(b));
  }
  for (std::size_t j = 0; j < n; ++j) {
    std::vector<double> v(B);
    for (std::size_t s = 0; s < B; ++s) v[s] = static_cast<double>(states[s * 2 * n + n + j]);
    z.push_back(std::move(v));
  }
  const std::vector<LayerLayout>& layout = model.layout();
  if (z.size() != static_cast<std::size_t>(layout.front().cols)) return;
  T* w0 = model.weight(0);
  for (std::size_t c = 0; c < z.size(); ++c) {
    double mean = 0.0, sq = 0.0;
    for (const double x : z[c]) mean += x;
    mean /= static_cast<double>(B);
    for (const double x : z[c]) sq += (x - mean) * (x - mean);
    const double sd = std::sqrt(sq / static_cast<double>(B));
    if (!(sd > 0.0) || !std::isfinite(sd)) continue;
    for (int r = 0; r < layout.front().rows; ++r) {
      T& x = w0[static_cast<std::size_t>(r) * z.size() + c];
      x = static_cast<T>(static_cast<double>(x) / sd);
    }
  }
  // Forward through the hidden layers, centring each one's pre-activations.
  for (std::size_t l = 0; l + 1 < layout.size(); ++l) {
    const LayerLayout& L = layout[l];
    const T* w = model.weight(static_cast<int>(l));
    T* b = model.bias(static_cast<int>(l));
    std::vector<std::vector<double>> next(static_cast<std::size_t>(L.rows), std::vector<double>(B));
    for (std::size_t r = 0; r < next.size(); ++r) {
      double mean = 0.0;
      for (std::size_t s = 0; s < B; ++s) {
        double a = 0.0;
        for (std::size_t c = 0; c < z.size(); ++c) a += static_cast<double>(w[r * z.size() + c]) * z[c][s];
        next[r][s] = a;
        mean += a;
      }
      mean /= static_cast<double>(B);
      b[r] = static_cast<T>(-mean);
      for (std::size_t s = 0; s < B; ++s) {
        next[r][s] = core::activation_derivs(spec.activation, next[r][s] + static_cast<double>(b[r])).f;
      }
    }
    z = std::move(next);
  }
}

// Specs equal up to the spelling of an all-plain embedding (a model file
// reads it back as an empty list).
bool same_architecture(const ModelSpec& a, const ModelSpec& b) {
  if (a.n != b.n || a.hidden != b.hidden || a.activation != b.activation) return false;
  for (int j = 0; j < a.n; ++j) {
    if (a.embedding_of(j) != b.embedding_of(j)) return false;
  }
  return true;
}

}  // namespace

template <class T>
TrainResult train(const TrainConfig& config, Model<T>& model, Adam<T>& optimizer, TrainState& state,
                  const TrainCallback& callback) {
  config.validate();
  if (!same_architecture(model.spec(), config.spec)) {
    throw InvalidArgument("the model's spec differs from the training configuration's");
  }
  if (optimizer.first_moment().size() != model.parameters().size()) {
    throw InvalidArgument("the optimizer state does not match the model's parameter count");
  }
  DataSource<T> data(config);
  // A fresh run with scale_inputs: the first layer sees embedded inputs of
  // unit spread (before the engine or a device copy of the parameters exist).
  if (config.scale_inputs && state.step == 0 && optimizer.steps() == 0) {
    std::vector<T> s0, t0, y0;
    data.batch(0, s0, t0, y0);
    normalise_start(model, s0);
  }
  EngineOptions eo;
  eo.device = config.device;
  eo.solve = config.solve;
  eo.chunk = config.chunk;
  Engine<T> engine(model, eo);
  engine::EngineCore<T>& core = engine::EngineAccess<T>::core(engine);
  // Parameters, moments and gradient stay where the engine runs (on a GPU:
  // device memory, synced to the model for checkpoints and at the end), on
  // the engine's own queue.
  std::unique_ptr<training::ParameterStore<T>> store =
      engine::make_parameter_store(core, model, optimizer);
  engine.bind_parameters(store->params());
  // Validation and diagnostics on an engine of their own: their shapes never
  // grow the training engine's buffers (which a recorded step points into).
  Engine<T> checker(model, eo);
  checker.bind_parameters(store->params());
  // Fresh data for a GPU run is drawn and solved there (when the system is
  // small enough for it; else on the host, as for the CPU), and then every
  // step is the same queued work: recorded once as a CUDA graph, replayed.
  std::unique_ptr<systems::FreshBatches<T>> fresh;
  // Batches read from a dataset file are written into pinned slots on a GPU.
  std::unique_ptr<training::BatchStaging<T>> staging = engine::make_batch_staging(core);
  if (data.system() != nullptr) {
    fresh = engine::make_fresh_batches(core, *data.system(), config.box, config.seed, config.batch);
    if (fresh) fresh->seek(state.step);
  }
  // Every step is the same queued work, recorded once as a CUDA graph and
  // replayed: one graph for fresh data; for a dataset run one per staging
  // slot (the recorded copy reads that slot's pinned memory).
  std::unique_ptr<training::StepGraph> graphs[2];
  bool recorded[2] = {false, false};
  graphs[0] = engine::make_step_graph(core);
  if (!fresh && graphs[0]) graphs[1] = engine::make_step_graph(core);
  const std::string config_json = config.to_json();

  std::vector<T> host_grad;
  TrainProgress p;
  p.total = config.steps;
  p.skipped = state.skipped;
  // A resumed run goes on from the recorded figures (so that its checkpoints
  // equal an uninterrupted run's).
  if (std::isfinite(state.loss)) p.loss = state.loss;
  if (std::isfinite(state.val_loss)) p.val_loss = state.val_loss;
  TrainResult result;
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  std::int64_t bad_in_a_row = 0;
  std::string last_checkpoint = "none";
  auto save = [&] {
    if (config.checkpoint.empty()) return;
    store->to_model(model, optimizer);
    state.config = config_json;
    save_checkpoint(config.checkpoint, model, optimizer, state);
    if (config.keep_checkpoints) {
      save_checkpoint(kept_checkpoint_path(config.checkpoint, state.step), model, optimizer, state);
    }
    last_checkpoint = config.checkpoint + " (step " + std::to_string(state.step) + ")";
  };
  LossOptions<T> lo;
  lo.kind = config.loss;
  lo.mass_penalty = config.mass_penalty;
  // After step number `done` (1-based) the host validates, diagnoses or
  // saves: nothing of a later step may be queued then.
  auto host_work_after = [&](std::int64_t done) {
    return done == config.steps || (config.validate_every > 0 && done % config.validate_every == 0) ||
           (config.checkpoint_every > 0 && done % config.checkpoint_every == 0);
  };
  double last_done = seconds();
  // The bookkeeping of the oldest queued step, once its outcome is read.
  auto finish_step = [&] {
    const training::StepOutcome<T> out = store->take();
    const std::int64_t done = state.step + 1;
    p.validated = p.checkpointed = false;
    p.failed_solves = static_cast<std::size_t>(out.loss.not_positive_definite + out.loss.singular);
    if (!out.stepped) {
      ++state.skipped;
      ++bad_in_a_row;
      p.skipped = state.skipped;
    } else {
      bad_in_a_row = 0;
      p.lr = out.info.lr;
      p.grad_norm = out.info.grad_norm;
      p.loss = out.loss.loss;
      p.penalty = out.loss.penalty;
      state.loss = out.loss.loss;
    }
    state.step = done;
    p.step = done;
    const bool last = done == config.steps;
    if (last || (config.validate_every > 0 && done % config.validate_every == 0)) {
      p.val_loss = mean_l1(checker, data.validation_states(), data.validation_tau(),
                           data.validation_targets());
      p.validated = true;
      state.val_loss = p.val_loss;
    }
    p.diagnosed = p.validated && config.diagnostics;
    if (p.diagnosed) {
      if (out.stepped) store->grad_to_host(host_grad);
      else host_grad.clear();
      p.diagnostics = diagnose(checker, data.validation_states(), data.validation_tau(),
                               data.validation_targets(), host_grad);
      store->to_model(model, optimizer);  // the moments, on the host
      p.diagnostics.adam_step_rms = adam_step_rms(optimizer);
    }
    const bool save_now =
        last || (config.checkpoint_every > 0 && done % config.checkpoint_every == 0);
    const double now = seconds(), dt = now - last_done;
    last_done = now;
    p.samples_per_second = dt > 0 ? static_cast<double>(config.batch) / dt : 0.0;
    p.seconds = now;
    p.checkpointed = save_now && !config.checkpoint.empty();
    // The callback (a log row) comes before the checkpoint that covers its
    // step: a kill between the two loses nothing, since a resume redoes the
    // steps after the last checkpoint.
    if (callback) callback(p);
    if (save_now) save();
    if (bad_in_a_row >= config.max_bad_steps) {
      throw Error("training stopped at step " + std::to_string(state.step) + ": " +
                  std::to_string(bad_in_a_row) +
                  " steps in a row had a non-finite loss or gradient; last good checkpoint: " +
                  last_checkpoint);
    }
  };

  // The device's part of a step: the loss gradient of the batch (drawn on
  // the device, or in the staging slot `h`) and the Adam update.
  auto queue_step = [&](const training::HostBatch<T>* h) {
    const engine::LossSummary* loss = nullptr;
    if (fresh) {
      const typename systems::FreshBatches<T>::Batch b = fresh->next();
      loss = core.loss_gradient_queued(b.states, b.tau, b.targets, lo, store->grad());
    } else {
      loss = core.loss_gradient_queued(h->states, h->tau, h->targets, lo, store->grad());
    }
    store->update(optimizer, loss, config.steps);
  };
  // Step k is queued (batch, loss and gradient, Adam) and, on a device, the
  // outcome of step k − 1 read while step k runs (store->lag()); a step
  // after which the host validates or saves is read before the next is
  // queued. A non-finite loss or gradient skips the step where it is found.
  // Graphs are recorded after each one's first plain step, which has sized
  // every buffer.
  const std::int64_t plain_steps = fresh ? 1 : 2;
  for (std::int64_t k = state.step; k < config.steps; ++k) {
    training::HostBatch<T> h;
    if (!fresh) {
      h = staging->acquire(data.states_size(), data.tau_size(), data.targets_size());
      data.batch(k, h.states, h.tau, h.targets);
    }
    const int g = fresh ? 0 : h.slot;
    if (recorded[g]) {
      graphs[g]->replay();
    } else if (graphs[g] && k >= state.step + plain_steps) {
      recorded[g] = graphs[g]->capture([&] { queue_step(&h); });
      if (recorded[g]) {
        graphs[g]->replay();
      } else {
        std::fprintf(stderr,
                     "lnn train: steps not recorded as a CUDA graph (%s); running them one launch "
                     "at a time\n",
                     graphs[g]->why().c_str());
        for (auto& gr : graphs) gr.reset();
        recorded[0] = recorded[1] = false;
        queue_step(&h);
      }
    } else {
      queue_step(&h);
    }
    if (!fresh) staging->release();
    store->publish();
    const int keep = host_work_after(k + 1) ? 0 : store->lag();
    while (store->queued() > keep) finish_step();
  }
  while (store->queued() > 0) finish_step();
  store->to_model(model, optimizer);
  result.steps = state.step;
  result.skipped = state.skipped;
  result.loss = state.loss;  // NaN, never 0, when no step succeeded
  result.val_loss = state.val_loss;
  result.seconds = seconds();
  return result;
}

template TrainResult train<float>(const TrainConfig&, Model<float>&, Adam<float>&, TrainState&,
                                  const TrainCallback&);
template TrainResult train<double>(const TrainConfig&, Model<double>&, Adam<double>&, TrainState&,
                                   const TrainCallback&);

}  // namespace lnn
