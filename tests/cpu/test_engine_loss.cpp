// The training loss of Engine::loss_gradient beyond the plain mean: per-sample
// weights and the mass-matrix penalty ρ·(1/B)·Σ relu(−λ(M)) of docs/math.md §7.
// Gradients are checked against finite differences (Richardson) in double of
// a loss computed here from accelerations(), euler_lagrange_terms() and an
// eigen-solver of this file (bisection on Sylvester inertia), so nothing of
// the adjoint or of the engine's Jacobi code is trusted.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/test_util.hpp"
#include "lnn/engine.hpp"
#include "lnn/errors.hpp"
#include "lnn/model.hpp"

namespace lnn {
namespace {

using test::fd_step;
using test::fd_tol;
using test::max_abs;

// Number of eigenvalues of the symmetric A (n×n) below μ: the negative pivots
// of A − μI by elimination without pivoting (Sylvester's law of inertia).
int count_below(const std::vector<double>& A, int n, long double mu) {
  std::vector<long double> a(A.begin(), A.end());
  for (int i = 0; i < n; ++i) a[i * n + i] -= mu;
  int neg = 0;
  for (int c = 0; c < n; ++c) {
    long double d = a[c * n + c];
    if (d == 0) d = 1e-300L;  // a zero pivot: μ is (nearly) an eigenvalue; either side will do
    neg += d < 0 ? 1 : 0;
    for (int i = c + 1; i < n; ++i) {
      const long double f = a[i * n + c] / d;
      for (int j = c + 1; j < n; ++j) a[i * n + j] -= f * a[c * n + j];
    }
  }
  return neg;
}

// Eigenvalues of a symmetric matrix, ascending, by bisection within the
// Gershgorin bounds.
std::vector<double> eigenvalues(const std::vector<double>& A, int n) {
  long double lo = 0, hi = 0;
  for (int i = 0; i < n; ++i) {
    long double r = 0;
    for (int j = 0; j < n; ++j)
      if (j != i) r += std::fabs(static_cast<long double>(A[i * n + j]));
    lo = std::min(lo, A[i * n + i] - r - 1);
    hi = std::max(hi, A[i * n + i] + r + 1);
  }
  std::vector<double> w(static_cast<std::size_t>(n));
  for (int j = 0; j < n; ++j) {
    long double a = lo, b = hi;  // count_below(a) <= j < count_below(b)
    for (int it = 0; it < 200 && b - a > 0; ++it) {
      const long double m = (a + b) / 2;
      if (m <= a || m >= b) break;
      (count_below(A, n, m) > j ? b : a) = m;
    }
    w[j] = static_cast<double>((a + b) / 2);
  }
  return w;
}

double relu_neg_sum(const std::vector<double>& w) {
  double s = 0.0;
  for (double x : w) s += x < 0 ? -x : 0.0;
  return s;
}

struct Case {
  std::string name;
  int n;
  bool angle;  // coordinate 0 periodic
  SolveMethod method;
  Loss kind;
  bool weighted;  // non-uniform weights, one of them 0
  bool data;      // false: all weights 0, the penalty alone
  double rho;
  // false: the reference study's init, which gives indefinite M in many
  // states (for n = 4 with several negative eigenvalues). true: half the
  // samples positive definite (see LossProblem).
  bool mixed = false;
};

std::vector<Case> fd_cases() {
  return {
      {"weighted_l1", 2, false, SolveMethod::lu, Loss::l1, true, true, 0.0},
      {"weighted_mse_angle", 3, true, SolveMethod::lu, Loss::mse, true, true, 0.0},
      {"penalty_alone_lu", 2, true, SolveMethod::lu, Loss::mse, false, false, 0.7, true},
      {"penalty_alone_lu_n3", 3, true, SolveMethod::lu, Loss::l1, false, false, 0.7},
      // two or three negative eigenvalues per sample: projectors of rank > 1
      {"penalty_alone_lu_n4", 4, true, SolveMethod::lu, Loss::mse, false, false, 0.6},
      {"penalty_cholesky_failed_n1", 1, false, SolveMethod::cholesky, Loss::mse, false, true, 0.7,
       true},
      {"penalty_cholesky_failed", 2, true, SolveMethod::cholesky, Loss::mse, false, true, 0.7,
       true},
      {"penalty_cholesky_failed_n3", 3, true, SolveMethod::cholesky, Loss::l1, true, true, 1.3,
       true},
      {"weighted_l1_penalty", 2, true, SolveMethod::lu, Loss::l1, true, true, 0.4},
      {"weighted_mse_penalty_n3", 3, false, SolveMethod::lu, Loss::mse, true, true, 2.0},
  };
}

ModelSpec spec_of(int n, bool angle) {
  ModelSpec spec;
  spec.n = n;
  spec.hidden = {8 + 2 * n, 8 + 2 * n};
  if (angle) {
    spec.embedding.assign(static_cast<std::size_t>(n), Embedding::plain);
    spec.embedding[0] = Embedding::angle;
  }
  return spec;
}

// A model, a batch chosen away from every kink of the loss, targets and
// weights; and the loss computed independently of the adjoint.
class LossProblem {
 public:
  LossProblem(const Case& c, int B, std::uint64_t seed) : c_(c), n_(c.n), B_(B) {
    model_ = std::make_unique<Model<double>>(spec_of(c.n, c.angle));
    // The reference study's init gives indefinite M in many states; small
    // biases exercise every term.
    model_->initialize(Init::lnn, seed);
    std::mt19937_64 rng(seed + 17);
    std::normal_distribution<double> nd(0.0, 0.2);
    const int K = model_->spec().depth();
    for (int l = 0; l <= K; ++l)
      for (int i = 0; i < model_->layout()[static_cast<std::size_t>(l)].rows; ++i)
        model_->bias(l)[i] = nd(rng);
    EngineOptions opt;
    opt.solve.method = c.method;
    engine_ = std::make_unique<Engine<double>>(*model_, opt);  // sees later changes
    if (c.mixed) mix();
    states_ = test::random_states<double>(B_, n_, seed + 3);
    // Redraw a sample until its eigenvalues keep clear of 0 (relu's kink, and
    // Cholesky's status) and M is well conditioned (the FD error of a solve
    // grows with cond(M)).
    for (int s = 0; s < B_; ++s)
      for (std::uint64_t attempt = 0; !well_posed(s); ++attempt) {
        if (attempt > 200) throw std::runtime_error("no well-posed state found");
        const std::vector<double> x = test::random_states<double>(
            1, n_, seed * 1000 + attempt * 31 + static_cast<unsigned>(s));
        std::copy(x.begin(), x.end(), states_.begin() + s * 2 * n_);
      }
    tau_.assign(static_cast<std::size_t>(B_ * n_), 0.0);
    for (std::size_t i = 0; i < tau_.size(); ++i) tau_[i] = 0.1 * static_cast<double>(i % 3) - 0.1;
    // Targets a fixed distance from q̈, so that |q̈ − target| has no kink near.
    std::vector<double> acc(tau_.size());
    engine_->accelerations(states_, tau_, acc);
    targets_.resize(acc.size());
    for (std::size_t i = 0; i < acc.size(); ++i)
      targets_[i] = (std::isfinite(acc[i]) ? acc[i] : 0.0) + (i % 2 ? 0.4 : -0.3);
    weights_.assign(static_cast<std::size_t>(B_), c.data ? 1.0 : 0.0);
    if (c.weighted)
      for (int s = 0; s < B_; ++s) weights_[s] = s == 1 ? 0.0 : 0.25 + 0.5 * (s % 4);
  }

