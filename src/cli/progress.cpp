#include "cli/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace lnn::cli {

Progress::Progress(std::string label, bool quiet)
    : label_(std::move(label)), quiet_(quiet), tty_(::isatty(STDERR_FILENO) != 0) {}

Progress::~Progress() {
  if (!finished_ && last_draw_ >= 0 && tty_ && !quiet_) std::fputs("\n", stderr);
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds < 60) return format("%.1f s", seconds);
  const auto s = static_cast<long long>(std::llround(seconds));
  if (s < 3600) return format("%lld min %lld s", s / 60, s % 60);
  return format("%lld h %lld min", s / 3600, (s % 3600) / 60);
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4) {
    bytes /= 1000;
    ++u;
  }
  return u == 0 ? format("%.0f B", bytes) : format("%.1f %s", bytes, units[u]);
}

void Progress::update(double fraction, const std::string& detail) {
  if (quiet_ || finished_) return;
  fraction = std::clamp(fraction, 0.0, 1.0);
  if (!detail.empty()) detail_ = detail;
  const double now = clock_.seconds();
  const double eta = fraction > 0 ? now * (1 - fraction) / fraction : -1;
  const std::string times = format("%s elapsed, ETA %s", format_duration(now).c_str(),
                                   fraction > 0 ? format_duration(eta).c_str() : "?");
  if (tty_) {
    if (fraction < 1 && last_draw_ >= 0 && now - last_draw_ < 0.1) return;
    last_draw_ = now;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r%s [%s] %5.1f%%  %s%s%s\033[K", label_.c_str(), bar.c_str(),
                 100 * fraction, times.c_str(), detail_.empty() ? "" : "  ", detail_.c_str());
  } else {
    const int decile = static_cast<int>(fraction * 10);
    if (decile <= last_decile_) return;
    last_decile_ = decile;
    last_draw_ = now;
    std::fprintf(stderr, "%s: %3d%%  %s%s%s\n", label_.c_str(), decile * 10, times.c_str(),
                 detail_.empty() ? "" : "  ", detail_.c_str());
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (finished_) return;
  update(1.0);
  if (tty_ && !quiet_ && last_draw_ >= 0) std::fputs("\n", stderr);
  finished_ = true;
}

}  // namespace lnn::cli
