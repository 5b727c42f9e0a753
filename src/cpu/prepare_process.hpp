// Internal to lnn's own programs (the lnn CLI, the benchmarks): not part of
// the library's interface (docs/cpp-api.md, "What is internal").
#pragma once

namespace lnn {

// For programs, first thing in main(): sets what the BLAS and OpenMP
// runtimes read only when they are loaded, and re-executes the program once
// if it set anything (returns normally otherwise, or if exec fails):
//   OPENBLAS_CORETYPE = blas_better_kernels(), when that is not empty and the
//     variable is unset;
//   GOMP_SPINCOUNT = 1000 (libgomp: spin about a thousand rounds at a barrier,
//     then sleep; its default spins 300,000), when neither it nor
//     OMP_WAIT_POLICY is set. With the cores shared with other work the long
//     spin wastes the time slices the waiting threads need (README,
//     "Performance"; bench/loaded.sh).
// Set LNN_NO_REEXEC=1 (or the older LNN_NO_BLAS_REEXEC=1) to disable.
void prepare_process(char** argv);

}  // namespace lnn
