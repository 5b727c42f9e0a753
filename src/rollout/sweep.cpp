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
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/box_json.hpp"
#include "io/atomic_file.hpp"
#include "lnn/dataset.hpp"
#include "lnn/errors.hpp"
#include "lnn/model_file.hpp"
#include "lnn/rollout.hpp"
#include "lnn/systems.hpp"
#include "rollout/sweep_detail.hpp"

namespace lnn LNN_CXX_API {
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

// The content hash of a model file (docs/sweeps.md, "Resuming"): 64-bit
// FNV-1a over its bytes, as "fnv1a64:<16 hex digits>"; "analytic" for the
// system itself. FNV-1a: a well-known hash that needs no library; it tells a
// replaced or retrained model from the one a cell was computed with (it is
// not meant to resist a deliberately forged file).
std::string model_hash(const std::string& model) {
  if (model == "analytic") return "analytic";
  std::ifstream in(model, std::ios::binary);
  if (!in) throw FileError(model, "cannot open for reading");
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV offset basis
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      h ^= static_cast<unsigned char>(buf[i]);
      h *= 0x100000001b3ull;  // FNV prime
    }
  }
  if (in.bad()) throw FileError(model, "cannot read");
  char hex[32];
  std::snprintf(hex, sizeof hex, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
  return hex;
}

// TrajectoryStatus names, as cells store them.
bool known_status(const std::string& name) {
  for (int i = 0; i <= static_cast<int>(TrajectoryStatus::no_convergence); ++i) {
    if (to_string(static_cast<TrajectoryStatus>(i)) == name) return true;
  }
  return false;
}

bool is_number_or_null(const Json& j) { return j.is_number() || j.is_null(); }

