#include "common/phase_timer.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace lnn LNN_CXX_API {
namespace detail LNN_HIDDEN {
namespace {

struct Registry {
  std::mutex mu;
  std::vector<std::shared_ptr<PhaseTimeline>> timelines;
  std::vector<PhaseTime> totals;  // in order of first appearance
};
Registry& registry() {
  static Registry r;
  return r;
}

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

void HostPhaseTimeline::mark(const char* name) {
  const std::lock_guard<std::mutex> lock(mu_);
  marks_.emplace_back(name, now_ms());
}

void HostPhaseTimeline::discard() {
  const std::lock_guard<std::mutex> lock(mu_);
  marks_.clear();
}

void HostPhaseTimeline::resolve(std::vector<std::pair<const char*, double>>& out) {
  const std::lock_guard<std::mutex> lock(mu_);
  out.swap(marks_);
  if (!out.empty()) marks_.push_back(out.back());  // the open interval's start
}

void register_timeline(std::shared_ptr<PhaseTimeline> t) {
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mu);
  r.timelines.push_back(std::move(t));
}

PhaseTimeline& host_timeline() {
  static const std::shared_ptr<HostPhaseTimeline> t = [] {
    auto p = std::make_shared<HostPhaseTimeline>();
    register_timeline(p);
    return p;
  }();
  return *t;
}

}  // namespace detail

namespace {
// -1: as the environment says; 0, 1: as enable_phase_timing() said.
std::atomic<int> g_enabled{-1};
}  // namespace

bool phase_timing_enabled() {
  const int set = g_enabled.load(std::memory_order_relaxed);
  if (set >= 0) return set == 1;
  static const bool from_env = [] {
    const char* v = std::getenv("LNN_PHASE_TIMES");
    return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
  }();
  return from_env;
}

void enable_phase_timing(bool on) { g_enabled.store(on ? 1 : 0, std::memory_order_relaxed); }

std::vector<PhaseTime> phase_times() {
  detail::Registry& r = detail::registry();
  const std::lock_guard<std::mutex> lock(r.mu);
  for (const auto& t : r.timelines) {
    t->flush([&](const char* name, double ms) {
      for (PhaseTime& p : r.totals) {
        if (p.name == name) {
          p.ms += ms;
          ++p.count;
          return;
        }
      }
      r.totals.push_back(PhaseTime{name, ms, 1});
    });
  }
  // A timeline only the report holds belongs to an engine that is gone, and
  // its marks are resolved now.
  std::erase_if(r.timelines, [](const auto& t) { return t.use_count() == 1; });
  return r.totals;
}

void reset_phase_times() {
  phase_times();  // waits for what is pending
  detail::Registry& r = detail::registry();
  const std::lock_guard<std::mutex> lock(r.mu);
  for (const auto& t : r.timelines) t->discard();
  r.totals.clear();
}

}  // namespace lnn
