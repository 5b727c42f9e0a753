// Rollouts of learned models and analytic systems (include/lnn/rollout.hpp).
#include "lnn/rollout.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <type_traits>

#include "lnn/any_engine.hpp"
#include "lnn/errors.hpp"
#include "lnn/model_file.hpp"

namespace lnn LNN_CXX_API {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class AnalyticDynamics final : public Dynamics {
 public:
  AnalyticDynamics(const System& system, SolveOptions solve) : system_(system), solve_(solve) {}
  int dof() const override { return system_.dof(); }
  void accelerations(std::span<const double> states, std::span<double> acc) override {
    system_.accelerations(states, {}, acc, {}, solve_);
  }
  void derivatives(std::span<const double> states, std::span<double> grad,
                   std::span<double> hess) override {
    L_.resize(states.size() / (2 * static_cast<std::size_t>(dof())));
    system_.gradient(states, L_, grad);
    system_.hessian(states, hess);
  }
  void energy(std::span<const double> states, std::span<double> E) override {
    system_.energy(states, E);
  }
  double epsilon() const override { return std::numeric_limits<double>::epsilon(); }

 private:
  const System& system_;
  SolveOptions solve_;
  std::vector<double> L_;
};

// A learned model through AnyEngine, which converts the double states to
// the evaluation precision and the results back (nothing for double).
class LearnedDynamics final : public Dynamics {
 public:
  explicit LearnedDynamics(AnyEngine& engine) : engine_(engine) {}
  LearnedDynamics(std::unique_ptr<AnyEngine> engine, std::unique_ptr<AnyModel> model = nullptr)
      : model_(std::move(model)), owned_(std::move(engine)), engine_(*owned_) {}
  int dof() const override { return engine_.dof(); }
  void accelerations(std::span<const double> states, std::span<double> acc) override {
    engine_.accelerations<double>(states, {}, acc);
  }
  void derivatives(std::span<const double> states, std::span<double> grad,
                   std::span<double> hess) override {
    engine_.hessian<double>(states, hess, grad);
  }
  void energy(std::span<const double> states, std::span<double> E) override {
    engine_.energy<double>(states, E);
  }
  double epsilon() const override { return engine_.epsilon(); }

 private:
  std::unique_ptr<AnyModel> model_;  // when the dynamics own their model (declared first: outlives the engine)
  std::unique_ptr<AnyEngine> owned_;
  AnyEngine& engine_;
};

}  // namespace

std::unique_ptr<Dynamics> analytic_dynamics(const System& system, SolveOptions solve) {
  return std::make_unique<AnalyticDynamics>(system, solve);
}

template <class T>
std::unique_ptr<Dynamics> learned_dynamics(const Model<T>& model, EngineOptions options) {
  return std::make_unique<LearnedDynamics>(std::make_unique<AnyEngine>(model, options));
}
std::unique_ptr<Dynamics> learned_dynamics(AnyEngine& engine) {
  return std::make_unique<LearnedDynamics>(engine);
}
namespace {

std::unique_ptr<Dynamics> load_model_dynamics(const std::string& model, int n,
                                              const std::string& system_name,
                                              bool native_precision, EngineOptions options) {
  auto loaded = std::make_unique<AnyModel>(AnyModel::load(model));
  if (loaded->spec().n != n) {
    throw InvalidArgument(model + " has n = " + std::to_string(loaded->spec().n) + " but " +
                          system_name + " has n = " + std::to_string(n));
  }
  // A float file in double unless native: its weights are exact there.
  const Precision p = native_precision ? loaded->precision() : Precision::f64;
  auto engine = std::make_unique<AnyEngine>(*loaded, options, p);
  return std::make_unique<LearnedDynamics>(std::move(engine), std::move(loaded));
}

}  // namespace

std::unique_ptr<Dynamics> load_dynamics(const std::string& model, const System& system,
                                        bool native_precision, EngineOptions options) {
  if (model == "analytic") return analytic_dynamics(system, options.solve);
  return load_model_dynamics(model, system.dof(), system.name(), native_precision, options);
}

