"""lnn: Lagrangian Neural Networks from Python (docs/python.md).

Thin bindings over the C++ library: ``Model`` (lnn::AnyModel), ``Engine``
(lnn::AnyEngine), the catalogue of analytic systems (``systems()``,
``System``), datasets (``Dataset``, ``generate_derivatives``,
``generate_trajectories``), training (``train``, ``train_config``,
``TrainingRun``), ``evaluate``, ``rollout``, sweeps (``SweepConfig``,
``run_sweep``) and lnn's exceptions (``Error`` and its subclasses).
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
    Dataset,
    Rollout,
    SweepConfig,
    SweepProgress,
    SweepResult,
    TrainConfig,
    TrainDiagnostics,
    TrainingRun,
    TrainProgress,
    TrainResult,
    generate_derivatives,
    generate_trajectories,
    rollout,
    run_sweep,
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
from .training import evaluate, train, train_config  # noqa: E402

__all__ = [
    "BackendError",
    "Dataset",
    "Rollout",
    "SweepConfig",
    "SweepProgress",
    "SweepResult",
    "TrainConfig",
    "TrainDiagnostics",
    "TrainingRun",
    "TrainProgress",
    "TrainResult",
    "evaluate",
    "generate_derivatives",
    "generate_trajectories",
    "rollout",
    "run_sweep",
    "train",
    "train_config",
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
