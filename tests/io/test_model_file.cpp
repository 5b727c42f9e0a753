// Model files (safetensors): round trips, atomic writes, conversion, the
// hand-made NumPy fixture, and one FileError per kind of malformed file.
#include <gtest/gtest.h>

#include <algorithm>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
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
#include <vector>

#include "common/scratch.hpp"
#include "lnn/errors.hpp"
#include "lnn/info.hpp"
#include "lnn/model_file.hpp"

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

// A safetensors file taken apart: header JSON and data section.
struct Parts {
  json header;
  Bytes data;
};

std::uint64_t read_u64(const Bytes& b) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | b[static_cast<std::size_t>(i)];
  return v;
}

Parts split(const Bytes& file) {
  const std::uint64_t n = read_u64(file);
  Parts p;
  p.header = json::parse(file.begin() + 8, file.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  p.data.assign(file.begin() + 8 + static_cast<std::ptrdiff_t>(n), file.end());
  return p;
}

// Length field (any value), header text, data, byte by byte.
Bytes compose_raw(std::uint64_t length_field, const std::string& header, const Bytes& data) {
  Bytes out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<unsigned char>(length_field >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}
Bytes compose(const std::string& header, const Bytes& data) {
  return compose_raw(header.size(), header, data);
}
Bytes compose(const Parts& p) { return compose(p.header.dump(), p.data); }

template <class T>
Model<T> make_model(const ModelSpec& spec, std::uint64_t seed) {
  Model<T> model(spec);
  model.initialize(Init::xavier, seed);
  for (int l = 0; l <= spec.depth(); ++l) {  // biases are zero after initialize
    const LayerLayout& ll = model.layout()[static_cast<std::size_t>(l)];
    for (int i = 0; i < ll.rows; ++i) model.bias(l)[i] = static_cast<T>(0.125 * (i + 1) - 0.03 * l);
  }
  return model;
}

ModelSpec plain_spec(int n, std::vector<int> hidden) {
  return {n, std::move(hidden), Activation::softplus, {}};
}

std::vector<ModelSpec> round_trip_specs() {
  using A = Activation;
  using E = Embedding;
  return {
      {1, {4}, A::softplus, {}},
      {2, {5, 3}, A::tanh, {E::angle, E::plain}},
      {3, {7, 6, 5}, A::gelu, {E::angle, E::angle, E::angle}},
      {2, {9, 2}, A::xtanh_half, {}},
      {3, {1}, A::silu, {E::plain, E::angle, E::plain}},
  };
}

class ModelFileTest : public test::ScratchDirTest {
 protected:
  ModelFileTest() : ScratchDirTest("io") {}
};

template <class T>
class ModelFileRoundTrip : public ModelFileTest {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ModelFileRoundTrip, Precisions);

TYPED_TEST(ModelFileRoundTrip, IsBitExactWithSpecAndMetadata) {
  using T = TypeParam;
  const std::map<std::string, std::string> extra = {{"system", "double_pendulum"},
                                                    {"note", "ünïcode, \"quotes\" and\nnewlines"},
                                                    {"", "empty key"}};
  std::uint64_t seed = 11;
  for (const ModelSpec& spec : round_trip_specs()) {
    SCOPED_TRACE("hidden layers " + std::to_string(spec.depth()) + ", n " + std::to_string(spec.n));
    const Model<T> model = make_model<T>(spec, seed++);
    const std::string path = this->file("model.safetensors");
    save_model(model, path, extra);

    const ModelFileInfo info = read_model_info(path);
    EXPECT_EQ(info.spec, spec);
    EXPECT_EQ(info.precision, (std::is_same_v<T, float> ? Precision::f32 : Precision::f64));
    EXPECT_EQ(info.metadata, extra);

    const Model<T> loaded = load_model<T>(path);
    EXPECT_EQ(loaded.spec(), spec);
    ASSERT_EQ(loaded.parameters().size(), model.parameters().size());
    EXPECT_EQ(std::memcmp(loaded.parameters().data(), model.parameters().data(),
                          model.parameters().size_bytes()),
              0);
    bool any_nonzero = false;
    for (T v : loaded.parameters()) any_nonzero |= v != T(0);
    EXPECT_TRUE(any_nonzero);
  }
  EXPECT_EQ(this->entries(), std::vector<std::string>{"model.safetensors"});
}

TEST_F(ModelFileTest, WrittenFileFollowsTheDocumentedLayout) {
  const ModelSpec spec{2, {5, 3}, Activation::silu, {}};
  const Model<float> model = make_model<float>(spec, 3);
  const std::string path = file("m.safetensors");
  save_model(model, path, {{"system", "pendulum"}});
  const Bytes bytes = read_bytes(path);
  const std::uint64_t n = read_u64(bytes);
  EXPECT_EQ((8 + n) % 8, 0u) << "data section must start 8-byte aligned";
  const Parts p = split(bytes);
  const json expected_meta = {
      {"lnn.format", "lnn-model"}, {"lnn.format_version", "1"}, {"lnn.n", "2"},
      {"lnn.hidden", "5,3"},       {"lnn.activation", "silu"},  {"lnn.embedding", "plain,plain"},
      {"system", "pendulum"}};
  EXPECT_EQ(p.header["__metadata__"], expected_meta);
  const std::vector<std::pair<std::string, std::vector<int>>> tensors = {
      {"layers.0.weight", {5, 4}}, {"layers.0.bias", {5}},    {"layers.1.weight", {3, 5}},
      {"layers.1.bias", {3}},      {"output.weight", {1, 3}}, {"output.bias", {1}}};
  EXPECT_EQ(p.header.size(), tensors.size() + 1);
  for (int l = 0; l <= 2; ++l) {
    const std::string prefix = l < 2 ? "layers." + std::to_string(l) : "output";
    const LayerLayout& ll = model.layout()[static_cast<std::size_t>(l)];
    for (const auto& [suffix, src, count] :
         {std::tuple{".weight", model.weight(l), ll.rows * ll.cols},
          std::tuple{".bias", model.bias(l), ll.rows}}) {
      const json& e = p.header[prefix + suffix];
      EXPECT_EQ(e["dtype"], "F32");
      const auto begin = e["data_offsets"][0].get<std::size_t>();
      EXPECT_EQ(e["data_offsets"][1].get<std::size_t>() - begin,
                4u * static_cast<std::size_t>(count));
      EXPECT_EQ(std::memcmp(p.data.data() + begin, src, 4u * static_cast<std::size_t>(count)), 0)
          << prefix + suffix;
    }
  }
  for (const auto& [name, shape] : tensors) EXPECT_EQ(p.header[name]["shape"], json(shape)) << name;
}

TEST_F(ModelFileTest, AllPlainEmbeddingReadsBackInCanonicalForm) {
  const ModelSpec explicit_plain{2, {3}, Activation::tanh, {Embedding::plain, Embedding::plain}};
  save_model(make_model<double>(explicit_plain, 1), file("m.safetensors"));
  ModelSpec expected = explicit_plain;
  expected.embedding.clear();
  EXPECT_EQ(read_model_info(file("m.safetensors")).spec, expected);
}

TEST_F(ModelFileTest, ConvertsBetweenPrecisionsOnLoad) {
  const ModelSpec spec{2, {6, 4}, Activation::softplus, {Embedding::angle, Embedding::plain}};
  const Model<double> d = make_model<double>(spec, 5);
  save_model(d, file("d.safetensors"));
  const Model<float> f = load_model<float>(file("d.safetensors"));
  EXPECT_EQ(f.spec(), spec);
  for (std::size_t i = 0; i < d.parameters().size(); ++i)
    ASSERT_EQ(f.parameters()[i], static_cast<float>(d.parameters()[i])) << i;

  save_model(f, file("f.safetensors"));
  EXPECT_EQ(read_model_info(file("f.safetensors")).precision, Precision::f32);
  const Model<double> back = load_model<double>(file("f.safetensors"));
  for (std::size_t i = 0; i < f.parameters().size(); ++i)
    ASSERT_EQ(back.parameters()[i], static_cast<double>(f.parameters()[i])) << i;
}

TEST_F(ModelFileTest, OverwritesAnExistingFileAndLeavesNoTemporary) {
  const ModelSpec spec{1, {3}, Activation::tanh, {}};
  save_model(make_model<double>(spec, 1), file("m.safetensors"));
  const Model<double> second = make_model<double>(spec, 2);
  save_model(second, file("m.safetensors"));
  EXPECT_EQ(load_model<double>(file("m.safetensors")).parameters()[0], second.parameters()[0]);
  EXPECT_EQ(entries(), std::vector<std::string>{"m.safetensors"});
}

using test::expect_file_error;

TEST_F(ModelFileTest, FailedWriteToMissingDirectoryLeavesNothing) {
  const std::string path = file("no_such_dir/m.safetensors");
  expect_file_error(path, [&] { save_model(make_model<float>(plain_spec(1, {2}), 1), path); },
                    {"cannot create temporary file"});
  EXPECT_TRUE(entries().empty());
}

TEST_F(ModelFileTest, RefusesToReplaceADirectoryOrADevice) {
  const std::string path = file("target");  // a non-empty directory
  fs::create_directory(path);
  write_bytes(path + "/keep", {1, 2, 3});
  expect_file_error(path, [&] { save_model(make_model<double>(plain_spec(2, {3}), 1), path); },
                    {"not a regular file"});
  EXPECT_EQ(entries(), std::vector<std::string>{"target"});
  EXPECT_EQ(read_bytes(path + "/keep"), (Bytes{1, 2, 3}));
  // As root a rename over /dev/null would replace the device.
  expect_file_error("/dev/null",
                    [&] { save_model(make_model<double>(plain_spec(1, {2}), 1), "/dev/null"); },
                    {"not a regular file"});
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
}

TEST_F(ModelFileTest, SavingThroughASymbolicLinkKeepsTheLink) {
  const ModelSpec spec = plain_spec(1, {3});
  save_model(make_model<double>(spec, 1), file("real.safetensors"));
  fs::create_symlink(file("real.safetensors"), file("link.safetensors"));
  const Model<double> second = make_model<double>(spec, 2);
  save_model(second, file("link.safetensors"));
  EXPECT_TRUE(fs::is_symlink(file("link.safetensors")));
  EXPECT_EQ(load_model<double>(file("real.safetensors")).parameters()[0], second.parameters()[0]);
  std::vector<std::string> names = entries();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"link.safetensors", "real.safetensors"}));
}

