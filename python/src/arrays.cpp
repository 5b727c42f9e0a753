#include "arrays.hpp"

#include <nanobind/stl/string.h>

#include <cstdio>
#include <vector>

namespace lnn::python {

std::string dtype_name(Dtype d) { return d == Dtype::f32 ? "float32" : "float64"; }

namespace {

std::string shape_text(const nb::ndarray<nb::ro>& a) {
  std::string s = "(";
  for (std::size_t i = 0; i < a.ndim(); ++i) {
    if (i) s += ", ";
    s += std::to_string(a.shape(i));
  }
  if (a.ndim() == 1) s += ",";
  return s + ")";
}

std::string describe_dtype(const nb::dlpack::dtype& d) {
  const char* kind = "?";
  switch (static_cast<nb::dlpack::dtype_code>(d.code)) {
    case nb::dlpack::dtype_code::Int:
      kind = "int";
      break;
    case nb::dlpack::dtype_code::UInt:
      kind = "uint";
      break;
    case nb::dlpack::dtype_code::Float:
      kind = "float";
      break;
    case nb::dlpack::dtype_code::Bfloat:
      kind = "bfloat";
      break;
    case nb::dlpack::dtype_code::Complex:
      kind = "complex";
      break;
    case nb::dlpack::dtype_code::Bool:
      return "bool";
    default:
      break;
  }
  return kind + std::to_string(d.bits);
}

bool c_contiguous(const nb::ndarray<nb::ro>& a) {
  if (a.size() == 0) return true;  // NumPy gives empty arrays any strides
  std::int64_t expected = 1;
  for (std::size_t i = a.ndim(); i-- > 0;) {
    if (a.shape(i) != 1 && a.stride(i) != expected) return false;
    expected *= static_cast<std::int64_t>(a.shape(i));
  }
  return true;
}

}  // namespace

Input::Input(ArrayArg arg, const char* name) : name_(name), dtype_(Dtype::f64) {
  const nb::handle obj = arg.object;
  const std::string who = name;
  if (!nb::try_cast(obj, array_, /*convert=*/false)) {
    // Also NumPy arrays that nanobind cannot take as they are: a byte order
    // other than the machine's, a dtype DLPack has no code for.
    std::string got = nb::inst_name(obj).c_str();
    std::string dtype;  // NumPy's dtype.str, e.g. ">f8"
    if (nb::hasattr(obj, "dtype") && nb::hasattr(obj.attr("dtype"), "str") &&
        nb::try_cast(obj.attr("dtype").attr("str"), dtype)) {
      got += " of dtype " + dtype;
    }
    throw nb::type_error((who +
                          " must be an array (NumPy, or any object with the buffer protocol "
                          "or DLPack) of float64 or float32 in the machine's byte order, got " +
                          got)
                             .c_str());
  }
  if (array_.device_type() != nb::device::cpu::value) {
    throw nb::value_error(
        (who + " is not in host memory: this engine takes NumPy or other CPU arrays").c_str());
  }
  if (array_.dtype() == nb::dtype<double>()) {
    dtype_ = Dtype::f64;
  } else if (array_.dtype() == nb::dtype<float>()) {
    dtype_ = Dtype::f32;
  } else {
    throw nb::type_error((who + " has dtype " + describe_dtype(array_.dtype()) +
                          "; lnn takes float64 arrays (or float32 ones for a float32 engine)")
                             .c_str());
  }
  const std::size_t alignment = dtype_ == Dtype::f64 ? alignof(double) : alignof(float);
  if (reinterpret_cast<std::uintptr_t>(array_.data()) % alignment != 0) {
    throw nb::value_error((who + " is not aligned to its dtype (its data starts at an address " +
                           "that is no multiple of the element size); pass " + who + ".copy()")
                              .c_str());
  }
  if (!c_contiguous(array_)) {
    throw nb::value_error((who + " is not C-contiguous (lnn reads arrays in place, row-major); " +
                           "pass numpy.ascontiguousarray(" + who + ")")
                              .c_str());
  }
}

void Input::require_shape(std::initializer_list<std::size_t> expected,
                          const std::string& meaning) const {
  bool ok = array_.ndim() == expected.size();
  std::size_t i = 0;
  for (std::size_t e : expected) {
    if (!ok) break;
    ok = array_.shape(i++) == e;
  }
  if (!ok) {
    throw nb::value_error(
        (std::string(name_) + " must have shape " + meaning + ", got " + shape_text(array_))
            .c_str());
  }
}

void Input::require_same_dtype(const Input& other) const {
  if (dtype_ != other.dtype_) {
    throw nb::type_error((std::string(name_) + " has dtype " + dtype_name(dtype_) + " but " +
                          other.name_ + " has " + dtype_name(other.dtype_) +
                          ": the arrays of one call share one dtype")
                             .c_str());
  }
}

std::size_t require_states(const Input& states, int n) {
  const auto width = static_cast<std::size_t>(2 * n);
  if (states.ndim() != 2 || states.shape(1) != width) {
    std::vector<std::size_t> dims;
    for (std::size_t i = 0; i < states.ndim(); ++i) dims.push_back(states.shape(i));
    std::string got = "(";
    for (std::size_t i = 0; i < dims.size(); ++i) got += (i ? ", " : "") + std::to_string(dims[i]);
    if (dims.size() == 1) got += ",";
    got += ")";
    throw nb::value_error((std::string(states.name()) + " must have shape (B, 2n) = (B, " +
                           std::to_string(width) + ") for n = " + std::to_string(n) +
                           " (rows [q_1..q_n, qdot_1..qdot_n]), got " + got)
                              .c_str());
  }
  return states.shape(0);
}

template <class T>
Output<T>::Output(std::initializer_list<std::size_t> shape) {
  allocate(shape);
}

template <class T>
Output<T>::Output(std::initializer_list<std::size_t> shape, const std::optional<ArrayArg>& out,
                  const char* name) {
  if (!out || out->object.is_none()) {
    allocate(shape);
    return;
  }
  const std::string who = name;
  nb::ndarray<> view;
  if (!nb::try_cast(out->object, view, /*convert=*/false)) {
    // nanobind takes no read-only array as a writable one; say which it is.
    if (nb::hasattr(out->object, "flags") && nb::hasattr(out->object.attr("flags"), "writeable") &&
        !nb::cast<bool>(out->object.attr("flags").attr("writeable"))) {
      throw nb::value_error((who + " is read-only").c_str());
    }
    throw nb::type_error((who + " must be a writable array (NumPy, or any object with the buffer "
                                "protocol or DLPack), got " + nb::inst_name(out->object).c_str())
                             .c_str());
  }
  if (view.device_type() != nb::device::cpu::value)
    throw nb::value_error((who + " is not in host memory").c_str());
  if (view.dtype() != nb::dtype<T>()) {
    throw nb::type_error((who + " must have dtype " +
                          (std::is_same_v<T, double>  ? std::string("float64")
                           : std::is_same_v<T, float> ? std::string("float32")
                                                      : std::string("int8")) +
                          " (the dtype of this call's result)")
                             .c_str());
  }
  bool shape_ok = view.ndim() == shape.size();
  std::size_t i = 0;
  std::string want = "(";
  for (std::size_t d : shape) {
    want += (i ? ", " : "") + std::to_string(d);
    if (shape_ok && view.shape(i) != d) shape_ok = false;
    ++i;
  }
  want += shape.size() == 1 ? ",)" : ")";
  if (!shape_ok) throw nb::value_error((who + " must have shape " + want).c_str());
  std::int64_t expected = 1;
  for (std::size_t k = view.ndim(); k-- > 0;) {
    if (view.shape(k) != 1 && view.stride(k) != expected)
      throw nb::value_error((who + " is not C-contiguous (lnn writes arrays in place)").c_str());
    expected *= static_cast<std::int64_t>(view.shape(k));
  }
  if (reinterpret_cast<std::uintptr_t>(view.data()) % alignof(T) != 0)
    throw nb::value_error((who + " is not aligned to its dtype").c_str());
  data_ = static_cast<T*>(view.data());
  size_ = view.size();
  given_ = nb::borrow(out->object);
}

template <class T>
void Output<T>::allocate(std::initializer_list<std::size_t> shape) {
  size_ = 1;
  for (std::size_t s : shape) size_ *= s;
  data_ = new T[size_ > 0 ? size_ : 1]();
  nb::capsule owner(data_, [](void* p) noexcept { delete[] static_cast<T*>(p); });
  const std::vector<std::size_t> dims(shape);
  array_ = nb::ndarray<nb::numpy, T>(data_, dims.size(), dims.data(), owner);
}

template <class T>
nb::object Output<T>::release() {
  if (given_.is_valid()) return given_;
  return nb::cast(array_, nb::rv_policy::automatic);  // references the capsule, no copy
}

template class Output<float>;
template class Output<double>;
template class Output<std::int8_t>;

}  // namespace lnn::python
