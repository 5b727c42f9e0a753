// Dataset files in HDF5. The layout is documented in docs/file-formats.md
// ("Datasets (HDF5)"); save_dataset and load_dataset below are its only
// definition in code, so keep the two in step with that page.
#include "lnn/dataset.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <span>

#include "common/text.hpp"
#include "io/atomic_file.hpp"
#include "io/hdf5_util.hpp"
#include "lnn/errors.hpp"
#include "lnn/info.hpp"
#include "lnn/systems.hpp"

namespace lnn LNN_CXX_API {
namespace {

using io::h5::Shape;

constexpr std::string_view kFormat = "lnn-dataset";
constexpr std::int64_t kFormatVersion = 1;
constexpr const char* kRoot = "/";
constexpr const char* kParameters = "/parameters";
constexpr std::string_view kValidatePrefix = "dataset: ";  // of Dataset::validate's messages

using text::in_quotes;

// Dataset::validate's failure.
[[noreturn]] void invalid(const std::string& problem) {
  throw InvalidArgument(std::string(kValidatePrefix) + problem);
}

// The shape of a per-point array with `width` values per point (0: one
// value, no trailing dimension): (P, width) for a derivative set,
// (trajectories, S, width) for a trajectory set.
Shape point_shape(const Dataset& d, std::uint64_t width) {
  Shape shape;
  if (d.kind == DatasetKind::derivatives) {
    shape = {d.points()};
  } else {
    shape = {d.trajectories, d.times.size()};
  }
  if (width > 0) shape.push_back(width);
  return shape;
}

// The shape of `status`: one value per point or per trajectory.
Shape status_shape(const Dataset& d) {
  return {d.kind == DatasetKind::derivatives ? d.points() : d.trajectories};
}

std::vector<std::int8_t> as_int8(const std::vector<std::uint8_t>& flags) {
  return {flags.begin(), flags.end()};
}
std::vector<std::uint8_t> as_flags(const std::vector<std::int8_t>& values) {
  // -1 becomes 255, which validate() then refuses like any other non-flag.
  std::vector<std::uint8_t> out;
  for (std::int8_t v : values) out.push_back(static_cast<std::uint8_t>(v));
  return out;
}

void check_flags(const std::vector<std::uint8_t>& flags, std::size_t n, const char* what) {
  if (flags.size() != n) {
    invalid(std::string(what) + " has " + std::to_string(flags.size()) +
            " entries, expected n = " + std::to_string(n));
  }
  for (std::uint8_t f : flags) {
    if (f > 1) {
      invalid(std::string(what) + " holds " + std::to_string(f) + ", expected flags 0 or 1");
    }
  }
}

// `values` must hold `expected` entries, or none when `optional`.
template <class T>
void check_size(const std::vector<T>& values, std::size_t expected, const char* what,
                bool optional = false) {
  if (values.size() == expected || (optional && values.empty())) return;
  invalid(std::string(what) + " has " + std::to_string(values.size()) + " values, expected " +
          (optional ? "none or " : "") + std::to_string(expected));
}

// Names end at a NUL in HDF5, so a NUL inside one would be cut silently.
void check_name(const std::string& name, const std::string& what) {
  if (name.empty()) invalid(what + " is empty");
  if (name.find('\0') != std::string::npos) {
    invalid(what + " holds a NUL character");
  }
}

std::string flags_text(const std::vector<std::uint8_t>& flags) {
  std::string s = "[";
  for (std::size_t i = 0; i < flags.size(); ++i) s += (i > 0 ? ", " : "") + std::to_string(flags[i]);
  return s + "]";
}

bool any_flag(const std::vector<std::uint8_t>& flags) {
  return std::any_of(flags.begin(), flags.end(), [](std::uint8_t f) { return f != 0; });
}

// The catalogue's system (docs/file-formats.md, root attribute `system`):
// make_system refuses an unknown system, an unknown parameter and a value
// outside its rule; n, angles and actuated must be the system's.
void check_catalogue(const Dataset& d) {
  std::map<std::string, double> values;
  for (const auto& [name, value] : d.parameters) values[name] = value;
  std::unique_ptr<System> system;
  try {
    system = make_system(d.system, values);
  } catch (const InvalidArgument& e) {
    invalid(e.what());
  }
  const SystemInfo& info = system->info();
  if (info.dof != d.n) {
    invalid("n is " + std::to_string(d.n) + ", but system " + info.name + " has n = " +
            std::to_string(info.dof));
  }
  if (d.angles != info.angles) {
    invalid("angles " + flags_text(d.angles) + " are not system " + info.name + "'s " +
            flags_text(info.angles));
  }
  if (d.actuated != info.actuated) {
    invalid("actuated " + flags_text(d.actuated) + " are not system " + info.name + "'s " +
            flags_text(info.actuated));
  }
}

// The values of `what` at the points [first, first + count) (each `width`
// values; 0: one) must be finite: the points of an ok status, since failed
// ones legitimately hold NaN. S: the sample times of a trajectory set (0 for
// a derivative set), to name the trajectory and time in the message.
void check_finite(const std::vector<double>& values, std::size_t width, std::size_t first,
                  std::size_t count, std::size_t S, const char* what) {
  if (values.empty()) return;
  const std::size_t w = std::max<std::size_t>(width, 1);
  for (std::size_t i = first * w; i < (first + count) * w; ++i) {
    if (std::isfinite(values[i])) continue;
    const std::size_t p = i / w;
    const std::string where =
        S == 0 ? "point " + std::to_string(p)
               : "trajectory " + std::to_string(p / S) + " at times[" + std::to_string(p % S) + "]";
    invalid(std::string(what) + " is " + (std::isnan(values[i]) ? "NaN" : "infinite") + " at " +
            where + ", whose status is ok (0); only failed points may hold non-finite values");
  }
}

// Datasets::validate with a choice: save_dataset takes a Dataset of an
// actuated system without tau (an unforced rollout) and writes τ = 0.
void validate_dataset(const Dataset& d, bool tau_may_be_missing);

// ---- loading ---------------------------------------------------------------------

class Loader {
 public:
  explicit Loader(const std::string& path) : path_(path), file_(path) {}

