// Training checkpoints: bit-exact round trips, reading a checkpoint as a
// plain model, atomic saves, and one FileError per kind of bad checkpoint.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "io/model_file_detail.hpp"
#include "common/scratch.hpp"
#include "lnn/errors.hpp"
#include "lnn/model_file.hpp"
#include "lnn/optimizer.hpp"

namespace lnn {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Bytes = std::vector<unsigned char>;

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// The header of a safetensors file edited by `edit`, the data kept.
template <class F>
Bytes with_header(const Bytes& file, F&& edit) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | file[static_cast<std::size_t>(i)];
  const auto data_start = file.begin() + 8 + static_cast<std::ptrdiff_t>(n);
  json header = json::parse(file.begin() + 8, data_start);
  edit(header);
  const std::string text = header.dump();
  Bytes out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<unsigned char>(text.size() >> (8 * i)));
  out.insert(out.end(), text.begin(), text.end());
  out.insert(out.end(), data_start, file.end());
  return out;
}

// Spans of T or const T, compared byte for byte.
template <class A, class B>
bool same_bits(std::span<A> a, std::span<B> b) {
  static_assert(std::is_same_v<std::remove_const_t<A>, std::remove_const_t<B>>);
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

// Options far from the defaults, with values that are not short decimals.
OptimizerOptions unusual_options() {
  OptimizerOptions o;
  o.lr = 0.1 / 3;
  o.schedule = Schedule::one_cycle;
  o.beta1 = 0.85;
  o.beta2 = 0.99 + 1e-17 * 7;
  o.eps = 1.0 / 3e7;
  o.weight_decay = 2e-4 / 7;
  o.decoupled = true;
  o.clip_norm = std::sqrt(2.0);
  o.warmup_fraction = 0.25;
  o.div_factor = 10.0 / 3;
  o.final_div_factor = 123.456;
  return o;
}

const ModelSpec kSpec{2, {5, 3}, Activation::tanh, {Embedding::angle, Embedding::plain}};

// A model and an optimizer after a few steps, so moments and steps are nonzero.
template <class T>
struct Trained {
  Model<T> model{kSpec};
  Adam<T> adam{kSpec.parameter_count(), unusual_options()};
  TrainState state{9, 2, R"({"steps": 40, "system": "double_pendulum", "lr": 0.0333})"};

  explicit Trained(int steps = 7) {
    model.initialize(Init::xavier, 3);
    std::vector<T> grad(model.parameters().size());
    for (int k = 0; k < steps; ++k) {
      for (std::size_t i = 0; i < grad.size(); ++i) {
        grad[i] = static_cast<T>(std::sin(static_cast<double>(i * 7 + 3 * k)));
      }
      adam.step(model.parameters(), grad, 40);
    }
  }
};

class CheckpointTest : public test::ScratchDirTest {
 protected:
  CheckpointTest() : ScratchDirTest("train") {}
};

using test::expect_file_error;

template <class T>
class CheckpointRoundTrip : public CheckpointTest {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(CheckpointRoundTrip, Precisions);

TYPED_TEST(CheckpointRoundTrip, RestoresEverythingBitForBit) {
  using T = TypeParam;
  const Trained<T> t;
  const std::string path = this->file("run.ckpt");
  save_checkpoint(path, t.model, t.adam, t.state);
  const Checkpoint<T> c = load_checkpoint<T>(path);

  EXPECT_EQ(c.model.spec(), kSpec);
  EXPECT_TRUE(same_bits(c.model.parameters(), t.model.parameters()));
  EXPECT_TRUE(same_bits(c.optimizer.first_moment(), t.adam.first_moment()));
  EXPECT_TRUE(same_bits(c.optimizer.second_moment(), t.adam.second_moment()));
  EXPECT_EQ(c.optimizer.steps(), 7);
  EXPECT_EQ(c.state.step, 9);
  EXPECT_EQ(c.state.skipped, 2);
  EXPECT_EQ(c.state.config, t.state.config);

  const OptimizerOptions& a = c.optimizer.options();
  const OptimizerOptions b = unusual_options();
  for (const auto& [name, x, y] :
       {std::tuple{"lr", a.lr, b.lr}, std::tuple{"beta1", a.beta1, b.beta1},
        std::tuple{"beta2", a.beta2, b.beta2}, std::tuple{"eps", a.eps, b.eps},
        std::tuple{"weight_decay", a.weight_decay, b.weight_decay},
        std::tuple{"clip_norm", a.clip_norm, b.clip_norm},
        std::tuple{"warmup_fraction", a.warmup_fraction, b.warmup_fraction},
        std::tuple{"div_factor", a.div_factor, b.div_factor},
        std::tuple{"final_div_factor", a.final_div_factor, b.final_div_factor}}) {
    EXPECT_EQ(std::memcmp(&x, &y, sizeof x), 0) << name << ": " << x << " vs " << y;
  }
  EXPECT_EQ(a.schedule, Schedule::one_cycle);
  EXPECT_TRUE(a.decoupled);
  EXPECT_EQ(this->entries(), std::vector<std::string>{"run.ckpt"});
}

TYPED_TEST(CheckpointRoundTrip, ResumingContinuesTheRunExactly) {
  using T = TypeParam;
  Trained<T> straight(12);
  Trained<T> first(5);
  save_checkpoint(this->file("c"), first.model, first.adam, first.state);
  Checkpoint<T> c = load_checkpoint<T>(this->file("c"));
  std::vector<T> grad(c.model.parameters().size());
  for (int k = 5; k < 12; ++k) {  // the gradients Trained uses
    for (std::size_t i = 0; i < grad.size(); ++i) {
      grad[i] = static_cast<T>(std::sin(static_cast<double>(i * 7 + 3 * k)));
    }
    c.optimizer.step(c.model.parameters(), grad, 40);
  }
  EXPECT_TRUE(same_bits(c.model.parameters(), straight.model.parameters()));
  EXPECT_TRUE(same_bits(c.optimizer.second_moment(), straight.adam.second_moment()));
}

TYPED_TEST(CheckpointRoundTrip, ReadsAsAPlainModel) {
  using T = TypeParam;
  const Trained<T> t;
  const std::string path = this->file("run.ckpt");
  save_checkpoint(path, t.model, t.adam, t.state);
  const ModelFileInfo info = read_model_info(path);
  EXPECT_EQ(info.spec, kSpec);
  EXPECT_TRUE(info.metadata.empty());  // lnn.train.* is not caller metadata
  EXPECT_TRUE(same_bits(load_model<T>(path).parameters(), t.model.parameters()));
  // And converted, as any model file.
  using Other = std::conditional_t<std::is_same_v<T, float>, double, float>;
  const Model<Other> other = load_model<Other>(path);
  EXPECT_EQ(other.parameters()[4], static_cast<Other>(t.model.parameters()[4]));
}

TEST_F(CheckpointTest, FileHoldsTheDocumentedTensorsAndMetadata) {
  const Trained<double> t;
  const std::string path = file("run.ckpt");
  save_checkpoint(path, t.model, t.adam, t.state);
  json header;
  with_header(read_bytes(path), [&](json& h) { header = h; });
  const std::size_t n = kSpec.parameter_count();
  for (const char* name : {"optimizer.m", "optimizer.v"}) {
    EXPECT_EQ(header[name]["dtype"], "F64");
    EXPECT_EQ(header[name]["shape"], json::array({n}));
  }
  const json& meta = header["__metadata__"];
  EXPECT_EQ(meta["lnn.train.step"], "9");
  EXPECT_EQ(meta["lnn.train.skipped"], "2");
  EXPECT_EQ(meta["lnn.train.optimizer_steps"], "7");
  EXPECT_EQ(meta["lnn.train.config"], t.state.config);
  const json options = json::parse(meta["lnn.train.optimizer"].get<std::string>());
  EXPECT_EQ(options["schedule"], "one_cycle");
  EXPECT_EQ(options["lr"].get<double>(), 0.1 / 3);
}

// The last figures travel with the checkpoint (NaN as null), and a
// checkpoint written before they existed still loads, with NaN figures.
TEST_F(CheckpointTest, LastFiguresRoundTripAndAreOptional) {
  Trained<double> t;
  t.state.loss = 0.125;
  const std::string path = file("run.ckpt");
  save_checkpoint(path, t.model, t.adam, t.state);
  Checkpoint<double> c = load_checkpoint<double>(path);
  EXPECT_EQ(c.state.loss, 0.125);
  EXPECT_TRUE(std::isnan(c.state.val_loss));
  json header;
  with_header(read_bytes(path), [&](json& h) { header = h; });
  EXPECT_EQ(json::parse(header["__metadata__"]["lnn.train.figures"].get<std::string>()),
            json::parse(R"({"loss": 0.125, "val_l1": null})"));
  const std::string old = file("old.ckpt");
  write_bytes(old, with_header(read_bytes(path), [](json& h) {
                h["__metadata__"].erase("lnn.train.figures");
              }));
  c = load_checkpoint<double>(old);
  EXPECT_TRUE(std::isnan(c.state.loss));
  EXPECT_EQ(c.state.step, 9);
}

TEST_F(CheckpointTest, PlainModelFileHasNoTrainingState) {
  const std::string path = file("model.safetensors");
  save_model(Trained<double>().model, path, {{"system", "double_pendulum"}});
  expect_file_error(path, [&] { (void)load_checkpoint<double>(path); }, {"no training state"});
}

TEST_F(CheckpointTest, CheckpointOfTheOtherPrecisionIsRefused) {
  const Trained<float> t;
  const std::string path = file("f.ckpt");
  save_checkpoint(path, t.model, t.adam, t.state);
  expect_file_error(path, [&] { (void)load_checkpoint<double>(path); }, {"F32", "loaded as F64"});
}

TEST_F(CheckpointTest, TruncatedCheckpointNamesTheFile) {
  const Trained<double> t;
  const std::string path = file("run.ckpt");
  save_checkpoint(path, t.model, t.adam, t.state);
  const Bytes full = read_bytes(path);
  for (std::size_t cut : {std::size_t{8}, full.size() / 2, full.size() - 1}) {
    SCOPED_TRACE(cut);
    write_bytes(path, Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut)));
    expect_file_error(path, [&] { (void)load_checkpoint<double>(path); }, {"truncated"});
  }
}

