// Sweeps: the tables, resuming (a resumed sweep equals an uninterrupted
// one), refusing another configuration's directory, and bad configurations.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/scratch.hpp"
#include "lnn/errors.hpp"
#include "lnn/generate.hpp"
#include "lnn/model_file.hpp"
#include "lnn/sweep.hpp"
#include "lnn/systems.hpp"

namespace lnn {
namespace {
namespace fs = std::filesystem;

std::string test_data(const std::string& name) {
  const char* env = std::getenv("LNN_TEST_DATA");
  const fs::path dir = env ? fs::path(env) : fs::path(__FILE__).parent_path().parent_path() / "data";
  return (dir / name).string();
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class Sweeps : public test::ScratchDirTest {
 protected:
  Sweeps() : ScratchDirTest("sweep") {}
  void SetUp() override {
    ScratchDirTest::SetUp();
    c_.system = "pendulum";
    c_.models = {"analytic", test_data("pendulum_32x32_f64.safetensors")};
    c_.integrators = {Integrator::rk4, Integrator::variational, Integrator::dopri5};
    c_.dts = {0.05, 0.02};
    c_.tolerances = {1e-6};
    c_.horizons = {2.0, 5.0};
    c_.trajectories = 3;
    c_.box = {};
  }
  SweepConfig c_;
};

const char* const kDeterministic[] = {"summary.csv", "trajectories.csv", "series.csv", "paths.csv"};

TEST_F(Sweeps, WritesOneRowPerCellAndHorizon) {
  const SweepResult r = run_sweep(c_, (dir_ / "a").string());
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.cells_total, 10u);  // 2 models × (2 fixed-step × 2 dts + dopri5 × 1 tol)
  EXPECT_EQ(r.cells_computed, 10u);
  EXPECT_EQ(r.files.size(), 5u);
  const auto summary = lines(read(dir_ / "a" / "summary.csv"));
  ASSERT_EQ(summary.size(), 1u + 10u * 2u);
  EXPECT_EQ(summary[0].rfind("model,integrator,dt,tol,horizon,trajectories,failed,alpha,", 0), 0u);
  EXPECT_EQ(summary[1].rfind("analytic,rk4,0.05,,2,3,0,1,", 0), 0u) << summary[1];
  EXPECT_EQ(lines(read(dir_ / "a" / "trajectories.csv")).size(), 1u + 10u * 2u * 3u);
  const std::string paths = read(dir_ / "a" / "paths.csv");
  EXPECT_NE(paths.find("\ntruth,dopri5,,1e-10,0,0,"), std::string::npos);
  for (const char* f : {"sweep.json", "truth.h5", "cells/9.json", "timing.csv"}) {
    EXPECT_TRUE(fs::exists(dir_ / "a" / f)) << f;
  }
  // The analytic system rolled out by dopri5 at 1e-6 tracks the truth closely.
  bool found = false;
  for (const std::string& row : summary) {
    if (row.rfind("analytic,dopri5,,1e-06,5,3,0,1,", 0) != 0) continue;
    found = true;
    std::istringstream in(row);
    std::vector<std::string> f;
    for (std::string x; std::getline(in, x, ',');) f.push_back(x);
    EXPECT_LT(std::stod(f[8]), 1e-4) << "energy_max_median";
  }
  EXPECT_TRUE(found);
}

TEST_F(Sweeps, ResumedSweepEqualsUninterruptedOne) {
  const SweepResult whole = run_sweep(c_, (dir_ / "whole").string());
  ASSERT_TRUE(whole.complete);
  const std::string part = (dir_ / "part").string();
  SweepResult r = run_sweep(c_, part, {}, 3);
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.cells_computed, 3u);
  EXPECT_FALSE(fs::exists(fs::path(part) / "summary.csv"));
  // A cell lost mid-write leaves no file (atomic writes): remove one as if so.
  fs::remove(fs::path(part) / "cells" / "1.json");
  r = run_sweep(c_, part, {}, 4);
  EXPECT_EQ(r.cells_resumed, 2u);
  EXPECT_EQ(r.cells_computed, 4u);
  r = run_sweep(c_, part);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.cells_resumed, 6u);
  EXPECT_EQ(r.cells_computed, 4u);
  for (const char* f : kDeterministic) {
    EXPECT_EQ(read(dir_ / "whole" / f), read(fs::path(part) / f)) << f;
  }
  EXPECT_EQ(lines(read(dir_ / "whole" / "timing.csv")).size(),
            lines(read(fs::path(part) / "timing.csv")).size());
  // Nothing left to do: the tables are rewritten from the cells.
  r = run_sweep(c_, part);
  EXPECT_EQ(r.cells_computed, 0u);
  EXPECT_TRUE(r.complete);
}

