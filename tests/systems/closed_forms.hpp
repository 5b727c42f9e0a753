// Independent closed-form accelerations of the catalogue's systems, written
// from the textbook equations of motion (not from the Lagrangians in
// src/systems), reading parameters through the public System API.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "common/test_util.hpp"
#include "lnn/systems.hpp"

namespace lnn::test {

// q̈ for one state x = [q, q̇] and force tau (n, may be all zero).
// Returns an empty vector for a system without a closed form here.
inline std::vector<double> closed_form_acc(const System& sys, const double* x, const double* tau) {
  const std::string& name = sys.name();
  auto p = [&](const char* k) { return sys.parameter(k); };
  if (name == "double_pendulum" ||
      (name == "chain_pendulum" && sys.parameter("links") == 2)) {
    // The standard form (angles from the downward vertical).
    const bool chain = name == "chain_pendulum";
    const double m1 = chain ? p("m") : p("m1"), m2 = chain ? p("m") : p("m2");
    const double l1 = chain ? p("l") : p("l1"), l2 = chain ? p("l") : p("l2"), g = p("g");
    const double t1 = x[0], t2 = x[1], w1 = x[2], w2 = x[3];
    const double a1 = (l2 / l1) * (m2 / (m1 + m2)) * std::cos(t1 - t2);
    const double a2 = (l1 / l2) * std::cos(t1 - t2);
    const double f1 = -(l2 / l1) * (m2 / (m1 + m2)) * w2 * w2 * std::sin(t1 - t2) - (g / l1) * std::sin(t1);
    const double f2 = (l1 / l2) * w1 * w1 * std::sin(t1 - t2) - (g / l2) * std::sin(t2);
    return {(f1 - a1 * f2) / (1 - a1 * a2), (f2 - a2 * f1) / (1 - a1 * a2)};
  }
  if (name == "pendulum") return {-(p("g") / p("l")) * std::sin(x[0])};
  if (name == "mass_spring") return {-(p("k") / p("m")) * x[0]};
  if (name == "relativistic_reference") {
    const double v2 = x[1] * x[1];
    return {p("g") * std::pow(1 - v2, 2.5) / (1 + 2 * v2)};
  }
  if (name == "relativistic") return {p("g") * std::pow(1 - x[1] * x[1], 1.5)};
  if (name == "spring_pendulum") {
    const double r = x[0], th = x[1], rd = x[2], thd = x[3];
    return {r * thd * thd + p("g") * std::cos(th) - p("k") / p("m") * (r - p("l0")),
            -(p("g") * std::sin(th) + 2 * rd * thd) / r};
  }
  if (name == "henon_heiles") {
    const double l = p("lambda");
    return {-x[0] - 2 * l * x[0] * x[1], -x[1] - l * (x[0] * x[0] - x[1] * x[1])};
  }
  if (name == "kepler") {
    const double r = std::hypot(x[0], x[1]), k = -p("mu") / (r * r * r);
    return {k * x[0], k * x[1]};
  }
  if (name == "three_body") {
    const double m[3] = {p("m1"), p("m2"), p("m3")}, G = p("G");
    std::vector<double> a(6, 0.0);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        if (i == j) continue;
        const double dx = x[2 * j] - x[2 * i], dy = x[2 * j + 1] - x[2 * i + 1];
        const double r3 = std::pow(dx * dx + dy * dy, 1.5);
        a[2 * i] += G * m[j] * dx / r3;
        a[2 * i + 1] += G * m[j] * dy / r3;
      }
    return a;
  }
  if (name == "cart_pole") {
    const double M = p("M"), m = p("m"), l = p("l"), g = p("g");
    const double c = std::cos(x[1]), s = std::sin(x[1]), thd = x[3];
    return reference_solve({M + m, m * l * c, m * l * c, m * l * l},
                           {tau[0] + m * l * thd * thd * s, tau[1] - m * g * l * s});
  }
  if (name == "acrobot") {
    // Spong, "The swing up control problem for the Acrobot" (1995): D q̈ + h + φ = τ.
    const double m1 = p("m1"), m2 = p("m2"), l1 = p("l1"), lc1 = p("lc1"), lc2 = p("lc2");
    const double I1 = p("I1"), I2 = p("I2"), g = p("g");
    const double c2 = std::cos(x[1]), s2 = std::sin(x[1]), qd1 = x[2], qd2 = x[3];
    const double d11 = m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * c2) + I1 + I2;
    const double d12 = m2 * (lc2 * lc2 + l1 * lc2 * c2) + I2;
    const double d22 = m2 * lc2 * lc2 + I2;
    const double h1 = -m2 * l1 * lc2 * s2 * qd2 * qd2 - 2 * m2 * l1 * lc2 * s2 * qd2 * qd1;
    const double h2 = m2 * l1 * lc2 * s2 * qd1 * qd1;
    const double phi2 = m2 * lc2 * g * std::sin(x[0] + x[1]);
    const double phi1 = (m1 * lc1 + m2 * l1) * g * std::sin(x[0]) + phi2;
    return reference_solve({d11, d12, d12, d22}, {tau[0] - h1 - phi1, tau[1] - h2 - phi2});
  }
  return {};
}

}  // namespace lnn::test
