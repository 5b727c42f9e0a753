// The C API's error paths: every function, given null handles or pointers,
// wrong sizes, bad files, bad options or the wrong device, returns a status
// and a message naming the function and the problem, writes nothing, and
// leaks nothing (the ASan build runs these too).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <limits>

#include "capi/capi_test_util.hpp"
#include "common/test_util.hpp"
#include "lnn/info.hpp"

namespace lnn::test {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

class CApiErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = save_test_model<double>(dir_, "model.safetensors");
    lnn_model* m = nullptr;
    ASSERT_LNN_OK(lnn_model_load(path_.c_str(), &m));
    model_.reset(m);
    lnn_workspace* w = nullptr;
    ASSERT_LNN_OK(lnn_workspace_create(model_.get(), 4, nullptr, &w));
    ws_.reset(w);
    x_ = random_states<double>(4, 2, 3);
  }
  // Writes bytes to a file and returns its path.
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_.file(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  // Loading `path` fails with LNN_ERR_FILE, a message with `phrase`, and a NULL model.
  void expect_load_fails(const std::string& path, const std::string& phrase) {
    lnn_model* m = reinterpret_cast<lnn_model*>(&m);  // must be overwritten with NULL
    EXPECT_LNN_ERROR(lnn_model_load(path.c_str(), &m), LNN_ERR_FILE, phrase);
    EXPECT_EQ(m, nullptr);
    EXPECT_NE(std::string(lnn_last_error()).find(path), std::string::npos) << "names the file";
  }

  TempDir dir_{"errors"};
  std::string path_;
  ModelPtr model_;
  WorkspacePtr ws_;
  std::vector<double> x_, out_ = std::vector<double>(4 * 4 * 4 * 4, 0.0);
};

TEST_F(CApiErrors, ModelLoadRefusesBadArgumentsAndFiles) {
  lnn_model* m = nullptr;
  EXPECT_LNN_ERROR(lnn_model_load(nullptr, &m), LNN_ERR_INVALID_ARGUMENT,
                   "lnn_model_load: path is NULL");
  EXPECT_EQ(m, nullptr);
  EXPECT_LNN_ERROR(lnn_model_load(path_.c_str(), nullptr), LNN_ERR_INVALID_ARGUMENT,
                   "model (the output handle) is NULL");
  expect_load_fails(dir_.file("missing.safetensors"), "missing.safetensors");
  expect_load_fails(dir_.file(""), "");  // a directory
  expect_load_fails(write("garbage.safetensors", "this is not a model file at all"),
                    "lnn_model_load: ");
  expect_load_fails(write("empty.safetensors", ""), "lnn_model_load: ");
  std::string bytes = file_bytes(path_);
  expect_load_fails(write("truncated.safetensors", bytes.substr(0, bytes.size() - 9)),
                    "lnn_model_load: ");

  // A file of a newer format version: same length, so the offsets stay valid.
  const std::string key = "\"lnn.format_version\":\"1\"";
  const std::size_t at = bytes.find(key);
  ASSERT_NE(at, std::string::npos);
  bytes[at + key.size() - 2] = '2';
  expect_load_fails(
      write("newer.safetensors", bytes),
      "format version 2 is newer than this lnn (" + lnn::version() + ") reads (1); upgrade lnn");
}

TEST_F(CApiErrors, SuccessClearsTheLastError) {
  lnn_model* m = nullptr;
  EXPECT_NE(lnn_model_load(nullptr, &m), LNN_OK);
  EXPECT_STRNE(lnn_last_error(), "");
  lnn_model_info info;
  ASSERT_LNN_OK(lnn_model_get_info(model_.get(), &info));
  EXPECT_STREQ(lnn_last_error(), "");
}

TEST_F(CApiErrors, FreeAcceptsNull) {
  lnn_model_free(nullptr);
  lnn_workspace_free(nullptr);
}

