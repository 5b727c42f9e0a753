// Energy-drift sweeps (include/lnn/sweep.hpp, docs/sweeps.md).
//
// Directory layout:
//   sweep.json          the configuration (a rerun with another one is refused)
//   truth.h5            ground truth of the initial conditions (a trajectory dataset)
//   cells/<k>.json      the results of cell k, written atomically when it finishes
//   *.csv               the tables, assembled from cells/ once all are finished
#include "lnn/sweep.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/atomic_file.hpp"
#include "lnn/dataset.hpp"
#include "lnn/errors.hpp"
#include "lnn/model_file.hpp"
#include "lnn/rollout.hpp"
#include "lnn/systems.hpp"
#include "rollout/sweep_detail.hpp"

namespace lnn {
namespace fs = std::filesystem;
using sweep::Cell;
using sweep::Json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kCellFormat = 1;
constexpr std::size_t kMaxSeriesPoints = 1000;
constexpr std::size_t kPathTrajectories = 3;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const fs::path& path, const std::string& text) {
  io::AtomicFile file(path.string());
  file.write(text.data(), text.size());
  file.commit();
}

Json box_json(const std::vector<std::pair<double, double>>& box) {
  Json a = Json::array();
  for (const auto& [lo, hi] : box) a.push_back({lo, hi});
  return a;
}

// JSON has no NaN: null stands for it (sweep_tables.cpp reads it back).
Json number(double x) { return std::isfinite(x) ? Json(x) : Json(nullptr); }

Json stats_json(const SeriesStats& s) {
  return Json::array({number(s.max), number(s.final), number(s.mean), number(s.slope)});
}

// Output times: k/rate up to the longest horizon, and every horizon exactly.
std::vector<double> output_times(const SweepConfig& c) {
  const double H = *std::max_element(c.horizons.begin(), c.horizons.end());
  std::vector<double> t;
  const std::size_t count = output_time_count(H, c.rate, c.trajectories, 1, "sweep: horizon x rate");
  for (std::size_t k = 0; k < count; ++k) t.push_back(static_cast<double>(k) / c.rate);
  t.insert(t.end(), c.horizons.begin(), c.horizons.end());
  std::sort(t.begin(), t.end());
  t.erase(std::unique(t.begin(), t.end(),
                      [](double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, b); }),
          t.end());
  return t;
}

// Every k-th index so that at most kMaxSeriesPoints remain, the last always.
std::vector<std::size_t> subsample(std::size_t S) {
  const std::size_t every = (S + kMaxSeriesPoints - 1) / kMaxSeriesPoints;
  std::vector<std::size_t> idx;
  for (std::size_t s = 0; s < S; s += std::max<std::size_t>(every, 1)) idx.push_back(s);
  if (idx.empty() || idx.back() != S - 1) idx.push_back(S - 1);
  return idx;
}

double median_of(std::vector<double> v) {
  std::erase_if(v, [](double x) { return !std::isfinite(x); });
  return v.empty() ? kNaN : summarize(std::move(v)).median;
}
double p90_of(std::vector<double> v) {
  std::erase_if(v, [](double x) { return !std::isfinite(x); });
  return v.empty() ? kNaN : summarize(std::move(v)).p90;
}

class Sweep {
 public:
  Sweep(const SweepConfig& c, const std::string& dir, const SweepCallback& progress)
      : c_(c),
        dir_(dir),
        progress_(progress),
        system_(make_system(c.system, c.parameters)),
        n_(static_cast<std::size_t>(system_->dof())),
        d_(2 * n_),
        B_(c.trajectories),
        cells_(sweep::cells(c)),
        times_(output_times(c)),
        S_(times_.size()) {}

  SweepResult run(std::size_t max_cells);

 private:
  void prepare_directory();
  void prepare_truth();
  bool finished(std::size_t k) const;
  void compute(std::size_t k);

  const SweepConfig& c_;
  const fs::path dir_;
  const SweepCallback& progress_;
  std::unique_ptr<System> system_;
  const std::size_t n_, d_, B_;
  const std::vector<Cell> cells_;
  const std::vector<double> times_;
  const std::size_t S_;
  std::vector<double> y0_;     // B × 2n
  Dataset truth_;              // states B × S × 2n
  std::size_t done_ = 0;
};

