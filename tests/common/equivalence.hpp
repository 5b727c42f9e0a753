// Checks that another engine (the CUDA one, or the CPU emulation of its
// staging in tests/cpu/test_engine_staging.cpp) computes what the CPU engine
// computes: every operation of lnn::Engine, in the precision's tolerance.
//
// Tolerances: values and gradients within tol·max(1, max|reference|) per
// array (GEMMs of another blocking sum in another order); accelerations by
// their backward error, since a solve amplifies rounding by cond(M): the
// other engine's q̈ must satisfy the reference M q̈ = f − C q̇ + τ to within
// tol·(|M||q̈| + |f| + |C q̇| + |τ|) per coordinate.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/test_util.hpp"
#include "lnn/engine.hpp"
#include "lnn/model.hpp"

namespace lnn::test {

inline void RecordPropertyFlips(int flips) {
  ::testing::Test::RecordProperty("status_flips_at_threshold", flips);
}

template <class T>
double equivalence_tol() {
  return sizeof(T) == 4 ? 2e-4 : 1e-11;
}

template <class T>
void expect_close_arrays(const std::vector<T>& got, const std::vector<T>& want, const char* what,
                         double tol = equivalence_tol<T>()) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 1.0;
  for (T v : want)
    if (std::isfinite(static_cast<double>(v))) scale = std::max(scale, std::fabs(double(v)));
  int bad = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
    const bool ok = std::isnan(w) ? std::isnan(g) : std::fabs(g - w) <= tol * scale;
    if (!ok && ++bad <= 5)
      ADD_FAILURE() << what << "[" << i << "]: " << g << " vs reference " << w << " (tol "
                    << tol * scale << ")";
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << want.size() << " entries differ";
}

// A result of another engine against the CPU engine's, where rounding is
// amplified by cond(M) (gradients through the solve): it passes when it is
// within tol of the CPU's result, or, failing that, when its error against
// the double-precision result of its own parameters (exact_got) is at most
// twice the CPU result's error against the double-precision result of the
// CPU's parameters (exact_cpu), max over the array: rounding of equal size.
template <class T>
void expect_as_accurate_as_cpu(const std::vector<T>& got, const std::vector<double>& exact_got,
                               const std::vector<T>& cpu, const std::vector<double>& exact_cpu,
                               const char* what, double tol = equivalence_tol<T>()) {
  ASSERT_EQ(got.size(), cpu.size()) << what;
  ASSERT_EQ(exact_got.size(), cpu.size()) << what;
  ASSERT_EQ(exact_cpu.size(), cpu.size()) << what;
  double scale = 1.0, err_got = 0.0, err_cpu = 0.0;
  bool close = true;
  for (std::size_t i = 0; i < cpu.size(); ++i) scale = std::max(scale, std::fabs(double(cpu[i])));
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    close = close && std::fabs(double(got[i]) - double(cpu[i])) <= tol * scale;
    err_got = std::max(err_got, std::fabs(double(got[i]) - exact_got[i]));
    err_cpu = std::max(err_cpu, std::fabs(double(cpu[i]) - exact_cpu[i]));
  }
  if (close) return;
  EXPECT_LE(err_got, 2.0 * err_cpu)
      << what << ": differs from the CPU's beyond " << tol * scale
      << " and is less accurate: max error against double " << err_got << ", the CPU's "
      << err_cpu;
}

// |got − want| <= tol, or both NaN (a loss over no solved sample).
inline void expect_near_or_both_nan(double got, double want, double tol, const char* what) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << what << ": " << got << ", reference NaN";
  } else {
    EXPECT_NEAR(got, want, tol) << what;
  }
}

// Random model: widths `hidden`, n coordinates, angles on the first if asked.
template <class T>
Model<T> equivalence_model(int n, std::vector<int> hidden, std::uint64_t seed,
                           Activation act = Activation::softplus, bool angle = false) {
  ModelSpec spec;
  spec.n = n;
  spec.hidden = std::move(hidden);
  spec.activation = act;
  if (angle) {
    spec.embedding.assign(static_cast<std::size_t>(n), Embedding::plain);
    spec.embedding[0] = Embedding::angle;
  }
  Model<T> model(spec);
  model.initialize(Init::lnn, seed);
  return model;
}

template <class T>
std::vector<T> uniform(std::size_t count, double lo, double hi, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<T> v(count);
  for (T& x : v) x = static_cast<T>(u(rng));
  return v;
}

