// Datasets (HDF5, docs/file-formats.md): load_dataset, which checks what it
// read (Dataset::validate). Every input must load or throw lnn::Error. The
// HDF5 library itself is not instrumented: coverage comes from lnn's reader.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.hpp"
#include "lnn/dataset.hpp"
#include "lnn/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = lnn::fuzz::input_file("data.h5", data, size);
  try {
    const lnn::Dataset d = lnn::load_dataset(path);
    d.validate();
    (void)d.points();
  } catch (const lnn::Error&) {
  }
  return 0;
}
