// File input and output of the `lnn` subcommands: numeric CSV reading and
// atomic writes (declared in cli/common.hpp).
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <istream>
#include <system_error>

#include "cli/common.hpp"
#include "io/atomic_file.hpp"

namespace lnn::cli {
namespace {

enum class NumberParse { ok, not_a_number, out_of_range };

template <class T>
NumberParse parse_number(std::string_view text, T& value) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return NumberParse::not_a_number;
  const char* last = text.data() + text.size();
  const auto r = std::from_chars(text.data(), last, value, std::chars_format::general);
  if (r.ptr != last) return NumberParse::not_a_number;
  if (r.ec == std::errc::result_out_of_range) {
    // An underflow (1e-50 as a float) rounds to zero or a subnormal, as any C
    // parser gives it; only a magnitude beyond the type's range is refused.
    const std::string copy(text);
    const long double wide = std::strtold(copy.c_str(), nullptr);
    if (std::fabs(wide) < 1) {
      value = static_cast<T>(wide);
      return NumberParse::ok;
    }
    return NumberParse::out_of_range;
  }
  if (r.ec != std::errc()) return NumberParse::not_a_number;
  return NumberParse::ok;
}

}  // namespace

template <class T>
CsvTable<T> read_csv(const std::string& path, std::size_t cols, std::string_view what) {
  const std::string name = path == "-" ? std::string("<stdin>") : path;
  std::ifstream file;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) throw FileError(name, std::string("cannot open: ") + std::strerror(errno));
  }
  std::istream& in = path == "-" ? std::cin : file;

  CsvTable<T> table;
  table.cols = cols;
  std::string line;
  std::size_t line_no = 0;
  bool header_possible = true;
  const auto fail = [&](const std::string& problem) {
    throw FileError(name, "line " + std::to_string(line_no) + ": " + problem);
  };
  while (std::getline(in, line)) {
    ++line_no;
    const std::string_view text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    const std::vector<std::string> fields = split_list(text);
    if (header_possible) {
      header_possible = false;
      bool any_number = false;
      for (const std::string& f : fields) {
        T v{};
        any_number = any_number || parse_number(f, v) != NumberParse::not_a_number;
      }
      if (!any_number) {  // a header of names
        if (fields.size() != cols) {
          fail("the header has " + std::to_string(fields.size()) + " columns, expected " +
               std::string(what));
        }
        continue;
      }
    }
    if (fields.size() != cols) {
      fail("expected " + std::string(what) + " separated by commas, found " +
           std::to_string(fields.size()) + (fields.size() == 1 ? " field" : " fields"));
    }
    for (std::size_t k = 0; k < fields.size(); ++k) {
      T v{};
      const std::string field_name = "field " + std::to_string(k + 1) + " " + in_quotes(fields[k]);
      switch (parse_number(fields[k], v)) {
        case NumberParse::not_a_number:
          fail(fields[k].empty() ? "field " + std::to_string(k + 1) + " is empty"
                                 : field_name + " is not a number");
          break;
        case NumberParse::out_of_range:
          fail(field_name + " is out of range for " + (sizeof(T) == 4 ? "single" : "double") +
               " precision");
          break;
        case NumberParse::ok:
          break;
      }
      if (!std::isfinite(v)) fail(field_name + " is not finite");
      table.values.push_back(v);
    }
    ++table.rows;
  }
  if (in.bad()) throw FileError(name, "read error after line " + std::to_string(line_no));
  if (table.rows == 0) {
    throw FileError(name, "no data rows (expected rows of " + std::string(what) + ")");
  }
  return table;
}

CsvTable<double> read_csv(const std::string& path, std::size_t cols, std::string_view what,
                          Precision p) {
  if (p == Precision::f64) return read_csv<double>(path, cols, what);
  const CsvTable<float> f = read_csv<float>(path, cols, what);
  return {f.rows, f.cols, std::vector<double>(f.values.begin(), f.values.end())};
}

template CsvTable<float> read_csv<float>(const std::string&, std::size_t, std::string_view);
template CsvTable<double> read_csv<double>(const std::string&, std::size_t, std::string_view);

OutputTarget resolve_output(const std::string& path) {
  namespace fs = std::filesystem;
  OutputTarget t{path, false};
  std::error_code ec;
  fs::path p = path;  // follow a chain of links, even to a target not yet there
  for (int hops = 0; hops < 40 && fs::is_symlink(fs::symlink_status(p, ec)); ++hops) {
    const fs::path next = fs::read_symlink(p, ec);
    if (ec) break;
    p = next.is_absolute() ? next : p.parent_path() / next;
  }
  t.path = p.string();
  const fs::file_status st = fs::status(t.path, ec);
  t.special = fs::exists(st) && !fs::is_regular_file(st);
  // /dev/stdout and friends resolve to /proc/self/fd/N, possibly a regular
  // file the shell opened: write through it, never rename over it.
  for (const std::string& s : {path, t.path}) {
    t.special = t.special || s.starts_with("/dev/") || s.starts_with("/proc/");
  }
  return t;
}

namespace {

// fwrite + fflush (+ fsync when `sync`); returns 0 or the first errno.
int write_all(std::FILE* f, const std::string& content, bool sync) {
  errno = 0;
  if (std::fwrite(content.data(), 1, content.size(), f) != content.size())
    return errno ? errno : EIO;
  if (std::fflush(f) != 0) return errno ? errno : EIO;
  if (sync && ::fsync(::fileno(f)) != 0) return errno;
  return 0;
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& content) {
  if (path == "-") {
    if (const int e = write_all(stdout, content, false)) {
      throw FileError("<stdout>", std::string("write failed: ") + std::strerror(e));
    }
    return;
  }
  const OutputTarget target = resolve_output(path);
  if (target.special) {  // a device, FIFO, ...: never rename over it, write into it
    std::FILE* f = std::fopen(target.path.c_str(), "wb");
    if (!f) throw FileError(path, std::string("cannot open for writing: ") + std::strerror(errno));
    const int e = write_all(f, content, false);
    if (std::fclose(f) != 0 || e) {
      throw FileError(path, std::string("write failed: ") + std::strerror(e ? e : errno));
    }
    return;
  }
  // A regular file (or a new one): the library's atomic writer, the one
  // every lnn file goes through (exclusive temporary, fsync, rename).
  io::AtomicFile file(target.path);
  file.write(content.data(), content.size());
  file.commit();
}

}  // namespace lnn::cli
