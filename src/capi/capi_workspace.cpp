// The C API (include/lnn/lnn.h): workspaces, evaluation and integration.
// Arrays cross the boundary as double; a workspace evaluating in float
// converts through its own buffers, one evaluating in double passes the
// caller's arrays straight to the engine.
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "capi/capi_detail.hpp"
#include "common/enum_names.hpp"
#include "cuda/memory_kind.hpp"
#include "lnn/engine.hpp"
#include "lnn/info.hpp"
#include "lnn/integrate.hpp"
#include "lnn/rollout.hpp"

namespace {

using lnn::InvalidArgument;
using lnn::capi::require;

}  // namespace

struct lnn_workspace {
  const lnn_model* model = nullptr;
  std::size_t max_batch = 0;
  int device = LNN_DEVICE_CPU;
  int n = 0;
  // Evaluates in the workspace's precision; the caller's double arrays are
  // converted where they live (include/lnn/any_engine.hpp).
  std::unique_ptr<lnn::AnyEngine> engine;
  std::vector<double> y0;  // lnn_step's copy of its in/out states
  std::vector<lnn::SolveStatus> status;  // lnn_accelerations' statuses, on the host
  std::vector<int> status_int;

  std::size_t width() const { return 2 * static_cast<std::size_t>(n); }
  std::size_t dof() const { return static_cast<std::size_t>(n); }
};

namespace {

void check_batch(const lnn_workspace* ws, int64_t B) {
  require(ws, "workspace");
  if (B < 1 || static_cast<std::uint64_t>(B) > ws->max_batch) {
    throw InvalidArgument("batch size B = " + std::to_string(B) + " is outside 1 … " +
                          std::to_string(ws->max_batch) + " (the workspace's max_batch)");
  }
}

// Arrays must be in the memory of the workspace's device.
void check_memory(const lnn_workspace* ws,
                  std::initializer_list<std::pair<const void*, const char*>> arrays) {
  for (const auto& [p, name] : arrays) {
    if (p == nullptr) continue;
    const bool on_device = lnn::detail::is_device_pointer(p);
    if (ws->device == LNN_DEVICE_CPU && on_device) {
      throw lnn::capi::WrongDevice(std::string(name) +
                                   " is CUDA device memory; this workspace is on the CPU and "
                                   "needs host arrays");
    }
    if (ws->device == LNN_DEVICE_CUDA && !on_device) {
      throw lnn::capi::WrongDevice(std::string(name) +
                                   " is host memory; this workspace is on a CUDA device and "
                                   "needs device arrays");
    }
  }
}

lnn::EngineOptions engine_options(const lnn_workspace_options& o) {
  lnn::EngineOptions e;
  e.device = lnn::enum_names::from_number(lnn::enum_names::kDevices, o.device, "options->device",
                                          "LNN_DEVICE_");
  e.solve.method = lnn::enum_names::from_number(lnn::enum_names::kSolveMethods, o.solve,
                                                "options->solve", "LNN_SOLVE_");
  if (!(std::isfinite(o.damping) && o.damping >= 0)) {
    throw InvalidArgument("options->damping must be finite and >= 0");
  }
  if (!(std::isfinite(o.rcond) && o.rcond >= 0 && o.rcond < 1)) {
    throw InvalidArgument("options->rcond must be in [0, 1)");
  }
  if (o.chunk < 1) throw InvalidArgument("options->chunk must be >= 1");
  e.solve.damping = o.damping;
  e.solve.rcond = o.rcond;
  e.chunk = o.chunk;
  return e;
}

lnn::IntegrateOptions integrate_options(const lnn_integrate_options* c) {
  lnn_integrate_options o;
  lnn_integrate_options_default(&o);
  if (c != nullptr) o = *c;
  lnn::IntegrateOptions r;
  r.method = lnn::enum_names::from_number(lnn::enum_names::kIntegrators, o.integrator,
                                          "options->integrator", "LNN_INTEGRATOR_");
  // Every field is checked, used by the chosen integrator or not: a field
  // that is NaN or negative is a struct that was never initialized.
  const std::pair<double, const char*> positive[] = {
      {o.dt, "dt"}, {o.rtol, "rtol"}, {o.atol, "atol"}};
  for (const auto& [v, name] : positive) {
    if (!(std::isfinite(v) && v > 0)) {
      throw InvalidArgument(std::string("options->") + name + " must be finite and > 0");
    }
  }
  const std::pair<double, const char*> non_negative[] = {
      {o.h0, "h0"}, {o.h_min, "h_min"}, {o.h_max, "h_max"}, {o.newton_tol, "newton_tol"}};
  for (const auto& [v, name] : non_negative) {
    if (!(std::isfinite(v) && v >= 0)) {
      throw InvalidArgument(std::string("options->") + name + " must be finite and >= 0");
    }
  }
  if (o.max_steps < 0) throw InvalidArgument("options->max_steps must be >= 0");
  if (o.newton_max_iterations < 1) {
    throw InvalidArgument("options->newton_max_iterations must be >= 1");
  }
  r.dt = o.dt;
  r.rtol = o.rtol;
  r.atol = o.atol;
  r.h0 = o.h0;
  r.h_min = o.h_min;
  r.h_max = o.h_max;
  r.max_steps = o.max_steps;
  r.newton_tol = o.newton_tol;
  r.newton_max_iterations = o.newton_max_iterations;
  return r;
}

// Integrates the model's dynamics (the network in the workspace's precision,
// the state in double) through lnn::rollout, the same code as the C++ API's
// rollouts.
std::vector<lnn::TrajectoryReport> run_integration(lnn_workspace* ws, double t0,
                                                   std::span<const double> y0,
                                                   std::span<const double> times,
                                                   std::span<double> out,
                                                   const lnn::IntegrateOptions& options) {
  return lnn::rollout(*lnn::learned_dynamics(*ws->engine), t0, y0, times, out, options);
}

// A CUDA workspace takes device arrays (lnn.h). The engine reads and writes
// them in place; but the integrators (lnn_rollout, lnn_step) are host code,
// so their arrays pass through host copies: inputs are copied in, outputs
// copied back by flush() once the call has succeeded. A CPU workspace's
// arrays pass through as they are.
class Mirror {
 public:
  explicit Mirror(const lnn_workspace* ws) : device_(ws->device == LNN_DEVICE_CUDA) {}

