// Small helpers for the text of error messages. Not a public header.
#pragma once
#include <cstdio>
#include <string>
#include <string_view>
#include <system_error>

namespace lnn::text {

// 'name', as error messages quote names, keys and values.
inline std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

// The text of an errno value.
inline std::string errno_text(int err) { return std::generic_category().message(err); }

// A number in full precision (%.17g).
inline std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// [a, b, c] of a sequence of integers.
template <class Seq>
std::string bracketed(const Seq& values) {
  std::string out = "[";
  for (const auto& v : values) out += (out.size() > 1 ? ", " : "") + std::to_string(v);
  return out + "]";
}

}  // namespace lnn::text
