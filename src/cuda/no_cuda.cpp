// Built when the CUDA backend is off: the device query answers "none" and a
// CUDA engine is refused.
#include "cuda/cuda_engine.hpp"
#include "cuda/memory_kind.hpp"
#include "engine/engine_impl.hpp"
#include "lnn/errors.hpp"
#include "lnn/info.hpp"
#include "systems/fresh_batch.hpp"
#include "train/batch_staging.hpp"
#include "train/parameter_store.hpp"
#include "train/step_graph.hpp"

namespace lnn {
bool cuda_compiled() { return false; }
std::vector<GpuInfo> cuda_devices(std::string* why_none) {
  if (why_none) *why_none = "this build has no CUDA backend (configured without nvcc)";
  return {};
}
std::string cuda_versions() { return ""; }
namespace detail {
bool is_device_pointer(const void*) { return false; }
void copy_device_to_host(void*, const void*, std::size_t) {
  throw BackendError("this build has no CUDA backend: no device memory to copy");
}
void copy_host_to_device(void*, const void*, std::size_t) {
  throw BackendError("this build has no CUDA backend: no device memory to copy");
}
void* device_allocate(std::size_t) {
  throw BackendError("this build has no CUDA backend: no device memory to allocate");
}
void device_free(void*) noexcept {}
void convert_on_device(const double*, float*, std::size_t) {
  throw BackendError("this build has no CUDA backend: no device memory to convert");
}
void convert_on_device(const float*, double*, std::size_t) {
  throw BackendError("this build has no CUDA backend: no device memory to convert");
}
}  // namespace detail
namespace cuda {
template <class T>
std::unique_ptr<engine::EngineCore<T>> make_engine(const Model<T>&, const EngineOptions&) {
  throw InvalidArgument(
      "device 'cuda': this build of lnn has no CUDA backend (it was configured without nvcc); "
      "use device 'cpu'");
}
template std::unique_ptr<engine::EngineCore<float>> make_engine(const Model<float>&,
                                                                const EngineOptions&);
template std::unique_ptr<engine::EngineCore<double>> make_engine(const Model<double>&,
                                                                 const EngineOptions&);
template <class T>
std::unique_ptr<training::ParameterStore<T>> make_parameter_store(engine::EngineCore<T>&,
                                                                  const Model<T>&, const Adam<T>&) {
  throw InvalidArgument(
      "device 'cuda': this build of lnn has no CUDA backend (it was configured without nvcc); "
      "use device 'cpu'");
}
template <class T>
std::unique_ptr<systems::FreshBatches<T>> make_fresh_batches(engine::EngineCore<T>&, const System&,
                                                             const StateBox&, std::uint64_t,
                                                             std::size_t) {
  throw InvalidArgument(
      "device 'cuda': this build of lnn has no CUDA backend (it was configured without nvcc); "
      "use device 'cpu'");
}
template <class T>
std::unique_ptr<training::StepGraph> make_step_graph(engine::EngineCore<T>&) {
  return nullptr;  // no graphs without CUDA
}
template <class T>
std::unique_ptr<training::BatchStaging<T>> make_batch_staging(engine::EngineCore<T>&) {
  throw InvalidArgument(
      "device 'cuda': this build of lnn has no CUDA backend (it was configured without nvcc); "
      "use device 'cpu'");
}
#define LNN_NO_CUDA_FACTORIES(T)                                                                 \
  template std::unique_ptr<training::StepGraph> make_step_graph(engine::EngineCore<T>&);         \
  template std::unique_ptr<training::BatchStaging<T>> make_batch_staging(engine::EngineCore<T>&); \
  template std::unique_ptr<training::ParameterStore<T>> make_parameter_store(                   \
      engine::EngineCore<T>&, const Model<T>&, const Adam<T>&);                                 \
  template std::unique_ptr<systems::FreshBatches<T>> make_fresh_batches(                        \
      engine::EngineCore<T>&, const System&, const StateBox&, std::uint64_t, std::size_t);
LNN_NO_CUDA_FACTORIES(float)
LNN_NO_CUDA_FACTORIES(double)
#undef LNN_NO_CUDA_FACTORIES
}  // namespace cuda
}  // namespace lnn
