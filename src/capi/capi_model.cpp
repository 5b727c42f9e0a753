// The C API (include/lnn/lnn.h): errors, versions and the model handle.
#include <cstring>
#include <memory>
#include <string>

#include "capi/capi_detail.hpp"
#include "lnn/info.hpp"

namespace lnn::capi {
namespace {

thread_local std::string last_error;
// Set when the message itself could not be stored (no memory for it).
thread_local bool last_error_lost = false;

}  // namespace

void set_error(const char* function, const char* message) noexcept {
  try {
    last_error.assign(function);
    last_error.append(": ");
    last_error.append(message);
    last_error_lost = false;
  } catch (...) {
    last_error_lost = true;
  }
}

void clear_error() noexcept {
  last_error.clear();  // keeps the capacity: never throws
  last_error_lost = false;
}

}  // namespace lnn::capi

using lnn::capi::guarded;
using lnn::capi::require;

extern "C" {

const char* lnn_status_name(lnn_status status) {
  switch (status) {
    case LNN_OK:
      return "LNN_OK";
    case LNN_ERR_INVALID_ARGUMENT:
      return "LNN_ERR_INVALID_ARGUMENT";
    case LNN_ERR_FILE:
      return "LNN_ERR_FILE";
    case LNN_ERR_NO_DEVICE:
      return "LNN_ERR_NO_DEVICE";
    case LNN_ERR_WRONG_DEVICE:
      return "LNN_ERR_WRONG_DEVICE";
    case LNN_ERR_BACKEND:
      return "LNN_ERR_BACKEND";
    case LNN_ERR_OUT_OF_MEMORY:
      return "LNN_ERR_OUT_OF_MEMORY";
    case LNN_ERR_INTERNAL:
      return "LNN_ERR_INTERNAL";
    default:
      return "unknown status";
  }
}

const char* lnn_last_error(void) {
  if (lnn::capi::last_error_lost) return "an error occurred (out of memory for its message)";
  return lnn::capi::last_error.c_str();
}

const char* lnn_version(void) { return LNN_VERSION; }

void lnn_version_numbers(int* major, int* minor, int* patch) {
  if (major) *major = LNN_VERSION_MAJOR;
  if (minor) *minor = LNN_VERSION_MINOR;
  if (patch) *patch = LNN_VERSION_PATCH;
}

int lnn_model_format_version(void) { return lnn::model_format_version(); }

int lnn_cuda_compiled(void) { return lnn::cuda_compiled() ? 1 : 0; }

lnn_status lnn_model_load(const char* path, lnn_model** model) {
  if (model) *model = nullptr;
  return guarded("lnn_model_load", [&] {
    require(model, "model (the output handle)");
    require(path, "path");
    lnn::ModelFileInfo info = lnn::read_model_info(path);
    auto m = std::make_unique<lnn_model>(lnn_model{info, lnn::AnyModel::load(path)});
    // The header was read twice; a file replaced in between must not give a
    // model whose spec or precision differs from its info.
    if (!(m->network.spec() == m->info.spec) || m->network.precision() != m->info.precision) {
      throw lnn::FileError(path, "the file changed while it was read");
    }
    *model = m.release();
  });
}

void lnn_model_free(lnn_model* model) { delete model; }

lnn_status lnn_model_get_info(const lnn_model* model, lnn_model_info* info) {
  return guarded("lnn_model_get_info", [&] {
    require(model, "model");
    require(info, "info");
    const lnn::ModelSpec& spec = model->info.spec;
    lnn_model_info out{};
    out.n = spec.n;
    out.depth = spec.depth();
    out.input_width = spec.input_width();
    out.precision =
        model->info.precision == lnn::Precision::f32 ? LNN_PRECISION_F32 : LNN_PRECISION_F64;
    out.parameter_count = static_cast<int64_t>(spec.parameter_count());
    // to_string returns views of string literals: NUL-terminated and static.
    out.activation = lnn::to_string(spec.activation).data();
    *info = out;
  });
}

lnn_status lnn_model_hidden(const lnn_model* model, int* widths, int capacity) {
  return guarded("lnn_model_hidden", [&] {
    require(model, "model");
    require(widths, "widths");
    const std::vector<int>& hidden = model->info.spec.hidden;
    if (capacity < 0 || static_cast<std::size_t>(capacity) < hidden.size()) {
      throw lnn::InvalidArgument("capacity " + std::to_string(capacity) + " is less than the " +
                                 std::to_string(hidden.size()) + " hidden layers");
    }
    std::memcpy(widths, hidden.data(), hidden.size() * sizeof(int));
  });
}

lnn_status lnn_model_embedding(const lnn_model* model, int j, const char** name) {
  return guarded("lnn_model_embedding", [&] {
    require(model, "model");
    require(name, "name");
    const int n = model->info.spec.n;
    if (j < 0 || j >= n) {
      throw lnn::InvalidArgument("coordinate j = " + std::to_string(j) + " is outside 0 … " +
                                 std::to_string(n - 1));
    }
    *name = lnn::to_string(model->info.spec.embedding_of(j)).data();
  });
}

}  // extern "C"
