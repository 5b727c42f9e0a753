// `lnn systems`: the catalogue of analytic systems with parameters and defaults.
#include "lnn/systems.hpp"

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/common.hpp"
#include "lnn/generate.hpp"

namespace lnn::cli {
namespace {

struct SystemsOptions {
  bool json = false;
  std::string name;  // only this one
};

std::string flag_list(const SystemInfo& info, const std::vector<std::uint8_t>& flags) {
  std::string s;
  for (std::size_t k = 0; k < flags.size(); ++k) {
    if (flags[k] != 0) s += (s.empty() ? "" : ", ") + info.coordinates[k];
  }
  return s.empty() ? "none" : s;
}

// Where evaluations start by default, in words.
std::string evaluation_text(const System& system) {
  const StateBox& box = system.info().evaluation;
  return box.empty() ? "the sampling" : describe(box, system);
}

nlohmann::ordered_json to_json(const System& system) {
  const SystemInfo& info = system.info();
  nlohmann::ordered_json params = nlohmann::ordered_json::array();
  for (const SystemParameter& p : info.parameters) {
    params.push_back({{"name", p.name}, {"default", p.value}, {"description", p.description}});
  }
  return {{"name", info.name},           {"description", info.description},
          {"n", info.dof},               {"coordinates", info.coordinates},
          {"angles", info.angles},       {"actuated", info.actuated},
          {"parameters", params},        {"potential_scale", info.potential_scale},
          {"force_max", info.force_max}, {"sampling", info.sampling},
          {"evaluation", info.evaluation.empty() ? "the sampling" : evaluation_text(system)}};
}

void run_systems(const SystemsOptions& opt) {
  std::vector<std::string> names = system_names();
  if (!opt.name.empty()) names = {opt.name};
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (const std::string& name : names) {
    const auto system = make_system(name);
    const SystemInfo& info = system->info();
    if (opt.json) {
      all.push_back(to_json(*system));
      continue;
    }
    std::cout << info.name << "  (n = " << info.dof << ")  " << info.description << "\n";
    std::string coords;
    for (const std::string& c : info.coordinates) coords += (coords.empty() ? "" : ", ") + c;
    std::cout << "    coordinates: " << coords << ";  angles: " << flag_list(info, info.angles)
              << ";  forced: " << flag_list(info, info.actuated);
    if (info.force_max > 0) std::cout << " (default amplitude " << info.force_max << ")";
    std::cout << "\n    parameters:";
    for (const SystemParameter& p : info.parameters) {
      std::string v;
      append_number(v, p.value);
      std::cout << "\n      " << p.name << " = " << v << "  " << p.description;
    }
    std::string scale;
    append_number(scale, info.potential_scale);
    std::cout << "\n    sampling: " << info.sampling << "\n    evaluation: "
              << evaluation_text(*system) << "\n    energy scale: " << scale << "\n\n";
  }
  if (opt.json) std::cout << all.dump(2) << "\n";
}

}  // namespace

void add_systems_command(CLI::App& app) {
  auto opt = std::make_shared<SystemsOptions>();
  CLI::App* sub = app.add_subcommand(
      "systems", "List the analytic systems (for lnn generate) with their parameters and defaults");
  sub->add_flag("--json", opt->json, "Print JSON instead of text");
  sub->add_option("name", opt->name, "Show only this system");
  sub->callback([opt] { run_systems(*opt); });
}

}  // namespace lnn::cli
