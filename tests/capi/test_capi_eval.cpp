// The C API's success paths: every function gives what the C++ API gives, to
// the bit (the same engine behind both; arrays converted only in f32).
#include <gtest/gtest.h>

#include <span>
#include <thread>

#include "capi/capi_test_util.hpp"
#include "common/test_util.hpp"
#include "lnn/engine.hpp"
#include "lnn/info.hpp"
#include "lnn/integrate.hpp"
#include "lnn/rollout.hpp"

namespace lnn::test {
namespace {

constexpr int kBatch = 11;     // awkward on purpose: not a multiple of any chunk or vector width
constexpr int kCapacity = 16;  // workspace max_batch > kBatch

class CApiEval : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = save_test_model<double>(dir_, "model.safetensors");
    lnn_model* m = nullptr;
    ASSERT_LNN_OK(lnn_model_load(path_.c_str(), &m));
    model_.reset(m);
    states_ = random_states<double>(kBatch, 2, 42);
    tau_.resize(kBatch * 2);
    for (std::size_t i = 0; i < tau_.size(); ++i) tau_[i] = 0.1 * static_cast<double>(i) - 0.5;
  }
  WorkspacePtr workspace(int solve = LNN_SOLVE_LU, int precision = LNN_PRECISION_MODEL,
                         int chunk = 0) {
    lnn_workspace_options o;
    EXPECT_EQ(lnn_workspace_options_default(&o), LNN_OK);
    o.solve = solve;
    o.precision = precision;
    if (chunk > 0) o.chunk = chunk;
    lnn_workspace* w = nullptr;
    EXPECT_EQ(lnn_workspace_create(model_.get(), kCapacity, &o, &w), LNN_OK) << lnn_last_error();
    return WorkspacePtr(w);
  }
  static EngineOptions lu() {
    EngineOptions o;
    o.solve.method = SolveMethod::lu;
    return o;
  }

  TempDir dir_{"eval"};
  std::string path_;
  ModelPtr model_;
  std::vector<double> states_, tau_;
};

TEST(CApiVersion, MatchesTheCppApi) {
  EXPECT_EQ(std::string(lnn_version()), lnn::version());
  int major = -1, minor = -1, patch = -1;
  lnn_version_numbers(&major, &minor, &patch);
  EXPECT_EQ(std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch),
            lnn::version());
  lnn_version_numbers(nullptr, nullptr, nullptr);  // allowed
  EXPECT_EQ(lnn_model_format_version(), lnn::model_format_version());
  EXPECT_EQ(lnn_model_format_version(), 1);
  EXPECT_EQ(lnn_cuda_compiled() == 1, lnn::cuda_compiled());
  EXPECT_STREQ(lnn_status_name(LNN_OK), "LNN_OK");
  EXPECT_STREQ(lnn_status_name(LNN_ERR_WRONG_DEVICE), "LNN_ERR_WRONG_DEVICE");
  EXPECT_STREQ(lnn_status_name(99), "unknown status");
}

TEST_F(CApiEval, ModelInfoIsTheFilesSpec) {
  const ModelFileInfo want = read_model_info(path_);
  lnn_model_info info;
  ASSERT_LNN_OK(lnn_model_get_info(model_.get(), &info));
  EXPECT_EQ(info.n, 2);
  EXPECT_EQ(info.depth, 2);
  EXPECT_EQ(info.input_width, want.spec.input_width());
  EXPECT_EQ(info.precision, LNN_PRECISION_F64);
  EXPECT_EQ(info.parameter_count, static_cast<int64_t>(want.spec.parameter_count()));
  EXPECT_STREQ(info.activation, "softplus");
  int widths[3] = {0, 0, -1};
  ASSERT_LNN_OK(lnn_model_hidden(model_.get(), widths, 3));
  EXPECT_EQ(widths[0], 16);
  EXPECT_EQ(widths[1], 12);
  EXPECT_EQ(widths[2], -1);  // untouched beyond K
  const char* name = nullptr;
  ASSERT_LNN_OK(lnn_model_embedding(model_.get(), 0, &name));
  EXPECT_STREQ(name, "angle");
  ASSERT_LNN_OK(lnn_model_embedding(model_.get(), 1, &name));
  EXPECT_STREQ(name, "plain");
  EXPECT_STREQ(lnn_last_error(), "");
}