void Sweep::prepare_directory() {
  std::error_code ec;
  fs::create_directories(dir_ / "cells", ec);
  if (ec) throw FileError(dir_.string(), "cannot create the sweep directory: " + ec.message());
  const fs::path config = dir_ / "sweep.json";
  const std::string json = c_.to_json();
  if (fs::exists(config)) {
    if (read_text(config) != json + "\n") {
      throw Error(dir_.string() +
                  " holds a sweep with another configuration (sweep.json differs); use another "
                  "output directory, or delete this one to start over");
    }
  } else {
    write_text(config, json + "\n");
  }
}

void Sweep::prepare_truth() {
  y0_.resize(B_ * d_);
  sample_states(*system_, c_.box, c_.seed, 0, y0_);
  const fs::path path = dir_ / "truth.h5";
  if (fs::exists(path)) {
    truth_ = load_dataset(path.string());
    bool same = truth_.times == times_ && truth_.trajectories == B_ &&
                truth_.n == system_->dof() && truth_.states.size() == B_ * S_ * d_;
    for (std::size_t b = 0; same && b < B_; ++b) {
      same = std::equal(y0_.begin() + static_cast<std::ptrdiff_t>(b * d_),
                        y0_.begin() + static_cast<std::ptrdiff_t>((b + 1) * d_),
                        truth_.states.begin() + static_cast<std::ptrdiff_t>(b * S_ * d_));
    }
    if (same) return;
    throw FileError(path.string(), "ground truth of another sweep configuration");
  }
  if (progress_) progress_({done_, cells_.size(), "ground truth", 0.0});
  auto dyn = analytic_dynamics(*system_);
  IntegrateOptions o;
  o.method = Integrator::dopri5;
  o.rtol = o.atol = c_.truth_tolerance;
  truth_ = start_dataset(*system_, DatasetKind::trajectories, c_.seed);
  Dataset& t = truth_;
  t.generator = Json{{"tool", "lnn sweep"}, {"integrator", "dopri5"},
                     {"rtol", c_.truth_tolerance}, {"atol", c_.truth_tolerance}}
                    .dump();
  t.trajectories = B_;
  t.times = times_;
  t.states.resize(B_ * S_ * d_);
  const auto reports = rollout(*dyn, 0.0, y0_, times_, t.states, o, [&](double f) {
    if (progress_) progress_({done_, cells_.size(), "ground truth", f});
  });
  t.accelerations.resize(B_ * S_ * n_);
  t.energies.resize(B_ * S_);
  system_->accelerations(t.states, {}, t.accelerations, {}, {SolveMethod::lu});
  system_->energy(t.states, t.energies);
  for (const auto& r : reports) {
    t.status.push_back(static_cast<std::int8_t>(r.status));
    t.accepted.push_back(r.accepted);
    t.rejected.push_back(r.rejected);
  }
  save_dataset(t, path.string());
}

bool Sweep::finished(std::size_t k) const {
  const fs::path path = dir_ / "cells" / (std::to_string(k) + ".json");
  if (!fs::exists(path)) return false;
  const Json j = Json::parse(read_text(path), nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", 0) != kCellFormat ||
      j.value("key", "") != cells_[k].key()) {
    throw FileError(path.string(), "not a finished cell of this sweep (expected '" +
                                       cells_[k].key() + "'); delete it to recompute the cell");
  }
  return true;
}

