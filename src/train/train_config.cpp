// TrainConfig <-> JSON (stored in checkpoints so that --resume continues the
// same run), its validation, and its completion as `lnn train` makes it.
#include <cmath>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "common/box_json.hpp"
#include "lnn/dataset.hpp"
#include "lnn/errors.hpp"
#include "lnn/systems.hpp"
#include "lnn/train.hpp"

namespace lnn LNN_CXX_API {
namespace {

using Json = nlohmann::ordered_json;

std::string embedding_text(const ModelSpec& spec) {
  std::string s;
  for (int j = 0; j < spec.n; ++j) {
    s += (j ? "," : "") + std::string(to_string(spec.embedding_of(j)));
  }
  return s;
}

// "angle,plain" -> {"angle", "plain"}.
std::vector<std::string> split_embedding(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::size_t end = comma == std::string::npos ? text.size() : comma;
    out.push_back(text.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

// The checkpoint path is left out: it is where the JSON is stored, and a run
// resumed from a copied file must not write back to the original.
std::string TrainConfig::to_json() const {
  Json j;
  j["system"] = system;
  j["system_params"] = system_params;
  j["box_q"] = common::intervals_to_json<Json>(box.q);
  j["box_qdot"] = common::intervals_to_json<Json>(box.qdot);
  j["dataset"] = dataset;
  j["validation_fraction"] = validation_fraction;
  j["validation_samples"] = validation_samples;
  j["n"] = spec.n;
  j["hidden"] = spec.hidden;
  j["activation"] = to_string(spec.activation);
  j["embedding"] = embedding_text(spec);
  j["init"] = to_string(init);
  j["scale_inputs"] = scale_inputs;
  j["lr"] = optimizer.lr;
  j["schedule"] = to_string(optimizer.schedule);
  j["beta1"] = optimizer.beta1;
  j["beta2"] = optimizer.beta2;
  j["eps"] = optimizer.eps;
  j["weight_decay"] = optimizer.weight_decay;
  j["decoupled"] = optimizer.decoupled;
  j["clip_norm"] = optimizer.clip_norm;
  j["warmup_fraction"] = optimizer.warmup_fraction;
  j["div_factor"] = optimizer.div_factor;
  j["final_div_factor"] = optimizer.final_div_factor;
  j["steps"] = steps;
  j["batch"] = batch;
  j["loss"] = to_string(loss);
  j["mass_penalty"] = mass_penalty;
  j["solver"] = to_string(solve.method);
  j["damping"] = solve.damping;
  j["rcond"] = solve.rcond;
  j["seed"] = seed;
  j["max_bad_steps"] = max_bad_steps;
  j["validate_every"] = validate_every;
  j["checkpoint_every"] = checkpoint_every;
  j["diagnostics"] = diagnostics;
  j["keep_checkpoints"] = keep_checkpoints;
  j["device"] = to_string(device);
  j["chunk"] = chunk;
  return j.dump();
}

TrainConfig TrainConfig::from_json(const std::string& text) {
  const Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw InvalidArgument("training configuration is not a JSON object");
  }
  TrainConfig c;
  const char* field = "";
  try {
    auto get = [&](const char* name, auto& out) {
      field = name;
      if (j.contains(name)) out = j.at(name).get<std::remove_reference_t<decltype(out)>>();
    };
    get("system", c.system);
    get("system_params", c.system_params);
    field = "box_q";
    if (j.contains("box_q")) c.box.q = common::intervals_from_json(j.at("box_q"));
    field = "box_qdot";
    if (j.contains("box_qdot")) c.box.qdot = common::intervals_from_json(j.at("box_qdot"));
    get("dataset", c.dataset);
    get("validation_fraction", c.validation_fraction);
    get("validation_samples", c.validation_samples);
    get("n", c.spec.n);
    get("hidden", c.spec.hidden);
    field = "activation";
    if (j.contains("activation")) c.spec.activation = parse_activation(j.at("activation").get<std::string>());
    field = "embedding";
    if (j.contains("embedding")) {
      c.spec.embedding.clear();
      for (const auto& e : split_embedding(j.at("embedding").get<std::string>())) {
        c.spec.embedding.push_back(parse_embedding(e));
      }
    }
    field = "init";
    if (j.contains("init")) c.init = parse_init(j.at("init").get<std::string>());
    get("scale_inputs", c.scale_inputs);
    get("lr", c.optimizer.lr);
    field = "schedule";
    if (j.contains("schedule")) c.optimizer.schedule = parse_schedule(j.at("schedule").get<std::string>());
    get("beta1", c.optimizer.beta1);
    get("beta2", c.optimizer.beta2);
    get("eps", c.optimizer.eps);
    get("weight_decay", c.optimizer.weight_decay);
    get("decoupled", c.optimizer.decoupled);
    get("clip_norm", c.optimizer.clip_norm);
    get("warmup_fraction", c.optimizer.warmup_fraction);
    get("div_factor", c.optimizer.div_factor);
    get("final_div_factor", c.optimizer.final_div_factor);
    get("steps", c.steps);
    get("batch", c.batch);
    field = "loss";
    if (j.contains("loss")) c.loss = parse_loss(j.at("loss").get<std::string>());
    get("mass_penalty", c.mass_penalty);
    field = "solver";
    if (j.contains("solver")) c.solve.method = parse_solve_method(j.at("solver").get<std::string>());
    get("damping", c.solve.damping);
    get("rcond", c.solve.rcond);
    get("seed", c.seed);
    get("max_bad_steps", c.max_bad_steps);
    get("validate_every", c.validate_every);
    get("checkpoint_every", c.checkpoint_every);
    get("diagnostics", c.diagnostics);
    get("keep_checkpoints", c.keep_checkpoints);
    field = "device";
    if (j.contains("device")) c.device = parse_device(j.at("device").get<std::string>());
    get("chunk", c.chunk);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(std::string("training configuration: field '") + field + "': " + e.what());
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(std::string("training configuration: field '") + field + "': " + e.what());
  }
  return c;
}

void TrainConfig::validate() const {
  auto fail = [](const std::string& what) { throw InvalidArgument("training configuration: " + what); };
  spec.validate();
  if (steps < 1) fail("steps must be >= 1");
  if (batch < 1) fail("batch must be >= 1");
  if (!(mass_penalty >= 0) || !std::isfinite(mass_penalty)) fail("mass_penalty must be >= 0");
  if (!(validation_fraction >= 0 && validation_fraction < 1)) {
    fail("validation_fraction must be in [0, 1)");
  }
  if (max_bad_steps < 1) fail("max_bad_steps must be >= 1");
  if (validate_every < 0 || checkpoint_every < 0) fail("validate_every and checkpoint_every must be >= 0");
  if (chunk < 1) fail("chunk must be >= 1");
  optimizer.validate();
}

std::string kept_checkpoint_path(const std::string& checkpoint, std::int64_t step) {
  const std::string ext = ".safetensors";
  const std::string tag = ".step" + std::to_string(step);
  const std::size_t slash = checkpoint.find_last_of('/');
  const std::size_t name = slash == std::string::npos ? 0 : slash + 1;
  if (checkpoint.size() > name + ext.size() &&
      checkpoint.compare(checkpoint.size() - ext.size(), ext.size(), ext) == 0) {
    return checkpoint.substr(0, checkpoint.size() - ext.size()) + tag + ext;
  }
  return checkpoint + tag;
}

void complete_train_config(TrainConfig& c, bool auto_embedding, bool n_given) {
  std::vector<std::uint8_t> angles;
  int n = 0;
  if (c.dataset.empty()) {
    const std::unique_ptr<System> sys = make_system(c.system, c.system_params);
    n = sys->dof();
    angles = sys->info().angles;
  } else {
    const Dataset d = load_dataset(c.dataset);
    n = d.n;
    angles = d.angles;
    c.system = d.system;
    c.system_params.clear();
    for (const auto& [k, v] : d.parameters) c.system_params[k] = v;
  }
  if (n_given && c.spec.n != n) {
    throw InvalidArgument("training configuration: n = " + std::to_string(c.spec.n) + " but " +
                          (c.dataset.empty() ? "system " + c.system : "the dataset " + c.dataset) +
                          " has n = " + std::to_string(n));
  }
  c.spec.n = n;
  if (auto_embedding) {
    c.spec.embedding.clear();
    for (int j = 0; j < n; ++j) {
      const bool angle = static_cast<std::size_t>(j) < angles.size() &&
                         angles[static_cast<std::size_t>(j)] != 0;
      c.spec.embedding.push_back(angle ? Embedding::angle : Embedding::plain);
    }
  } else if (c.spec.embedding.size() == 1 && n > 1) {
    c.spec.embedding.assign(static_cast<std::size_t>(n), c.spec.embedding.front());
  } else if (!c.spec.embedding.empty() && c.spec.embedding.size() != static_cast<std::size_t>(n)) {
    throw InvalidArgument("training configuration: embedding: give auto, one name, or n = " +
                          std::to_string(n) + " names, got " +
                          std::to_string(c.spec.embedding.size()));
  }
  c.validate();
}

}  // namespace lnn
