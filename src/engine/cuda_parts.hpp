// What the CUDA build of each layer provides to the factory
// (engine/backend_factory.hpp). Declared here, defined in the layer's own
// .cu files: the engine core in src/cuda (engine_f32.cu, engine_f64.cu), the
// training parts in src/train/cuda_training.cu, the fresh-batch generator in
// src/systems/cuda_fresh_batches.cu. Only built with LNN_HAVE_CUDA.
#pragma once
#include <cstdint>
#include <memory>

#include "engine/backend_factory.hpp"

namespace lnn::cuda {
// The CUDA engine core (throws BackendError without a usable device).
template <class T>
std::unique_ptr<engine::EngineCore<T>> make_engine(const Model<T>& model,
                                                   const EngineOptions& options);
}  // namespace lnn::cuda

namespace lnn::training {
// On the stream of `core`, a core cuda::make_engine made (BackendError otherwise).
template <class T>
std::unique_ptr<ParameterStore<T>> make_cuda_parameter_store(engine::EngineCore<T>& core,
                                                             const Model<T>& model,
                                                             const Adam<T>& adam);
template <class T>
std::unique_ptr<BatchStaging<T>> make_cuda_batch_staging(engine::EngineCore<T>& core);
// Null when graphs are off (LNN_CUDA_GRAPHS=0, LNN_CUDA_SYNC=1, phase timing).
template <class T>
std::unique_ptr<StepGraph> make_cuda_step_graph(engine::EngineCore<T>& core);
}  // namespace lnn::training

namespace lnn::systems {
// Null where the system is too large for the device generator.
template <class T>
std::unique_ptr<FreshBatches<T>> make_cuda_fresh_batches(engine::EngineCore<T>& core,
                                                         const System& system,
                                                         const StateBox& box, std::uint64_t seed,
                                                         std::size_t batch);
}  // namespace lnn::systems
