// The CUDA engine in double (src/cuda/cuda_engine.cuh).
#include "cuda/cuda_engine.cuh"

namespace lnn::cuda {
template std::unique_ptr<engine::EngineCore<double>> make_engine(const Model<double>&, const EngineOptions&);
}  // namespace lnn::cuda
