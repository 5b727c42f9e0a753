// Writes the seed corpora of the fuzz harnesses from valid files: usage
//   lnn_fuzz_seeds SOURCE_DIR OUT_DIR
// OUT_DIR/<harness>/ receives the repository's own files (tests/data's
// models and legacy dataset, configs/*.toml) and files the library writes
// now (small models of both precisions, checkpoints, datasets of both kinds,
// the tiny sweep's cell and sweep.json, CSV states), each framed as its
// harness reads its input (tests/fuzz/fuzz_*.cpp). scripts/fuzz.sh runs it.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_sweep_setup.hpp"
#include "lnn/dataset.hpp"
#include "lnn/generate.hpp"
#include "lnn/model.hpp"
#include "lnn/model_file.hpp"
#include "lnn/optimizer.hpp"
#include "lnn/sweep.hpp"
#include "lnn/systems.hpp"
#include "lnn/train.hpp"

namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

template <class T>
lnn::Model<T> small_model(int n, std::vector<int> hidden, lnn::Activation a,
                          std::vector<lnn::Embedding> embedding = {}) {
  lnn::ModelSpec spec;
  spec.embedding = std::move(embedding);
  spec.n = n;
  spec.hidden = std::move(hidden);
  spec.activation = a;
  lnn::Model<T> m(spec);
  m.initialize(lnn::Init::xavier, 7);
  return m;
}

template <class T>
void checkpoint(const fs::path& path) {
  lnn::Model<T> m = small_model<T>(1, {4}, lnn::Activation::softplus);
  lnn::Adam<T> adam(m.parameters().size(), lnn::OptimizerOptions{});
  std::vector<T> grad(m.parameters().size(), T(0.5));
  adam.step(m.parameters(), grad, 10);
  lnn::TrainState state;
  state.step = 1;
  lnn::TrainConfig config;
  config.system = "pendulum";
  state.config = config.to_json();
  state.loss = 0.5;
  lnn::save_checkpoint(path.string(), m, adam, state);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s SOURCE_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path src = argv[1], out = argv[2];
  const fs::path tmp = out / "tmp";
  fs::create_directories(tmp);

  // Model files and the C API: the repository's models, and new ones.
  for (const char* name : {"tiny_model_f64.safetensors", "pendulum_32x32_f64.safetensors"}) {
    const std::string bytes = read(src / "tests/data" / name);
    write(out / "model_file" / name, bytes);
    write(out / "capi" / name, bytes);
  }
  lnn::save_model(small_model<float>(2, {3, 3}, lnn::Activation::tanh,
                                    {lnn::Embedding::angle, lnn::Embedding::plain}), (tmp / "f32.st").string(),
                  {{"note", "seed"}});
  lnn::save_model(small_model<double>(1, {2}, lnn::Activation::softplus), (tmp / "f64.st").string());
  for (const char* name : {"f32.st", "f64.st"}) {
    write(out / "model_file" / name, read(tmp / name));
    write(out / "capi" / name, read(tmp / name));
  }

  // Checkpoints of both precisions (also model files).
  checkpoint<double>(tmp / "f64.ckpt");
  checkpoint<float>(tmp / "f32.ckpt");
  for (const char* name : {"f64.ckpt", "f32.ckpt"}) {
    write(out / "checkpoint" / name, read(tmp / name));
    write(out / "model_file" / name, read(tmp / name));
  }

  // Datasets: the legacy layout, and both kinds in the current one.
  write(out / "dataset/legacy_vlen_dataset.h5", read(src / "tests/data/legacy_vlen_dataset.h5"));
  const auto pendulum = lnn::make_system("pendulum", {});
  lnn::DerivativeSetOptions d;
  d.samples = 3;
  lnn::save_dataset(lnn::generate_derivatives(*pendulum, d), (tmp / "d.h5").string());
  lnn::TrajectorySetOptions t;
  t.trajectories = 1;
  t.t_end = 0.2;
  lnn::save_dataset(lnn::generate_trajectories(*pendulum, t), (tmp / "t.h5").string());
  write(out / "dataset/derivatives.h5", read(tmp / "d.h5"));
  write(out / "dataset/trajectories.h5", read(tmp / "t.h5"));

  // The tiny sweep: its cell (first byte even) and sweep.json (odd).
  const fs::path sweep = tmp / "sweep";
  lnn::run_sweep(lnn::fuzz::tiny_sweep(), sweep.string());
  write(out / "sweep/cell", std::string(1, '\0') + read(sweep / "cells/0.json"));
  write(out / "sweep/sweep_json", std::string(1, '\1') + read(sweep / "sweep.json"));

  // CSV states: first byte = columns - 1.
  write(out / "csv/states4", std::string(1, '\3') +
                                 "# q1,q2,qdot1,qdot2\nq1,q2,v1,v2\n0.1, 0.2,-3e-1,+4\n1e-50,0,0,1\n");
  write(out / "csv/forces1", std::string(1, '\0') + "tau\n0.5\n\n-1.25e3\n");

  // TOML: the repository's configurations and a sweep section.
  for (const auto& e : fs::directory_iterator(src / "configs")) {
    if (e.path().extension() == ".toml") write(out / "toml" / e.path().filename(), read(e.path()));
  }
  write(out / "toml/sweep.toml",
        "[sweep]\nsystem = \"pendulum\"\nintegrators = [\"rk4\", \"dopri5\"]\ndt = \"0.1,0.05\"\n"
        "horizons = [1.5, 2]\ntrajectories = 3\nno_plots = true\nparam = \"g=9.81\"\n");
  fs::remove_all(tmp);
  return 0;
}
