// The catalogue of analytic mechanical systems: exact Lagrangians whose
// gradients, Hessians and Euler–Lagrange terms come from hyper-dual numbers
// (no finite differences), solved for q̈ by the same per-sample solver as the
// learned model. Ground truth for datasets and for judging learned models.
//
// Shapes as in engine.hpp (row-major, sample-major, B samples, double):
//   states B × 2n [q, q̇];  tau B × n (or empty);  acc, f, Cv B × n;
//   M B × n × n;  H B × 2n × 2n;  grad B × 2n;  L, E B.
#pragma once
#include "lnn/visibility.hpp"
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lnn/engine.hpp"
#include "lnn/solve.hpp"

namespace lnn LNN_CXX_API {

// A box of states that replaces a system's default sampling: q_i ~ U[lo, hi) and
// q̇_i ~ U[lo, hi). Each list is empty (system default for both q and q̇),
// one interval for every coordinate, or n intervals. A box for only q or
// only q̇ is refused: the default sampling draws them together.
struct StateBox {
  std::vector<std::pair<double, double>> q;
  std::vector<std::pair<double, double>> qdot;
  bool empty() const { return q.empty() && qdot.empty(); }
};

struct SystemParameter {
  std::string name;
  double value = 0.0;
  std::string description;  // meaning, unit and constraint, e.g. "mass of bob 1 (> 0)"
};

// What describes a system besides its equations.
struct SystemInfo {
  std::string name;         // catalogue name, e.g. "double_pendulum"
  std::string description;  // one line
  int dof = 0;              // n
  std::vector<SystemParameter> parameters;     // in catalogue order
  std::vector<std::string> coordinates;        // n names, e.g. "theta1"
  std::vector<std::uint8_t> angles;            // n flags: periodic coordinate
  std::vector<std::uint8_t> actuated;          // n flags: takes a generalized force τ
  double potential_scale = 1.0;  // normalizes energy errors (29.4 for the reference double pendulum)
  double force_max = 0.0;        // default amplitude of generated forces (0: none actuated)
  std::string sampling;          // the default state ranges, in words
  // Where evaluations (`lnn evaluate`, sweeps) draw their initial conditions
  // unless told otherwise; empty: the default sampling. Only the double
  // pendulum has its own: the reference study's q ~ U[0, 2π)², q̇ ~ U[0, 0.1)²
  // (slow starts), so that its protocol is the default (README, "Training and evaluation").
  StateBox evaluation;
};

class System {
 public:
  virtual ~System() = default;
  const SystemInfo& info() const { return info_; }
  const std::string& name() const { return info_.name; }
  int dof() const { return info_.dof; }
  // The value of a parameter; throws InvalidArgument for an unknown name.
  double parameter(std::string_view name) const;

  virtual void lagrangian(std::span<const double> states, std::span<double> L) const = 0;
  virtual void gradient(std::span<const double> states, std::span<double> L,
                        std::span<double> grad) const = 0;
  // M = ∂²L/∂q̇∂q̇, Cv = (∂²L/∂q̇∂q) q̇, f = ∂L/∂q; any may be empty to skip.
  virtual void euler_lagrange_terms(std::span<const double> states, std::span<double> M,
                                    std::span<double> Cv, std::span<double> f) const = 0;
  virtual void hessian(std::span<const double> states, std::span<double> H) const = 0;
  // E = T + V, written independently of L (it equals q̇·∂L/∂q̇ − L).
  virtual void energy(std::span<const double> states, std::span<double> E) const = 0;
  // q̈ = M⁻¹(f − C q̇ + τ) with the same solver and per-sample status as
  // Engine::accelerations (failed samples get NaN and are counted).
  virtual SolveReport accelerations(std::span<const double> states, std::span<const double> tau,
                                    std::span<double> acc, std::span<SolveStatus> status = {},
                                    const SolveOptions& solve = {}) const = 0;
  // States first … first + B − 1 of the system's default sampling for `seed`
  // (counter-based: any slice of the sequence can be drawn on its own, and the
  // same seed gives the same states on every machine).
  virtual void sample_states(std::uint64_t seed, std::uint64_t first,
                             std::span<double> states) const = 0;

 protected:
  explicit System(SystemInfo info) : info_(std::move(info)) {}
  // Throws InvalidArgument unless the shapes fit B = states.size() / 2n.
  std::size_t batch(std::span<const double> states) const;

 private:
  SystemInfo info_;
};

// The catalogue's names, in the order `lnn systems` lists them.
std::vector<std::string> system_names();

// A system with its default parameters, changed by `parameters` (name → value).
// Throws InvalidArgument for an unknown system (listing the known ones), an
// unknown parameter name (listing the system's) or a bad value (negative
// mass, zero length, N < 1, …), saying which and why.
std::unique_ptr<System> make_system(std::string_view name,
                                    const std::map<std::string, double>& parameters = {});

}  // namespace lnn
