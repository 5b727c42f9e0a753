// The safetensors container (docs/file-formats.md): an 8-byte little-endian
// header length, a JSON header (an optional "__metadata__" object of strings
// and one entry {dtype, shape, data_offsets} per tensor), then the data
// section. This file knows nothing of lnn's models: src/io/model_file.cpp maps
// them onto it. Not a public header.
//
// Reading is strict, as other safetensors readers are: a header with a NUL
// byte, a repeated key, a malformed entry, a size that does not match the
// shape, data beyond the end of the file or overlapping tensors is refused
// with a FileError naming the file.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace lnn::io::safetensors {

// The dtype name of T in a header: "F32" or "F64".
template <class T>
constexpr std::string_view dtype_of() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  return std::is_same_v<T, float> ? "F32" : "F64";
}

// ---- writing ---------------------------------------------------------------

// One tensor to write: `bytes` bytes at `data`, stored in the order given.
struct TensorOut {
  std::string name;
  std::string_view dtype;
  std::vector<std::uint64_t> shape;
  const void* data = nullptr;
  std::uint64_t bytes = 0;
};

// Writes a safetensors file atomically (src/io/atomic_file.hpp): the metadata
// in the order given, then the tensors, the data section 8-byte aligned.
// Metadata that is not valid UTF-8 is a FileError.
void write(const std::string& path,
           const std::vector<std::pair<std::string, std::string>>& metadata,
           const std::vector<TensorOut>& tensors);

// ---- reading ---------------------------------------------------------------

// One tensor's entry in the header, checked.
struct Tensor {
  std::string name;
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;  // data_offsets, within the data section
};

// What a reader checks beyond the container's rules, called at the point of
// each entry where the container reaches it; each refuses by throwing. All
// four must be set.
struct Checks {
  // A tensor's name, before anything else of its entry.
  std::function<void(const std::string& name)> name;
  // The element size in bytes of `dtype` (a string), or a throw when the
  // reader does not take it. `what` is "tensor 'name'".
  std::function<std::uint64_t(const std::string& name, const std::string& what,
                              const std::string& dtype)>
      dtype_size;
  // The shape, before its size in bytes is computed.
  std::function<void(const std::string& name, const std::string& what,
                     const std::vector<std::uint64_t>& shape)>
      shape;
  // Every entry, in key order, before the check that no two overlap.
  std::function<void(const std::vector<Tensor>&)> all;
};

// An open safetensors file with its header read and checked.
class Reader {
 public:
  // Opens `path` and reads its header: the length, then the JSON (no NUL
  // byte, no key repeated within an object, an object at the top), and the
  // __metadata__ (an object of strings, when present).
  explicit Reader(const std::string& path);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  const std::string& path() const;
  // __metadata__, or nothing when the header has none.
  const std::optional<std::map<std::string, std::string>>& metadata() const;
  // The tensor entries in key order, each checked against `checks` and the
  // container's rules (offsets within the file, sizes matching the shapes,
  // no two overlapping).
  std::vector<Tensor> tensors(const Checks& checks) const;
  // Reads the bytes of tensor `t` (t.end - t.begin of them) into `out`.
  void read(const Tensor& t, void* out) const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace lnn::io::safetensors
