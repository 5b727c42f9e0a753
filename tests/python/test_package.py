"""The package itself: version, stubs, module-level functions."""
import importlib.metadata
import pathlib
import re

import lnn
from conftest import REPO


def test_version_is_the_cmake_project_version():
    text = (REPO / "CMakeLists.txt").read_text()
    version = re.search(r"project\(lnn VERSION ([0-9.]+)", text).group(1)
    assert lnn.__version__ == version
    assert lnn.version() == version
    assert importlib.metadata.version("lnn") == version


def test_stubs_and_marker_are_shipped():
    package = pathlib.Path(lnn.__file__).parent
    stub = package / "_lnn.pyi"
    assert stub.is_file() and (package / "py.typed").is_file()
    text = stub.read_text()
    for name in ("class Model", "class Engine", "class System", "def loss_gradient",
                 "states: numpy.typing.NDArray[numpy.floating]", "path: str | os.PathLike",
                 "-> tuple[numpy.typing.NDArray[numpy.floating], numpy.typing.NDArray[numpy.int8]]"):
        assert name in text


def test_build_information():
    assert isinstance(lnn.blas_name(), str) and lnn.blas_name()
    assert lnn.cpu_threads() >= 1
    assert isinstance(lnn.cuda_compiled(), bool)


def test_exception_hierarchy():
    assert issubclass(lnn.Error, RuntimeError)
    assert issubclass(lnn.InvalidArgument, lnn.Error) and issubclass(lnn.InvalidArgument, ValueError)
    assert issubclass(lnn.FileError, lnn.Error) and issubclass(lnn.FileError, OSError)
    assert issubclass(lnn.BackendError, lnn.Error)
    assert issubclass(lnn.OutOfMemory, lnn.BackendError) and issubclass(lnn.OutOfMemory, MemoryError)
