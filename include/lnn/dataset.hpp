// Datasets: states with their exact accelerations and energies, from a
// derivative set (random states) or a trajectory set (integrated initial
// conditions sampled in time). Stored in HDF5 in one layout
// (docs/file-formats.md), readable with h5py.
//
// Shapes (row-major, float64; P = points):
//   derivatives:   P = samples;                 states P × 2n, …
//   trajectories:  P = trajectories × times;    states trajectories × times × 2n, …
//   states         P × 2n   [q, q̇] as observed (with noise when noise > 0)
//   states_true    P × 2n   the exact states; empty when there is no noise
//   accelerations  P × n    exact q̈ at the exact states
//   energies       P        exact energy at the exact states
//   model_energies P        rollouts of a learned model (lnn rollout) only: the
//                           model's own energy q̇·∂L/∂q̇ − L at each state; else empty
//   tau            P × n    generalized forces applied; empty when the system has no
//                           actuated coordinate (required when it has one)
//   times          S        sample times (trajectories only)
//   status         derivatives: P (SolveStatus);  trajectories: per trajectory (TrajectoryStatus)
//   accepted, rejected   per trajectory, integrator steps (trajectories only)
#pragma once
#include "lnn/visibility.hpp"
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lnn LNN_CXX_API {

enum class DatasetKind : std::uint8_t { derivatives, trajectories };
std::string_view to_string(DatasetKind k);
DatasetKind parse_dataset_kind(std::string_view name);  // throws InvalidArgument

struct Dataset {
  DatasetKind kind = DatasetKind::derivatives;
  std::string system;  // catalogue name, e.g. "double_pendulum" (any name when user_system)
  // The system is the user's own, not the catalogue's (docs/file-formats.md,
  // attribute user_system): its name, parameters, angles and actuated flags
  // are taken as given, and energies may be empty (no true energy known).
  bool user_system = false;
  int n = 0;           // degrees of freedom
  // The system's parameters, in the catalogue's order.
  std::vector<std::pair<std::string, double>> parameters;
  std::vector<std::uint8_t> angles;    // n flags: coordinate is an angle
  std::vector<std::uint8_t> actuated;  // n flags: coordinate takes a force τ
  double potential_scale = 1.0;        // for normalized energy errors
  std::uint64_t seed = 0;
  // Generator settings as a JSON object (counts, ranges, integrator, tolerances,
  // noise, ...): kept verbatim so a file says how it was made.
  std::string generator = "{}";

  std::size_t trajectories = 0;  // 0 for a derivative set
  std::vector<double> times;
  std::vector<double> states;
  std::vector<double> states_true;
  std::vector<double> accelerations;
  std::vector<double> energies;
  std::vector<double> model_energies;
  std::vector<double> tau;
  std::vector<std::int8_t> status;
  std::vector<std::int64_t> accepted;
  std::vector<std::int64_t> rejected;

  // Number of points P (rows of states).
  std::size_t points() const { return n > 0 ? states.size() / (2 * static_cast<std::size_t>(n)) : 0; }
  // Throws InvalidArgument when the shapes above do not agree, or when the
  // data would mislead a reader (docs/file-formats.md, "What a reader
  // checks"): a system not in the catalogue, a parameter it refuses
  // (make_system), n, angles or actuated other than the system's (none of
  // these for a user_system, whose flags must only be n 0/1 flags); no tau for a
  // system with an actuated coordinate; times not finite or not ascending;
  // a non-finite value at a point whose status is ok (failed points may hold NaN).
  void validate() const;
};

// A trajectory set whose integration went well may still hold a non-finite
// value at a sample (q̈ or E of a state the integrator only interpolated):
// each such trajectory of status ok gets status 2 (non_finite), as if the
// integrator had met the value, since validate() allows NaN only at failed
// points. Returns how many; a derivative set is left as it is (0).
std::size_t mark_non_finite_trajectories(Dataset& data);

// Writes atomically (temporary file in the same directory, fsync, rename);
// an existing file at path is untouched until the rename. The file is built
// in memory first, which briefly takes about twice the data's size. It holds
// no time stamps: the same Dataset gives byte-identical files. A Dataset of an
// actuated system without tau (an unforced rollout) is written with tau = 0;
// validate() holds otherwise. Throws FileError naming the file,
// InvalidArgument for an inconsistent Dataset.
void save_dataset(const Dataset& data, const std::string& path);

// Reads and validates a file written by save_dataset. Throws FileError naming
// the file and the problem (missing, not HDF5, not an lnn dataset, a newer
// format version, a missing or misshapen array, anything validate() refuses).
// A rollout file (generator tool "lnn rollout" or "lnn sweep") of an actuated
// system without tau, as lnn wrote them before, is read with tau = 0.
Dataset load_dataset(const std::string& path);

}  // namespace lnn
