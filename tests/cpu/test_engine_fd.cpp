// The engine's derivatives against central finite differences in double
// (docs/math.md §2–4): ∇L, the full Hessian, M, C·q̇, q̈, the energy's
// conservation, and the loss gradient w.r.t. parameters and input states.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/test_util.hpp"
#include "lnn/engine.hpp"
#include "lnn/model.hpp"

namespace lnn {
namespace {

using test::fd_step;
using test::fd_tol;
using test::max_abs;

struct Case {
  int n;
  int depth;
  int width;
  Activation act;
  bool angles;  // every other coordinate periodic
};

std::string case_name(const testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return "n" + std::to_string(c.n) + "_d" + std::to_string(c.depth) + "_w" +
         std::to_string(c.width) + "_" + std::string(to_string(c.act)) +
         (c.angles ? "_angle" : "_plain");
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  const Activation acts[] = {Activation::softplus, Activation::tanh, Activation::silu,
                             Activation::gelu, Activation::xtanh_half};
  const int widths[] = {6, 9, 13, 7};
  int idx = 0;
  for (int n : {1, 2, 3, 7})
    for (Activation a : acts)
      for (bool angles : {false, true}) {
        // width >= 2n keeps M full rank (a depth-1 net of width m gives rank(M) <= m)
        cases.push_back({n, 1 + idx % 4, widths[idx % 4] + 2 * n, a, angles});
        ++idx;
      }
  return cases;
}

ModelSpec spec_of(const Case& c) {
  ModelSpec spec;
  spec.n = c.n;
  spec.hidden.assign(static_cast<std::size_t>(c.depth), c.width);
  spec.activation = c.act;
  if (c.angles)
    for (int j = 0; j < c.n; ++j)
      spec.embedding.push_back(j % 2 == 0 ? Embedding::angle : Embedding::plain);
  return spec;
}

class EngineFiniteDifference : public testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    model_ = std::make_unique<Model<double>>(spec_of(GetParam()));
    model_->initialize(Init::xavier, 1234);
    // Non-zero biases so every term of the derivation is exercised.
    std::mt19937_64 rng(99);
    std::normal_distribution<double> nd(0.0, 0.3);
    for (int l = 0; l <= model_->spec().depth(); ++l)
      for (int i = 0; i < model_->layout()[static_cast<std::size_t>(l)].rows; ++i)
        model_->bias(l)[i] = nd(rng);
    EngineOptions opt;
    opt.solve.method = SolveMethod::lu;  // M of a random network may be indefinite
    engine_ = std::make_unique<Engine<double>>(*model_, opt);
    n_ = GetParam().n;
    states_ = test::random_states<double>(B_, n_, 7 + static_cast<std::uint64_t>(n_));
    // Finite differences through a solve are only as good as cond(M) allows:
    // redraw any sample whose M is ill-conditioned (cond > 1e4).
    for (int s = 0; s < B_; ++s) {
      for (std::uint64_t attempt = 0; condition(s) > 1e4; ++attempt) {
        ASSERT_LT(attempt, 50u) << "no well-conditioned state found";
        const std::vector<double> x = test::random_states<double>(1, n_, 1000 + attempt * 7 + s);
        std::copy(x.begin(), x.end(), states_.begin() + s * 2 * n_);
      }
    }
  }

  double condition(int s) {
    const int n = n_;
    std::vector<double> x(states_.begin() + s * 2 * n, states_.begin() + (s + 1) * 2 * n);
    std::vector<double> M(static_cast<std::size_t>(n * n));
    engine_->euler_lagrange_terms(x, M, {}, {});
    double inv = 0.0;
    for (int c = 0; c < n; ++c) {
      std::vector<double> e(static_cast<std::size_t>(n), 0.0);
      e[c] = 1.0;
      inv = std::max(inv, max_abs(test::reference_solve(M, e)));
    }
    return max_abs(M) * inv * n;
  }