  Dataset load() {
    Dataset d;
    read_header(d);
    read_parameters(d);
    read_arrays(d);
    fill_rollout_tau(d);
    try {
      d.validate();
    } catch (const InvalidArgument& e) {
      std::string why = e.what();
      if (why.starts_with(kValidatePrefix)) why.erase(0, kValidatePrefix.size());
      fail("invalid dataset: " + why);
    }
    return d;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const { throw FileError(path_, problem); }

  void read_header(Dataset& d) const {
    if (!file_.has_attribute(kRoot, "format")) {
      fail("not an lnn dataset: no attribute 'format' in the root group");
    }
    const std::string format = file_.read_string(kRoot, "format");
    if (format != kFormat) {
      fail("not an lnn dataset: attribute 'format' is " + in_quotes(format) + ", expected " +
           in_quotes(kFormat));
    }
    const std::int64_t version = file_.read_int64(kRoot, "format_version");
    if (version > kFormatVersion) {
      fail("format version " + std::to_string(version) + " is newer than this lnn reads (" +
           std::to_string(kFormatVersion) + ")");
    }
    if (version < 1) fail("format version " + std::to_string(version) + " is not valid");

    const std::string kind = file_.read_string(kRoot, "kind");
    try {
      d.kind = parse_dataset_kind(kind);
    } catch (const InvalidArgument& e) {
      fail(std::string("attribute 'kind': ") + e.what());
    }
    d.system = file_.read_string(kRoot, "system");
    const std::int64_t n = file_.read_int64(kRoot, "n");
    // Bounded so that 2n and the shapes derived from it cannot overflow.
    if (n < 1 || n > INT_MAX / 2) {
      fail("attribute 'n' is " + std::to_string(n) + ", expected a number of degrees of freedom");
    }
    d.n = static_cast<int>(n);
    d.seed = file_.read_uint64(kRoot, "seed");
    d.potential_scale = file_.read_double(kRoot, "potential_scale");
    d.generator = file_.read_string(kRoot, "generator");
    d.angles = as_flags(file_.read_int8s(kRoot, "angles"));
    d.actuated = as_flags(file_.read_int8s(kRoot, "actuated"));
    if (file_.has_attribute(kRoot, "user_system")) {
      d.user_system = file_.read_int64(kRoot, "user_system") != 0;
    }
  }

  // lnn rollout and lnn sweep roll actuated systems out unforced and wrote
  // no tau before issue 19; their files mean τ = 0 (docs/file-formats.md).
  static void fill_rollout_tau(Dataset& d) {
    if (!d.tau.empty() || !any_flag(d.actuated)) return;
    const nlohmann::json gen = nlohmann::json::parse(d.generator, nullptr, false);
    if (!gen.is_object() || !gen.contains("tool")) return;
    const nlohmann::json& tool = gen["tool"];
    if (tool == "lnn rollout" || tool == "lnn sweep") {
      d.tau.assign(d.points() * static_cast<std::size_t>(d.n), 0.0);
    }
  }

  // The group's attributes hold the values; parameter_names their order.
  void read_parameters(Dataset& d) const {
    const std::vector<std::string> names = file_.read_strings(kRoot, "parameter_names");
    if (!file_.has_object(kParameters)) fail("no group 'parameters'");
    for (const std::string& stored : file_.attribute_names(kParameters)) {
      if (std::find(names.begin(), names.end(), stored) == names.end()) {
        fail("attribute " + in_quotes(stored) +
             " of 'parameters' is not listed in parameter_names");
      }
    }
    for (const std::string& name : names) {
      d.parameters.emplace_back(name, file_.read_double(kParameters, name));
    }
  }

  // The leading dimensions of dataset `path`, whose shape must be
  // (lead…, tail…) with one leading dimension per entry of `symbols`.
  Shape leading(const std::string& path, const std::vector<std::string>& symbols,
                const Shape& tail) const {
    const Shape s = file_.dataset_shape(path);
    const std::size_t lead = symbols.size();
    const bool rank_ok = s.size() == lead + tail.size();
    if (rank_ok && std::equal(tail.begin(), tail.end(), s.begin() + static_cast<long>(lead))) {
      return Shape(s.begin(), s.begin() + static_cast<long>(lead));
    }
    // The expected shape, with the leading dimensions as found when the rank
    // is right and as symbols otherwise: "(10, 4)", "(P, 4)".
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < lead; ++i)
      parts.push_back(rank_ok ? std::to_string(s[i]) : symbols[i]);
    for (std::uint64_t t : tail) parts.push_back(std::to_string(t));
    std::string expected = "(";
    for (std::size_t i = 0; i < parts.size(); ++i) expected += (i > 0 ? ", " : "") + parts[i];
    expected += parts.size() == 1 ? ",)" : ")";
    fail(in_quotes(path.substr(1)) + " has shape " + io::h5::shape_text(s) + ", expected " +
         expected);
  }

