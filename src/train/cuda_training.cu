// The CUDA parts of a training run (engine/cuda_parts.hpp): the parameter
// store, the pinned batch slots and the step recorder over the CUDA backend
// of an engine core. Built only with the CUDA backend.
#include <cuda_runtime.h>

#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <string>

#include "cuda/cuda_engine.cuh"
#include "engine/cuda_parts.hpp"
#include "train/batch_staging.hpp"
#include "train/parameter_store.hpp"
#include "train/step_graph.hpp"

namespace lnn::training {
namespace {

// A training step recorded on the engine's stream as a CUDA graph.
class CudaStepGraph final : public StepGraph {
 public:
  explicit CudaStepGraph(cudaStream_t stream) : stream_(stream) {}
  ~CudaStepGraph() override {
    if (exec_) {
      cudaStreamSynchronize(stream_);  // no replay still running (an error path)
      cudaGraphExecDestroy(exec_);
    }
  }
  CudaStepGraph(const CudaStepGraph&) = delete;
  CudaStepGraph& operator=(const CudaStepGraph&) = delete;

  bool capture(const std::function<void()>& work) override {
    if (exec_) {
      cudaGraphExecDestroy(exec_);
      exec_ = nullptr;
    }
    // Thread-local: another thread's CUDA calls do not disturb the capture.
    cudaError_t err = cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal);
    if (err != cudaSuccess) return failed("cudaStreamBeginCapture", err);
    try {
      work();
    } catch (const std::exception& e) {
      cudaGraph_t g = nullptr;
      cudaStreamEndCapture(stream_, &g);
      if (g) cudaGraphDestroy(g);
      cudaGetLastError();
      why_ = std::string("recording the step failed: ") + e.what();
      return false;
    }
    cudaGraph_t graph = nullptr;
    err = cudaStreamEndCapture(stream_, &graph);
    if (err != cudaSuccess || graph == nullptr) return failed("cudaStreamEndCapture", err);
    err = cudaGraphInstantiate(&exec_, graph, 0);
    cudaGraphDestroy(graph);
    if (err != cudaSuccess) {
      exec_ = nullptr;
      return failed("cudaGraphInstantiate", err);
    }
    return true;
  }
  void replay() override {
    cuda::check(cudaGraphLaunch(exec_, stream_), "cudaGraphLaunch (a training step)");
  }
  const std::string& why() const override { return why_; }

 private:
  bool failed(const char* call, cudaError_t err) {
    cudaGetLastError();
    why_ = std::string(call) + ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
    return false;
  }
  cudaStream_t stream_;
  cudaGraphExec_t exec_ = nullptr;
  std::string why_;
};

}  // namespace

template <class T>
std::unique_ptr<ParameterStore<T>> make_cuda_parameter_store(engine::EngineCore<T>& core,
                                                             const Model<T>& model,
                                                             const Adam<T>& adam) {
  return std::make_unique<BackendParameterStore<T, cuda::CudaBackend<T>>>(cuda::backend_of(core),
                                                                          model, adam);
}

template <class T>
std::unique_ptr<BatchStaging<T>> make_cuda_batch_staging(engine::EngineCore<T>& core) {
  return std::make_unique<BackendBatchStaging<T, cuda::CudaBackend<T>>>(cuda::backend_of(core));
}

// None when LNN_CUDA_GRAPHS=0, with LNN_CUDA_SYNC=1 (each launch waits) or
// while phases are timed (their events are host calls).
template <class T>
std::unique_ptr<StepGraph> make_cuda_step_graph(engine::EngineCore<T>& core) {
  const char* env = std::getenv("LNN_CUDA_GRAPHS");
  if ((env != nullptr && std::string(env) == "0") || cuda::sync_launches() ||
      phase_timing_enabled())
    return nullptr;
  return std::make_unique<CudaStepGraph>(cuda::backend_of(core).stream());
}

#define LNN_CUDA_TRAINING(T)                                                                   \
  template std::unique_ptr<ParameterStore<T>> make_cuda_parameter_store(                       \
      engine::EngineCore<T>&, const Model<T>&, const Adam<T>&);                                \
  template std::unique_ptr<BatchStaging<T>> make_cuda_batch_staging(engine::EngineCore<T>&);  \
  template std::unique_ptr<StepGraph> make_cuda_step_graph(engine::EngineCore<T>&);
LNN_CUDA_TRAINING(float)
LNN_CUDA_TRAINING(double)
#undef LNN_CUDA_TRAINING

}  // namespace lnn::training
