// The engine's work over a backend whose memory is not the caller's: a CPU
// emulation of the CUDA backend's data movement. Every input is copied in,
// every output is written to a buffer poisoned with NaN (or a bogus status)
// and reaches the caller only through fetch(), the parameters are a copy,
// and every GEMM goes through the row-major → column-major mapping that the
// CUDA backend hands to cuBLAS (src/cuda/gemm_layout.hpp), here given to
// CBLAS's column-major interface. A missing upload, fetch or wrong GEMM
// argument shows as a difference from the CPU engine, without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "common/batched_equivalence.hpp"
#include "common/equivalence.hpp"
#include "common/fresh_reference.hpp"
#include "common/test_util.hpp"
#include "core/reduce_order.hpp"
#include "cpu/cpu_backend.hpp"
#include "cuda/gemm_layout.hpp"
#include "engine/cost_model.hpp"
#include "engine/engine_impl.hpp"
#include "lnn/generate.hpp"
#include "lnn/optimizer.hpp"
#include "lnn/systems.hpp"
#include "systems/fresh_batch.hpp"
#include "train/batch_staging.hpp"
#include "train/parameter_store.hpp"

namespace lnn {
namespace {

template <class T>
struct StagingBackend : cpu::CpuBackend<T> {
  template <class U>
  using Buffer = std::vector<U>;
  // As the CUDA backend: the adjoint's Ū formed in the tangent adjoint, not
  // stored (the CPU engine it is compared with stores it).
  static constexpr bool kUbarInRegisters = true;
  // As the CUDA backend: σ′, σ″, σ‴ formed again from a, not stored.
  static constexpr bool kRecomputeDerivs = true;

  void gemm(bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* A, int lda,
            const T* B, int ldb, T beta, T* C, int ldc) const {
    if (m == 0 || n == 0) return;
    const cuda::ColMajorGemm g = cuda::as_col_major(trans_a, trans_b, m, n, k, lda, ldb, ldc);
    const CBLAS_TRANSPOSE t1 = g.trans_first ? CblasTrans : CblasNoTrans;
    const CBLAS_TRANSPOSE t2 = g.trans_second ? CblasTrans : CblasNoTrans;
    if constexpr (sizeof(T) == 4) {
      cblas_sgemm(CblasColMajor, t1, t2, g.m, g.n, g.k, alpha, B, g.ld_first, A, g.ld_second, beta,
                  C, g.ldc);
    } else {
      cblas_dgemm(CblasColMajor, t1, t2, g.m, g.n, g.k, alpha, B, g.ld_first, A, g.ld_second, beta,
                  C, g.ldc);
    }
    ++*gemms;
  }

  template <class U>
  static void poison(U* p, std::size_t count) {
    if constexpr (std::is_floating_point_v<U>) {
      std::fill(p, p + count, std::numeric_limits<U>::quiet_NaN());
    } else {
      std::memset(static_cast<void*>(p), 0xA5, count * sizeof(U));
    }
  }
  template <class U>
  const U* stage_in(const U* p, std::size_t count, Buffer<U>& buf) const {
    if (p == nullptr) return nullptr;
    buf.assign(p, p + count);
    ++*copies;
    return buf.data();
  }
  template <class U>
  U* stage_out(U* p, std::size_t count, Buffer<U>& buf) const {
    if (p == nullptr) return nullptr;
    buf.resize(count);
    poison(buf.data(), count);
    return buf.data();
  }
  template <class U>
  void fetch(U* dst, const U* src, std::size_t count) const {
    EXPECT_NE(dst, src) << "fetch from the caller's own memory";
    std::copy(src, src + count, dst);
    ++*copies;
  }
  const T* parameters(std::span<const T> params, Buffer<T>& buf) const {
    return stage_in(params.data(), params.size(), buf);
  }

