// Training checkpoints (lnn/optimizer.hpp: a model file with the Adam
// moments and lnn.train.* metadata): load_checkpoint in both precisions, and
// the configuration it restores parsed as `lnn train --resume` does. Every
// input must load or throw lnn::Error.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.hpp"
#include "lnn/errors.hpp"
#include "lnn/optimizer.hpp"
#include "lnn/train.hpp"

namespace {

template <class T>
void load(const std::string& path) {
  try {
    const lnn::Checkpoint<T> c = lnn::load_checkpoint<T>(path);
    (void)lnn::TrainConfig::from_json(c.state.config);
  } catch (const lnn::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = lnn::fuzz::input_file("run.ckpt", data, size);
  load<double>(path);
  load<float>(path);
  return 0;
}