TEST_F(CApiErrors, ModelQueries) {
  lnn_model_info info;
  EXPECT_LNN_ERROR(lnn_model_get_info(nullptr, &info), LNN_ERR_INVALID_ARGUMENT,
                   "lnn_model_get_info: model is NULL");
  EXPECT_LNN_ERROR(lnn_model_get_info(model_.get(), nullptr), LNN_ERR_INVALID_ARGUMENT,
                   "info is NULL");
  int widths[2];
  EXPECT_LNN_ERROR(lnn_model_hidden(nullptr, widths, 2), LNN_ERR_INVALID_ARGUMENT, "model is NULL");
  EXPECT_LNN_ERROR(lnn_model_hidden(model_.get(), nullptr, 2), LNN_ERR_INVALID_ARGUMENT,
                   "widths is NULL");
  EXPECT_LNN_ERROR(lnn_model_hidden(model_.get(), widths, 1), LNN_ERR_INVALID_ARGUMENT,
                   "capacity 1 is less than the 2 hidden layers");
  EXPECT_LNN_ERROR(lnn_model_hidden(model_.get(), widths, -1), LNN_ERR_INVALID_ARGUMENT,
                   "capacity -1");
  const char* name = "unchanged";
  EXPECT_LNN_ERROR(lnn_model_embedding(nullptr, 0, &name), LNN_ERR_INVALID_ARGUMENT,
                   "model is NULL");
  EXPECT_LNN_ERROR(lnn_model_embedding(model_.get(), 0, nullptr), LNN_ERR_INVALID_ARGUMENT,
                   "name is NULL");
  EXPECT_LNN_ERROR(lnn_model_embedding(model_.get(), 2, &name), LNN_ERR_INVALID_ARGUMENT,
                   "j = 2 is outside 0 … 1");
  EXPECT_LNN_ERROR(lnn_model_embedding(model_.get(), -1, &name), LNN_ERR_INVALID_ARGUMENT,
                   "j = -1");
  EXPECT_STREQ(name, "unchanged");
}

TEST_F(CApiErrors, WorkspaceCreation) {
  lnn_workspace_options o;
  EXPECT_LNN_ERROR(lnn_workspace_options_default(nullptr), LNN_ERR_INVALID_ARGUMENT,
                   "options is NULL");
  ASSERT_LNN_OK(lnn_workspace_options_default(&o));
  lnn_workspace* w = nullptr;
  auto expect_refused = [&](const lnn_workspace_options& opts, int64_t max_batch, lnn_status status,
                            const std::string& phrase) {
    w = reinterpret_cast<lnn_workspace*>(&w);
    EXPECT_LNN_ERROR(lnn_workspace_create(model_.get(), max_batch, &opts, &w), status, phrase);
    EXPECT_EQ(w, nullptr);
  };
  EXPECT_LNN_ERROR(lnn_workspace_create(nullptr, 4, &o, &w), LNN_ERR_INVALID_ARGUMENT,
                   "lnn_workspace_create: model is NULL");
  EXPECT_LNN_ERROR(lnn_workspace_create(model_.get(), 4, &o, nullptr), LNN_ERR_INVALID_ARGUMENT,
                   "workspace (the output handle) is NULL");
  expect_refused(o, 0, LNN_ERR_INVALID_ARGUMENT, "max_batch = 0 must be >= 1");
  expect_refused(o, -5, LNN_ERR_INVALID_ARGUMENT, "max_batch = -5");
  lnn_workspace_options bad = o;
  bad.device = 7;
  expect_refused(bad, 4, LNN_ERR_INVALID_ARGUMENT, "options->device = 7 is unknown");
  bad = o;
  bad.precision = 3;
  expect_refused(bad, 4, LNN_ERR_INVALID_ARGUMENT, "options->precision = 3 is unknown");
  bad = o;
  bad.solve = -1;
  expect_refused(bad, 4, LNN_ERR_INVALID_ARGUMENT, "options->solve = -1 is unknown");
  bad = o;
  bad.damping = -1;
  expect_refused(bad, 4, LNN_ERR_INVALID_ARGUMENT, "damping");
  bad = o;
  bad.rcond = kNaN;
  expect_refused(bad, 4, LNN_ERR_INVALID_ARGUMENT, "rcond");
  bad = o;
  bad.chunk = 0;
  expect_refused(bad, 4, LNN_ERR_INVALID_ARGUMENT, "chunk");
}

// Without the CUDA backend or without a device, a CUDA workspace is refused
// with the reason (test_capi_cuda.cpp uses one where a GPU is present).
TEST_F(CApiErrors, CudaWorkspaceFailsCleanlyWithoutAGpu) {
  std::string why;
  if (lnn::cuda_compiled() && !lnn::cuda_devices(&why).empty())
    GTEST_SKIP() << "a GPU is usable here";
  lnn_workspace_options o;
  ASSERT_LNN_OK(lnn_workspace_options_default(&o));
  o.device = LNN_DEVICE_CUDA;
  lnn_workspace* w = nullptr;
  const char* phrase =
      !lnn::cuda_compiled() ? "this build has no CUDA backend" : "no usable CUDA device";
  EXPECT_LNN_ERROR(lnn_workspace_create(model_.get(), 4, &o, &w), LNN_ERR_NO_DEVICE, phrase);
  EXPECT_EQ(w, nullptr);
}