TEST_F(Sweeps, AnotherConfigurationsDirectoryIsRefused) {
  const std::string d = (dir_ / "x").string();
  run_sweep(c_, d, {}, 1);
  SweepConfig other = c_;
  other.trajectories = 4;
  try {
    run_sweep(other, d);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another configuration"), std::string::npos) << e.what();
  }
  // A cell file that is not this sweep's is named, not silently reused.
  std::ofstream(fs::path(d) / "cells" / "0.json") << "{\"format\": 1, \"key\": \"something else\"}";
  try {
    run_sweep(c_, d);
    FAIL() << "no error";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("0.json"), std::string::npos) << e.what();
  }
}

// Issue 19, defect 3: a cell is keyed by its model file's contents and the
// whole configuration, so a replaced model or a deleted sweep.json cannot
// mix two models or two configurations in the tables.
TEST_F(Sweeps, AReplacedModelsCellsAreRecomputed) {
  const fs::path model = dir_ / "m.safetensors";
  fs::copy_file(test_data("pendulum_32x32_f64.safetensors"), model);
  c_.models = {"analytic", model.string()};
  const std::string d = (dir_ / "s").string();
  ASSERT_TRUE(run_sweep(c_, d).complete);
  // Retrained: the same path, other weights.
  Model<double> m = load_model<double>(model.string());
  for (double& w : m.parameters()) w *= 1.01;
  save_model(m, model.string());
  const SweepResult r = run_sweep(c_, d);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.cells_computed, 5u);  // the model's: rk4 × 2, variational × 2, dopri5
  EXPECT_EQ(r.cells_stale, 5u);
  EXPECT_EQ(r.cells_resumed, 5u);   // the analytic system's
  // The tables are those of a sweep of the new model alone.
  ASSERT_TRUE(run_sweep(c_, (dir_ / "fresh").string()).complete);
  for (const char* f : kDeterministic) {
    EXPECT_EQ(read(dir_ / "fresh" / f), read(fs::path(d) / f)) << f;
  }
}

TEST_F(Sweeps, CellsOfAnotherConfigurationAreRecomputedAfterSweepJsonIsDeleted) {
  const std::string d = (dir_ / "s").string();
  ASSERT_TRUE(run_sweep(c_, d).complete);
  fs::remove(fs::path(d) / "sweep.json");
  fs::remove(fs::path(d) / "truth.h5");
  SweepConfig other = c_;
  other.seed = 7;  // other initial conditions: every cell differs
  const SweepResult r = run_sweep(other, d);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.cells_computed, 10u);
  EXPECT_EQ(r.cells_resumed, 0u);
  ASSERT_TRUE(run_sweep(other, (dir_ / "fresh").string()).complete);
  for (const char* f : kDeterministic) {
    EXPECT_EQ(read(dir_ / "fresh" / f), read(fs::path(d) / f)) << f;
  }
}

// Issue 19, defect 4: a malformed cell file is a FileError naming it, never
// a crash or a bare JSON error.
TEST_F(Sweeps, MalformedCellFilesAreNamed) {
  const std::string d = (dir_ / "s").string();
  ASSERT_TRUE(run_sweep(c_, d).complete);
  const fs::path cell = fs::path(d) / "cells" / "0.json";
  const std::string good = read(cell);
  using Edit = void (*)(nlohmann::json&);
  const std::vector<std::pair<const char*, Edit>> edits = {
      {"reports shorter than the trajectories", [](nlohmann::json& j) { j["reports"].erase(1); }},
      {"no reports", [](nlohmann::json& j) { j.erase("reports"); }},
      {"no alpha", [](nlohmann::json& j) { j.erase("alpha"); }},
      {"alpha a string", [](nlohmann::json& j) { j["alpha"] = "1"; }},
      {"a report without status", [](nlohmann::json& j) { j["reports"][0].erase("status"); }},
      {"a horizon too few", [](nlohmann::json& j) { j["horizons"].erase(0); }},
      {"a trajectory too few",
       [](nlohmann::json& j) { j["horizons"][1]["trajectories"].erase(0); }},
      {"a statistic too few",
       [](nlohmann::json& j) { j["horizons"][0]["trajectories"][0]["energy"].erase(0); }},
      {"a series shorter than t", [](nlohmann::json& j) { j["series"]["state_median"].erase(0); }},
      {"a time past the truth", [](nlohmann::json& j) { j["series"]["t"].back() = 1e9; }},
      {"a path row too short", [](nlohmann::json& j) { j["paths"][0][0] = nlohmann::json::array(); }},
      {"paths not an array", [](nlohmann::json& j) { j["paths"] = 3; }},
      {"not an object", [](nlohmann::json& j) { j = nlohmann::json::array(); }},
  };
  for (const auto& [what, edit] : edits) {
    nlohmann::json j = nlohmann::json::parse(good);
    edit(j);
    std::ofstream(cell, std::ios::trunc) << j.dump();
    try {
      run_sweep(c_, d);
      ADD_FAILURE() << "no error for " << what;
    } catch (const FileError& e) {
      EXPECT_NE(std::string(e.what()).find("0.json"), std::string::npos) << what << ": " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << what << ": not a FileError: " << e.what();
    }
  }
  std::ofstream(cell, std::ios::trunc) << "{\"format\": 1, \"key\": ";
  EXPECT_THROW(run_sweep(c_, d), FileError);
}

