# CBLAS for the CPU GEMMs. Default: OpenBLAS, preferring its OpenMP build.
# Why OpenMP: the engine's per-sample loops run on OpenMP; OpenBLAS's pthread
# build keeps a second pool of threads that spin and yield against them
# (measured: ~2× slower on 2 cores). Override with -DLNN_BLAS=generic.
set(LNN_BLAS "openblas" CACHE STRING "CPU BLAS: openblas or generic (FindBLAS + cblas.h)")
add_library(lnn_blas INTERFACE)
if(LNN_BLAS STREQUAL "openblas")
  find_package(OpenBLAS CONFIG QUIET)
  set(_lnn_multiarch "")
  if(CMAKE_LIBRARY_ARCHITECTURE)
    set(_lnn_multiarch ${CMAKE_LIBRARY_ARCHITECTURE})
  endif()
  find_library(LNN_OPENBLAS_OPENMP_LIB openblas
    PATHS /usr/lib/${_lnn_multiarch}/openblas-openmp NO_DEFAULT_PATH)
  find_path(LNN_OPENBLAS_OPENMP_INCLUDE cblas.h
    PATHS /usr/include/${_lnn_multiarch}/openblas-openmp NO_DEFAULT_PATH)
  if(LNN_OPENBLAS_OPENMP_LIB AND LNN_OPENBLAS_OPENMP_INCLUDE)
    target_include_directories(lnn_blas INTERFACE ${LNN_OPENBLAS_OPENMP_INCLUDE})
    target_link_libraries(lnn_blas INTERFACE ${LNN_OPENBLAS_OPENMP_LIB})
    set(_lnn_blas_variant "OpenMP")
  elseif(OpenBLAS_FOUND)
    message(WARNING "lnn: OpenBLAS's OpenMP build not found (libopenblas-openmp-dev); "
                    "using ${OpenBLAS_LIBRARIES}, which is slower with OpenMP loops")
    target_include_directories(lnn_blas INTERFACE ${OpenBLAS_INCLUDE_DIRS})
    target_link_libraries(lnn_blas INTERFACE ${OpenBLAS_LIBRARIES})
    set(_lnn_blas_variant "pthreads")
  else()
    message(FATAL_ERROR "OpenBLAS not found: install libopenblas-openmp-dev (scripts/setup.sh does) "
                        "or configure with -DLNN_BLAS=generic")
  endif()
  target_compile_definitions(lnn_blas INTERFACE LNN_BLAS_OPENBLAS=1)
  set(LNN_BLAS_NAME "OpenBLAS ${OpenBLAS_VERSION} (${_lnn_blas_variant})" CACHE INTERNAL "")
  message(STATUS "lnn: BLAS ${LNN_BLAS_NAME}")
else()
  find_package(BLAS REQUIRED)
  find_path(LNN_CBLAS_INCLUDE cblas.h REQUIRED)
  target_include_directories(lnn_blas INTERFACE ${LNN_CBLAS_INCLUDE})
  target_link_libraries(lnn_blas INTERFACE BLAS::BLAS)
  set(LNN_BLAS_NAME "generic CBLAS" CACHE INTERNAL "")
endif()
target_compile_definitions(lnn_blas INTERFACE LNN_BLAS_NAME="${LNN_BLAS_NAME}")
