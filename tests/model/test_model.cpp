// Model spec validation, parameter layout and initialization schemes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "lnn/errors.hpp"
#include "lnn/model.hpp"

namespace lnn {
namespace {

ModelSpec pendulum_spec() {
  ModelSpec s;
  s.n = 2;
  s.hidden = {600, 600, 600};
  return s;
}

TEST(ModelSpec, LayoutAndCountsForTheReferenceModel) {
  const ModelSpec s = pendulum_spec();
  EXPECT_EQ(s.input_width(), 4);
  const auto layout = s.layout();
  ASSERT_EQ(layout.size(), 4u);
  EXPECT_EQ(layout[0].rows, 600);
  EXPECT_EQ(layout[0].cols, 4);
  EXPECT_EQ(layout[3].rows, 1);
  EXPECT_EQ(layout[3].cols, 600);
  EXPECT_EQ(s.parameter_count(), 4u * 600 + 600 + 2 * (600u * 600 + 600) + 600 + 1);
  EXPECT_EQ(layout[3].bias_offset + 1, s.parameter_count());
}

TEST(ModelSpec, AngleEmbeddingWidensTheInput) {
  ModelSpec s = pendulum_spec();
  s.embedding = {Embedding::angle, Embedding::plain};
  EXPECT_EQ(s.input_width(), 5);
}

TEST(ModelSpec, BadSpecsAreRefusedWithTheField) {
  ModelSpec s = pendulum_spec();
  s.n = 0;
  EXPECT_THROW(s.validate(), InvalidArgument);
  s = pendulum_spec();
  s.hidden = {};
  EXPECT_THROW(s.validate(), InvalidArgument);
  s.hidden = {4, 0};
  try {
    s.validate();
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("hidden width 1"), std::string::npos) << e.what();
  }
  s = pendulum_spec();
  s.embedding = {Embedding::angle};
  EXPECT_THROW(s.validate(), InvalidArgument);
  EXPECT_THROW(Model<float>(ModelSpec{}), InvalidArgument);  // no hidden layer
}

TEST(ModelSpec, ReluIsRefusedWithAReason) {
  try {
    parse_activation("relu");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("second derivative is zero"), std::string::npos);
  }
  EXPECT_THROW(parse_activation("sigmoidish"), InvalidArgument);
  EXPECT_EQ(parse_activation("gelu"), Activation::gelu);
  for (Activation a : {Activation::softplus, Activation::tanh, Activation::silu, Activation::gelu,
                       Activation::xtanh_half})
    EXPECT_EQ(parse_activation(to_string(a)), a);
}

// Sample standard deviation of a weight matrix and the mean of its biases.
template <class T>
double weight_std(const Model<T>& m, int l) {
  const LayerLayout& lay = m.layout()[static_cast<std::size_t>(l)];
  const std::size_t count = static_cast<std::size_t>(lay.rows) * lay.cols;
  double s = 0, s2 = 0;
  for (std::size_t i = 0; i < count; ++i) {
    s += m.weight(l)[i];
    s2 += static_cast<double>(m.weight(l)[i]) * m.weight(l)[i];
  }
  const double mean = s / static_cast<double>(count);
  return std::sqrt(s2 / static_cast<double>(count) - mean * mean);
}

TEST(ModelInit, ReferenceSchemeHasTheDocumentedScales) {
  Model<double> m(pendulum_spec());
  m.initialize(Init::lnn, 0);
  // matrix 0: 2.2/√600; matrix i: 0.58·i/√600; output (1×600): 600/√600 = √600
  const double expected[] = {2.2 / std::sqrt(600.0), 0.58 / std::sqrt(600.0),
                             1.16 / std::sqrt(600.0), std::sqrt(600.0)};
  for (int l = 0; l < 4; ++l) {
    const double count =
        m.layout()[static_cast<std::size_t>(l)].rows * m.layout()[static_cast<std::size_t>(l)].cols;
    // The sample std of N draws is within a few /√(2N) of the truth.
    EXPECT_NEAR(weight_std(m, l), expected[l], 5 * expected[l] / std::sqrt(2 * count))
        << "matrix " << l;
    for (int i = 0; i < m.layout()[static_cast<std::size_t>(l)].rows; ++i)
      EXPECT_EQ(m.bias(l)[i], 0.0);
  }
}

TEST(ModelInit, XavierAndHeScales) {
  ModelSpec s;
  s.n = 3;
  s.hidden = {400, 300};
  Model<double> m(s);
  m.initialize(Init::xavier, 1);
  EXPECT_NEAR(weight_std(m, 1), std::sqrt(2.0 / 700), 0.03 * std::sqrt(2.0 / 700));
  m.initialize(Init::he, 1);
  EXPECT_NEAR(weight_std(m, 1), std::sqrt(2.0 / 400), 0.03 * std::sqrt(2.0 / 400));
}

TEST(ModelInit, SameSeedSameParametersAcrossPrecisions) {
  ModelSpec s;
  s.n = 2;
  s.hidden = {17, 5};
  Model<double> a(s), b(s);
  Model<float> f(s);
  a.initialize(Init::lnn, 42);
  b.initialize(Init::lnn, 42);
  f.initialize(Init::lnn, 42);
  ASSERT_EQ(std::memcmp(a.parameters().data(), b.parameters().data(), a.parameters().size_bytes()),
            0);
  for (std::size_t i = 0; i < a.parameters().size(); ++i)
    EXPECT_EQ(f.parameters()[i], static_cast<float>(a.parameters()[i]));
  b.initialize(Init::lnn, 43);
  EXPECT_NE(std::memcmp(a.parameters().data(), b.parameters().data(), a.parameters().size_bytes()),
            0);
}

}  // namespace
}  // namespace lnn
