// Helpers shared by the `lnn` subcommands: CSV input and output, atomic file
// writes, list parsing, the model-spec flags of `init` and `throughput`.
#pragma once
#include <CLI/CLI.hpp>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lnn/errors.hpp"
#include "lnn/model.hpp"
#include "lnn/any_engine.hpp"
#include "lnn/model_file.hpp"
#include "lnn/systems.hpp"

namespace lnn::cli {

// Each subcommand registers itself on the top-level app (one file each).
void add_info_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_init_command(CLI::App& app);
void add_throughput_command(CLI::App& app);
void add_systems_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_evaluate_command(CLI::App& app);
void add_rollout_command(CLI::App& app);
void add_sweep_command(CLI::App& app);

// Checks shared by every subcommand of `app`, added after the subcommands
// (they apply to values from --config files too): every integer option
// reads decimal only: "010" is ten (CLI11 alone reads octal 8, and "0x10" as
// 16), a sign on an unsigned option or a value beyond 64 bits is refused
// with the option's name (CLI11 alone wraps "-1" to 2^64 - 1 and saturates
// huge numbers); --out, --log and --json refuse an empty path.
void harden_options(CLI::App& app);

// 'text' in quotes, shortened when long (for messages).
std::string in_quotes(std::string_view s);
// "a, b,c" -> {"a", "b", "c"} (fields trimmed of blanks).
std::vector<std::string> split_list(std::string_view text, char sep = ',');
std::string_view trim(std::string_view s);
// "128,128,128" -> {128, 128, 128}; throws InvalidArgument naming `what`.
std::vector<int> parse_int_list(std::string_view text, std::string_view what);
std::string join_ints(const std::vector<int>& values);
// --param flags "m1=2,g=9.81" (repeatable) -> {m1: 2, g: 9.81}; throws
// InvalidArgument for an item that is not NAME=NUMBER.
std::map<std::string, double> parse_parameters(const std::vector<std::string>& flags);
// "LO,HI" -> {LO, HI}; throws InvalidArgument naming `flag`.
std::pair<double, double> parse_interval(const std::string& text, std::string_view flag);
// --q-range and --qdot-range: both empty (an empty box: the command's
// default), or each "LO,HI" (every coordinate) or "LO1,HI1,…,LOn,HIn" (one
// interval per coordinate, n = system.dof()). Throws InvalidArgument naming
// the flag for one without the other, a count that is neither 2 nor 2n, or an
// interval that is not finite with LO <= HI.
StateBox parse_box(const std::string& q_range, const std::string& qdot_range,
                   const System& system);
// "0.1, 0.01" -> {0.1, 0.01}: finite numbers; throws InvalidArgument naming `flag`.
std::vector<double> parse_double_list(std::string_view text, std::string_view flag);

// The system a model is judged on: `name` if given, else the one a training
// checkpoint at `model` (may be empty or "analytic") was trained on, else
// double_pendulum; with the checkpoint's parameters unless `name` was given,
// then the --param flags on top.
std::unique_ptr<System> system_for(const std::string& name, const std::vector<std::string>& params,
                                   const std::string& model);

// A numeric CSV read row by row: `rows` × `cols` values, row-major.
template <class T>
struct CsvTable {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<T> values;
};

// Reads `path` ("-" = standard input). Blank lines and lines whose first
// non-blank character is '#' are skipped; the first remaining line is skipped
// as a header when none of its fields is a number. Every other line must hold
// exactly `cols` finite numbers. Throws FileError naming the file and, for a
// bad row, its line number; an input without data rows is an error. `what`
// describes the columns in messages (e.g. "2n = 4 values").
template <class T>
CsvTable<T> read_csv(const std::string& path, std::size_t cols, std::string_view what);
// The same, each value read as precision p reads it (f32: the float nearest
// the text, not the float nearest its double), held exactly in double.
CsvTable<double> read_csv(const std::string& path, std::size_t cols, std::string_view what,
                          Precision p);

// Appends the shortest text that reads back as exactly `v` ("nan" for NaN).
template <class T>
void append_number(std::string& out, T v) {
  if (v != v) {
    out += "nan";
    return;
  }
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}
// The shortest text for `v`, a value of precision p held in double.
inline void append_number(std::string& out, double v, Precision p) {
  if (p == Precision::f32) {
    append_number(out, static_cast<float>(v));
  } else {
    append_number(out, v);
  }
}

// Where output for `path` really goes: a symbolic link is followed (so the
// link survives), and `special` is set when that exists and is not a regular
// file (a device such as /dev/null, a FIFO, a directory) or lies under /dev/
// or /proc/ (/dev/stdout): such a path must never be replaced by a rename.
struct OutputTarget {
  std::string path;
  bool special = false;
};
OutputTarget resolve_output(const std::string& path);

// Rollouts integrate the unforced equations (τ = 0). For a system with
// actuated coordinates that is not what its data showed, so `command` is
// refused with a message saying so, unless `unforced` (--unforced) accepts τ = 0.
void refuse_forced(const System& system, bool unforced, std::string_view command);

// Throws InvalidArgument when the output `path` (option `flag`) is the same
// file as one of `inputs` (option name, path): compared by device and inode,
// so another name, a link or "./x" for "x" is caught, never by spelling.
// Writing it would destroy the input before (or while) it is read.
void refuse_same_file(const std::string& path, std::string_view flag,
                      const std::vector<std::pair<std::string_view, std::string>>& inputs);

// Throws FileError for an existing `path` that is a regular file (or a link
// to one) unless `force`: lnn replaces no file the user did not ask it to.
// Empty paths, "-" and special files (resolve_output) pass.
void refuse_existing(const std::string& path, bool force, std::string_view flag);

// Writes `content` to `path` atomically ("<path>.tmp.<pid>", fsync, rename);
// "-" writes to standard output, and a special file (see resolve_output) is
// written in place. Throws FileError naming the file.
void write_file_atomic(const std::string& path, const std::string& content);

// The model description flags shared by `init` and `throughput`.
struct SpecFlags {
  int n = 2;
  std::string hidden = "128,128,128";
  std::string activation = "softplus";
  std::string embedding = "plain";  // one name for all coordinates, or n names
  std::string init = "lnn";
  std::uint64_t seed = 0;
  // Builds and validates the spec (throws InvalidArgument).
  ModelSpec spec() const;
  Init init_scheme() const;
};
// Adds --n --hidden --activation --embedding --init --seed to `sub` and
// returns the options so callers can make them exclusive with others.
std::vector<CLI::Option*> add_spec_flags(CLI::App& sub, SpecFlags& flags);
// --activation with the names to_string(Activation) gives (what parse_activation takes).
CLI::Option* add_activation_option(CLI::App& sub, std::string& activation);

// A CLI11 check that runs one of liblnn's parsers on the option's text; the
// parser's message (e.g. why relu is refused) becomes the usage error.
template <class Parse>
CLI::Validator parsed_by(Parse parse, std::string description) {
  return CLI::Validator(
      [parse](std::string& text) -> std::string {
        try {
          parse(text);
          return {};
        } catch (const lnn::Error& e) {
          return e.what();
        }
      },
      std::move(description));
}

// Sets the options of `sub` that the command line left unset from a TOML or
// INI file of `key = value` lines (keys: long option names, '-' or '_'; an
// optional [<subcommand>] section). The command line wins. Throws FileError
// naming the file for an unreadable file, an unknown key or a bad value.
// (CLI11's own set_config does not reach a subcommand's options in 2.1.)
void apply_config_file(CLI::App& sub, const std::string& path);

// "cpu", "cuda", or "auto": the CUDA engine where this build has one and a
// GPU is usable, else the CPU. Throws InvalidArgument for other names.
Device resolve_device(std::string_view name);
// Adds --device (default "cpu") to a subcommand.
CLI::Option* add_device_flag(CLI::App& sub, std::string& device);
// A one-line description: "n=2, hidden 128,128,128, softplus, embedding plain".
std::string describe(const ModelSpec& spec);

// Seconds on a monotonic clock since construction.
class Stopwatch {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// printf-style formatting into a std::string.
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace lnn::cli
