"""lnn: Lagrangian Neural Networks from Python (docs/python.md).

Thin bindings over the C++ library: ``Model`` (lnn::AnyModel), ``Engine``
(lnn::AnyEngine), the catalogue of analytic systems (``systems()``,
``System``) and lnn's exceptions (``Error`` and its subclasses).
"""
import os as _os

# lnn's own programs start with GOMP_SPINCOUNT=1000 (README, "Performance"):
# libgomp's default spin of 300,000 rounds at a barrier wastes the time
# slices of shared cores. libgomp reads it once, when it is loaded, which is
# here unless another module loaded it first. Set GOMP_SPINCOUNT or
# OMP_WAIT_POLICY yourself to choose otherwise.
if "GOMP_SPINCOUNT" not in _os.environ and "OMP_WAIT_POLICY" not in _os.environ:
    _os.environ["GOMP_SPINCOUNT"] = "1000"

from ._lnn import (  # noqa: E402
    BackendError,
    Engine,
    Error,
    FileError,
    InvalidArgument,
    LossResult,
    Model,
    ModelSpec,
    OutOfMemory,
    SolveReport,
    SolveStatus,
    System,
    __version__,
    blas_better_kernels,
    blas_name,
    cpu_threads,
    cuda_compiled,
    systems,
    version,
)

__all__ = [
    "BackendError",
    "Engine",
    "Error",
    "FileError",
    "InvalidArgument",
    "LossResult",
    "Model",
    "ModelSpec",
    "OutOfMemory",
    "SolveReport",
    "SolveStatus",
    "System",
    "__version__",
    "blas_better_kernels",
    "blas_name",
    "cpu_threads",
    "cuda_compiled",
    "systems",
    "version",
]