  template <class T>
  void read_optional(const std::string& path, const Shape& shape, std::vector<T>& out) const {
    if (file_.has_object(path)) file_.read_dataset(path, shape, out);
  }

  void read_arrays(Dataset& d) const {
    const auto un = static_cast<std::uint64_t>(d.n);
    if (d.kind == DatasetKind::derivatives) {
      const std::uint64_t P = leading("/states", {"P"}, {2 * un})[0];
      file_.read_dataset("/states", {P, 2 * un}, d.states);
    } else {
      const std::uint64_t S = leading("/times", {"S"}, {})[0];
      file_.read_dataset("/times", {S}, d.times);
      d.trajectories = leading("/states", {"T"}, {S, 2 * un})[0];
      file_.read_dataset("/states", {d.trajectories, S, 2 * un}, d.states);
    }
    // From here on the shapes follow from kind, n, the points, trajectories and times.
    read_optional("/states_true", point_shape(d, 2 * un), d.states_true);
    file_.read_dataset("/accelerations", point_shape(d, un), d.accelerations);
    if (d.user_system) {
      read_optional("/energies", point_shape(d, 0), d.energies);
    } else {
      file_.read_dataset("/energies", point_shape(d, 0), d.energies);
    }
    read_optional("/model_energies", point_shape(d, 0), d.model_energies);
    read_optional("/tau", point_shape(d, un), d.tau);
    file_.read_dataset("/status", status_shape(d), d.status);
    if (d.kind == DatasetKind::trajectories) {
      read_optional("/accepted", {d.trajectories}, d.accepted);
      read_optional("/rejected", {d.trajectories}, d.rejected);
    }
  }

