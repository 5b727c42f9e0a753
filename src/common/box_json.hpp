// A StateBox's intervals as JSON, [[lo, hi], …], read and written the same
// way by the training configuration (train_config.cpp) and a sweep's
// configuration (rollout/sweep.cpp).
#pragma once
#include <utility>
#include <vector>

namespace lnn::common {

template <class Json>
Json intervals_to_json(const std::vector<std::pair<double, double>>& box) {
  Json a = Json::array();
  for (const auto& [lo, hi] : box) a.push_back({lo, hi});
  return a;
}

template <class Json>
std::vector<std::pair<double, double>> intervals_from_json(const Json& j) {
  std::vector<std::pair<double, double>> box;
  for (const Json& e : j) box.emplace_back(e.at(0).template get<double>(), e.at(1).template get<double>());
  return box;
}

}  // namespace lnn::common
