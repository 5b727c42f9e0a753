// NumPy (and any buffer / DLPack) arrays in and out of the bindings.
//
// Inputs are taken as nanobind ndarray views of the caller's memory, never
// converted: an array that is not float32/float64, not C-contiguous, not in
// host memory or of the wrong shape is a TypeError / ValueError naming the
// argument (docs/python.md, "Arrays"). Outputs are new NumPy arrays that the
// library writes in place.
#pragma once
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <type_traits>

namespace lnn::python {
namespace nb = nanobind;

// An array argument as the caller gave it: any object, checked by Input.
// Its own type only so that the stubs and docstrings say what is expected.
struct ArrayArg {
  nb::handle object;
};

// New NumPy arrays handed to Python: of float values, or of SolveStatus codes
// (int8). Their own types only so that the stubs say what is returned.
struct Values {
  nb::object array;
};
struct Statuses {
  nb::object array;
};

enum class Dtype { f32, f64 };
std::string dtype_name(Dtype d);  // "float32", "float64"

// An input array: a read-only view of the caller's memory.
class Input {
 public:
  // `obj` as an array of float32 or float64 in host memory, C-contiguous;
  // TypeError / ValueError naming `name` otherwise.
  Input(ArrayArg arg, const char* name);

  const char* name() const { return name_; }
  Dtype dtype() const { return dtype_; }
  std::size_t ndim() const { return array_.ndim(); }
  std::size_t shape(std::size_t i) const { return array_.shape(i); }
  // ValueError naming the argument unless the shape is `expected`;
  // `meaning` says what the dimensions are, e.g. "(B, 2n) = (B, 4)".
  void require_shape(std::initializer_list<std::size_t> expected, const std::string& meaning) const;
  // TypeError unless this array's dtype is `other`'s.
  void require_same_dtype(const Input& other) const;
  // The array's values (its dtype must be U's).
  template <class U>
  std::span<const U> span() const {
    static_assert(std::is_same_v<U, float> || std::is_same_v<U, double>);
    return {static_cast<const U*>(array_.data()), array_.size()};
  }
  const void* data() const { return array_.data(); }

 private:
  nb::ndarray<nb::ro> array_;
  const char* name_;
  Dtype dtype_;
};

// (B, 2n) states: B, or ValueError naming `name`.
std::size_t require_states(const Input& states, int n);

// A new C-contiguous NumPy array of `shape`, zero-filled, owned by Python.
// Or, with `out`, the caller's array (out= of the bindings): writable, of
// T's dtype, exactly `shape`, C-contiguous, aligned and in host memory
// (TypeError / ValueError naming `name` otherwise), written in place and
// handed back by release().
template <class T>
class Output {
 public:
  explicit Output(std::initializer_list<std::size_t> shape);
  Output(std::initializer_list<std::size_t> shape, const std::optional<ArrayArg>& out,
         const char* name);
  std::span<T> span() { return {data_, size_}; }
  nb::object release();  // the NumPy array, or the caller's `out` (once)

 private:
  void allocate(std::initializer_list<std::size_t> shape);
  T* data_ = nullptr;
  std::size_t size_ = 0;
  nb::ndarray<nb::numpy, T> array_;
  nb::object given_;  // the caller's out array, if any
};

extern template class Output<float>;
extern template class Output<double>;
extern template class Output<std::int8_t>;

}  // namespace lnn::python

namespace nanobind::detail {
template <>
struct type_caster<lnn::python::ArrayArg> {
  NB_TYPE_CASTER(lnn::python::ArrayArg, const_name("numpy.typing.NDArray[numpy.floating]"))
  bool from_python(handle src, uint8_t, cleanup_list*) noexcept {
    value.object = src;
    return true;
  }
};
template <>
struct type_caster<lnn::python::Values> {
  NB_TYPE_CASTER(lnn::python::Values, const_name("numpy.typing.NDArray[numpy.floating]"))
  bool from_python(handle, uint8_t, cleanup_list*) noexcept { return false; }
  static handle from_cpp(const lnn::python::Values& v, rv_policy, cleanup_list*) noexcept {
    return v.array.inc_ref();
  }
};
template <>
struct type_caster<lnn::python::Statuses> {
  NB_TYPE_CASTER(lnn::python::Statuses, const_name("numpy.typing.NDArray[numpy.int8]"))
  bool from_python(handle, uint8_t, cleanup_list*) noexcept { return false; }
  static handle from_cpp(const lnn::python::Statuses& v, rv_policy, cleanup_list*) noexcept {
    return v.array.inc_ref();
  }
};
}  // namespace nanobind::detail
