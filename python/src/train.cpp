// Training and evaluation from Python (include/lnn/train.hpp): lnn.TrainConfig
// (lnn::TrainConfig, built from its JSON by python/lnn/training.py, which
// takes a dict, keyword arguments or the TOML file of `lnn train --config`),
// lnn.TrainingRun over lnn::TrainingRun with a per-step callback, and
// lnn.evaluate against a catalogue system or a dataset (evaluate_dataset).
// The GIL is released while the library works and taken back only to call
// the callback (docs/python.md, "Training").
#include <nanobind/stl/function.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "lnn/dataset.hpp"
#include "lnn/errors.hpp"
#include "lnn/train.hpp"

namespace lnn::python {
namespace {

using namespace nb::literals;
using Intervals = std::vector<std::pair<double, double>>;

// The configuration `json` (TrainConfig::from_json's fields) made complete
// as `lnn train` makes it (complete_train_config).
TrainConfig complete_config(const std::string& json, bool auto_embedding, bool n_given) {
  TrainConfig c = TrainConfig::from_json(json);
  complete_train_config(c, auto_embedding, n_given);
  return c;
}

// A training run and the configuration it runs with.
struct PyTrainingRun {
  TrainingRun run;
  TrainConfig config;
};

// The per-step callback, called with the GIL held; an exception it raises
// leaves train() as nb::python_error and reaches the caller as itself.
TrainCallback callback_of(const std::optional<nb::callable>& callback) {
  if (!callback) return {};
  nb::callable f = *callback;
  return [f](const TrainProgress& p) {
    nb::gil_scoped_acquire acquire;
    f(p);
  };
}

TrainResult run_training(PyTrainingRun& self, const std::optional<nb::callable>& callback) {
  const TrainCallback cb = callback_of(callback);
  nb::gil_scoped_release release;
  return self.run.run(self.config, cb);
}

PyTrainingRun resume(const std::string& checkpoint, std::optional<std::int64_t> steps) {
  TrainingRun run = TrainingRun::resume(checkpoint);
  TrainConfig config = TrainConfig::from_json(run.state().config);
  config.checkpoint = checkpoint;
  if (steps && *steps != config.steps) {
    if (*steps < run.state().step) {
      throw InvalidArgument("steps " + std::to_string(*steps) + " is below the checkpoint's step " +
                            std::to_string(run.state().step) + "; a run cannot be shortened");
    }
    config.steps = *steps;  // as lnn train --resume --steps N: the schedule runs to N
  }
  return PyTrainingRun{std::move(run), std::move(config)};
}

IntegrateOptions integrate_options(IntegrateOptions o, const std::string& integrator, double dt,
                                   double rtol, double atol) {
  o.method = parse_integrator(integrator);
  o.dt = dt;
  o.rtol = rtol;
  o.atol = atol;
  return o;
}

nb::dict summary_dict(const Summary& s) {
  nb::dict d;
  d["mean"] = s.mean;
  d["median"] = s.median;
  d["p90"] = s.p90;
  d["max"] = s.max;
  d["count"] = s.count;
  return d;
}

}  // namespace

void bind_train(nb::module_& m) {
  nb::class_<TrainConfig>(m, "TrainConfig",
                          "lnn::TrainConfig, the configuration of `lnn train`; build it with "
                          "lnn.train_config(...) (docs/python.md, \"Training\").")
      .def_static("_complete", &complete_config, "json"_a, "auto_embedding"_a, "n_given"_a)
      .def_static("_default_json", [] { return TrainConfig{}.to_json(); })
      .def("to_json", &TrainConfig::to_json,
           "Every field but checkpoint as JSON (what a checkpoint stores).")
      .def_rw("checkpoint", &TrainConfig::checkpoint, "the checkpoint file; '' = none")
      .def_rw("steps", &TrainConfig::steps)
      .def_prop_ro("spec", [](const TrainConfig& c) { return c.spec; })
      .def("__repr__", [](const TrainConfig& c) { return "TrainConfig(" + c.to_json() + ")"; });

  nb::class_<TrainDiagnostics>(m, "TrainDiagnostics",
                               "lnn::TrainDiagnostics (TrainConfig diagnostics = true).")
      .def_ro("posdef", &TrainDiagnostics::posdef)
      .def_ro("negdef", &TrainDiagnostics::negdef)
      .def_ro("indefinite", &TrainDiagnostics::indefinite)
      .def_ro("eig_min", &TrainDiagnostics::eig_min)
      .def_ro("eig_max", &TrainDiagnostics::eig_max)
      .def_ro("cond", &TrainDiagnostics::cond)
      .def_ro("qdd_abs", &TrainDiagnostics::qdd_abs)
      .def_ro("target_abs", &TrainDiagnostics::target_abs)
      .def_ro("rhs_abs", &TrainDiagnostics::rhs_abs)
      .def_ro("qdd_max", &TrainDiagnostics::qdd_max)
      .def_ro("lagrangian_abs", &TrainDiagnostics::lagrangian_abs)
      .def_ro("adam_step_rms", &TrainDiagnostics::adam_step_rms)
      .def_ro("layer_grad_norm", &TrainDiagnostics::layer_grad_norm);

  nb::class_<TrainProgress>(m, "TrainProgress",
                            "What the per-step callback receives (lnn::TrainProgress).")
      .def_ro("step", &TrainProgress::step, "steps done (skipped ones included)")
      .def_ro("total", &TrainProgress::total)
      .def_ro("lr", &TrainProgress::lr)
      .def_ro("loss", &TrainProgress::loss, "of the last good step (data + penalty)")
      .def_ro("penalty", &TrainProgress::penalty)
      .def_ro("grad_norm", &TrainProgress::grad_norm)
      .def_prop_ro(
          "validation",
          [](const TrainProgress& p) -> std::optional<double> {
            if (p.validated && p.val_loss >= 0) return p.val_loss;
            return std::nullopt;
          },
          "the validation L1 computed at this step, else None")
      .def_ro("val_loss", &TrainProgress::val_loss, "the latest validation L1; < 0: none yet")
      .def_ro("skipped", &TrainProgress::skipped)
      .def_ro("failed_solves", &TrainProgress::failed_solves)
      .def_ro("samples_per_second", &TrainProgress::samples_per_second)
      .def_ro("seconds", &TrainProgress::seconds)
      .def_ro("validated", &TrainProgress::validated)
      .def_ro("checkpointed", &TrainProgress::checkpointed)
      .def_prop_ro("diagnostics",
                   [](const TrainProgress& p) -> std::optional<TrainDiagnostics> {
                     if (!p.diagnosed) return std::nullopt;
                     return p.diagnostics;
                   })
      .def("__repr__", [](const TrainProgress& p) {
        return "TrainProgress(step=" + std::to_string(p.step) + ", loss=" +
               std::to_string(p.loss) + ")";
      });

  nb::class_<TrainResult>(m, "TrainResult", "lnn::TrainResult")
      .def_ro("steps", &TrainResult::steps)
      .def_ro("skipped", &TrainResult::skipped)
      .def_ro("loss", &TrainResult::loss, "of the last good step; NaN when none succeeded")
      .def_ro("val_loss", &TrainResult::val_loss, "the latest validation L1; NaN when none ran")
      .def_ro("seconds", &TrainResult::seconds)
      .def("__repr__", [](const TrainResult& r) {
        return "TrainResult(steps=" + std::to_string(r.steps) + ", loss=" + std::to_string(r.loss) +
               ", val_loss=" + std::to_string(r.val_loss) + ")";
      });

  nb::class_<PyTrainingRun>(m, "TrainingRun",
                            "A model, its optimizer and its progress (lnn::TrainingRun).")
      .def(
          "__init__",
          [](PyTrainingRun* self, const TrainConfig& config, const std::string& precision) {
            new (self) PyTrainingRun{TrainingRun(config, parse_precision(precision)), config};
          },
          "config"_a, "precision"_a = "f32",
          "A fresh run of `config` (lnn.train_config): the model of its spec initialised by its "
          "init and seed, Adam with its optimizer settings.")
      .def_static("resume", &resume, "checkpoint"_a, "steps"_a = nb::none(),
                  "The run a checkpoint holds, with the configuration it stores; `steps` extends "
                  "it (lnn train --resume --steps).")
      .def("run", &run_training, "callback"_a = nb::none(),
           "Trains to config.steps, calling callback(progress: TrainProgress) after every step "
           "(an exception it raises stops the run and propagates). Writes the checkpoint as "
           "config.checkpoint and checkpoint_every say.")
      .def_prop_ro("model", [](const PyTrainingRun& r) { return r.run.model(); },
                   "a copy of the model as trained so far")
      .def_prop_ro("config", [](const PyTrainingRun& r) { return r.config; })
      .def_prop_ro("step", [](const PyTrainingRun& r) { return r.run.state().step; })
      .def_prop_ro("precision",
                   [](const PyTrainingRun& r) { return std::string(to_string(r.run.precision())); });

  m.def(
      "_evaluate_system",
      [](const AnyModel& model, nb::handle system, std::size_t trajectories, double t_end,
         double rate, const std::optional<Intervals>& box_q,
         const std::optional<Intervals>& box_qdot, const std::string& integrator, double dt,
         double rtol, double atol, std::size_t held_out, std::uint64_t seed,
         const std::string& solver) {
        std::unique_ptr<System> holder;
        const System& sys = system_arg(system, holder);
        EvaluateOptions o;
        o.trajectories = trajectories;
        o.t_end = t_end;
        o.rate = rate;
        if (box_q) o.box.q = *box_q;
        if (box_qdot) o.box.qdot = *box_qdot;
        o.integrate = integrate_options(o.integrate, integrator, dt, rtol, atol);
        o.held_out = held_out;
        o.seed = seed;
        o.solve.method = parse_solve_method(solver);
        EvaluateResult r;
        {
          nb::gil_scoped_release release;
          r = evaluate(model, sys, o);
        }
        nb::dict d;
        d["energy_error"] = summary_dict(r.energy_error);
        d["rollouts_failed"] = r.rollouts_failed;
        d["rollout_failures"] = r.rollout_failures;
        d["acc_l1"] = r.acc_l1;
        d["acc_failed"] = r.acc_failed;
        d["acc_failures"] = r.acc_failures;
        d["box_q"] = r.box.q;
        d["box_qdot"] = r.box.qdot;
        d["seconds"] = r.seconds;
        return d;
      },
      "model"_a, "system"_a, "trajectories"_a, "t_end"_a, "rate"_a, "box_q"_a.none(),
      "box_qdot"_a.none(), "integrator"_a, "dt"_a, "rtol"_a, "atol"_a, "held_out"_a, "seed"_a,
      "solver"_a);

  m.def(
      "_evaluate_dataset",
      [](const AnyModel& model, const Dataset& data, std::size_t trajectories,
         const std::string& integrator, double dt, double rtol, double atol,
         const std::string& solver) {
        DatasetEvaluateOptions o;
        o.trajectories = trajectories;
        o.integrate = integrate_options(o.integrate, integrator, dt, rtol, atol);
        o.solve.method = parse_solve_method(solver);
        DatasetEvaluateResult r;
        {
          nb::gil_scoped_release release;
          r = evaluate_dataset(model, data, o);
        }
        nb::dict d;
        d["acc_l1"] = r.acc_l1;
        d["acc_points"] = r.acc_points;
        d["acc_failed"] = r.acc_failed;
        d["acc_failures"] = r.acc_failures;
        d["position_error"] = summary_dict(r.position_error);
        d["energy_drift"] = summary_dict(r.energy_drift);
        d["rollouts_failed"] = r.rollouts_failed;
        d["rollout_failures"] = r.rollout_failures;
        d["trajectories_skipped"] = r.trajectories_skipped;
        d["seconds"] = r.seconds;
        return d;
      },
      "model"_a, "dataset"_a, "trajectories"_a, "integrator"_a, "dt"_a, "rtol"_a, "atol"_a,
      "solver"_a);
}

}  // namespace lnn::python
