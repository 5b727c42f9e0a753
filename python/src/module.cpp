// The extension module lnn._lnn; python/lnn/__init__.py re-exports it
// (docs/python.md).
#include <nanobind/stl/string.h>

#include "bindings.hpp"
#include "lnn/info.hpp"

NB_MODULE(_lnn, m) {
  namespace nb = nanobind;
  m.doc() = "lnn: Lagrangian Neural Networks (the C++ library's bindings)";
  m.attr("__version__") = lnn::version();
  m.def("version", &lnn::version, "The library's version (CMake's project version).");
  m.def("blas_name", &lnn::blas_name, "The CPU BLAS the library was built with.");
  m.def("cpu_threads", &lnn::cpu_threads, "Threads the CPU backend uses.");
  m.def("cuda_compiled", &lnn::cuda_compiled, "Whether this build has the CUDA backend.");
  m.def("blas_better_kernels", &lnn::blas_better_kernels,
        "A faster OpenBLAS kernel set this CPU supports than the one chosen, or '' (set "
        "OPENBLAS_CORETYPE to it before Python starts).");
  lnn::python::bind_errors(m);
  lnn::python::bind_model_engine(m);
  lnn::python::bind_systems(m);
  lnn::python::bind_data(m);
  lnn::python::bind_train(m);
  lnn::python::bind_rollout(m);
}
