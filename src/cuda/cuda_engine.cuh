// The CUDA engine (the engine's work, src/engine/engine_impl.hpp, and the
// layer algorithm over the CUDA backend). Instantiated once per precision, in
// engine_f32.cu and engine_f64.cu, so the two compile in parallel. The
// layers above build their device parts over backend_of() in their own .cu
// files (engine/cuda_parts.hpp).
#pragma once
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <string>

#include "cuda/cuda_backend.cuh"
#include "engine/cuda_parts.hpp"
#include "engine/engine_impl.hpp"

namespace lnn::cuda {

template <class T>
std::unique_ptr<engine::EngineCore<T>> make_engine(const Model<T>& model,
                                                   const EngineOptions& options) {
  EngineOptions o = options;
  if (o.chunk == EngineOptions::kDefaultChunk) o.chunk = EngineOptions::kCudaDefaultChunk;
  auto ctx = std::make_shared<CudaContext>(o.tf32 && sizeof(T) == 4, o.tf32x3 && sizeof(T) == 4);
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

}  // namespace lnn::cuda