TEST_F(CApiErrors, F32WorkspaceOfAnF64ModelOutsideFloatRange) {
  Model<double> big = load_model<double>(path_);
  big.parameters()[0] = 1e300;
  const std::string path = dir_.file("big.safetensors");
  save_model(big, path);
  lnn_model* m = nullptr;
  ASSERT_LNN_OK(lnn_model_load(path.c_str(), &m));
  ModelPtr model(m);
  lnn_workspace_options o;
  ASSERT_LNN_OK(lnn_workspace_options_default(&o));
  o.precision = LNN_PRECISION_F32;
  lnn_workspace* w = nullptr;
  EXPECT_LNN_ERROR(lnn_workspace_create(model.get(), 4, &o, &w), LNN_ERR_INVALID_ARGUMENT,
                   "outside the range of float");
  EXPECT_EQ(w, nullptr);
}

TEST_F(CApiErrors, WorkspaceQuery) {
  int64_t cap = 0;
  EXPECT_LNN_ERROR(lnn_workspace_get(nullptr, &cap, nullptr, nullptr), LNN_ERR_INVALID_ARGUMENT,
                   "lnn_workspace_get: workspace is NULL");
}

// Each evaluation: null workspace, null required arrays, B out of 1 … max_batch.
TEST_F(CApiErrors, Evaluations) {
  double* out = out_.data();
  const double* x = x_.data();
  lnn_workspace* ws = ws_.get();
  for (int64_t B : {int64_t{0}, int64_t{-1}, int64_t{5}, std::numeric_limits<int64_t>::max()}) {
    const std::string phrase = "batch size B = " + std::to_string(B) + " is outside 1 … 4";
    EXPECT_LNN_ERROR(lnn_accelerations(ws, B, x, nullptr, out, nullptr, nullptr),
                     LNN_ERR_INVALID_ARGUMENT, phrase);
    EXPECT_LNN_ERROR(lnn_lagrangian(ws, B, x, out), LNN_ERR_INVALID_ARGUMENT, phrase);
    EXPECT_LNN_ERROR(lnn_energy(ws, B, x, out), LNN_ERR_INVALID_ARGUMENT, phrase);
    EXPECT_LNN_ERROR(lnn_lagrangian_gradient(ws, B, x, nullptr, out), LNN_ERR_INVALID_ARGUMENT,
                     phrase);
    EXPECT_LNN_ERROR(lnn_hessian(ws, B, x, out), LNN_ERR_INVALID_ARGUMENT, phrase);
    EXPECT_LNN_ERROR(lnn_euler_lagrange_terms(ws, B, x, out, nullptr, nullptr),
                     LNN_ERR_INVALID_ARGUMENT, phrase);
  }
  EXPECT_LNN_ERROR(lnn_accelerations(nullptr, 1, x, nullptr, out, nullptr, nullptr),
                   LNN_ERR_INVALID_ARGUMENT, "lnn_accelerations: workspace is NULL");
  EXPECT_LNN_ERROR(lnn_accelerations(ws, 1, nullptr, nullptr, out, nullptr, nullptr),
                   LNN_ERR_INVALID_ARGUMENT, "states is NULL");
  EXPECT_LNN_ERROR(lnn_accelerations(ws, 1, x, nullptr, nullptr, nullptr, nullptr),
                   LNN_ERR_INVALID_ARGUMENT, "acc is NULL");
  EXPECT_LNN_ERROR(lnn_lagrangian(nullptr, 1, x, out), LNN_ERR_INVALID_ARGUMENT,
                   "lnn_lagrangian: workspace is NULL");
  EXPECT_LNN_ERROR(lnn_lagrangian(ws, 1, nullptr, out), LNN_ERR_INVALID_ARGUMENT, "states is NULL");
  EXPECT_LNN_ERROR(lnn_lagrangian(ws, 1, x, nullptr), LNN_ERR_INVALID_ARGUMENT, "L is NULL");
  EXPECT_LNN_ERROR(lnn_energy(nullptr, 1, x, out), LNN_ERR_INVALID_ARGUMENT,
                   "lnn_energy: workspace is NULL");
  EXPECT_LNN_ERROR(lnn_energy(ws, 1, nullptr, out), LNN_ERR_INVALID_ARGUMENT, "states is NULL");
  EXPECT_LNN_ERROR(lnn_energy(ws, 1, x, nullptr), LNN_ERR_INVALID_ARGUMENT, "E is NULL");
  EXPECT_LNN_ERROR(lnn_lagrangian_gradient(nullptr, 1, x, out, out), LNN_ERR_INVALID_ARGUMENT,
                   "lnn_lagrangian_gradient: workspace is NULL");
  EXPECT_LNN_ERROR(lnn_lagrangian_gradient(ws, 1, nullptr, out, out), LNN_ERR_INVALID_ARGUMENT,
                   "states is NULL");
  EXPECT_LNN_ERROR(lnn_lagrangian_gradient(ws, 1, x, out, nullptr), LNN_ERR_INVALID_ARGUMENT,
                   "grad is NULL");
  EXPECT_LNN_ERROR(lnn_hessian(nullptr, 1, x, out), LNN_ERR_INVALID_ARGUMENT,
                   "lnn_hessian: workspace is NULL");
  EXPECT_LNN_ERROR(lnn_hessian(ws, 1, nullptr, out), LNN_ERR_INVALID_ARGUMENT, "states is NULL");
  EXPECT_LNN_ERROR(lnn_hessian(ws, 1, x, nullptr), LNN_ERR_INVALID_ARGUMENT, "H is NULL");
  EXPECT_LNN_ERROR(lnn_euler_lagrange_terms(nullptr, 1, x, out, out, out), LNN_ERR_INVALID_ARGUMENT,
                   "lnn_euler_lagrange_terms: workspace is NULL");
  EXPECT_LNN_ERROR(lnn_euler_lagrange_terms(ws, 1, nullptr, out, out, out),
                   LNN_ERR_INVALID_ARGUMENT, "states is NULL");
  EXPECT_LNN_ERROR(lnn_euler_lagrange_terms(ws, 1, x, nullptr, nullptr, nullptr),
                   LNN_ERR_INVALID_ARGUMENT, "all NULL");
  // Nothing was written by any failed call.
  for (double v : out_) ASSERT_EQ(v, 0.0);
}

