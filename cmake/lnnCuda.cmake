# CUDA is optional: AUTO builds the backend when nvcc is found, even without a
# GPU (so CI compiles every kernel). Architectures: the user's list, else the
# detected GPU, else sm_90 (H100/H200); one architecture keeps CI fast.
set(LNN_HAVE_CUDA OFF)
if(NOT LNN_ENABLE_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      execute_process(COMMAND nvidia-smi --query-gpu=compute_cap --format=csv,noheader
        OUTPUT_VARIABLE _lnn_cc RESULT_VARIABLE _lnn_smi ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
      if(_lnn_smi EQUAL 0 AND _lnn_cc)
        string(REGEX MATCH "^[0-9]+\\.[0-9]+" _lnn_cc "${_lnn_cc}")
        string(REPLACE "." "" _lnn_cc "${_lnn_cc}")
        set(CMAKE_CUDA_ARCHITECTURES ${_lnn_cc} CACHE STRING "CUDA architectures")
      else()
        set(CMAKE_CUDA_ARCHITECTURES 90 CACHE STRING "CUDA architectures")
      endif()
    endif()
    enable_language(CUDA)
    # The engine's headers are C++20 (std::span, std::source_location). CMake
    # 3.25 does not know nvcc's C++20 flag (nvcc has had it since CUDA 12), so
    # it is told.
    if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    # The layer algorithm's per-sample bodies are __host__ __device__ lambdas
    # (src/core/host_device.hpp); std::numeric_limits is constexpr host code.
    string(APPEND CMAKE_CUDA_FLAGS " --extended-lambda --expt-relaxed-constexpr")
    find_package(CUDAToolkit REQUIRED)
    set(LNN_HAVE_CUDA ON)
    message(STATUS "lnn: CUDA backend ON (architectures ${CMAKE_CUDA_ARCHITECTURES})")
  elseif(LNN_ENABLE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "LNN_ENABLE_CUDA=ON but no CUDA compiler was found")
  else()
    message(STATUS "lnn: CUDA backend OFF (no nvcc found)")
  endif()
endif()
