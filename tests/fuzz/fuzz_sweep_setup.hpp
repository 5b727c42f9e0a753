// The sweep the sweep harness resumes, and the seed program writes the files
// of: the smallest grid (the analytic pendulum, rk4 at one step, one
// trajectory to t = 0.5), so that a recomputed cell costs microseconds.
#pragma once
#include "lnn/integrate.hpp"
#include "lnn/sweep.hpp"

namespace lnn::fuzz {

inline SweepConfig tiny_sweep() {
  SweepConfig c;
  c.system = "pendulum";
  c.models = {"analytic"};
  c.integrators = {Integrator::rk4};
  c.dts = {0.1};
  c.horizons = {0.5};
  c.trajectories = 1;
  c.rate = 10.0;
  return c;
}

}  // namespace lnn::fuzz
