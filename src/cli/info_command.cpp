// `lnn info`: what this build contains and what it can use here.
#include "lnn/info.hpp"

#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cli/common.hpp"
#include "lnn/engine.hpp"

namespace lnn::cli {
namespace {

struct InfoOptions {
  bool json = false;
};

struct CudaState {
  bool compiled = false;
  bool usable = false;
  std::vector<GpuInfo> devices;
  std::string reason;  // why not usable, when it is not
};

CudaState query_cuda() {
  CudaState s;
  s.compiled = cuda_compiled();
  s.devices = cuda_devices(&s.reason);
  if (s.devices.empty()) {
    if (s.reason.empty()) s.reason = "no CUDA device visible";
    return s;
  }
  // A device is visible; ask the engine whether it can run on it (a tiny
  // model, so this costs nothing).
  try {
    ModelSpec spec;
    spec.n = 1;
    spec.hidden = {1};
    const Model<float> model(spec);
    EngineOptions options;
    options.device = Device::cuda;
    Engine<float> engine(model, options);
    s.usable = true;
    s.reason.clear();
  } catch (const std::exception& e) {
    s.reason = e.what();
  }
  return s;
}

nlohmann::json to_json(const CudaState& cuda) {
  nlohmann::json devices = nlohmann::json::array();
  for (const GpuInfo& g : cuda.devices) {
    devices.push_back({{"index", g.index},
                       {"name", g.name},
                       {"compute_capability",
                        std::to_string(g.compute_major) + "." + std::to_string(g.compute_minor)},
                       {"memory_gib", g.memory_gib}});
  }
  nlohmann::json out = {{"compiled", cuda.compiled},
                        {"usable", cuda.usable},
                        {"versions", cuda_versions()},
                        {"devices", devices}};
  if (!cuda.usable) out["reason"] = cuda.reason;
  return out;
}

void run_info(const InfoOptions& opt) {
  const CudaState cuda = query_cuda();
  const unsigned hw = std::thread::hardware_concurrency();
  const std::string blas = blas_name() + ", kernels " + blas_kernels();
  const std::string better = blas_better_kernels();
  const int threads = cpu_threads();

  if (opt.json) {
    const nlohmann::json out = {
        {"version", version()},
        {"backends", {{"cpu", {{"compiled", true}, {"usable", true}}}, {"cuda", to_json(cuda)}}},
        {"precisions", {"f32", "f64"}},
        {"blas", blas},
        {"blas_better_kernels", better},
        {"cpu_threads", threads},
        {"hardware_concurrency", hw},
    };
    std::cout << out.dump(2) << "\n";
    return;
  }

  std::cout << "lnn " << version() << "\n";
  std::cout << "backends:\n";
  std::cout << "  cpu:  compiled yes, usable yes\n";
  std::cout << "  cuda: compiled " << (cuda.compiled ? "yes" : "no") << ", usable "
            << (cuda.usable ? "yes" : "no") << "\n";
  if (cuda.compiled) std::cout << "    " << cuda_versions() << "\n";
  for (const GpuInfo& g : cuda.devices) {
    std::cout << format("    device %d: %s, compute capability %d.%d, %.1f GiB\n", g.index,
                        g.name.c_str(), g.compute_major, g.compute_minor, g.memory_gib);
  }
  if (!cuda.usable) std::cout << "    not usable: " << cuda.reason << "\n";
  std::cout << "precision: f32 (float), f64 (double)\n";
  std::cout << "blas: " << blas << "\n";
  if (!better.empty()) {
    std::cout << "  warning: this CPU supports the faster " << better
              << " kernels; set OPENBLAS_CORETYPE=" << better << "\n";
  }
  std::cout << "cpu threads: " << threads << " (OpenMP; set OMP_NUM_THREADS to change)\n";
  const char* spin = std::getenv("GOMP_SPINCOUNT");
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  std::cout << "  waiting threads: "
            << (policy ? std::string("OMP_WAIT_POLICY=") + policy
                       : spin ? std::string("GOMP_SPINCOUNT=") + spin
                              : std::string("the OpenMP runtime's default"))
            << " (README, \"Performance\")\n";
  std::cout << "hardware concurrency: " << hw << "\n";
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto opt = std::make_shared<InfoOptions>();
  CLI::App* sub = app.add_subcommand(
      "info", "Print the version, the backends compiled in and usable, precisions, BLAS, threads");
  sub->add_flag("--json", opt->json, "Print the same as one JSON object");
  sub->callback([opt] { run_info(*opt); });
}

}  // namespace lnn::cli