  std::vector<double> grad_at(const std::vector<double>& x) {
    std::vector<double> g(x.size());
    engine_->gradient(x, {}, g);
    return g;
  }
  double L_at(const std::vector<double>& x) {
    std::vector<double> L(x.size() / (2 * static_cast<std::size_t>(n_)));
    engine_->lagrangian(x, L);
    return L[0];
  }
  // Hessian of one sample by central differences of the analytic gradient.
  std::vector<double> fd_hessian(const double* x0) {
    const int d = 2 * n_;
    std::vector<double> H(static_cast<std::size_t>(d * d));
    for (int j = 0; j < d; ++j) {
      std::vector<double> xp(x0, x0 + d), xm(x0, x0 + d);
      const double h = fd_step<double>() * std::max(1.0, std::fabs(x0[j]));
      xp[j] += h;
      xm[j] -= h;
      const std::vector<double> gp = grad_at(xp), gm = grad_at(xm);
      for (int i = 0; i < d; ++i) H[i * d + j] = (gp[i] - gm[i]) / (2 * h);
    }
    return H;
  }

  const int B_ = 3;
  int n_ = 0;
  std::unique_ptr<Model<double>> model_;
  std::unique_ptr<Engine<double>> engine_;
  std::vector<double> states_;
};

TEST_P(EngineFiniteDifference, GradientMatchesFiniteDifferences) {
  const int d = 2 * n_;
  std::vector<double> g(states_.size());
  engine_->gradient(states_, {}, g);
  ASSERT_GT(max_abs(g), 0.0);
  for (int s = 0; s < B_; ++s) {
    const double* x0 = states_.data() + s * d;
    for (int j = 0; j < d; ++j) {
      std::vector<double> xp(x0, x0 + d), xm(x0, x0 + d);
      const double h = fd_step<double>() * std::max(1.0, std::fabs(x0[j]));
      xp[j] += h;
      xm[j] -= h;
      const double fd = (L_at(xp) - L_at(xm)) / (2 * h);
      EXPECT_NEAR(g[s * d + j], fd,
                  fd_tol<double>(std::fabs(L_at(std::vector<double>(x0, x0 + d)))))
          << "dL/dx[sample " << s << "][" << j << "]";
    }
  }
}

TEST_P(EngineFiniteDifference, HessianMatchesFiniteDifferences) {
  const int d = 2 * n_;
  std::vector<double> H(static_cast<std::size_t>(B_ * d * d));
  engine_->hessian(states_, H);
  ASSERT_GT(max_abs(H), 0.0);
  for (int s = 0; s < B_; ++s) {
    const std::vector<double> ref = fd_hessian(states_.data() + s * d);
    const double scale = max_abs(ref);
    for (int i = 0; i < d; ++i)
      for (int j = 0; j < d; ++j)
        EXPECT_NEAR(H[s * d * d + i * d + j], ref[i * d + j], fd_tol<double>(scale))
            << "H[sample " << s << "](" << i << "," << j << ")";
  }
}

TEST_P(EngineFiniteDifference, MassMatrixCoriolisAndForceMatchFiniteDifferences) {
  const int n = n_, d = 2 * n;
  std::vector<double> M(static_cast<std::size_t>(B_ * n * n)), Cv(static_cast<std::size_t>(B_ * n)),
      f(static_cast<std::size_t>(B_ * n));
  engine_->euler_lagrange_terms(states_, M, Cv, f);
  const std::vector<double> g = grad_at(states_);
  for (int s = 0; s < B_; ++s) {
    const double* x0 = states_.data() + s * d;
    const std::vector<double> H = fd_hessian(x0);
    const double scale = max_abs(H) * (1.0 + max_abs(std::vector<double>(x0, x0 + d)));
    for (int p = 0; p < n; ++p) {
      double cv = 0.0;
      for (int q = 0; q < n; ++q) {
        EXPECT_NEAR(M[s * n * n + p * n + q], H[(n + p) * d + n + q], fd_tol<double>(scale))
            << "M[sample " << s << "](" << p << "," << q << ")";
        cv += H[(n + p) * d + q] * x0[n + q];
      }
      EXPECT_NEAR(Cv[s * n + p], cv, fd_tol<double>(scale))
          << "Cv[sample " << s << "][" << p << "]";
      // Same math, but GEMMs of another shape may round differently.
      EXPECT_NEAR(f[s * n + p], g[s * d + p], 64 * test::eps<double>() * (1 + max_abs(g)))
          << "f[sample " << s << "][" << p << "]";
    }
  }
}

