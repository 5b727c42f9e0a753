// The names of the public enums: one table per enum, used by every to_string
// and parse_* of include/lnn/*.hpp (src/common/strings.cpp) and by whatever
// else needs an enum's name. Not a public header.
#pragma once
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "lnn/any_engine.hpp"
#include "lnn/dataset.hpp"
#include "lnn/engine.hpp"
#include "lnn/errors.hpp"
#include "lnn/integrate.hpp"
#include "lnn/model.hpp"
#include "lnn/optimizer.hpp"
#include "lnn/solve.hpp"

namespace lnn::enum_names {

template <class E>
struct Entry {
  E value;
  std::string_view name;
};

template <class E, std::size_t N>
using Table = std::array<Entry<E>, N>;

inline constexpr Table<Activation, 5> kActivations{{
    {Activation::softplus, "softplus"},
    {Activation::tanh, "tanh"},
    {Activation::silu, "silu"},
    {Activation::gelu, "gelu"},
    {Activation::xtanh_half, "xtanh_half"},
}};
inline constexpr Table<Embedding, 2> kEmbeddings{{
    {Embedding::plain, "plain"},
    {Embedding::angle, "angle"},
}};
inline constexpr Table<Init, 4> kInits{{
    {Init::lnn, "lnn"},
    {Init::xavier, "xavier"},
    {Init::he, "he"},
    {Init::convex, "convex"},
}};
inline constexpr Table<SolveMethod, 4> kSolveMethods{{
    {SolveMethod::cholesky, "cholesky"},
    {SolveMethod::lu, "lu"},
    {SolveMethod::damped, "damped"},
    {SolveMethod::pinv, "pinv"},
}};
inline constexpr Table<SolveStatus, 3> kSolveStatuses{{
    {SolveStatus::ok, "ok"},
    {SolveStatus::not_positive_definite, "not_positive_definite"},
    {SolveStatus::singular, "singular"},
}};
inline constexpr Table<Device, 2> kDevices{{
    {Device::cpu, "cpu"},
    {Device::cuda, "cuda"},
}};
inline constexpr Table<Precision, 2> kPrecisions{{
    {Precision::f32, "f32"},
    {Precision::f64, "f64"},
}};
inline constexpr Table<Loss, 2> kLosses{{
    {Loss::l1, "l1"},
    {Loss::mse, "mse"},
}};
inline constexpr Table<Integrator, 3> kIntegrators{{
    {Integrator::rk4, "rk4"},
    {Integrator::dopri5, "dopri5"},
    {Integrator::variational, "variational"},
}};
inline constexpr Table<TrajectoryStatus, 5> kTrajectoryStatuses{{
    {TrajectoryStatus::ok, "ok"},
    {TrajectoryStatus::step_underflow, "step_underflow"},
    {TrajectoryStatus::non_finite, "non_finite"},
    {TrajectoryStatus::max_steps, "max_steps"},
    {TrajectoryStatus::no_convergence, "no_convergence"},
}};
inline constexpr Table<Schedule, 4> kSchedules{{
    {Schedule::constant, "constant"},
    {Schedule::step, "step"},
    {Schedule::one_cycle, "one_cycle"},
    {Schedule::cosine, "cosine"},
}};
inline constexpr Table<DatasetKind, 2> kDatasetKinds{{
    {DatasetKind::derivatives, "derivatives"},
    {DatasetKind::trajectories, "trajectories"},
}};

// The name of `value`, or "unknown" for a value outside the table (a cast).
template <class E, std::size_t N>
constexpr std::string_view name_of(const Table<E, N>& table, E value) {
  for (const Entry<E>& e : table)
    if (e.value == value) return e.name;
  return "unknown";
}

// The names of the table, in order, separated by ", ".
template <class E, std::size_t N>
std::string accepted(const Table<E, N>& table) {
  std::string out;
  for (const Entry<E>& e : table) {
    out += out.empty() ? "" : ", ";
    out += e.name;
  }
  return out;
}

// The value named `name`; otherwise InvalidArgument
// "unknown <what> '<name>' (accepted: <the names>)".
template <class E, std::size_t N>
E parse(const Table<E, N>& table, std::string_view name, std::string_view what) {
  for (const Entry<E>& e : table)
    if (e.name == name) return e.value;
  throw InvalidArgument("unknown " + std::string(what) + " '" + std::string(name) +
                        "' (accepted: " + accepted(table) + ")");
}

// The value whose underlying number is `number` (the C API's constants,
// static_assert-ed equal to the enums'); otherwise InvalidArgument
// "<what> = <number> is unknown (<name> = <number>, ...)".
template <class E, std::size_t N>
E from_number(const Table<E, N>& table, long long number, std::string_view what,
              std::string_view c_prefix) {
  for (const Entry<E>& e : table)
    if (static_cast<long long>(e.value) == number) return e.value;
  std::string known;
  for (const Entry<E>& e : table) {
    known += known.empty() ? "" : ", ";
    known += std::string(c_prefix);
    for (const char c : e.name) known += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    known += " = " + std::to_string(static_cast<long long>(e.value));
  }
  throw InvalidArgument(std::string(what) + " = " + std::to_string(number) + " is unknown (" +
                        known + ")");
}

}  // namespace lnn::enum_names
