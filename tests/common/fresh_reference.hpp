// The host data path of a training run on fresh data (what the trainer's
// DataSource computes), as the reference for batches drawn in a backend loop.
#pragma once
#include <cstdint>
#include <vector>

#include "core/random.hpp"
#include "lnn/generate.hpp"
#include "lnn/systems.hpp"

namespace lnn::test {

// Batch k of B samples: states x (B × 2n), forces tau (B × n, empty when no
// coordinate is actuated) and exact accelerations acc (B × n), in double.
inline void host_fresh_batch(const System& sys, const StateBox& box, std::uint64_t seed,
                             std::int64_t k, std::size_t B, std::vector<double>& x,
                             std::vector<double>& tau, std::vector<double>& acc) {
  const std::size_t n = static_cast<std::size_t>(sys.dof());
  const std::uint64_t first = static_cast<std::uint64_t>(k) * B;
  x.assign(B * 2 * n, 0.0);
  acc.assign(B * n, 0.0);
  tau.clear();
  sample_states(sys, box, seed, first, x);
  bool forced = false;
  for (const std::uint8_t a : sys.info().actuated) forced = forced || a != 0;
  if (forced) {
    tau.assign(B * n, 0.0);
    std::vector<double> u(n);
    for (std::size_t s = 0; s < B; ++s) {
      core::uniforms(seed, core::RandomStream::forces, first + s, static_cast<int>(n), u.data());
      for (std::size_t j = 0; j < n; ++j)
        if (sys.info().actuated[j] != 0) tau[s * n + j] = sys.info().force_max * (2.0 * u[j] - 1.0);
    }
  }
  sys.accelerations(x, tau, acc);
}

}  // namespace lnn::test
