// Shared by the C API's translation units: the model handle, the per-thread
// error message and the wrapper that turns every C++ exception into a status.
#pragma once
#include <new>
#include <string>
#include <variant>

#include "lnn/any_engine.hpp"
#include "lnn/errors.hpp"
#include "lnn/lnn.h"
#include "lnn/model.hpp"
#include "lnn/model_file.hpp"

struct lnn_model {
  lnn::ModelFileInfo info;
  // In the file's precision (info.precision): exactly the stored values.
  lnn::AnyModel network;
};

namespace lnn::capi {

// Errors the C API raises itself, beyond lnn's own exception types.
class NoDevice : public Error {
 public:
  using Error::Error;
};
class WrongDevice : public Error {
 public:
  using Error::Error;
};

// Records the message of the failed call on this thread ("" after success).
void set_error(const char* function, const char* message) noexcept;
void clear_error() noexcept;

// Runs body (returning void) and maps what it throws to a status, recording
// "function: message". Nothing escapes.
template <class Body>
lnn_status guarded(const char* function, Body&& body) noexcept {
  try {
    body();
    clear_error();
    return LNN_OK;
  } catch (const std::bad_alloc&) {
    set_error(function, "out of memory");
    return LNN_ERR_OUT_OF_MEMORY;
  } catch (const FileError& e) {
    set_error(function, e.what());
    return LNN_ERR_FILE;
  } catch (const InvalidArgument& e) {
    set_error(function, e.what());
    return LNN_ERR_INVALID_ARGUMENT;
  } catch (const NoDevice& e) {
    set_error(function, e.what());
    return LNN_ERR_NO_DEVICE;
  } catch (const WrongDevice& e) {
    set_error(function, e.what());
    return LNN_ERR_WRONG_DEVICE;
  } catch (const OutOfMemory& e) {  // a device's memory, with the sizes in the message
    set_error(function, e.what());
    return LNN_ERR_OUT_OF_MEMORY;
  } catch (const BackendError& e) {
    set_error(function, e.what());
    return LNN_ERR_BACKEND;
  } catch (const std::exception& e) {
    set_error(function, (std::string("internal error: ") + e.what()).c_str());
    return LNN_ERR_INTERNAL;
  } catch (...) {
    set_error(function, "internal error: unknown exception");
    return LNN_ERR_INTERNAL;
  }
}

// Throws InvalidArgument "<what> is NULL" when p is null.
inline void require(const void* p, const char* what) {
  if (p == nullptr) throw InvalidArgument(std::string(what) + " is NULL");
}

}  // namespace lnn::capi
