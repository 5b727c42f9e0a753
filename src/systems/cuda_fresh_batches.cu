// The CUDA fresh-batch generator (engine/cuda_parts.hpp): analytic systems'
// states, forces and exact accelerations drawn on the GPU, on the stream of
// an engine core. Built only with the CUDA backend.
#include <cstdint>
#include <memory>

#include "cuda/cuda_engine.cuh"
#include "engine/cuda_parts.hpp"
#include "systems/fresh_batch.hpp"

namespace lnn::systems {

template <class T>
std::unique_ptr<FreshBatches<T>> make_cuda_fresh_batches(engine::EngineCore<T>& core,
                                                         const System& system,
                                                         const StateBox& box, std::uint64_t seed,
                                                         std::size_t batch) {
  if (system.dof() > kFreshMaxDof) return nullptr;
  return make_fresh_batches<T>(cuda::backend_of(core), system, box, seed, batch);
}

template std::unique_ptr<FreshBatches<float>> make_cuda_fresh_batches(
    engine::EngineCore<float>&, const System&, const StateBox&, std::uint64_t, std::size_t);
template std::unique_ptr<FreshBatches<double>> make_cuda_fresh_batches(
    engine::EngineCore<double>&, const System&, const StateBox&, std::uint64_t, std::size_t);

}  // namespace lnn::systems