  template <class U>
  const U* in(const U* p, std::size_t count) {
    if (!device_ || p == nullptr) return p;
    U* h = buffer<U>(count);
    lnn::detail::copy_device_to_host(h, p, count * sizeof(U));
    return h;
  }
  template <class U>
  U* out(U* p, std::size_t count) {
    if (!device_ || p == nullptr) return p;
    U* h = buffer<U>(count);
    back_.push_back({p, h, count * sizeof(U)});
    return h;
  }
  template <class U>
  U* in_out(U* p, std::size_t count) {
    if (!device_ || p == nullptr) return p;
    U* h = out(p, count);
    lnn::detail::copy_device_to_host(h, p, count * sizeof(U));
    return h;
  }
  void flush() {
    for (const Back& b : back_) lnn::detail::copy_host_to_device(b.device, b.host, b.bytes);
    back_.clear();
  }

 private:
  template <class U>
  U* buffer(std::size_t count) {
    // operator new's alignment suits every array type of lnn.h
    keep_.push_back(std::make_unique<unsigned char[]>(count * sizeof(U) + 1));
    return reinterpret_cast<U*>(keep_.back().get());
  }
  struct Back {
    void* device;
    const void* host;
    std::size_t bytes;
  };
  bool device_;
  std::vector<std::unique_ptr<unsigned char[]>> keep_;
  std::vector<Back> back_;
};

// The C API takes and hands out the C++ enums' values (enum_names::from_number
// checks what comes in): they must be the C header's.
static_assert(static_cast<int>(lnn::Device::cpu) == LNN_DEVICE_CPU);
static_assert(static_cast<int>(lnn::Device::cuda) == LNN_DEVICE_CUDA);
static_assert(static_cast<int>(lnn::SolveMethod::cholesky) == LNN_SOLVE_CHOLESKY);
static_assert(static_cast<int>(lnn::SolveMethod::lu) == LNN_SOLVE_LU);
static_assert(static_cast<int>(lnn::SolveMethod::damped) == LNN_SOLVE_DAMPED);
static_assert(static_cast<int>(lnn::SolveMethod::pinv) == LNN_SOLVE_PINV);
static_assert(static_cast<int>(lnn::Integrator::rk4) == LNN_INTEGRATOR_RK4);
static_assert(static_cast<int>(lnn::Integrator::dopri5) == LNN_INTEGRATOR_DOPRI5);
static_assert(static_cast<int>(lnn::Integrator::variational) == LNN_INTEGRATOR_VARIATIONAL);
static_assert(static_cast<int>(lnn::SolveStatus::ok) == LNN_SOLVE_STATUS_OK);
static_assert(static_cast<int>(lnn::SolveStatus::not_positive_definite) ==
              LNN_SOLVE_STATUS_NOT_POSITIVE_DEFINITE);
static_assert(static_cast<int>(lnn::SolveStatus::singular) == LNN_SOLVE_STATUS_SINGULAR);
static_assert(static_cast<int>(lnn::TrajectoryStatus::ok) == LNN_TRAJECTORY_OK);
static_assert(static_cast<int>(lnn::TrajectoryStatus::step_underflow) ==
              LNN_TRAJECTORY_STEP_UNDERFLOW);
static_assert(static_cast<int>(lnn::TrajectoryStatus::non_finite) == LNN_TRAJECTORY_NON_FINITE);
static_assert(static_cast<int>(lnn::TrajectoryStatus::max_steps) == LNN_TRAJECTORY_MAX_STEPS);
static_assert(static_cast<int>(lnn::TrajectoryStatus::no_convergence) ==
              LNN_TRAJECTORY_NO_CONVERGENCE);

// count values from the host into the caller's array p, which lives in the
// workspace's memory (checked by check_memory).
template <class U>
void deliver(const lnn_workspace* ws, U* p, const U* host, std::size_t count) {
  if (ws->device == LNN_DEVICE_CUDA) {
    lnn::detail::copy_host_to_device(p, host, count * sizeof(U));
  } else {
    std::copy(host, host + count, p);
  }
}

void write_status(int* trajectory_status, const std::vector<lnn::TrajectoryReport>& reports) {
  if (trajectory_status == nullptr) return;
  for (std::size_t b = 0; b < reports.size(); ++b) {
    trajectory_status[b] = static_cast<int>(reports[b].status);
  }
}

}  // namespace