TEST_F(ModelFileTest, FailedWriteRemovesTemporaryAndKeepsExistingFile) {
  const std::string path = file("m.safetensors");
  save_model(make_model<double>(plain_spec(1, {3}), 1), path);
  const Bytes before = read_bytes(path);
  // A file-size limit makes write() fail with EFBIG part way through, as a
  // full disk would (and unlike permissions, it applies to root too).
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 2048;
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  try {
    save_model(make_model<double>(plain_spec(2, {64, 64}), 2), path);
    ADD_FAILURE() << "no FileError";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write temporary file"), std::string::npos)
        << e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(entries(), std::vector<std::string>{"m.safetensors"});
}

TEST_F(ModelFileTest, BlockedTemporaryKeepsExistingFile) {
  const std::string path = file("m.safetensors");
  save_model(make_model<double>(plain_spec(1, {3}), 1), path);
  const Bytes before = read_bytes(path);
  for (int i = 0; i < 16; ++i)  // every temporary name save_model tries
    fs::create_directory(path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(i));
  expect_file_error(path, [&] { save_model(make_model<double>(plain_spec(1, {3}), 2), path); },
                    {"cannot create temporary file"});
  EXPECT_EQ(read_bytes(path), before);
}

TEST_F(ModelFileTest, RefusesReservedMetadataKeysAndNonFiniteParameters) {
  const std::string path = file("m.safetensors");
  Model<float> model = make_model<float>(plain_spec(2, {3}), 1);
  expect_file_error(path,
                    [&] {
                      save_model(model, path, {{"lnn.n", "3"}});
                    },
                    {"'lnn.n'", "reserved"});
  model.weight(1)[2] = std::numeric_limits<float>::infinity();
  expect_file_error(path, [&] { save_model(model, path); }, {"output.weight", "non-finite"});
  EXPECT_TRUE(entries().empty());
}

// ---- the hand-made NumPy fixture --------------------------------------------

std::string test_data_dir() {
  if (const char* env = std::getenv("LNN_TEST_DATA")) return env;
  return (fs::path(__FILE__).parent_path().parent_path() / "data").string();
}

TEST(ModelFileFixture, ReadsFileWrittenByHandWithNumpy) {
  // tests/data/make_tiny_model.py: n = 2 (angle, plain), hidden 3,2, tanh,
  // F64, parameter k = (k - 10)/16, data in reverse tensor order.
  const std::string path = test_data_dir() + "/tiny_model_f64.safetensors";
  const ModelFileInfo info = read_model_info(path);
  const ModelSpec expected{2, {3, 2}, Activation::tanh, {Embedding::angle, Embedding::plain}};
  EXPECT_EQ(info.spec, expected);
  EXPECT_EQ(info.precision, Precision::f64);
  EXPECT_EQ(info.metadata, (std::map<std::string, std::string>{{"source", "make_tiny_model.py"}}));

  const Model<double> model = load_model<double>(path);
  ASSERT_EQ(model.parameters().size(), 15u + 3u + 6u + 2u + 2u + 1u);
  for (std::size_t k = 0; k < model.parameters().size(); ++k)
    ASSERT_EQ(model.parameters()[k], (static_cast<double>(k) - 10.0) / 16.0) << k;
  EXPECT_EQ(model.weight(0)[1 * 5 + 2], (7.0 - 10.0) / 16.0);  // layers.0.weight[1][2]
  EXPECT_EQ(model.bias(2)[0], 18.0 / 16.0);                    // output.bias: k = 28
  const Model<float> as_float = load_model<float>(path);
  EXPECT_EQ(as_float.weight(1)[0], 8.0f / 16.0f);  // layers.1.weight[0][0]: k = 18
}

// ---- malformed files ----------------------------------------------------------

class MalformedModelFile : public ModelFileTest {
 protected:
  void SetUp() override {
    ModelFileTest::SetUp();
    valid_ = file("valid.safetensors");
    save_model(make_model<double>(spec_, 7), valid_);
    bytes_ = read_bytes(valid_);
    parts_ = split(bytes_);
    path_ = file("bad.safetensors");
  }
  // Writes `bytes` as the bad file and expects each reader to refuse it.
  void expect_refused(const Bytes& bytes, std::initializer_list<std::string> phrases,
                      bool header_problem = true) {
    write_bytes(path_, bytes);
    if (header_problem)
      expect_file_error(
          path_, [&] { (void)read_model_info(path_); }, phrases);
    expect_file_error(
        path_, [&] { (void)load_model<double>(path_); }, phrases);
    expect_file_error(
        path_, [&] { (void)load_model<float>(path_); }, phrases);
  }
  // A copy of the valid file with header edited by `edit`.
  template <class F>
  Bytes with_header(F&& edit) const {
    Parts p = parts_;
    edit(p.header);
    return compose(p);
  }
  Bytes with_metadata(const std::string& key, const json& value) const {
    return with_header([&](json& h) { h["__metadata__"][key] = value; });
  }
  // Byte offset in the data section of element `index` of tensor `name`.
  std::size_t data_offset(const std::string& name, std::size_t index) const {
    return parts_.header[name]["data_offsets"][0].get<std::size_t>() + 8 * index;
  }

  ModelSpec spec_{2, {3, 4}, Activation::tanh, {Embedding::angle, Embedding::plain}};
  std::string valid_, path_;
  Bytes bytes_;
  Parts parts_;
};

TEST_F(MalformedModelFile, MissingOrNotAFile) {
  expect_file_error(file("absent"), [&] { (void)load_model<double>(file("absent")); },
                    {"cannot open"});
  expect_file_error(dir_.string(), [&] { (void)read_model_info(dir_.string()); },
                    {"not a regular file"});
}

TEST_F(MalformedModelFile, Truncated) {
  const std::size_t header_end = 8 + read_u64(bytes_);
  for (std::size_t len : {0, 3, 7}) {
    SCOPED_TRACE(len);
    expect_refused(Bytes(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(len)),
                   {"too short"});
  }
  for (std::size_t len : {std::size_t{8}, std::size_t{20}, header_end - 1}) {
    SCOPED_TRACE(len);
    expect_refused(Bytes(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(len)),
                   {"header length", "exceeds"});
  }
  for (std::size_t len : {header_end, header_end + 5, bytes_.size() - 1}) {
    SCOPED_TRACE(len);
    expect_refused(Bytes(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(len)),
                   {"beyond the end of the file", "truncated"});
  }
}

TEST_F(MalformedModelFile, AbsurdHeaderLength) {
  const std::string header = parts_.header.dump();
  expect_refused(compose_raw(std::uint64_t{1} << 60, header, parts_.data), {"absurd"});
  expect_refused(compose_raw(150'000'000, header, parts_.data), {"absurd"});
}

TEST_F(MalformedModelFile, HeaderNotAJsonObject) {
  expect_refused(compose("{\"__metadata__\": {", parts_.data), {"not valid JSON"});
  expect_refused(compose("", parts_.data), {"not valid JSON"});
  expect_refused(compose("{\"a\": \"\xff\xfe\"}", parts_.data), {"not valid JSON"});
  expect_refused(compose("[1, 2, 3]   ", parts_.data), {"not a JSON object"});
  // Deep nesting must not exhaust the stack, valid or not.
  expect_refused(compose(std::string(100000, '[') + std::string(100000, ']'), {}),
                 {"not a JSON object"});
  expect_refused(compose(std::string(300000, '['), {}), {"not valid JSON"});
}

// Issue 19, defect 7: what other safetensors readers refuse, lnn refuses too.
TEST_F(MalformedModelFile, BytesAfterANulInTheHeader) {
  const std::string header = parts_.header.dump();
  expect_refused(compose(header + std::string(1, '\0') + "{\"x\": 1}", parts_.data),
                 {"NUL byte"});
  expect_refused(compose(header + std::string(3, '\0'), parts_.data), {"NUL byte"});
}

TEST_F(MalformedModelFile, RepeatedKeysInTheHeader) {
  const std::string header = parts_.header.dump();
  const auto repeat = [&](const std::string& at, const std::string& insert) {
    const std::size_t pos = header.find(at);
    EXPECT_NE(pos, std::string::npos) << at;
    std::string h = header;
    h.insert(pos + at.size(), insert);
    return h;
  };
  // A metadata key, with another value first: the parser would keep the last.
  expect_refused(compose(repeat("\"__metadata__\":{", "\"lnn.n\":\"3\","), parts_.data),
                 {"repeats the key 'lnn.n'"});
  // A whole tensor entry.
  const std::string bias = "\"output.bias\":" + parts_.header["output.bias"].dump() + ",";
  expect_refused(compose(repeat("{", bias), parts_.data), {"repeats the key 'output.bias'"});
  // The same key in two different objects is fine: each tensor has "dtype".
  write_bytes(path_, compose(header, parts_.data));
  EXPECT_NO_THROW((void)load_model<double>(path_));
}

TEST_F(MalformedModelFile, BadMetadata) {
  expect_refused(with_header([](json& h) { h.erase("__metadata__"); }), {"no __metadata__"});
  expect_refused(with_header([](json& h) { h["__metadata__"] = json::array(); }),
                 {"__metadata__ is not"});
  expect_refused(with_metadata("lnn.n", 2), {"'lnn.n' is not a string"});
  expect_refused(with_header([](json& h) { h["__metadata__"].erase("lnn.format"); }),
                 {"not an lnn model file"});
  expect_refused(with_metadata("lnn.format", "other"), {"not an lnn model file", "'other'"});
  expect_refused(with_metadata("lnn.format_version", "2"),
                 {"format version 2 is newer than this lnn (" + lnn::version() + ") reads (1); upgrade lnn"});
  expect_refused(with_metadata("lnn.format_version", "0"), {"unsupported format version '0'"});
  expect_refused(with_metadata("lnn.format_version", "x"), {"unsupported format version 'x'"});
  expect_refused(with_header([](json& h) { h["__metadata__"].erase("lnn.hidden"); }),
                 {"no 'lnn.hidden'"});
  expect_refused(with_metadata("lnn.n", "two"), {"lnn.n = 'two' is not an integer"});
  expect_refused(with_metadata("lnn.n", "0"), {"invalid model in metadata", "n (degrees"});
  expect_refused(with_metadata("lnn.hidden", "600,x"), {"lnn.hidden = '600,x'", "bad entry 'x'"});
  expect_refused(with_metadata("lnn.hidden", "3,,4"), {"lnn.hidden", "bad entry ''"});
  expect_refused(with_metadata("lnn.hidden", ""), {"invalid model in metadata", "hidden layer"});
  expect_refused(with_metadata("lnn.activation", "relu"), {"lnn.activation", "'relu' is refused"});
  expect_refused(with_metadata("lnn.activation", "swish"),
                 {"lnn.activation", "unknown activation 'swish'"});
  expect_refused(with_metadata("lnn.embedding", "angle"),
                 {"lnn.embedding has 1 entries, expected n = 2"});
  expect_refused(with_metadata("lnn.embedding", "angle,circle"), {"lnn.embedding", "'circle'"});
  expect_refused(with_metadata("lnn.extra", "1"), {"unknown reserved metadata key 'lnn.extra'"});
}

TEST_F(MalformedModelFile, MissingOrExtraTensors) {
  expect_refused(with_header([](json& h) { h.erase("output.bias"); }),
                 {"missing tensor 'output.bias'"});
  expect_refused(with_header([](json& h) { h["layers.9.weight"] = h["layers.0.weight"]; }),
                 {"unexpected tensor 'layers.9.weight'"});
  // A model with the metadata's spec has 2 hidden layers, so layers.2 is extra.
  expect_refused(with_metadata("lnn.hidden", "3"), {"unexpected tensor 'layers.1."});
}

TEST_F(MalformedModelFile, BadTensorEntries) {
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    expect_refused(with_header([&](json& h) { h["layers.0.bias"].erase(field); }),
                   {"tensor 'layers.0.bias' has no '" + std::string(field) + "'"});
  }
  expect_refused(with_header([](json& h) { h["layers.0.bias"] = 5; }),
                 {"entry is not a JSON object"});
  expect_refused(with_header([](json& h) { h["layers.0.bias"]["dtype"] = 64; }),
                 {"'dtype' is not a string"});
  expect_refused(with_header([](json& h) { h["layers.0.bias"]["shape"] = "3"; }),
                 {"'shape' is not an array"});
  expect_refused(with_header([](json& h) { h["layers.0.bias"]["shape"] = {-3}; }),
                 {"'shape' is not an array"});
  expect_refused(with_header([](json& h) { h["layers.0.bias"]["data_offsets"] = {0}; }),
                 {"'data_offsets' is not [begin, end]"});
  expect_refused(with_header([](json& h) {
                   h["layers.0.bias"]["data_offsets"] = {0.0, 24.0};
                 }),
                 {"'data_offsets' is not [begin, end]"});
}

