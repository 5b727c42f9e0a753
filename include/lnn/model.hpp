// The model: an MLP Lagrangian L(q, q̇) (docs/math.md §2) and its flat parameters.
#pragma once
#include "lnn/visibility.hpp"
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lnn LNN_CXX_API {

// Hidden-layer activations; each has exact σ', σ'', σ''' (src/core/activation.hpp).
// ReLU is deliberately absent: its σ'' is zero, which makes M zero.
enum class Activation : std::uint8_t {
  softplus,    // log(1 + e^a)
  tanh,        // tanh(a)
  silu,        // a·sigmoid(a)
  gelu,        // tanh form: a/2 · (1 + tanh(√(2/π)(a + 0.044715 a³)))
  xtanh_half,  // a·tanh(a/2)
};

// How one position coordinate q_j enters the network. Velocities are plain.
enum class Embedding : std::uint8_t {
  plain,  // q_j
  angle,  // (cos q_j, sin q_j): periodic, smooth (docs/math.md §6)
};

enum class Init : std::uint8_t {
  lnn,     // the reference study's scheme (see Model::initialize)
  xavier,  // N(0, 2/(fan_in + fan_out))
  he,      // N(0, 2/fan_in)
  convex,  // lnn's scales, every weight after the first layer ≥ 0: L starts
           // convex in z_0, so M starts positive definite (docs/math.md §2)
};

std::string_view to_string(Activation a);
std::string_view to_string(Embedding e);
std::string_view to_string(Init i);
// Parsers throw InvalidArgument with the accepted names; "relu" is refused
// with an explanation.
Activation parse_activation(std::string_view name);
Embedding parse_embedding(std::string_view name);
Init parse_init(std::string_view name);

// Where one affine layer lives in the flat parameter buffer.
// Weight: rows × cols, row-major (rows = outputs). Bias: rows entries.
struct LayerLayout {
  std::size_t weight_offset = 0;
  std::size_t bias_offset = 0;
  int rows = 0;
  int cols = 0;
};

struct ModelSpec {
  int n = 2;                // degrees of freedom; states are 2n wide
  std::vector<int> hidden;  // widths m_1 … m_K (K >= 1)
  Activation activation = Activation::softplus;
  std::vector<Embedding> embedding;  // one per q coordinate; empty = all plain

  // Throws InvalidArgument naming the offending field.
  void validate() const;
  Embedding embedding_of(int j) const {
    return embedding.empty() ? Embedding::plain : embedding[static_cast<std::size_t>(j)];
  }
  // Width of the embedded input z_0: n velocities + 1 or 2 per position.
  int input_width() const;
  int depth() const { return static_cast<int>(hidden.size()); }
  // K+1 affine layers: hidden layers 0..K-1, then the output layer K
  // (1 × m_K weight, 1 bias).
  std::vector<LayerLayout> layout() const;
  std::size_t parameter_count() const;
  bool operator==(const ModelSpec&) const = default;
};

// Parameters of one model in precision T, in one flat buffer.
template <class T>
class Model {
 public:
  explicit Model(ModelSpec spec);  // validates; parameters zero

  const ModelSpec& spec() const { return spec_; }
  const std::vector<LayerLayout>& layout() const { return layout_; }
  std::span<T> parameters() { return params_; }
  std::span<const T> parameters() const { return params_; }
  // Layer l in 0..K (K = spec().depth() is the output layer).
  T* weight(int l) {
    return params_.data() + layout_.at(static_cast<std::size_t>(l)).weight_offset;
  }
  const T* weight(int l) const {
    return params_.data() + layout_.at(static_cast<std::size_t>(l)).weight_offset;
  }
  T* bias(int l) { return params_.data() + layout_.at(static_cast<std::size_t>(l)).bias_offset; }
  const T* bias(int l) const {
    return params_.data() + layout_.at(static_cast<std::size_t>(l)).bias_offset;
  }

  // Biases zero; weight matrix i (0 = input layer … K = output) drawn from
  // N(0, σ²) with a counter-based generator (Random123 Philox), so a seed
  // gives the same parameters everywhere.
  //   lnn:    σ = c/√k, k = larger dimension of the matrix, c = 2.2 (i = 0),
  //           0.58·i (0 < i < K), k (i = K)   — the reference study's scheme
  //   xavier: σ = √(2/(fan_in + fan_out));   he: σ = √(2/fan_in)
  //   convex: lnn's σ, and |w| for every matrix i ≥ 1 (softplus and the
  //           other convex activations then make L convex in the embedded
  //           input, so M = Σ_l U_lᵀ diag(σ″ ⊙ g_l) U_l has g_l ≥ 0 and is
  //           positive semi-definite, definite where the velocity columns of
  //           the first matrix span Rⁿ; training may change every sign)
  void initialize(Init scheme, std::uint64_t seed);

 private:
  ModelSpec spec_;
  std::vector<LayerLayout> layout_;
  std::vector<T> params_;
};

extern template class Model<float>;
extern template class Model<double>;

}  // namespace lnn
