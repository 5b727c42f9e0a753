// The variational midpoint integrator (include/lnn/integrate.hpp).
//
// Discrete Lagrangian L_d(q0, q1) = h·L(q̄, v), q̄ = (q0 + q1)/2, v = (q1 − q0)/h.
// Its partial derivatives are
//   D1 L_d = (h/2)·L_q(q̄, v) − L_v(q̄, v),   D2 L_d = (h/2)·L_q(q̄, v) + L_v(q̄, v),
// and in position–momentum form (p_k = −D1 L_d(q_k, q_{k+1}) = D2 L_d(q_{k−1}, q_k))
// a step solves  G(q1) = L_v − (h/2)·L_q − p_k = 0  for q1 = q_{k+1}, then sets
// p_{k+1} = L_v + (h/2)·L_q at the solution. With H the Hessian of L in (q, v)
// (blocks L_qq, L_qv, L_vq = L_qvᵀ, L_vv), the Newton matrix is
//   ∂G/∂q1 = (1/h)·L_vv + ½·(L_vq − L_qv) − (h/4)·L_qq,
// not symmetric in general (L_vq − L_qv is antisymmetric), so it is solved by
// LU with partial pivoting (core/small_solve.hpp).
//
// Newton stops when the next correction is below newton_tol·h·max(1, |v|∞);
// that correction is not applied, so q_{k+1} and p_{k+1} come from the same
// evaluation (the residual G, not a mismatch of points, is what is left).
// The predictor extrapolates the step velocities linearly,
// q1 = q_k + h·(2·v_{k−1/2} − v_{k−3/2}) (q̇_0 for the first step, v_{1/2} for
// the second). A Newton correction is limited to change the step's velocity
// by at most max(1, |v|∞) per iteration: with a periodic coordinate the
// discrete equation also has roots a whole turn per step away (v + 2π/h),
// and an unlimited first correction from a poor predictor can land in their
// basin (seen on the double pendulum at dt = 0.05: velocities of 100 rad/s).
// And a root farther than h·max(1, |v_pred|∞) from the predicted position is
// not taken: at large h·|v| the discrete equation can lose the root near the
// motion (a fold), and Newton then finds one that belongs to another motion
// (energy errors of 1e9 were seen). Such a step fails with no_convergence:
// the step is too large for that trajectory.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/small_solve.hpp"
#include "integrate/lockstep.hpp"
#include "lnn/errors.hpp"
#include "lnn/integrate.hpp"

namespace lnn LNN_CXX_API {
namespace {

using integration::all_finite;

constexpr double kDefaultNewtonTol = 1e-10;

double max_abs(const double* x, std::size_t n) {
  double m = 0.0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::abs(x[i]));
  return m;
}

class Variational : integration::Lockstep<double> {
  using Base = integration::Lockstep<double>;

 public:
  Variational(const BatchLagrangian& derivatives, std::size_t n, double t0,
              std::span<const double> y0, std::span<const double> times, std::span<double> out,
              const IntegrateOptions& options, const ProgressFn& progress)
      : Base(2 * n, t0, y0, times, out, options, progress),
        derivatives_(derivatives),
        n_(n),
        tol_(options.newton_tol > 0.0 ? options.newton_tol : kDefaultNewtonTol),
        p_(B_ * n),
        v_(B_ * n),
        v_prev_(B_ * n),
        have_prev_(B_, 0),
        q_pred_(B_ * n),
        q1_(B_ * n),
        xs_(B_ * d_),
        gs_(B_ * d_),
        hs_(B_ * d_ * d_),
        lu_(n * n),
        piv_(n),
        dq_(n),
        iterations_(B_),
        residual_(n),
        jacobian_(n * n) {
    for (auto* v : {&solving_, &still_, &solved_, &at_output_}) v->reserve(B_);
    for (std::size_t b = 0; b < B_; ++b) {
      std::copy_n(row(y_, b) + n_, n_, v_.data() + b * n_);
      std::copy_n(row(y_, b) + n_, n_, v_prev_.data() + b * n_);
    }
  }

  std::vector<TrajectoryReport> run();

 private:
  double* q(std::size_t b) { return row(y_, b); }
  double* qdot(std::size_t b) { return row(y_, b) + n_; }

  // ∇L and the Hessian at fill(b, x) for every trajectory in list; a row with
  // a non-finite result fails (non_finite) and leaves the list.
  template <class Fill>
  void evaluate(std::vector<std::size_t>& list, Fill fill);
  // Solves J·Δ = −G for one trajectory into dq_; false when J is singular.
  bool newton_correction(const double* J, const double* G);
  void step();
  // The velocity with ∂L/∂q̇(q, q̇) = p for the trajectories in list.
  void velocities(std::vector<std::size_t>& list);  // emptied

