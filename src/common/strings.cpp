// Names of the public enums, and their parsers. One table per enum.
#include <array>
#include <string>
#include <utility>

#include "lnn/engine.hpp"
#include "lnn/errors.hpp"
#include "lnn/model.hpp"
#include "lnn/solve.hpp"

namespace lnn {
namespace {

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [e, name] : table)
    if (e == value) return name;
  return "unknown";
}

template <class E, std::size_t N>
E parse(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view name,
        const char* what) {
  std::string accepted;
  for (const auto& [e, n] : table) {
    if (n == name) return e;
    accepted += accepted.empty() ? "" : ", ";
    accepted += n;
  }
  throw InvalidArgument("unknown " + std::string(what) + " '" + std::string(name) +
                        "' (accepted: " + accepted + ")");
}

constexpr std::array<std::pair<Activation, std::string_view>, 5> kActivations{{
    {Activation::softplus, "softplus"},
    {Activation::tanh, "tanh"},
    {Activation::silu, "silu"},
    {Activation::gelu, "gelu"},
    {Activation::xtanh_half, "xtanh_half"},
}};
constexpr std::array<std::pair<Embedding, std::string_view>, 2> kEmbeddings{{
    {Embedding::plain, "plain"},
    {Embedding::angle, "angle"},
}};
constexpr std::array<std::pair<Init, std::string_view>, 4> kInits{{
    {Init::lnn, "lnn"},
    {Init::xavier, "xavier"},
    {Init::he, "he"},
    {Init::convex, "convex"},
}};
constexpr std::array<std::pair<SolveMethod, std::string_view>, 4> kSolveMethods{{
    {SolveMethod::cholesky, "cholesky"},
    {SolveMethod::lu, "lu"},
    {SolveMethod::damped, "damped"},
    {SolveMethod::pinv, "pinv"},
}};
constexpr std::array<std::pair<SolveStatus, std::string_view>, 3> kSolveStatuses{{
    {SolveStatus::ok, "ok"},
    {SolveStatus::not_positive_definite, "not_positive_definite"},
    {SolveStatus::singular, "singular"},
}};
constexpr std::array<std::pair<Device, std::string_view>, 2> kDevices{{
    {Device::cpu, "cpu"},
    {Device::cuda, "cuda"},
}};
constexpr std::array<std::pair<Loss, std::string_view>, 2> kLosses{{
    {Loss::l1, "l1"},
    {Loss::mse, "mse"},
}};

}  // namespace

std::string_view to_string(Activation a) { return name_of(kActivations, a); }
std::string_view to_string(Embedding e) { return name_of(kEmbeddings, e); }
std::string_view to_string(Init i) { return name_of(kInits, i); }
std::string_view to_string(SolveMethod m) { return name_of(kSolveMethods, m); }
std::string_view to_string(SolveStatus s) { return name_of(kSolveStatuses, s); }
std::string_view to_string(Device d) { return name_of(kDevices, d); }
std::string_view to_string(Loss l) { return name_of(kLosses, l); }

Activation parse_activation(std::string_view name) {
  if (name == "relu") {
    throw InvalidArgument(
        "activation 'relu' is refused: its second derivative is zero, so the mass matrix "
        "∂²L/∂q̇² would vanish and the Euler–Lagrange solve is impossible; use softplus, "
        "silu, gelu, tanh or xtanh_half");
  }
  return parse(kActivations, name, "activation");
}
Embedding parse_embedding(std::string_view name) { return parse(kEmbeddings, name, "embedding"); }
Init parse_init(std::string_view name) { return parse(kInits, name, "initialization"); }
SolveMethod parse_solve_method(std::string_view name) {
  return parse(kSolveMethods, name, "solve method");
}
Device parse_device(std::string_view name) { return parse(kDevices, name, "device"); }
Loss parse_loss(std::string_view name) { return parse(kLosses, name, "loss"); }

}  // namespace lnn
