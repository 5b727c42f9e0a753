// Training checkpoints: a model file plus the Adam moments (tensors
// optimizer.m, optimizer.v) and lnn.train.* metadata, written and read
// through the model-file code (src/io/model_file_detail.hpp) so that a
// checkpoint stays loadable as a plain model. Format: docs/file-formats.md.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "io/model_file_detail.hpp"
#include "lnn/errors.hpp"
#include "lnn/optimizer.hpp"

namespace lnn LNN_CXX_API {
namespace {

using json = nlohmann::json;

constexpr const char* kFirstMoment = "optimizer.m";
constexpr const char* kSecondMoment = "optimizer.v";
constexpr const char* kStep = "lnn.train.step";
constexpr const char* kSkipped = "lnn.train.skipped";
// Adam's own step count, which differs from lnn.train.step by the skipped
// steps; it drives the bias correction, so it is stored rather than derived.
constexpr const char* kOptimizerSteps = "lnn.train.optimizer_steps";
constexpr const char* kConfig = "lnn.train.config";
constexpr const char* kOptions = "lnn.train.optimizer";
constexpr const char* kFigures = "lnn.train.figures";  // {"loss": x, "val_l1": y}, null for NaN

std::string figures_to_json(const TrainState& s) {
  auto value = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  return json{{"loss", value(s.loss)}, {"val_l1", value(s.val_loss)}}.dump();
}

void figures_from_json(const std::string& text, const std::string& path, TrainState& s) {
  const json j = json::parse(text, nullptr, false);
  auto read = [&](const char* key) {
    if (!j.is_object() || !j.contains(key)) {
      throw FileError(path, std::string("metadata ") + kFigures + " lacks " + key);
    }
    const json& v = j.at(key);
    if (v.is_null()) return static_cast<double>(NAN);
    if (!v.is_number()) throw FileError(path, std::string("metadata ") + kFigures + "." + key + " is not a number");
    return v.get<double>();
  };
  s.loss = read("loss");
  s.val_loss = read("val_l1");
}

// nlohmann writes doubles in the shortest form that reads back to the same
// bits, so the options round-trip exactly.
std::string options_to_json(const OptimizerOptions& o) {
  const nlohmann::ordered_json j = {{"lr", o.lr},
                                    {"schedule", to_string(o.schedule)},
                                    {"beta1", o.beta1},
                                    {"beta2", o.beta2},
                                    {"eps", o.eps},
                                    {"weight_decay", o.weight_decay},
                                    {"decoupled", o.decoupled},
                                    {"clip_norm", o.clip_norm},
                                    {"warmup_fraction", o.warmup_fraction},
                                    {"div_factor", o.div_factor},
                                    {"final_div_factor", o.final_div_factor}};
  return j.dump();
}

// Every field is required and no other is allowed: a checkpoint resumes
// exactly the optimizer that wrote it, not one completed with defaults.
OptimizerOptions options_from_json(const std::string& text, const std::string& path) {
  const std::string where = std::string("metadata ") + kOptions;
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw FileError(path, where + " is not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw FileError(path, where + " is not a JSON object");
  OptimizerOptions o;
  std::size_t fields = 0;
  auto number = [&](const char* key, double& out) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number()) {
      throw FileError(path, where + " has no number '" + key + "'");
    }
    out = it->get<double>();
    ++fields;
  };
  number("lr", o.lr);
  number("beta1", o.beta1);
  number("beta2", o.beta2);
  number("eps", o.eps);
  number("weight_decay", o.weight_decay);
  number("clip_norm", o.clip_norm);
  number("warmup_fraction", o.warmup_fraction);
  number("div_factor", o.div_factor);
  number("final_div_factor", o.final_div_factor);
  const auto schedule = j.find("schedule");
  if (schedule == j.end() || !schedule->is_string()) {
    throw FileError(path, where + " has no string 'schedule'");
  }
  try {
    o.schedule = parse_schedule(schedule->get<std::string>());
    ++fields;
  } catch (const InvalidArgument& e) {
    throw FileError(path, where + ": " + e.what());
  }
  const auto decoupled = j.find("decoupled");
  if (decoupled == j.end() || !decoupled->is_boolean()) {
    throw FileError(path, where + " has no boolean 'decoupled'");
  }
  o.decoupled = decoupled->get<bool>();
  ++fields;
  if (j.size() != fields) {
    throw FileError(path, where + " has " + std::to_string(j.size() - fields) +
                              " unknown field(s); expected exactly " + std::to_string(fields));
  }
  try {
    o.validate();
  } catch (const InvalidArgument& e) {
    throw FileError(path, where + ": " + e.what());
  }
  return o;
}

std::optional<std::int64_t> parse_count(const std::string& s) {
  std::int64_t value = 0;
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (s.empty() || ec != std::errc() || ptr != end || value < 0) return std::nullopt;
  return value;
}

}  // namespace

