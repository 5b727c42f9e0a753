// The CUDA engine (the engine's work, src/engine/engine_impl.hpp, and the
// layer algorithm over the CUDA backend) and a training run's device
// parameter store. Instantiated once per precision, in engine_f32.cu and
// engine_f64.cu, so the two compile in parallel.
#pragma once
#include <memory>

#include "cuda/cuda_backend.cuh"
#include "cuda/cuda_engine.hpp"
#include "engine/engine_impl.hpp"
#include "systems/fresh_batch.hpp"
#include "train/parameter_store.hpp"

namespace lnn::cuda {

template <class T>
std::unique_ptr<engine::EngineCore<T>> make_engine(const Model<T>& model,
                                                   const EngineOptions& options) {
  EngineOptions o = options;
  if (o.chunk == EngineOptions::kDefaultChunk) o.chunk = EngineOptions::kCudaDefaultChunk;
  auto ctx = std::make_shared<CudaContext>(o.tf32 && sizeof(T) == 4);
  return std::make_unique<engine::EngineOn<T, CudaBackend<T>>>(model, o,
                                                               CudaBackend<T>(std::move(ctx)));
}

// The backend (its stream and handles) of a CUDA engine core.
template <class T>
CudaBackend<T> backend_of(engine::EngineCore<T>& core) {
  auto* on = dynamic_cast<engine::EngineOn<T, CudaBackend<T>>*>(&core);
  if (on == nullptr) throw BackendError("device 'cuda': the engine given is not a CUDA engine");
  return on->be();
}

template <class T>
std::unique_ptr<training::ParameterStore<T>> make_parameter_store(engine::EngineCore<T>& engine,
                                                                  const Model<T>& model,
                                                                  const Adam<T>& adam) {
  return std::make_unique<training::BackendParameterStore<T, CudaBackend<T>>>(backend_of(engine),
                                                                              model, adam);
}

template <class T>
std::unique_ptr<systems::FreshBatches<T>> make_fresh_batches(engine::EngineCore<T>& engine,
                                                             const System& system,
                                                             const StateBox& box,
                                                             std::uint64_t seed,
                                                             std::size_t batch) {
  if (system.dof() > systems::kFreshMaxDof) return nullptr;
  return systems::make_fresh_batches<T>(backend_of(engine), system, box, seed, batch);
}

}  // namespace lnn::cuda
