// Batched RK4 and Dormand–Prince 5(4) (include/lnn/integrate.hpp).
//
// All trajectories advance in lockstep by stage: a compact, ascending list of
// the running trajectories is handed to F once per stage, while per-trajectory
// arrays (indexed by trajectory, not by position in the list) keep each one's
// time, step size and stage derivatives. A trajectory that finishes or fails
// leaves the list; nothing is reordered, so the arithmetic of one trajectory
// never depends on which others share the batch.
#include "lnn/integrate.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

#include "integrate/lockstep.hpp"
#include "lnn/errors.hpp"

namespace lnn LNN_CXX_API {
namespace {

using integration::all_finite;

// Dormand–Prince 5(4) (Hairer, Nørsett & Wanner, Solving ODEs I, Table II.5.2).
// Row i of kA builds the state of stage i + 1 (0-based) from k_0 … k_i; the
// last row is the fifth-order solution itself, so its derivative k_6 is the
// first stage of the next step (FSAL).
constexpr int kDopriStages = 7;
constexpr std::array<double, kDopriStages> kC{0.0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1.0, 1.0};
constexpr std::array<std::array<double, kDopriStages - 1>, kDopriStages - 1> kA{{
    {1.0 / 5},
    {3.0 / 40, 9.0 / 40},
    {44.0 / 45, -56.0 / 15, 32.0 / 9},
    {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
    {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
    {35.0 / 384, 0.0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84},
}};
// Fifth- minus fourth-order weights: h·Σ kE_j k_j estimates the local error.
constexpr std::array<double, kDopriStages> kE{
    71.0 / 57600, 0.0, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40};

// Step-size controller (HNW II.4): h_new = h·clamp(0.9·err^(−1/5), 0.2, 10).
constexpr double kSafety = 0.9;
constexpr double kFacMin = 0.2;
constexpr double kFacMax = 10.0;

template <class T>
void validate(int d, std::size_t y0_size, std::size_t out_size, T t0, std::span<const T> times,
              const IntegrateOptions& o) {
  integration::validate_common("integrate", d, y0_size, out_size, t0, times, o);
  const auto positive = [](double x) { return std::isfinite(x) && x > 0.0; };
  const auto non_negative = [](double x) { return std::isfinite(x) && x >= 0.0; };
  switch (o.method) {
    case Integrator::dopri5:
      if (!positive(o.rtol)) throw InvalidArgument("integrate: rtol must be finite and > 0");
      if (!positive(o.atol)) throw InvalidArgument("integrate: atol must be finite and > 0");
      if (!non_negative(o.h0)) throw InvalidArgument("integrate: h0 must be finite and >= 0");
      if (!non_negative(o.h_min)) {
        throw InvalidArgument("integrate: h_min must be finite and >= 0");
      }
      if (!non_negative(o.h_max)) {
        throw InvalidArgument("integrate: h_max must be finite and >= 0");
      }
      if (o.h_max > 0.0 && o.h_max < o.h_min) {
        throw InvalidArgument("integrate: h_max must be >= h_min");
      }
      break;
    case Integrator::rk4:
      if (!positive(o.dt)) throw InvalidArgument("integrate: dt must be finite and > 0");
      break;
    case Integrator::variational:
      throw InvalidArgument(
          "integrate: the variational integrator needs the Lagrangian's derivatives, not a "
          "right-hand side: use integrate_variational() or rollout()");
    default:
      throw InvalidArgument("integrate: unknown integrator");
  }
}

// One call of integrate(): the compact stage buffers, all sized for B rows up
// front so the step loop never allocates; the bookkeeping is Lockstep's.
template <class T>
class Integration : integration::Lockstep<T> {
  using Base = integration::Lockstep<T>;
  using Base::active_, Base::B_, Base::d_, Base::h_, Base::next_, Base::options_,
      Base::reports_, Base::running_, Base::t_, Base::times_, Base::y_;
  using Base::emit, Base::fail, Base::finish, Base::prune, Base::report_progress, Base::row;

 public:
  Integration(const BatchRhs<T>& rhs, std::size_t d, T t0, std::span<const T> y0,
              std::span<const T> times, std::span<T> out, const IntegrateOptions& options,
              const ProgressFn& progress, int stages)
      : Base(d, t0, y0, times, out, options, progress),
        rhs_(rhs),
        k_(static_cast<std::size_t>(stages) * B_ * d),
        ts_(B_),
        ys_(B_ * d),
        fs_(B_ * d) {}

  std::vector<TrajectoryReport> rk4();
  std::vector<TrajectoryReport> dopri5();

 private:
  T* stage(std::size_t j, std::size_t b) { return k_.data() + (j * B_ + b) * d_; }

  // Fills the compact stage buffers with fill(b, t, y) for every running
  // trajectory, calls F once, and stores the derivatives as stage j.
  template <class Fill>
  void evaluate(std::size_t j, Fill fill) {
    const std::size_t R = active_.size();
    if (R == 0) return;
    for (std::size_t r = 0; r < R; ++r) fill(active_[r], ts_[r], ys_.data() + r * d_);
    rhs_(std::span<const std::size_t>(active_.data(), R), std::span<const T>(ts_.data(), R),
         std::span<const T>(ys_.data(), R * d_), std::span<T>(fs_.data(), R * d_));
    for (std::size_t r = 0; r < R; ++r) {
      const std::size_t b = active_[r];
      const T* f = fs_.data() + r * d_;
      ++reports_[b].evaluations;
      if (!all_finite(f, d_)) {
        fail(b, TrajectoryStatus::non_finite);
        continue;
      }
      std::copy(f, f + d_, stage(j, b));
    }
    prune();
  }

  // Smallest step allowed at time t.
  T h_min(T t) const {
    if (options_.h_min > 0.0) return static_cast<T>(options_.h_min);
    return T(16) * std::numeric_limits<T>::epsilon() * std::max(T(1), std::abs(t));
  }
  T limit(T h) const {
    return options_.h_max > 0.0 ? std::min(h, static_cast<T>(options_.h_max)) : h;
  }

  void initial_steps();
  void dopri5_accept_or_reject(std::size_t b);

  const BatchRhs<T>& rhs_;
  std::vector<T> k_;             // stages × B × d, the stage derivatives
  std::vector<T> ts_, ys_, fs_;  // compact: the rows handed to F

  // dopri5 only (sized on first use, before the loop).
  std::vector<T> step_;                     // the step taken: h_ cut to the next output time
  std::vector<T> t_new_;                    // t_ + step_, exactly the output time when cut
  std::vector<std::uint8_t> cut_;           // step_ was cut from h_
  std::vector<std::uint8_t> after_reject_;  // the last attempt was rejected
  std::vector<T> y_new_;                    // B × d, the fifth-order solution
};

template <class T>
std::vector<TrajectoryReport> Integration<T>::rk4() {
  this->plan_fixed_steps();
  while (!active_.empty()) {
    for (std::size_t b : active_) {
      if (reports_[b].accepted >= options_.max_steps) fail(b, TrajectoryStatus::max_steps);
    }
    prune();
    evaluate(0, [&](std::size_t b, T& t, T* y) {
      t = t_[b];
      std::copy(row(y_, b), row(y_, b) + d_, y);
    });
    for (std::size_t j = 1; j < 3; ++j) {
      evaluate(j, [&](std::size_t b, T& t, T* y) {
        const T half = h_[b] / T(2);
        const T* y0 = row(y_, b);
        const T* k = stage(j - 1, b);
        t = t_[b] + half;
        for (std::size_t i = 0; i < d_; ++i) y[i] = y0[i] + half * k[i];
      });
    }
    evaluate(3, [&](std::size_t b, T& t, T* y) {
      const T* y0 = row(y_, b);
      const T* k = stage(2, b);
      t = this->fixed_step_end(b);
      for (std::size_t i = 0; i < d_; ++i) y[i] = y0[i] + h_[b] * k[i];
    });
    for (std::size_t b : active_) {
      T* y = row(y_, b);
      const T *k1 = stage(0, b), *k2 = stage(1, b), *k3 = stage(2, b), *k4 = stage(3, b);
      const T sixth = h_[b] / T(6);
      for (std::size_t i = 0; i < d_; ++i) {
        y[i] += sixth * (k1[i] + T(2) * k2[i] + T(2) * k3[i] + k4[i]);
      }
      ++reports_[b].accepted;
      if (!all_finite(y, d_)) {
        fail(b, TrajectoryStatus::non_finite);
        continue;
      }
      this->fixed_step_done(b);
    }
    prune();
    report_progress();
  }
  return finish();
}

// Hairer's starting step (HNW I, II.4, "hinit"), with RMS norms weighted by
// atol + rtol·|y0|: a first guess h from |y0|/|f0|, one explicit Euler probe
// to estimate the second derivative, then h with local error ≈ 0.01.
// Needs k_0 = F(t0, y0); uses stage 1 for the probe's derivative.
template <class T>
void Integration<T>::initial_steps() {
  const T rtol = static_cast<T>(options_.rtol), atol = static_cast<T>(options_.atol);
  const T n = static_cast<T>(d_);
  const auto weight = [&](T y) { return atol + rtol * std::abs(y); };
  const auto norm_f0 = [&](std::size_t b) {
    const T *y = row(y_, b), *f = stage(0, b);
    T s = 0;
    for (std::size_t i = 0; i < d_; ++i) s += (f[i] / weight(y[i])) * (f[i] / weight(y[i]));
    return std::sqrt(s / n);
  };
  evaluate(1, [&](std::size_t b, T& t, T* y1) {
    const T *y = row(y_, b), *f = stage(0, b);
    T s = 0;
    for (std::size_t i = 0; i < d_; ++i) s += (y[i] / weight(y[i])) * (y[i] / weight(y[i]));
    const T d0 = std::sqrt(s / n), d1 = norm_f0(b);
    const T h = d0 < T(1e-5) || d1 < T(1e-5) ? T(1e-6) : T(0.01) * d0 / d1;
    h_[b] = limit(h);
    t = t_[b] + h_[b];
    for (std::size_t i = 0; i < d_; ++i) y1[i] = y[i] + h_[b] * f[i];
  });
  for (std::size_t b : active_) {
    const T *y = row(y_, b), *f0 = stage(0, b), *f1 = stage(1, b);
    T s = 0;
    for (std::size_t i = 0; i < d_; ++i) {
      const T q = (f1[i] - f0[i]) / weight(y[i]);
      s += q * q;
    }
    const T d2 = std::sqrt(s / n) / h_[b];
    const T m = std::max(norm_f0(b), d2);
    const T h1 = m <= T(1e-15) ? std::max(T(1e-6), h_[b] * T(1e-3)) : std::pow(T(0.01) / m, T(0.2));
    // The estimate is only a start: below h_min it would fail at once, while
    // a too-large h at h_min is simply rejected and shrunk by the controller.
    h_[b] = std::max(limit(std::min(T(100) * h_[b], h1)), h_min(t_[b]));
  }
}

template <class T>
void Integration<T>::dopri5_accept_or_reject(std::size_t b) {
  const T rtol = static_cast<T>(options_.rtol), atol = static_cast<T>(options_.atol);
  const T h = step_[b];
  const T *y = row(y_, b), *y_new = row(y_new_, b);
  T s = 0;
  for (std::size_t i = 0; i < d_; ++i) {
    T e = 0;
    for (std::size_t j = 0; j < kDopriStages; ++j) e += static_cast<T>(kE[j]) * stage(j, b)[i];
    const T q = h * e / (atol + rtol * std::max(std::abs(y[i]), std::abs(y_new[i])));
    s += q * q;
  }
  const T err = std::sqrt(s / static_cast<T>(d_));
  // err = 0 gives +inf here and so the largest factor; err = inf or NaN
  // (overflow in the estimate) fails every comparison and gets the smallest.
  const T fac = static_cast<T>(kSafety) * std::pow(err, T(-0.2));
  const T fac_min = static_cast<T>(kFacMin), fac_max = static_cast<T>(kFacMax);
  if (err <= T(1)) {
    ++reports_[b].accepted;
    if (!all_finite(y_new, d_)) {
      fail(b, TrajectoryStatus::non_finite);
      return;
    }
    T grow = std::min(fac > fac_min ? fac : fac_min, fac_max);
    if (after_reject_[b]) grow = std::min(grow, T(1));  // no growth right after a rejection
    // A step cut to land on an output time says nothing against the longer
    // step the controller had chosen: keep that one unless it must shrink.
    h_[b] = cut_[b] && grow >= T(1) ? std::max(h * grow, h_[b]) : h * grow;
    after_reject_[b] = 0;
    t_[b] = t_new_[b];
    std::copy(y_new, y_new + d_, row(y_, b));
    std::copy(stage(kDopriStages - 1, b), stage(kDopriStages - 1, b) + d_, stage(0, b));
    emit(b);
  } else {
    ++reports_[b].rejected;
    h_[b] = h * (fac > fac_min ? fac : fac_min);
    after_reject_[b] = 1;
  }
  h_[b] = limit(h_[b]);
}

template <class T>
std::vector<TrajectoryReport> Integration<T>::dopri5() {
  step_.assign(B_, T(0));
  t_new_.assign(B_, T(0));
  cut_.assign(B_, 0);
  after_reject_.assign(B_, 0);
  y_new_.assign(B_ * d_, T(0));

  evaluate(0, [&](std::size_t b, T& t, T* y) {
    t = t_[b];
    std::copy(row(y_, b), row(y_, b) + d_, y);
  });
  if (options_.h0 > 0.0) {
    for (std::size_t b : active_) h_[b] = limit(static_cast<T>(options_.h0));
  } else {
    initial_steps();
  }

  while (!active_.empty()) {
    for (std::size_t b : active_) {
      const TrajectoryReport& r = reports_[b];
      if (r.accepted + r.rejected >= options_.max_steps) {
        fail(b, TrajectoryStatus::max_steps);
        continue;
      }
      const T h = h_[b], target = times_[next_[b]];
      if (h < h_min(t_[b])) {
        fail(b, TrajectoryStatus::step_underflow);
        continue;
      }
      cut_[b] = h >= target - t_[b];
      step_[b] = cut_[b] ? target - t_[b] : h;
      t_new_[b] = cut_[b] ? target : t_[b] + h;
      // Only reachable with a user h_min below the spacing of T near t.
      if (t_new_[b] == t_[b]) fail(b, TrajectoryStatus::step_underflow);
    }
    prune();
    for (std::size_t j = 1; j < kDopriStages; ++j) {
      const auto& a = kA[j - 1];
      const bool last = j + 1 == kDopriStages;
      evaluate(j, [&](std::size_t b, T& t, T* y) {
        const T h = step_[b];
        const T* y0 = row(y_, b);
        t = last ? t_new_[b] : t_[b] + static_cast<T>(kC[j]) * h;
        for (std::size_t i = 0; i < d_; ++i) {
          T sum = 0;
          for (std::size_t l = 0; l < j; ++l) sum += static_cast<T>(a[l]) * stage(l, b)[i];
          y[i] = y0[i] + h * sum;
        }
        if (last) std::copy(y, y + d_, row(y_new_, b));
      });
    }
    for (std::size_t b : active_) dopri5_accept_or_reject(b);
    prune();
    report_progress();
  }
  return finish();
}

}  // namespace

std::size_t output_time_count(double t_end, double rate, std::size_t count,
                              std::size_t values_per_time, std::string_view what) {
  const std::string w(what);
  if (!std::isfinite(t_end) || !(t_end >= 0) || !std::isfinite(rate) || !(rate > 0)) {
    throw InvalidArgument(w + ": need a finite t_end >= 0 and a finite rate > 0");
  }
  const double last = std::floor(t_end * rate + 1e-9);
  constexpr double kMaxTimes = 4294967296.0;  // 2^32
  if (!(last < kMaxTimes)) {
    char product[32];
    std::snprintf(product, sizeof product, "%.3g", t_end * rate);
    throw InvalidArgument(w + ": t_end x rate = " + product +
                          " output times is too many (at most 2^32)");
  }
  const auto times = static_cast<std::size_t>(last) + 1;
  std::size_t total = 0;
  if (__builtin_mul_overflow(times, count, &total) ||
      __builtin_mul_overflow(total, values_per_time, &total) ||
      total > std::numeric_limits<std::size_t>::max() / sizeof(double)) {
    throw InvalidArgument(w + ": " + std::to_string(count) + " trajectories x " +
                          std::to_string(times) + " output times is too large to hold");
  }
  return times;
}

template <class T>
std::vector<TrajectoryReport> integrate(const BatchRhs<T>& rhs, int d, T t0, std::span<const T> y0,
                                        std::span<const T> times, std::span<T> out,
                                        const IntegrateOptions& options,
                                        const ProgressFn& progress) {
  validate(d, y0.size(), out.size(), t0, times, options);
  if (!rhs) throw InvalidArgument("integrate: rhs is empty");
  const auto ud = static_cast<std::size_t>(d);
  if (options.method == Integrator::rk4) {
    return Integration<T>(rhs, ud, t0, y0, times, out, options, progress, 4).rk4();
  }
  return Integration<T>(rhs, ud, t0, y0, times, out, options, progress, kDopriStages).dopri5();
}

template std::vector<TrajectoryReport> integrate<float>(const BatchRhs<float>&, int, float,
                                                        std::span<const float>,
                                                        std::span<const float>, std::span<float>,
                                                        const IntegrateOptions&, const ProgressFn&);
template std::vector<TrajectoryReport> integrate<double>(const BatchRhs<double>&, int, double,
                                                         std::span<const double>,
                                                         std::span<const double>, std::span<double>,
                                                         const IntegrateOptions&,
                                                         const ProgressFn&);

}  // namespace lnn