// Loads a copy of a good checkpoint whose header `edit` changed.
class BadCheckpoint : public CheckpointTest {
 protected:
  void SetUp() override {
    CheckpointTest::SetUp();
    const Trained<double> t;
    save_checkpoint(file("good.ckpt"), t.model, t.adam, t.state);
    good_ = read_bytes(file("good.ckpt"));
  }
  template <class F>
  void expect_refused(F&& edit, std::initializer_list<std::string> phrases) {
    const std::string path = file("bad.ckpt");
    write_bytes(path, with_header(good_, edit));
    expect_file_error(
        path, [&] { (void)load_checkpoint<double>(path); }, phrases);
  }
  void expect_metadata_refused(const std::string& key, const std::string& value,
                               std::initializer_list<std::string> phrases) {
    expect_refused([&](json& h) { h["__metadata__"][key] = value; }, phrases);
  }

  Bytes good_;
};

TEST_F(BadCheckpoint, WrongMomentSize) {
  const std::size_t n = kSpec.parameter_count();
  expect_refused(
      [&](json& h) {
        h["optimizer.v"]["shape"] = {n - 1};
        h["optimizer.v"]["data_offsets"][1] =
            h["optimizer.v"]["data_offsets"][1].get<std::size_t>() - 8;
      },
      {"tensor 'optimizer.v' holds " + std::to_string(n - 1) + " values, expected " +
       std::to_string(n)});
  expect_refused([](json& h) { h.erase("optimizer.m"); }, {"missing tensor 'optimizer.m'"});
  expect_refused([](json& h) { h["optimizer.w"] = h["optimizer.m"]; }, {"overlap"});
  expect_refused([](json& h) { h["optimizer.m"]["dtype"] = "F32"; }, {"mixed dtypes"});
  expect_refused(
      [](json& h) {
        h["optimizer.m"]["shape"] = {1ULL << 62, 8};
      },
      {"'optimizer.m' has shape", "more than 2^64 bytes"});
}

