// The CUDA engine: the engine's work (src/engine/engine_impl.hpp) and the
// layer algorithm over the CUDA backend.
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

template std::unique_ptr<engine::EngineCore<float>> make_engine(const Model<float>&,
                                                                const EngineOptions&);
template std::unique_ptr<engine::EngineCore<double>> make_engine(const Model<double>&,
                                                                 const EngineOptions&);

}  // namespace lnn::cuda
