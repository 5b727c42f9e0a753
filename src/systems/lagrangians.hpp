// The analytic systems, each written once as L(q, q̇) over a generic number
// type S (double, float, or core::HyperDual of either), so exact gradients and
// Hessians come from evaluating the same lines with hyper-dual numbers
// (src/core/hyperdual.hpp, src/core/analytic.hpp). Host+device: no
// allocation, no I/O, parameters by value.
//
// Each system provides
//   dof()                      n, the number of generalized coordinates
//   lagrangian(q, v)           L(q, q̇), q and v each n numbers of type S
//   energy(q, v)               the energy T + V, written independently of L
//                              (tests check it equals q̇·∂L/∂q̇ − L)
//   sample(u, x)               a state x = [q, q̇] (2n) from 2n uniforms u in [0, 1):
//                              the system's default sampling ranges
// Angles are measured from the downward vertical; V = 0 at the pivot height.
// The parameter names, defaults, checks and descriptions are in catalogue.cpp.
#pragma once
#include <cmath>

#include "core/host_device.hpp"
#include "core/hyperdual.hpp"

namespace lnn::systems {

using core::cos;
using core::sin;
using core::sqrt;
using std::cos;
using std::sin;
using std::sqrt;

// The largest number of coordinates a system may have (chain links, ...):
// the hyper-dual evaluation keeps its inputs in arrays of this size.
inline constexpr int kMaxDof = 32;

inline constexpr double kTwoPi = 6.283185307179586476925;

// u in [0, 1) mapped to [lo, hi).
LNN_HD double uniform_in(double u, double lo, double hi) { return lo + (hi - lo) * u; }

// Two point masses on massless rods (the reference study's system).
struct DoublePendulum {
  double m1, m2, l1, l2, g;
  LNN_HD int dof() const { return 2; }
  template <class S>
  LNN_HD S lagrangian(const S* q, const S* v) const {
    const S kinetic = 0.5 * (m1 + m2) * l1 * l1 * v[0] * v[0] + 0.5 * m2 * l2 * l2 * v[1] * v[1] +
                      m2 * l1 * l2 * v[0] * v[1] * cos(q[0] - q[1]);
    const S potential = -(m1 + m2) * g * l1 * cos(q[0]) - m2 * g * l2 * cos(q[1]);
    return kinetic - potential;
  }
  LNN_HD double energy(const double* q, const double* v) const {
    // Cartesian velocities of the two masses.
    const double x1 = l1 * cos(q[0]) * v[0], y1 = l1 * sin(q[0]) * v[0];
    const double x2 = x1 + l2 * cos(q[1]) * v[1], y2 = y1 + l2 * sin(q[1]) * v[1];
    const double h1 = -l1 * cos(q[0]), h2 = h1 - l2 * cos(q[1]);
    return 0.5 * m1 * (x1 * x1 + y1 * y1) + 0.5 * m2 * (x2 * x2 + y2 * y2) + m1 * g * h1 +
           m2 * g * h2;
  }
  LNN_HD void sample(const double* u, double* x) const {  // q ~ U[0, 2π)², q̇ ~ U[−10, 10)²
    x[0] = uniform_in(u[0], 0, kTwoPi);
    x[1] = uniform_in(u[1], 0, kTwoPi);
    x[2] = uniform_in(u[2], -10, 10);
    x[3] = uniform_in(u[3], -10, 10);
  }
};

struct Pendulum {
  double m, l, g;
  LNN_HD int dof() const { return 1; }
  template <class S>
  LNN_HD S lagrangian(const S* q, const S* v) const {
    return 0.5 * m * l * l * v[0] * v[0] + m * g * l * cos(q[0]);
  }
  LNN_HD double energy(const double* q, const double* v) const {
    return 0.5 * m * l * l * v[0] * v[0] - m * g * l * cos(q[0]);
  }
  LNN_HD void sample(const double* u, double* x) const {  // q ~ U[0, 2π), q̇ ~ U[−10, 10)
    x[0] = uniform_in(u[0], 0, kTwoPi);
    x[1] = uniform_in(u[1], -10, 10);
  }
};

struct MassSpring {
  double m, k;
  LNN_HD int dof() const { return 1; }
  template <class S>
  LNN_HD S lagrangian(const S* q, const S* v) const {
    return 0.5 * m * v[0] * v[0] - 0.5 * k * q[0] * q[0];
  }
  LNN_HD double energy(const double* q, const double* v) const {
    return 0.5 * m * v[0] * v[0] + 0.5 * k * q[0] * q[0];
  }
  LNN_HD void sample(const double* u, double* x) const {  // q, q̇ ~ U[−1, 1)
    x[0] = uniform_in(u[0], -1, 1);
    x[1] = uniform_in(u[1], -1, 1);
  }
};

// A particle (m = c = 1) in a uniform field g. The reference study's form
// L = (1 − q̇²)^(−1/2) − 1 + g·q (`reference`) and the textbook form
// L = −(1 − q̇²)^(1/2) + g·q. Both need |q̇| < 1.
struct Relativistic {
  double g;
  bool reference;
  LNN_HD int dof() const { return 1; }
  template <class S>
  LNN_HD S lagrangian(const S* q, const S* v) const {
    const S root = sqrt(1.0 - v[0] * v[0]);
    return reference ? 1.0 / root - 1.0 + g * q[0] : -root + g * q[0];
  }
  LNN_HD double energy(const double* q, const double* v) const {
    const double root = sqrt(1.0 - v[0] * v[0]);
    // q̇·∂L/∂q̇ − L: reference γ³q̇² − γ + 1 − g q, textbook γ − g q (γ = 1/root).
    const double gamma = 1.0 / root;
    return reference ? gamma * gamma * gamma * v[0] * v[0] - gamma + 1.0 - g * q[0]
                     : gamma - g * q[0];
  }
  LNN_HD void sample(const double* u, double* x) const {  // q ~ U[−1, 1), q̇ ~ U[−0.9, 0.9)
    x[0] = uniform_in(u[0], -1, 1);
    x[1] = uniform_in(u[1], -0.9, 0.9);
  }
};

// N equal point masses m on massless rods of length l; q_i is the absolute
// angle of rod i.
struct ChainPendulum {
  int links;
  double m, l, g;
  LNN_HD int dof() const { return links; }
  template <class S>
  LNN_HD S lagrangian(const S* q, const S* v) const {
    // Running sums of the Cartesian velocity and height of mass i.
    S vx = 0.0, vy = 0.0, h = 0.0, kinetic = 0.0, potential = 0.0;
    for (int i = 0; i < links; ++i) {
      const S c = cos(q[i]), s = sin(q[i]);
      vx += l * c * v[i];
      vy += l * s * v[i];
      h -= l * c;
      kinetic += 0.5 * m * (vx * vx + vy * vy);
      potential += m * g * h;
    }
    return kinetic - potential;
  }
  LNN_HD double energy(const double* q, const double* v) const {
    double e = 0.0;
    for (int i = 0; i < links; ++i) {
      double vx = 0.0, vy = 0.0, h = 0.0;
      for (int k = 0; k <= i; ++k) {
        vx += l * cos(q[k]) * v[k];
        vy += l * sin(q[k]) * v[k];
        h -= l * cos(q[k]);
      }
      e += 0.5 * m * (vx * vx + vy * vy) + m * g * h;
    }
    return e;
  }
  LNN_HD void sample(const double* u, double* x) const {  // q ~ U[0, 2π)^N, q̇ ~ U[−1, 1)^N
    for (int i = 0; i < links; ++i) {
      x[i] = uniform_in(u[i], 0, kTwoPi);
      x[links + i] = uniform_in(u[links + i], -1, 1);
    }
  }
};

// A mass m on a spring of stiffness k and rest length l0, swinging in a
// plane: q = (r, θ).
struct SpringPendulum {
  double m, k, l0, g;
  LNN_HD int dof() const { return 2; }
  template <class S>
  LNN_HD S lagrangian(const S* q, const S* v) const {
    const S stretch = q[0] - l0;
    return 0.5 * m * (v[0] * v[0] + q[0] * q[0] * v[1] * v[1]) + m * g * q[0] * cos(q[1]) -
           0.5 * k * stretch * stretch;
  }
  LNN_HD double energy(const double* q, const double* v) const {
    const double stretch = q[0] - l0;
    return 0.5 * m * (v[0] * v[0] + q[0] * q[0] * v[1] * v[1]) - m * g * q[0] * cos(q[1]) +
           0.5 * k * stretch * stretch;
  }
  LNN_HD void sample(const double* u, double* x) const {
    // r ~ U[0.5, 1.5)·l0, θ ~ U[0, 2π), ṙ ~ U[−1, 1), θ̇ ~ U[−2, 2)
    x[0] = l0 * uniform_in(u[0], 0.5, 1.5);
    x[1] = uniform_in(u[1], 0, kTwoPi);
    x[2] = uniform_in(u[2], -1, 1);
    x[3] = uniform_in(u[3], -2, 2);
  }
};

// V = (x² + y²)/2 + λ(x²y − y³/3), unit mass; bounded motion below E = 1/(6λ²).
struct HenonHeiles {
  double lambda;
  LNN_HD int dof() const { return 2; }
  template <class S>
  LNN_HD S potential(const S* q) const {
    return 0.5 * (q[0] * q[0] + q[1] * q[1]) +
           lambda * (q[0] * q[0] * q[1] - q[1] * q[1] * q[1] / 3.0);
  }
  template <class S>
  LNN_HD S lagrangian(const S* q, const S* v) const {
    return 0.5 * (v[0] * v[0] + v[1] * v[1]) - potential(q);
  }
  LNN_HD double energy(const double* q, const double* v) const {
    return 0.5 * (v[0] * v[0] + v[1] * v[1]) + potential(q);
  }
  LNN_HD void sample(const double* u, double* x) const {  // q ~ U[−0.5, 0.5)²/λ, q̇ ~ U[−0.3, 0.3)²/λ
    for (int i = 0; i < 2; ++i) {
      x[i] = uniform_in(u[i], -0.5, 0.5) / lambda;
      x[2 + i] = uniform_in(u[2 + i], -0.3, 0.3) / lambda;
    }
  }
};

// A body of mass m around a fixed centre, gravitational parameter mu = G·M,
// in Cartesian coordinates q = (x, y).
struct Kepler {
  double m, mu;
  LNN_HD int dof() const { return 2; }
  template <class S>
  LNN_HD S lagrangian(const S* q, const S* v) const {
    return 0.5 * m * (v[0] * v[0] + v[1] * v[1]) + mu * m / sqrt(q[0] * q[0] + q[1] * q[1]);
  }
  LNN_HD double energy(const double* q, const double* v) const {
    return 0.5 * m * (v[0] * v[0] + v[1] * v[1]) - mu * m / sqrt(q[0] * q[0] + q[1] * q[1]);
  }
  LNN_HD void sample(const double* u, double* x) const {
    // r ~ U[0.5, 1.5), polar angle ~ U[0, 2π), speed ~ U[0.8, 1.2)·circular
    // speed (bound orbits), direction the tangent turned by U[−0.3, 0.3) rad.
    const double r = uniform_in(u[0], 0.5, 1.5), phi = uniform_in(u[1], 0, kTwoPi);
    const double speed = sqrt(mu / r) * uniform_in(u[2], 0.8, 1.2);
    const double dir = phi + kTwoPi / 4 + uniform_in(u[3], -0.3, 0.3);
    x[0] = r * cos(phi);
    x[1] = r * sin(phi);
    x[2] = speed * cos(dir);
    x[3] = speed * sin(dir);
  }
};

// Three bodies in a plane under Newtonian gravity: q = (x1, y1, x2, y2, x3, y3).
struct ThreeBody {
  double m[3], G;
  LNN_HD int dof() const { return 6; }
  template <class S>
  LNN_HD S lagrangian(const S* q, const S* v) const {
    S kinetic = 0.0, attraction = 0.0;
    for (int i = 0; i < 3; ++i) {
      kinetic += 0.5 * m[i] * (v[2 * i] * v[2 * i] + v[2 * i + 1] * v[2 * i + 1]);
      for (int j = i + 1; j < 3; ++j) {
        const S dx = q[2 * i] - q[2 * j], dy = q[2 * i + 1] - q[2 * j + 1];
        attraction += G * m[i] * m[j] / sqrt(dx * dx + dy * dy);
      }
    }
    return kinetic + attraction;
  }
  LNN_HD double energy(const double* q, const double* v) const {
    double e = 0.0;
    for (int i = 0; i < 3; ++i) {
      e += 0.5 * m[i] * (v[2 * i] * v[2 * i] + v[2 * i + 1] * v[2 * i + 1]);
      for (int j = i + 1; j < 3; ++j) {
        const double dx = q[2 * i] - q[2 * j], dy = q[2 * i + 1] - q[2 * j + 1];
        e -= G * m[i] * m[j] / sqrt(dx * dx + dy * dy);
      }
    }
    return e;
  }
  LNN_HD void sample(const double* u, double* x) const {
    // Near the equilateral (Lagrange) configuration of radius 1: body i at
    // angle 2πi/3 + U[−0.3, 0.3), radius U[0.8, 1.2); tangential speed
    // U[0.8, 1.2)·√(G m̄ / (√3 r)) (circular for equal masses), direction
    // turned by U[−0.2, 0.2) rad. Keeps the bodies apart at t = 0.
    const double mean_mass = (m[0] + m[1] + m[2]) / 3.0;
    for (int i = 0; i < 3; ++i) {
      const double* w = u + 4 * i;
      const double angle = kTwoPi * i / 3.0 + uniform_in(w[0], -0.3, 0.3);
      const double r = uniform_in(w[1], 0.8, 1.2);
      const double speed = sqrt(G * mean_mass / (sqrt(3.0) * r)) * uniform_in(w[2], 0.8, 1.2);
      const double dir = angle + kTwoPi / 4 + uniform_in(w[3], -0.2, 0.2);
      x[2 * i] = r * cos(angle);
      x[2 * i + 1] = r * sin(angle);
      x[6 + 2 * i] = speed * cos(dir);
      x[6 + 2 * i + 1] = speed * sin(dir);
    }
  }
};

// A cart of mass M on a rail (q₀ = x, actuated) carrying a pendulum: point
// mass m on a massless rod of length l (q₁ = θ from hanging down).
struct CartPole {
  double M, m, l, g;
  LNN_HD int dof() const { return 2; }
  template <class S>
  LNN_HD S lagrangian(const S* q, const S* v) const {
    return 0.5 * (M + m) * v[0] * v[0] + m * l * v[0] * v[1] * cos(q[1]) +
           0.5 * m * l * l * v[1] * v[1] + m * g * l * cos(q[1]);
  }
  LNN_HD double energy(const double* q, const double* v) const {
    const double bx = v[0] + l * cos(q[1]) * v[1], by = l * sin(q[1]) * v[1];
    return 0.5 * M * v[0] * v[0] + 0.5 * m * (bx * bx + by * by) - m * g * l * cos(q[1]);
  }
  LNN_HD void sample(const double* u, double* x) const {
    // x ~ U[−1, 1), θ ~ U[0, 2π), ẋ ~ U[−1, 1), θ̇ ~ U[−2, 2)
    x[0] = uniform_in(u[0], -1, 1);
    x[1] = uniform_in(u[1], 0, kTwoPi);
    x[2] = uniform_in(u[2], -1, 1);
    x[3] = uniform_in(u[3], -2, 2);
  }
};

// Spong's acrobot: two rigid links (masses m1, m2, lengths l1, l2, centres of
// mass at lc1, lc2, moments of inertia I1, I2 about them); q₀ is link 1's
// angle from hanging down, q₁ link 2's angle relative to link 1, actuated at
// the elbow (q₁).
struct Acrobot {
  double m1, m2, l1, lc1, lc2, I1, I2, g;
  LNN_HD int dof() const { return 2; }
  template <class S>
  LNN_HD S lagrangian(const S* q, const S* v) const {
    const S w2 = v[0] + v[1];  // absolute angular velocity of link 2
    const S kinetic = 0.5 * (m1 * lc1 * lc1 + I1) * v[0] * v[0] +
                      0.5 * m2 * (l1 * l1 * v[0] * v[0] + lc2 * lc2 * w2 * w2 +
                                  2.0 * l1 * lc2 * cos(q[1]) * v[0] * w2) +
                      0.5 * I2 * w2 * w2;
    const S potential = -m1 * g * lc1 * cos(q[0]) - m2 * g * (l1 * cos(q[0]) + lc2 * cos(q[0] + q[1]));
    return kinetic - potential;
  }
  LNN_HD double energy(const double* q, const double* v) const {
    // Velocity of link 2's centre of mass, then T + V.
    const double a2 = q[0] + q[1], w2 = v[0] + v[1];
    const double cx = l1 * cos(q[0]) * v[0] + lc2 * cos(a2) * w2;
    const double cy = l1 * sin(q[0]) * v[0] + lc2 * sin(a2) * w2;
    return 0.5 * (m1 * lc1 * lc1 + I1) * v[0] * v[0] + 0.5 * m2 * (cx * cx + cy * cy) +
           0.5 * I2 * w2 * w2 - m1 * g * lc1 * cos(q[0]) - m2 * g * (l1 * cos(q[0]) + lc2 * cos(a2));
  }
  LNN_HD void sample(const double* u, double* x) const {  // q ~ U[0, 2π)², q̇ ~ U[−2, 2)²
    x[0] = uniform_in(u[0], 0, kTwoPi);
    x[1] = uniform_in(u[1], 0, kTwoPi);
    x[2] = uniform_in(u[2], -2, 2);
    x[3] = uniform_in(u[3], -2, 2);
  }
};

}  // namespace lnn::systems
