// The opt-in phase timer (include/lnn/phase_times.hpp) on the CPU engine and
// its device emulation: every phase of a loss gradient is charged, the totals
// fit inside the calls' wall time, and nothing is recorded when it is off.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "common/equivalence.hpp"
#include "common/test_util.hpp"
#include "lnn/engine.hpp"
#include "lnn/phase_times.hpp"

namespace lnn {
namespace {

const PhaseTime* find(const std::vector<PhaseTime>& t, const std::string& name) {
  for (const PhaseTime& p : t)
    if (p.name == name) return &p;
  return nullptr;
}

TEST(PhaseTimes, EveryPhaseOfALossGradientIsCharged) {
  const int n = 2, B = 300, calls = 3;
  const Model<double> model = test::equivalence_model<double>(n, {48, 48}, 3);
  EngineOptions opt;
  opt.solve.method = SolveMethod::lu;
  opt.chunk = 128;  // three chunks per call
  Engine<double> engine(model, opt);
  const std::vector<double> x = test::random_states<double>(B, n, 1);
  const std::vector<double> targets = test::uniform<double>(B * n, -1, 1, 2);
  std::vector<double> g(model.spec().parameter_count());

  enable_phase_timing(true);
  reset_phase_times();
  const auto t0 = std::chrono::steady_clock::now();
  for (int c = 0; c < calls; ++c) engine.loss_gradient(x, {}, targets, Loss::l1, g);
  const double wall =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const std::vector<PhaseTime> t = phase_times();
  enable_phase_timing(false);

  double total = 0.0;
  for (const char* name :
       {"chunk: copies in", "forward", "reverse", "hessian blocks", "solve", "loss terms",
        "adjoint: solve terms", "adjoint: hessian terms", "adjoint: reverse pass",
        "adjoint: forward pass", "loss summary", "totals out and wait", "gradient out"}) {
    const PhaseTime* p = find(t, name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_GE(p->ms, 0.0) << name;
    // Per chunk (3 × 3) or per call (3).
    EXPECT_TRUE(p->count == 3 * calls || p->count == calls) << name << ": " << p->count;
    total += p->ms;
  }
  // "host" between calls: charged twice (the last one stays open).
  const PhaseTime* host = find(t, "host");
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->count, calls - 1);
  EXPECT_GT(total, 0.0);
  EXPECT_LE(total + host->ms, wall * 1.01 + 0.1);

  reset_phase_times();
  engine.loss_gradient(x, {}, targets, Loss::l1, g);
  EXPECT_TRUE(phase_times().empty()) << "marks taken while the timer is off";
}

}  // namespace
}  // namespace lnn
