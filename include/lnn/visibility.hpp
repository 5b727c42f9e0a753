// Which of liblnn.so's symbols a program can link: the library is built with
// hidden visibility (CMakeLists.txt), and every public header opens its
// namespace as `namespace lnn LNN_CXX_API`, so what the headers under
// include/lnn declare is exported and everything else (the engine's
// internals, backends, CLI) is not (docs/cpp-api.md, "What is internal").
#pragma once

#if defined(_WIN32)
#define LNN_CXX_API
#define LNN_HIDDEN
#else
#define LNN_CXX_API __attribute__((visibility("default")))
// For the library's own sources: an internal namespace nested in a block of
// `namespace lnn LNN_CXX_API` stays hidden: `namespace io LNN_HIDDEN`. (The
// attribute goes after the name: GCC, clang and nvcc all accept it there.)
#define LNN_HIDDEN __attribute__((visibility("hidden")))
#endif