TEST_F(BadCheckpoint, MalformedMetadata) {
  expect_metadata_refused("lnn.train.step", "x", {"lnn.train.step = 'x'", "not a non-negative"});
  expect_metadata_refused("lnn.train.skipped", "-1", {"lnn.train.skipped"});
  expect_metadata_refused("lnn.train.optimizer_steps", "3 ", {"lnn.train.optimizer_steps"});
  expect_metadata_refused("lnn.train.config", "{", {"lnn.train.config is not valid JSON"});
  expect_metadata_refused("lnn.train.optimizer", "[1]", {"lnn.train.optimizer", "not a JSON"});
  expect_metadata_refused("lnn.train.optimizer", R"({"lr": 0.1})", {"'beta1'"});
  expect_metadata_refused("lnn.train.unknown", "1", {"unknown training metadata key"});
  expect_refused([](json& h) { h["__metadata__"].erase("lnn.train.config"); },
                 {"no lnn.train.config"});
  auto options_edit = [](const std::string& key, const json& value) {
    return [=](json& h) {
      json o = json::parse(h["__metadata__"]["lnn.train.optimizer"].get<std::string>());
      o[key] = value;
      h["__metadata__"]["lnn.train.optimizer"] = o.dump();
    };
  };
  expect_refused(options_edit("beta2", 1.5), {"beta2", "[0, 1)"});
  expect_refused(options_edit("schedule", "linear"), {"unknown schedule 'linear'"});
  expect_refused(options_edit("decoupled", 1), {"'decoupled'"});
  expect_refused(options_edit("momentum", 0.9), {"unknown field"});
}