TEST_F(CApiEval, EveryEvaluationIsEquivalentToTheEngine) {
  const Model<double> model = load_model<double>(path_);
  Engine<double> engine(model, lu());
  const std::size_t B = kBatch, n = 2, w = 4;
  std::vector<double> acc(B * n), L(B), E(B), grad(B * w), H(B * w * w), M(B * n * n), Cv(B * n),
      f(B * n);
  std::vector<SolveStatus> status(B);
  engine.accelerations(states_, tau_, acc, status);
  engine.gradient(states_, L, grad);
  engine.energy(states_, E);
  engine.hessian(states_, H);
  engine.euler_lagrange_terms(states_, M, Cv, f);

  WorkspacePtr ws = workspace();
  int64_t capacity = 0;
  int device = -1, precision = -1;
  ASSERT_LNN_OK(lnn_workspace_get(ws.get(), &capacity, &device, &precision));
  EXPECT_EQ(capacity, kCapacity);
  EXPECT_EQ(device, LNN_DEVICE_CPU);
  EXPECT_EQ(precision, LNN_PRECISION_F64);

  std::vector<double> c_acc(B * n), c_L(B), c_L2(B), c_E(B), c_grad(B * w), c_H(B * w * w),
      c_M(B * n * n), c_Cv(B * n), c_f(B * n);
  std::vector<int> c_status(B, -1);
  int64_t failures = -1;
  ASSERT_LNN_OK(lnn_accelerations(ws.get(), kBatch, states_.data(), tau_.data(), c_acc.data(),
                                  c_status.data(), &failures));
  ASSERT_LNN_OK(lnn_lagrangian(ws.get(), kBatch, states_.data(), c_L.data()));
  ASSERT_LNN_OK(
      lnn_lagrangian_gradient(ws.get(), kBatch, states_.data(), c_L2.data(), c_grad.data()));
  ASSERT_LNN_OK(lnn_energy(ws.get(), kBatch, states_.data(), c_E.data()));
  ASSERT_LNN_OK(lnn_hessian(ws.get(), kBatch, states_.data(), c_H.data()));
  ASSERT_LNN_OK(lnn_euler_lagrange_terms(ws.get(), kBatch, states_.data(), c_M.data(), c_Cv.data(),
                                         c_f.data()));
  EXPECT_STREQ(lnn_last_error(), "");
  expect_identical(c_acc, acc, "acc");
  EXPECT_EQ(failures, 0);
  for (std::size_t s = 0; s < B; ++s) EXPECT_EQ(c_status[s], static_cast<int>(status[s]));
  expect_identical(c_L, L, "L");
  expect_identical(c_L2, L, "L (gradient)");
  expect_identical(c_grad, grad, "grad");
  expect_identical(c_E, E, "E");
  expect_identical(c_H, H, "H");
  expect_identical(c_M, M, "M");
  expect_identical(c_Cv, Cv, "Cv");
  expect_identical(c_f, f, "f");

  // Optional outputs may be NULL; tau NULL means no force.
  std::vector<double> c_acc0(B * n), acc0(B * n), c_grad2(B * w), c_Cv2(B * n);
  engine.accelerations(states_, {}, acc0);
  ASSERT_LNN_OK(lnn_accelerations(ws.get(), kBatch, states_.data(), nullptr, c_acc0.data(), nullptr,
                                  nullptr));
  expect_identical(c_acc0, acc0, "acc (no tau)");
  ASSERT_LNN_OK(lnn_lagrangian_gradient(ws.get(), kBatch, states_.data(), nullptr, c_grad2.data()));
  expect_identical(c_grad2, grad, "grad (no L)");
  ASSERT_LNN_OK(
      lnn_euler_lagrange_terms(ws.get(), kBatch, states_.data(), nullptr, c_Cv2.data(), nullptr));
  expect_identical(c_Cv2, Cv, "Cv alone");
}

TEST_F(CApiEval, SmallerBatchesAndChunksGiveTheSameRows) {
  WorkspacePtr ws = workspace(), chunked = workspace(LNN_SOLVE_LU, LNN_PRECISION_MODEL, 3);
  std::vector<double> all(kBatch * 2), first(5 * 2), by_chunks(kBatch * 2);
  ASSERT_LNN_OK(
      lnn_accelerations(ws.get(), kBatch, states_.data(), nullptr, all.data(), nullptr, nullptr));
  ASSERT_LNN_OK(
      lnn_accelerations(ws.get(), 5, states_.data(), nullptr, first.data(), nullptr, nullptr));
  ASSERT_LNN_OK(lnn_accelerations(chunked.get(), kBatch, states_.data(), nullptr, by_chunks.data(),
                                  nullptr, nullptr));
  expect_identical(first, std::vector<double>(all.begin(), all.begin() + 10), "first 5 rows");
  expect_identical(by_chunks, all, "chunk = 3");
}

