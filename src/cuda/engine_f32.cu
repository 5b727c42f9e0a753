// The CUDA engine in float (src/cuda/cuda_engine.cuh).
#include "cuda/cuda_engine.cuh"

namespace lnn::cuda {
template std::unique_ptr<engine::EngineCore<float>> make_engine(const Model<float>&, const EngineOptions&);
}  // namespace lnn::cuda
