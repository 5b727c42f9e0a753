// Smallest use of the installed library: a 2-DOF Lagrangian MLP, Xavier
// initialized, and the accelerations q̈ it predicts for three random states.
// Exits 1 if any acceleration is not finite, 2 if the library throws.
#include <cmath>
#include <cstddef>
#include <exception>
#include <iostream>
#include <random>
#include <vector>

#include "lnn/engine.hpp"
#include "lnn/errors.hpp"
#include "lnn/model.hpp"
#include "lnn/solve.hpp"

int main() {
  try {
    lnn::ModelSpec spec;
    spec.n = 2;
    spec.hidden = {32, 32};
    spec.activation = lnn::Activation::softplus;

    lnn::Model<double> model(spec);
    model.initialize(lnn::Init::xavier, 1);

    lnn::EngineOptions options;  // CPU
    options.solve.method = lnn::SolveMethod::lu;
    lnn::Engine<double> engine(model, options);

    // B = 3 states, each row [q_1, q_2, q̇_1, q̇_2].
    constexpr std::size_t batch = 3;
    const std::size_t n = static_cast<std::size_t>(spec.n);
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> uniform(-1.0, 1.0);
    std::vector<double> states(batch * 2 * n);
    for (double& x : states) x = uniform(rng);

    std::vector<double> acc(batch * n);  // B × n
    std::vector<lnn::SolveStatus> status(batch);
    const lnn::SolveReport report = engine.accelerations(states, {}, acc, status);

    bool finite = true;
    for (std::size_t b = 0; b < batch; ++b) {
      std::cout << "state " << b << ": q = (" << states[b * 2 * n] << ", " << states[b * 2 * n + 1]
                << "), qdot = (" << states[b * 2 * n + 2] << ", " << states[b * 2 * n + 3]
                << ")  ->  qddot = (" << acc[b * n] << ", " << acc[b * n + 1] << ")  ["
                << lnn::to_string(status[b]) << "]\n";
      for (std::size_t j = 0; j < n; ++j) finite = finite && std::isfinite(acc[b * n + j]);
    }
    if (!finite || report.failures() != 0) {
      std::cerr << "lnn_example: non-finite acceleration (" << report.failures()
                << " failed solves)\n";
      return 1;
    }
    std::cout << "lnn_example: ok\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "lnn_example: " << e.what() << "\n";
    return 2;
  }
}
