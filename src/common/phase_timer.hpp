// The timelines behind lnn::phase_times (include/lnn/phase_times.hpp): each
// backend owns one (a CUDA stream's, or the CPU's) and registers it; reports
// resolve the marks of every registered timeline into per-phase totals.
#pragma once
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lnn/phase_times.hpp"

namespace lnn::detail {

// Marks in time order on one timeline; flush() charges each interval
// between consecutive marks to the earlier mark's phase and keeps the last
// mark as the start of the next interval.
class PhaseTimeline {
 public:
  virtual ~PhaseTimeline() = default;
  // Resolves the pending marks into `add(name, ms)` calls.
  template <class Add>
  void flush(Add add);
  virtual void mark(const char* name) = 0;
  // Drops every pending mark (a reset: the next interval starts at the next mark).
  virtual void discard() = 0;

 protected:
  // (name, the time of the mark in ms since an origin of the timeline's own)
  virtual void resolve(std::vector<std::pair<const char*, double>>& out) = 0;
};

template <class Add>
void PhaseTimeline::flush(Add add) {
  std::vector<std::pair<const char*, double>> marks;
  resolve(marks);
  for (std::size_t i = 0; i + 1 < marks.size(); ++i)
    add(marks[i].first, marks[i + 1].second - marks[i].second);
}

// The CPU's timeline: the steady clock at each mark (the CPU backend is
// synchronous, so that is when the phase's work starts).
class HostPhaseTimeline : public PhaseTimeline {
 public:
  void mark(const char* name) override;
  void discard() override;

 protected:
  void resolve(std::vector<std::pair<const char*, double>>& out) override;

 private:
  std::mutex mu_;
  std::vector<std::pair<const char*, double>> marks_;
};

// Registers a timeline with the report (kept while its owner lives, and
// until a report has resolved its last marks).
void register_timeline(std::shared_ptr<PhaseTimeline> t);
// A timeline of the host clock shared by every CPU backend (the CPU backend
// is stateless: this is its clock).
PhaseTimeline& host_timeline();

}  // namespace lnn::detail
