// A small layer over the HDF5 C API for lnn's files: a Writer that makes
// byte-reproducible files and a Reader whose every failure is a FileError
// naming the file and the problem. This header does not include hdf5.h
// (liblnn links HDF5 privately), so the tests build malformed files with it.
//
// The Writer builds the file in memory and hands back its bytes, which the
// caller writes itself (atomically, io/atomic_file.hpp). HDF5 itself never
// writes to disk: a failed write would surface in H5Fclose, and HDF5 1.10
// then leaves a half-closed file behind that crashes the process at exit.
//
// Objects are named by absolute path: "/" (the root group), "/parameters",
// "/states". Strings are written as fixed-length UTF-8, NUL-padded (h5py
// reads them as bytes); the Reader also reads variable-length strings of
// earlier files, after checking their global heap references
// (docs/file-formats.md, "Strings"). While a Writer or a Reader exists,
// HDF5's automatic error printing is off on its thread: the error stack goes
// into the FileError instead. A corrupted file is a FileError, never a crash
// or a hang.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lnn::io::h5 {

using Shape = std::vector<std::uint64_t>;

// "(10, 4)", "(3,)", "()" — NumPy's notation, as h5py users see shapes.
std::string shape_text(const Shape& shape);

class Writer {
 public:
  // Starts a file in memory. Failures throw FileError naming `error_path`,
  // the file the caller will write. `size_hint`, the bytes of data to come,
  // lets the memory be allocated once. The file holds no time stamps and
  // contiguous datasets, so the same calls give the same bytes.
  explicit Writer(const std::string& error_path, std::size_t size_hint = 0);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void create_group(const std::string& path);

  // Scalar and one-dimensional attributes of the object at `object`.
  void write_string(const std::string& object, const std::string& name, std::string_view value);
  void write_int64(const std::string& object, const std::string& name, std::int64_t value);
  void write_uint64(const std::string& object, const std::string& name, std::uint64_t value);
  void write_double(const std::string& object, const std::string& name, double value);
  void write_int8s(const std::string& object, const std::string& name,
                   std::span<const std::int8_t> values);
  void write_strings(const std::string& object, const std::string& name,
                     const std::vector<std::string>& values);

  // A dataset of `shape` (row-major), float64, int8 or int64 in the file.
  void write_dataset(const std::string& path, const Shape& shape, std::span<const double> values);
  void write_dataset(const std::string& path, const Shape& shape,
                     std::span<const std::int8_t> values);
  void write_dataset(const std::string& path, const Shape& shape,
                     std::span<const std::int64_t> values);

  // Completes the file and returns its bytes; nothing can be written after.
  std::vector<unsigned char> finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Reader {
 public:
  // Opens `path` read-only. Throws FileError for a missing or unreadable
  // file, one that is not a regular file, or not an HDF5 file.
  explicit Reader(const std::string& path);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  bool has_object(const std::string& path) const;
  bool has_attribute(const std::string& object, const std::string& name) const;
  // Names of the attributes of `object`, sorted by name.
  std::vector<std::string> attribute_names(const std::string& object) const;

  // Each throws FileError when the attribute is missing, holds other than one
  // value (one-dimensional for the vectors), or its type class differs.
  std::string read_string(const std::string& object, const std::string& name) const;
  std::int64_t read_int64(const std::string& object, const std::string& name) const;
  std::uint64_t read_uint64(const std::string& object, const std::string& name) const;
  double read_double(const std::string& object, const std::string& name) const;
  std::vector<std::int8_t> read_int8s(const std::string& object, const std::string& name) const;
  std::vector<std::string> read_strings(const std::string& object, const std::string& name) const;

  // The shape of a dataset; throws FileError when `path` is missing or not a
  // dataset.
  Shape dataset_shape(const std::string& path) const;
  // Reads a whole dataset, which must have shape `expected` and the type
  // class of the element type (float for double, integer otherwise); HDF5
  // converts from the stored width.
  void read_dataset(const std::string& path, const Shape& expected, std::vector<double>& out) const;
  void read_dataset(const std::string& path, const Shape& expected,
                    std::vector<std::int8_t>& out) const;
  void read_dataset(const std::string& path, const Shape& expected,
                    std::vector<std::int64_t>& out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs `read` (a whole read of `path` through Reader) first in a child
// process, so that a fault of libhdf5 on corrupted metadata ends the child,
// not the caller (docs/reliability.md, "Reading HDF5 in a child first").
// Returns when the child's read ended normally or with an exception: the
// caller then reads in its own process, the same bytes down the same path
// (same result or same exception). Throws FileError naming `path` when the
// child died (a signal, e.g. libhdf5's SEGV) or did not finish within
// 60 s + 1 s per 20 MB of file (LNN_HDF5_CHILD_LIMIT_S overrides). With
// LNN_HDF5_CHILD=0, or where fork() fails, returns at once (in-process only).
void read_in_child_first(const std::string& path, const std::function<void()>& read);

}  // namespace lnn::io::h5
