// Shared by the dataset file tests: two small datasets whose every value is
// known (the h5py check recomputes them), field-by-field comparison, and a
// fixture with a private temporary directory.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "common/scratch.hpp"
#include "lnn/dataset.hpp"
#include "lnn/errors.hpp"

namespace lnn::test {

namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

inline Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// start + i·step + i/7: values with long binary expansions, so a lossy
// conversion anywhere would show.
inline std::vector<double> ramp(std::size_t count, double start, double step) {
  std::vector<double> v(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto x = static_cast<double>(i);
    v[i] = start + x * step + x / 7.0;
  }
  return v;
}

// A catalogue system, as Dataset::validate requires: the acrobot (torque on
// its second coordinate) when the set holds tau, else the double pendulum
// (none actuated). Both have parameters m2, l1 and g, and angles [1, 1].
inline Dataset base(DatasetKind kind, bool forced) {
  Dataset d;
  d.kind = kind;
  d.system = forced ? "acrobot" : "double_pendulum";
  d.n = 2;
  d.parameters = {{"m2", 1.5}, {"l1", 0.75}, {"g", 9.81}};  // not in name order
  d.angles = {1, 1};
  d.actuated = {0, static_cast<std::uint8_t>(forced ? 1 : 0)};
  d.potential_scale = 29.43;
  d.seed = (std::uint64_t{1} << 63) + 5;  // beyond int64
  d.generator = R"({"note":"ünïcode \"quoted\"","samples":5})";
  return d;
}

// P = 5 points, n = 2.
inline Dataset derivative_set(bool with_tau, bool with_truth) {
  Dataset d = base(DatasetKind::derivatives, with_tau);
  const std::size_t P = 5;
  d.states = ramp(P * 4, -3.0, 0.25);
  if (with_truth) d.states_true = ramp(P * 4, -2.9, 0.25);
  d.accelerations = ramp(P * 2, 10.0, -1.5);
  d.energies = ramp(P, -7.0, 2.0);
  if (with_tau) d.tau = ramp(P * 2, 0.5, 0.125);
  d.status = {0, 1, 0, 2, 0};
  return d;
}

// 3 trajectories × 4 times, n = 2; trajectory 1 failed and holds NaN.
inline Dataset trajectory_set(bool with_tau, bool with_truth, bool with_steps = true) {
  Dataset d = base(DatasetKind::trajectories, with_tau);
  d.generator = R"({"integrator":"dopri5","rtol":1e-10})";
  d.trajectories = 3;
  d.times = {0.0, 0.1, 0.2, 0.1 + 0.2};
  const std::size_t P = 12;
  d.states = ramp(P * 4, 1.0, -0.5);
  d.states[4 * 4 + 1] = std::numeric_limits<double>::quiet_NaN();
  d.states[4 * 4 + 2] = -0.0;
  if (with_truth) d.states_true = ramp(P * 4, 1.01, -0.5);
  d.accelerations = ramp(P * 2, 3.0, 0.75);
  d.energies = ramp(P, 0.3, 0.01);
  if (with_tau) d.tau = ramp(P * 2, -1.0, 0.2);
  d.status = {0, 2, 0};
  if (with_steps) {
    d.accepted = {120, 7, std::numeric_limits<std::int64_t>::max()};
    d.rejected = {3, 0, 11};
  }
  return d;
}

// Bitwise, so NaN and -0.0 count as kept only when kept exactly.
inline void expect_same_bits(const std::vector<double>& a, const std::vector<double>& b,
                             const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  // memcmp must not see the null data() of an empty vector.
  if (!a.empty()) {
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(double)), 0) << what;
  }
}

inline void expect_same(const Dataset& a, const Dataset& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.system, b.system);
  EXPECT_EQ(a.user_system, b.user_system);
  EXPECT_EQ(a.n, b.n);
  EXPECT_EQ(a.parameters, b.parameters);
  EXPECT_EQ(a.angles, b.angles);
  EXPECT_EQ(a.actuated, b.actuated);
  EXPECT_EQ(a.potential_scale, b.potential_scale);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.generator, b.generator);
  EXPECT_EQ(a.trajectories, b.trajectories);
  expect_same_bits(a.times, b.times, "times");
  expect_same_bits(a.states, b.states, "states");
  expect_same_bits(a.states_true, b.states_true, "states_true");
  expect_same_bits(a.accelerations, b.accelerations, "accelerations");
  expect_same_bits(a.energies, b.energies, "energies");
  expect_same_bits(a.tau, b.tau, "tau");
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.accepted, b.accepted);
  EXPECT_EQ(a.rejected, b.rejected);
}


class DatasetFileTest : public ScratchDirTest {
 protected:
  DatasetFileTest() : ScratchDirTest("io") {}
};

}  // namespace lnn::test