TEST_F(CheckpointTest, FailedSaveKeepsTheExistingCheckpoint) {
  const std::string path = file("run.ckpt");
  const Trained<double> t;
  save_checkpoint(path, t.model, t.adam, t.state);
  const Bytes before = read_bytes(path);

  // A write that fails part way, as on a full disk (see test_model_file.cpp).
  Model<double> big(ModelSpec{2, {64, 64}, Activation::tanh, {}});
  Adam<double> adam(big.parameters().size(), OptimizerOptions{});
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 4096;
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  expect_file_error(path, [&] { save_checkpoint(path, big, adam, TrainState{}); },
                    {"cannot write temporary file"});
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);

  // Refusals before writing: state that could not be loaded back.
  TrainState bad_config = t.state;
  bad_config.config = "{not json";
  expect_file_error(path, [&] { save_checkpoint(path, t.model, t.adam, bad_config); },
                    {"refusing to write", "not valid JSON"});
  TrainState negative = t.state;
  negative.step = -1;
  expect_file_error(path, [&] { save_checkpoint(path, t.model, t.adam, negative); },
                    {"refusing to write"});
  Adam<double> diverged(kSpec.parameter_count(), OptimizerOptions{});
  std::vector<double> m(kSpec.parameter_count()), v(m.size());
  v[3] = std::numeric_limits<double>::infinity();
  diverged.restore(m, v, 4);
  expect_file_error(path, [&] { save_checkpoint(path, t.model, diverged, t.state); },
                    {"'optimizer.v'", "non-finite", "index 3"});
  const Adam<double> wrong_size(5, OptimizerOptions{});
  EXPECT_THROW(save_checkpoint(path, t.model, wrong_size, t.state), InvalidArgument);

  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(entries(), std::vector<std::string>{"run.ckpt"});
}

// The model-file additions directly: names outside the reserved namespaces
// are refused, and user metadata still may not use "lnn.".
TEST_F(CheckpointTest, ModelFileExtrasStayInTheirNamespaces) {
  const Model<double> model = Trained<double>(0).model;
  const std::vector<double> values = {1.0, 2.0};
  const std::string path = file("x");
  EXPECT_THROW(io::save_model_file<double>(model, path, {}, {{"lnn.step", "1"}}, {}),
               InvalidArgument);
  EXPECT_THROW(io::save_model_file<double>(model, path, {}, {}, {{"moments", values}}),
               InvalidArgument);
  EXPECT_THROW(io::save_model_file<double>(model, path, {}, {},
                                           {{"optimizer.a", values}, {"optimizer.a", values}}),
               InvalidArgument);
  expect_file_error(path,
                    [&] {
                      io::save_model_file<double>(model, path, {{"lnn.train.x", "1"}}, {}, {});
                    },
                    {"reserved"});
  EXPECT_TRUE(entries().empty());

  io::save_model_file<double>(model, path, {{"note", "kept"}}, {{"lnn.train.x", "1"}},
                              {{"optimizer.a", values}});
  const io::ModelFileContents<double> c = io::load_model_file<double>(path);
  EXPECT_EQ(c.precision, Precision::f64);
  EXPECT_EQ(c.train_metadata, (std::map<std::string, std::string>{{"lnn.train.x", "1"}}));
  EXPECT_EQ(c.extra.at("optimizer.a"), values);
  EXPECT_EQ(io::load_model_file<float>(path).extra.at("optimizer.a"),
            (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(read_model_info(path).metadata, (std::map<std::string, std::string>{{"note", "kept"}}));
}

}  // namespace
}  // namespace lnn