// Equal as JSON values, whatever the order of the objects' keys (Json keeps
// the order, and its == compares it).
bool same_json(const Json& a, const Json& b) {
  return nlohmann::json::parse(a.dump()) == nlohmann::json::parse(b.dump());
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

// A dataset sweep's output times: the set's, up to the longest horizon.
std::vector<double> dataset_times(const SweepConfig& c, const Dataset& d) {
  const double H = *std::max_element(c.horizons.begin(), c.horizons.end());
  std::vector<double> t;
  for (double x : d.times)
    if (x <= H + 1e-9 * std::max(1.0, H)) t.push_back(x);
  return t;
}

// The trajectories of a dataset sweep: the first `count` of status ok and
// unforced (τ = 0 throughout), or InvalidArgument when there are fewer.
std::vector<std::size_t> dataset_trajectories(const Dataset& d, std::size_t count,
                                              const std::string& path) {
  const std::size_t S = d.times.size(), un = static_cast<std::size_t>(d.n);
  std::vector<std::size_t> chosen;
  for (std::size_t b = 0; b < d.trajectories && chosen.size() < count; ++b) {
    const bool forced =
        !d.tau.empty() && std::any_of(d.tau.begin() + static_cast<std::ptrdiff_t>(b * S * un),
                                      d.tau.begin() + static_cast<std::ptrdiff_t>((b + 1) * S * un),
                                      [](double v) { return v != 0.0; });
    if (d.status[b] == 0 && !forced) chosen.push_back(b);
  }
  if (chosen.size() < count) {
    throw InvalidArgument("sweep: " + path + " has " + std::to_string(chosen.size()) +
                          " unforced trajectories of status ok, fewer than trajectories = " +
                          std::to_string(count));
  }
  return chosen;
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
  // `data`: the dataset of a dataset sweep (SweepConfig::dataset), else null.
  Sweep(const SweepConfig& c, const std::string& dir, const SweepCallback& progress,
        std::unique_ptr<Dataset> data)
      : c_(c),
        dir_(dir),
        progress_(progress),
        system_(data ? nullptr : make_system(c.system, c.parameters)),
        data_(std::move(data)),
        n_(static_cast<std::size_t>(data_ ? data_->n : system_->dof())),
        d_(2 * n_),
        B_(c.trajectories),
        cells_(sweep::cells(c)),
        times_(data_ ? dataset_times(c, *data_) : output_times(c)),
        S_(times_.size()) {}

  SweepResult run(std::size_t max_cells);

 private:
  void prepare_directory();
  void prepare_truth();
  bool finished(std::size_t k);
  void compute(std::size_t k);
  Json read_cell(std::size_t k, bool current) const;
  std::string cell_problem(std::size_t k, const Json& j, bool current) const;
  fs::path cell_path(std::size_t k) const { return dir_ / "cells" / (std::to_string(k) + ".json"); }

  const SweepConfig& c_;
  const fs::path dir_;
  const SweepCallback& progress_;
  std::unique_ptr<System> system_;  // null for a dataset sweep
  std::unique_ptr<Dataset> data_;   // a dataset sweep's set, else null
  const std::size_t n_, d_, B_;
  const std::vector<Cell> cells_;
  const std::vector<double> times_;
  const std::size_t S_;
  std::vector<double> y0_;     // B × 2n
  std::vector<double> E0_;     // a dataset sweep: the set's energy at y0 (NaN: none)
  Dataset truth_;              // states B × S × 2n
  std::size_t done_ = 0;
  std::size_t stale_ = 0;      // finished cells of another model file or configuration
  Json config_;                // c_.to_json(), parsed: what each cell records
  std::map<std::string, std::string> hashes_;  // model → model_hash(model), at the start
};

void Sweep::prepare_directory() {
  std::error_code ec;
  fs::create_directories(dir_ / "cells", ec);
  if (ec) throw FileError(dir_.string(), "cannot create the sweep directory: " + ec.message());
  const fs::path config = dir_ / "sweep.json";
  // sweep.json: the configuration, then the content hash of each model
  // (which may change between runs: those models' cells are recomputed).
  Json stored = config_;
  Json hashes = Json::object();
  for (const auto& [model, hash] : hashes_) hashes[model] = hash;
  stored["model_hashes"] = hashes;
  const std::string text = stored.dump(2) + "\n";
  if (fs::exists(config)) {
    const std::string old = read_text(config);
    Json j = Json::parse(old, nullptr, false);
    if (j.is_object()) j.erase("model_hashes");
    if (j.is_discarded() || !same_json(j, config_)) {
      throw Error(dir_.string() +
                  " holds a sweep with another configuration (sweep.json differs); use another "
                  "output directory, or delete this one to start over");
    }
    if (old != text) write_text(config, text);
  } else {
    write_text(config, text);
  }
}

void Sweep::prepare_truth() {
  y0_.resize(B_ * d_);
  if (data_) {
    // The set's own trajectories (their exact states where it has them),
    // restricted to the output times; nothing is integrated or written.
    const Dataset& d = *data_;
    const std::vector<double>& exact = d.states_true.empty() ? d.states : d.states_true;
    const std::size_t S = d.times.size();
    truth_ = Dataset{};
    truth_.kind = DatasetKind::trajectories;
    truth_.system = d.system;
    truth_.n = d.n;
    truth_.trajectories = B_;
    truth_.times = times_;
    truth_.states.resize(B_ * S_ * d_);
    E0_.assign(B_, kNaN);
    const std::vector<std::size_t> chosen = dataset_trajectories(d, B_, c_.dataset);
    for (std::size_t i = 0; i < B_; ++i) {
      const auto from = exact.begin() + static_cast<std::ptrdiff_t>(chosen[i] * S * d_);
      std::copy(from, from + static_cast<std::ptrdiff_t>(S_ * d_),
                truth_.states.begin() + static_cast<std::ptrdiff_t>(i * S_ * d_));
      std::copy(from, from + static_cast<std::ptrdiff_t>(d_),
                y0_.begin() + static_cast<std::ptrdiff_t>(i * d_));
      if (!d.energies.empty()) E0_[i] = d.energies[chosen[i] * S];
    }
    return;
  }
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
  mark_non_finite_trajectories(t);  // NaN only at failed points (lnn/dataset.hpp)
  save_dataset(t, path.string());
}

// A cell file's JSON, or FileError naming it. `current`: it must be of this
// configuration and model file (else a stale cell passes unchecked).
Json Sweep::read_cell(std::size_t k, bool current) const {
  const fs::path path = cell_path(k);
  const Json j = Json::parse(read_text(path), nullptr, false);
  const std::string problem = j.is_discarded() ? "not valid JSON" : cell_problem(k, j, current);
  if (!problem.empty()) {
    throw FileError(path.string(), "not a finished cell of this sweep (" + problem +
                                       "); delete it to recompute the cell");
  }
  return j;
}

// What is wrong with cell k's JSON, or "" when it has every field the tables
// read, of the right type and size (docs/sweeps.md, "Resuming").
std::string Sweep::cell_problem(std::size_t k, const Json& j, bool current) const {
  if (!j.is_object()) return "not a JSON object";
  if (!j.contains("format") || !j["format"].is_number_integer() || j["format"] != kCellFormat)
    return "'format' is not " + std::to_string(kCellFormat);
  for (const char* f : {"key", "model_hash"}) {
    if (!j.contains(f) || !j[f].is_string()) return "no string '" + std::string(f) + "'";
  }
  if (!j.contains("config") || !j["config"].is_object()) return "no object 'config'";
  // Another configuration or model file: a stale cell, recomputed (the key is
  // then another cell's, too). Checked before the rest, which may differ.
  if (!same_json(j["config"], config_) || j["model_hash"] != hashes_.at(cells_[k].model)) {
    return current ? "computed with another configuration or model file" : "";
  }
  if (j["key"] != cells_[k].key()) return "'key' is not '" + cells_[k].key() + "'";
  for (const char* f : {"alpha", "seconds"}) {
    if (!j.contains(f) || !j[f].is_number()) return "no number '" + std::string(f) + "'";
  }
  const auto array_of = [&](const Json& a, std::size_t n) { return a.is_array() && a.size() == n; };
  if (!j.contains("reports") || !array_of(j["reports"], B_))
    return "'reports' is not an array of " + std::to_string(B_);
  for (const Json& r : j["reports"]) {
    if (!r.is_object() || !r.contains("status") || !r["status"].is_string() ||
        !known_status(r["status"].get<std::string>()) || !r.contains("t_reached") ||
        !r["t_reached"].is_number())
      return "a report has no known 'status' or no 't_reached'";
    for (const char* f : {"accepted", "rejected", "evaluations"}) {
      if (!r.contains(f) || !r[f].is_number_integer()) return "a report has no integer '" + std::string(f) + "'";
    }
  }
  if (!j.contains("horizons") || !array_of(j["horizons"], c_.horizons.size()))
    return "'horizons' is not an array of " + std::to_string(c_.horizons.size());
  for (std::size_t h = 0; h < c_.horizons.size(); ++h) {
    const Json& e = j["horizons"][h];
    if (!e.is_object() || !e.contains("horizon") || !e["horizon"].is_number() ||
        e["horizon"].get<double>() != c_.horizons[h])
      return "horizon " + std::to_string(h) + " is not " + std::to_string(c_.horizons[h]);
    if (!e.contains("trajectories") || !array_of(e["trajectories"], B_))
      return "horizon " + std::to_string(h) + ": 'trajectories' is not an array of " +
             std::to_string(B_);
    for (const Json& t : e["trajectories"]) {
      if (!t.is_object() || !t.contains("failed") || !t["failed"].is_boolean())
        return "horizon " + std::to_string(h) + ": a trajectory has no boolean 'failed'";
      for (const char* m : {"energy", "model_energy", "state"}) {
        if (!t.contains(m) || !array_of(t[m], 4) ||
            !std::all_of(t[m].begin(), t[m].end(), is_number_or_null))
          return "horizon " + std::to_string(h) + ": a trajectory's '" + m +
                 "' is not 4 numbers";
      }
    }
  }
  if (!j.contains("series") || !j["series"].is_object()) return "no object 'series'";
  const Json& se = j["series"];
  if (!se.contains("t") || !se["t"].is_array() || se["t"].empty()) return "no series 't'";
  const std::size_t L = se["t"].size();
  for (const Json& t : se["t"]) {
    // Output times only: the truth's rows are looked up by them.
    if (!t.is_number() || !std::binary_search(times_.begin(), times_.end(), t.get<double>()))
      return "series 't' holds a time that is not an output time";
  }
  for (const char* f : {"energy_median", "energy_p90", "model_energy_median", "state_median"}) {
    if (!se.contains(f) || !array_of(se[f], L) ||
        !std::all_of(se[f].begin(), se[f].end(), is_number_or_null))
      return "series '" + std::string(f) + "' is not " + std::to_string(L) + " numbers";
  }
  if (!j.contains("paths") || !array_of(j["paths"], std::min(B_, kPathTrajectories)))
    return "'paths' is not an array of " + std::to_string(std::min(B_, kPathTrajectories));
  for (const Json& p : j["paths"]) {
    if (!array_of(p, L)) return "a path does not have " + std::to_string(L) + " rows";
    for (const Json& row : p) {
      if (!array_of(row, n_) || !std::all_of(row.begin(), row.end(), is_number_or_null))
        return "a path row is not " + std::to_string(n_) + " numbers";
    }
  }
  return "";
}

bool Sweep::finished(std::size_t k) {
  if (!fs::exists(cell_path(k))) return false;
  const Json j = read_cell(k, false);
  if (!same_json(j["config"], config_) || j["model_hash"] != hashes_.at(cells_[k].model)) {
    ++stale_;
    return false;
  }
  return true;
}

void Sweep::compute(std::size_t k) {
  const Cell& cell = cells_[k];
  const auto start = std::chrono::steady_clock::now();
  // The hash of the bytes this cell reads (a model replaced since the start
  // of the run gives a cell that the next run recomputes).
  const std::string hash = model_hash(cell.model);
  const std::unique_ptr<Dynamics> dyn =
      system_ ? load_dynamics(cell.model, *system_, c_.native_precision)
              : load_dynamics(cell.model, static_cast<int>(n_), c_.native_precision);
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
  // A dataset sweep has no energy function: E is NaN, E0 the set's (or NaN).
  const double scale = system_ ? system_->info().potential_scale : data_->potential_scale;
  std::vector<double> E(B_ * S_, kNaN), Em(B_ * S_), E0(B_), Em0(B_);
  if (system_) {
    system_->energy(out, E);
    system_->energy(y0_, E0);
  } else {
    E0 = E0_;
  }
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
    // (A dataset without energies: E0 is NaN, so is cov / var, and α stays 1.)
  }

  // Error series per trajectory over the full span.
  const std::vector<std::uint8_t>& angles = system_ ? system_->info().angles : data_->angles;
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
  j["model_hash"] = hash;
  j["config"] = config_;
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
  write_text(cell_path(k), j.dump() + "\n");
}