TEST_F(MalformedModelFile, UnsupportedOrMixedDtypes) {
  for (const char* dtype : {"BF16", "F16", "I64", "U8", "f64"}) {
    expect_refused(with_header([&](json& h) {
                     for (auto& [name, e] : h.items())
                       if (name != "__metadata__") e["dtype"] = dtype;
                   }),
                   {"unsupported dtype '" + std::string(dtype) + "'", "F32 or F64"});
  }
  expect_refused(with_header([](json& h) { h["output.weight"]["dtype"] = "F32"; }),
                 {"mixed dtypes", "'output.weight' is F32"});
}

TEST_F(MalformedModelFile, WrongShape) {
  expect_refused(with_header([](json& h) {
                   h["layers.0.weight"]["shape"] = {5, 3};
                 }),
                 {"tensor 'layers.0.weight' has shape [5, 3], expected [3, 5]"});
  expect_refused(with_header([](json& h) { h["output.bias"]["shape"] = json::array(); }),
                 {"'output.bias' has shape [], expected [1]"});
  expect_refused(with_header([](json& h) {
                   h["layers.1.bias"]["shape"] = {4, 1};
                 }),
                 {"has shape [4, 1], expected [4]"});
}

TEST_F(MalformedModelFile, BadDataOffsets) {
  const auto begin = [&](const char* name) {
    return parts_.header[name]["data_offsets"][0].get<std::uint64_t>();
  };
  const std::uint64_t w0 = begin("layers.0.weight");
  expect_refused(with_header([&](json& h) {
                   h["layers.0.weight"]["data_offsets"] = {w0, w0 + 4};
                 }),
                 {"(4 bytes)", "needs 120 bytes"});
  expect_refused(with_header([&](json& h) {
                   h["layers.0.weight"]["data_offsets"] = {w0 + 120, w0};
                 }),
                 {"end before begin"});
  expect_refused(with_header([](json& h) {
                   h["layers.0.weight"]["data_offsets"] = {1000000, 1000120};
                 }),
                 {"beyond the end of the file"});
  const std::uint64_t huge = std::numeric_limits<std::uint64_t>::max();
  expect_refused(with_header([&](json& h) {
                   h["layers.0.weight"]["data_offsets"] =
                       json::parse("[18446744073709551496, 18446744073709551616]");
                 }),
                 {"'data_offsets' is not"});  // 2^64 does not fit a u64: parsed as a float
  expect_refused(with_header([&](json& h) {
                   h["layers.0.weight"]["data_offsets"] = {huge - 120, huge};
                 }),
                 {"beyond the end of the file"});
  expect_refused(with_header([&](json& h) {
                   h["layers.0.bias"]["data_offsets"] = {w0 + 8, w0 + 32};
                 }),
                 {"overlap"});
}

