// The C API's loader (lnn/lnn.h): lnn_model_load, then what a C program does
// with the model: its description, a workspace and one evaluation of a state
// (which reads every parameter the loader accepted). A bad file must give
// LNN_ERR_FILE and a NULL model; nothing may crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "fuzz_util.hpp"
#include "lnn/lnn.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = lnn::fuzz::input_file("capi.safetensors", data, size);
  lnn_model* model = nullptr;
  const lnn_status s = lnn_model_load(path.c_str(), &model);
  if (s != LNN_OK) {
    if (model != nullptr || s != LNN_ERR_FILE) std::abort();
    return 0;
  }
  lnn_model_info info{};
  if (lnn_model_get_info(model, &info) != LNN_OK || info.n < 1 || info.depth < 0) std::abort();
  std::vector<int> widths(static_cast<std::size_t>(info.depth) + 1);
  if (lnn_model_hidden(model, widths.data(), info.depth + 1) != LNN_OK) std::abort();
  for (int j = 0; j < info.n; ++j) {
    const char* name = nullptr;
    if (lnn_model_embedding(model, j, &name) != LNN_OK || name == nullptr) std::abort();
  }
  lnn_workspace* ws = nullptr;
  if (lnn_workspace_create(model, 1, nullptr, &ws) == LNN_OK) {
    const std::vector<double> state(2 * static_cast<std::size_t>(info.n), 0.25);
    std::vector<double> acc(static_cast<std::size_t>(info.n));
    double energy = 0;
    (void)lnn_accelerations(ws, 1, state.data(), nullptr, acc.data(), nullptr, nullptr);
    (void)lnn_energy(ws, 1, state.data(), &energy);
    lnn_workspace_free(ws);
  }
  lnn_model_free(model);
  return 0;
}
