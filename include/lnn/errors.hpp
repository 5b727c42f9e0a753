// Typed exceptions thrown by liblnn. The library never calls exit() or abort().
#pragma once
#include "lnn/visibility.hpp"
#include <stdexcept>
#include <string>

namespace lnn LNN_CXX_API {

// Base class of every error liblnn throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A caller passed something the library cannot use (bad shape, bad spec, …).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A file could not be read or written, or its contents are malformed.
// The message always names the file.
class FileError : public Error {
 public:
  FileError(const std::string& path, const std::string& problem)
      : Error(path + ": " + problem), path_(path) {}
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// A backend (CUDA runtime, cuBLAS, cuSOLVER, BLAS) reported a failure.
class BackendError : public Error {
 public:
  using Error::Error;
};

// A backend could not allocate memory (a CUDA device's, typically); the
// message says how much, and the engine adds the batch and chunk sizes.
class OutOfMemory : public BackendError {
 public:
  using BackendError::BackendError;
};

}  // namespace lnn