  const BatchLagrangian& derivatives_;
  const std::size_t n_;
  const double tol_;
  std::vector<double> p_;   // B × n, momentum at t_
  std::vector<double> v_;   // B × n, velocity of the last step (q̇_0 before the first)
  std::vector<double> v_prev_;  // B × n, velocity of the step before
  std::vector<std::uint8_t> have_prev_;  // v_prev_ is a step's (not q̇_0)
  std::vector<double> q_pred_;  // B × n, the predicted position of this step
  std::vector<double> q1_;  // B × n, Newton iterate of the next position
  std::vector<double> xs_, gs_, hs_;  // compact rows: states, ∇L, Hessians
  std::vector<double> lu_;
  std::vector<int> piv_;
  std::vector<double> dq_;
  // Per-step scratch, sized once so that the step loop does not allocate.
  std::vector<std::int64_t> iterations_;             // B, Newton iterations so far
  std::vector<std::size_t> solving_, still_, solved_, at_output_;
  std::vector<double> residual_, jacobian_;          // n, n × n
};

template <class Fill>
void Variational::evaluate(std::vector<std::size_t>& list, Fill fill) {
  const std::size_t R = list.size();
  if (R == 0) return;
  for (std::size_t r = 0; r < R; ++r) fill(list[r], xs_.data() + r * d_);
  derivatives_(std::span<const std::size_t>(list.data(), R),
               std::span<const double>(xs_.data(), R * d_), std::span<double>(gs_.data(), R * d_),
               std::span<double>(hs_.data(), R * d_ * d_));
  for (std::size_t r = 0; r < R; ++r) {
    const std::size_t b = list[r];
    ++reports_[b].evaluations;
    if (!all_finite(gs_.data() + r * d_, d_) || !all_finite(hs_.data() + r * d_ * d_, d_ * d_)) {
      fail(b, TrajectoryStatus::non_finite);
    }
  }
}

bool Variational::newton_correction(const double* J, const double* G) {
  const int n = static_cast<int>(n_);
  const double rcond = static_cast<double>(n) * core::epsilon<double>();
  if (core::lu_factor(J, n, rcond, lu_.data(), piv_.data()).status != SolveStatus::ok) {
    return false;
  }
  for (std::size_t i = 0; i < n_; ++i) dq_[i] = -G[i];
  core::lu_solve(n, lu_.data(), piv_.data(), dq_.data());
  return all_finite(dq_.data(), n_);
}

void Variational::step() {
  for (std::size_t b : active_) {
    if (reports_[b].accepted >= options_.max_steps) fail(b, TrajectoryStatus::max_steps);
  }
  prune();
  for (std::size_t b : active_) {
    const double* v = v_.data() + b * n_;
    const double* vp = v_prev_.data() + b * n_;
    for (std::size_t i = 0; i < n_; ++i) {
      const double predicted = have_prev_[b] ? 2.0 * v[i] - vp[i] : v[i];
      q1_[b * n_ + i] = q(b)[i] + h_[b] * predicted;
      q_pred_[b * n_ + i] = q1_[b * n_ + i];
    }
  }
  std::vector<std::size_t>& solving = solving_;
  std::vector<std::size_t>& solved = solved_;
  solving.assign(active_.begin(), active_.end());
  solved.clear();
  for (std::size_t b : active_) iterations_[b] = 0;
  double* G = residual_.data();
  double* J = jacobian_.data();
  while (!solving.empty()) {
    evaluate(solving, [&](std::size_t b, double* x) {
      const double h = h_[b];
      for (std::size_t i = 0; i < n_; ++i) {
        const double q0 = q(b)[i], q1 = q1_[b * n_ + i];
        x[i] = 0.5 * (q0 + q1);
        x[n_ + i] = (q1 - q0) / h;
      }
    });
    still_.clear();
    for (std::size_t r = 0; r < solving.size(); ++r) {
      const std::size_t b = solving[r];
      if (!running_[b]) continue;
      const double h = h_[b];
      const double* g = gs_.data() + r * d_;  // [L_q, L_v]
      const double* H = hs_.data() + r * d_ * d_;
      const double* p = p_.data() + b * n_;
      for (std::size_t i = 0; i < n_; ++i) {
        G[i] = g[n_ + i] - 0.5 * h * g[i] - p[i];
        for (std::size_t j = 0; j < n_; ++j) {
          J[i * n_ + j] = H[(n_ + i) * d_ + n_ + j] / h +
                          0.5 * (H[(n_ + i) * d_ + j] - H[(n_ + j) * d_ + i]) -
                          0.25 * h * H[i * d_ + j];
        }
      }
      if (!newton_correction(J, G)) {
        fail(b, TrajectoryStatus::no_convergence);
        continue;
      }
      double* q1 = q1_.data() + b * n_;
      double vmax = 1.0;
      for (std::size_t i = 0; i < n_; ++i) vmax = std::max(vmax, std::abs(q1[i] - q(b)[i]) / h);
      if (max_abs(dq_.data(), n_) <= tol_ * h * vmax) {
        // Converged at this evaluation: advance from it, if the root belongs
        // to this motion (see the top of the file).
        const double* qp = q_pred_.data() + b * n_;
        double moved = 0, v_pred = 1.0;
        for (std::size_t i = 0; i < n_; ++i) {
          moved = std::max(moved, std::abs(q1[i] - qp[i]));
          v_pred = std::max(v_pred, std::abs(qp[i] - q(b)[i]) / h);
        }
        if (moved > h * v_pred) {
          fail(b, TrajectoryStatus::no_convergence);
          continue;
        }
        double* pb = p_.data() + b * n_;
        have_prev_[b] = reports_[b].accepted > 0;
        for (std::size_t i = 0; i < n_; ++i) {
          v_prev_[b * n_ + i] = v_[b * n_ + i];
          v_[b * n_ + i] = (q1[i] - q(b)[i]) / h;
          pb[i] = g[n_ + i] + 0.5 * h * g[i];
          q(b)[i] = q1[i];
        }
        solved.push_back(b);
        continue;
      }
      if (++iterations_[b] >= options_.newton_max_iterations) {
        fail(b, TrajectoryStatus::no_convergence);
        continue;
      }
      const double step = max_abs(dq_.data(), n_), limit = h * vmax;
      const double scale = step > limit ? limit / step : 1.0;
      for (std::size_t i = 0; i < n_; ++i) q1[i] += scale * dq_[i];
      still_.push_back(b);
    }
    solving.swap(still_);
  }
  std::sort(solved.begin(), solved.end());
  std::vector<std::size_t>& at_output = at_output_;
  at_output.clear();
  for (std::size_t b : solved) {
    ++reports_[b].accepted;
    if (!all_finite(q(b), n_) || !all_finite(p_.data() + b * n_, n_)) {
      fail(b, TrajectoryStatus::non_finite);
      continue;
    }
    std::copy_n(v_.data() + b * n_, n_, qdot(b));
    if (fixed_step_reaches_output(b)) at_output.push_back(b);
  }
  velocities(at_output);
  for (std::size_t b : solved) {
    if (running_[b]) fixed_step_done(b);
  }
  prune();
}

void Variational::velocities(std::vector<std::size_t>& list) {
  for (std::size_t b : list) iterations_[b] = 0;
  double* R = residual_.data();
  double* M = jacobian_.data();
  while (!list.empty()) {
    evaluate(list, [&](std::size_t b, double* x) {
      std::copy_n(row(y_, b), d_, x);
    });
    still_.clear();
    for (std::size_t r = 0; r < list.size(); ++r) {
      const std::size_t b = list[r];
      if (!running_[b]) continue;
      const double* g = gs_.data() + r * d_;
      const double* H = hs_.data() + r * d_ * d_;
      for (std::size_t i = 0; i < n_; ++i) {
        R[i] = g[n_ + i] - p_[b * n_ + i];  // Newton: M·Δ = −R
        for (std::size_t j = 0; j < n_; ++j) M[i * n_ + j] = H[(n_ + i) * d_ + n_ + j];
      }
      if (!newton_correction(M, R)) {
        fail(b, TrajectoryStatus::no_convergence);
        continue;
      }
      double* w = qdot(b);
      for (std::size_t i = 0; i < n_; ++i) w[i] += dq_[i];
      if (max_abs(dq_.data(), n_) <= tol_ * std::max(1.0, max_abs(w, n_))) continue;
      if (++iterations_[b] >= options_.newton_max_iterations) {
        fail(b, TrajectoryStatus::no_convergence);
        continue;
      }
      still_.push_back(b);
    }
    list.swap(still_);
  }
}

std::vector<TrajectoryReport> Variational::run() {
  // p_0 = ∂L/∂q̇(q_0, q̇_0).
  std::vector<std::size_t> list = active_;
  evaluate(list, [&](std::size_t b, double* x) { std::copy_n(row(y_, b), d_, x); });
  for (std::size_t r = 0; r < list.size(); ++r) {
    const std::size_t b = list[r];
    if (running_[b]) std::copy_n(gs_.data() + r * d_ + n_, n_, p_.data() + b * n_);
  }
  prune();
  plan_fixed_steps();
  while (!active_.empty()) {
    step();
    report_progress();
  }
  return finish();
}

}  // namespace

std::vector<TrajectoryReport> integrate_variational(const BatchLagrangian& derivatives, int n,
                                                    double t0, std::span<const double> y0,
                                                    std::span<const double> times,
                                                    std::span<double> out,
                                                    const IntegrateOptions& options,
                                                    const ProgressFn& progress) {
  if (n < 1) throw InvalidArgument("integrate_variational: n must be >= 1, got " + std::to_string(n));
  integration::validate_common("integrate_variational", 2 * n, y0.size(), out.size(), t0, times,
                               options);
  if (!(std::isfinite(options.dt) && options.dt > 0.0)) {
    throw InvalidArgument("integrate_variational: dt must be finite and > 0");
  }
  if (!(std::isfinite(options.newton_tol) && options.newton_tol >= 0.0)) {
    throw InvalidArgument("integrate_variational: newton_tol must be finite and >= 0");
  }
  if (options.newton_max_iterations < 1) {
    throw InvalidArgument("integrate_variational: newton_max_iterations must be >= 1");
  }
  if (!derivatives) throw InvalidArgument("integrate_variational: derivatives is empty");
  return Variational(derivatives, static_cast<std::size_t>(n), t0, y0, times, out, options,
                     progress)
      .run();
}

}  // namespace lnn
