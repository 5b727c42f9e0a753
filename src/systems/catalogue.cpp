// The catalogue: names, parameters with defaults and checks, coordinates,
// scales and sampling descriptions of the systems in lagrangians.hpp.
#include <climits>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "lnn/errors.hpp"
#include "lnn/systems.hpp"
#include "systems/lagrangians.hpp"
#include "systems/system_model.hpp"

namespace lnn LNN_CXX_API {

double System::parameter(std::string_view name) const {
  for (const SystemParameter& p : info_.parameters) {
    if (p.name == name) return p.value;
  }
  throw InvalidArgument("system " + info_.name + " has no parameter '" + std::string(name) + "'");
}

std::size_t System::batch(std::span<const double> states) const {
  const std::size_t width = 2 * static_cast<std::size_t>(info_.dof);
  if (states.size() % width != 0) {
    throw InvalidArgument("states has " + std::to_string(states.size()) +
                          " values, not a multiple of 2n = " + std::to_string(width));
  }
  if (states.size() / width > static_cast<std::size_t>(INT_MAX)) {
    throw InvalidArgument("more than 2^31 − 1 states in one call");
  }
  return states.size() / width;
}

namespace {

enum class Rule { positive, nonnegative, any, links };

struct ParamDef {
  const char* name;
  double value;
  Rule rule;
  const char* meaning;
};

// Reads parameters in catalogue order and builds the system.
using Values = std::vector<double>;

struct Entry {
  const char* name;
  const char* description;
  std::vector<ParamDef> params;
  // Builds the system from the parameter values; `info` has the name,
  // description and parameters filled in.
  std::function<std::unique_ptr<System>(const Values&, SystemInfo info)> make;
};

std::string rule_text(Rule r) {
  switch (r) {
    case Rule::positive:
      return "> 0";
    case Rule::nonnegative:
      return ">= 0";
    case Rule::any:
      return "any finite value";
    case Rule::links:
      return "a whole number from 1 to " + std::to_string(systems::kMaxDof);
  }
  return {};
}

bool allowed(Rule r, double v) {
  if (!std::isfinite(v)) return false;
  switch (r) {
    case Rule::positive:
      return v > 0;
    case Rule::nonnegative:
      return v >= 0;
    case Rule::any:
      return true;
    case Rule::links:
      return v >= 1 && v <= systems::kMaxDof && v == std::floor(v);
  }
  return false;
}

std::vector<std::uint8_t> flags(std::initializer_list<int> f) {
  return std::vector<std::uint8_t>(f.begin(), f.end());
}

// The common tail of every entry: wraps `sys` with its info.
template <class Sys>
std::unique_ptr<System> wrap(Sys sys, SystemInfo info) {
  return std::make_unique<systems::SystemModel<Sys>>(sys, std::move(info));
}

// Completes `info` with what the system's struct does not say.
SystemInfo with(SystemInfo info, std::vector<std::string> coordinates,
                std::vector<std::uint8_t> angles, std::vector<std::uint8_t> actuated,
                double scale, double force_max, std::string sampling) {
  info.dof = static_cast<int>(coordinates.size());
  info.coordinates = std::move(coordinates);
  info.angles = std::move(angles);
  info.actuated = std::move(actuated);
  info.potential_scale = scale;
  info.force_max = force_max;
  info.sampling = std::move(sampling);
  return info;
}

const std::vector<Entry>& catalogue() {
  static const std::vector<Entry> entries = {
      {"double_pendulum",
       "two point masses on massless rods (the reference study's system)",
       {{"m1", 1, Rule::positive, "mass of bob 1"},
        {"m2", 1, Rule::positive, "mass of bob 2"},
        {"l1", 1, Rule::positive, "length of rod 1"},
        {"l2", 1, Rule::positive, "length of rod 2"},
        {"g", 9.8, Rule::nonnegative, "gravitational acceleration"}},
       [](const Values& v, SystemInfo info) {
         const double scale = (v[0] + v[1]) * v[4] * v[2] + v[1] * v[4] * v[3];
         SystemInfo full = with(std::move(info), {"theta1", "theta2"}, flags({1, 1}),
                                flags({0, 0}), scale, 0, "q ~ U[0, 2pi)^2, qdot ~ U[-10, 10)^2");
         full.evaluation = {{{0.0, 2.0 * M_PI}}, {{0.0, 0.1}}};  // the reference study's
         return wrap(systems::DoublePendulum{v[0], v[1], v[2], v[3], v[4]}, std::move(full));
       }},
      {"pendulum",
       "a point mass on a massless rod",
       {{"m", 1, Rule::positive, "mass"},
        {"l", 1, Rule::positive, "rod length"},
        {"g", 9.8, Rule::nonnegative, "gravitational acceleration"}},
       [](const Values& v, SystemInfo info) {
         return wrap(systems::Pendulum{v[0], v[1], v[2]},
                     with(std::move(info), {"theta"}, flags({1}), flags({0}),
                               v[0] * v[1] * v[2], 0, "q ~ U[0, 2pi), qdot ~ U[-10, 10)"));
       }},
      {"mass_spring",
       "a mass on a linear spring",
       {{"m", 1, Rule::positive, "mass"}, {"k", 1, Rule::positive, "spring stiffness"}},
       [](const Values& v, SystemInfo info) {
         return wrap(systems::MassSpring{v[0], v[1]},
                     with(std::move(info), {"x"}, flags({0}), flags({0}),
                               0.5 * v[1], 0, "q ~ U[-1, 1), qdot ~ U[-1, 1)"));
       }},
      {"relativistic_reference",
       "relativistic particle in a uniform field, the reference study's form "
       "L = (1 - qdot^2)^(-1/2) - 1 + g q",
       {{"g", 1, Rule::any, "field strength (c = m = 1)"}},
       [](const Values& v, SystemInfo info) {
         return wrap(systems::Relativistic{v[0], true},
                     with(std::move(info), {"x"}, flags({0}),
                               flags({0}), std::fabs(v[0]) > 0 ? std::fabs(v[0]) : 1.0, 0,
                               "q ~ U[-1, 1), qdot ~ U[-0.9, 0.9)"));
       }},
      {"relativistic",
       "relativistic particle in a uniform field, textbook form L = -(1 - qdot^2)^(1/2) + g q",
       {{"g", 1, Rule::any, "field strength (c = m = 1)"}},
       [](const Values& v, SystemInfo info) {
         return wrap(systems::Relativistic{v[0], false},
                     with(std::move(info), {"x"}, flags({0}), flags({0}),
                               std::fabs(v[0]) > 0 ? std::fabs(v[0]) : 1.0, 0,
                               "q ~ U[-1, 1), qdot ~ U[-0.9, 0.9)"));
       }},
      {"chain_pendulum",
       "N point masses on massless rods, absolute angles",
       {{"links", 3, Rule::links, "number of links N"},
        {"m", 1, Rule::positive, "mass of each bob"},
        {"l", 1, Rule::positive, "length of each rod"},
        {"g", 9.8, Rule::nonnegative, "gravitational acceleration"}},
       [](const Values& v, SystemInfo info) {
         const int N = static_cast<int>(v[0]);
         std::vector<std::string> coords;
         for (int i = 1; i <= N; ++i) coords.push_back("theta" + std::to_string(i));
         const auto un = static_cast<std::size_t>(N);
         return wrap(systems::ChainPendulum{N, v[1], v[2], v[3]},
                     with(std::move(info), std::move(coords),
                               std::vector<std::uint8_t>(un, 1), std::vector<std::uint8_t>(un, 0),
                               v[1] * v[3] * v[2] * N * (N + 1) / 2.0, 0,
                               "q ~ U[0, 2pi)^N, qdot ~ U[-1, 1)^N"));
       }},
      {"spring_pendulum",
       "a mass on an elastic rod swinging in a plane, q = (r, theta)",
       {{"m", 1, Rule::positive, "mass"},
        {"k", 40, Rule::positive, "spring stiffness"},
        {"l0", 1, Rule::positive, "rest length"},
        {"g", 9.8, Rule::nonnegative, "gravitational acceleration"}},
       [](const Values& v, SystemInfo info) {
         return wrap(systems::SpringPendulum{v[0], v[1], v[2], v[3]},
                     with(std::move(info), {"r", "theta"}, flags({0, 1}),
                               flags({0, 0}), v[0] * v[3] * v[2], 0,
                               "r ~ U[0.5, 1.5) l0, theta ~ U[0, 2pi), rdot ~ U[-1, 1), "
                               "thetadot ~ U[-2, 2)"));
       }},
      {"henon_heiles",
       "unit mass in V = (x^2 + y^2)/2 + lambda (x^2 y - y^3/3)",
       {{"lambda", 1, Rule::positive, "coupling"}},
       [](const Values& v, SystemInfo info) {
         return wrap(systems::HenonHeiles{v[0]},
                     with(std::move(info), {"x", "y"}, flags({0, 0}),
                               flags({0, 0}), 1.0 / (6.0 * v[0] * v[0]), 0,
                               "q ~ U[-0.5, 0.5)^2 / lambda, qdot ~ U[-0.3, 0.3)^2 / lambda"));
       }},
      {"kepler",
       "a body around a fixed centre of attraction, Cartesian q = (x, y)",
       {{"m", 1, Rule::positive, "mass of the body"},
        {"mu", 1, Rule::positive, "gravitational parameter G M of the centre"}},
       [](const Values& v, SystemInfo info) {
         return wrap(systems::Kepler{v[0], v[1]},
                     with(std::move(info), {"x", "y"}, flags({0, 0}),
                               flags({0, 0}), v[0] * v[1], 0,
                               "r ~ U[0.5, 1.5), bound orbits: speed U[0.8, 1.2) x circular, "
                               "direction tangent +- 0.3 rad"));
       }},
      {"three_body",
       "three bodies in a plane under Newtonian gravity, q = (x1, y1, x2, y2, x3, y3)",
       {{"m1", 1, Rule::positive, "mass of body 1"},
        {"m2", 1, Rule::positive, "mass of body 2"},
        {"m3", 1, Rule::positive, "mass of body 3"},
        {"G", 1, Rule::positive, "gravitational constant"}},
       [](const Values& v, SystemInfo info) {
         const double scale = v[3] * (v[0] * v[1] + v[0] * v[2] + v[1] * v[2]) / std::sqrt(3.0);
         return wrap(systems::ThreeBody{{v[0], v[1], v[2]}, v[3]},
                     with(std::move(info), {"x1", "y1", "x2", "y2", "x3", "y3"},
                               std::vector<std::uint8_t>(6, 0), std::vector<std::uint8_t>(6, 0),
                               scale, 0,
                               "near the equilateral configuration of radius 1: angles +- 0.3, "
                               "radii U[0.8, 1.2), tangential speeds U[0.8, 1.2) x circular"));
       }},
      {"cart_pole",
       "a cart on a rail (force on x) carrying a pendulum, q = (x, theta)",
       {{"M", 1, Rule::positive, "cart mass"},
        {"m", 0.1, Rule::positive, "pole-tip mass"},
        {"l", 1, Rule::positive, "pole length"},
        {"g", 9.8, Rule::nonnegative, "gravitational acceleration"}},
       [](const Values& v, SystemInfo info) {
         return wrap(systems::CartPole{v[0], v[1], v[2], v[3]},
                     with(std::move(info), {"x", "theta"}, flags({0, 1}),
                               flags({1, 0}), v[1] * v[3] * v[2], 5.0,
                               "x ~ U[-1, 1), theta ~ U[0, 2pi), xdot ~ U[-1, 1), "
                               "thetadot ~ U[-2, 2)"));
       }},
      {"acrobot",
       "Spong's acrobot: two rigid links, torque at the elbow, q = (theta1, theta2 relative)",
       {{"m1", 1, Rule::positive, "mass of link 1"},
        {"m2", 1, Rule::positive, "mass of link 2"},
        {"l1", 1, Rule::positive, "length of link 1"},
        {"lc1", 0.5, Rule::positive, "pivot to centre of mass of link 1"},
        {"lc2", 0.5, Rule::positive, "elbow to centre of mass of link 2"},
        {"I1", 1.0 / 12, Rule::nonnegative, "moment of inertia of link 1 about its centre"},
        {"I2", 1.0 / 12, Rule::nonnegative, "moment of inertia of link 2 about its centre"},
        {"g", 9.8, Rule::nonnegative, "gravitational acceleration"}},
       [](const Values& v, SystemInfo info) {
         const double scale = v[7] * (v[0] * v[3] + v[1] * (v[2] + v[4]));
         return wrap(systems::Acrobot{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]},
                     with(std::move(info), {"theta1", "theta2"}, flags({1, 1}),
                               flags({0, 1}), scale, 2.0,
                               "q ~ U[0, 2pi)^2, qdot ~ U[-2, 2)^2"));
       }},
  };
  return entries;
}

std::string known_names() {
  std::string s;
  for (const Entry& e : catalogue()) s += (s.empty() ? "" : ", ") + std::string(e.name);
  return s;
}

}  // namespace

