// An opt-in per-phase timer of the engine's work (docs/benchmarks.md, "Where
// the time goes"). With LNN_PHASE_TIMES=1 in the environment, every engine
// marks the start of each phase of its work on its backend's timeline (CUDA
// events on the GPU's stream, the steady clock on the CPU); the time from one
// mark to the next is charged to the first. Off (the default) a mark costs
// one branch. Marks perturb what they time a little (an event record each):
// take totals from a run of their own, never from the run that measures
// throughput.
#pragma once
#include "lnn/visibility.hpp"
#include <string>
#include <vector>

namespace lnn LNN_CXX_API {

struct PhaseTime {
  std::string name;
  double ms = 0.0;  // total since the last reset
  long count = 0;   // intervals charged to it
};

// Whether marks are taken: LNN_PHASE_TIMES set (read once per process),
// unless enable_phase_timing() said otherwise.
bool phase_timing_enabled();
void enable_phase_timing(bool on);
// Totals per phase over every engine since the last reset, in order of first
// appearance; waits for the GPU work that was marked.
std::vector<PhaseTime> phase_times();
void reset_phase_times();

}  // namespace lnn