  // The mapping primitives as the CUDA kernels run them (kernels/): elements
  // in reverse order (a body that depends on the order shows), row sums and
  // column sums in exactly the GPU's order (core/reduce_order.hpp).
  template <class F>
  void for_each_element(std::int64_t rows, int m, F f) const {
    for (std::int64_t e = rows * m - 1; e >= 0; --e) f(e / m, static_cast<int>(e % m));
    if (rows > 0 && m > 0) ++*element_maps;
  }
  template <class Row, class G>
  void reduce_rows(std::int64_t rows, int m, Row row, G g) const {
    for (std::int64_t r = 0; r < rows; ++r) {
      const auto term = row(r);
      using V = decltype(term(0));
      V lane[core::kWarp];
      for (int l = 0; l < core::kWarp; ++l) {
        lane[l] = V(0);
        for (int i = l; i < m; i += core::kWarp) lane[l] += term(i);
      }
      for (int o = core::kWarp / 2; o > 0; o /= 2)
        for (int l = 0; l < o; ++l) lane[l] += lane[l + o];
      g(r, lane[0]);
    }
    if (rows > 0) ++*row_reductions;
  }
  // The fused Hessian blocks in the kernel's order (a warp per sample,
  // kernels/hessian_blocks.cu), samples in reverse order.
  template <int K>
  void hessian_blocks(const core::HessianBlocksArgs<T>& a) const {
    for (std::int64_t s = a.b - 1; s >= 0; --s) core::hessian_block_sample<K>(a, s, core::kWarp);
    ++*fused_passes;
  }
  // Per-sample loops and the gradient's scaling as the CPU runs them, counted
  // as the CUDA backend would launch them (nothing for an empty range).
  template <class F>
  void for_each(int count, F f) const {
    if (count > 0) ++*per_sample;
    cpu::CpuBackend<T>::for_each(count, f);
  }
  void scale(T* dst, std::size_t count, T factor) const {
    if (count > 0) ++*per_sample;
    cpu::CpuBackend<T>::scale(dst, count, factor);
  }
  template <class U, class V>
  void sum_rows(int rows, int cols, const U* X, std::size_t ld, V* out) const {
    if (rows > 0 && cols > 0) ++*column_sums;
    const std::int64_t chunks = core::column_chunks(rows);
    for (int j = 0; j < cols; ++j) {
      V total = V(0);
      for (std::int64_t c = 0; c < chunks; ++c) {
        const std::int64_t r0 = c * core::kColumnChunk;
        const std::int64_t r1 = std::min<std::int64_t>(r0 + core::kColumnChunk, rows);
        V chunk = V(0);
        for (int y = 0; y < core::kColumnLanes; ++y) {
          V lane = V(0);
          for (std::int64_t r = r0 + y; r < r1; r += core::kColumnLanes)
            lane += static_cast<V>(X[static_cast<std::size_t>(r) * ld + j]);
          chunk = y == 0 ? lane : chunk + lane;
        }
        total += chunk;
      }
      out[j] += total;
    }
  }

  // The batched solve as the CUDA backend calls it (cuSOLVER potrfBatched /
  // potrsBatched with the upper triangle, cuBLAS getrfBatched /
  // getrsBatched): column-major matrices, LAPACK's 1-based pivots and info,
  // Cholesky WITHOUT pivoting that stops at the first pivot <= 0 or NaN
  // (leaving the columns before it factored, as LAPACK's potf2 does), LU with
  // partial pivoting that goes on past a zero pivot. Samples in reverse order.
  static constexpr bool kBatchedSolve = true;
  int batched_min = core::kFixedSolveMax + 1;
  int batched_solve_min() const { return batched_min; }
  void batched_factor(SolveMethod m, int n, int count, T* const* A, int* piv, int* info) const {
    if (count > 0) ++*batched_calls;
    for (int s = count - 1; s >= 0; --s)
      info[s] = m == SolveMethod::lu ? getrf(n, A[s], piv + static_cast<std::size_t>(s) * n)
                                     : potrf_upper(n, A[s]);
  }
  void batched_solve(SolveMethod m, int n, int count, T* const* A, const int* piv,
                     T* const* B) const {
    if (count > 0) ++*batched_calls;
    for (int s = count - 1; s >= 0; --s) {
      if (m == SolveMethod::lu) {
        getrs(n, A[s], piv + static_cast<std::size_t>(s) * n, B[s]);
      } else {
        potrs_upper(n, A[s], B[s]);
      }
    }
  }
  // A = UᵀU, U(i, j) = a[i + j·n] for i <= j; returns j + 1 where step j failed.
  static int potrf_upper(int n, T* a) {
    for (int j = 0; j < n; ++j) {
      T d = a[j + j * n];
      for (int k = 0; k < j; ++k) d -= a[k + j * n] * a[k + j * n];
      if (!(d > T(0))) {
        a[j + j * n] = d;
        return j + 1;
      }
      const T u = std::sqrt(d);
      a[j + j * n] = u;
      for (int c = j + 1; c < n; ++c) {
        T v = a[j + c * n];
        for (int k = 0; k < j; ++k) v -= a[k + j * n] * a[k + c * n];
        a[j + c * n] = v / u;
      }
    }
    return 0;
  }
  static void potrs_upper(int n, const T* a, T* b) {
    for (int i = 0; i < n; ++i) {  // Uᵀ y = b
      T v = b[i];
      for (int k = 0; k < i; ++k) v -= a[k + i * n] * b[k];
      b[i] = v / a[i + i * n];
    }
    for (int i = n - 1; i >= 0; --i) {  // U x = y
      T v = b[i];
      for (int k = i + 1; k < n; ++k) v -= a[i + k * n] * b[k];
      b[i] = v / a[i + i * n];
    }
  }
  // P A = L U, column-major; returns j + 1 for the first exactly zero pivot.
  static int getrf(int n, T* a, int* piv) {
    int info = 0;
    for (int j = 0; j < n; ++j) {
      int p = j;
      for (int i = j + 1; i < n; ++i)
        if (std::fabs(a[i + j * n]) > std::fabs(a[p + j * n])) p = i;
      piv[j] = p + 1;
      if (a[p + j * n] != T(0)) {
        if (p != j)
          for (int c = 0; c < n; ++c) std::swap(a[j + c * n], a[p + c * n]);
        for (int i = j + 1; i < n; ++i) a[i + j * n] /= a[j + j * n];
      } else if (info == 0) {
        info = j + 1;
      }
      for (int c = j + 1; c < n; ++c)
        for (int i = j + 1; i < n; ++i) a[i + c * n] -= a[i + j * n] * a[j + c * n];
    }
    return info;
  }
  static void getrs(int n, const T* a, const int* piv, T* b) {
    for (int j = 0; j < n; ++j) std::swap(b[j], b[piv[j] - 1]);
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < i; ++k) b[i] -= a[i + k * n] * b[k];
    for (int i = n - 1; i >= 0; --i) {
      T v = b[i];
      for (int k = i + 1; k < n; ++k) v -= a[i + k * n] * b[k];
      b[i] = v / a[i + i * n];
    }
  }

