// Rollouts and sweeps from Python (include/lnn/rollout.hpp, include/lnn/sweep.hpp):
// lnn.rollout integrates a model's learned dynamics or a catalogue system's
// exact ones from initial states and returns times, states, energies and
// statuses as arrays; lnn.SweepConfig and lnn.run_sweep run an energy-drift
// sweep into a directory with a progress callback (docs/python.md).
#include <nanobind/stl/function.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "lnn/any_engine.hpp"
#include "lnn/errors.hpp"
#include "lnn/rollout.hpp"
#include "lnn/sweep.hpp"

namespace lnn::python {
namespace {

using namespace nb::literals;
using Intervals = std::vector<std::pair<double, double>>;

// What lnn.rollout returns.
struct Rollout {
  Values times;      // (S,)
  Values states;     // (B, S, 2n)
  Values energies;   // (B, S): the dynamics' own energy
  Statuses status;   // (B,) int8 TrajectoryStatus
  Values t_reached;  // (B,)
};

Rollout run_rollout(nb::handle dynamics, ArrayArg states_obj, ArrayArg times_obj,
                    std::optional<double> t0, const std::string& integrator, double dt,
                    double rtol, double atol, double newton_tol, int newton_max_iterations,
                    std::int64_t max_steps, const std::string& precision,
                    const std::string& solver) {
  // The dynamics: a model through an engine (in float64 unless `precision`
  // says otherwise, as lnn rollout evaluates a float32 file in double), or a
  // catalogue system's exact Lagrangian.
  std::unique_ptr<AnyEngine> engine;
  std::unique_ptr<System> holder;
  std::unique_ptr<Dynamics> dyn;
  SolveOptions solve;
  solve.method = parse_solve_method(solver);
  AnyModel* model = nullptr;
  if (nb::try_cast(dynamics, model) && model != nullptr) {
    std::optional<Precision> p;
    if (precision == "native") {
      p = std::nullopt;
    } else {
      p = parse_precision(precision);
    }
    EngineOptions eo;
    eo.solve = solve;
    engine = std::make_unique<AnyEngine>(*model, eo, p);
    dyn = learned_dynamics(*engine);
  } else if (nb::isinstance<nb::str>(dynamics) || nb::isinstance<PySystem>(dynamics)) {
    dyn = analytic_dynamics(system_arg(dynamics, holder), solve);
  } else {
    throw nb::type_error(("rollout: dynamics must be an lnn.Model, an lnn.System or a catalogue "
                          "name, got " +
                          std::string(nb::inst_name(dynamics).c_str()))
                             .c_str());
  }
  const Input states(states_obj, "states");
  if (states.dtype() != Dtype::f64) {
    throw nb::type_error("states has dtype float32; rollouts integrate in float64");
  }
  const int n = dyn->dof();
  const std::size_t B = require_states(states, n);
  const Input times(times_obj, "times");
  if (times.dtype() != Dtype::f64 || times.ndim() != 1 || times.shape(0) == 0) {
    throw nb::value_error("times must be a non-empty 1-D float64 array (S,) of output times");
  }
  const std::size_t S = times.shape(0), ud = 2 * static_cast<std::size_t>(n);
  IntegrateOptions o;
  o.method = parse_integrator(integrator);
  o.dt = dt;
  o.rtol = rtol;
  o.atol = atol;
  o.newton_tol = newton_tol;
  o.newton_max_iterations = newton_max_iterations;
  o.max_steps = max_steps;
  const double start = t0.value_or(times.span<double>()[0]);
  Output<double> out({B, S, ud});
  Output<double> E({B, S});
  Output<std::int8_t> status({B});
  Output<double> reached({B});
  Output<double> t_copy({S});
  {
    nb::gil_scoped_release release;
    const std::vector<TrajectoryReport> reports =
        rollout(*dyn, start, states.span<double>(), times.span<double>(), out.span(), o);
    dyn->energy(out.span(), E.span());
    for (std::size_t b = 0; b < B; ++b) {
      status.span()[b] = static_cast<std::int8_t>(reports[b].status);
      reached.span()[b] = reports[b].t_reached;
    }
    std::copy_n(times.span<double>().begin(), S, t_copy.span().begin());
  }
  return Rollout{{t_copy.release()}, {out.release()}, {E.release()}, {status.release()},
                 {reached.release()}};
}

SweepConfig make_sweep_config(const std::string& system,
                              const std::map<std::string, double>& parameters,
                              const std::vector<std::string>& models,
                              const std::vector<std::string>& integrators,
                              const std::vector<double>& dts, const std::vector<double>& tolerances,
                              const std::vector<double>& horizons, std::size_t trajectories,
                              const std::optional<Intervals>& box_q,
                              const std::optional<Intervals>& box_qdot, std::uint64_t seed,
                              double rate, double truth_tolerance, bool native_precision,
                              int newton_max_iterations, const std::string& dataset) {
  SweepConfig c;
  c.dataset = dataset;
  c.system = system;
  c.parameters = parameters;
  c.models = models;
  c.integrators.clear();
  for (const std::string& name : integrators) c.integrators.push_back(parse_integrator(name));
  c.dts = dts;
  c.tolerances = tolerances;
  c.horizons = horizons;
  c.trajectories = trajectories;
  if (box_q) c.box.q = *box_q;
  if (box_qdot) c.box.qdot = *box_qdot;
  c.seed = seed;
  c.rate = rate;
  c.truth_tolerance = truth_tolerance;
  c.native_precision = native_precision;
  c.newton_max_iterations = newton_max_iterations;
  c.validate();
  return c;
}

}  // namespace

void bind_rollout(nb::module_& m) {
  nb::class_<Rollout>(m, "Rollout", "What lnn.rollout returns.")
      .def_ro("times", &Rollout::times, "(S,) output times")
      .def_ro("states", &Rollout::states, "(B, S, 2n) [q, qdot] at the times")
      .def_ro("energies", &Rollout::energies,
              "(B, S) the dynamics' own energy: a model's q̇·∂L/∂q̇ − L, a system's T + V")
      .def_ro("status", &Rollout::status, "(B,) int8: 0 ok, else the integrator's failure")
      .def_ro("t_reached", &Rollout::t_reached, "(B,) the last time reached");

  m.def("rollout", &run_rollout, "dynamics"_a, "states"_a, "times"_a, nb::kw_only(),
        "t0"_a = nb::none(), "integrator"_a = "variational", "dt"_a = 0.01, "rtol"_a = 1e-10,
        "atol"_a = 1e-10, "newton_tol"_a = 0.0, "newton_max_iterations"_a = 20,
        "max_steps"_a = 100'000'000, "precision"_a = "f64", "solver"_a = "lu",
        "Integrates B trajectories from `states` (B, 2n) at t0 (default times[0]) and samples "
        "them at `times` (S,): a model's learned dynamics (evaluated in `precision`: f64, f32 "
        "or native, the model's) or a system's (an lnn.System or a catalogue name). "
        "integrator: variational (default), rk4 or dopri5 (rtol, atol). Unforced. Rows that "
        "failed hold NaN after t_reached; see status.");

  nb::class_<SweepConfig>(m, "SweepConfig", "lnn::SweepConfig (lnn sweep's grid).")
      .def(
          "__init__",
          [](SweepConfig* self, const std::string& system,
             const std::map<std::string, double>& parameters,
             const std::vector<std::string>& models, const std::vector<std::string>& integrators,
             const std::vector<double>& dts, const std::vector<double>& tolerances,
             const std::vector<double>& horizons, std::size_t trajectories,
             const std::optional<Intervals>& box_q, const std::optional<Intervals>& box_qdot,
             std::uint64_t seed, double rate, double truth_tolerance, bool native_precision,
             int newton_max_iterations, const std::optional<std::string>& dataset) {
            new (self) SweepConfig(make_sweep_config(
                system, parameters, models, integrators, dts, tolerances, horizons, trajectories,
                box_q, box_qdot, seed, rate, truth_tolerance, native_precision,
                newton_max_iterations, dataset.value_or("")));
          },
          nb::kw_only(), "system"_a = "double_pendulum",
          "parameters"_a = std::map<std::string, double>{},
          "models"_a = std::vector<std::string>{"analytic"},
          "integrators"_a = std::vector<std::string>{"rk4", "variational"},
          "dts"_a = std::vector<double>{0.01}, "tolerances"_a = std::vector<double>{1e-8},
          "horizons"_a = std::vector<double>{100.0}, "trajectories"_a = 40,
          "box_q"_a = nb::none(), "box_qdot"_a = nb::none(), "seed"_a = 1, "rate"_a = 10.0,
          "truth_tolerance"_a = 1e-10, "native_precision"_a = false,
          "newton_max_iterations"_a = 20, "dataset"_a = nb::none(),
          "The grid of lnn sweep (its defaults; models are files or 'analytic'); "
          "lnn.InvalidArgument names a bad field. dataset: a trajectory set file (times from 0) "
          "whose unforced trajectories are the initial conditions and the ground truth, for a "
          "system of your own (lnn sweep --dataset); system, box, seed, rate and "
          "truth_tolerance are then not used.")
      .def("to_json", &SweepConfig::to_json)
      .def("__repr__", [](const SweepConfig& c) { return "SweepConfig(" + c.to_json() + ")"; });

  nb::class_<SweepProgress>(m, "SweepProgress", "What run_sweep's callback receives.")
      .def_ro("cells_done", &SweepProgress::cells_done)
      .def_ro("cells_total", &SweepProgress::cells_total)
      .def_ro("cell", &SweepProgress::cell)
      .def_ro("cell_fraction", &SweepProgress::cell_fraction);

  nb::class_<SweepResult>(m, "SweepResult", "lnn::SweepResult")
      .def_ro("cells_total", &SweepResult::cells_total)
      .def_ro("cells_resumed", &SweepResult::cells_resumed)
      .def_ro("cells_computed", &SweepResult::cells_computed)
      .def_ro("cells_stale", &SweepResult::cells_stale)
      .def_ro("complete", &SweepResult::complete)
      .def_ro("seconds", &SweepResult::seconds)
      .def_ro("files", &SweepResult::files);

  m.def(
      "run_sweep",
      [](const SweepConfig& config, const std::string& dir,
         const std::optional<nb::callable>& callback, std::size_t max_cells) {
        SweepCallback cb;
        if (callback) {
          nb::callable f = *callback;
          cb = [f](const SweepProgress& p) {
            nb::gil_scoped_acquire acquire;
            f(p);
          };
        }
        nb::gil_scoped_release release;
        return run_sweep(config, dir, cb, max_cells);
      },
      "config"_a, "dir"_a, "callback"_a = nb::none(), "max_cells"_a = 0,
      "Runs the sweep into `dir` (lnn sweep --out dir; resumable: finished cells are kept), "
      "calling callback(progress: SweepProgress) as it goes; an exception it raises stops the "
      "sweep and propagates. Returns a SweepResult (files: the CSV tables written).");
}

}  // namespace lnn::python
