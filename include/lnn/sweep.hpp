// Energy-drift sweeps: a grid of models × integrators × step sizes ×
// horizons over a set of initial conditions, judged against the analytic
// system's ground truth. Each cell (model, integrator, step) is rolled out
// once to the longest horizon; shorter horizons are prefixes of it. A cell's
// results go to their own file as soon as it finishes (atomically), so an
// interrupted sweep resumes without recomputing finished cells, and the
// CSV tables are assembled from those files (docs/sweeps.md).
#pragma once
#include "lnn/visibility.hpp"
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lnn/generate.hpp"
#include "lnn/integrate.hpp"

namespace lnn LNN_CXX_API {

struct SweepConfig {
  std::string system = "double_pendulum";
  std::map<std::string, double> parameters;
  // Model files, or "analytic" for the system's own Lagrangian. A model
  // must have the system's n.
  std::vector<std::string> models{"analytic"};
  std::vector<Integrator> integrators{Integrator::rk4, Integrator::variational};
  std::vector<double> dts{0.01};          // steps of rk4 and variational
  std::vector<double> tolerances{1e-8};   // dopri5: rtol = atol
  std::vector<double> horizons{100.0};    // rollout lengths from t = 0
  std::size_t trajectories = 40;
  // Initial conditions; empty: the system's evaluation box (SystemInfo::evaluation;
  // the double pendulum's is the reference evaluation's), which sweep.json records.
  StateBox box;
  std::uint64_t seed = 1;                 // of the initial conditions
  double rate = 10.0;                     // output samples per unit time
  double truth_tolerance = 1e-10;         // dopri5 rtol = atol of the ground truth
  // Learned models are evaluated in double (float weights are exact in
  // double, and the variational integrator's Newton iteration needs the
  // precision); true evaluates a float model in float.
  bool native_precision = false;
  int newton_max_iterations = 20;
  // A trajectory set file (lnn/dataset.hpp) whose times start at 0: the
  // first `trajectories` of its trajectories of status ok that are unforced
  // (τ = 0) give the initial conditions and, over its times, the ground truth
  // (docs/sweeps.md, "A dataset as the ground truth"). For a system of your
  // own (Dataset::user_system), which has no System to integrate or take
  // energies of: the energy columns are then NaN (empty), the model's energy
  // drift is measured with α = 1 unless the set has energies, and "analytic"
  // is refused. system and parameters are taken from the set (for
  // sweep.json and the plots); box, seed, rate and truth_tolerance are not
  // used. Empty: a catalogue system's sweep, as before.
  std::string dataset;

  // Throws InvalidArgument naming the first bad field.
  void validate() const;
  // The canonical JSON of every field (what sweep.json holds).
  std::string to_json() const;
};

struct SweepProgress {
  std::size_t cells_done = 0, cells_total = 0;
  std::string cell;        // the cell being computed, e.g. "model.safetensors rk4 dt=0.01"
  double cell_fraction = 0;  // of that cell's rollout
};
using SweepCallback = std::function<void(const SweepProgress&)>;

struct SweepResult {
  std::size_t cells_total = 0;
  std::size_t cells_resumed = 0;   // found finished in the directory
  std::size_t cells_computed = 0;  // computed by this call
  // Of those, cells found finished but for another content of their model
  // file or another configuration (a replaced model, a deleted sweep.json),
  // so computed again.
  std::size_t cells_stale = 0;
  bool complete = false;           // every cell is finished and the tables are written
  double seconds = 0;
  std::vector<std::string> files;  // the tables written (complete only)
};

// Runs the sweep into directory `dir` (created if missing). If dir holds a
// sweep.json of another configuration, throws Error (use another directory).
// Finished cells found in dir/cells are reused when they were computed with
// the same configuration and the same model file contents (a content hash
// kept in each cell and in sweep.json); other ones are computed again. A
// malformed cell file is a FileError naming it. max_cells > 0 stops after
// computing that many cells (the sweep is then incomplete; call again to go
// on). When complete, writes summary.csv (one row per model × integrator ×
// step × horizon, aggregated over trajectories), trajectories.csv (one row
// per cell × horizon × trajectory), series.csv (the error against time),
// paths.csv (predicted and true q(t) of the first trajectories) and
// timing.csv (wall time per cell; the only file that differs between runs).
SweepResult run_sweep(const SweepConfig& config, const std::string& dir,
                      const SweepCallback& progress = {}, std::size_t max_cells = 0);

}  // namespace lnn
