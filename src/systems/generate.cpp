// Derivative and trajectory datasets from the analytic systems.
#include "lnn/generate.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>

#include "core/random.hpp"
#include "cpu/cpu_backend.hpp"
#include "lnn/errors.hpp"
#include "systems/fresh_batch.hpp"

namespace lnn LNN_CXX_API {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::size_t kProgressBlock = 1 << 14;  // derivative samples per progress report

// The n intervals a box list stands for (empty stays empty).
std::vector<std::pair<double, double>> expand(const std::vector<std::pair<double, double>>& list,
                                              int n, const char* what) {
  if (list.empty()) return {};
  const auto un = static_cast<std::size_t>(n);
  if (list.size() != 1 && list.size() != un) {
    throw InvalidArgument(std::string(what) + " box has " + std::to_string(list.size()) +
                          " intervals; give 1 (for every coordinate) or n = " + std::to_string(n));
  }
  for (const auto& [lo, hi] : list) {
    if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo <= hi)) {
      throw InvalidArgument(std::string(what) + " interval [" + std::to_string(lo) + ", " +
                            std::to_string(hi) + ") is not a finite interval with lo <= hi");
    }
  }
  return list.size() == 1 ? std::vector<std::pair<double, double>>(un, list[0]) : list;
}

Json box_json(const StateBox& box, const System& system) {
  if (box.empty()) return system.info().sampling;
  Json j;
  for (const auto* list : {&box.q, &box.qdot}) {
    Json a = Json::array();
    for (const auto& [lo, hi] : expand(*list, system.dof(), "state")) a.push_back({lo, hi});
    j[list == &box.q ? "q" : "qdot"] = a;
  }
  return j;
}

double resolved_force_max(const System& system, double force_max) {
  if (!std::isfinite(force_max)) throw InvalidArgument("force_max must be finite");
  return force_max < 0 ? system.info().force_max : force_max;
}

bool any_actuated(const System& system) {
  const auto& a = system.info().actuated;
  return std::any_of(a.begin(), a.end(), [](std::uint8_t f) { return f != 0; });
}

// τ(t) of trajectory b (see TrajectorySetOptions::force_max) into tau (n).
void force_signal(const System& system, std::uint64_t seed, std::uint64_t b, double force_max,
                  double t, double* tau) {
  const int n = system.dof();
  for (int k = 0; k < n; ++k) {
    tau[k] = 0.0;
    if (system.info().actuated[static_cast<std::size_t>(k)] == 0) continue;
    double u[3];
    const std::uint64_t item = b * static_cast<std::uint64_t>(n) + static_cast<std::uint64_t>(k);
    core::uniforms(seed, core::RandomStream::forces, item, 3, u);
    const double amplitude = force_max * (2.0 * u[0] - 1.0);
    const double omega = 0.5 + 2.5 * u[1];
    const double phase = 2.0 * M_PI * u[2];
    tau[k] = amplitude * std::sin(omega * t + phase);
  }
}

}  // namespace

Dataset start_dataset(const System& system, DatasetKind kind, std::uint64_t seed) {
  Dataset d;
  d.kind = kind;
  d.system = system.name();
  d.n = system.dof();
  for (const SystemParameter& p : system.info().parameters) d.parameters.emplace_back(p.name, p.value);
  d.angles = system.info().angles;
  d.actuated = system.info().actuated;
  d.potential_scale = system.info().potential_scale;
  d.seed = seed;
  return d;
}


StateBox evaluation_box(const System& system, const StateBox& requested) {
  StateBox box = requested.empty() ? system.info().evaluation : requested;
  if (box.empty()) return box;
  if (box.q.empty() || box.qdot.empty()) {
    throw InvalidArgument("a state box needs intervals for both q and qdot");
  }
  box.q = expand(box.q, system.dof(), "q");
  box.qdot = expand(box.qdot, system.dof(), "qdot");
  return box;
}

