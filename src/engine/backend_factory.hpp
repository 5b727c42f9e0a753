// The one place that picks what runs where (docs/architecture.md, "Backends
// and the factory"): for a device, the engine core, and for a training run
// on that core's device its parameter store, batch staging, fresh-batch
// generator and step recorder. Nothing else in the library branches on the
// device. Each layer implements its device parts in its own files (the CUDA
// ones in src/cuda, src/train and src/systems .cu files,
// engine/cuda_parts.hpp); this factory only chooses among them.
#pragma once
#include <cstdint>
#include <memory>

#include "lnn/engine.hpp"
#include "lnn/generate.hpp"
#include "lnn/optimizer.hpp"
#include "lnn/systems.hpp"

namespace lnn::training {
template <class T>
class ParameterStore;
class StepGraph;
template <class T>
class BatchStaging;
}  // namespace lnn::training
namespace lnn::systems {
template <class T>
class FreshBatches;
}

namespace lnn::engine {

template <class T>
class EngineCore;

// The engine core for options.device. Throws InvalidArgument (no CUDA
// backend in this build) or BackendError (no usable device, or a CUDA call
// failed while setting up).
template <class T>
std::unique_ptr<EngineCore<T>> make_core(const Model<T>& model, const EngineOptions& options);

// A training run's parameters, moments and gradient where `core` runs (the
// model's own arrays on the CPU; device memory on a GPU, on the core's
// stream), initialized from the model and the optimizer's moments.
template <class T>
std::unique_ptr<training::ParameterStore<T>> make_parameter_store(EngineCore<T>& core,
                                                                  Model<T>& model,
                                                                  const Adam<T>& adam);

// Where a dataset run's batches wait for `core` (host vectors on the CPU;
// two pinned slots on a GPU).
template <class T>
std::unique_ptr<training::BatchStaging<T>> make_batch_staging(EngineCore<T>& core);

// Fresh batches of an analytic system drawn and solved where `core` runs;
// null where the host draws them (the CPU, or a system too large for the
// device generator).
template <class T>
std::unique_ptr<systems::FreshBatches<T>> make_fresh_batches(EngineCore<T>& core,
                                                             const System& system,
                                                             const StateBox& box,
                                                             std::uint64_t seed,
                                                             std::size_t batch);

// A recorder of one training step on the core's queue (a CUDA graph); null
// where steps run launch by launch (the CPU; LNN_CUDA_GRAPHS=0,
// LNN_CUDA_SYNC=1 or phase timing on a GPU).
template <class T>
std::unique_ptr<training::StepGraph> make_step_graph(EngineCore<T>& core);

}  // namespace lnn::engine