TEST_F(CApiEval, Float32WorkspaceIsEquivalentToEngineFloat) {
  const Model<float> model = load_model<float>(path_);
  Engine<float> engine(model, lu());
  std::vector<float> xs(states_.begin(), states_.end()), acc(kBatch * 2), E(kBatch);
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>(states_[i]);
  engine.accelerations(xs, {}, acc);
  engine.energy(xs, E);

  WorkspacePtr ws = workspace(LNN_SOLVE_LU, LNN_PRECISION_F32);
  int precision = -1;
  ASSERT_LNN_OK(lnn_workspace_get(ws.get(), nullptr, nullptr, &precision));
  EXPECT_EQ(precision, LNN_PRECISION_F32);
  std::vector<double> c_acc(kBatch * 2), c_E(kBatch);
  ASSERT_LNN_OK(
      lnn_accelerations(ws.get(), kBatch, states_.data(), nullptr, c_acc.data(), nullptr, nullptr));
  ASSERT_LNN_OK(lnn_energy(ws.get(), kBatch, states_.data(), c_E.data()));
  expect_identical(c_acc, std::vector<double>(acc.begin(), acc.end()), "acc f32");
  expect_identical(c_E, std::vector<double>(E.begin(), E.end()), "E f32");
}

TEST_F(CApiEval, Float32FileEvaluatesInF32OrF64) {
  const std::string path32 = save_test_model<float>(dir_, "model32.safetensors");
  lnn_model* raw = nullptr;
  ASSERT_LNN_OK(lnn_model_load(path32.c_str(), &raw));
  ModelPtr m32(raw);
  lnn_model_info info;
  ASSERT_LNN_OK(lnn_model_get_info(m32.get(), &info));
  EXPECT_EQ(info.precision, LNN_PRECISION_F32);
  lnn_workspace* w = nullptr;
  ASSERT_LNN_OK(lnn_workspace_create(m32.get(), 4, nullptr, &w));
  WorkspacePtr ws(w);
  int precision = -1;
  ASSERT_LNN_OK(lnn_workspace_get(ws.get(), nullptr, nullptr, &precision));
  EXPECT_EQ(precision, LNN_PRECISION_F32);

  // In f64: the float parameters widened, as load_model<double> does.
  lnn_workspace_options o;
  ASSERT_LNN_OK(lnn_workspace_options_default(&o));
  o.precision = LNN_PRECISION_F64;
  ASSERT_LNN_OK(lnn_workspace_create(m32.get(), 4, &o, &w));
  WorkspacePtr ws64(w);
  const Model<double> widened = load_model<double>(path32);
  Engine<double> engine(widened);
  std::vector<double> L(4), c_L(4);
  engine.lagrangian(std::span<const double>(states_.data(), 16), L);
  ASSERT_LNN_OK(lnn_lagrangian(ws64.get(), 4, states_.data(), c_L.data()));
  expect_identical(c_L, L, "L of an f32 file in f64");
}

// The reference rollout: lnn::integrate over the engine, as src/train/evaluate.cpp builds it.
std::vector<double> engine_rollout(Engine<double>& engine, const std::vector<double>& y0,
                                   const std::vector<double>& times, const IntegrateOptions& o,
                                   std::vector<TrajectoryReport>* reports) {
  const std::size_t B = y0.size() / 4;
  std::vector<double> acc(B * 2), out(B * times.size() * 4);
  const BatchRhs<double> rhs = [&](std::span<const std::size_t> rows, std::span<const double>,
                                   std::span<const double> y, std::span<double> dydt) {
    const std::size_t R = rows.size();
    engine.accelerations(y, {}, std::span<double>(acc.data(), R * 2));
    for (std::size_t r = 0; r < R; ++r) {
      for (std::size_t k = 0; k < 2; ++k) {
        dydt[r * 4 + k] = y[r * 4 + 2 + k];
        dydt[r * 4 + 2 + k] = acc[r * 2 + k];
      }
    }
  };
  *reports = o.method == Integrator::variational
                 ? rollout(*learned_dynamics(engine.model(), engine.options()), 0.0, y0, times, out, o)
                 : integrate<double>(rhs, 4, 0.0, y0, times, out, o);
  return out;
}