  std::shared_ptr<long> batched_calls = std::make_shared<long>(0);
  std::shared_ptr<long> gemms = std::make_shared<long>(0);
  std::shared_ptr<long> copies = std::make_shared<long>(0);
  std::shared_ptr<long> element_maps = std::make_shared<long>(0);
  std::shared_ptr<long> row_reductions = std::make_shared<long>(0);
  std::shared_ptr<long> fused_passes = std::make_shared<long>(0);
  std::shared_ptr<long> per_sample = std::make_shared<long>(0);
  std::shared_ptr<long> column_sums = std::make_shared<long>(0);
};

template <class T>
class EngineStaging : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(EngineStaging, Precisions);

TYPED_TEST(EngineStaging, EveryOperationEqualsTheCpuEngine) {
  using T = TypeParam;
  struct Case {
    int n;
    std::vector<int> hidden;
    int B;
    int chunk;
    bool angle;
  };
  const Case cases[] = {
      {2, {1}, 1, 1024, false},      {2, {33, 33}, 11, 1024, true},
      {2, {33, 33}, 257, 64, false}, {3, {16, 16, 16}, 37, 1024, true},
      {2, {600}, 11, 1024, false},   {2, {40, 40}, 600, 1024, true},  // 3 column-sum chunks
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("n " + std::to_string(c.n) + ", widths " + std::to_string(c.hidden.front()) +
                 " × " + std::to_string(c.hidden.size()) + ", B " + std::to_string(c.B) +
                 ", chunk " + std::to_string(c.chunk));
    const Model<T> model =
        test::equivalence_model<T>(c.n, c.hidden, 17, Activation::softplus, c.angle);
    EngineOptions opt;
    opt.chunk = c.chunk;
    // LU: a fresh network's M is often indefinite, and Cholesky would leave
    // the loss without solved samples. Cholesky and pinv are below.
    opt.solve.method = SolveMethod::lu;
    Engine<T> ref(model, opt);
    StagingBackend<T> be;
    engine::EngineOn<T, StagingBackend<T>> staged(model, opt, be);
    test::expect_equivalent(ref, staged, c.n, c.B, 99);
    EXPECT_GT(*be.gemms, 0);
    EXPECT_GT(*be.copies, 0);
    EXPECT_GT(*be.element_maps, 0);
    EXPECT_GT(*be.row_reductions, 0);
    EXPECT_GT(*be.fused_passes, 0);
  }
}

TYPED_TEST(EngineStaging, SolveMethodsAndFailuresEqualTheCpuEngine) {
  using T = TypeParam;
  const int n = 3;
  const Model<T> model = test::equivalence_model<T>(n, {32, 32}, 21, Activation::tanh);
  for (const SolveMethod m : {SolveMethod::cholesky, SolveMethod::pinv, SolveMethod::damped}) {
    SCOPED_TRACE(std::string(to_string(m)));
    EngineOptions opt;
    opt.solve.method = m;
    opt.solve.damping = 1e-3;
    Engine<T> ref(model, opt);
    engine::EngineOn<T, StagingBackend<T>> staged(model, opt);
    test::expect_equivalent(ref, staged, n, 41, 4);
  }
}

// Above the per-sample limit (and, with the threshold lowered, at n = 6)
// the batched path gives the CPU engine's results for every batched method,
// with samples that fail as not positive definite and as singular (a large
// rcond makes the ill-conditioned ones singular).
TYPED_TEST(EngineStaging, BatchedSolveEqualsTheCpuEngine) {
  using T = TypeParam;
  for (const int n : {6, 9, 16}) {
    const std::array<Model<T>, 3> models = test::batched_solve_models<T>(n);
    std::array<int, 3> total{};
    for (std::size_t mi = 0; mi < std::size(models); ++mi) {
    const Model<T>& model = models[mi];
    for (const SolveMethod m : {SolveMethod::cholesky, SolveMethod::damped, SolveMethod::lu}) {
      for (const double rcond : {0.0, 0.1}) {
        SCOPED_TRACE("n " + std::to_string(n) + ", model " + std::to_string(mi) + ", " +
                     std::string(to_string(m)) + ", rcond " + std::to_string(rcond));
        EngineOptions opt;
        opt.solve.method = m;
        opt.solve.damping = 1e-2;
        opt.solve.rcond = rcond;
        opt.chunk = 40;  // chunks of 40 and a last one of 24 (padding)
        Engine<T> ref(model, opt);
        StagingBackend<T> be;
        be.batched_min = n <= core::kFixedSolveMax ? n : be.batched_min;
        engine::EngineOn<T, StagingBackend<T>> staged(model, opt, be);
        const std::array<int, 3> c = test::expect_batched_like_cpu(ref, staged, opt.solve, n, 104, 5);
        for (std::size_t i = 0; i < 3; ++i) total[i] += c[i];
        EXPECT_GT(*be.batched_calls, 0) << "the batched path was not taken";
        if (m == SolveMethod::lu && rcond == 0.0) test::expect_equivalent(ref, staged, n, 57, 8);
      }
    }
    }
    SCOPED_TRACE("n " + std::to_string(n));
    EXPECT_GT(total[0], 0) << "no solved sample";
    EXPECT_GT(total[1], 0) << "no sample not positive definite";
    EXPECT_GT(total[2], 0) << "no singular sample";
  }
}

// The batched phases (core::batched_prepare, the emulated library factor,
// core::batched_classify, the library solve, core::batched_finish) against
// core::factor_solve on chosen 10×10 matrices (docs/math.md §5): a definite
// M of either sign is solved alike, an indefinite or non-finite one fails
// alike, a rank-deficient one fails in both (as singular or not positive
// definite, by rounding), LU's pivots are the same.
TYPED_TEST(EngineStaging, BatchedPhasesClassifyAsThePerSampleFactor) {
  using T = TypeParam;
  const int n = 10;
  const std::size_t N = static_cast<std::size_t>(n);
  struct Result {
    core::FactorInfo<T> info;
    std::vector<T> x;
  };
  const auto batched = [&](const std::vector<T>& A, const SolveOptions& opt,
                           const std::vector<T>& b) {
    std::vector<T> work(static_cast<std::size_t>(core::solve_workspace(n)), T(7));
    std::vector<int> iw(N, 7);
    Result r{{}, b};
    int info = -1;
    core::batched_prepare(A.data(), n, opt, work.data(), iw.data());
    T* a = work.data();
    T* x = r.x.data();
    const StagingBackend<T> be;
    be.batched_factor(opt.method, n, 1, &a, iw.data(), &info);
    r.info = core::batched_classify(A.data(), n, opt, info, work.data(), iw.data());
    be.batched_solve(opt.method, n, 1, &a, iw.data(), &x);
    if (core::usable(r.info, opt)) core::batched_finish(n, opt, work.data(), r.x.data());
    return r;
  };
  const auto per_sample = [&](const std::vector<T>& A, const SolveOptions& opt,
                              const std::vector<T>& b) {
    std::vector<T> work(static_cast<std::size_t>(core::solve_workspace(n)));
    std::vector<int> iw(N);
    Result r{{}, b};
    r.info = core::factor_solve(A.data(), n, opt, work.data(), iw.data(), r.x.data());
    return r;
  };
  const std::vector<T> C = test::uniform<T>(N * N, -1.0, 1.0, 3);
  const std::vector<T> rhs = test::uniform<T>(N, -1.0, 1.0, 4);
  // C Cᵀ over the first `rank` columns of C, + shift·I, times sign.
  const auto gram = [&](int rank, double shift, double sign) {
    std::vector<T> A(N * N);
    for (std::size_t i = 0; i < N; ++i)
      for (std::size_t j = 0; j < N; ++j) {
        double v = i == j ? shift : 0.0;
        for (std::size_t c = 0; c < static_cast<std::size_t>(rank); ++c)
          v += double(C[i * N + c]) * double(C[j * N + c]);
        A[i * N + j] = static_cast<T>(sign * v);
      }
    return A;
  };
  std::vector<T> indefinite = gram(n, 1.0, 1.0);
  indefinite[N * N - 1] = T(-50);
  std::vector<T> nan = gram(n, 1.0, 1.0);
  nan[3 * N + 4] = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> zero_row = gram(n, 1.0, 1.0);
  for (std::size_t j = 0; j < N; ++j) zero_row[4 * N + j] = zero_row[j * N + 4] = T(0);
  const double tol = 1e3 * double(core::epsilon<T>());
  for (const SolveMethod m : {SolveMethod::cholesky, SolveMethod::damped, SolveMethod::lu}) {
    SolveOptions opt;
    opt.method = m;
    opt.damping = 1e-3;
    SCOPED_TRACE(std::string(to_string(m)));
    for (const double sign : {1.0, -1.0}) {  // definite of either sign: solved alike
      const std::vector<T> A = gram(n, 1.0, sign);
      const Result r1 = per_sample(A, opt, rhs), r2 = batched(A, opt, rhs);
      EXPECT_EQ(r2.info.status, SolveStatus::ok);
      EXPECT_EQ(r1.info.status, SolveStatus::ok);
      for (std::size_t i = 0; i < N; ++i)
        EXPECT_NEAR(double(r2.x[i]), double(r1.x[i]), tol * (1 + std::fabs(double(r1.x[i]))));
      if (m == SolveMethod::lu) {
        EXPECT_NEAR(double(r2.info.min_pivot), double(r1.info.min_pivot),
                    tol * double(r1.info.min_pivot));
      } else {  // both positive; other pivots (another order)
        EXPECT_GT(r2.info.min_pivot, T(0));
      }
    }
    {
      const Result r1 = per_sample(nan, opt, rhs), r2 = batched(nan, opt, rhs);
      EXPECT_EQ(r2.info.status, SolveStatus::not_positive_definite);
      EXPECT_EQ(r1.info.status, SolveStatus::not_positive_definite);
      EXPECT_TRUE(std::isnan(r2.info.min_pivot));
    }
    if (m != SolveMethod::lu) {
      const Result r1 = per_sample(indefinite, opt, rhs), r2 = batched(indefinite, opt, rhs);
      EXPECT_EQ(r2.info.status, SolveStatus::not_positive_definite);
      EXPECT_EQ(r1.info.status, SolveStatus::not_positive_definite);
      EXPECT_FALSE(r2.info.min_pivot > T(0));
    }
    if (m != SolveMethod::damped) {  // rank n − 2: fails in both
      const Result r1 = per_sample(gram(n - 2, 0.0, 1.0), opt, rhs),
                   r2 = batched(gram(n - 2, 0.0, 1.0), opt, rhs);
      EXPECT_NE(r2.info.status, SolveStatus::ok);
      EXPECT_NE(r1.info.status, SolveStatus::ok);
    }
    {  // an exactly zero row and column: a zero pivot in both
      const Result r1 = per_sample(zero_row, opt, rhs), r2 = batched(zero_row, opt, rhs);
      if (m == SolveMethod::damped) {
        EXPECT_EQ(r2.info.status, SolveStatus::ok);  // the pivot is the damping
      } else {
        EXPECT_EQ(r2.info.status,
                  m == SolveMethod::lu ? SolveStatus::singular : SolveStatus::not_positive_definite);
      }
      EXPECT_EQ(r2.info.status, r1.info.status);
    }
  }
}

// The training store over a backend with memory of its own equals the host
// Adam: the same parameters, moments and step count after steps with coupled
// or decoupled weight decay, clipping and a schedule, with the Adam step
// planned on the backend and its outcome read a step later; a non-finite
// gradient or loss changes nothing and is reported as skipped.
TYPED_TEST(EngineStaging, ParameterStoreStepsEqualTheHostAdam) {
  using T = TypeParam;
  const Model<T> start = test::equivalence_model<T>(2, {16, 16}, 4);
  const std::size_t P = start.parameters().size();
  for (const int variant : {0, 1, 2, 3}) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    OptimizerOptions o;
    o.lr = 1e-2;
    if (variant == 1) o.weight_decay = 1e-2;
    if (variant == 2) o.weight_decay = 1e-2, o.decoupled = true, o.clip_norm = 0.5;
    if (variant == 3) o.schedule = Schedule::one_cycle, o.clip_norm = 3.0;
    Model<T> host = start, device = start;
    Adam<T> adam_host(P, o), adam_device(P, o);
    training::BackendParameterStore<T, StagingBackend<T>> store(StagingBackend<T>{}, device,
                                                                adam_device);
    EXPECT_EQ(store.lag(), 1);
    engine::LossSummary loss;
    loss.loss = 0.25;
    std::vector<typename Adam<T>::StepInfo> expected;
    for (int k = 0; k < 6; ++k) {
      std::vector<T> g = test::uniform<T>(P, -1.0, 1.0, 100 + static_cast<unsigned>(k));
      engine::LossSummary lk = loss;
      const bool bad_gradient = k == 2, bad_loss = k == 4;
      if (bad_gradient) g[P / 2] = std::numeric_limits<T>::infinity();
      if (bad_loss) lk.loss = std::numeric_limits<double>::quiet_NaN();
      if (!bad_gradient && !bad_loss) expected.push_back(adam_host.step(host.parameters(), g, 10));
      std::copy(g.begin(), g.end(), store.grad().begin());
      store.step(adam_device, &lk, 10);
      if (k == 0) continue;  // read a step late
      ASSERT_EQ(store.queued(), 2);
      const training::StepOutcome<T> out = store.take();
      const bool skipped = k - 1 == 2 || k - 1 == 4;
      EXPECT_EQ(out.stepped, !skipped);
      if (!skipped) {
        const auto& want = expected[static_cast<std::size_t>(k - 1 - (k - 1 > 2) - (k - 1 > 4))];
        EXPECT_EQ(out.info.clipped, want.clipped);
        EXPECT_EQ(out.info.lr, want.lr);
        EXPECT_NEAR(out.info.grad_norm, want.grad_norm, 1e-12 * want.grad_norm);
        EXPECT_EQ(out.loss.loss, 0.25);
      }
    }
    EXPECT_TRUE(store.take().stepped);
    EXPECT_EQ(store.queued(), 0);
    EXPECT_THROW(store.take(), Error);
    store.to_model(device, adam_device);
    EXPECT_EQ(adam_device.steps(), adam_host.steps());
    const std::vector<T> ph(host.parameters().begin(), host.parameters().end());
    const std::vector<T> pd(device.parameters().begin(), device.parameters().end());
    EXPECT_EQ(pd, ph);
    const std::vector<T> mh(adam_host.first_moment().begin(), adam_host.first_moment().end());
    const std::vector<T> md(adam_device.first_moment().begin(), adam_device.first_moment().end());
    EXPECT_EQ(md, mh);
    const std::vector<T> vh(adam_host.second_moment().begin(), adam_host.second_moment().end());
    const std::vector<T> vd(adam_device.second_moment().begin(), adam_device.second_moment().end());
    EXPECT_EQ(vd, vh);
  }
}

