// Internals of the sweep shared by its two files: the cells of the grid and
// the tables assembled from their results.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lnn/dataset.hpp"
#include "lnn/integrate.hpp"
#include "lnn/sweep.hpp"

namespace lnn::sweep {

using Json = nlohmann::ordered_json;

// One rollout of the grid: a model with an integrator at one step (dt for
// rk4 and variational, the tolerance for dopri5), to the longest horizon.
struct Cell {
  std::string model;
  Integrator integrator;
  double step;
  bool adaptive() const { return integrator == Integrator::dopri5; }
  std::string key() const;    // exact, stored in the cell's file
  std::string label() const;  // for people: "m.safetensors rk4 dt=0.01"
};

// Models × integrators × (dts or tolerances), in that nesting order.
std::vector<Cell> cells(const SweepConfig& config);

// Writes the CSV tables from the cells' results (in cell order) and the
// ground truth; returns their paths.
std::vector<std::string> write_tables(const SweepConfig& config, const std::vector<Cell>& cells,
                                      const std::vector<Json>& results, const Dataset& truth,
                                      const std::string& dir);

}  // namespace lnn::sweep