TEST_F(CApiEval, RolloutAndStepAreEquivalentToIntegrate) {
  const Model<double> model = load_model<double>(path_);
  Engine<double> engine(model, lu());
  WorkspacePtr ws = workspace();
  const std::vector<double> times = {0.05, 0.1, 0.1, 0.25};
  for (int integrator : {LNN_INTEGRATOR_RK4, LNN_INTEGRATOR_DOPRI5, LNN_INTEGRATOR_VARIATIONAL}) {
    SCOPED_TRACE(integrator);
    lnn_integrate_options co;
    ASSERT_LNN_OK(lnn_integrate_options_default(&co));
    co.integrator = integrator;
    co.dt = 0.01;
    co.rtol = co.atol = 1e-9;
    IntegrateOptions o;
    o.method = integrator == LNN_INTEGRATOR_RK4      ? Integrator::rk4
               : integrator == LNN_INTEGRATOR_DOPRI5 ? Integrator::dopri5
                                                     : Integrator::variational;
    o.dt = 0.01;
    o.rtol = o.atol = 1e-9;
    std::vector<TrajectoryReport> reports;
    const std::vector<double> want = engine_rollout(engine, states_, times, o, &reports);

    std::vector<double> out(want.size());
    std::vector<int> status(kBatch, -1);
    ASSERT_LNN_OK(lnn_rollout(ws.get(), &co, kBatch, 0.0, states_.data(), 4, times.data(),
                              out.data(), status.data()));
    expect_identical(out, want, "rollout");
    for (int b = 0; b < kBatch; ++b) EXPECT_EQ(status[b], static_cast<int>(reports[b].status));

    // One step to the last time, in place.
    std::vector<TrajectoryReport> step_reports;
    const std::vector<double> step_want = engine_rollout(engine, states_, {0.25}, o, &step_reports);
    std::vector<double> y = states_;
    ASSERT_LNN_OK(lnn_step(ws.get(), &co, kBatch, 0.0, 0.25, y.data(), status.data()));
    expect_identical(y, step_want, "step");
    int ok = 0;
    for (int b = 0; b < kBatch; ++b) {
      EXPECT_EQ(status[b], static_cast<int>(step_reports[b].status));
      ok += status[b] == LNN_TRAJECTORY_OK;
    }
    EXPECT_GE(ok, 3) << "too few trajectories of this random model integrate to test anything";
  }
}

TEST_F(CApiEval, FailedSolvesAreReportedPerState) {
  // All parameters zero: L ≡ 0, M = 0, every solve fails and every rollout stops.
  ModelSpec spec;
  spec.n = 2;
  spec.hidden = {4};
  const std::string path = dir_.file("zero.safetensors");
  save_model(Model<double>(spec), path);
  lnn_model* raw = nullptr;
  ASSERT_LNN_OK(lnn_model_load(path.c_str(), &raw));
  ModelPtr zero(raw);
  lnn_workspace* w = nullptr;
  ASSERT_LNN_OK(lnn_workspace_create(zero.get(), 3, nullptr, &w));  // LU, the default
  WorkspacePtr ws(w);
  std::vector<double> acc(6, 0.0);
  std::vector<int> status(3, -1);
  int64_t failures = -1;
  ASSERT_LNN_OK(lnn_accelerations(ws.get(), 3, states_.data(), nullptr, acc.data(), status.data(),
                                  &failures));
  EXPECT_EQ(failures, 3);
  for (int s = 0; s < 3; ++s) EXPECT_EQ(status[s], LNN_SOLVE_STATUS_SINGULAR);
  for (double a : acc) EXPECT_TRUE(std::isnan(a));
  std::vector<double> y(states_.begin(), states_.begin() + 12);
  ASSERT_LNN_OK(lnn_step(ws.get(), nullptr, 3, 0.0, 0.1, y.data(), status.data()));
  for (int s = 0; s < 3; ++s) EXPECT_EQ(status[s], LNN_TRAJECTORY_NON_FINITE);
  for (double v : y) EXPECT_TRUE(std::isnan(v));
}

TEST_F(CApiEval, OneWorkspacePerThreadOnASharedModel) {
  std::vector<double> want(kBatch * 2);
  constexpr int kThreads = 4;
  std::vector<std::vector<double>> got(kThreads, std::vector<double>(kBatch * 2));
  std::vector<lnn_status> result(kThreads, LNN_ERR_INTERNAL);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      lnn_workspace* own = nullptr;
      result[i] = lnn_workspace_create(model_.get(), kCapacity, nullptr, &own);
      if (result[i] != LNN_OK) return;
      for (int r = 0; r < 5 && result[i] == LNN_OK; ++r) {
        result[i] = lnn_accelerations(own, kBatch, states_.data(), nullptr, got[i].data(), nullptr,
                                      nullptr);
      }
      lnn_workspace_free(own);
    });
  }
  for (auto& t : threads) t.join();
  // The threads' workspaces use LU (the default); compare with one.
  WorkspacePtr lu = workspace(LNN_SOLVE_LU);
  ASSERT_LNN_OK(lnn_accelerations(lu.get(), kBatch, states_.data(), nullptr, want.data(), nullptr,
                                  nullptr));
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(result[i], LNN_OK);
    expect_identical(got[i], want, "thread result");
  }
}

}  // namespace
}  // namespace lnn::test