// A training step queued on the emulated device (the engine's loss gradient
// into the store's gradient, the loss summary and the gradient's scaling on
// the backend, then the store's Adam step planned there and read a step
// late) equals the CPU engine's loss and gradient and the host Adam, with
// and without the mass penalty, for several chunks.
TYPED_TEST(EngineStaging, QueuedTrainingStepsEqualTheCpuEngineAndHostAdam) {
  using T = TypeParam;
  const int n = 2, B = 70;
  for (const double rho : {0.0, 0.5}) {
    SCOPED_TRACE("mass penalty " + std::to_string(rho));
    Model<T> host = test::equivalence_model<T>(n, {24, 24}, 6, Activation::softplus, true);
    Model<T> device = host;
    const std::size_t P = host.parameters().size();
    OptimizerOptions o;
    o.lr = 3e-3;
    o.clip_norm = 1e-4;  // every step clipped: rounding cannot flip the decision
    o.schedule = Schedule::cosine;
    Adam<T> ah(P, o), ad(P, o);
    EngineOptions opt;
    opt.solve.method = SolveMethod::lu;
    opt.chunk = 32;  // three chunks (and the penalty's first pass)
    Engine<T> he(host, opt);
    engine::EngineOn<T, StagingBackend<T>> staged(device, opt);
    training::BackendParameterStore<T, StagingBackend<T>> store(staged.be(), device, ad);
    staged.bind_parameters(store.params());
    LossOptions<T> lo;
    lo.mass_penalty = rho;
    std::vector<T> gh(P);
    std::vector<LossResult<T>> host_loss;
    std::vector<typename Adam<T>::StepInfo> host_info;
    for (int k = 0; k < 4; ++k) {
      const std::vector<T> x = test::random_states<T>(B, n, 30 + static_cast<unsigned>(k));
      const std::vector<T> y = test::uniform<T>(static_cast<std::size_t>(B) * n, -1.0, 1.0,
                                                40 + static_cast<unsigned>(k));
      host_loss.push_back(he.loss_gradient(x, {}, y, lo, gh));
      host_info.push_back(ah.step(host.parameters(), gh, 8));
      store.step(ad, staged.loss_gradient_queued(x, {}, y, lo, store.grad()), 8);
      if (k == 0) continue;
      const training::StepOutcome<T> out = store.take();
      const auto j = static_cast<std::size_t>(k - 1);
      ASSERT_TRUE(out.stepped);
      EXPECT_TRUE(out.info.clipped);
      EXPECT_EQ(out.info.lr, host_info[j].lr);
      const double tol = 1e3 * test::equivalence_tol<T>();
      EXPECT_NEAR(out.info.grad_norm, host_info[j].grad_norm, tol * host_info[j].grad_norm);
      EXPECT_NEAR(out.loss.loss, host_loss[j].loss, tol * (1 + host_loss[j].loss));
      EXPECT_NEAR(out.loss.penalty, host_loss[j].penalty, tol * (1 + host_loss[j].penalty));
      EXPECT_EQ(out.loss.samples, B);
    }
    EXPECT_TRUE(store.take().stepped);
    store.to_model(device, ad);
    EXPECT_EQ(ad.steps(), ah.steps());
    const std::vector<T> ph(host.parameters().begin(), host.parameters().end());
    const std::vector<T> pd(device.parameters().begin(), device.parameters().end());
    test::expect_close_arrays(pd, ph, "parameters after 4 queued steps",
                              1e2 * test::equivalence_tol<T>());
  }
}

