// `lnn sweep`: energy-drift sweeps over models × integrators × step sizes ×
// horizons (include/lnn/sweep.hpp), with a progress bar, resumable, then the
// CSV tables, a short report and PNG plots (scripts/plot_sweep.py).
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "lnn/errors.hpp"
#include "lnn/sweep.hpp"

namespace lnn::cli {
namespace {
namespace fs = std::filesystem;

struct SweepOptions {
  std::string config;
  std::vector<std::string> models;
  bool no_analytic = false;
  std::string system;
  std::vector<std::string> params;
  std::string integrators = "rk4,variational";
  std::string dts = "0.05,0.02,0.01";
  std::string tolerances = "1e-6,1e-8";
  std::string horizons = "10,100";
  std::size_t trajectories = 40;
  std::uint64_t seed = 1;
  double rate = 10.0;
  std::string q_range, qdot_range;  // empty: the system's evaluation box
  double truth_tol = 1e-10;
  bool native_precision = false;
  int newton_max_iterations = 20;
  std::string out = "sweep";
  std::string dataset;  // a trajectory set as the ground truth (SweepConfig::dataset)
  std::size_t max_cells = 0;
  bool no_plots = false;
  bool quiet = false;
  bool unforced = false;
};

// Runs argv without a shell; returns its exit status (-1: could not start).
int spawn(const std::vector<std::string>& args, bool quiet_output) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (quiet_output) {
      std::FILE* null = std::freopen("/dev/null", "w", stderr);
      (void)null;
    }
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The plotting script: $LNN_PLOT_SWEEP, next to an installed program
// (../share/lnn) or in the source tree (../scripts) of a build directory.
std::string plot_script() {
  if (const char* env = std::getenv("LNN_PLOT_SWEEP")) return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  for (const fs::path& p : {exe.parent_path() / "../share/lnn/plot_sweep.py",
                            exe.parent_path() / "../scripts/plot_sweep.py",
                            exe.parent_path() / "../../scripts/plot_sweep.py"}) {
    if (fs::exists(p)) return fs::weakly_canonical(p).string();
  }
  return {};
}

// A Python with matplotlib: $LNN_PYTHON, /usr/bin/python3 (Debian's, where
// scripts/setup.sh installs python3-matplotlib), python3.
std::string plotting_python() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("LNN_PYTHON")) candidates.emplace_back(env);
  candidates.emplace_back("/usr/bin/python3");
  candidates.emplace_back("python3");
  for (const std::string& py : candidates) {
    if (spawn({py, "-c", "import matplotlib"}, true) == 0) return py;
  }
  return {};
}

void make_plots(const std::string& dir) {
  const std::string script = plot_script();
  const std::string python = script.empty() ? std::string() : plotting_python();
  if (script.empty() || python.empty()) {
    std::cerr << "lnn sweep: plots skipped: "
              << (script.empty() ? "plot_sweep.py not found (set LNN_PLOT_SWEEP)"
                                 : "no python3 with matplotlib (apt-get install python3-matplotlib)")
              << "; the CSV tables are complete\n";
    return;
  }
  std::cout.flush();  // the script's lines come after the report
  if (spawn({python, script, dir}, false) != 0) {
    throw Error("the plotting script failed: " + python + " " + script + " " + dir);
  }
}

// Fields of one CSV line (RFC 4180 quoting, as the sweep writes model paths).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        out.back() += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      out.emplace_back();
    } else {
      out.back() += ch;
    }
  }
  return out;
}