SweepResult Sweep::run(std::size_t max_cells) {
  const auto start = std::chrono::steady_clock::now();
  SweepResult r;
  r.cells_total = cells_.size();
  config_ = Json::parse(c_.to_json());
  // A dataset sweep's truth is the file: its content is part of the configuration.
  if (data_) config_["dataset_hash"] = model_hash(c_.dataset);
  for (const std::string& m : c_.models) hashes_[m] = model_hash(m);
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
  r.cells_stale = stale_;
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
    if (truth_.states.empty()) prepare_truth();  // checked against this configuration
    std::vector<Json> results;
    for (std::size_t k = 0; k < cells_.size(); ++k) results.push_back(read_cell(k, true));
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
  int n = 0;
  std::string who;
  if (dataset.empty()) {
    const auto sys = make_system(system, parameters);
    n = sys->dof();
    who = sys->name();
  } else {
    const Dataset d = load_dataset(dataset);
    if (d.kind != DatasetKind::trajectories) {
      throw InvalidArgument("sweep: " + dataset + " is a derivative set; a sweep needs trajectories");
    }
    if (d.times.front() != 0.0) {
      throw InvalidArgument("sweep: the times of " + dataset + " start at " +
                            std::to_string(d.times.front()) + ", not at 0");
    }
    for (double h : horizons) {
      if (h > d.times.back() * (1 + 1e-9)) {
        throw InvalidArgument("sweep: horizon " + std::to_string(h) + " is beyond the last time " +
                              std::to_string(d.times.back()) + " of " + dataset);
      }
    }
    dataset_trajectories(d, trajectories, dataset);
    n = d.n;
    who = dataset;
  }
  for (const std::string& m : models) {
    if (m == "analytic") {
      if (!dataset.empty()) {
        throw InvalidArgument("sweep: 'analytic' needs a catalogue system; a dataset sweep "
                              "compares model files with the set's trajectories");
      }
      continue;
    }
    const ModelFileInfo info = read_model_info(m);
    if (info.spec.n != n) {
      throw InvalidArgument("sweep: " + m + " has n = " + std::to_string(info.spec.n) + " but " +
                            who + " has n = " + std::to_string(n));
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
  j["box_q"] = common::intervals_to_json<Json>(box.q);
  j["box_qdot"] = common::intervals_to_json<Json>(box.qdot);
  j["seed"] = seed;
  j["rate"] = rate;
  j["truth_tolerance"] = truth_tolerance;
  j["native_precision"] = native_precision;
  j["newton_max_iterations"] = newton_max_iterations;
  // Only when set, so that the sweep.json of a system's sweep is as before.
  if (!dataset.empty()) j["dataset"] = dataset;
  return j.dump(2);
}

SweepResult run_sweep(const SweepConfig& config, const std::string& dir,
                      const SweepCallback& progress, std::size_t max_cells) {
  config.validate();
  SweepConfig c = config;
  std::unique_ptr<Dataset> data;
  if (!c.dataset.empty()) {
    data = std::make_unique<Dataset>(load_dataset(c.dataset));
    // sweep.json and the plots name the set's system (docs/sweeps.md).
    c.system = data->system;
    c.parameters.clear();
    for (const auto& [name, value] : data->parameters) c.parameters[name] = value;
  } else if (c.box.empty()) {
    c.box = make_system(c.system, c.parameters)->info().evaluation;
  }
  return Sweep(c, dir, progress, std::move(data)).run(max_cells);
}

}  // namespace lnn
