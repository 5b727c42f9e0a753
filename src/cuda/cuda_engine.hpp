// The CUDA factories: defined in src/cuda/*.cu where the CUDA backend is
// built, and by no_cuda.cpp (which refuses with a clear error) where not.
#pragma once
#include <cstdint>
#include <memory>

#include "lnn/engine.hpp"
#include "lnn/generate.hpp"
#include "lnn/optimizer.hpp"
#include "lnn/systems.hpp"

namespace lnn::engine {
template <class T>
class EngineCore;
}
namespace lnn::training {
template <class T>
class ParameterStore;
}
namespace lnn::training {
class StepGraph;
template <class T>
class BatchStaging;
}
namespace lnn::systems {
template <class T>
class FreshBatches;
}

namespace lnn::cuda {

// Throws InvalidArgument (no CUDA backend in this build) or BackendError (no
// usable device, or a CUDA/cuBLAS call failed while setting up).
template <class T>
std::unique_ptr<engine::EngineCore<T>> make_engine(const Model<T>& model,
                                                   const EngineOptions& options);

// A training run's parameters, moments and gradient in device memory
// (src/train/parameter_store.hpp), initialized from the model and the
// optimizer's moments, on the stream of `engine` (a core make_engine made;
// BackendError otherwise).
template <class T>
std::unique_ptr<training::ParameterStore<T>> make_parameter_store(engine::EngineCore<T>& engine,
                                                                  const Model<T>& model,
                                                                  const Adam<T>& adam);

// Fresh batches of an analytic system drawn and solved on the GPU
// (src/systems/fresh_batch.hpp) on the stream of `engine`; null where the
// system is too large for them (draw on the host then).
template <class T>
std::unique_ptr<systems::FreshBatches<T>> make_fresh_batches(engine::EngineCore<T>& engine,
                                                             const System& system,
                                                             const StateBox& box,
                                                             std::uint64_t seed, std::size_t batch);

// Pinned host slots for the batches of a dataset run, on the stream of
// `engine` (src/train/batch_staging.hpp).
template <class T>
std::unique_ptr<training::BatchStaging<T>> make_batch_staging(engine::EngineCore<T>& engine);

// A recorder of one training step as a CUDA graph on the stream of
// `engine` (src/train/step_graph.hpp); null when graphs are off
// (LNN_CUDA_GRAPHS=0, LNN_CUDA_SYNC=1, phase timing) or without CUDA.
template <class T>
std::unique_ptr<training::StepGraph> make_step_graph(engine::EngineCore<T>& engine);

}  // namespace lnn::cuda
