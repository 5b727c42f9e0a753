#include "cli/common.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "lnn/info.hpp"
#include "lnn/train.hpp"

namespace lnn::cli {

std::string in_quotes(std::string_view s) {
  constexpr std::size_t kMax = 40;
  if (s.size() > kMax) return "'" + std::string(s.substr(0, kMax)) + "...'";
  return "'" + std::string(s) + "'";
}

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_list(std::string_view text, char sep) {
  std::vector<std::string> out;
  for (;;) {
    const std::size_t pos = text.find(sep);
    out.emplace_back(trim(text.substr(0, pos)));
    if (pos == std::string_view::npos) break;
    text.remove_prefix(pos + 1);
  }
  return out;
}

std::vector<int> parse_int_list(std::string_view text, std::string_view what) {
  const std::string prefix = what.empty() ? std::string() : std::string(what) + ": ";
  std::vector<int> out;
  for (const std::string& field : split_list(text)) {
    int v = 0;
    const char* last = field.data() + field.size();
    const auto r = std::from_chars(field.data(), last, v);
    if (field.empty() || r.ec != std::errc() || r.ptr != last) {
      throw InvalidArgument(prefix + in_quotes(field) +
                            " is not an integer (expected a list such as 128,128,128)");
    }
    if (v <= 0) throw InvalidArgument(prefix + "widths must be positive");
    out.push_back(v);
  }
  return out;
}

std::string join_ints(const std::vector<int>& values) {
  std::string out;
  for (int v : values) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

ModelSpec SpecFlags::spec() const {
  ModelSpec s;
  s.n = n;
  s.hidden = parse_int_list(hidden, "--hidden");
  s.activation = parse_activation(activation);
  const std::vector<std::string> names = split_list(embedding);
  if (names.size() != 1 && names.size() != static_cast<std::size_t>(n)) {
    throw InvalidArgument("--embedding: " + std::to_string(names.size()) +
                          " names given; give one for all coordinates or one per coordinate (n = " +
                          std::to_string(n) + ")");
  }
  for (int j = 0; j < n; ++j) {
    s.embedding.push_back(parse_embedding(names.size() == 1 ? names[0] : names[j]));
  }
  s.validate();
  return s;
}

Init SpecFlags::init_scheme() const { return parse_init(init); }

CLI::Option* add_activation_option(CLI::App& sub, std::string& activation) {
  std::string names;
  for (const Activation a : {Activation::softplus, Activation::tanh, Activation::silu,
                             Activation::gelu, Activation::xtanh_half}) {
    names += (names.empty() ? "" : " | ") + std::string(to_string(a));
  }
  return sub.add_option("--activation", activation, names + " (relu is refused)")
      ->capture_default_str()
      ->check(parsed_by([](const std::string& t) { parse_activation(t); }, "ACTIVATION"));
}

std::vector<CLI::Option*> add_spec_flags(CLI::App& sub, SpecFlags& flags) {
  std::vector<CLI::Option*> opts;
  opts.push_back(sub.add_option("--n", flags.n, "Degrees of freedom (states have 2n values)")
                     ->capture_default_str()
                     ->check(CLI::PositiveNumber));
  opts.push_back(
      sub.add_option("--hidden", flags.hidden, "Hidden-layer widths, e.g. 128,128,128")
          ->capture_default_str()
          ->check(parsed_by([](const std::string& t) { parse_int_list(t, ""); }, "WIDTHS")));
  opts.push_back(add_activation_option(sub, flags.activation));
  opts.push_back(
      sub.add_option("--embedding", flags.embedding,
                     "plain | angle, for all coordinates, or one per coordinate (angle,plain)")
          ->capture_default_str()
          ->check(parsed_by(
              [](const std::string& t) {
                for (const std::string& e : split_list(t)) parse_embedding(e);
              },
              "EMBEDDING")));
  opts.push_back(sub.add_option("--init", flags.init, "Initialization: lnn | xavier | he | convex")
                     ->capture_default_str()
                     ->check(parsed_by([](const std::string& t) { parse_init(t); }, "INIT")));
  opts.push_back(sub.add_option("--seed", flags.seed, "Seed of the initialization")
                     ->capture_default_str()
                     ->check(CLI::Validator(
                         [](std::string& t) -> std::string {
                           return trim(t).starts_with('-') ? "must be a non-negative integer" : "";
                         },
                         "SEED")));
  return opts;
}

Device resolve_device(std::string_view name) {
  if (name == "auto") return cuda_devices().empty() ? Device::cpu : Device::cuda;
  return parse_device(name);
}

CLI::Option* add_device_flag(CLI::App& sub, std::string& device) {
  return sub
      .add_option("--device", device,
                  "cpu | cuda | auto (the GPU where this build has the CUDA backend and one is "
                  "usable)")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
}

std::string describe(const ModelSpec& spec) {
  std::string emb;
  bool all_plain = true;
  for (int j = 0; j < spec.n; ++j) {
    emb += (j ? "," : "") + std::string(to_string(spec.embedding_of(j)));
    all_plain = all_plain && spec.embedding_of(j) == Embedding::plain;
  }
  return "n=" + std::to_string(spec.n) + ", hidden " + join_ints(spec.hidden) + ", " +
         std::string(to_string(spec.activation)) + ", embedding " + (all_plain ? "plain" : emb) +
         ", " + std::to_string(spec.parameter_count()) + " parameters";
}

std::string format(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list copy;
  va_copy(copy, args);
  const int size = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string out(size > 0 ? static_cast<std::size_t>(size) : 0U, '\0');
  if (size > 0) std::vsnprintf(out.data(), out.size() + 1, fmt, args);
  va_end(args);
  return out;
}

void apply_config_file(CLI::App& sub, const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw FileError(path, "is a directory, not a configuration file");
  }
  if (!std::ifstream(path)) {
    throw FileError(path, std::string("cannot open the configuration file: ") + std::strerror(errno));
  }
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_file(path);
  } catch (const CLI::Error& e) {
    throw FileError(path, e.what());
  }
  for (const CLI::ConfigItem& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // CLI11's section markers
    if (!item.parents.empty() && !(item.parents.size() == 1 && item.parents[0] == sub.get_name())) {
      throw FileError(path, "section [" + item.parents[0] + "] is not [" + sub.get_name() + "]");
    }
    std::string key = item.name;
    std::replace(key.begin(), key.end(), '_', '-');
    CLI::Option* opt = sub.get_option_no_throw("--" + key);
    if (opt == nullptr || key == "config") {
      throw FileError(path, "unknown key '" + item.name + "' (keys are the long options of 'lnn " +
                                sub.get_name() + "')");
    }
    if (opt->count() > 0) continue;
    // A TOML array for an option that takes one list ("hidden = [32, 32]")
    // is that list, as on the command line ("--hidden 32,32").
    std::vector<std::string> inputs = item.inputs;
    if (inputs.size() > 1 && opt->get_expected_max() == 1) {
      std::string joined;
      for (const std::string& v : inputs) joined += (joined.empty() ? "" : ",") + v;
      inputs = {joined};
    }
    try {
      opt->add_result(inputs);
      opt->run_callback();
    } catch (const CLI::Error& e) {
      throw FileError(path, "key '" + item.name + "': " + e.what());
    }
  }
}