  LossOptions<double> options() const {
    LossOptions<double> o;
    o.kind = c_.kind;
    o.weights = weights_;
    o.mass_penalty = c_.rho;
    return o;
  }

  std::vector<double> M_of(const std::vector<double>& x) {
    std::vector<double> M(x.size() / 2 * static_cast<std::size_t>(n_));
    engine_->euler_lagrange_terms(x, M, {}, {});
    return M;
  }
  std::vector<double> sample_M(const std::vector<double>& M, int s) const {
    const std::size_t nn = static_cast<std::size_t>(n_ * n_);
    return {M.begin() + static_cast<std::ptrdiff_t>(s * nn),
            M.begin() + static_cast<std::ptrdiff_t>((s + 1) * nn)};
  }

  struct Value {
    double data = 0.0, penalty = 0.0;
    std::vector<SolveStatus> status;
  };
  Value loss_at(const std::vector<double>& x) {
    Value v;
    v.status.resize(static_cast<std::size_t>(B_));
    std::vector<double> acc(static_cast<std::size_t>(B_ * n_));
    engine_->accelerations(x, tau_, acc, v.status);
    double sum = 0.0, wsum = 0.0;
    for (int s = 0; s < B_; ++s) {
      if (v.status[s] != SolveStatus::ok) continue;
      double l = 0.0;
      for (int p = 0; p < n_; ++p) {
        const double d = acc[s * n_ + p] - targets_[s * n_ + p];
        l += c_.kind == Loss::l1 ? std::fabs(d) : d * d;
      }
      sum += weights_[s] * l / n_;
      wsum += weights_[s];
    }
    v.data = wsum > 0 ? sum / wsum : 0.0;
    const std::vector<double> M = M_of(x);
    for (int s = 0; s < B_; ++s) v.penalty += relu_neg_sum(eigenvalues(sample_M(M, s), n_));
    v.penalty *= c_.rho / B_;
    return v;
  }

