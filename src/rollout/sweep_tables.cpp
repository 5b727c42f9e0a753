// The sweep's cells and its CSV tables (docs/sweeps.md describes the columns).
// The cells' results come checked (Sweep::cell_problem in sweep.cpp): every
// field read here is there, with its type and size.
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "io/atomic_file.hpp"
#include "lnn/rollout.hpp"
#include "rollout/sweep_detail.hpp"

namespace lnn::sweep {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kMetrics[] = {"energy", "model_energy", "state"};
constexpr const char* kStats[] = {"max", "final", "mean", "slope"};

std::string num(double x) {
  if (std::isnan(x)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", x);
  return buf;
}

double value(const Json& j) { return j.is_null() ? kNaN : j.get<double>(); }

// RFC 4180: quoted when it holds a comma, quote or line break.
std::string field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

// model,integrator,dt,tol
std::string cell_columns(const Cell& c) {
  return field(c.model) + "," + std::string(to_string(c.integrator)) + "," +
         (c.adaptive() ? "" : num(c.step)) + "," + (c.adaptive() ? num(c.step) : "");
}

class Table {
 public:
  explicit Table(std::string header) : text_(std::move(header) + "\n") {}
  void row(const std::string& r) { text_ += r + "\n"; }
  std::string write(const std::string& dir, const std::string& name) const {
    const std::string path = (std::filesystem::path(dir) / name).string();
    io::AtomicFile file(path);
    file.write(text_.data(), text_.size());
    file.commit();
    return path;
  }

 private:
  std::string text_;
};

}  // namespace

std::string Cell::key() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", step);
  return model + "|" + std::string(to_string(integrator)) + "|" + buf;
}

std::string Cell::label() const {
  return model + " " + std::string(to_string(integrator)) + (adaptive() ? " tol=" : " dt=") +
         num(step);
}

std::vector<Cell> cells(const SweepConfig& config) {
  std::vector<Cell> out;
  for (const std::string& m : config.models) {
    for (Integrator i : config.integrators) {
      for (double s : i == Integrator::dopri5 ? config.tolerances : config.dts) {
        out.push_back({m, i, s});
      }
    }
  }
  return out;
}

