// CSV states and forces as `lnn eval` and `lnn rollout` read them
// (cli::read_csv, src/cli/files.cpp), in both precisions. The first byte
// picks the number of columns (1 to 8); the rest is the file. Every input
// must give a table of finite numbers with `cols` columns or throw
// lnn::Error.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "cli/common.hpp"
#include "fuzz_util.hpp"
#include "lnn/errors.hpp"

namespace {

template <class T>
void read(const std::string& path, std::size_t cols) {
  try {
    const lnn::cli::CsvTable<T> t = lnn::cli::read_csv<T>(path, cols, "values");
    if (t.cols != cols || t.rows == 0 || t.values.size() != t.rows * t.cols) std::abort();
    for (T v : t.values) {
      if (!std::isfinite(v)) std::abort();
    }
  } catch (const lnn::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t cols = 1 + data[0] % 8;
  const std::string path = lnn::fuzz::input_file("states.csv", data + 1, size - 1);
  read<double>(path, cols);
  read<float>(path, cols);
  return 0;
}