TEST_F(Sweeps, BadConfigurationsAreRefused) {
  const auto refused = [&](SweepConfig c, const std::string& phrase) {
    try {
      run_sweep(c, (dir_ / "bad").string());
      ADD_FAILURE() << "no error for " << phrase;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir_ / "bad")) << phrase;
  };
  SweepConfig c = c_;
  c.models.clear();
  refused(c, "no models");
  c = c_;
  c.dts = {0.01, -1.0};
  refused(c, "step sizes");
  c = c_;
  c.horizons = {};
  refused(c, "no horizons");
  c = c_;
  c.trajectories = 0;
  refused(c, "trajectories");
  c = c_;
  c.system = "double_pendulum";
  refused(c, "has n = 1 but double_pendulum has n = 2");
  c = c_;
  c.models = {"analytic", "analytic"};
  refused(c, "twice");
  c = c_;
  c.models = {(dir_ / "missing.safetensors").string()};
  refused(c, "missing.safetensors");
}

std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out(1);
  for (char ch : line) {
    if (ch == ',') {
      out.emplace_back();
    } else {
      out.back() += ch;
    }
  }
  return out;
}

// A trajectory set as the ground truth (what a system of your own has): from
// the same initial conditions, integrated as a sweep's truth is (dopri5 at
// 1e-10), its state and model-energy errors equal those of the system's
// sweep; its energy columns are NaN (a user system has no energy function).
TEST_F(Sweeps, ADatasetIsTheGroundTruth) {
  c_.models = {test_data("pendulum_32x32_f64.safetensors")};
  c_.integrators = {Integrator::rk4, Integrator::variational};
  c_.dts = {0.05};
  c_.horizons = {1.0, 2.0};
  c_.box.q = {{-1.0, 1.0}};
  c_.box.qdot = {{-0.5, 0.5}};
  ASSERT_TRUE(run_sweep(c_, (dir_ / "system").string()).complete);

  TrajectorySetOptions g;
  g.trajectories = 4;  // one more than the sweep takes
  g.t_end = 3.0;
  g.rate = c_.rate;
  g.seed = c_.seed;
  g.box = c_.box;
  Dataset d = generate_trajectories(*make_system("pendulum"), g);
  d.system = "my_pendulum";
  d.user_system = true;
  d.parameters.clear();
  const std::string path = (dir_ / "mine.h5").string();
  save_dataset(d, path);
  SweepConfig c = c_;
  c.dataset = path;
  c.system = "no such system";  // not used
  const SweepResult r = run_sweep(c, (dir_ / "data").string());
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.cells_total, 2u);
  EXPECT_FALSE(fs::exists(dir_ / "data" / "truth.h5"));

  const auto want = lines(read(dir_ / "system" / "trajectories.csv"));
  const auto got = lines(read(dir_ / "data" / "trajectories.csv"));
  ASSERT_EQ(got.size(), want.size());
  ASSERT_EQ(got.size(), 1u + 2u * 2u * 3u);
  const std::vector<std::string> header = fields(got[0]);
  ASSERT_EQ(header, fields(want[0]));
  std::size_t compared = 0;
  for (std::size_t row = 1; row < got.size(); ++row) {
    const auto a = fields(got[row]), b = fields(want[row]);
    for (std::size_t k = 0; k < header.size(); ++k) {
      const std::string& h = header[k];
      if (h.rfind("energy_", 0) == 0) {
        EXPECT_EQ(a[k], "nan") << h;
      } else if (h.rfind("state_", 0) == 0 || h.rfind("model_energy_", 0) == 0) {
        EXPECT_NEAR(std::stod(a[k]), std::stod(b[k]), 1e-7 + 1e-6 * std::abs(std::stod(b[k])))
            << h << " row " << row;
        ++compared;
      } else if (h != "model") {
        EXPECT_EQ(a[k], b[k]) << h << " row " << row;
      }
    }
  }
  EXPECT_EQ(compared, 12u * 8u);
  EXPECT_NE(read(dir_ / "data" / "paths.csv").find(",q1\n"), std::string::npos);

  // Resumed, nothing is computed again; another dataset content is another configuration.
  EXPECT_EQ(run_sweep(c, (dir_ / "data").string()).cells_resumed, 2u);
  d.states[4] += 1e-3;
  save_dataset(d, path);
  EXPECT_THROW(run_sweep(c, (dir_ / "data").string()), Error);

  // Refused: the analytic baseline, a horizon beyond the set, more trajectories than it has.
  const auto refused = [&](SweepConfig bad, const std::string& phrase) {
    try {
      run_sweep(bad, (dir_ / "bad").string());
      ADD_FAILURE() << "no error for " << phrase;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
    }
  };
  SweepConfig bad = c;
  bad.models.push_back("analytic");
  refused(bad, "'analytic' needs a catalogue system");
  bad = c;
  bad.horizons = {5.0};
  refused(bad, "beyond the last time");
  bad = c;
  bad.trajectories = 5;
  refused(bad, "fewer than trajectories = 5");
}

}  // namespace
}  // namespace lnn
