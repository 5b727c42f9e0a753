// A progress display for long commands, on standard error. On a terminal: a
// bar redrawn in place at most 10 times a second; otherwise (logs, CI): one
// line per 10 % so a log is not flooded. Silent when quiet.
#pragma once
#include <cstdio>
#include <string>

#include "cli/common.hpp"

namespace lnn::cli {

class Progress {
 public:
  Progress(std::string label, bool quiet);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // fraction in [0, 1]; `detail` is shown after the bar (e.g. "loss 0.12").
  void update(double fraction, const std::string& detail = {});
  // Draws 100 % and ends the line (also done by the destructor).
  void finish();

 private:
  std::string label_;
  bool quiet_;
  bool tty_;
  bool finished_ = false;
  int last_decile_ = -1;
  double last_draw_ = -1.0;
  Stopwatch clock_;
  std::string detail_;
};

// "1.2 s", "3 min 4 s", "2 h 5 min".
std::string format_duration(double seconds);
// "12.3 MB" (decimal units).
std::string format_bytes(double bytes);

}  // namespace lnn::cli
