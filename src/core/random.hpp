// Counter-based random numbers (Random123 Philox4x32-10): the value for
// (seed, stream, index, k) is a pure function of those four, so any slice of
// a sequence can be drawn on its own, in any order, on any thread, and the
// GPU gives the same numbers as the CPU. Counter = (index low, index high,
// block k/2, stream tag), key = seed.
#pragma once
#include <Random123/boxmuller.hpp>
#include <Random123/philox.h>

#include <cstdint>

#include "core/host_device.hpp"

namespace lnn::core {

// Stream tags keep independent uses of one seed apart. Model initialization
// (src/model/model.cpp) uses 0x6c6e6e00 and 0x6c6e6e01.
enum class RandomStream : std::uint32_t {
  states = 0x6c6e6e10u,  // sampled states
  noise = 0x6c6e6e11u,   // observation noise
  forces = 0x6c6e6e12u,  // generalized-force signals
};

// Four 32-bit words for block `block` of item `index`.
LNN_HD r123::Philox4x32::ctr_type philox_block(std::uint64_t seed, RandomStream stream,
                                               std::uint64_t index, std::uint32_t block) {
  const r123::Philox4x32::ctr_type ctr = {{static_cast<std::uint32_t>(index),
                                           static_cast<std::uint32_t>(index >> 32), block,
                                           static_cast<std::uint32_t>(stream)}};
  const r123::Philox4x32::key_type key = {
      {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  return r123::Philox4x32()(ctr, key);
}

LNN_HD std::uint64_t join_words(std::uint32_t hi, std::uint32_t lo) {
  return static_cast<std::uint64_t>(hi) << 32 | lo;
}

// The top 53 bits as a double in [0, 1).
LNN_HD double to_unit(std::uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

// u[0 … count) uniform in [0, 1) for item `index`.
LNN_HD void uniforms(std::uint64_t seed, RandomStream stream, std::uint64_t index, int count,
                     double* u) {
  for (int k = 0; k < count; k += 2) {
    const auto r = philox_block(seed, stream, index, static_cast<std::uint32_t>(k / 2));
    u[k] = to_unit(join_words(r[0], r[1]));
    if (k + 1 < count) u[k + 1] = to_unit(join_words(r[2], r[3]));
  }
}

// The generalized forces of sample `index` of a forced system (derivative
// sets, fresh training batches on the host and on a device, validation):
// τ_k = force_max·(2u_k − 1) on actuated coordinates (actuated[k] != 0), 0
// on the others, u the sample's uniforms of the forces stream. u: n values
// of scratch.
template <class Flag>
LNN_HD void random_forces(std::uint64_t seed, std::uint64_t index, int n, const Flag* actuated,
                          double force_max, double* u, double* tau) {
  uniforms(seed, RandomStream::forces, index, n, u);
  for (int k = 0; k < n; ++k) tau[k] = actuated[k] ? force_max * (2.0 * u[k] - 1.0) : 0.0;
}

// z[0 … count) standard normal (Box–Muller) for item `index`.
LNN_HD void normals(std::uint64_t seed, RandomStream stream, std::uint64_t index, int count,
                    double* z) {
  for (int k = 0; k < count; k += 2) {
    const auto r = philox_block(seed, stream, index, static_cast<std::uint32_t>(k / 2));
    const r123::double2 p = r123::boxmuller(join_words(r[0], r[1]), join_words(r[2], r[3]));
    z[k] = p.x;
    if (k + 1 < count) z[k + 1] = p.y;
  }
}

}  // namespace lnn::core