void Sweep::compute(std::size_t k) {
  const Cell& cell = cells_[k];
  const auto start = std::chrono::steady_clock::now();
  const std::unique_ptr<Dynamics> dyn = load_dynamics(cell.model, *system_, c_.native_precision);
  IntegrateOptions o;
  o.method = cell.integrator;
  if (cell.integrator == Integrator::dopri5) {
    o.rtol = o.atol = cell.step;
  } else {
    o.dt = cell.step;
  }
  o.newton_max_iterations = c_.newton_max_iterations;
  std::vector<double> out(B_ * S_ * d_);
  const auto reports = rollout(*dyn, 0.0, y0_, times_, out, o, [&](double f) {
    if (progress_) progress_({done_, cells_.size(), cell.label(), f});
  });

  // Energies along the predicted paths: the system's, and the model's own.
  const double scale = system_->info().potential_scale;
  std::vector<double> E(B_ * S_), Em(B_ * S_), E0(B_), Em0(B_);
  system_->energy(out, E);
  system_->energy(y0_, E0);
  dyn->energy(out, Em);
  dyn->energy(y0_, Em0);
  // The learned energy is only defined up to a factor: α from a fit
  // E_model(x0) ≈ α·E_true(x0) + β over the initial conditions puts its
  // drift in units of the true energy (α = 1 for the analytic system).
  double alpha = 1.0;
  if (cell.model != "analytic" && B_ >= 2) {
    double me = 0, mm = 0;
    for (std::size_t b = 0; b < B_; ++b) me += E0[b], mm += Em0[b];
    me /= static_cast<double>(B_), mm /= static_cast<double>(B_);
    double cov = 0, var = 0;
    for (std::size_t b = 0; b < B_; ++b) {
      cov += (E0[b] - me) * (Em0[b] - mm);
      var += (E0[b] - me) * (E0[b] - me);
    }
    if (var > 0 && std::isfinite(cov / var) && cov != 0) alpha = std::abs(cov / var);
  }

  // Error series per trajectory over the full span.
  const auto& angles = system_->info().angles;
  std::vector<double> eE(B_ * S_), eM(B_ * S_), eX(B_ * S_);
  for (std::size_t b = 0; b < B_; ++b) {
    for (std::size_t s = 0; s < S_; ++s) {
      const std::size_t i = b * S_ + s;
      eE[i] = (E[i] - E0[b]) / scale;
      eM[i] = (Em[i] - Em0[b]) / (alpha * scale);
      const double* x = out.data() + i * d_;
      const double* x_true = truth_.states.data() + i * d_;
      double sum = 0;
      for (std::size_t j = 0; j < d_; ++j) {
        const double diff = wrapped_difference(x[j], x_true[j], j < n_ && angles[j]);
        sum += diff * diff;
      }
      eX[i] = std::sqrt(sum / static_cast<double>(d_));
    }
  }

  Json j;
  j["format"] = kCellFormat;
  j["key"] = cell.key();
  j["alpha"] = alpha;
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Json reps = Json::array();
  for (const auto& r : reports) {
    reps.push_back({{"status", std::string(to_string(r.status))},
                    {"t_reached", r.t_reached},
                    {"accepted", r.accepted},
                    {"rejected", r.rejected},
                    {"evaluations", r.evaluations}});
  }
  j["reports"] = reps;
  Json horizons = Json::array();
  for (double h : c_.horizons) {
    const auto Sh = static_cast<std::size_t>(
        std::upper_bound(times_.begin(), times_.end(), h + 1e-9 * std::max(1.0, h)) -
        times_.begin());
    const std::span<const double> t(times_.data(), Sh);
    Json trajs = Json::array();
    for (std::size_t b = 0; b < B_; ++b) {
      const bool failed = reports[b].status != TrajectoryStatus::ok && reports[b].t_reached < h;
      auto stats = [&](const std::vector<double>& e) {
        return failed ? SeriesStats{kNaN, kNaN, kNaN, kNaN}
                      : series_stats(t, std::span<const double>(e.data() + b * S_, Sh));
      };
      trajs.push_back({{"failed", failed},
                       {"energy", stats_json(stats(eE))},
                       {"model_energy", stats_json(stats(eM))},
                       {"state", stats_json(stats(eX))}});
    }
    horizons.push_back({{"horizon", h}, {"trajectories", trajs}});
  }
  j["horizons"] = horizons;

  // Series for the plots: medians over trajectories at subsampled times.
  Json series{{"t", Json::array()},
              {"energy_median", Json::array()},
              {"energy_p90", Json::array()},
              {"model_energy_median", Json::array()},
              {"state_median", Json::array()}};
  const auto idx = subsample(S_);
  for (std::size_t s : idx) {
    std::vector<double> a(B_), m(B_), x(B_);
    for (std::size_t b = 0; b < B_; ++b) {
      a[b] = std::abs(eE[b * S_ + s]);
      m[b] = std::abs(eM[b * S_ + s]);
      x[b] = eX[b * S_ + s];
    }
    series["t"].push_back(times_[s]);
    series["energy_median"].push_back(number(median_of(a)));
    series["energy_p90"].push_back(number(p90_of(a)));
    series["model_energy_median"].push_back(number(median_of(m)));
    series["state_median"].push_back(number(median_of(x)));
  }
  j["series"] = series;
  Json paths = Json::array();
  for (std::size_t b = 0; b < std::min(B_, kPathTrajectories); ++b) {
    Json q = Json::array();
    for (std::size_t s : idx) {
      Json row = Json::array();
      for (std::size_t i = 0; i < n_; ++i) row.push_back(number(out[(b * S_ + s) * d_ + i]));
      q.push_back(row);
    }
    paths.push_back(q);
  }
  j["paths"] = paths;
  write_text(dir_ / "cells" / (std::to_string(k) + ".json"), j.dump() + "\n");
}

