// The parts of the _lnn module (docs/python.md): each adds its classes and
// functions to the module.
#pragma once
#include <nanobind/nanobind.h>

#include <memory>
#include <string>

#include "lnn/systems.hpp"

namespace lnn::python {
namespace nb = nanobind;

// lnn.Error and its subclasses; lnn's C++ exceptions become them.
void bind_errors(nb::module_& m);
// lnn.ModelSpec, lnn.Model (AnyModel), lnn.Engine (AnyEngine), SolveStatus, LossResult.
void bind_model_engine(nb::module_& m);
// lnn.systems(), lnn.System (the catalogue of analytic systems).
void bind_systems(nb::module_& m);
// lnn.Dataset, generate_derivatives, generate_trajectories (lnn/dataset.hpp, lnn/generate.hpp).
void bind_data(nb::module_& m);
// lnn.TrainConfig, TrainingRun, evaluate (lnn/train.hpp).
void bind_train(nb::module_& m);
// lnn.rollout, SweepConfig, run_sweep (lnn/rollout.hpp, lnn/sweep.hpp).
void bind_rollout(nb::module_& m);

// An lnn.System: a catalogue system (systems.cpp).
struct PySystem {
  std::unique_ptr<System> system;
};

// The system an argument names: an lnn.System (borrowed) or a catalogue
// name (made into `holder`). TypeError for anything else.
const System& system_arg(nb::handle arg, std::unique_ptr<System>& holder);

}  // namespace lnn::python