// bind_parameters: another parameter array evaluates as a model holding it.
TYPED_TEST(EngineStaging, BoundParametersReplaceTheModels) {
  using T = TypeParam;
  const Model<T> a = test::equivalence_model<T>(2, {16, 16}, 1);
  const Model<T> b = test::equivalence_model<T>(2, {16, 16}, 2);
  EngineOptions opt;
  opt.solve.method = SolveMethod::lu;
  Engine<T> eb(b, opt);
  engine::EngineOn<T, StagingBackend<T>> ea(a, opt);
  ea.bind_parameters(b.parameters());
  test::expect_equivalent(eb, ea, 2, 13, 3);
  EXPECT_THROW(ea.bind_parameters(std::span<const T>(b.parameters().data(), 3)), InvalidArgument);
}

// A dataset run's batches on a device backend: two slots used in turn, each
// of the sizes asked, parts not overlapping.
TEST(BatchStaging, TwoSlotsInTurn) {
  training::BackendBatchStaging<float, StagingBackend<float>> staging(StagingBackend<float>{});
  const training::HostBatch<float> a = staging.acquire(8, 0, 4);
  EXPECT_EQ(a.states.size(), 8u);
  EXPECT_TRUE(a.tau.empty());
  EXPECT_EQ(a.targets.size(), 4u);
  EXPECT_EQ(a.targets.data(), a.states.data() + 8);
  staging.release();
  const training::HostBatch<float> b = staging.acquire(8, 4, 4);
  EXPECT_NE(b.states.data(), a.states.data());  // the other slot
  EXPECT_EQ(b.tau.data(), b.states.data() + 8);
  staging.release();
  const training::HostBatch<float> c = staging.acquire(8, 0, 4);
  EXPECT_EQ(c.states.data(), a.states.data());  // the first again
  staging.release();
}

