// Shared by the fuzz harnesses (docs/reliability.md, "Fuzzing"): a scratch
// directory per process, reused by every input, for the readers that take a
// path; and the one rule every harness checks: a reader given any bytes
// returns or throws lnn::Error, nothing else (any other exception escapes the
// harness and libFuzzer reports it as a crash, as it does a sanitizer report).
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

namespace lnn::fuzz {

// <tmp>/lnn_fuzz_<pid>, created on first use and removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path d =
        std::filesystem::temp_directory_path() / ("lnn_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return dir;
}

// Writes `size` bytes to `path` (replacing it); aborts when it cannot, which
// is the machine's problem, not the reader's.
inline void write_bytes(const std::filesystem::path& path, const std::uint8_t* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) {
    std::fprintf(stderr, "lnn fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

// The input as a file in the scratch directory, named `name`; its path.
inline std::string input_file(const std::string& name, const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path path = scratch_dir() / name;
  write_bytes(path, data, size);
  return path.string();
}

}  // namespace lnn::fuzz
