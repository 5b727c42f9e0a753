// One training step's queued work recorded once and replayed (a CUDA graph:
// one launch instead of about seventy), for runs whose every step has the
// same shapes and draws its data on the device (docs/architecture.md, "A
// training step on a device"). Made by engine::make_step_graph; none on the CPU.
#pragma once
#include <functional>
#include <string>

namespace lnn::training {

class StepGraph {
 public:
  virtual ~StepGraph() = default;
  // Records the work `work` queues, without running it. False (nothing ran,
  // nothing recorded, why() says what failed) when the work cannot be
  // recorded; the caller then runs it as it is.
  virtual bool capture(const std::function<void()>& work) = 0;
  // Queues the recorded work once more.
  virtual void replay() = 0;
  virtual const std::string& why() const = 0;
};

}  // namespace lnn::training
