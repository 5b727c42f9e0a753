// Helpers of the C API tests: model files in a per-process temporary
// directory, RAII for the C handles, comparisons that treat NaN as a value.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lnn/lnn.h"
#include "lnn/model.hpp"
#include "lnn/model_file.hpp"

namespace lnn::test {

struct ModelDeleter {
  void operator()(lnn_model* m) const { lnn_model_free(m); }
};
struct WorkspaceDeleter {
  void operator()(lnn_workspace* w) const { lnn_workspace_free(w); }
};
using ModelPtr = std::unique_ptr<lnn_model, ModelDeleter>;
using WorkspacePtr = std::unique_ptr<lnn_workspace, WorkspaceDeleter>;

inline std::string test_data(const std::string& name) {
  const char* env = std::getenv("LNN_TEST_DATA");
  return std::string(env ? env : "tests/data") + "/" + name;
}

// A directory removed with the fixture.
class TempDir {
 public:
  explicit TempDir(const std::string& tag)
      : path_(std::filesystem::temp_directory_path() /
              ("lnn_capi_" + tag + "_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A softplus model, n = 2 (q_1 an angle), hidden 16 × 12, saved in T.
template <class T>
std::string save_test_model(const TempDir& dir, const std::string& name, std::uint64_t seed = 7) {
  ModelSpec spec;
  spec.n = 2;
  spec.hidden = {16, 12};
  spec.activation = Activation::softplus;
  spec.embedding = {Embedding::angle, Embedding::plain};
  Model<T> model(spec);
  model.initialize(Init::xavier, seed);
  const std::string path = dir.file(name);
  save_model(model, path);
  return path;
}

// Equal to the bit, NaN equal to NaN; at least one value must be finite and nonzero.
inline void expect_identical(const std::vector<double>& got, const std::vector<double>& want,
                             const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  bool any_nonzero = false;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << what << "[" << i << "]";
    } else {
      EXPECT_EQ(got[i], want[i]) << what << "[" << i << "]";
      any_nonzero = any_nonzero || (std::isfinite(want[i]) && want[i] != 0.0);
    }
  }
  EXPECT_TRUE(any_nonzero) << what << " is all zero or non-finite";
}

// The call failed with `status`, and lnn_last_error names the function and
// contains `phrase`.
#define EXPECT_LNN_ERROR(call, status, phrase)                                   \
  do {                                                                           \
    const lnn_status lnn_got_ = (call);                                          \
    EXPECT_EQ(lnn_got_, (status)) << #call << ": " << lnn_last_error();          \
    const std::string lnn_msg_ = lnn_last_error();                               \
    EXPECT_NE(lnn_msg_.find(phrase), std::string::npos)                          \
        << #call << ": message '" << lnn_msg_ << "' lacks '" << (phrase) << "'"; \
  } while (0)

#define ASSERT_LNN_OK(call) ASSERT_EQ((call), LNN_OK) << #call << ": " << lnn_last_error()

}  // namespace lnn::test
