// The CUDA engine: the engine's work (src/engine/engine_impl.hpp) and the
// layer algorithm over the CUDA backend. Instantiated once per precision, in
// engine_f32.cu and engine_f64.cu, so the two compile in parallel.
#pragma once
#include <memory>

#include "cuda/cuda_backend.cuh"
#include "cuda/cuda_engine.hpp"
#include "engine/engine_impl.hpp"

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

}  // namespace lnn::cuda