std::unique_ptr<Dynamics> load_dynamics(const std::string& model, int n, bool native_precision,
                                        EngineOptions options) {
  if (model == "analytic") {
    throw InvalidArgument("'analytic' needs a catalogue system; this one has only data");
  }
  return load_model_dynamics(model, n, "the system", native_precision, options);
}
template std::unique_ptr<Dynamics> learned_dynamics<float>(const Model<float>&, EngineOptions);
template std::unique_ptr<Dynamics> learned_dynamics<double>(const Model<double>&, EngineOptions);

std::vector<TrajectoryReport> rollout(Dynamics& dynamics, double t0, std::span<const double> y0,
                                      std::span<const double> times, std::span<double> out,
                                      const IntegrateOptions& options,
                                      const ProgressFn& progress) {
  const int n = dynamics.dof();
  const auto un = static_cast<std::size_t>(n), ud = 2 * un;
  if (options.method == Integrator::variational) {
    IntegrateOptions o = options;
    if (o.newton_tol == 0.0) o.newton_tol = dynamics.epsilon() > 1e-10 ? 1e-4 : 1e-10;
    const BatchLagrangian derivatives = [&](std::span<const std::size_t>,
                                            std::span<const double> x, std::span<double> grad,
                                            std::span<double> hess) {
      dynamics.derivatives(x, grad, hess);
    };
    return integrate_variational(derivatives, n, t0, y0, times, out, o, progress);
  }
  std::vector<double> acc(y0.size() / 2);
  const BatchRhs<double> rhs = [&](std::span<const std::size_t> rows, std::span<const double>,
                                   std::span<const double> y, std::span<double> dydt) {
    const std::size_t R = rows.size();
    const std::span<double> a(acc.data(), R * un);
    dynamics.accelerations(y, a);
    for (std::size_t r = 0; r < R; ++r) {
      for (std::size_t k = 0; k < un; ++k) {
        dydt[r * ud + k] = y[r * ud + un + k];
        dydt[r * ud + un + k] = a[r * un + k];
      }
    }
  };
  return integrate<double>(rhs, 2 * n, t0, y0, times, out, options, progress);
}

SeriesStats series_stats(std::span<const double> t, std::span<const double> e) {
  if (t.size() != e.size()) {
    throw InvalidArgument("series_stats: " + std::to_string(t.size()) + " times but " +
                          std::to_string(e.size()) + " values");
  }
  const std::size_t S = e.size();
  if (S == 0) return {kNaN, kNaN, kNaN, kNaN};
  SeriesStats s{0.0, std::abs(e[S - 1]), 0.0, kNaN};
  double t_mean = 0, e_mean = 0;
  for (std::size_t k = 0; k < S; ++k) {
    s.max = std::max(s.max, std::abs(e[k]));
    s.mean += std::abs(e[k]);
    t_mean += t[k];
    e_mean += e[k];
  }
  if (!std::isfinite(s.mean)) s.max = kNaN;  // std::max drops NaN
  const auto dS = static_cast<double>(S);
  s.mean /= dS;
  t_mean /= dS;
  e_mean /= dS;
  if (S >= 2) {
    double stt = 0, ste = 0;
    for (std::size_t k = 0; k < S; ++k) {
      stt += (t[k] - t_mean) * (t[k] - t_mean);
      ste += (t[k] - t_mean) * (e[k] - e_mean);
    }
    s.slope = stt > 0 ? ste / stt : kNaN;
  }
  return s;
}

Summary summarize(std::vector<double> values) {
  Summary s;
  s.count = values.size();
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(values.size());
  // Percentiles by linear interpolation between order statistics (NumPy's default).
  auto percentile = [&](double q) {
    const double pos = q * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, values.size() - 1);
    return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
  };
  s.median = percentile(0.5);
  s.p90 = percentile(0.9);
  s.max = values.back();
  return s;
}

double wrapped_difference(double a, double b, bool angle) {
  double d = a - b;
  if (angle && std::isfinite(d)) {
    constexpr double two_pi = 2.0 * std::numbers::pi;
    d = std::remainder(d, two_pi);  // in [−π, π]
    if (d == -std::numbers::pi) d = std::numbers::pi;
  }
  return d;
}

}  // namespace lnn