std::vector<std::string> write_tables(const SweepConfig& config, const std::vector<Cell>& cells,
                                      const std::vector<Json>& results, const Dataset& truth,
                                      const std::string& dir) {
  std::string stat_header, aggregate_header;
  for (const char* m : kMetrics) {
    for (const char* s : kStats) {
      stat_header += std::string(",") + m + "_" + s;
      for (const char* a : {"median", "mean", "p90"}) {
        aggregate_header += std::string(",") + m + "_" + s + "_" + a;
      }
    }
  }
  Table summary("model,integrator,dt,tol,horizon,trajectories,failed,alpha" + aggregate_header);
  Table trajectories("model,integrator,dt,tol,horizon,trajectory,status,t_reached,accepted,"
                     "rejected,evaluations" +
                     stat_header);
  Table series("model,integrator,dt,tol,t,energy_median,energy_p90,model_energy_median,"
               "state_median");
  const int n = truth.n;
  std::string q_header;
  // The system's own coordinate names (r, theta, …), as `lnn systems` lists
  // them; q1 … qn for a dataset sweep's system, which has none in lnn.
  std::vector<std::string> names;
  if (config.dataset.empty()) {
    names = make_system(config.system, config.parameters)->info().coordinates;
  } else {
    for (int i = 1; i <= n; ++i) names.push_back("q" + std::to_string(i));
  }
  for (int i = 0; i < n; ++i) q_header += "," + names[static_cast<std::size_t>(i)];
  Table paths("model,integrator,dt,tol,trajectory,t" + q_header);
  Table timing("model,integrator,dt,tol,seconds,accepted_mean,rejected_mean,evaluations_mean,"
               "failed");

  for (std::size_t k = 0; k < cells.size(); ++k) {
    const Cell& cell = cells[k];
    const Json& r = results[k];
    const std::string cc = cell_columns(cell);
    const Json& reports = r.at("reports");
    const double B = static_cast<double>(reports.size());
    double acc = 0, rej = 0, ev = 0;
    std::size_t failed = 0;
    for (const Json& rep : reports) {
      acc += rep.at("accepted").get<double>();
      rej += rep.at("rejected").get<double>();
      ev += rep.at("evaluations").get<double>();
      failed += rep.at("status").get<std::string>() != "ok";
    }
    timing.row(cc + "," + num(r.at("seconds").get<double>()) + "," + num(acc / B) + "," +
               num(rej / B) + "," + num(ev / B) + "," + std::to_string(failed));

    for (const Json& h : r.at("horizons")) {
      const double horizon = h.at("horizon").get<double>();
      const Json& trajs = h.at("trajectories");
      std::size_t h_failed = 0;
      // values[metric][stat] over the trajectories that reached the horizon
      std::vector<std::vector<std::vector<double>>> values(3, std::vector<std::vector<double>>(4));
      for (std::size_t b = 0; b < trajs.size(); ++b) {
        const Json& t = trajs[b];
        const Json& rep = reports[b];
        std::string row = cc + "," + num(horizon) + "," + std::to_string(b) + "," +
                          rep.at("status").get<std::string>() + "," +
                          num(rep.at("t_reached").get<double>()) + "," +
                          std::to_string(rep.at("accepted").get<std::int64_t>()) + "," +
                          std::to_string(rep.at("rejected").get<std::int64_t>()) + "," +
                          std::to_string(rep.at("evaluations").get<std::int64_t>());
        const bool f = t.at("failed").get<bool>();
        h_failed += f;
        for (std::size_t m = 0; m < 3; ++m) {
          const Json& st = t.at(kMetrics[m]);
          for (std::size_t s = 0; s < 4; ++s) {
            const double v = value(st[s]);
            row += "," + num(v);
            if (!f && std::isfinite(v)) values[m][s].push_back(v);
          }
        }
        trajectories.row(row);
      }
      std::string row = cc + "," + num(horizon) + "," + std::to_string(trajs.size()) + "," +
                        std::to_string(h_failed) + "," + num(r.at("alpha").get<double>());
      for (std::size_t m = 0; m < 3; ++m) {
        for (std::size_t s = 0; s < 4; ++s) {
          const Summary a = summarize(values[m][s]);
          if (a.count == 0) {
            row += ",nan,nan,nan";
          } else {
            row += "," + num(a.median) + "," + num(a.mean) + "," + num(a.p90);
          }
        }
      }
      summary.row(row);
    }

    const Json& se = r.at("series");
    const Json& t = se.at("t");
    for (std::size_t s = 0; s < t.size(); ++s) {
      series.row(cc + "," + num(t[s].get<double>()) + "," + num(value(se.at("energy_median")[s])) +
                 "," + num(value(se.at("energy_p90")[s])) + "," +
                 num(value(se.at("model_energy_median")[s])) + "," +
                 num(value(se.at("state_median")[s])));
    }
    const Json& p = r.at("paths");
    for (std::size_t b = 0; b < p.size(); ++b) {
      for (std::size_t s = 0; s < t.size(); ++s) {
        std::string row = cc + "," + std::to_string(b) + "," + num(t[s].get<double>());
        for (const Json& q : p[b][s]) row += "," + num(value(q));
        paths.row(row);
      }
    }
  }
  // The ground truth of the same trajectories at the same (subsampled) times.
  if (!results.empty()) {
    const Json& t = results.front().at("series").at("t");
    const std::size_t S = truth.times.size(), d = 2 * static_cast<std::size_t>(n);
    const std::size_t P = results.front().at("paths").size();
    const Cell truth_cell{"truth", Integrator::dopri5, config.truth_tolerance};
    for (std::size_t b = 0; b < P; ++b) {
      std::size_t s = 0;
      for (const Json& tj : t) {
        const double time = tj.get<double>();
        while (s < S && truth.times[s] < time) ++s;
        if (s == S) break;  // not an output time (sweep.cpp checks the cells' times)
        std::string row = cell_columns(truth_cell) + "," + std::to_string(b) + "," + num(time);
        for (int i = 0; i < n; ++i) row += "," + num(truth.states[(b * S + s) * d + static_cast<std::size_t>(i)]);
        paths.row(row);
      }
    }
  }
  return {summary.write(dir, "summary.csv"), trajectories.write(dir, "trajectories.csv"),
          series.write(dir, "series.csv"), paths.write(dir, "paths.csv"),
          timing.write(dir, "timing.csv")};
}

}  // namespace lnn::sweep