std::string describe(const StateBox& box, const System& system) {
  if (box.empty()) return system.info().sampling;
  const StateBox full = evaluation_box(system, box);
  const auto& names = system.info().coordinates;
  auto number = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return std::string(buf);
  };
  std::string out;
  for (const bool velocity : {false, true}) {
    const auto& list = velocity ? full.qdot : full.q;
    // Coordinates with equal intervals share one "a, b ~ U[lo, hi)" entry.
    std::vector<bool> done(list.size(), false);
    for (std::size_t k = 0; k < list.size(); ++k) {
      if (done[k]) continue;
      std::string who;
      for (std::size_t j = k; j < list.size(); ++j) {
        if (done[j] || list[j] != list[k]) continue;
        done[j] = true;
        who += (who.empty() ? "" : ", ") + names[j] + (velocity ? "dot" : "");
      }
      out += (out.empty() ? "" : ", ") + who + " ~ U[" + number(list[k].first) + ", " +
             number(list[k].second) + ")";
    }
  }
  return out;
}

void sample_states(const System& system, const StateBox& box, std::uint64_t seed,
                   std::uint64_t first, std::span<double> states) {
  if (box.empty()) {
    system.sample_states(seed, first, states);
    return;
  }
  const int n = system.dof();
  const auto q = expand(box.q, n, "q"), qdot = expand(box.qdot, n, "qdot");
  if (q.empty() || qdot.empty()) {
    throw InvalidArgument("a state box needs intervals for both q and qdot");
  }
  const std::size_t width = 2 * static_cast<std::size_t>(n);
  if (states.size() % width != 0) throw InvalidArgument("states is not a multiple of 2n values");
  const std::size_t B = states.size() / width;
  cpu::CpuBackend<double>::for_each(static_cast<int>(B), [&](int i) {
    const auto s = static_cast<std::size_t>(i);
    std::vector<double> u(width);
    core::uniforms(seed, core::RandomStream::states, first + s, static_cast<int>(width), u.data());
    double* x = states.data() + s * width;
    for (std::size_t k = 0; k < width; ++k) {
      const auto un = static_cast<std::size_t>(n);
      const auto& [lo, hi] = k < un ? q[k] : qdot[k - un];
      x[k] = lo + (hi - lo) * u[k];
    }
  });
}

Dataset generate_derivatives(const System& system, const DerivativeSetOptions& options,
                             const ProgressFn& progress) {
  if (options.samples == 0) throw InvalidArgument("a derivative set needs at least one sample");
  const double force_max = resolved_force_max(system, options.force_max);
  const int n = system.dof();
  const auto un = static_cast<std::size_t>(n);
  const std::size_t P = options.samples;
  Dataset d = start_dataset(system, DatasetKind::derivatives, options.seed);
  Json gen;
  gen["kind"] = std::string(to_string(DatasetKind::derivatives));
  gen["samples"] = P;
  gen["sampling"] = box_json(options.box, system);
  if (any_actuated(system)) gen["force_max"] = force_max;
  d.generator = gen.dump();

  d.states.resize(P * 2 * un);
  d.accelerations.resize(P * un);
  d.energies.resize(P);
  d.status.resize(P);
  if (any_actuated(system)) d.tau.assign(P * un, 0.0);
  std::vector<SolveStatus> status(kProgressBlock);
  for (std::size_t first = 0; first < P; first += kProgressBlock) {
    const std::size_t count = std::min(kProgressBlock, P - first);
    const std::span<double> states(d.states.data() + first * 2 * un, count * 2 * un);
    sample_states(system, options.box, options.seed, first, states);
    std::span<const double> tau;
    if (!d.tau.empty()) {
      double* t = d.tau.data() + first * un;
      cpu::CpuBackend<double>::for_each(static_cast<int>(count), [&](int i) {
        const auto s = static_cast<std::size_t>(i);
        std::vector<double> u(un);
        core::random_forces(options.seed, first + s, n, d.actuated.data(), force_max, u.data(),
                            t + s * un);
      });
      tau = std::span<const double>(t, count * un);
    }
    system.accelerations(states, tau,
                         std::span<double>(d.accelerations.data() + first * un, count * un),
                         std::span<SolveStatus>(status.data(), count));
    system.energy(states, std::span<double>(d.energies.data() + first, count));
    for (std::size_t s = 0; s < count; ++s) d.status[first + s] = static_cast<std::int8_t>(status[s]);
    if (progress) progress(static_cast<double>(first + count) / static_cast<double>(P));
  }
  return d;
}

