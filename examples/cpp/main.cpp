// A C++ program using the installed lnn through its C++ API (lnn/*.hpp):
// load a model file (or, without an argument, make a small Xavier-initialized
// one), evaluate accelerations and energies for a batch of 3 states, and
// integrate them for 0.1 time units with RK4. Prints the same lines as
// examples/c and examples/fortran (b and k count from 0):
//   acc <b> <k> <value>   energy <b> <value>   final <b> <k> <value>   status <b> <s>
// Usage: lnn_example [model.safetensors]. Exits 1 on non-finite results, 2 if
// the library throws. tests/install/install_test.sh also builds it in-tree
// as the reference the C and Fortran programs are checked against.
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <iostream>
#include <span>
#include <vector>

#include "lnn/engine.hpp"
#include "lnn/errors.hpp"
#include "lnn/info.hpp"
#include "lnn/integrate.hpp"
#include "lnn/model.hpp"
#include "lnn/model_file.hpp"
#include "lnn/solve.hpp"

namespace {

lnn::Model<double> make_model(int argc, char** argv) {
  if (argc > 1) return lnn::load_model<double>(argv[1]);
  lnn::ModelSpec spec;
  spec.n = 2;
  spec.hidden = {32, 32};
  spec.activation = lnn::Activation::softplus;
  lnn::Model<double> model(spec);
  model.initialize(lnn::Init::xavier, 1);
  return model;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const lnn::Model<double> model = make_model(argc, argv);
    std::printf("# lnn C++ example, lnn %s, model format %d\n", lnn::version().c_str(),
                lnn::model_format_version());
    lnn::EngineOptions options;  // CPU
    options.solve.method = lnn::SolveMethod::lu;
    lnn::Engine<double> engine(model, options);

    // B = 3 states, each row [q_1 … q_n, q̇_1 … q̇_n].
    constexpr std::size_t B = 3;
    const auto n = static_cast<std::size_t>(model.spec().n), w = 2 * n;
    std::vector<double> states(B * w);
    for (std::size_t b = 0; b < B; ++b) {
      for (std::size_t k = 0; k < n; ++k) {
        const auto bd = static_cast<double>(b), kd = static_cast<double>(k);
        states[b * w + k] = 0.25 * (bd + 1) - 0.125 * kd;
        states[b * w + n + k] = 0.5 - 0.25 * kd + 0.125 * bd;
      }
    }

    std::vector<double> acc(B * n), energy(B);  // B × n, B
    const lnn::SolveReport report = engine.accelerations(states, {}, acc);
    engine.energy(states, energy);
    bool finite = report.failures() == 0;
    for (std::size_t b = 0; b < B; ++b) {
      for (std::size_t k = 0; k < n; ++k) {
        std::printf("acc %zu %zu %.17g\n", b, k, acc[b * n + k]);
        finite = finite && std::isfinite(acc[b * n + k]);
      }
      std::printf("energy %zu %.17g\n", b, energy[b]);
    }

    // y = [q, q̇], y' = [q̇, q̈(q, q̇)]: the rollout the C API's lnn_rollout does.
    std::vector<double> rhs_acc(B * n);
    const lnn::BatchRhs<double> rhs = [&](std::span<const std::size_t> rows,
                                          std::span<const double>, std::span<const double> y,
                                          std::span<double> dydt) {
      const std::size_t R = rows.size();
      engine.accelerations(y, {}, std::span<double>(rhs_acc.data(), R * n));
      for (std::size_t r = 0; r < R; ++r) {
        for (std::size_t k = 0; k < n; ++k) {
          dydt[r * w + k] = y[r * w + n + k];
          dydt[r * w + n + k] = rhs_acc[r * n + k];
        }
      }
    };
    const std::vector<double> times = {0.05, 0.1};
    const std::size_t S = times.size();
    std::vector<double> out(B * S * w);  // B × S × 2n
    lnn::IntegrateOptions io;
    io.method = lnn::Integrator::rk4;
    io.dt = 0.01;
    const auto reports =
        lnn::integrate<double>(rhs, static_cast<int>(w), 0.0, states, times, out, io);
    for (std::size_t b = 0; b < B; ++b) {
      for (std::size_t k = 0; k < w; ++k) {
        std::printf("final %zu %zu %.17g\n", b, k, out[(b * S + S - 1) * w + k]);
        finite = finite && std::isfinite(out[(b * S + S - 1) * w + k]);
      }
      std::printf("status %zu %d\n", b, static_cast<int>(reports[b].status));
    }
    if (!finite) {
      std::cerr << "lnn_example: non-finite results (" << report.failures() << " failed solves)\n";
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "lnn_example: " << e.what() << "\n";
    return 2;
  }
}