std::vector<double> parse_double_list(std::string_view text, std::string_view flag) {
  std::vector<double> out;
  for (const std::string& item : split_list(text)) {
    double v = 0;
    const auto r = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || r.ec != std::errc() || r.ptr != item.data() + item.size() ||
        !std::isfinite(v)) {
      throw InvalidArgument(std::string(flag) + ": " + in_quotes(item) + " is not a finite number");
    }
    out.push_back(v);
  }
  if (out.empty()) throw InvalidArgument(std::string(flag) + ": no values");
  return out;
}

std::unique_ptr<System> system_for(const std::string& name, const std::vector<std::string>& params,
                                   const std::string& model) {
  std::string system_name = name;
  std::map<std::string, double> values;
  if (system_name.empty() && !model.empty() && model != "analytic") {
    const ModelFileInfo info = read_model_info(model);
    const auto cfg = info.training.find("lnn.train.config");
    if (cfg != info.training.end()) {
      const TrainConfig c = TrainConfig::from_json(cfg->second);
      system_name = c.system;
      values = c.system_params;
    }
  }
  if (system_name.empty()) system_name = "double_pendulum";
  for (const auto& [k, v] : parse_parameters(params)) values[k] = v;
  return make_system(system_name, values);
}

std::map<std::string, double> parse_parameters(const std::vector<std::string>& flags) {
  std::map<std::string, double> out;
  for (const std::string& flag : flags) {
    for (const std::string& item : split_list(flag)) {
      const std::size_t eq = item.find('=');
      double value = 0;
      const std::string name(trim(item.substr(0, eq == std::string::npos ? 0 : eq)));
      const std::string text(eq == std::string::npos ? "" : trim(item.substr(eq + 1)));
      const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
      if (eq == std::string::npos || name.empty() || r.ec != std::errc() ||
          r.ptr != text.data() + text.size()) {
        throw InvalidArgument("--param " + in_quotes(item) + " is not NAME=NUMBER");
      }
      out[name] = value;
    }
  }
  return out;
}

void refuse_forced(const System& system, bool unforced, std::string_view command) {
  const SystemInfo& info = system.info();
  std::string actuated;
  for (std::size_t k = 0; k < info.actuated.size(); ++k) {
    if (info.actuated[k] != 0) actuated += (actuated.empty() ? "" : ", ") + info.coordinates[k];
  }
  if (unforced || actuated.empty()) return;
  throw InvalidArgument(std::string(command) + ": " + info.name + " is forced on " + actuated +
                        ", but rollouts integrate the unforced equations (tau = 0): forced "
                        "rollouts are not supported yet. Pass --unforced to roll out with tau = 0.");
}

