// The CUDA engine in float (src/cuda/cuda_engine.cuh).
#include "cuda/cuda_engine.cuh"

namespace lnn::cuda {
template std::unique_ptr<engine::EngineCore<float>> make_engine(const Model<float>&, const EngineOptions&);
template std::unique_ptr<training::ParameterStore<float>> make_parameter_store(
    engine::EngineCore<float>&, const Model<float>&, const Adam<float>&);
template std::unique_ptr<systems::FreshBatches<float>> make_fresh_batches(
    engine::EngineCore<float>&, const System&, const StateBox&, std::uint64_t, std::size_t);
template std::unique_ptr<training::StepGraph> make_step_graph(engine::EngineCore<float>&);
template std::unique_ptr<training::BatchStaging<float>> make_batch_staging(engine::EngineCore<float>&);
}  // namespace lnn::cuda