TEST_F(MalformedModelFile, NonFiniteParameters) {
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity()}) {
    Bytes bytes = bytes_;
    const std::size_t at = 8 + read_u64(bytes_) + data_offset("layers.1.weight", 2);
    std::memcpy(bytes.data() + at, &bad, sizeof bad);
    expect_refused(bytes, {"tensor 'layers.1.weight'", "non-finite", "index 2"}, false);
  }
  // The header alone is fine: read_model_info does not read the data.
  EXPECT_NO_THROW((void)read_model_info(path_));
}

TEST_F(MalformedModelFile, F64ValueOutsideFloatRange) {
  Bytes bytes = bytes_;
  const double big = 1e300;
  std::memcpy(bytes.data() + 8 + read_u64(bytes_) + data_offset("output.bias", 0), &big,
              sizeof big);
  write_bytes(path_, bytes);
  EXPECT_EQ(load_model<double>(path_).bias(2)[0], big);
  expect_file_error(path_, [&] { (void)load_model<float>(path_); },
                    {"tensor 'output.bias'", "outside the range of float"});
}

TEST_F(MalformedModelFile, AcceptsAnyTensorOrderAndGapsBetweenTensors) {
  // Reverse the data order and leave 16 spare bytes before each tensor.
  Parts p = parts_;
  Bytes data;
  const std::vector<std::string> names = {"output.bias",     "output.weight", "layers.1.bias",
                                          "layers.1.weight", "layers.0.bias", "layers.0.weight"};
  for (const std::string& name : names) {
    const auto b = parts_.header[name]["data_offsets"][0].get<std::size_t>();
    const auto e = parts_.header[name]["data_offsets"][1].get<std::size_t>();
    data.insert(data.end(), 16, 0xAB);
    p.header[name]["data_offsets"] = {data.size(), data.size() + (e - b)};
    data.insert(data.end(), parts_.data.begin() + static_cast<std::ptrdiff_t>(b),
                parts_.data.begin() + static_cast<std::ptrdiff_t>(e));
  }
  p.data = data;
  write_bytes(path_, compose(p));
  const Model<double> a = load_model<double>(valid_), b = load_model<double>(path_);
  EXPECT_EQ(std::memcmp(a.parameters().data(), b.parameters().data(), a.parameters().size_bytes()),
            0);
}

}  // namespace
}  // namespace lnn
