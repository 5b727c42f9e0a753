// lnn's exceptions as Python exceptions with the same messages:
//   lnn.Error(RuntimeError)           lnn::Error
//   lnn.InvalidArgument(Error, ValueError)   lnn::InvalidArgument
//   lnn.FileError(Error, OSError)     lnn::FileError (.path: the file)
//   lnn.BackendError(Error)           lnn::BackendError
//   lnn.OutOfMemory(BackendError, MemoryError)   lnn::OutOfMemory
#include "lnn/errors.hpp"

#include <Python.h>

#include "bindings.hpp"

namespace lnn::python {
namespace {

PyObject* g_error = nullptr;
PyObject* g_invalid_argument = nullptr;
PyObject* g_file_error = nullptr;
PyObject* g_backend_error = nullptr;
PyObject* g_out_of_memory = nullptr;

PyObject* new_exception(const char* name, const char* doc, nb::handle bases) {
  PyObject* type = PyErr_NewExceptionWithDoc(name, doc, bases.ptr(), nullptr);
  if (!type) throw nb::python_error();
  return type;  // a new reference, kept for the life of the process
}

void raise_file_error(const lnn::FileError& e) {
  nb::object exc = nb::steal(PyObject_CallOneArg(g_file_error, nb::str(e.what()).ptr()));
  if (!exc.is_valid()) return;  // the call set its own error
  if (PyObject_SetAttrString(exc.ptr(), "path", nb::str(e.path().c_str()).ptr()) != 0) return;
  PyErr_SetObject(g_file_error, exc.ptr());
}

}  // namespace

void bind_errors(nb::module_& m) {
  nb::handle runtime_error(PyExc_RuntimeError);
  g_error = new_exception("lnn.Error", "Base class of every error lnn raises (lnn::Error).",
                          runtime_error);
  nb::handle error(g_error);
  g_invalid_argument = new_exception(
      "lnn.InvalidArgument", "An argument lnn cannot use: a bad name, spec, shape or value.",
      nb::make_tuple(error, nb::handle(PyExc_ValueError)));
  g_file_error = new_exception(
      "lnn.FileError", "A file that could not be read or written, or is malformed; .path names it.",
      nb::make_tuple(error, nb::handle(PyExc_OSError)));
  g_backend_error = new_exception(
      "lnn.BackendError", "A failure of a backend (CUDA runtime, cuBLAS, cuSOLVER, BLAS).", error);
  g_out_of_memory = new_exception(
      "lnn.OutOfMemory", "A backend could not allocate memory (typically a CUDA device's).",
      nb::make_tuple(nb::handle(g_backend_error), nb::handle(PyExc_MemoryError)));
  m.attr("Error") = nb::handle(g_error);
  m.attr("InvalidArgument") = nb::handle(g_invalid_argument);
  m.attr("FileError") = nb::handle(g_file_error);
  m.attr("BackendError") = nb::handle(g_backend_error);
  m.attr("OutOfMemory") = nb::handle(g_out_of_memory);

  // Most derived first; anything else is left to nanobind's own translators.
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const lnn::OutOfMemory& e) {
      PyErr_SetString(g_out_of_memory, e.what());
    } catch (const lnn::BackendError& e) {
      PyErr_SetString(g_backend_error, e.what());
    } catch (const lnn::FileError& e) {
      raise_file_error(e);
    } catch (const lnn::InvalidArgument& e) {
      PyErr_SetString(g_invalid_argument, e.what());
    } catch (const lnn::Error& e) {
      PyErr_SetString(g_error, e.what());
    }
  });
}

}  // namespace lnn::python