TEST_P(EngineFiniteDifference, AccelerationsMatchFiniteDifferenceEulerLagrange) {
  const int n = n_, d = 2 * n;
  std::vector<double> tau(static_cast<std::size_t>(B_ * n));
  for (std::size_t i = 0; i < tau.size(); ++i) tau[i] = 0.1 * static_cast<double>(i % 5) - 0.2;
  std::vector<double> acc(static_cast<std::size_t>(B_ * n));
  std::vector<SolveStatus> status(static_cast<std::size_t>(B_));
  const SolveReport rep = engine_->accelerations(states_, tau, acc, status);
  ASSERT_EQ(rep.failures(), 0u);
  const std::vector<double> g = grad_at(states_);
  for (int s = 0; s < B_; ++s) {
    const double* x0 = states_.data() + s * d;
    const std::vector<double> H = fd_hessian(x0);
    std::vector<double> Mref(static_cast<std::size_t>(n * n)), rhs(static_cast<std::size_t>(n));
    for (int p = 0; p < n; ++p) {
      rhs[p] = g[s * d + p] + tau[s * n + p];
      for (int q = 0; q < n; ++q) {
        Mref[p * n + q] = H[(n + p) * d + n + q];
        rhs[p] -= H[(n + p) * d + q] * x0[n + q];
      }
    }
    const std::vector<double> ref = test::reference_solve(Mref, rhs);
    // The solve amplifies the difference error by about cond(M).
    double inv_norm = 0.0;
    for (int c = 0; c < n; ++c) {
      std::vector<double> e(static_cast<std::size_t>(n), 0.0);
      e[c] = 1.0;
      inv_norm = std::max(inv_norm, max_abs(test::reference_solve(Mref, e)));
    }
    const double scale = (1.0 + max_abs(ref)) * max_abs(H) * inv_norm * n *
                         (1.0 + max_abs(std::vector<double>(x0, x0 + d)));
    for (int p = 0; p < n; ++p)
      EXPECT_NEAR(acc[s * n + p], ref[p], fd_tol<double>(scale))
          << "qddot[sample " << s << "][" << p << "]";
  }
}

TEST_P(EngineFiniteDifference, EnergyIsConservedByTheLearnedFlow) {
  // dE/dt = ∇_q E·q̇ + ∇_q̇ E·q̈ = 0 for τ = 0, with ∇E by finite differences.
  const int n = n_, d = 2 * n;
  std::vector<double> acc(static_cast<std::size_t>(B_ * n));
  ASSERT_EQ(engine_->accelerations(states_, {}, acc).failures(), 0u);
  for (int s = 0; s < B_; ++s) {
    const double* x0 = states_.data() + s * d;
    double dEdt = 0.0, scale = 0.0;
    for (int j = 0; j < d; ++j) {
      std::vector<double> xp(x0, x0 + d), xm(x0, x0 + d);
      const double h = fd_step<double>() * std::max(1.0, std::fabs(x0[j]));
      xp[j] += h;
      xm[j] -= h;
      std::vector<double> Ep(1), Em(1);
      engine_->energy(xp, Ep);
      engine_->energy(xm, Em);
      const double dE = (Ep[0] - Em[0]) / (2 * h);
      const double rate = j < n ? x0[n + j] : acc[s * n + j - n];
      dEdt += dE * rate;
      scale = std::max(scale, std::fabs(dE * rate));
    }
    EXPECT_NEAR(dEdt, 0.0, fd_tol<double>(scale) * d) << "dE/dt at sample " << s;
  }
}

