// lnn::System for one analytic system struct (lagrangians.hpp): the batched
// CPU loops over the per-sample hyper-dual code of core/analytic.hpp and the
// per-sample solver of core/small_solve.hpp.
#pragma once
#include <cmath>
#include <limits>
#include <span>
#include <utility>

#include "core/analytic.hpp"
#include "core/random.hpp"
#include "core/small_solve.hpp"
#include "cpu/cpu_backend.hpp"
#include "lnn/errors.hpp"
#include "lnn/systems.hpp"
#include "systems/lagrangians.hpp"

namespace lnn::systems {

// q̈ = M⁻¹(f − C q̇ + τ) of one state x (2n) of the analytic system, τ (n) or
// null, into acc (n; NaN where the solve failed). The ground truth of both
// backends: SystemModel::accelerations on the CPU, fresh batches on a GPU
// (src/systems/fresh_batch.hpp).
// Stack storage for MaxDof coordinates (n ≤ MaxDof is the caller's to check).
// M's n×n corner is written by analytic_euler_lagrange_terms before factor()
// reads it; GCC cannot see that through the loops (a false positive).
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
template <int MaxDof, class Sys>
LNN_HD core::FactorInfo<double> exact_accelerations(const Sys& sys, const double* x,
                                                    const double* tau, const SolveOptions& solve,
                                                    double* acc) {
  const int n = sys.dof();
  double M[MaxDof * MaxDof], Cv[MaxDof] = {}, rhs[MaxDof] = {};
  double work[core::solve_workspace(MaxDof)];
  int iwork[core::solve_int_workspace(MaxDof)];
  core::analytic_euler_lagrange_terms<MaxDof>(sys, x, M, Cv, rhs);
  for (int i = 0; i < n; ++i) {
    rhs[i] -= Cv[i];
    if (tau) rhs[i] += tau[i];
  }
  const core::FactorInfo<double> fi = core::factor(M, n, solve, work, iwork);
  if (fi.status == SolveStatus::ok) {
    core::solve(n, solve, work, iwork, rhs);
    for (int i = 0; i < n; ++i) acc[i] = rhs[i];
  } else {
    for (int i = 0; i < n; ++i) acc[i] = std::numeric_limits<double>::quiet_NaN();
  }
  return fi;
}
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#pragma GCC diagnostic pop
#endif

template <class Sys>
class SystemModel final : public System {
 public:
  SystemModel(Sys sys, SystemInfo info) : System(std::move(info)), sys_(sys) {}

  void lagrangian(std::span<const double> states, std::span<double> L) const override {
    const std::size_t B = batch(states);
    check(L, B, "L");
    each(B, [&](std::size_t s) {
      const double* x = states.data() + s * width();
      L[s] = sys_.template lagrangian<double>(x, x + dof());
    });
  }

  void gradient(std::span<const double> states, std::span<double> L,
                std::span<double> grad) const override {
    const std::size_t B = batch(states);
    check(L, B, "L");
    check(grad, B * width(), "grad");
    each(B, [&](std::size_t s) {
      L[s] = core::analytic_gradient<kMaxDof>(sys_, states.data() + s * width(),
                                              grad.data() + s * width());
    });
  }

  void euler_lagrange_terms(std::span<const double> states, std::span<double> M,
                            std::span<double> Cv, std::span<double> f) const override {
    const std::size_t B = batch(states), n = static_cast<std::size_t>(dof());
    if (!M.empty()) check(M, B * n * n, "M");
    if (!Cv.empty()) check(Cv, B * n, "Cv");
    if (!f.empty()) check(f, B * n, "f");
    each(B, [&](std::size_t s) {
      core::analytic_euler_lagrange_terms<kMaxDof>(
          sys_, states.data() + s * width(), M.empty() ? nullptr : M.data() + s * n * n,
          Cv.empty() ? nullptr : Cv.data() + s * n, f.empty() ? nullptr : f.data() + s * n);
    });
  }

  void hessian(std::span<const double> states, std::span<double> H) const override {
    const std::size_t B = batch(states), d = width();
    check(H, B * d * d, "H");
    each(B, [&](std::size_t s) {
      core::analytic_hessian<kMaxDof>(sys_, states.data() + s * d, H.data() + s * d * d);
    });
  }

  void energy(std::span<const double> states, std::span<double> E) const override {
    const std::size_t B = batch(states);
    check(E, B, "E");
    each(B, [&](std::size_t s) {
      const double* x = states.data() + s * width();
      E[s] = sys_.energy(x, x + dof());
    });
  }

  SolveReport accelerations(std::span<const double> states, std::span<const double> tau,
                            std::span<double> acc, std::span<SolveStatus> status,
                            const SolveOptions& solve) const override {
    const std::size_t B = batch(states);
    const int n = dof();
    const auto un = static_cast<std::size_t>(n);
    if (!tau.empty()) check(tau, B * un, "tau");
    check(acc, B * un, "acc");
    if (!status.empty()) check(status, B, "status");
    std::vector<std::uint8_t> outcome(B);
    each(B, [&](std::size_t s) {
      const core::FactorInfo<double> fi = exact_accelerations<kMaxDof>(
          sys_, states.data() + s * width(), tau.empty() ? nullptr : tau.data() + s * un, solve,
          acc.data() + s * un);
      outcome[s] = static_cast<std::uint8_t>(fi.status);
      if (!status.empty()) status[s] = fi.status;
    });
    SolveReport report;
    report.samples = B;
    for (const std::uint8_t o : outcome) {
      if (o == static_cast<std::uint8_t>(SolveStatus::not_positive_definite)) ++report.not_positive_definite;
      if (o == static_cast<std::uint8_t>(SolveStatus::singular)) ++report.singular;
    }
    return report;
  }

  const Sys& model() const { return sys_; }

  void sample_states(std::uint64_t seed, std::uint64_t first,
                     std::span<double> states) const override {
    const std::size_t B = batch(states);
    each(B, [&](std::size_t s) {
      double u[2 * kMaxDof];
      core::uniforms(seed, core::RandomStream::states, first + s, 2 * dof(), u);
      sys_.sample(u, states.data() + s * width());
    });
  }

 private:
  std::size_t width() const { return 2 * static_cast<std::size_t>(dof()); }

  template <class U>
  static void check(std::span<U> out, std::size_t expected, const char* what) {
    if (out.size() != expected) {
      throw InvalidArgument(std::string(what) + " has " + std::to_string(out.size()) +
                            " values, expected " + std::to_string(expected));
    }
  }

  template <class F>
  static void each(std::size_t count, F f) {
    cpu::CpuBackend<double>::for_each(static_cast<int>(count),
                                      [&](int i) { f(static_cast<std::size_t>(i)); });
  }

  Sys sys_;
};

// f(sys) with the analytic struct behind `system` (one of lagrangians.hpp's);
// false when `system` is not a SystemModel of one of them.
template <class F>
bool visit_system(const System& system, F&& f) {
  bool found = false;
  auto as = [&](auto tag) {
    using Sys = decltype(tag);
    if (found) return;
    if (const auto* m = dynamic_cast<const SystemModel<Sys>*>(&system)) {
      found = true;
      f(m->model());
    }
  };
  as(DoublePendulum{});
  as(Pendulum{});
  as(MassSpring{});
  as(Relativistic{});
  as(ChainPendulum{});
  as(SpringPendulum{});
  as(HenonHeiles{});
  as(Kepler{});
  as(ThreeBody{});
  as(CartPole{});
  as(Acrobot{});
  return found;
}

}  // namespace lnn::systems
