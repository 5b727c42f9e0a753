// Datasets from the analytic systems: derivative sets (random states with
// their exact q̈ and energy, what the reference study trained on) and
// trajectory sets (initial conditions integrated in double and sampled in
// time). Every random number comes from the counter-based generator
// (core/random.hpp), so a seed gives the same dataset on every machine.
#pragma once
#include "lnn/visibility.hpp"
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lnn/dataset.hpp"
#include "lnn/integrate.hpp"
#include "lnn/systems.hpp"

namespace lnn LNN_CXX_API {

struct DerivativeSetOptions {
  std::size_t samples = 10000;
  std::uint64_t seed = 0;
  StateBox box;
  // Actuated coordinates get τ ~ U[−force_max, force_max); < 0: the system's default.
  double force_max = -1.0;
};

struct TrajectorySetOptions {
  std::size_t trajectories = 100;
  double t_end = 10.0;  // trajectories start at t = 0
  double rate = 10.0;   // samples per unit time: t_k = k / rate, k = 0 … ⌊t_end·rate⌋
  double noise = 0.0;   // standard deviation of Gaussian noise added to observed states
  std::uint64_t seed = 0;
  StateBox box;
  // Actuated coordinate k of trajectory b gets τ_k(t) = A sin(ω t + φ) with
  // A ~ U[−force_max, force_max), ω ~ U[0.5, 3), φ ~ U[0, 2π), drawn per
  // trajectory; < 0: the system's default.
  double force_max = -1.0;
  IntegrateOptions integrate;  // dopri5 at rtol = atol = 1e-10 by default
};

// Throws InvalidArgument for bad options (zero samples, t_end ≤ 0, rate ≤ 0,
// negative noise, a malformed box).
Dataset generate_derivatives(const System& system, const DerivativeSetOptions& options,
                             const ProgressFn& progress = {});
Dataset generate_trajectories(const System& system, const TrajectorySetOptions& options,
                              const ProgressFn& progress = {});

// A Dataset holding only what every dataset of `system` shares: kind, the
// system's name, n, parameters, angle and actuated flags, potential scale, seed.
Dataset start_dataset(const System& system, DatasetKind kind, std::uint64_t seed);

// The box evaluations draw initial conditions from: `requested` unless it is
// empty, else the system's own evaluation box (SystemInfo::evaluation), which
// is empty, the default sampling, for most systems. Throws InvalidArgument
// for a malformed box (a list that is neither 1 nor n intervals, only one of
// q and q̇, an interval that is not finite with lo <= hi).
StateBox evaluation_box(const System& system, const StateBox& requested = {});

// A box in words with the system's coordinate names, e.g.
// "theta1, theta2 ~ U[0, 6.28319), theta1dot, theta2dot ~ U[0, 0.1)", or
// "r ~ U[0.5, 1.5), theta ~ U[0, 6.28319), …" for per-coordinate intervals;
// the default sampling's description (SystemInfo::sampling) when empty.
std::string describe(const StateBox& box, const System& system);

// Draws B = states.size() / 2n states first … first + B − 1 from `box`
// (or the system's own sampling when the box is empty).
void sample_states(const System& system, const StateBox& box, std::uint64_t seed,
                   std::uint64_t first, std::span<double> states);

}  // namespace lnn