void refuse_same_file(const std::string& path, std::string_view flag,
                      const std::vector<std::pair<std::string_view, std::string>>& inputs) {
  struct stat out {};
  if (path.empty() || path == "-" || ::stat(path.c_str(), &out) != 0) return;
  for (const auto& [input_flag, input] : inputs) {
    struct stat in {};
    if (input.empty() || input == "-" || ::stat(input.c_str(), &in) != 0) continue;
    if (in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
      throw InvalidArgument(std::string(flag) + " " + in_quotes(path) + " is the same file as " +
                            std::string(input_flag) + " " + in_quotes(input) +
                            ": writing it would destroy the input; choose another output");
    }
  }
}

void refuse_existing(const std::string& path, bool force, std::string_view flag) {
  if (force || path.empty() || path == "-") return;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return;
  throw FileError(path, "exists; " + std::string(flag) +
                            " does not replace a file unless --force is given");
}

void harden_options(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    for (CLI::Option* opt : sub->get_options()) {
      // Paths to write: an empty one is a mistake (an unset shell variable),
      // said as such rather than by whatever opening "" reports.
      if (opt->check_lname("out") || opt->check_lname("log") || opt->check_lname("json")) {
        opt->check(CLI::Validator(
            [](std::string& text) -> std::string {
              return text.empty() ? "an empty path (is a shell variable unset?)" : "";
            },
            "", "nonempty"));
      }
      const std::string type = opt->get_type_name();
      const std::string base = type.substr(0, type.find(':'));
      if (base != "INT" && base != "UINT") continue;
      const bool is_unsigned = base == "UINT";
      opt->transform(
          CLI::Validator(
              [is_unsigned](std::string& text) -> std::string {
                const std::string_view t = trim(text);
                std::size_t i = 0;
                const bool negative = !t.empty() && t[0] == '-';
                if (!t.empty() && (t[0] == '+' || t[0] == '-')) i = 1;
                if (i == t.size() || t.find_first_not_of("0123456789", i) != std::string_view::npos) {
                  return in_quotes(t) + " is not a decimal integer";
                }
                if (negative && is_unsigned) return in_quotes(t) + " is negative; give a number >= 0";
                std::string digits(t.substr(i));
                digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size() - 1));
                const std::string value = (negative ? "-" : "") + digits;
                bool fits = false;
                if (is_unsigned) {
                  std::uint64_t v = 0;
                  const auto r = std::from_chars(value.data(), value.data() + value.size(), v);
                  fits = r.ec == std::errc() && r.ptr == value.data() + value.size();
                } else {
                  std::int64_t v = 0;
                  const auto r = std::from_chars(value.data(), value.data() + value.size(), v);
                  fits = r.ec == std::errc() && r.ptr == value.data() + value.size();
                }
                if (!fits) return in_quotes(t) + " is out of range";
                text = value;
                return "";
              },
              "", "decimal"));
    }
  }
}

StateBox parse_box(const std::string& q_range, const std::string& qdot_range,
                   const System& system) {
  StateBox box;
  if (q_range.empty() && qdot_range.empty()) return box;
  if (q_range.empty() || qdot_range.empty()) {
    throw InvalidArgument("--q-range and --qdot-range go together (give both or neither)");
  }
  const auto n = static_cast<std::size_t>(system.dof());
  for (const bool velocity : {false, true}) {
    const std::string flag = velocity ? "--qdot-range" : "--q-range";
    const std::vector<double> v = parse_double_list(velocity ? qdot_range : q_range, flag);
    if (v.size() != 2 && v.size() != 2 * n) {
      throw InvalidArgument(flag + " " + in_quotes(velocity ? qdot_range : q_range) +
                            " has " + std::to_string(v.size()) +
                            " numbers; give LO,HI for every coordinate or " +
                            std::to_string(n) + " pairs LO,HI (one per coordinate of " +
                            system.name() + ")");
    }
    auto& list = velocity ? box.qdot : box.q;
    for (std::size_t k = 0; k < v.size(); k += 2) {
      if (!(v[k] <= v[k + 1])) {
        throw InvalidArgument(flag + ": interval [" + std::to_string(v[k]) + ", " +
                              std::to_string(v[k + 1]) + ") has LO > HI");
      }
      list.emplace_back(v[k], v[k + 1]);
    }
  }
  return box;
}

std::pair<double, double> parse_interval(const std::string& text, std::string_view flag) {
  const std::vector<std::string> parts = split_list(text);
  double v[2] = {0, 0};
  bool ok = parts.size() == 2;
  for (std::size_t i = 0; ok && i < 2; ++i) {
    const auto r = std::from_chars(parts[i].data(), parts[i].data() + parts[i].size(), v[i]);
    ok = r.ec == std::errc() && r.ptr == parts[i].data() + parts[i].size();
  }
  if (!ok) throw InvalidArgument(std::string(flag) + " " + in_quotes(text) + " is not LO,HI");
  return {v[0], v[1]};
}

}  // namespace lnn::cli