std::vector<std::string> system_names() {
  std::vector<std::string> names;
  for (const Entry& e : catalogue()) names.emplace_back(e.name);
  return names;
}

std::unique_ptr<System> make_system(std::string_view name,
                                    const std::map<std::string, double>& parameters) {
  for (const Entry& e : catalogue()) {
    if (name != e.name) continue;
    Values values;
    std::vector<SystemParameter> params;
    for (const ParamDef& d : e.params) {
      values.push_back(d.value);
      params.push_back({d.name, d.value, std::string(d.meaning) + " (" + rule_text(d.rule) + ")"});
    }
    for (const auto& [key, value] : parameters) {
      std::size_t i = 0;
      while (i < e.params.size() && key != e.params[i].name) ++i;
      if (i == e.params.size()) {
        std::string names;
        for (const ParamDef& d : e.params) names += (names.empty() ? "" : ", ") + std::string(d.name);
        throw InvalidArgument("system " + std::string(e.name) + " has no parameter '" + key +
                              "' (its parameters: " + names + ")");
      }
      if (!allowed(e.params[i].rule, value)) {
        std::ostringstream text;
        text << "system " << e.name << ": parameter " << key << " = " << value
             << " is not allowed (" << e.params[i].meaning << " must be "
             << rule_text(e.params[i].rule) << ")";
        throw InvalidArgument(text.str());
      }
      values[i] = value;
      params[i].value = value;
    }
    SystemInfo info;
    info.name = e.name;
    info.description = e.description;
    info.parameters = std::move(params);
    return e.make(values, std::move(info));
  }
  throw InvalidArgument("unknown system '" + std::string(name) + "' (known: " + known_names() + ")");
}

}  // namespace lnn
