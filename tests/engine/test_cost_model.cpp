// The roofline account (src/engine/cost_model.hpp) against counts made
// independently of it: the GEMM FLOPs of docs/math.md §3, the phases the
// engine actually marks (the phase timer on the CPU engine), linearity in
// the batch, chunking, and the sums.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "engine/cost_model.hpp"
#include "lnn/engine.hpp"
#include "lnn/model.hpp"
#include "lnn/phase_times.hpp"

namespace {

using lnn::engine::CostSetup;
using lnn::engine::LaunchCost;
using lnn::engine::LaunchKind;
using lnn::engine::Work;

lnn::ModelSpec spec(int n, std::vector<int> hidden, bool angle = true) {
  lnn::ModelSpec s;
  s.n = n;
  s.hidden = std::move(hidden);
  s.embedding.assign(static_cast<std::size_t>(n),
                     angle ? lnn::Embedding::angle : lnn::Embedding::plain);
  return s;
}

CostSetup setup(const lnn::ModelSpec& s, std::int64_t batch, Work work,
                std::int64_t chunk = 65536) {
  CostSetup c = CostSetup::benchmark(s, 4, batch, work);
  c.chunk = chunk;
  return c;
}

std::int64_t pad8(std::int64_t b) { return (b + 7) / 8 * 8; }

// Σ FLOPs of the GEMMs whose two non-batch dimensions are both m: the
// hidden-to-hidden layers' (m chosen unlike any batch dimension).
double square_gemm_flops(const std::vector<LaunchCost>& launches, std::int64_t m) {
  double f = 0;
  for (const LaunchCost& c : launches) {
    if (c.kind != LaunchKind::gemm) continue;
    const int square = (c.gemm_m == m) + (c.gemm_n == m) + (c.gemm_k == m);
    if (square >= 2) f += c.flops;
  }
  return f;
}

double sum(const std::vector<LaunchCost>& launches, double LaunchCost::*field) {
  double s = 0;
  for (const LaunchCost& c : launches) s += c.*field;
  return s;
}

// docs/math.md §3: 2 (n + 3) N m² per acceleration, 2 (3n + 9) N m² per
// loss-gradient sample, over the padded batch.
TEST(CostModel, SquareGemmFlopsAreDocsMathSection3) {
  for (int n : {1, 2, 4, 7})
    for (std::int64_t B : {512, 517, 65536}) {
      const int m = 600, N = 2;
      const lnn::ModelSpec s = spec(n, {m, m, m});
      const double b = static_cast<double>(pad8(B));
      const double mm = static_cast<double>(m) * m;
      EXPECT_DOUBLE_EQ(square_gemm_flops(launch_costs(setup(s, B, Work::accelerations)), m),
                       2.0 * (n + 3) * N * mm * b)
          << "n " << n << " B " << B;
      for (Work w : {Work::loss_gradient, Work::training_step})
        EXPECT_DOUBLE_EQ(square_gemm_flops(launch_costs(setup(s, B, w)), m),
                         2.0 * (3 * n + 9) * N * mm * b)
            << to_string(w) << " n " << n << " B " << B;
    }
}

// Every GEMM, the first layer's included, with unequal widths: per sample
// and layer 2·columns·w_{l−1}·m_l, columns = k + 2 for accelerations
// (forward k + 1, reverse 1) and 3k + 6 for the loss gradient (+ reverse
// adjoint 2, forward adjoint 2(k + 1)), k = n + 1.
TEST(CostModel, AllGemmFlopsWithUnequalWidths) {
  for (bool angle : {false, true}) {
    const int n = 3;
    const lnn::ModelSpec s = spec(n, {64, 96, 80}, angle);
    const double d0 = s.input_width();
    const double widths = d0 * 64 + 64.0 * 96 + 96.0 * 80;  // Σ w_{l−1} m_l
    const std::int64_t B = 1000;
    const int k = n + 1;
    auto gemm_flops = [&](Work w) {
      double f = 0;
      int count = 0;
      for (const LaunchCost& c : launch_costs(setup(s, B, w)))
        if (c.kind == LaunchKind::gemm) {
          f += c.flops;
          ++count;
          EXPECT_DOUBLE_EQ(c.flops, 2.0 * static_cast<double>(c.gemm_m) *
                                        static_cast<double>(c.gemm_n) *
                                        static_cast<double>(c.gemm_k))
              << c.what;
        }
      return std::pair{f, count};
    };
    const auto [acc, acc_count] = gemm_flops(Work::accelerations);
    EXPECT_DOUBLE_EQ(acc, 2.0 * (k + 2) * widths * B);
    EXPECT_EQ(acc_count, 2 * 3);  // forward and reverse, per layer
    const auto [grad, grad_count] = gemm_flops(Work::loss_gradient);
    EXPECT_DOUBLE_EQ(grad, 2.0 * (3 * k + 6) * widths * B);
    EXPECT_EQ(grad_count, 6 * 3);  // + two reverse-adjoint and two forward-adjoint
  }
}

// A GEMM's bytes: A, B and C once, C twice where it accumulates (the weight
// gradients, beta = 1).
TEST(CostModel, GemmBytesAreTheOperandsOnce) {
  const lnn::ModelSpec s = spec(2, {600, 600, 600});
  for (int value_bytes : {4, 8}) {
    CostSetup c = setup(s, 4096, Work::loss_gradient);
    c.value_bytes = value_bytes;
    for (const LaunchCost& l : launch_costs(c)) {
      if (l.kind != LaunchKind::gemm) continue;
      const double M = static_cast<double>(l.gemm_m), N = static_cast<double>(l.gemm_n),
                   K = static_cast<double>(l.gemm_k);
      const bool accumulates = l.what.find("Wbar") != std::string::npos;
      EXPECT_DOUBLE_EQ(l.bytes, value_bytes * (M * K + K * N + (accumulates ? 2 : 1) * M * N))
          << l.what;
    }
  }
}

// Bytes and FLOPs are affine in the batch (per-sample terms plus the
// per-call weights, parameters and totals) within one chunk, at batches
// where the padding and the column sums' chunks of 256 rows add nothing.
TEST(CostModel, BytesAndFlopsAffineInTheBatch) {
  const lnn::ModelSpec s = spec(2, {600, 600, 600});
  for (Work w : {Work::accelerations, Work::loss_gradient, Work::training_step}) {
    std::vector<double> bytes, flops, host;
    for (std::int64_t B : {2048, 4096, 6144, 8192}) {
      const auto l = launch_costs(setup(s, B, w));
      bytes.push_back(sum(l, &LaunchCost::bytes));
      flops.push_back(sum(l, &LaunchCost::flops));
      host.push_back(sum(l, &LaunchCost::host_bytes));
    }
    for (const auto* v : {&bytes, &flops, &host}) {
      const double d = (*v)[1] - (*v)[0];
      EXPECT_GT(d, 0.0) << to_string(w);
      for (std::size_t i = 2; i < v->size(); ++i)
        EXPECT_NEAR((*v)[i] - (*v)[i - 1], d, 1e-12 * (*v)[i]) << to_string(w);
    }
    // The per-call part is small against a batch of 2048: the weights,
    // and for a training step the gradient and Adam's passes over the
    // 724,801 parameters (≈ 55 MB), against ~1 GB of activations.
    EXPECT_LT(bytes[0] - 1.0 * (bytes[1] - bytes[0]), 0.1 * bytes[0]) << to_string(w);
  }
}

// A batch of several chunks costs its chunks: forward, reverse and the
// adjoint phases of B = 3C + r equal those of three chunks of C and one of r.
TEST(CostModel, ChunksAddUp) {
  const lnn::ModelSpec s = spec(2, {128, 128});
  const std::int64_t C = 1024, r = 200;
  auto phase = [&](std::int64_t B, std::int64_t chunk, const char* name) {
    lnn::engine::PhaseCost out{name};
    for (const auto& p :
         phase_costs(launch_costs(setup(s, B, Work::loss_gradient, chunk)), lnn::engine::kH200Fp32))
      if (p.phase == name) out = p;
    return out;
  };
  for (const char* name : {"forward", "reverse", "hessian blocks", "adjoint: forward pass",
                           "adjoint: reverse pass", "chunk: copies in"}) {
    const auto whole = phase(3 * C + r, C, name);
    const auto one = phase(C, C, name), rest = phase(r, r, name);
    EXPECT_DOUBLE_EQ(whole.flops, 3 * one.flops + rest.flops) << name;
    EXPECT_DOUBLE_EQ(whole.bytes, 3 * one.bytes + rest.bytes) << name;
    EXPECT_DOUBLE_EQ(whole.host_bytes, 3 * one.host_bytes + rest.host_bytes) << name;
    EXPECT_EQ(whole.launches, 3 * one.launches + rest.launches) << name;
  }
}

// The total is the sum of the phases, a phase the sum of its launches, and
// the implied time at least the roofline of the totals (Σ max ≥ max Σ).
TEST(CostModel, TotalsAreSumsOfPhases) {
  const lnn::engine::Roofline& roof = lnn::engine::kH200Fp32;
  const lnn::ModelSpec s = spec(2, {600, 600, 600});
  for (Work w : {Work::accelerations, Work::loss_gradient, Work::training_step})
    for (std::int64_t B : {512, 65536}) {
      const auto launches = launch_costs(setup(s, B, w));
      const auto phases = phase_costs(launches, roof);
      const auto total = total_cost(phases);
      EXPECT_DOUBLE_EQ(total.flops, sum(launches, &LaunchCost::flops));
      EXPECT_DOUBLE_EQ(total.bytes, sum(launches, &LaunchCost::bytes));
      EXPECT_DOUBLE_EQ(total.host_bytes, sum(launches, &LaunchCost::host_bytes));
      double seconds = 0, phase_seconds = 0;
      int count = 0;
      for (const auto& l : launches) {
        seconds += implied_seconds(l, roof);
        count += l.launches;
        EXPECT_DOUBLE_EQ(implied_seconds(l, roof), std::max(l.flops / 67e12, l.bytes / 4.3e12))
            << l.what;
      }
      for (const auto& p : phases) {
        phase_seconds += p.seconds;
        EXPECT_LE(p.memory_seconds, p.seconds * (1 + 1e-12)) << p.phase;
      }
      EXPECT_NEAR(total.seconds, seconds, 1e-15);
      EXPECT_NEAR(total.seconds, phase_seconds, 1e-15);
      EXPECT_EQ(total.launches, count);
      EXPECT_GE(total.seconds * (1 + 1e-12),
                std::max(total.flops / roof.flop_per_s, total.bytes / roof.bytes_per_s));
      // The GEMM-heavy phases are compute-bound at width 600, the
      // element-only ones memory-bound.
      for (const auto& p : phases) {
        if (p.phase == "forward" || p.phase == "adjoint: forward pass") {
          EXPECT_FALSE(p.memory_bound()) << p.phase;
        }
        if (p.phase == "adjoint: hessian terms" || p.phase == "hessian blocks") {
          EXPECT_TRUE(p.memory_bound()) << p.phase;
        }
      }
    }
}

// The account's phases are the ones the engine marks: the phase timer on
// the CPU engine (same layer algorithm, same marks) over two calls, so that
// the last call's closing "host" interval is resolved too.
TEST(CostModel, PhasesAreTheEnginesMarks) {
  const lnn::ModelSpec s = spec(2, {16, 16});
  lnn::Model<float> model(s);
  model.initialize(lnn::Init::lnn, 3);
  const int B = 13;  // padded to 16: the padding's copies are in "forward"
  std::vector<float> states(static_cast<std::size_t>(B) * 4), acc(static_cast<std::size_t>(B) * 2),
      targets(acc.size(), 0.0f), grad(model.parameters().size());
  for (std::size_t i = 0; i < states.size(); ++i)
    states[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
  lnn::EngineOptions opt;
  opt.solve.method = lnn::SolveMethod::lu;
  lnn::Engine<float> engine(model, opt);
  lnn::enable_phase_timing(true);
  for (Work w : {Work::accelerations, Work::loss_gradient}) {
    lnn::reset_phase_times();
    for (int call = 0; call < 2; ++call) {
      if (w == Work::accelerations) {
        engine.accelerations(states, {}, acc);
      } else {
        engine.loss_gradient(states, {}, targets, lnn::Loss::l1, grad);
      }
    }
    std::set<std::string> marked, accounted;
    for (const lnn::PhaseTime& p : lnn::phase_times()) marked.insert(p.name);
    for (const LaunchCost& l : launch_costs(setup(s, B, w))) accounted.insert(l.phase);
    EXPECT_EQ(marked, accounted) << to_string(w);
  }
  lnn::enable_phase_timing(false);
  lnn::reset_phase_times();
}

// The text table names every phase and the total, and with measured times
// their ratio; phases only measured are listed as such.
TEST(CostModel, TableShowsMeasuredBesideImplied) {
  const CostSetup c = setup(spec(2, {600, 600, 600}), 512, Work::training_step);
  const std::string plain = roofline_table(c, lnn::engine::kH200Fp32);
  for (const char* phase : {"forward", "adjoint: forward pass", "adam: plan and update", "total"})
    EXPECT_NE(plain.find(phase), std::string::npos) << phase;
  EXPECT_EQ(plain.find("measured"), std::string::npos);
  const std::string with =
      roofline_table(c, lnn::engine::kH200Fp32, {{"forward", 0.152}, {"host (store)", 0.79}}, true);
  EXPECT_NE(with.find("meas/impl"), std::string::npos);
  EXPECT_NE(with.find("(measured only)"), std::string::npos);
  EXPECT_NE(with.find("forward GEMM layer 2"), std::string::npos);  // the launches
}

TEST(CostModel, RefusesBadSetups) {
  CostSetup c = setup(spec(2, {8}), 0, Work::accelerations);
  EXPECT_THROW(launch_costs(c), std::invalid_argument);
  c.batch = 8;
  c.value_bytes = 2;
  EXPECT_THROW(launch_costs(c), std::invalid_argument);
}

}  // namespace
