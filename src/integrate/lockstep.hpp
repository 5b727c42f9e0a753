// What every batched integrator of include/lnn/integrate.hpp shares: the
// per-trajectory bookkeeping of a lockstep integration (time, state, output
// times reached, status, counts), the compact list of running trajectories,
// progress, and the fixed-step plan that splits each output interval into
// equal steps (RK4 and the variational integrator).
//
// All per-trajectory arrays are indexed by trajectory, never by position in
// the running list, and the list stays ascending: a trajectory's arithmetic
// does not depend on which others share the batch.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "lnn/errors.hpp"
#include "lnn/integrate.hpp"

namespace lnn::integration {

constexpr auto kProgressInterval = std::chrono::milliseconds(200);

// Shapes, times and the options every method reads; throws InvalidArgument.
template <class T>
void validate_common(const char* who, int d, std::size_t y0_size, std::size_t out_size, T t0,
                     std::span<const T> times, const IntegrateOptions& o) {
  const std::string w(who);
  if (d < 1) throw InvalidArgument(w + ": d must be >= 1, got " + std::to_string(d));
  const auto ud = static_cast<std::size_t>(d);
  if (y0_size % ud != 0) {
    throw InvalidArgument(w + ": y0 has " + std::to_string(y0_size) +
                          " values, not a multiple of d = " + std::to_string(d));
  }
  const std::size_t expected = y0_size / ud * times.size() * ud;
  if (out_size != expected) {
    throw InvalidArgument(w + ": out has " + std::to_string(out_size) +
                          " values, expected B·S·d = " + std::to_string(expected));
  }
  if (!std::isfinite(t0)) throw InvalidArgument(w + ": t0 must be finite");
  T previous = t0;
  for (std::size_t s = 0; s < times.size(); ++s) {
    if (!std::isfinite(times[s])) {
      throw InvalidArgument(w + ": times[" + std::to_string(s) + "] is not finite");
    }
    if (times[s] < previous) {
      throw InvalidArgument(w + ": times must be ascending and >= t0; times[" + std::to_string(s) +
                            "] = " + std::to_string(static_cast<double>(times[s])) +
                            " comes before " + std::to_string(static_cast<double>(previous)));
    }
    previous = times[s];
  }
  if (o.max_steps < 0) throw InvalidArgument(w + ": max_steps must be >= 0");
}

template <class T>
bool all_finite(const T* x, std::size_t n) {
  for (std::size_t k = 0; k < n; ++k)
    if (!std::isfinite(x[k])) return false;
  return true;
}

template <class T>
class Lockstep {
 protected:
  // y0: B × d. Trajectories whose y0 is not finite fail at once; outputs at
  // times equal to t0 are written from y0.
  Lockstep(std::size_t d, T t0, std::span<const T> y0, std::span<const T> times,
           std::span<T> out, const IntegrateOptions& options, const ProgressFn& progress)
      : progress_(progress),
        options_(options),
        d_(d),
        B_(y0.size() / d),
        S_(times.size()),
        t0_(t0),
        times_(times),
        out_(out),
        reports_(B_),
        running_(B_, 1),
        next_(B_, 0),
        t_(B_, t0),
        h_(B_, T(0)),
        y_(y0.begin(), y0.end()),
        last_progress_(std::chrono::steady_clock::now()) {
    active_.reserve(B_);
    for (std::size_t b = 0; b < B_; ++b) {
      reports_[b].t_reached = static_cast<double>(t0);
      if (!all_finite(row(y_, b), d_)) {
        fail(b, TrajectoryStatus::non_finite);
        continue;
      }
      emit(b);
      if (running_[b]) active_.push_back(b);
    }
  }

  T* row(std::vector<T>& v, std::size_t i) { return v.data() + i * d_; }

  // Writes y at every output time equal to the trajectory's current time;
  // after the last one the trajectory is done.
  void emit(std::size_t b) {
    const T* y = row(y_, b);
    while (next_[b] < S_ && times_[next_[b]] == t_[b]) {
      std::copy(y, y + d_, out_.data() + (b * S_ + next_[b]) * d_);
      ++next_[b];
    }
    if (next_[b] == S_) {
      reports_[b].t_reached = static_cast<double>(t_[b]);
      running_[b] = 0;
    }
  }

