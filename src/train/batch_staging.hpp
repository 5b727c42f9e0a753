// Where the host writes a training step's batch when the data comes from a
// dataset file (fresh data is drawn on the device): on a device backend two
// pinned slots, used in turn, so that the engine's copies of a batch to the
// device are asynchronous and the next batch is written while the device
// works; a slot is written again only after the step that used it last has
// run (docs/architecture.md, "A training step on a device").
#pragma once
#include <cstddef>
#include <span>
#include <vector>

namespace lnn::training {

template <class T>
struct HostBatch {
  std::span<T> states, tau, targets;
  int slot = 0;  // which of the stager's slots (a recorded step reads one slot)
};

template <class T>
class BatchStaging {
 public:
  virtual ~BatchStaging() = default;
  // Arrays of these sizes for the next step's batch, free to write.
  virtual HostBatch<T> acquire(std::size_t states, std::size_t tau, std::size_t targets) = 0;
  // The step that reads the acquired batch is queued (its copies in it).
  virtual void release() = 0;
};

// The CPU: the engine reads the batch in place, before the step returns.
template <class T>
class HostBatchStaging final : public BatchStaging<T> {
 public:
  HostBatch<T> acquire(std::size_t s, std::size_t t, std::size_t y) override {
    states_.resize(s);
    tau_.resize(t);
    targets_.resize(y);
    return {states_, tau_, targets_, 0};
  }
  void release() override {}

 private:
  std::vector<T> states_, tau_, targets_;
};

// A device backend: pinned slots and the backend's tickets.
template <class T, class Backend>
class BackendBatchStaging final : public BatchStaging<T> {
  template <class U>
  using HostBuffer = typename Backend::template HostBuffer<U>;

 public:
  explicit BackendBatchStaging(Backend backend) : be_(backend) {}
  HostBatch<T> acquire(std::size_t s, std::size_t t, std::size_t y) override {
    Slot& slot = slots_[next_];
    be_.wait(slot.done);  // the step that read this slot last has run
    if (slot.data.size() < s + t + y) slot.data.resize(s + t + y);
    T* p = slot.data.data();
    return {{p, s}, {p + s, t}, {p + s + t, y}, next_};
  }
  void release() override {
    be_.record(slots_[next_].done);
    next_ = 1 - next_;
  }

 private:
  struct Slot {
    HostBuffer<T> data;
    typename Backend::Ticket done;
  };
  Backend be_;
  Slot slots_[2];
  int next_ = 0;
};

}  // namespace lnn::training
