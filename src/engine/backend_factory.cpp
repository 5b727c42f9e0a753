// The factory (engine/backend_factory.hpp): the CPU's parts here, the CUDA
// parts from their layers (engine/cuda_parts.hpp) where the build has them.
#include "engine/backend_factory.hpp"

#include "cpu/cpu_backend.hpp"
#include "engine/engine_impl.hpp"
#include "lnn/errors.hpp"
#include "systems/fresh_batch.hpp"
#include "train/batch_staging.hpp"
#include "train/parameter_store.hpp"
#include "train/step_graph.hpp"

#if defined(LNN_HAVE_CUDA)
#include "engine/cuda_parts.hpp"
#endif

namespace lnn::engine {
#if !defined(LNN_HAVE_CUDA)
namespace {

// Without the CUDA backend no core runs on a GPU: only make_core can meet
// this; the training parts repeat it for a core of an unknown device.
[[noreturn]] void no_cuda() {
  throw InvalidArgument(
      "device 'cuda': this build of lnn has no CUDA backend (it was configured without nvcc); "
      "use device 'cpu'");
}

}  // namespace
#endif

template <class T>
std::unique_ptr<EngineCore<T>> make_core(const Model<T>& model, const EngineOptions& options) {
  switch (options.device) {
    case Device::cpu:
      return std::make_unique<EngineOn<T, cpu::CpuBackend<T>>>(model, options);
    case Device::cuda:
#if defined(LNN_HAVE_CUDA)
      return cuda::make_engine(model, options);
#else
      no_cuda();
#endif
  }
  throw InvalidArgument("unknown device " + std::to_string(static_cast<int>(options.device)));
}

template <class T>
std::unique_ptr<training::ParameterStore<T>> make_parameter_store(EngineCore<T>& core,
                                                                  Model<T>& model,
                                                                  const Adam<T>& adam) {
  if (core.device() == Device::cpu) {
    (void)adam;  // the host optimizer keeps its own moments
    return std::make_unique<training::HostParameterStore<T>>(model);
  }
#if defined(LNN_HAVE_CUDA)
  return training::make_cuda_parameter_store(core, model, adam);
#else
  no_cuda();
#endif
}

template <class T>
std::unique_ptr<training::BatchStaging<T>> make_batch_staging(EngineCore<T>& core) {
  if (core.device() == Device::cpu) return std::make_unique<training::HostBatchStaging<T>>();
#if defined(LNN_HAVE_CUDA)
  return training::make_cuda_batch_staging(core);
#else
  no_cuda();
#endif
}

template <class T>
std::unique_ptr<systems::FreshBatches<T>> make_fresh_batches(EngineCore<T>& core,
                                                             const System& system,
                                                             const StateBox& box,
                                                             std::uint64_t seed,
                                                             std::size_t batch) {
  if (core.device() == Device::cpu) return nullptr;  // the host draws them
#if defined(LNN_HAVE_CUDA)
  return systems::make_cuda_fresh_batches(core, system, box, seed, batch);
#else
  (void)system, (void)box, (void)seed, (void)batch;
  no_cuda();
#endif
}

template <class T>
std::unique_ptr<training::StepGraph> make_step_graph(EngineCore<T>& core) {
  if (core.device() == Device::cpu) return nullptr;
#if defined(LNN_HAVE_CUDA)
  return training::make_cuda_step_graph(core);
#else
  no_cuda();
#endif
}

#define LNN_FACTORY(T)                                                                           \
  template std::unique_ptr<EngineCore<T>> make_core(const Model<T>&, const EngineOptions&);      \
  template std::unique_ptr<training::ParameterStore<T>> make_parameter_store(                    \
      EngineCore<T>&, Model<T>&, const Adam<T>&);                                                \
  template std::unique_ptr<training::BatchStaging<T>> make_batch_staging(EngineCore<T>&);        \
  template std::unique_ptr<systems::FreshBatches<T>> make_fresh_batches(                         \
      EngineCore<T>&, const System&, const StateBox&, std::uint64_t, std::size_t);               \
  template std::unique_ptr<training::StepGraph> make_step_graph(EngineCore<T>&);
LNN_FACTORY(float)
LNN_FACTORY(double)
#undef LNN_FACTORY

}  // namespace lnn::engine
