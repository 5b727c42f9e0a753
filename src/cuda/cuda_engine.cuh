// The CUDA engine (the engine's work, src/engine/engine_impl.hpp, and the
// layer algorithm over the CUDA backend) and a training run's device
// parameter store. Instantiated once per precision, in engine_f32.cu and
// engine_f64.cu, so the two compile in parallel.
#pragma once
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <string>

#include "cuda/cuda_backend.cuh"
#include "cuda/cuda_engine.hpp"
#include "engine/engine_impl.hpp"
#include "systems/fresh_batch.hpp"
#include "train/batch_staging.hpp"
#include "train/parameter_store.hpp"
#include "train/step_graph.hpp"

namespace lnn::cuda {

template <class T>
std::unique_ptr<engine::EngineCore<T>> make_engine(const Model<T>& model,
                                                   const EngineOptions& options) {
  EngineOptions o = options;
  if (o.chunk == EngineOptions::kDefaultChunk) o.chunk = EngineOptions::kCudaDefaultChunk;
  auto ctx = std::make_shared<CudaContext>(o.tf32 && sizeof(T) == 4, o.tf32x3 && sizeof(T) == 4);
  return std::make_unique<engine::EngineOn<T, CudaBackend<T>>>(model, o,
                                                               CudaBackend<T>(std::move(ctx)));
}

// The backend (its stream and handles) of a CUDA engine core.
template <class T>
CudaBackend<T> backend_of(engine::EngineCore<T>& core) {
  auto* on = dynamic_cast<engine::EngineOn<T, CudaBackend<T>>*>(&core);
  if (on == nullptr) throw BackendError("device 'cuda': the engine given is not a CUDA engine");
  return on->be();
}

template <class T>
std::unique_ptr<training::ParameterStore<T>> make_parameter_store(engine::EngineCore<T>& engine,
                                                                  const Model<T>& model,
                                                                  const Adam<T>& adam) {
  return std::make_unique<training::BackendParameterStore<T, CudaBackend<T>>>(backend_of(engine),
                                                                              model, adam);
}

template <class T>
std::unique_ptr<systems::FreshBatches<T>> make_fresh_batches(engine::EngineCore<T>& engine,
                                                             const System& system,
                                                             const StateBox& box,
                                                             std::uint64_t seed,
                                                             std::size_t batch) {
  if (system.dof() > systems::kFreshMaxDof) return nullptr;
  return systems::make_fresh_batches<T>(backend_of(engine), system, box, seed, batch);
}

template <class T>
std::unique_ptr<training::BatchStaging<T>> make_batch_staging(engine::EngineCore<T>& engine) {
  return std::make_unique<training::BackendBatchStaging<T, CudaBackend<T>>>(backend_of(engine));
}

// A training step recorded on the engine's stream as a CUDA graph.
class CudaStepGraph final : public training::StepGraph {
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
  void replay() override { check(cudaGraphLaunch(exec_, stream_), "cudaGraphLaunch (a training step)"); }
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

// A graph recorder on the stream of `engine`; none (null) when LNN_CUDA_GRAPHS=0,
// with LNN_CUDA_SYNC=1 (each launch waits) or while phases are timed (their
// events are host calls).
template <class T>
std::unique_ptr<training::StepGraph> make_step_graph(engine::EngineCore<T>& engine) {
  const char* env = std::getenv("LNN_CUDA_GRAPHS");
  if ((env != nullptr && std::string(env) == "0") || sync_launches() || phase_timing_enabled())
    return nullptr;
  return std::make_unique<CudaStepGraph>(backend_of(engine).stream());
}

}  // namespace lnn::cuda