using lnn::capi::guarded;

extern "C" {

lnn_status lnn_workspace_options_default(lnn_workspace_options* options) {
  return guarded("lnn_workspace_options_default", [&] {
    require(options, "options");
    const lnn::EngineOptions e;
    options->device = LNN_DEVICE_CPU;
    options->precision = LNN_PRECISION_MODEL;
    options->solve = LNN_SOLVE_LU;  // lnn::SolveOptions' default (include/lnn/solve.hpp)
    options->damping = e.solve.damping;
    options->rcond = e.solve.rcond;
    options->chunk = e.chunk;
  });
}

lnn_status lnn_integrate_options_default(lnn_integrate_options* options) {
  return guarded("lnn_integrate_options_default", [&] {
    require(options, "options");
    const lnn::IntegrateOptions d;
    options->integrator = LNN_INTEGRATOR_DOPRI5;
    options->dt = d.dt;
    options->rtol = d.rtol;
    options->atol = d.atol;
    options->h0 = d.h0;
    options->h_min = d.h_min;
    options->h_max = d.h_max;
    options->max_steps = d.max_steps;
    options->newton_tol = d.newton_tol;
    options->newton_max_iterations = d.newton_max_iterations;
  });
}

lnn_status lnn_workspace_create(const lnn_model* model, int64_t max_batch,
                                const lnn_workspace_options* options, lnn_workspace** workspace) {
  if (workspace) *workspace = nullptr;
  return guarded("lnn_workspace_create", [&] {
    require(workspace, "workspace (the output handle)");
    require(model, "model");
    if (max_batch < 1) {
      throw InvalidArgument("max_batch = " + std::to_string(max_batch) + " must be >= 1");
    }
    lnn_workspace_options o;
    lnn_workspace_options_default(&o);
    if (options != nullptr) o = *options;
    const lnn::EngineOptions eo = engine_options(o);
    if (o.device == LNN_DEVICE_CUDA) {
      std::string why;
      if (!lnn::cuda_compiled()) {
        throw lnn::capi::NoDevice("device LNN_DEVICE_CUDA: this build has no CUDA backend");
      }
      if (lnn::cuda_devices(&why).empty()) {
        throw lnn::capi::NoDevice("device LNN_DEVICE_CUDA: no usable CUDA device (" + why + ")");
      }
    }
    lnn::Precision precision = model->network.precision();
    switch (o.precision) {
      case LNN_PRECISION_MODEL:
        break;
      case LNN_PRECISION_F32:
        precision = lnn::Precision::f32;
        break;
      case LNN_PRECISION_F64:
        precision = lnn::Precision::f64;
        break;
      default:
        throw InvalidArgument("options->precision = " + std::to_string(o.precision) +
                              " is unknown");
    }
    auto ws = std::make_unique<lnn_workspace>();
    ws->model = model;
    ws->max_batch = static_cast<std::size_t>(max_batch);
    ws->device = o.device;
    ws->n = model->info.spec.n;
    try {
      ws->engine = std::make_unique<lnn::AnyEngine>(model->network, eo, precision);
    } catch (const InvalidArgument& e) {
      // The engine refuses a device it cannot run on: say so with the device's code.
      if (o.device == LNN_DEVICE_CUDA) throw lnn::capi::NoDevice(e.what());
      throw;
    }
    *workspace = ws.release();
  });
}

void lnn_workspace_free(lnn_workspace* workspace) { delete workspace; }

lnn_status lnn_workspace_get(const lnn_workspace* workspace, int64_t* max_batch, int* device,
                             int* precision) {
  return guarded("lnn_workspace_get", [&] {
    require(workspace, "workspace");
    if (max_batch) *max_batch = static_cast<int64_t>(workspace->max_batch);
    if (device) *device = workspace->device;
    if (precision) {
      *precision = workspace->engine->precision() == lnn::Precision::f32 ? LNN_PRECISION_F32
                                                                         : LNN_PRECISION_F64;
    }
  });
}

lnn_status lnn_accelerations(lnn_workspace* ws, int64_t B, const double* states, const double* tau,
                             double* acc, int* solve_status, int64_t* failures) {
  return guarded("lnn_accelerations", [&] {
    check_batch(ws, B);
    require(states, "states");
    require(acc, "acc");
    check_memory(ws, {{states, "states"},
                      {tau, "tau"},
                      {acc, "acc"},
                      {solve_status, "solve_status"},
                      {failures, "failures"}});
    const auto b = static_cast<std::size_t>(B);
    ws->status.resize(b);  // on the host; the engine fetches statuses there anyway
    const lnn::SolveReport report = ws->engine->accelerations<double>(
        {states, b * ws->width()}, {tau, tau ? b * ws->dof() : 0}, {acc, b * ws->dof()},
        ws->status);
    if (solve_status) {
      ws->status_int.resize(b);
      for (std::size_t s = 0; s < b; ++s) ws->status_int[s] = static_cast<int>(ws->status[s]);
      deliver(ws, solve_status, ws->status_int.data(), b);
    }
    if (failures) {
      const auto count = static_cast<int64_t>(report.failures());
      deliver(ws, failures, &count, 1);
    }
  });
}

lnn_status lnn_lagrangian(lnn_workspace* ws, int64_t B, const double* states, double* L) {
  return guarded("lnn_lagrangian", [&] {
    check_batch(ws, B);
    require(states, "states");
    require(L, "L");
    check_memory(ws, {{states, "states"}, {L, "L"}});
    const auto b = static_cast<std::size_t>(B);
    ws->engine->lagrangian<double>({states, b * ws->width()}, {L, b});
  });
}

lnn_status lnn_energy(lnn_workspace* ws, int64_t B, const double* states, double* E) {
  return guarded("lnn_energy", [&] {
    check_batch(ws, B);
    require(states, "states");
    require(E, "E");
    check_memory(ws, {{states, "states"}, {E, "E"}});
    const auto b = static_cast<std::size_t>(B);
    ws->engine->energy<double>({states, b * ws->width()}, {E, b});
  });
}

lnn_status lnn_lagrangian_gradient(lnn_workspace* ws, int64_t B, const double* states, double* L,
                                   double* grad) {
  return guarded("lnn_lagrangian_gradient", [&] {
    check_batch(ws, B);
    require(states, "states");
    require(grad, "grad");
    check_memory(ws, {{states, "states"}, {L, "L"}, {grad, "grad"}});
    const auto b = static_cast<std::size_t>(B);
    ws->engine->gradient<double>({states, b * ws->width()}, {L, L ? b : 0},
                                 {grad, b * ws->width()});
  });
}

lnn_status lnn_hessian(lnn_workspace* ws, int64_t B, const double* states, double* H) {
  return guarded("lnn_hessian", [&] {
    check_batch(ws, B);
    require(states, "states");
    require(H, "H");
    check_memory(ws, {{states, "states"}, {H, "H"}});
    const auto b = static_cast<std::size_t>(B);
    ws->engine->hessian<double>({states, b * ws->width()}, {H, b * ws->width() * ws->width()});
  });
}

lnn_status lnn_euler_lagrange_terms(lnn_workspace* ws, int64_t B, const double* states, double* M,
                                    double* Cv, double* f) {
  return guarded("lnn_euler_lagrange_terms", [&] {
    check_batch(ws, B);
    require(states, "states");
    if (M == nullptr && Cv == nullptr && f == nullptr) {
      throw InvalidArgument("M, Cv and f are all NULL: nothing to compute");
    }
    check_memory(ws, {{states, "states"}, {M, "M"}, {Cv, "Cv"}, {f, "f"}});
    const auto b = static_cast<std::size_t>(B);
    ws->engine->euler_lagrange_terms<double>({states, b * ws->width()},
                                             {M, M ? b * ws->dof() * ws->dof() : 0},
                                             {Cv, Cv ? b * ws->dof() : 0}, {f, f ? b * ws->dof() : 0});
  });
}

lnn_status lnn_rollout(lnn_workspace* ws, const lnn_integrate_options* options, int64_t B,
                       double t0, const double* y0, int64_t S, const double* times, double* out,
                       int* trajectory_status) {
  return guarded("lnn_rollout", [&] {
    check_batch(ws, B);
    require(y0, "y0");
    require(times, "times");
    require(out, "out");
    check_memory(
        ws, {{y0, "y0"}, {times, "times"}, {out, "out"}, {trajectory_status, "trajectory_status"}});
    const auto b = static_cast<std::size_t>(B);
    const std::size_t limit =
        std::numeric_limits<std::size_t>::max() / sizeof(double) / b / ws->width();
    if (S < 1 || static_cast<std::uint64_t>(S) > limit) {
      throw InvalidArgument("S = " + std::to_string(S) + " output times: need 1 … " +
                            std::to_string(limit));
    }
    const auto s = static_cast<std::size_t>(S);
    const lnn::IntegrateOptions o = integrate_options(options);
    Mirror mirror(ws);
    y0 = mirror.in(y0, b * ws->width());
    times = mirror.in(times, s);
    out = mirror.out(out, b * s * ws->width());
    trajectory_status = mirror.out(trajectory_status, b);
    std::vector<lnn::TrajectoryReport> reports;
    reports = run_integration(ws, t0, {y0, b * ws->width()}, {times, s},
                              {out, b * s * ws->width()}, o);
    write_status(trajectory_status, reports);
    mirror.flush();
  });
}

lnn_status lnn_step(lnn_workspace* ws, const lnn_integrate_options* options, int64_t B, double t0,
                    double t1, double* states, int* trajectory_status) {
  return guarded("lnn_step", [&] {
    check_batch(ws, B);
    require(states, "states");
    check_memory(ws, {{states, "states"}, {trajectory_status, "trajectory_status"}});
    if (!std::isfinite(t0) || !std::isfinite(t1) || t1 < t0) {
      throw InvalidArgument("need finite t0 <= t1, got t0 = " + std::to_string(t0) +
                            ", t1 = " + std::to_string(t1));
    }
    const lnn::IntegrateOptions o = integrate_options(options);
    const std::size_t count = static_cast<std::size_t>(B) * ws->width();
    Mirror mirror(ws);
    states = mirror.in_out(states, count);
    trajectory_status = mirror.out(trajectory_status, static_cast<std::size_t>(B));
    ws->y0.assign(states, states + count);  // the integrator reads y0 while writing out
    const double times[1] = {t1};
    std::vector<lnn::TrajectoryReport> reports;
    reports = run_integration(ws, t0, ws->y0, times, {states, count}, o);
    write_status(trajectory_status, reports);
    mirror.flush();
  });
}

}  // extern "C"
