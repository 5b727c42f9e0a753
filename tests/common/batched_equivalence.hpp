// The batched solve (docs/math.md §5) of another engine (the staging
// emulation in tests/cpu/test_engine_staging.cpp, the CUDA engine in
// tests/cuda/test_cuda_engine.cpp) against the CPU engine's per-sample solve.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/equivalence.hpp"
#include "common/test_util.hpp"
#include "core/small_solve.hpp"
#include "lnn/engine.hpp"
#include "lnn/model.hpp"

namespace lnn::test {

// The batched solve (docs/math.md §5) against the CPU engine's per-sample
// solve, on B states: statuses, pivots and accelerations (by their backward
// error, as in expect_equivalent), then the loss gradient when the
// statuses are the same. LU is the same algorithm in both, so its pivots
// agree within rounding; unpivoted Cholesky takes its pivots in another
// order, so there a status may differ only for a sample whose pivot in
// either engine lies within a band around the cutoff (or zero), and each
// batched status must agree with its own pivot. Returns the batched
// engine's statuses counted [ok, not_positive_definite, singular].
template <class T, class Other>
std::array<int, 3> expect_batched_like_cpu(Engine<T>& ref, Other& staged, const SolveOptions& so,
                                           int n, int B, std::uint64_t seed) {
  const std::size_t N = static_cast<std::size_t>(n), b = static_cast<std::size_t>(B);
  const double tol = equivalence_tol<T>();
  const std::vector<T> x = random_states<T>(B, n, seed);
  const std::vector<T> tau = uniform<T>(b * N, -0.5, 0.5, seed + 1);
  std::vector<T> M(b * N * N), Cv(b * N), f(b * N);
  ref.euler_lagrange_terms(x, M, Cv, f);
  std::vector<T> a1(b * N), a2(b * N), p1(b), p2(b);
  std::vector<SolveStatus> s1(b), s2(b);
  const SolveReport r1 = ref.accelerations(x, tau, a1, s1, p1);
  const SolveReport r2 = staged.accelerations(x, tau, a2, s2, p2);
  EXPECT_EQ(r2.samples, r1.samples);
  std::array<int, 3> count{};
  int flips = 0;
  for (std::size_t s = 0; s < b; ++s) {
    SCOPED_TRACE("sample " + std::to_string(s));
    const T* m = M.data() + s * N * N;
    double mmax = 0.0, trace = 0.0, dmax = 0.0;
    for (std::size_t i = 0; i < N * N; ++i) mmax = std::max(mmax, std::fabs(double(m[i])));
    for (std::size_t i = 0; i < N; ++i) trace += double(m[i * N + i]);
    const double sign = trace < 0.0 ? -1.0 : 1.0;
    const double shift = so.method == SolveMethod::damped ? so.damping : 0.0;
    for (std::size_t i = 0; i < N; ++i) dmax = std::max(dmax, sign * double(m[i * N + i]) + shift);
    const double rcond = so.rcond > 0.0 ? so.rcond : double(n) * double(core::epsilon<T>());
    const double cutoff = rcond * (so.method == SolveMethod::lu ? mmax : dmax);
    const double band = 4.0 * cutoff + 1e2 * tol * (1.0 + mmax);
    ++count[s2[s] == SolveStatus::ok ? 0 : s2[s] == SolveStatus::not_positive_definite ? 1 : 2];
    // The batched status is its own pivot's.
    const double p = double(p2[s]);
    switch (s2[s]) {
      case SolveStatus::ok: EXPECT_GT(p, cutoff); break;
      case SolveStatus::singular:
        if (so.method == SolveMethod::lu) {
          EXPECT_TRUE(!(p > cutoff)) << p << " vs cutoff " << cutoff;
        } else {
          EXPECT_TRUE(p > 0.0 && p <= cutoff) << p << " vs cutoff " << cutoff;
        }
        break;
      case SolveStatus::not_positive_definite: EXPECT_TRUE(!(p > 0.0)) << p; break;
    }
    if (s2[s] != SolveStatus::ok) {
      for (std::size_t q = 0; q < N; ++q) EXPECT_TRUE(std::isnan(a2[s * N + q]));
    }
    if (s2[s] != s1[s]) {
      EXPECT_TRUE(std::fabs(double(p1[s])) <= band || std::fabs(p) <= band)
          << to_string(s2[s]) << " vs reference " << to_string(s1[s]) << " (pivots " << p
          << " vs " << p1[s] << ", band " << band << ")";
      ++flips;
      continue;
    }
    if (s1[s] != SolveStatus::ok) continue;
    if (so.method == SolveMethod::lu) {
      EXPECT_NEAR(p, double(p1[s]), 1e2 * tol * (1 + mmax));
    }
    for (std::size_t r = 0; r < N; ++r) {  // backward error, as expect_equivalent
      double res1 = double(f[s * N + r]) - Cv[s * N + r] + tau[s * N + r], res2 = res1;
      double scale = std::fabs(double(f[s * N + r])) + std::fabs(double(Cv[s * N + r])) +
                     std::fabs(double(tau[s * N + r]));
      for (std::size_t q = 0; q < N; ++q) {
        res1 -= double(m[r * N + q]) * a1[s * N + q];
        res2 -= double(m[r * N + q]) * a2[s * N + q];
        scale += std::fabs(double(m[r * N + q]) * a2[s * N + q]);
      }
      EXPECT_LE(std::fabs(res2), std::fabs(res1) + 1e2 * tol * (1 + scale)) << "coordinate " << r;
    }
  }
  EXPECT_LE(flips, std::max(1, B / 8)) << "statuses that differ near the cutoff";
  if (flips > 0) return count;
  EXPECT_EQ(r2.not_positive_definite, r1.not_positive_definite);
  EXPECT_EQ(r2.singular, r1.singular);
  // The loss gradient through the batched solve and the adjoint's re-solve.
  for (const bool extras : {false, true}) {
    SCOPED_TRACE(extras ? "loss gradient, weights and penalty" : "loss gradient");
    const std::vector<T> targets = uniform<T>(b * N, -3.0, 3.0, seed + 2);
    const std::vector<T> weights = uniform<T>(b, 0.0, 2.0, seed + 3);
    LossOptions<T> lo;
    lo.kind = Loss::mse;
    if (extras) lo.weights = weights, lo.mass_penalty = 0.5;
    const std::size_t P = ref.model().spec().parameter_count();
    std::vector<T> g1(P), g2(P, T(7)), xg1(b * 2 * N), xg2(xg1.size(), T(7));
    const LossResult<T> l1 = ref.loss_gradient(x, tau, targets, lo, g1, xg1);
    const LossResult<T> l2 = staged.loss_gradient(x, tau, targets, lo, g2, xg2);
    EXPECT_EQ(l2.solve.failures(), l1.solve.failures());
    const double lt = 1e2 * tol * (1 + (std::isnan(l1.loss) ? 0.0 : std::fabs(l1.loss)));
    expect_near_or_both_nan(l2.loss, l1.loss, lt, "loss");
    expect_close_arrays(g2, g1, "param_grad", 1e2 * tol);
    expect_close_arrays(xg2, xg1, "input_grad", 1e2 * tol);
  }
  return count;
}

// A model whose M is positive definite at every state except where one of
// `negative` units dominates: one softplus layer, L = Σ_i w_i softplus(a_i),
// so M = Σ_i w_i σ''(a_i) v_i v_iᵀ (v_i the q̇ part of row i of W) with all
// w_i > 0 but the first `negative`, made −4|w_i|.
template <class T>
Model<T> mostly_definite_model(int n, int width, std::uint64_t seed, int negative) {
  Model<T> model = equivalence_model<T>(n, {width}, seed, Activation::softplus);
  const LayerLayout out = model.layout().back();
  std::span<T> p = model.parameters();
  for (int i = 0; i < width; ++i) {
    T& w = p[out.weight_offset + static_cast<std::size_t>(i)];
    w = i < negative ? T(-4) * std::fabs(w) : std::fabs(w);
  }
  return model;
}

// The models the batched-solve tests run for n coordinates: M definite
// everywhere (ok, and singular under a large rcond), definite but where one
// unit dominates, and mostly indefinite (a fresh tanh network).
template <class T>
std::array<Model<T>, 3> batched_solve_models(int n) {
  const auto seed = 30 + static_cast<std::uint64_t>(n);
  return {mostly_definite_model<T>(n, 3 * n, seed, 0), mostly_definite_model<T>(n, 3 * n, seed, 1),
          equivalence_model<T>(n, {32, 32}, 21, Activation::tanh)};
}

}  // namespace lnn::test