SweepResult Sweep::run(std::size_t max_cells) {
  const auto start = std::chrono::steady_clock::now();
  SweepResult r;
  r.cells_total = cells_.size();
  prepare_directory();
  std::vector<std::size_t> todo;
  for (std::size_t k = 0; k < cells_.size(); ++k) {
    if (finished(k)) {
      ++r.cells_resumed;
    } else {
      todo.push_back(k);
    }
  }
  done_ = r.cells_resumed;
  if (!todo.empty()) prepare_truth();
  for (std::size_t k : todo) {
    if (max_cells > 0 && r.cells_computed == max_cells) break;
    compute(k);
    ++r.cells_computed;
    ++done_;
    if (progress_) progress_({done_, cells_.size(), cells_[k].label(), 1.0});
  }
  r.complete = done_ == cells_.size();
  if (r.complete) {
    if (truth_.states.empty()) truth_ = load_dataset((dir_ / "truth.h5").string());
    std::vector<Json> results;
    for (std::size_t k = 0; k < cells_.size(); ++k) {
      results.push_back(Json::parse(read_text(dir_ / "cells" / (std::to_string(k) + ".json"))));
    }
    r.files = sweep::write_tables(c_, cells_, results, truth_, dir_.string());
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace

void SweepConfig::validate() const {
  const auto positive = [](double x) { return std::isfinite(x) && x > 0; };
  if (models.empty()) throw InvalidArgument("sweep: no models");
  if (integrators.empty()) throw InvalidArgument("sweep: no integrators");
  if (horizons.empty()) throw InvalidArgument("sweep: no horizons");
  for (double h : horizons)
    if (!positive(h)) throw InvalidArgument("sweep: horizons must be finite and > 0");
  const bool fixed = std::any_of(integrators.begin(), integrators.end(),
                                 [](Integrator m) { return m != Integrator::dopri5; });
  const bool adaptive = std::any_of(integrators.begin(), integrators.end(),
                                    [](Integrator m) { return m == Integrator::dopri5; });
  if (fixed && dts.empty()) throw InvalidArgument("sweep: rk4 and variational need step sizes");
  for (double dt : dts)
    if (!positive(dt)) throw InvalidArgument("sweep: step sizes must be finite and > 0");
  if (adaptive && tolerances.empty()) throw InvalidArgument("sweep: dopri5 needs tolerances");
  for (double tol : tolerances)
    if (!positive(tol)) throw InvalidArgument("sweep: tolerances must be finite and > 0");
  if (trajectories == 0) throw InvalidArgument("sweep: trajectories must be >= 1");
  if (!positive(rate)) throw InvalidArgument("sweep: rate must be finite and > 0");
  if (!positive(truth_tolerance)) throw InvalidArgument("sweep: truth_tolerance must be > 0");
  if (newton_max_iterations < 1) throw InvalidArgument("sweep: newton_max_iterations must be >= 1");
  const auto sys = make_system(system, parameters);
  for (const std::string& m : models) {
    if (m == "analytic") continue;
    const ModelFileInfo info = read_model_info(m);
    if (info.spec.n != sys->dof()) {
      throw InvalidArgument("sweep: " + m + " has n = " + std::to_string(info.spec.n) + " but " +
                            sys->name() + " has n = " + std::to_string(sys->dof()));
    }
  }
  std::vector<std::string> sorted = models;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    throw InvalidArgument("sweep: a model is listed twice");
  }
}

std::string SweepConfig::to_json() const {
  Json j;
  j["system"] = system;
  j["parameters"] = parameters;
  j["models"] = models;
  Json m = Json::array();
  for (Integrator i : integrators) m.push_back(std::string(to_string(i)));
  j["integrators"] = m;
  j["dts"] = dts;
  j["tolerances"] = tolerances;
  j["horizons"] = horizons;
  j["trajectories"] = trajectories;
  j["box_q"] = box_json(box.q);
  j["box_qdot"] = box_json(box.qdot);
  j["seed"] = seed;
  j["rate"] = rate;
  j["truth_tolerance"] = truth_tolerance;
  j["native_precision"] = native_precision;
  j["newton_max_iterations"] = newton_max_iterations;
  return j.dump(2);
}

SweepResult run_sweep(const SweepConfig& config, const std::string& dir,
                      const SweepCallback& progress, std::size_t max_cells) {
  config.validate();
  SweepConfig c = config;
  if (c.box.empty()) c.box = make_system(c.system, c.parameters)->info().evaluation;
  return Sweep(c, dir, progress).run(max_cells);
}

}  // namespace lnn
