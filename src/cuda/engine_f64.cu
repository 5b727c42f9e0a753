// The CUDA engine in double (src/cuda/cuda_engine.cuh).
#include "cuda/cuda_engine.cuh"

namespace lnn::cuda {
template std::unique_ptr<engine::EngineCore<double>> make_engine(const Model<double>&, const EngineOptions&);
template std::unique_ptr<training::ParameterStore<double>> make_parameter_store(
    engine::EngineCore<double>&, const Model<double>&, const Adam<double>&);
template std::unique_ptr<systems::FreshBatches<double>> make_fresh_batches(
    engine::EngineCore<double>&, const System&, const StateBox&, std::uint64_t, std::size_t);
template std::unique_ptr<training::StepGraph> make_step_graph(engine::EngineCore<double>&);
template std::unique_ptr<training::BatchStaging<double>> make_batch_staging(engine::EngineCore<double>&);
}  // namespace lnn::cuda