TEST_P(EngineFiniteDifference, LossGradientMatchesFiniteDifferences) {
  const int n = n_, d = 2 * n;
  std::vector<double> targets = test::random_states<double>(B_, n, 31);
  targets.resize(static_cast<std::size_t>(B_ * n));
  std::vector<double> tau(static_cast<std::size_t>(B_ * n), 0.05);
  const std::size_t P = model_->spec().parameter_count();
  std::vector<double> pg(P), xg(states_.size());
  const LossResult<double> res = engine_->loss_gradient(states_, tau, targets, Loss::mse, pg, xg);
  ASSERT_EQ(res.solve.failures(), 0u);
  ASSERT_GT(max_abs(pg), 0.0);
  ASSERT_GT(max_abs(xg), 0.0);

  auto loss_at = [&](const std::vector<double>& x) {
    std::vector<double> acc(static_cast<std::size_t>(B_ * n));
    engine_->accelerations(x, tau, acc);
    double sum = 0.0;
    for (std::size_t i = 0; i < acc.size(); ++i)
      sum += (acc[i] - targets[i]) * (acc[i] - targets[i]);
    return sum / static_cast<double>(acc.size());
  };
  EXPECT_NEAR(res.loss, loss_at(states_), 1e-12 * (1.0 + res.loss));
  const double scale = std::max(max_abs(pg), res.loss);
  std::span<double> theta = model_->parameters();
  const auto layout = model_->layout();
  for (std::size_t i = 0; i < P; ++i) {
    const double t0 = theta[i];
    const double fd = test::richardson(
        [&](double dh) {
          theta[i] = t0 + dh;
          const double l = loss_at(states_);
          theta[i] = t0;
          return l;
        },
        0.1 * fd_step<double>() * std::max(1.0, std::fabs(t0)));
    EXPECT_NEAR(pg[i], fd, fd_tol<double>(scale)) << "dloss/dtheta[" << i << "]";
  }
  const double xscale = std::max(max_abs(xg), res.loss);
  for (std::size_t i = 0; i < states_.size(); ++i) {
    const double fd = test::richardson(
        [&](double dh) {
          std::vector<double> x = states_;
          x[i] += dh;
          return loss_at(x);
        },
        fd_step<double>() * std::max(1.0, std::fabs(states_[i])));
    EXPECT_NEAR(xg[i], fd, fd_tol<double>(xscale))
        << "dloss/dstate[sample " << i / d << "][" << i % d << "]";
  }
}

// The VJP of q̈ against central differences of v·q̈ w.r.t. parameters,
// states and τ; acc and status are accelerations()'s.
TEST_P(EngineFiniteDifference, AccelerationsVjpMatchesFiniteDifferences) {
  const int n = n_, d = 2 * n;
  std::vector<double> v = test::random_states<double>(B_, n, 41);
  v.resize(static_cast<std::size_t>(B_ * n));
  std::vector<double> tau = test::random_states<double>(B_, n, 43);
  tau.resize(static_cast<std::size_t>(B_ * n));
  const std::size_t P = model_->spec().parameter_count();
  std::vector<double> pg(P, 7.0), xg(states_.size()), tg(tau.size()), acc(tau.size());
  std::vector<SolveStatus> st(static_cast<std::size_t>(B_));
  const SolveReport rep = engine_->accelerations_vjp(states_, tau, v, pg, xg, tg, acc, st);
  ASSERT_EQ(rep.failures(), 0u);
  ASSERT_EQ(rep.samples, static_cast<std::size_t>(B_));
  std::vector<double> acc_ref(acc.size());
  engine_->accelerations(states_, tau, acc_ref);
  EXPECT_EQ(acc, acc_ref);
  for (SolveStatus s : st) EXPECT_EQ(s, SolveStatus::ok);

  auto vq_at = [&](const std::vector<double>& x, const std::vector<double>& t) {
    std::vector<double> a(static_cast<std::size_t>(B_ * n));
    engine_->accelerations(x, t, a);
    double sum = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) sum += v[i] * a[i];
    return sum;
  };
  const double scale = std::max(max_abs(pg), max_abs(acc));
  std::span<double> theta = model_->parameters();
  for (std::size_t i = 0; i < P; ++i) {
    const double t0 = theta[i];
    const double fd = test::richardson(
        [&](double dh) {
          theta[i] = t0 + dh;
          const double r = vq_at(states_, tau);
          theta[i] = t0;
          return r;
        },
        0.1 * fd_step<double>() * std::max(1.0, std::fabs(t0)));
    EXPECT_NEAR(pg[i], fd, fd_tol<double>(scale)) << "v·dq̈/dtheta[" << i << "]";
  }
  const double xscale = std::max(max_abs(xg), max_abs(acc));
  for (std::size_t i = 0; i < states_.size(); ++i) {
    const double fd = test::richardson(
        [&](double dh) {
          std::vector<double> x = states_;
          x[i] += dh;
          return vq_at(x, tau);
        },
        fd_step<double>() * std::max(1.0, std::fabs(states_[i])));
    EXPECT_NEAR(xg[i], fd, fd_tol<double>(xscale))
        << "v·dq̈/dstate[sample " << i / d << "][" << i % d << "]";
  }
  for (std::size_t i = 0; i < tau.size(); ++i) {
    const double fd = test::richardson(
        [&](double dh) {
          std::vector<double> t = tau;
          t[i] += dh;
          return vq_at(states_, t);
        },
        fd_step<double>());
    EXPECT_NEAR(tg[i], fd, fd_tol<double>(xscale)) << "v·dq̈/dtau[" << i << "]";
  }
}

