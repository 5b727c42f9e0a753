// The library's own way into an lnn::Engine: its backend's core (the
// trainer queues a training step there without waiting, and hands the
// core's backend to the parameter store and the batch generator so that all
// three share one queue; docs/architecture.md, "A training step on a device").
#pragma once
#include "lnn/engine.hpp"

namespace lnn::engine {

template <class T>
class EngineCore;

template <class T>
struct EngineAccess {
  static EngineCore<T>& core(Engine<T>& e);
};

}  // namespace lnn::engine