TEST_F(CApiErrors, IntegrateOptions) {
  EXPECT_LNN_ERROR(lnn_integrate_options_default(nullptr), LNN_ERR_INVALID_ARGUMENT,
                   "lnn_integrate_options_default: options is NULL");
  lnn_integrate_options o;
  ASSERT_LNN_OK(lnn_integrate_options_default(&o));
  const double times[2] = {0.1, 0.2};
  auto expect_refused = [&](const lnn_integrate_options& bad, const std::string& phrase) {
    EXPECT_LNN_ERROR(
        lnn_rollout(ws_.get(), &bad, 2, 0.0, x_.data(), 2, times, out_.data(), nullptr),
        LNN_ERR_INVALID_ARGUMENT, phrase);
    std::vector<double> y = x_;
    EXPECT_LNN_ERROR(lnn_step(ws_.get(), &bad, 2, 0.0, 0.1, y.data(), nullptr),
                     LNN_ERR_INVALID_ARGUMENT, phrase);
    EXPECT_EQ(y, x_) << "a refused step leaves the states";
  };
  lnn_integrate_options bad = o;
  bad.integrator = 5;
  expect_refused(bad, "options->integrator = 5 is unknown");
  bad = o;
  bad.integrator = LNN_INTEGRATOR_RK4;
  bad.dt = kNaN;
  expect_refused(bad, "options->dt must be finite and > 0");
  bad = o;
  bad.dt = 0;
  expect_refused(bad, "options->dt");
  bad = o;
  bad.rtol = -1e-6;
  expect_refused(bad, "options->rtol");
  bad = o;
  bad.atol = kInf;
  expect_refused(bad, "options->atol");
  bad = o;
  bad.h_max = kInf;
  expect_refused(bad, "options->h_max must be finite and >= 0");
  bad = o;
  bad.h0 = -1;
  expect_refused(bad, "options->h0");
  bad = o;
  bad.h_min = kNaN;
  expect_refused(bad, "options->h_min");
  bad = o;
  bad.max_steps = -1;
  expect_refused(bad, "options->max_steps");
  bad = o;
  bad.newton_tol = -1;
  expect_refused(bad, "options->newton_tol");
  bad = o;
  bad.newton_max_iterations = 0;
  expect_refused(bad, "options->newton_max_iterations must be >= 1");
}

