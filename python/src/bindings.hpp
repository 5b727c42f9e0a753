// The parts of the _lnn module (docs/python.md): each adds its classes and
// functions to the module.
#pragma once
#include <nanobind/nanobind.h>

namespace lnn::python {
namespace nb = nanobind;

// lnn.Error and its subclasses; lnn's C++ exceptions become them.
void bind_errors(nb::module_& m);
// lnn.ModelSpec, lnn.Model (AnyModel), lnn.Engine (AnyEngine), SolveStatus, LossResult.
void bind_model_engine(nb::module_& m);
// lnn.systems(), lnn.System (the catalogue of analytic systems).
void bind_systems(nb::module_& m);

}  // namespace lnn::python