  std::string path_;
  io::h5::Reader file_;
};

}  // namespace

void Dataset::validate() const { validate_dataset(*this, false); }

namespace {

void validate_dataset(const Dataset& d, bool tau_may_be_missing) {
  if (d.kind != DatasetKind::derivatives && d.kind != DatasetKind::trajectories)
    invalid("unknown kind");
  check_name(d.system, "the system name");
  if (d.n < 1) invalid("n (degrees of freedom) must be at least 1, got " + std::to_string(d.n));
  const auto un = static_cast<std::size_t>(d.n);

  std::set<std::string> names;
  for (const auto& [name, value] : d.parameters) {
    check_name(name, "a parameter name");
    if (!names.insert(name).second) invalid("parameter " + in_quotes(name) + " appears twice");
    if (!std::isfinite(value)) invalid("parameter " + in_quotes(name) + " is not finite");
  }
  check_flags(d.angles, un, "angles");
  check_flags(d.actuated, un, "actuated");
  if (!d.user_system) check_catalogue(d);
  if (!(std::isfinite(d.potential_scale) && d.potential_scale > 0)) {
    invalid("potential_scale must be finite and > 0, got " + std::to_string(d.potential_scale));
  }
  const nlohmann::json gen = nlohmann::json::parse(d.generator, nullptr, false);
  if (!gen.is_object()) invalid("generator is not a JSON object");

  if (d.states.size() % (2 * un) != 0) {
    invalid("states has " + std::to_string(d.states.size()) +
            " values, not a multiple of 2n = " + std::to_string(2 * un));
  }
  const std::size_t P = d.points();
  if (P == 0) invalid("no points (states is empty)");
  check_size(d.states_true, d.states.size(), "states_true", true);
  check_size(d.accelerations, P * un, "accelerations");
  check_size(d.energies, P, "energies", d.user_system);  // a user system may have no true energy
  check_size(d.model_energies, P, "model_energies", true);
  check_size(d.tau, P * un, "tau", true);
  // Without τ the accelerations of a forced system hold forces nobody knows
  // (docs/file-formats.md: tau is there for every system with an actuated coordinate).
  if (d.tau.empty() && any_flag(d.actuated) && !tau_may_be_missing) {
    invalid("tau is missing, but system " + d.system + " has actuated coordinates " +
            flags_text(d.actuated) + ": its accelerations depend on forces the dataset lacks");
  }

  // Points per status entry: 1 for a derivative set, S for a trajectory set.
  std::size_t per_status = 1, S = 0;
  if (d.kind == DatasetKind::derivatives) {
    if (d.trajectories != 0) {
      invalid("trajectories must be 0 for a derivative set, got " + std::to_string(d.trajectories));
    }
    check_size(d.times, 0, "times (a derivative set has none)");
    check_size(d.status, P, "status");
    check_size(d.accepted, 0, "accepted (a derivative set has none)");
    check_size(d.rejected, 0, "rejected (a derivative set has none)");
  } else {
    if (d.times.empty()) invalid("a trajectory set needs at least one sample time");
    // Divided, not multiplied: a huge count must not wrap around to P.
    if (P % d.times.size() != 0 || P / d.times.size() != d.trajectories) {
      invalid(std::to_string(d.trajectories) + " trajectories × " + std::to_string(d.times.size()) +
              " times is not the " + std::to_string(P) + " points in states");
    }
    check_size(d.status, d.trajectories, "status");
    check_size(d.accepted, d.trajectories, "accepted", true);
    check_size(d.rejected, d.trajectories, "rejected", true);
    // Ascending as the integrators take them (integrate.hpp); equal neighbours allowed.
    for (std::size_t s = 0; s < d.times.size(); ++s) {
      if (!std::isfinite(d.times[s])) {
        invalid("times[" + std::to_string(s) + "] is not finite");
      }
      if (s > 0 && d.times[s] < d.times[s - 1]) {
        invalid("times are not ascending: times[" + std::to_string(s) + "] = " +
                std::to_string(d.times[s]) + " comes before times[" + std::to_string(s - 1) +
                "] = " + std::to_string(d.times[s - 1]));
      }
    }
    per_status = S = d.times.size();
  }
  // Points whose status is ok hold finite values; failed ones may hold NaN.
  for (std::size_t k = 0; k < d.status.size(); ++k) {
    if (d.status[k] != 0) continue;
    const std::size_t first = k * per_status;
    check_finite(d.states, 2 * un, first, per_status, S, "states");
    check_finite(d.states_true, 2 * un, first, per_status, S, "states_true");
    check_finite(d.accelerations, un, first, per_status, S, "accelerations");
    check_finite(d.energies, 0, first, per_status, S, "energies");
    check_finite(d.model_energies, 0, first, per_status, S, "model_energies");
    check_finite(d.tau, un, first, per_status, S, "tau");
  }
}

}  // namespace

std::size_t mark_non_finite_trajectories(Dataset& data) {
  if (data.kind != DatasetKind::trajectories || data.n < 1) return 0;
  const std::size_t S = data.times.size(), un = static_cast<std::size_t>(data.n);
  // Every value of point rows [first, first + S) of `values` (width w per point).
  auto finite = [S](const std::vector<double>& values, std::size_t w, std::size_t first) {
    if (values.size() < (first + S) * w) return true;  // absent (or misshapen: validate says so)
    return std::all_of(values.begin() + static_cast<std::ptrdiff_t>(first * w),
                       values.begin() + static_cast<std::ptrdiff_t>((first + S) * w),
                       [](double v) { return std::isfinite(v); });
  };
  std::size_t marked = 0;
  for (std::size_t b = 0; b < data.status.size(); ++b) {
    if (data.status[b] != 0) continue;
    const std::size_t first = b * S;
    const bool ok = finite(data.states, 2 * un, first) && finite(data.states_true, 2 * un, first) &&
                    finite(data.accelerations, un, first) && finite(data.energies, 1, first) &&
                    finite(data.model_energies, 1, first) && finite(data.tau, un, first);
    if (!ok) {
      data.status[b] = 2;  // TrajectoryStatus::non_finite (integrate.hpp)
      ++marked;
    }
  }
  return marked;
}

void save_dataset(const Dataset& data, const std::string& path) {
  validate_dataset(data, true);
  const auto un = static_cast<std::uint64_t>(data.n);
  std::vector<std::string> names;
  for (const auto& [name, value] : data.parameters) names.push_back(name);
  // An unforced rollout of an actuated system (lnn rollout, a sweep's truth)
  // comes without τ: the file says τ = 0 (docs/file-formats.md).
  std::vector<double> zero_tau;
  if (data.tau.empty() && any_flag(data.actuated)) zero_tau.assign(data.points() * un, 0.0);
  const std::vector<double>& tau = zero_tau.empty() ? data.tau : zero_tau;
  const std::size_t data_bytes =
      sizeof(double) * (data.times.size() + data.states.size() + data.states_true.size() +
                        data.accelerations.size() + data.energies.size() + data.model_energies.size() +
                        tau.size()) +
      data.status.size() + sizeof(std::int64_t) * (data.accepted.size() + data.rejected.size()) +
      data.generator.size();

  io::h5::Writer out(path, data_bytes);
  out.write_string(kRoot, "format", kFormat);
  out.write_int64(kRoot, "format_version", kFormatVersion);
  out.write_string(kRoot, "kind", to_string(data.kind));
  out.write_string(kRoot, "system", data.system);
  // Only when set, so that the files of catalogue systems stay as they were.
  if (data.user_system) out.write_int64(kRoot, "user_system", 1);
  out.write_int64(kRoot, "n", data.n);
  out.write_uint64(kRoot, "seed", data.seed);
  out.write_double(kRoot, "potential_scale", data.potential_scale);
  out.write_string(kRoot, "generator", data.generator);
  out.write_int8s(kRoot, "angles", as_int8(data.angles));
  out.write_int8s(kRoot, "actuated", as_int8(data.actuated));
  out.write_strings(kRoot, "parameter_names", names);
  out.write_string(kRoot, "lnn_version", version());
  out.create_group(kParameters);
  for (const auto& [name, value] : data.parameters) out.write_double(kParameters, name, value);

  if (data.kind == DatasetKind::trajectories) {
    out.write_dataset("/times", {data.times.size()}, std::span<const double>(data.times));
  }
  auto optional = [&](const std::string& name, const Shape& shape,
                      const std::vector<double>& values) {
    if (!values.empty()) out.write_dataset(name, shape, std::span<const double>(values));
  };
  out.write_dataset("/states", point_shape(data, 2 * un), std::span<const double>(data.states));
  optional("/states_true", point_shape(data, 2 * un), data.states_true);
  out.write_dataset("/accelerations", point_shape(data, un),
                    std::span<const double>(data.accelerations));
  optional("/energies", point_shape(data, 0), data.energies);  // empty only for a user system
  optional("/model_energies", point_shape(data, 0), data.model_energies);
  optional("/tau", point_shape(data, un), tau);
  out.write_dataset("/status", status_shape(data), std::span<const std::int8_t>(data.status));
  if (!data.accepted.empty()) {
    out.write_dataset("/accepted", {data.trajectories},
                      std::span<const std::int64_t>(data.accepted));
  }
  if (!data.rejected.empty()) {
    out.write_dataset("/rejected", {data.trajectories},
                      std::span<const std::int64_t>(data.rejected));
  }
  const std::vector<unsigned char> image = out.finish();

  // Only now is there a temporary to clean up: the file is complete in memory.
  io::AtomicFile file(path);
  file.write(image.data(), image.size());
  file.commit();
}

// A whole read first in a child process (docs/reliability.md, "Reading HDF5
// in a child first"): a fault of libhdf5 on corrupted metadata is then a
// FileError here, not the end of the caller's process.
Dataset load_dataset(const std::string& path) {
  io::h5::read_in_child_first(path, [&] { (void)Loader(path).load(); });
  return Loader(path).load();
}

}  // namespace lnn