template <class T>
void save_checkpoint(const std::string& path, const Model<T>& model, const Adam<T>& optimizer,
                     const TrainState& state) {
  const std::size_t count = model.parameters().size();
  if (optimizer.first_moment().size() != count) {
    throw InvalidArgument("save_checkpoint: the optimizer has moments for " +
                          std::to_string(optimizer.first_moment().size()) +
                          " parameters, the model has " + std::to_string(count));
  }
  // What load_checkpoint would refuse is refused here, before the old file goes.
  if (state.step < 0 || state.skipped < 0) {
    throw FileError(path, "refusing to write: negative step (" + std::to_string(state.step) +
                              ") or skipped count (" + std::to_string(state.skipped) + ")");
  }
  if (!json::accept(state.config)) {
    throw FileError(path, "refusing to write: the training config is not valid JSON");
  }
  const std::map<std::string, std::string> train_metadata = {
      {kStep, std::to_string(state.step)},
      {kSkipped, std::to_string(state.skipped)},
      {kOptimizerSteps, std::to_string(optimizer.steps())},
      {kConfig, state.config},
      {kFigures, figures_to_json(state)},
      {kOptions, options_to_json(optimizer.options())},
  };
  io::save_model_file<T>(
      model, path, {}, train_metadata,
      {{kFirstMoment, optimizer.first_moment()}, {kSecondMoment, optimizer.second_moment()}});
}

template <class T>
Checkpoint<T> load_checkpoint(const std::string& path) {
  io::ModelFileContents<T> c = io::load_model_file<T>(path);
  if (c.train_metadata.empty() && c.extra.empty()) {
    throw FileError(path,
                    "no training state: this is a model file without the optimizer.m/.v "
                    "tensors and lnn.train.* metadata of a checkpoint");
  }
  constexpr Precision precision = std::is_same_v<T, float> ? Precision::f32 : Precision::f64;
  if (c.precision != precision) {
    const char* stored = c.precision == Precision::f32 ? "F32" : "F64";
    throw FileError(path, std::string("the checkpoint's tensors are ") + stored +
                              ", but it is being loaded as " +
                              (precision == Precision::f32 ? "F32" : "F64") +
                              "; resume in the precision it was written in");
  }
  auto metadata = [&](const char* key) -> const std::string& {
    const auto it = c.train_metadata.find(key);
    if (it == c.train_metadata.end()) throw FileError(path, std::string("metadata has no ") + key);
    return it->second;
  };
  auto count = [&](const char* key) {
    const std::optional<std::int64_t> value = parse_count(metadata(key));
    if (!value) {
      throw FileError(path, std::string("metadata ") + key + " = '" + metadata(key) +
                                "' is not a non-negative integer");
    }
    return *value;
  };
  TrainState state;
  state.step = count(kStep);
  state.skipped = count(kSkipped);
  const std::int64_t optimizer_steps = count(kOptimizerSteps);
  state.config = metadata(kConfig);
  if (!json::accept(state.config)) {
    throw FileError(path, std::string("metadata ") + kConfig + " is not valid JSON");
  }
  const OptimizerOptions options = options_from_json(metadata(kOptions), path);
  if (c.train_metadata.contains(kFigures)) figures_from_json(metadata(kFigures), path, state);
  for (const auto& [key, value] : c.train_metadata) {
    if (key != kStep && key != kSkipped && key != kOptimizerSteps && key != kConfig &&
        key != kOptions && key != kFigures) {
      throw FileError(path, "unknown training metadata key '" + key + "'");
    }
  }

  const std::size_t parameter_count = c.model.parameters().size();
  auto moment = [&](const char* name) -> const std::vector<T>& {
    const auto it = c.extra.find(name);
    if (it == c.extra.end()) throw FileError(path, std::string("missing tensor '") + name + "'");
    if (it->second.size() != parameter_count) {
      throw FileError(path, std::string("tensor '") + name + "' holds " +
                                std::to_string(it->second.size()) + " values, expected " +
                                std::to_string(parameter_count) + " (one per model parameter)");
    }
    return it->second;
  };
  Adam<T> optimizer(parameter_count, options);
  optimizer.restore(moment(kFirstMoment), moment(kSecondMoment), optimizer_steps);
  for (const auto& [name, values] : c.extra) {
    if (name != kFirstMoment && name != kSecondMoment) {
      throw FileError(path, "unexpected tensor '" + name + "' in a checkpoint");
    }
  }
  return {std::move(c.model), std::move(optimizer), std::move(state)};
}

template void save_checkpoint<float>(const std::string&, const Model<float>&, const Adam<float>&,
                                     const TrainState&);
template void save_checkpoint<double>(const std::string&, const Model<double>&, const Adam<double>&,
                                      const TrainState&);
template Checkpoint<float> load_checkpoint<float>(const std::string&);
template Checkpoint<double> load_checkpoint<double>(const std::string&);

}  // namespace lnn
