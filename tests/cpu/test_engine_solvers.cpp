// The engine's four solve methods agree where M is positive definite, and
// each reports its failures the documented way.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/test_util.hpp"
#include "lnn/engine.hpp"

namespace lnn {
namespace {

// One softplus layer of width 32 with positive output weights, n = 3: convex
// in x, so M is positive definite (width >= n) at every state.
Model<double> convex_model() {
  ModelSpec spec;
  spec.n = 3;
  spec.hidden = {32};
  spec.activation = Activation::softplus;
  Model<double> model(spec);
  model.initialize(Init::xavier, 17);
  for (int i = 0; i < 32; ++i) model.weight(1)[i] = std::fabs(model.weight(1)[i]);
  return model;
}

TEST(EngineSolvers, AllMethodsAgreeWherePositiveDefinite) {
  const int n = 3, B = 200;
  // Every method must solve every sample.
  const Model<double> model = convex_model();
  const std::vector<double> x = test::random_states<double>(B, n, 4);

  auto run = [&](SolveMethod m, std::vector<SolveStatus>& st) {
    EngineOptions opt;
    opt.solve.method = m;
    opt.solve.damping = 0.0;  // damped with ε = 0 is Cholesky
    Engine<double> engine(model, opt);
    std::vector<double> acc(static_cast<std::size_t>(B * n));
    st.assign(B, SolveStatus::ok);
    engine.accelerations(x, {}, acc, st);
    return acc;
  };
  std::vector<SolveStatus> s_chol, s_lu, s_damp, s_pinv;
  const auto a_chol = run(SolveMethod::cholesky, s_chol);
  const auto a_lu = run(SolveMethod::lu, s_lu);
  const auto a_damp = run(SolveMethod::damped, s_damp);
  const auto a_pinv = run(SolveMethod::pinv, s_pinv);
  int compared = 0;
  for (int s = 0; s < B; ++s) {
    EXPECT_EQ(s_chol[s], s_damp[s]) << "sample " << s;
    if (s_chol[s] != SolveStatus::ok) {
      EXPECT_TRUE(std::isnan(a_chol[s * n])) << "sample " << s;
      continue;
    }
    ++compared;
    ASSERT_EQ(s_lu[s], SolveStatus::ok);
    for (int j = 0; j < n; ++j) {
      const double ref = a_lu[s * n + j];
      const double tol = 1e6 * test::eps<double>() * (1 + std::fabs(ref));
      EXPECT_NEAR(a_chol[s * n + j], ref, tol) << "cholesky, sample " << s;
      EXPECT_EQ(a_damp[s * n + j], a_chol[s * n + j]) << "damped(0) is cholesky, sample " << s;
      if (s_pinv[s] == SolveStatus::ok) {
        EXPECT_NEAR(a_pinv[s * n + j], ref, tol) << "pinv, sample " << s;
      }
    }
  }
  EXPECT_EQ(compared, B) << "a convex Lagrangian has positive-definite M everywhere";
}

TEST(EngineSolvers, DefaultIsLu) {
  EXPECT_EQ(EngineOptions{}.solve.method, SolveMethod::lu);
  EXPECT_EQ(SolveOptions{}.method, SolveMethod::lu);
}

TEST(EngineSolvers, IndefiniteMassMatricesAreReportedByCholeskyAndSolvedByLu) {
  const int n = 2, B = 64;
  ModelSpec spec;
  spec.n = n;
  spec.hidden = {24, 24};
  Model<double> model(spec);
  model.initialize(Init::lnn, 3);
  const std::vector<double> x = test::random_states<double>(B, n, 8);
  std::vector<double> M(static_cast<std::size_t>(B * n * n)), acc(static_cast<std::size_t>(B * n)),
      piv(B);
  std::vector<SolveStatus> st(B);
  EngineOptions opt;
  opt.solve.method = SolveMethod::cholesky;
  Engine<double> chol(model, opt);
  chol.euler_lagrange_terms(x, M, {}, {});
  const SolveReport r = chol.accelerations(x, {}, acc, st, piv);
  std::size_t indefinite = 0;
  for (int s = 0; s < B; ++s) {
    const double a = M[s * 4], b = M[s * 4 + 1], d = M[s * 4 + 3];
    const double det = a * d - b * b;
    if (det < 0 && std::fabs(det) > 1e-8 * (a * a + d * d)) {
      ++indefinite;
      EXPECT_EQ(st[s], SolveStatus::not_positive_definite) << "sample " << s;
      EXPECT_LE(piv[s], 0.0) << "sample " << s;
    } else if (det > 1e-8 * (a * a + d * d)) {  // definite of either sign: solved
      EXPECT_EQ(st[s], SolveStatus::ok) << "sample " << s << " (M definite, a = " << a << ")";
    }
  }
  EXPECT_EQ(r.not_positive_definite, indefinite);
  ASSERT_GT(indefinite, 0u) << "the reference init should give some indefinite M";

  opt.solve.method = SolveMethod::lu;
  Engine<double> lu(model, opt);
  EXPECT_EQ(lu.accelerations(x, {}, acc, st).failures(), 0u);
}

// L and −L give the same unforced motion. The network of −L (output weights
// and bias negated) has exactly −M, −f and −C·q̇ (negation is exact), so every
// method returns the same q̈: Cholesky and damped factor −M where it is
// negative definite, and reproduce the bits of L's solve.
TEST(EngineSolvers, NegatedLagrangianGivesTheSameAccelerations) {
  const int n = 3, B = 128;
  // M positive definite for L, negative definite for −L.
  const Model<double> model = convex_model();
  Model<double> negated = model;
  for (int i = 0; i < 32; ++i) negated.weight(1)[i] = -negated.weight(1)[i];
  negated.bias(1)[0] = -negated.bias(1)[0];
  const std::vector<double> x = test::random_states<double>(B, n, 4);
  for (SolveMethod m : {SolveMethod::cholesky, SolveMethod::lu, SolveMethod::damped, SolveMethod::pinv}) {
    EngineOptions opt;
    opt.solve.method = m;
    std::vector<double> a(static_cast<std::size_t>(B * n)), b(a.size());
    std::vector<SolveStatus> sa(B), sb(B);
    Engine<double>(model, opt).accelerations(x, {}, a, sa);
    Engine<double>(negated, opt).accelerations(x, {}, b, sb);
    for (int s = 0; s < B; ++s) {
      ASSERT_EQ(sa[s], SolveStatus::ok) << to_string(m) << " sample " << s;
      ASSERT_EQ(sb[s], SolveStatus::ok) << to_string(m) << " sample " << s << " of -L";
      for (int j = 0; j < n; ++j) {
        if (m == SolveMethod::pinv) {
          EXPECT_NEAR(b[s * n + j], a[s * n + j], 1e-9 * (1 + std::fabs(a[s * n + j])));
        } else {
          EXPECT_EQ(b[s * n + j], a[s * n + j]) << to_string(m) << " sample " << s;
        }
      }
    }
  }
}

}  // namespace
}  // namespace lnn
