// Sweep directories (docs/sweeps.md, "Resuming"): the JSON a resumed sweep
// reads, cells/<k>.json (every field checked, Sweep::cell_problem) and
// sweep.json (the configuration compared). A finished sweep of the tiny
// grid (fuzz_sweep_setup.hpp) is written once per process; each input then
// replaces one of its two files, chosen by the first byte (even: the cell,
// odd: sweep.json), and the sweep is run again: it must resume, recompute a
// stale cell, or throw lnn::Error naming the file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "fuzz_sweep_setup.hpp"
#include "fuzz_util.hpp"
#include "lnn/errors.hpp"
#include "lnn/sweep.hpp"

namespace {

namespace fs = std::filesystem;

struct Fixture {
  lnn::SweepConfig config = lnn::fuzz::tiny_sweep();
  fs::path dir = lnn::fuzz::scratch_dir() / "sweep";
  std::string cell, sweep_json;  // the finished sweep's files

  Fixture() {
    if (!lnn::run_sweep(config, dir.string()).complete) std::abort();
    cell = read(dir / "cells" / "0.json");
    sweep_json = read(dir / "sweep.json");
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static void write(const fs::path& p, const std::uint8_t* data, std::size_t size) {
    lnn::fuzz::write_bytes(p, data, size);
  }
  static void write(const fs::path& p, const std::string& text) {
    write(p, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture f;
  if (size == 0) return 0;
  const bool cell = data[0] % 2 == 0;
  Fixture::write(f.dir / "cells" / "0.json", f.cell);
  Fixture::write(f.dir / "sweep.json", f.sweep_json);
  Fixture::write(f.dir / (cell ? "cells/0.json" : "sweep.json"), data + 1, size - 1);
  try {
    (void)lnn::run_sweep(f.config, f.dir.string());
  } catch (const lnn::Error&) {
  }
  return 0;
}