// EngineOptions::cache_parameters on a backend with memory of its own: the
// parameters are copied in once; a change to the model is seen after
// refresh_parameters() (or bind_parameters()), not before.
TYPED_TEST(EngineStaging, CachedParametersAreUploadedOnceAndRefreshed) {
  using T = TypeParam;
  Model<T> model = test::equivalence_model<T>(2, {16, 16}, 1);
  const Model<T> other = test::equivalence_model<T>(2, {16, 16}, 2);
  EngineOptions opt;
  opt.solve.method = SolveMethod::lu;
  opt.cache_parameters = true;
  StagingBackend<T> be;
  engine::EngineOn<T, StagingBackend<T>> staged(model, opt, be);
  const int B = 9;
  const std::vector<T> x = test::random_states<T>(B, 2, 5);
  std::vector<T> L0(B), L1(B), L2(B), Lother(B);
  staged.lagrangian(x, L0);
  const long copies_first = *be.copies;
  staged.lagrangian(x, L1);
  EXPECT_EQ(*be.copies - copies_first, copies_first - 1) << "the parameters copied again";
  EXPECT_EQ(L1, L0);
  std::copy(other.parameters().begin(), other.parameters().end(), model.parameters().begin());
  staged.lagrangian(x, L2);
  EXPECT_EQ(L2, L0);  // not refreshed: the cached copy
  staged.refresh_parameters();
  staged.lagrangian(x, L2);
  Engine<T> ref(other, opt);
  ref.lagrangian(x, Lother);
  test::expect_close_arrays(L2, Lother, "after refresh_parameters", test::equivalence_tol<T>());
  // Without the option every call copies them (the model's changes seen at once).
  opt.cache_parameters = false;
  StagingBackend<T> be2;
  engine::EngineOn<T, StagingBackend<T>> plain(model, opt, be2);
  plain.lagrangian(x, L0);
  const long per_call = *be2.copies;
  plain.lagrangian(x, L0);
  EXPECT_EQ(*be2.copies, 2 * per_call);
}