// Every Engine operation of `other` against `ref` (the CPU engine) on B
// random states. Other: lnn::Engine<T> or an engine::EngineCore<T>.
template <class T, class Other>
void expect_equivalent(Engine<T>& ref, Other& other, int n, int B, std::uint64_t seed) {
  const std::size_t N = static_cast<std::size_t>(n), W = 2 * N, b = static_cast<std::size_t>(B);
  const std::vector<T> x = random_states<T>(B, n, seed);
  const std::vector<T> tau = uniform<T>(b * N, -0.5, 0.5, seed + 1);
  {
    SCOPED_TRACE("lagrangian");
    std::vector<T> L1(b), L2(b);
    ref.lagrangian(x, L1);
    other.lagrangian(x, L2);
    expect_close_arrays(L2, L1, "L");
  }
  {
    SCOPED_TRACE("gradient");
    std::vector<T> L1(b), L2(b), g1(b * W), g2(b * W);
    ref.gradient(x, L1, g1);
    other.gradient(x, L2, g2);
    expect_close_arrays(L2, L1, "L");
    expect_close_arrays(g2, g1, "grad");
  }
  {
    SCOPED_TRACE("energy");
    std::vector<T> E1(b), E2(b);
    ref.energy(x, E1);
    other.energy(x, E2);
    expect_close_arrays(E2, E1, "E");
  }
  std::vector<T> M(b * N * N), Cv(b * N), f(b * N);
  {
    SCOPED_TRACE("euler_lagrange_terms");
    std::vector<T> M2(M.size()), Cv2(Cv.size()), f2(f.size());
    ref.euler_lagrange_terms(x, M, Cv, f);
    other.euler_lagrange_terms(x, M2, Cv2, f2);
    expect_close_arrays(M2, M, "M");
    expect_close_arrays(Cv2, Cv, "Cv");
    expect_close_arrays(f2, f, "f");
    // Optional outputs may be left out.
    std::vector<T> Cv3(Cv.size());
    other.euler_lagrange_terms(x, {}, Cv3, {});
    expect_close_arrays(Cv3, Cv, "Cv alone");
  }
  {
    SCOPED_TRACE("hessian");
    std::vector<T> H1(b * W * W), H2(H1.size()), g1(b * W), g2(b * W);
    ref.hessian(x, H1, g1);
    other.hessian(x, H2, g2);
    expect_close_arrays(H2, H1, "H");
    expect_close_arrays(g2, g1, "grad (from the Hessian pass)");
  }
  {
    SCOPED_TRACE("accelerations");
    std::vector<T> a1(b * N), a2(b * N), p1(b), p2(b);
    std::vector<SolveStatus> s1(b), s2(b);
    const SolveReport r1 = ref.accelerations(x, tau, a1, s1, p1);
    const SolveReport r2 = other.accelerations(x, tau, a2, s2, p2);
    // A status may differ only for a sample on the edge: its reference pivot
    // within rounding of zero relative to M (another summation order can put
    // it on the other side of the threshold).
    int flips = 0, bad = 0;
    for (std::size_t s = 0; s < b; ++s) {
      if (s2[s] == s1[s]) continue;
      double mmax = 0.0;
      for (std::size_t i = 0; i < N * N; ++i)
        mmax = std::max(mmax, std::fabs(double(M[s * N * N + i])));
      const bool edge = std::fabs(double(p1[s])) <= 1e2 * equivalence_tol<T>() * (1 + mmax);
      if (edge) {
        ++flips;
      } else if (++bad <= 5) {
        ADD_FAILURE() << "status of sample " << s << ": " << to_string(s2[s]) << " vs reference "
                      << to_string(s1[s]) << " (pivots " << p2[s] << " vs " << p1[s] << ")";
      }
    }
    EXPECT_EQ(bad, 0) << "statuses differ away from the threshold";
    EXPECT_LE(flips, std::max<int>(1, B / 100)) << "statuses flipped at the threshold";
    if (flips) RecordPropertyFlips(flips);
    EXPECT_EQ(r2.samples, r1.samples);
    EXPECT_NEAR(double(r2.not_positive_definite), double(r1.not_positive_definite), flips);
    EXPECT_NEAR(double(r2.singular), double(r1.singular), flips);
    bad = 0;
    for (std::size_t s = 0; s < b; ++s) {
      if (s1[s] != SolveStatus::ok || s2[s] != SolveStatus::ok) {
        if (s2[s] != SolveStatus::ok) {
          for (std::size_t p = 0; p < N; ++p) EXPECT_TRUE(std::isnan(a2[s * N + p]));
        }
        continue;
      }
      double mmax = 0.0;
      for (std::size_t i = 0; i < N * N; ++i)
        mmax = std::max(mmax, std::fabs(double(M[s * N * N + i])));
      EXPECT_NEAR(double(p2[s]), double(p1[s]), 1e2 * equivalence_tol<T>() * (1 + mmax))
          << "pivot of sample " << s;
      // Backward error: the residual of the reference equations, allowed what
      // the reference's own solution leaves (damping, pinv's cut-off).
      for (std::size_t p = 0; p < N; ++p) {
        const double rhs = static_cast<double>(f[s * N + p]) - Cv[s * N + p] + tau[s * N + p];
        double res1 = rhs, res2 = rhs;
        double scale = std::fabs(double(f[s * N + p])) + std::fabs(double(Cv[s * N + p])) +
                       std::fabs(double(tau[s * N + p]));
        for (std::size_t q = 0; q < N; ++q) {
          const double mpq = M[s * N * N + p * N + q];
          res1 -= mpq * a1[s * N + q];
          res2 -= mpq * a2[s * N + q];
          scale += std::fabs(mpq * a2[s * N + q]);
        }
        if (!(std::fabs(res2) <= std::fabs(res1) + 1e2 * equivalence_tol<T>() * (1 + scale)) &&
            ++bad <= 5)
          ADD_FAILURE() << "sample " << s << " coordinate " << p << ": residual " << res2
                        << " of the reference equations (the reference's own " << res1 << ", scale "
                        << scale << ")";
      }
    }
    EXPECT_EQ(bad, 0);
    // Without τ and without the optional outputs.
    std::vector<T> a3(b * N), a4(b * N);
    ref.accelerations(x, {}, a3, {}, {});
    other.accelerations(x, {}, a4, {}, {});
    for (std::size_t i = 0; i < a3.size(); ++i)
      EXPECT_EQ(std::isnan(a4[i]), std::isnan(a3[i])) << "acc without tau [" << i << "]";
  }
  for (const Loss kind : {Loss::l1, Loss::mse}) {
    for (const bool extras : {false, true}) {
      SCOPED_TRACE(std::string("loss_gradient ") + std::string(to_string(kind)) +
                   (extras ? " with weights, penalty and input gradient" : ""));
      const std::vector<T> targets = uniform<T>(b * N, -3.0, 3.0, seed + 2);
      const std::vector<T> weights = uniform<T>(b, 0.0, 2.0, seed + 3);
      LossOptions<T> lo;
      lo.kind = kind;
      if (extras) {
        lo.weights = weights;
        lo.mass_penalty = 0.5;
      }
      const std::size_t P = ref.model().spec().parameter_count();
      std::vector<T> pg1(P), pg2(P, T(7)), xg1(extras ? b * W : 0), xg2(xg1.size(), T(7));
      const LossResult<T> r1 = ref.loss_gradient(x, tau, targets, lo, pg1, xg1);
      const LossResult<T> r2 = other.loss_gradient(x, tau, targets, lo, pg2, xg2);
      EXPECT_NEAR(double(r2.solve.failures()), double(r1.solve.failures()),
                  std::max(1.0, double(B) / 100));
      const double lt =
          1e2 * equivalence_tol<T>() * (1 + (std::isnan(r1.loss) ? 0.0 : std::fabs(r1.loss)));
      expect_near_or_both_nan(r2.loss, r1.loss, lt, "loss");
      expect_near_or_both_nan(r2.data_loss, r1.data_loss, lt, "data_loss");
      expect_near_or_both_nan(r2.penalty, r1.penalty, lt, "penalty");
      expect_close_arrays(pg2, pg1, "param_grad", 1e2 * equivalence_tol<T>());
      expect_close_arrays(xg2, xg1, "input_grad", 1e2 * equivalence_tol<T>());
    }
  }
  {
    SCOPED_TRACE("accelerations_vjp");
    const std::vector<T> v = uniform<T>(b * N, -1.0, 1.0, seed + 4);
    const std::size_t P = ref.model().spec().parameter_count();
    std::vector<T> pg1(P), pg2(P, T(7)), xg1(b * W), xg2(b * W, T(7)), tg1(b * N),
        tg2(b * N, T(7)), a1(b * N), a2(b * N);
    std::vector<SolveStatus> s1(b), s2(b);
    const SolveReport r1 = ref.accelerations_vjp(x, tau, v, pg1, xg1, tg1, a1, s1);
    const SolveReport r2 = other.accelerations_vjp(x, tau, v, pg2, xg2, tg2, a2, s2);
    EXPECT_EQ(r2.samples, r1.samples);
    // A status flipped at the threshold (see accelerations above) changes
    // which samples contribute: compare the sums only where none flipped.
    if (s1 == s2) {
      expect_close_arrays(pg2, pg1, "param_grad", 1e2 * equivalence_tol<T>());
      expect_close_arrays(xg2, xg1, "input_grad", 1e2 * equivalence_tol<T>());
      expect_close_arrays(tg2, tg1, "tau_grad", 1e2 * equivalence_tol<T>());
      for (std::size_t i = 0; i < a1.size(); ++i)
        EXPECT_EQ(std::isnan(a2[i]), std::isnan(a1[i])) << "acc [" << i << "]";
    }
  }
}

}  // namespace lnn::test