  int n() const { return n_; }
  int B() const { return B_; }
  Model<double>& model() { return *model_; }
  Engine<double>& engine() { return *engine_; }
  std::vector<double>& states() { return states_; }
  const std::vector<double>& tau() const { return tau_; }
  const std::vector<double>& targets() const { return targets_; }

 private:
  bool well_posed(int s) {
    std::vector<double> x(states_.begin() + s * 2 * n_, states_.begin() + (s + 1) * 2 * n_);
    const std::vector<double> w = eigenvalues(M_of(x), n_);
    double small = std::numeric_limits<double>::infinity(), big = 0.0;
    for (double e : w) small = std::min(small, std::fabs(e)), big = std::max(big, std::fabs(e));
    if (c_.mixed && (w[0] > 0) != (s % 2 == 0)) return false;  // even samples positive definite
    return small > 0.02 * big && big < 1e4 * small;
  }

  // Hidden weights made positive (so σ''⊙g > 0 and M positive definite), then
  // every other output weight ×(−α) with α chosen so that M is positive
  // definite in about half of the states.
  void mix() {
    const int K = model_->spec().depth();
    for (int l = 1; l <= K; ++l) {
      const LayerLayout& lay = model_->layout()[static_cast<std::size_t>(l)];
      for (int i = 0; i < lay.rows * lay.cols; ++i)
        model_->weight(l)[i] = std::fabs(model_->weight(l)[i]);
    }
    const std::vector<double> w0(model_->weight(K),
                                 model_->weight(K) + model_->layout().back().cols);
    const int trial = 100;
    const std::vector<double> x = test::random_states<double>(trial, n_, 77);
    double best = 0.0, best_gap = 1.0;
    for (double alpha = 0.2; alpha < 3.0; alpha += 0.05) {
      for (std::size_t i = 0; i < w0.size(); ++i)
        model_->weight(K)[i] = i % 2 ? w0[i] : -alpha * w0[i];
      const std::vector<double> M = M_of(x);
      int pd = 0;
      for (int s = 0; s < trial; ++s) pd += eigenvalues(sample_M(M, s), n_)[0] > 0 ? 1 : 0;
      const double gap = std::fabs(pd / static_cast<double>(trial) - 0.5);
      if (gap < best_gap) best = alpha, best_gap = gap;
    }
    for (std::size_t i = 0; i < w0.size(); ++i)
      model_->weight(K)[i] = i % 2 ? w0[i] : -best * w0[i];
  }

