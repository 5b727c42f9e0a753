// Model files (safetensors, docs/model-format.md): read_model_info,
// load_model in both precisions, and the training configuration a
// checkpoint's metadata carries (as `lnn evaluate` reads it to find the
// system). Every input must load or throw lnn::Error.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.hpp"
#include "lnn/errors.hpp"
#include "lnn/model_file.hpp"
#include "lnn/train.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = lnn::fuzz::input_file("model.safetensors", data, size);
  try {
    const lnn::ModelFileInfo info = lnn::read_model_info(path);
    const auto cfg = info.training.find("lnn.train.config");
    if (cfg != info.training.end()) (void)lnn::TrainConfig::from_json(cfg->second);
  } catch (const lnn::Error&) {
  }
  try {
    (void)lnn::load_model<double>(path);
  } catch (const lnn::Error&) {
  }
  try {
    (void)lnn::load_model<float>(path);
  } catch (const lnn::Error&) {
  }
  return 0;
}