// The table's rows at the longest horizon, as a short report.
void print_report(const SweepConfig& c, const std::string& dir) {
  std::ifstream in(fs::path(dir) / "summary.csv");
  std::string header, line;
  std::getline(in, header);
  const std::vector<std::string> names = csv_fields(header);
  const auto col = [&](const char* name) {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return i;
    throw Error(std::string("summary.csv lacks column ") + name);
  };
  const std::size_t horizon = col("horizon"), energy = col("energy_max_median"),
                    model_energy = col("model_energy_max_median"), slope = col("energy_slope_median"),
                    state = col("state_mean_median"), failed = col("failed");
  const double H = *std::max_element(c.horizons.begin(), c.horizons.end());
  std::cout << format("  at t = %g (medians over %zu trajectories; energies / %s):\n", H,
                      c.trajectories, "potential scale");
  std::cout << format("  %-32s %-12s %-9s %12s %12s %14s %12s %7s\n", "model", "integrator", "step",
                      "max |dE|", "slope dE/dt", "max |dE_model|", "state err", "failed");
  while (std::getline(in, line)) {
    const std::vector<std::string> f = csv_fields(line);
    if (f.size() != names.size() || std::abs(std::stod(f[horizon]) - H) > 1e-9 * H) continue;
    const std::string step = f[2].empty() ? "tol " + f[3] : f[2];
    const auto g = [](const std::string& x) {
      return x.empty() ? std::string("n/a") : format("%.3g", std::stod(x));
    };
    std::cout << format("  %-32s %-12s %-9s %12s %12s %14s %12s %7s\n",
                        fs::path(f[0]).filename().string().c_str(), f[1].c_str(), step.c_str(),
                        g(f[energy]).c_str(), g(f[slope]).c_str(), g(f[model_energy]).c_str(),
                        g(f[state]).c_str(), f[failed].c_str());
  }
}

