// TOML configuration files (`lnn train --config`, `lnn sweep --config`):
// cli::apply_config_file (src/cli/common.cpp) on the real subcommands, built
// as src/cli/main.cpp builds them (every option and its checks). Every input
// must set options or throw lnn::Error.
#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>

#include "cli/common.hpp"
#include "fuzz_util.hpp"
#include "lnn/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = lnn::fuzz::input_file("config.toml", data, size);
  CLI::App app{"lnn", "lnn"};
  lnn::cli::add_train_command(app);
  lnn::cli::add_sweep_command(app);
  lnn::cli::harden_options(app);
  for (const char* name : {"train", "sweep"}) {
    try {
      lnn::cli::apply_config_file(*app.get_subcommand(name), path);
    } catch (const lnn::Error&) {
    }
  }
  return 0;
}