// Fresh batches drawn in a backend loop (as on a GPU) equal the host data
// path: lnn::sample_states (own ranges or a box), the trainer's forces and
// System::accelerations, rounded to T.
TYPED_TEST(EngineStaging, FreshBatchesEqualTheHostPath) {
  using T = TypeParam;
  struct Case {
    const char* system;
    StateBox box;
  };
  const Case cases[] = {{"double_pendulum", {}},
                        {"double_pendulum", {{{0.0, 6.283185307179586}}, {{0.0, 0.1}}}},
                        {"cart_pole", {}},
                        {"mass_spring", {}}};
  const std::uint64_t seed = 77;
  const std::size_t B = 37;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.system);
    const std::unique_ptr<System> sys = make_system(c.system, {});
    auto fresh = systems::make_fresh_batches<T>(StagingBackend<T>{}, *sys, c.box, seed, B);
    ASSERT_NE(fresh, nullptr);
    for (const std::int64_t k : {0, 3}) {
      const auto b = fresh->batch(k);
      std::vector<double> x, tau, acc;
      test::host_fresh_batch(*sys, c.box, seed, k, B, x, tau, acc);
      ASSERT_EQ(b.states.size(), x.size());
      ASSERT_EQ(b.tau.size(), tau.size());
      ASSERT_EQ(b.targets.size(), acc.size());
      for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(b.states[i], static_cast<T>(x[i])) << i;
      for (std::size_t i = 0; i < tau.size(); ++i) EXPECT_EQ(b.tau[i], static_cast<T>(tau[i])) << i;
      for (std::size_t i = 0; i < acc.size(); ++i) {
        if (std::isnan(acc[i])) {
          EXPECT_TRUE(std::isnan(b.targets[i])) << i;
        } else {
          EXPECT_EQ(b.targets[i], static_cast<T>(acc[i])) << i;
        }
      }
    }
  }
  // Systems larger than a GPU thread's storage draw on the host.
  const std::unique_ptr<System> chain = make_system("chain_pendulum", {{"links", 12.0}});
  EXPECT_EQ(systems::make_fresh_batches<T>(StagingBackend<T>{}, *chain, {}, 1, 4), nullptr);
}