void run_sweep_command(const SweepOptions& o) {
  SweepConfig c;
  c.models.clear();
  for (const std::string& flag : o.models)
    for (const std::string& m : split_list(flag)) c.models.push_back(m);
  if (o.dataset.empty()) {
    const auto system = system_for(o.system, o.params, o.models.empty() ? "" : o.models.front());
    refuse_forced(*system, o.unforced, "lnn sweep");
    c.system = system->name();
    for (const auto& p : system->info().parameters) c.parameters[p.name] = p.value;
    if (!o.no_analytic && std::find(c.models.begin(), c.models.end(), "analytic") == c.models.end()) {
      c.models.push_back("analytic");
    }
    c.box = parse_box(o.q_range, o.qdot_range, *system);
  } else {
    // The set's trajectories are the truth; its unforced ones only (docs/sweeps.md).
    c.dataset = o.dataset;
  }
  c.integrators.clear();
  for (const std::string& name : split_list(o.integrators)) c.integrators.push_back(parse_integrator(name));
  c.dts = parse_double_list(o.dts, "--dt");
  c.tolerances = parse_double_list(o.tolerances, "--tolerances");
  c.horizons = parse_double_list(o.horizons, "--horizons");
  c.trajectories = o.trajectories;
  c.seed = o.seed;
  c.rate = o.rate;
  c.truth_tolerance = o.truth_tol;
  c.native_precision = o.native_precision;
  c.newton_max_iterations = o.newton_max_iterations;
  c.validate();

  std::cout << "lnn sweep: " << (c.dataset.empty() ? c.system : c.dataset) << ", " << c.models.size() << " model(s), "
            << c.integrators.size() << " integrator(s), " << c.trajectories
            << " trajectories, horizons " << o.horizons << " -> " << o.out << "\n";
  Progress bar("lnn sweep", o.quiet);
  const SweepCallback progress = [&](const SweepProgress& p) {
    const double total = static_cast<double>(std::max<std::size_t>(p.cells_total, 1));
    const double done = static_cast<double>(p.cells_done);
    if (p.cell == "ground truth") {  // before the first cell computed by this run
      bar.update(done / total, format("ground truth %.0f%%", 100 * p.cell_fraction));
    } else {
      bar.update((done + (p.cell_fraction < 1 ? p.cell_fraction : 0)) / total,
                 format("cell %zu/%zu %s", std::min(p.cells_done + 1, p.cells_total),
                        p.cells_total, p.cell.c_str()));
    }
  };
  const SweepResult r = run_sweep(c, o.out, progress, o.max_cells);
  bar.finish();
  std::cout << format("lnn sweep: %zu cells: %zu computed, %zu found finished, %s\n",
                      r.cells_total, r.cells_computed, r.cells_resumed,
                      format_duration(r.seconds).c_str());
  if (!r.complete) {
    std::cout << format("  stopped after %zu cells (--max-cells); run the same command again to go on\n",
                        r.cells_computed);
    return;
  }
  print_report(c, o.out);
  for (const std::string& f : r.files) std::cout << "  " << f << "\n";
  if (!o.no_plots) make_plots(o.out);
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App* sub = app.add_subcommand(
      "sweep", "Energy-drift sweep: models x integrators x step sizes x horizons, CSV and plots");
  sub->add_option("--config", o->config, "Read options from a TOML/INI file (keys = long option names)");
  sub->add_option("--model,-m", o->models,
                  "Model file(s) (repeatable or comma-separated); 'analytic' = the system itself");
  sub->add_flag("--no-analytic", o->no_analytic, "Leave out the analytic system as a baseline");
  sub->add_option("--system,-s", o->system, "System (default: the first model's, else double_pendulum)");
  sub->add_option("--param,-p", o->params, "System parameter NAME=VALUE (repeatable)");
  sub->add_option("--integrators", o->integrators, "rk4, dopri5, variational (comma-separated; default: the reference's rk4 against the variational)")
      ->capture_default_str();
  sub->add_option("--dt", o->dts, "Step sizes of rk4 and variational")->capture_default_str();
  sub->add_option("--tolerances", o->tolerances, "dopri5 tolerances (rtol = atol)")->capture_default_str();
  sub->add_option("--horizons", o->horizons, "Rollout lengths")->capture_default_str();
  sub->add_option("--trajectories", o->trajectories, "Initial conditions")->capture_default_str();
  sub->add_option("--seed", o->seed, "Seed of the initial conditions (1, as every judging command; 0 creates)")->capture_default_str();
  sub->add_option("--rate", o->rate, "Output samples per unit time")->capture_default_str();
  sub->add_option("--q-range", o->q_range,
                  "Initial q ~ U[LO, HI): LO,HI or one LO,HI per coordinate (default: the "
                  "system's evaluation box, `lnn systems`)");
  sub->add_option("--qdot-range", o->qdot_range, "Initial qdot ~ U[LO, HI), as --q-range");
  sub->add_option("--truth-tol", o->truth_tol, "dopri5 tolerance of the ground truth")->capture_default_str();
  sub->add_flag("--native-precision", o->native_precision,
                "Evaluate f32 models in float (default: in double, exact for float weights)");
  sub->add_option("--newton-max-iterations", o->newton_max_iterations,
                  "Variational integrator: Newton iterations per step")
      ->capture_default_str();
  CLI::Option* dataset = sub->add_option(
      "--dataset", o->dataset,
      "A trajectory set (times from 0) as initial conditions and ground truth, e.g. of a system of "
      "your own: its first --trajectories unforced ones of status ok; no analytic baseline");
  for (const char* name : {"--system", "--param", "--q-range", "--qdot-range", "--seed", "--rate", "--truth-tol", "--no-analytic"}) {
    dataset->excludes(sub->get_option(name));
  }
  sub->add_option("--out,-o", o->out, "Output directory (resumes the sweep found there)")
      ->capture_default_str();
  sub->add_option("--max-cells", o->max_cells, "Compute at most this many cells, then stop (0 = all)")
      ->capture_default_str();
  sub->add_flag("--no-plots", o->no_plots, "Only the CSV tables");
  sub->add_flag("--unforced", o->unforced, "Roll out a forced system with tau = 0 (forced rollouts are not supported yet)");
  sub->add_flag("--quiet,-q", o->quiet, "No progress display");
  sub->callback([o, sub] {
    if (!o->config.empty()) apply_config_file(*sub, o->config);
    run_sweep_command(*o);
  });
}

}  // namespace lnn::cli