Dataset generate_trajectories(const System& system, const TrajectorySetOptions& options,
                              const ProgressFn& progress) {
  if (options.trajectories == 0) throw InvalidArgument("a trajectory set needs at least one trajectory");
  if (!(options.t_end > 0) || !std::isfinite(options.t_end)) {
    throw InvalidArgument("t_end must be finite and > 0");
  }
  if (!(options.rate > 0) || !std::isfinite(options.rate)) {
    throw InvalidArgument("the sample rate must be finite and > 0");
  }
  if (!(options.noise >= 0) || !std::isfinite(options.noise)) {
    throw InvalidArgument("the noise level must be finite and >= 0");
  }
  const double force_max = resolved_force_max(system, options.force_max);
  const bool forced = any_actuated(system) && force_max != 0.0;
  const int n = system.dof(), d = 2 * n;
  const auto un = static_cast<std::size_t>(n), ud = static_cast<std::size_t>(d);
  const std::size_t B = options.trajectories;
  const std::size_t S = output_time_count(options.t_end, options.rate, B, ud, "trajectory set");

  Dataset data = start_dataset(system, DatasetKind::trajectories, options.seed);
  Json gen;
  gen["kind"] = std::string(to_string(DatasetKind::trajectories));
  gen["trajectories"] = B;
  gen["t_end"] = options.t_end;
  gen["rate"] = options.rate;
  gen["noise"] = options.noise;
  gen["sampling"] = box_json(options.box, system);
  if (any_actuated(system)) gen["force_max"] = force_max;
  const IntegrateOptions& io = options.integrate;
  gen["integrator"] = to_string(io.method);
  if (io.method == Integrator::dopri5) {
    gen["rtol"] = io.rtol;
    gen["atol"] = io.atol;
  } else {
    gen["dt"] = io.dt;
  }
  data.generator = gen.dump();

  data.trajectories = B;
  data.times.resize(S);
  for (std::size_t k = 0; k < S; ++k) data.times[k] = static_cast<double>(k) / options.rate;
  std::vector<double> y0(B * ud);
  sample_states(system, options.box, options.seed, 0, y0);

  // Trajectories are independent and their results do not depend on the
  // batch (integrate.hpp), so groups of them are integrated on separate
  // threads, each group in lockstep on its own: one parallel region in all
  // instead of one per Runge–Kutta stage (whose barriers cost more than the
  // analytic right-hand side; measured 45 % of the time in libgomp).
  std::vector<double> truth(B * S * ud);
  std::vector<TrajectoryReport> reports(B);
  const int threads = omp_get_max_threads();
  const std::size_t groups = std::min(B, static_cast<std::size_t>(threads) * 4);
  std::vector<double> group_progress(groups, 0.0);
  std::exception_ptr failure;
#pragma omp parallel for schedule(dynamic, 1) if (groups > 1)
  for (std::size_t g = 0; g < groups; ++g) {
    const std::size_t b0 = g * B / groups, b1 = (g + 1) * B / groups, count = b1 - b0;
    try {
      // F(t, y) = [q̇, q̈(t, y)] for a batch of rows; buffers sized once.
      std::vector<double> tau_rows(forced ? count * un : 0), acc_rows(count * un);
      const BatchRhs<double> rhs = [&](std::span<const std::size_t> rows,
                                       std::span<const double> t, std::span<const double> y,
                                       std::span<double> dydt) {
        const std::size_t R = rows.size();
        std::span<const double> tau;
        if (forced) {
          for (std::size_t r = 0; r < R; ++r) {
            force_signal(system, options.seed, b0 + rows[r], force_max, t[r],
                         tau_rows.data() + r * un);
          }
          tau = std::span<const double>(tau_rows.data(), R * un);
        }
        system.accelerations(y, tau, std::span<double>(acc_rows.data(), R * un));
        for (std::size_t r = 0; r < R; ++r) {
          for (std::size_t k = 0; k < un; ++k) {
            dydt[r * ud + k] = y[r * ud + un + k];
            dydt[r * ud + un + k] = acc_rows[r * un + k];
          }
        }
      };
      // Progress is reported from the calling thread only (thread 0 of the team).
      const ProgressFn group_report = [&](double f) {
        group_progress[g] = f * static_cast<double>(count) / static_cast<double>(B);
        if (progress && omp_get_thread_num() == 0) {
          double total = 0;
          for (double p : group_progress) total += p;
          progress(std::min(total, 1.0));
        }
      };
      const std::vector<TrajectoryReport> r = integrate<double>(
          rhs, d, 0.0, std::span<const double>(y0.data() + b0 * ud, count * ud), data.times,
          std::span<double>(truth.data() + b0 * S * ud, count * S * ud), io, group_report);
      std::copy(r.begin(), r.end(), reports.begin() + static_cast<std::ptrdiff_t>(b0));
    } catch (...) {
#pragma omp critical(lnn_generate_failure)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  if (progress) progress(1.0);

  // Exact q̈, τ and E at every sample point.
  const std::size_t P = B * S;
  if (forced) {
    data.tau.resize(P * un);
    for (std::size_t b = 0; b < B; ++b) {
      for (std::size_t k = 0; k < S; ++k) {
        force_signal(system, options.seed, b, force_max, data.times[k], data.tau.data() + (b * S + k) * un);
      }
    }
  } else if (any_actuated(system)) {
    data.tau.assign(P * un, 0.0);
  }
  data.accelerations.resize(P * un);
  data.energies.resize(P);
  system.accelerations(truth, data.tau, data.accelerations);
  system.energy(truth, data.energies);
  for (const TrajectoryReport& r : reports) {
    data.status.push_back(static_cast<std::int8_t>(r.status));
    data.accepted.push_back(r.accepted);
    data.rejected.push_back(r.rejected);
  }
  if (options.noise > 0) {
    data.states.resize(P * ud);
    cpu::CpuBackend<double>::for_each(static_cast<int>(P), [&](int i) {
      const auto p = static_cast<std::size_t>(i);
      std::vector<double> z(ud);
      core::normals(options.seed, core::RandomStream::noise, p, d, z.data());
      for (std::size_t k = 0; k < ud; ++k) {
        data.states[p * ud + k] = truth[p * ud + k] + options.noise * z[k];
      }
    });
    data.states_true = std::move(truth);
  } else {
    data.states = std::move(truth);
  }
  // A sample the integrator only interpolated may still give a non-finite
  // q̈ or E: that trajectory failed (a dataset holds NaN only at failed points).
  mark_non_finite_trajectories(data);
  return data;
}

namespace systems LNN_HIDDEN {

FreshSpec fresh_spec(const System& system, const StateBox& box, std::uint64_t seed) {
  FreshSpec f;
  const int n = system.dof();
  if (n > kMaxDof) throw InvalidArgument("fresh_spec: too many coordinates");
  f.n = n;
  f.seed = seed;
  if (!box.empty()) {
    const auto q = expand(box.q, n, "q"), qdot = expand(box.qdot, n, "qdot");
    if (q.empty() || qdot.empty()) {
      throw InvalidArgument("a state box needs intervals for both q and qdot");
    }
    f.box = true;
    for (int k = 0; k < n; ++k) {
      const auto uk = static_cast<std::size_t>(k);
      f.lo[k] = q[uk].first, f.hi[k] = q[uk].second;
      f.lo[n + k] = qdot[uk].first, f.hi[n + k] = qdot[uk].second;
    }
  }
  const std::vector<std::uint8_t>& a = system.info().actuated;
  for (int k = 0; k < n && static_cast<std::size_t>(k) < a.size(); ++k) {
    f.actuated[k] = a[static_cast<std::size_t>(k)] != 0 ? 1 : 0;
    f.forced = f.forced || f.actuated[k] != 0;
  }
  f.force_max = system.info().force_max;
  return f;
}

}  // namespace systems
}  // namespace lnn