  Case c_;
  int n_, B_;
  std::unique_ptr<Model<double>> model_;
  std::unique_ptr<Engine<double>> engine_;
  std::vector<double> states_, tau_, targets_, weights_;
};

class LossFiniteDifference : public testing::TestWithParam<Case> {};

TEST_P(LossFiniteDifference, GradientsMatchFiniteDifferences) {
  const Case& c = GetParam();
  LossProblem pb(c, 7, 11 + static_cast<std::uint64_t>(c.n));
  const int n = pb.n(), B = pb.B(), d = 2 * n;
  const std::size_t P = pb.model().spec().parameter_count();
  std::vector<double> pg(P), xg(pb.states().size());
  const LossResult<double> r =
      pb.engine().loss_gradient(pb.states(), pb.tau(), pb.targets(), pb.options(), pg, xg);
  const LossProblem::Value v0 = pb.loss_at(pb.states());

  // The batch exercises what the case is about.
  // "indefinite" here: not positive definite (what the penalty acts on);
  // Cholesky fails only on mixed signs (a negative definite M is factored as −M).
  std::size_t indefinite = 0, mixed = 0, most_negative = 0;
  const std::vector<double> M = pb.M_of(pb.states());
  for (int s = 0; s < B; ++s) {
    const std::vector<double> w = eigenvalues(pb.sample_M(M, s), n);
    std::size_t neg = 0;
    for (double e : w) neg += e < 0 ? 1 : 0;
    indefinite += neg > 0 ? 1 : 0;
    mixed += neg > 0 && neg < static_cast<std::size_t>(n) ? 1 : 0;
    most_negative = std::max(most_negative, neg);
  }
  ASSERT_GE(indefinite, 2u) << "want several samples with indefinite M";
  if (n == 4) {
    ASSERT_GE(most_negative, 2u) << "want a negative eigenspace of dimension > 1";
  }
  if (c.method == SolveMethod::cholesky) {
    ASSERT_LT(indefinite, static_cast<std::size_t>(B)) << "want some positive definite M";
    EXPECT_EQ(r.solve.not_positive_definite, mixed);
  } else {
    EXPECT_EQ(r.solve.failures(), 0u);
  }
  if (c.rho > 0) {
    EXPECT_GT(r.penalty, 0.0);
  } else {
    EXPECT_EQ(r.penalty, 0.0);
  }
  if (!c.data) {
    EXPECT_EQ(r.data_loss, 0.0);
  }
  EXPECT_NEAR(r.data_loss, v0.data, 1e-12 * (1 + v0.data));
  EXPECT_NEAR(r.penalty, v0.penalty, 1e-12 * (1 + v0.penalty));
  EXPECT_EQ(r.loss, r.data_loss + r.penalty);
  ASSERT_GT(max_abs(pg), 0.0);
  ASSERT_GT(max_abs(xg), 0.0);

  // Loss at perturbed parameters/states; the solve outcomes must not change
  // (that would be a kink).
  auto total = [&](const std::vector<double>& x) {
    const LossProblem::Value v = pb.loss_at(x);
    EXPECT_EQ(v.status, v0.status) << "a solve outcome changed within the FD step";
    return v.data + v.penalty;
  };
  std::span<double> theta = pb.model().parameters();
  const double scale = std::max(max_abs(pg), r.loss);
  for (std::size_t i = 0; i < P; ++i) {
    const double t0 = theta[i];
    const double fd = test::richardson(
        [&](double h) {
          theta[i] = t0 + h;
          const double l = total(pb.states());
          theta[i] = t0;
          return l;
        },
        0.1 * fd_step<double>() * std::max(1.0, std::fabs(t0)));
    EXPECT_NEAR(pg[i], fd, fd_tol<double>(scale)) << "dloss/dtheta[" << i << "]";
  }
  const double xscale = std::max(max_abs(xg), r.loss);
  const std::vector<double> x0 = pb.states();
  for (std::size_t i = 0; i < x0.size(); ++i) {
    const double fd = test::richardson(
        [&](double h) {
          std::vector<double> x = x0;
          x[i] += h;
          return total(x);
        },
        fd_step<double>() * std::max(1.0, std::fabs(x0[i])));
    EXPECT_NEAR(xg[i], fd, fd_tol<double>(xscale))
        << "dloss/dstate[sample " << i / static_cast<std::size_t>(d) << "]["
        << i % static_cast<std::size_t>(d) << "]";
  }
}

std::string case_name(const testing::TestParamInfo<Case>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Cases, LossFiniteDifference, testing::ValuesIn(fd_cases()), case_name);

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

TEST(EngineLoss, WeightsOfOneEqualTheUnweightedLossBitForBit) {
  for (SolveMethod method : {SolveMethod::lu, SolveMethod::cholesky})
    for (Loss kind : {Loss::l1, Loss::mse}) {
      Case c{"", 3, true, method, kind, false, true, 0.0, true};
      LossProblem pb(c, 21, 5);
      const std::size_t P = pb.model().spec().parameter_count();
      std::vector<double> pg1(P), xg1(pb.states().size()), pg2(P), xg2(pb.states().size());
      const LossResult<double> r1 =
          pb.engine().loss_gradient(pb.states(), pb.tau(), pb.targets(), kind, pg1, xg1);
      const std::vector<double> ones(static_cast<std::size_t>(pb.B()), 1.0);
      LossOptions<double> o;
      o.kind = kind;
      o.weights = ones;
      const LossResult<double> r2 =
          pb.engine().loss_gradient(pb.states(), pb.tau(), pb.targets(), o, pg2, xg2);
      if (method == SolveMethod::cholesky) {
        EXPECT_GT(r1.solve.failures(), 0u);
      }
      EXPECT_EQ(r1.loss, r2.loss);
      EXPECT_EQ(r1.data_loss, r1.loss);
      EXPECT_EQ(r2.data_loss, r2.loss);
      EXPECT_EQ(r1.penalty, 0.0);
      EXPECT_EQ(r2.penalty, 0.0);
      EXPECT_TRUE(same_bits(pg1, pg2)) << "parameter gradient, " << to_string(kind);
      EXPECT_TRUE(same_bits(xg1, xg2)) << "input gradient, " << to_string(kind);
    }
}

TEST(EngineLoss, BadWeightsOrPenaltyThrow) {
  Case c{"", 2, false, SolveMethod::lu, Loss::l1, false, true, 0.0};
  LossProblem pb(c, 4, 3);
  std::vector<double> pg(pb.model().spec().parameter_count());
  auto call = [&](std::vector<double> w, double rho) {
    LossOptions<double> o;
    o.weights = w;
    o.mass_penalty = rho;
    pb.engine().loss_gradient(pb.states(), pb.tau(), pb.targets(), o, pg);
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_THROW(call({1, 1, 1}, 0), InvalidArgument);
  EXPECT_THROW(call({1, 1, 1, 1, 1}, 0), InvalidArgument);
  EXPECT_THROW(call({1, -1, 1, 1}, 0), InvalidArgument);
  EXPECT_THROW(call({1, nan, 1, 1}, 0), InvalidArgument);
  EXPECT_THROW(call({1, inf, 1, 1}, 0), InvalidArgument);
  EXPECT_THROW(call({}, -0.5), InvalidArgument);
  EXPECT_THROW(call({}, nan), InvalidArgument);
  EXPECT_THROW(call({}, inf), InvalidArgument);
  EXPECT_NO_THROW(call({0, 0, 2, 1}, 0.5));
  EXPECT_NO_THROW(call({}, 0));
}

TEST(EngineLoss, ZeroWeightsGiveZeroDataLossAndGradient) {
  Case c{"", 2, false, SolveMethod::lu, Loss::mse, false, false, 0.0};
  LossProblem pb(c, 5, 8);
  std::vector<double> pg(pb.model().spec().parameter_count(), 1.0), xg(pb.states().size(), 1.0);
  const LossResult<double> r =
      pb.engine().loss_gradient(pb.states(), pb.tau(), pb.targets(), pb.options(), pg, xg);
  EXPECT_EQ(r.loss, 0.0);
  EXPECT_EQ(r.data_loss, 0.0);
  EXPECT_EQ(max_abs(pg), 0.0);
  EXPECT_EQ(max_abs(xg), 0.0);
}

// Penalty value against M from euler_lagrange_terms and this file's
// eigen-solver, with failed samples (Cholesky) and a sample that is not a
// state (NaN: its M is not finite, it adds nothing but is counted in B).
TEST(EngineLoss, PenaltyValueMatchesEigenvaluesOfM) {
  for (const auto& [n, mixed] : {std::pair{1, true}, {2, true}, {3, true}, {4, false}}) {
    Case c{"", n, n > 1, SolveMethod::cholesky, Loss::l1, false, true, 0.9, mixed};
    const int B = 40;
    LossProblem pb(c, B, 21 + static_cast<std::uint64_t>(n));
    std::vector<double>& x = pb.states();
    x[5 * 2 * n] = std::nan("");  // q_0 of sample 5 (an angle when n > 1)
    const std::vector<double> M = pb.M_of(x);
    double expect = 0.0;
    std::size_t indefinite = 0, mixed_signs = 0;  // Cholesky fails on mixed signs only
    for (int s = 0; s < B; ++s) {
      if (s == 5) continue;
      const std::vector<double> w = eigenvalues(pb.sample_M(M, s), n);
      expect += relu_neg_sum(w);
      indefinite += w[0] < 0 ? 1 : 0;
      mixed_signs += w[0] < 0 && w[n - 1] > 0 ? 1 : 0;
    }
    expect *= 0.9 / B;
    ASSERT_GT(indefinite, 0u);
    std::vector<double> pg(pb.model().spec().parameter_count()), xg(x.size());
    const LossResult<double> r =
        pb.engine().loss_gradient(x, pb.tau(), pb.targets(), pb.options(), pg, xg);
    EXPECT_EQ(r.solve.samples, static_cast<std::size_t>(B));
    EXPECT_EQ(r.solve.failures(), mixed_signs + 1) << "n = " << n;
    EXPECT_NEAR(r.penalty, expect, 1e-13 * expect) << "n = " << n;
    EXPECT_EQ(r.loss, r.data_loss + r.penalty);
    // The NaN sample poisons nothing and gets no gradient.
    for (double g : pg) ASSERT_TRUE(std::isfinite(g)) << "n = " << n;
    for (int j = 0; j < 2 * n; ++j) EXPECT_EQ(xg[5 * 2 * n + j], 0.0);
    // Also without the penalty (an angle's −sin(NaN)·0 once reached the sums).
    const LossResult<double> r0 =
        pb.engine().loss_gradient(x, pb.tau(), pb.targets(), Loss::l1, pg, xg);
    EXPECT_EQ(std::isfinite(r0.loss), r0.solve.failures() < r0.solve.samples);
    for (double g : pg) ASSERT_TRUE(std::isfinite(g)) << "n = " << n;
    for (int j = 0; j < 2 * n; ++j) EXPECT_EQ(xg[5 * 2 * n + j], 0.0);
    pb.engine().loss_gradient(x, pb.tau(), pb.targets(), pb.options(), pg, xg);
    // A failed sample with indefinite M does get a gradient, from the penalty.
    std::vector<SolveStatus> st(static_cast<std::size_t>(B));
    std::vector<double> acc(static_cast<std::size_t>(B * n));
    pb.engine().accelerations(x, pb.tau(), acc, st);
    for (int s = 0; s < B; ++s) {
      if (s == 5 || st[s] == SolveStatus::ok) continue;
      double g = 0.0;
      for (int j = 0; j < 2 * n; ++j) g = std::max(g, std::fabs(xg[s * 2 * n + j]));
      EXPECT_GT(g, 0.0) << "failed sample " << s << " has no penalty gradient";
    }
  }
}

// No sample solves: without a penalty there is nothing to measure (NaN, as
// always); with one, the data term is 0 and the penalty alone trains.
TEST(EngineLoss, NoSolvedSampleIsNaNWithoutPenaltyAndZeroWithIt) {
  Case c{"", 2, false, SolveMethod::cholesky, Loss::l1, false, true, 0.0};
  LossProblem pb(c, 12, 4);
  // Keep only the failed (indefinite) samples.
  const int n = 2;
  std::vector<SolveStatus> st(12);
  std::vector<double> acc(24);
  pb.engine().accelerations(pb.states(), {}, acc, st);
  std::vector<double> x;
  for (int s = 0; s < 12; ++s)
    if (st[s] != SolveStatus::ok)
      x.insert(x.end(), pb.states().begin() + s * 2 * n, pb.states().begin() + (s + 1) * 2 * n);
  ASSERT_FALSE(x.empty());
  const std::vector<double> t(x.size() / 2, 0.0);
  std::vector<double> pg(pb.model().spec().parameter_count());
  const LossResult<double> r0 = pb.engine().loss_gradient(x, {}, t, Loss::l1, pg);
  EXPECT_EQ(r0.solve.failures(), r0.solve.samples);
  EXPECT_TRUE(std::isnan(r0.loss));
  EXPECT_EQ(max_abs(pg), 0.0);
  LossOptions<double> o;
  o.mass_penalty = 0.5;
  const LossResult<double> r1 = pb.engine().loss_gradient(x, {}, t, o, pg);
  EXPECT_EQ(r1.data_loss, 0.0);
  EXPECT_GT(r1.penalty, 0.0);
  EXPECT_EQ(r1.loss, r1.penalty);
  EXPECT_GT(max_abs(pg), 0.0);
  for (double g : pg) ASSERT_TRUE(std::isfinite(g));
}

// With a penalty and several chunks the data term's normalization is learned
// by a first pass; the result equals one chunk's within rounding (GEMMs of
// other shapes), with failures spread over the chunks.
TEST(EngineLoss, PenaltyDoesNotDependOnChunking) {
  for (SolveMethod method : {SolveMethod::lu, SolveMethod::cholesky}) {
    Case c{"", 2, true, method, Loss::mse, true, true, 0.8, true};
    LossProblem pb(c, 37, 9);
    const std::size_t P = pb.model().spec().parameter_count();
    std::vector<double> pg1(P), xg1(pb.states().size()), pg2(P), xg2(pb.states().size());
    const LossResult<double> r1 =
        pb.engine().loss_gradient(pb.states(), pb.tau(), pb.targets(), pb.options(), pg1, xg1);
    EngineOptions opt;
    opt.solve.method = method;
    opt.chunk = 8;
    Engine<double> chunked(pb.model(), opt);
    const LossResult<double> r2 =
        chunked.loss_gradient(pb.states(), pb.tau(), pb.targets(), pb.options(), pg2, xg2);
    const double tol = 1e3 * test::eps<double>();
    EXPECT_EQ(r1.solve.failures(), r2.solve.failures());
    EXPECT_NEAR(r1.data_loss, r2.data_loss, tol * (1 + r1.data_loss));
    EXPECT_NEAR(r1.penalty, r2.penalty, tol * (1 + r1.penalty));
    for (std::size_t i = 0; i < P; ++i)
      EXPECT_NEAR(pg1[i], pg2[i], tol * (1 + max_abs(pg1))) << "theta[" << i << "]";
    for (std::size_t i = 0; i < xg1.size(); ++i)
      EXPECT_NEAR(xg1[i], xg2[i], tol * (1 + max_abs(xg1))) << "state[" << i << "]";
  }
}

// The same penalty in float: the per-sample eigen-decomposition and the
// failed-sample handling also run in single precision.
TEST(EngineLoss, FloatPenaltyAgreesWithDouble) {
  Case c{"", 3, true, SolveMethod::cholesky, Loss::mse, true, true, 0.8, true};
  LossProblem pb(c, 24, 13);
  Model<float> mf(pb.model().spec());
  const std::span<const double> pd = pb.model().parameters();
  for (std::size_t i = 0; i < pd.size(); ++i) mf.parameters()[i] = static_cast<float>(pd[i]);
  EngineOptions opt;
  opt.solve.method = SolveMethod::cholesky;
  Engine<float> ef(mf, opt);
  auto to_float = [](const std::vector<double>& v) {
    return std::vector<float>(v.begin(), v.end());
  };
  const std::vector<float> x = to_float(pb.states()), tau = to_float(pb.tau()),
                           t = to_float(pb.targets());
  const std::vector<float> w =
      to_float(std::vector<double>(pb.options().weights.begin(), pb.options().weights.end()));
  LossOptions<float> of;
  of.kind = c.kind;
  of.weights = w;
  of.mass_penalty = c.rho;
  const std::size_t P = pd.size();
  std::vector<float> pgf(P), xgf(x.size());
  std::vector<double> pg(P), xg(x.size());
  const LossResult<float> rf = ef.loss_gradient(x, tau, t, of, pgf, xgf);
  const LossResult<double> r =
      pb.engine().loss_gradient(pb.states(), pb.tau(), pb.targets(), pb.options(), pg, xg);
  ASSERT_EQ(rf.solve.failures(), r.solve.failures());
  ASSERT_GT(r.solve.failures(), 0u);
  // Rounding grows with cond(M) (<= 50 here) through the solves: a sanity
  // bound for the single-precision path, not a precision claim.
  const double tol = 1e4 * test::eps<float>();
  EXPECT_NEAR(rf.penalty, r.penalty, tol * r.penalty);
  EXPECT_NEAR(rf.data_loss, r.data_loss, tol * (1 + r.data_loss));
  for (std::size_t i = 0; i < P; ++i)
    EXPECT_NEAR(pgf[i], pg[i], tol * (1 + max_abs(pg))) << "theta[" << i << "]";
  for (std::size_t i = 0; i < xg.size(); ++i)
    EXPECT_NEAR(xgf[i], xg[i], tol * (1 + max_abs(xg))) << "state[" << i << "]";
}

}  // namespace
}  // namespace lnn