// The mapping itself, on shapes where every flag and leading dimension
// matters (padded leading dimensions, all four transposition cases).
TEST(GemmLayout, ColumnMajorCallEqualsRowMajorGemm) {
  const int m = 5, n = 3, k = 4;
  for (const bool ta : {false, true}) {
    for (const bool tb : {false, true}) {
      const int lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
      std::vector<double> A((ta ? k : m) * lda), B((tb ? n : k) * ldb), C1(m * ldc), C2;
      for (std::size_t i = 0; i < A.size(); ++i) A[i] = std::sin(1.0 + double(i));
      for (std::size_t i = 0; i < B.size(); ++i) B[i] = std::cos(2.0 + double(i));
      for (std::size_t i = 0; i < C1.size(); ++i) C1[i] = 0.5 * double(i);
      C2 = C1;
      cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m,
                  n, k, 1.5, A.data(), lda, B.data(), ldb, 0.25, C1.data(), ldc);
      const cuda::ColMajorGemm g = cuda::as_col_major(ta, tb, m, n, k, lda, ldb, ldc);
      ASSERT_TRUE(g.b_first);
      cblas_dgemm(CblasColMajor, g.trans_first ? CblasTrans : CblasNoTrans,
                  g.trans_second ? CblasTrans : CblasNoTrans, g.m, g.n, g.k, 1.5, B.data(),
                  g.ld_first, A.data(), g.ld_second, 0.25, C2.data(), g.ldc);
      for (std::size_t i = 0; i < C1.size(); ++i)
        EXPECT_NEAR(C2[i], C1[i], 1e-13 * (1 + std::fabs(C1[i]))) << ta << tb << " at " << i;
    }
  }
}

}  // namespace
}  // namespace lnn

namespace lnn {
namespace {

// The roofline account (src/engine/cost_model.cpp) restates the CUDA
// backend's launches by hand. Here the emulation counts the launches the
// layer algorithm and the engine really make, kind by kind, for one chunk of
// each call the account describes (accelerations; the L1 loss gradient),
// so that a launch added to the code and not to the account shows.
TEST(EngineStagingCosts, TheRooflineAccountHasTheLaunchesTheEngineMakes) {
  using T = float;
  struct Shape {
    int n;
    std::vector<int> hidden;
  };
  // n = 9: the batched solve (the staging backend's batched_min, the CUDA default).
  for (const Shape& sh :
       {Shape{2, {33, 20}}, Shape{3, {16, 16, 16}}, Shape{1, {40}}, Shape{9, {24, 24}}}) {
    ModelSpec spec;
    spec.n = sh.n;
    spec.hidden = sh.hidden;
    spec.embedding.assign(static_cast<std::size_t>(sh.n), Embedding::angle);
    Model<T> model(spec);
    model.initialize(Init::lnn, 4);
    EngineOptions opt;
    opt.solve.method = SolveMethod::lu;
    opt.chunk = 1024;
    const int B = 300;
    const std::vector<T> x = test::random_states<T>(B, sh.n, 8);
    for (const engine::Work work : {engine::Work::accelerations, engine::Work::loss_gradient}) {
      SCOPED_TRACE(std::string(engine::to_string(work)) + ", n " + std::to_string(sh.n) +
                   ", layers " + std::to_string(sh.hidden.size()));
      StagingBackend<T> be;
      engine::EngineOn<T, StagingBackend<T>> staged(model, opt, be);
      if (work == engine::Work::accelerations) {
        std::vector<T> acc(static_cast<std::size_t>(B) * sh.n);
        staged.accelerations(x, {}, acc, {}, {});
      } else {
        const std::vector<T> targets(static_cast<std::size_t>(B) * sh.n, T(0.5));
        std::vector<T> grad(spec.parameter_count());
        staged.loss_gradient(x, {}, targets, LossOptions<T>{}, grad, {});
      }
      engine::CostSetup c = engine::CostSetup::benchmark(spec, 4, B, work);
      c.chunk = opt.chunk;
      c.batched_solve_min = be.batched_min;
      long gemm = 0, element = 0, rows = 0, per_sample = 0, column = 0, batched = 0;
      for (const engine::LaunchCost& l : engine::launch_costs(c)) {
        switch (l.kind) {
          case engine::LaunchKind::gemm: gemm += l.launches; break;
          case engine::LaunchKind::element_map: element += l.launches; break;
          case engine::LaunchKind::row_reduction: rows += l.launches; break;
          case engine::LaunchKind::per_sample: per_sample += l.launches; break;
          case engine::LaunchKind::column_sums: ++column; break;  // one sum_rows call each
          case engine::LaunchKind::batched_solve: batched += l.launches; break;
          default: break;  // copies, memsets: the CPU backend has no such calls to count
        }
      }
      EXPECT_EQ(gemm, *be.gemms);
      EXPECT_EQ(element, *be.element_maps);
      EXPECT_EQ(rows, *be.row_reductions + *be.fused_passes);
      EXPECT_EQ(per_sample, *be.per_sample);
      EXPECT_EQ(column, *be.column_sums);
      EXPECT_EQ(batched, *be.batched_calls);
      EXPECT_EQ(batched > 0, sh.n >= be.batched_min);
    }
  }
}

}  // namespace
}  // namespace lnn