// With v = 2(q̈ − target)/(B n) the VJP is the MSE loss gradient.
TEST_P(EngineFiniteDifference, AccelerationsVjpOfTheMseSeedIsTheLossGradient) {
  const int n = n_;
  std::vector<double> targets = test::random_states<double>(B_, n, 31);
  targets.resize(static_cast<std::size_t>(B_ * n));
  const std::size_t P = model_->spec().parameter_count();
  std::vector<double> pg(P), xg(states_.size()), acc(targets.size());
  engine_->loss_gradient(states_, {}, targets, Loss::mse, pg, xg);
  engine_->accelerations(states_, {}, acc);
  std::vector<double> v(acc.size());
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = 2.0 * (acc[i] - targets[i]) / static_cast<double>(acc.size());
  std::vector<double> pv(P), xv(states_.size());
  engine_->accelerations_vjp(states_, {}, v, pv, xv);
  for (std::size_t i = 0; i < P; ++i)
    EXPECT_NEAR(pv[i], pg[i], 1e-12 * (1.0 + max_abs(pg))) << "parameter " << i;
  for (std::size_t i = 0; i < xv.size(); ++i)
    EXPECT_NEAR(xv[i], xg[i], 1e-12 * (1.0 + max_abs(xg))) << "state entry " << i;
}

INSTANTIATE_TEST_SUITE_P(Configurations, EngineFiniteDifference, testing::ValuesIn(all_cases()),
                         case_name);

TEST(EngineLoss, L1GradientMatchesFiniteDifferencesAwayFromKinks) {
  ModelSpec spec;
  spec.n = 2;
  spec.hidden = {10, 10};
  Model<double> model(spec);
  model.initialize(Init::xavier, 5);
  EngineOptions opt;
  opt.solve.method = SolveMethod::lu;
  Engine<double> engine(model, opt);
  const std::vector<double> x = test::random_states<double>(4, 2, 3);
  std::vector<double> acc(8);
  engine.accelerations(x, {}, acc);
  std::vector<double> targets(8);
  for (std::size_t i = 0; i < 8; ++i) targets[i] = acc[i] + (i % 2 ? 0.5 : -0.5);  // kinks far away
  std::vector<double> pg(spec.parameter_count());
  const LossResult<double> r = engine.loss_gradient(x, {}, targets, Loss::l1, pg);
  EXPECT_NEAR(r.loss, 0.5, 1e-12);
  std::span<double> theta = model.parameters();
  for (std::size_t i = 0; i < theta.size(); i += 7) {
    const double t0 = theta[i], h = 1e-6;
    auto loss = [&] {
      std::vector<double> a(8);
      engine.accelerations(x, {}, a);
      double s = 0.0;
      for (std::size_t j = 0; j < 8; ++j) s += std::fabs(a[j] - targets[j]);
      return s / 8.0;
    };
    theta[i] = t0 + h;
    const double lp = loss();
    theta[i] = t0 - h;
    const double lm = loss();
    theta[i] = t0;
    EXPECT_NEAR(pg[i], (lp - lm) / (2 * h), 1e-6 * (1.0 + std::fabs(pg[i])))
        << "theta[" << i << "]";
  }
}

}  // namespace
}  // namespace lnn