  // The trajectory stops with `status`; its outputs not yet written are NaN.
  void fail(std::size_t b, TrajectoryStatus status) {
    reports_[b].status = status;
    reports_[b].t_reached = static_cast<double>(t_[b]);
    std::fill(out_.begin() + static_cast<std::ptrdiff_t>((b * S_ + next_[b]) * d_),
              out_.begin() + static_cast<std::ptrdiff_t>((b + 1) * S_ * d_),
              std::numeric_limits<T>::quiet_NaN());
    running_[b] = 0;
  }

  // Drops finished and failed trajectories, keeping the list ascending.
  void prune() {
    std::erase_if(active_, [&](std::size_t b) { return !running_[b]; });
  }

  // Counts a finished trajectory (ok or not) as having covered its span, so
  // the fraction measures the work left.
  void report_progress() {
    if (!progress_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_progress_ < kProgressInterval) return;
    last_progress_ = now;
    const double span = S_ == 0 ? 0.0 : static_cast<double>(times_[S_ - 1] - t0_);
    double sum = 0.0;
    for (std::size_t b = 0; b < B_; ++b) {
      sum += running_[b] && span > 0.0 ? static_cast<double>(t_[b] - t0_) / span : 1.0;
    }
    progress_(B_ == 0 ? 1.0 : sum / static_cast<double>(B_));
  }

  std::vector<TrajectoryReport> finish() {
    if (progress_) progress_(1.0);
    return std::move(reports_);
  }

  // ---- fixed steps (rk4, variational) ----------------------------------------
  // Each output interval is covered by ceil(length / dt) equal steps of length
  // h_ (≤ dt up to a relative 1e-12); step k ends at start + k·h_ (not a running sum), the last one exactly
  // on the output time.
  void plan_fixed_steps() {
    start_.assign(B_, T(0));
    steps_.assign(B_, 0);
    taken_.assign(B_, 0);
    for (std::size_t b : active_) plan_interval(b);
  }
  void plan_interval(std::size_t b) {
    const T left = times_[next_[b]] - t_[b];
    // The cap only keeps the conversion defined; max_steps stops far earlier.
    // The slack keeps an interval that is a whole number of steps up to
    // rounding (0.1 / 0.05 = 2.0000000000000018) from taking one more.
    const double n =
        std::min(std::ceil(static_cast<double>(left) / options_.dt * (1.0 - 1e-12)), 0x1p62);
    start_[b] = t_[b];
    steps_[b] = std::max<std::int64_t>(1, static_cast<std::int64_t>(n));
    taken_[b] = 0;
    h_[b] = left / static_cast<T>(steps_[b]);
  }
  // The time at which the current fixed step of b ends.
  T fixed_step_end(std::size_t b) const {
    return taken_[b] + 1 == steps_[b] ? times_[next_[b]]
                                      : start_[b] + static_cast<T>(taken_[b] + 1) * h_[b];
  }
  // Whether the step now being taken by b ends on its next output time.
  bool fixed_step_reaches_output(std::size_t b) const { return taken_[b] + 1 == steps_[b]; }
  // After the state of b was advanced by one fixed step: moves its time on,
  // emits outputs when an interval is complete and plans the next interval.
  void fixed_step_done(std::size_t b) {
    t_[b] = fixed_step_end(b);
    if (++taken_[b] == steps_[b]) {
      emit(b);
      if (running_[b]) plan_interval(b);
    }
  }

  const ProgressFn& progress_;
  const IntegrateOptions& options_;
  const std::size_t d_, B_, S_;
  const T t0_;
  std::span<const T> times_;
  std::span<T> out_;

  std::vector<TrajectoryReport> reports_;
  std::vector<std::uint8_t> running_;
  std::vector<std::size_t> next_;  // index of the next output time
  std::vector<T> t_;               // time of the last accepted step
  std::vector<T> h_;               // the step (dopri5: the controller's, before cutting)
  std::vector<T> y_;               // B × d, the state at t_
  std::vector<std::size_t> active_;
  std::chrono::steady_clock::time_point last_progress_;

 private:
  std::vector<T> start_;  // fixed steps: start of the current output interval
  std::vector<std::int64_t> steps_, taken_;
};

}  // namespace lnn::integration