TEST_F(CApiErrors, RolloutAndStepArguments) {
  const double times[3] = {0.1, 0.2, 0.3};
  lnn_workspace* ws = ws_.get();
  const double* x = x_.data();
  double* out = out_.data();
  EXPECT_LNN_ERROR(lnn_rollout(nullptr, nullptr, 2, 0.0, x, 3, times, out, nullptr),
                   LNN_ERR_INVALID_ARGUMENT, "lnn_rollout: workspace is NULL");
  EXPECT_LNN_ERROR(lnn_rollout(ws, nullptr, 2, 0.0, nullptr, 3, times, out, nullptr),
                   LNN_ERR_INVALID_ARGUMENT, "y0 is NULL");
  EXPECT_LNN_ERROR(lnn_rollout(ws, nullptr, 2, 0.0, x, 3, nullptr, out, nullptr),
                   LNN_ERR_INVALID_ARGUMENT, "times is NULL");
  EXPECT_LNN_ERROR(lnn_rollout(ws, nullptr, 2, 0.0, x, 3, times, nullptr, nullptr),
                   LNN_ERR_INVALID_ARGUMENT, "out is NULL");
  EXPECT_LNN_ERROR(lnn_rollout(ws, nullptr, 0, 0.0, x, 3, times, out, nullptr),
                   LNN_ERR_INVALID_ARGUMENT, "B = 0");
  EXPECT_LNN_ERROR(lnn_rollout(ws, nullptr, 5, 0.0, x, 3, times, out, nullptr),
                   LNN_ERR_INVALID_ARGUMENT, "B = 5");
  EXPECT_LNN_ERROR(lnn_rollout(ws, nullptr, 2, 0.0, x, 0, times, out, nullptr),
                   LNN_ERR_INVALID_ARGUMENT, "S = 0");
  EXPECT_LNN_ERROR(
      lnn_rollout(ws, nullptr, 2, 0.0, x, std::numeric_limits<int64_t>::max(), times, out, nullptr),
      LNN_ERR_INVALID_ARGUMENT, "output times");
  EXPECT_LNN_ERROR(lnn_rollout(ws, nullptr, 2, 0.25, x, 3, times, out, nullptr),
                   LNN_ERR_INVALID_ARGUMENT, "ascending and >= t0");
  EXPECT_LNN_ERROR(lnn_rollout(ws, nullptr, 2, kNaN, x, 3, times, out, nullptr),
                   LNN_ERR_INVALID_ARGUMENT, "t0 must be finite");
  const double descending[2] = {0.2, 0.1};
  EXPECT_LNN_ERROR(lnn_rollout(ws, nullptr, 2, 0.0, x, 2, descending, out, nullptr),
                   LNN_ERR_INVALID_ARGUMENT, "ascending");
  for (double v : out_) ASSERT_EQ(v, 0.0);

  std::vector<double> y = x_;
  EXPECT_LNN_ERROR(lnn_step(nullptr, nullptr, 2, 0.0, 0.1, y.data(), nullptr),
                   LNN_ERR_INVALID_ARGUMENT, "lnn_step: workspace is NULL");
  EXPECT_LNN_ERROR(lnn_step(ws, nullptr, 2, 0.0, 0.1, nullptr, nullptr), LNN_ERR_INVALID_ARGUMENT,
                   "states is NULL");
  EXPECT_LNN_ERROR(lnn_step(ws, nullptr, 9, 0.0, 0.1, y.data(), nullptr), LNN_ERR_INVALID_ARGUMENT,
                   "B = 9");
  EXPECT_LNN_ERROR(lnn_step(ws, nullptr, 2, 0.2, 0.1, y.data(), nullptr), LNN_ERR_INVALID_ARGUMENT,
                   "need finite t0 <= t1");
  EXPECT_LNN_ERROR(lnn_step(ws, nullptr, 2, 0.0, kInf, y.data(), nullptr), LNN_ERR_INVALID_ARGUMENT,
                   "need finite t0 <= t1");
  EXPECT_EQ(y, x_);
}

}  // namespace
}  // namespace lnn::test
