// The CUDA engine's factory: defined in cuda_engine.cu where the CUDA backend
// is built, and by no_cuda.cpp (which refuses with a clear error) where not.
#pragma once
#include <memory>

#include "lnn/engine.hpp"

namespace lnn::engine {
template <class T>
class EngineCore;
}

namespace lnn::cuda {

// Throws InvalidArgument (no CUDA backend in this build) or BackendError (no
// usable device, or a CUDA/cuBLAS call failed while setting up).
template <class T>
std::unique_ptr<engine::EngineCore<T>> make_engine(const Model<T>& model,
                                                   const EngineOptions& options);

}  // namespace lnn::cuda
