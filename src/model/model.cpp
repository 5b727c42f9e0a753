#include "lnn/model.hpp"

#include <Random123/philox.h>

#include <Random123/boxmuller.hpp>
#include <algorithm>
#include <cmath>
#include <string>

#include "lnn/errors.hpp"

namespace lnn LNN_CXX_API {

void ModelSpec::validate() const {
  if (n < 1 || n > 1024) {
    throw InvalidArgument("model spec: n (degrees of freedom) must be in 1..1024, got " +
                          std::to_string(n));
  }
  if (hidden.empty()) throw InvalidArgument("model spec: at least one hidden layer is required");
  if (hidden.size() > 64) throw InvalidArgument("model spec: more than 64 hidden layers");
  for (std::size_t l = 0; l < hidden.size(); ++l) {
    if (hidden[l] < 1 || hidden[l] > (1 << 16)) {
      throw InvalidArgument("model spec: hidden width " + std::to_string(l) +
                            " must be in 1..65536, got " + std::to_string(hidden[l]));
    }
  }
  if (!embedding.empty() && static_cast<int>(embedding.size()) != n) {
    throw InvalidArgument("model spec: embedding has " + std::to_string(embedding.size()) +
                          " entries, expected n = " + std::to_string(n) + " (or none)");
  }
  switch (activation) {
    case Activation::softplus:
    case Activation::tanh:
    case Activation::silu:
    case Activation::gelu:
    case Activation::xtanh_half:
      break;
    default:
      throw InvalidArgument("model spec: unknown activation");
  }
  for (Embedding e : embedding) {
    if (e != Embedding::plain && e != Embedding::angle) {
      throw InvalidArgument("model spec: unknown embedding");
    }
  }
  const std::size_t count = parameter_count();
  if (count > (std::size_t{1} << 34)) {
    throw InvalidArgument("model spec: " + std::to_string(count) + " parameters is absurd");
  }
}

int ModelSpec::input_width() const {
  int w = n;
  for (int j = 0; j < n; ++j) w += embedding_of(j) == Embedding::angle ? 2 : 1;
  return w;
}

std::vector<LayerLayout> ModelSpec::layout() const {
  std::vector<LayerLayout> out;
  std::size_t offset = 0;
  int cols = input_width();
  auto add = [&](int rows) {
    LayerLayout l;
    l.rows = rows;
    l.cols = cols;
    l.weight_offset = offset;
    offset += static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
    l.bias_offset = offset;
    offset += static_cast<std::size_t>(rows);
    out.push_back(l);
    cols = rows;
  };
  for (int m : hidden) add(m);
  add(1);
  return out;
}

std::size_t ModelSpec::parameter_count() const {
  std::size_t count = 0;
  std::size_t cols = static_cast<std::size_t>(input_width());
  for (int m : hidden) {
    count += (cols + 1) * static_cast<std::size_t>(m);
    cols = static_cast<std::size_t>(m);
  }
  return count + cols + 1;
}

template <class T>
Model<T>::Model(ModelSpec spec) : spec_(std::move(spec)) {
  spec_.validate();
  layout_ = spec_.layout();
  params_.assign(spec_.parameter_count(), T(0));
}

template <class T>
void Model<T>::initialize(Init scheme, std::uint64_t seed) {
  // Philox4x32: counter = (matrix, element block), key = seed. Each call gives
  // four uniforms, turned into four normals by Box–Muller.
  using Rng = r123::Philox4x32;
  Rng rng;
  const Rng::key_type key = {
      {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  std::fill(params_.begin(), params_.end(), T(0));
  const int K = static_cast<int>(layout_.size()) - 1;
  for (int i = 0; i <= K; ++i) {
    const LayerLayout& l = layout_[static_cast<std::size_t>(i)];
    const double fan_in = l.cols, fan_out = l.rows;
    double sigma = 0.0;
    switch (scheme) {
      case Init::lnn:
      case Init::convex: {
        const double k = std::max(fan_in, fan_out);
        const double c = i == 0 ? 2.2 : (i == K ? k : 0.58 * i);
        sigma = c / std::sqrt(k);
        break;
      }
      case Init::xavier:
        sigma = std::sqrt(2.0 / (fan_in + fan_out));
        break;
      case Init::he:
        sigma = std::sqrt(2.0 / fan_in);
        break;
    }
    const std::size_t count = static_cast<std::size_t>(l.rows) * static_cast<std::size_t>(l.cols);
    T* w = params_.data() + l.weight_offset;
    for (std::size_t e = 0; e < count; e += 4) {
      const Rng::ctr_type ctr = {{static_cast<std::uint32_t>(e / 4),
                                  static_cast<std::uint32_t>((e / 4) >> 32),
                                  static_cast<std::uint32_t>(i), 0x6c6e6e00u}};
      const Rng::ctr_type r = rng(ctr, key);
      const r123::double2 a = r123::boxmuller(static_cast<std::uint64_t>(r[0]) << 32 | r[1],
                                              static_cast<std::uint64_t>(r[2]) << 32 | r[3]);
      // boxmuller(uint64, uint64) yields two normals; draw two more from a second counter.
      const Rng::ctr_type ctr2 = {{ctr[0], ctr[1], ctr[2], 0x6c6e6e01u}};
      const Rng::ctr_type r2 = rng(ctr2, key);
      const r123::double2 b = r123::boxmuller(static_cast<std::uint64_t>(r2[0]) << 32 | r2[1],
                                              static_cast<std::uint64_t>(r2[2]) << 32 | r2[3]);
      const double z[4] = {a.x, a.y, b.x, b.y};
      const bool nonnegative = scheme == Init::convex && i > 0;
      for (std::size_t j = 0; j < 4 && e + j < count; ++j) {
        w[e + j] = static_cast<T>(nonnegative ? sigma * std::fabs(z[j]) : sigma * z[j]);
      }
    }
  }
}

template class Model<float>;
template class Model<double>;

}  // namespace lnn
