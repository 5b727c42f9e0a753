// Dataset files (HDF5): round trips of both kinds, byte-identical saves,
// Dataset::validate, atomic saves, and the layout as h5py sees it. Malformed
// files: test_dataset_malformed.cpp.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "io/dataset_test_util.hpp"
#include "lnn/dataset.hpp"
#include "lnn/errors.hpp"

namespace lnn::test {
namespace {

// ---- round trips ------------------------------------------------------------------

TEST_F(DatasetFileTest, DerivativeSetsRoundTripExactly) {
  for (bool tau : {false, true}) {
    for (bool truth : {false, true}) {
      SCOPED_TRACE(std::string("tau ") + (tau ? "yes" : "no") + ", states_true " +
                   (truth ? "yes" : "no"));
      const Dataset d = derivative_set(tau, truth);
      save_dataset(d, file("d.h5"));
      expect_same(load_dataset(file("d.h5")), d);
    }
  }
  EXPECT_EQ(entries(), std::vector<std::string>{"d.h5"});
}

TEST_F(DatasetFileTest, TrajectorySetsRoundTripExactly) {
  for (bool tau : {false, true}) {
    for (bool truth : {false, true}) {
      for (bool steps : {false, true}) {
        SCOPED_TRACE(std::string("tau ") + (tau ? "yes" : "no") + ", states_true " +
                     (truth ? "yes" : "no") + ", steps " + (steps ? "yes" : "no"));
        const Dataset d = trajectory_set(tau, truth, steps);
        save_dataset(d, file("t.h5"));
        expect_same(load_dataset(file("t.h5")), d);
      }
    }
  }
}

TEST_F(DatasetFileTest, SystemWithoutParametersRoundTrips) {
  Dataset d = derivative_set(false, false);
  d.parameters.clear();
  save_dataset(d, file("d.h5"));
  expect_same(load_dataset(file("d.h5")), d);
}

// A system of the user's own (not in the catalogue): any name, parameters and
// flags, energies optional; refused as before without user_system.
TEST_F(DatasetFileTest, UserSystemsRoundTripWithOrWithoutEnergies) {
  for (bool energies : {false, true}) {
    SCOPED_TRACE(energies ? "with energies" : "without energies");
    Dataset d = trajectory_set(true, true, true);
    d.system = "my_anharmonic_oscillator";
    d.user_system = true;
    d.parameters = {{"k", 2.0}};
    d.angles = {0, 1};
    d.actuated = {1, 0};
    if (!energies) d.energies.clear();
    save_dataset(d, file("u.h5"));
    expect_same(load_dataset(file("u.h5")), d);
    d.user_system = false;
    EXPECT_THROW(d.validate(), InvalidArgument);
  }
  Dataset d = derivative_set(false, false);
  d.energies.clear();
  EXPECT_THROW(d.validate(), InvalidArgument) << "a catalogue system's set needs energies";
  d.user_system = true;
  d.angles = {2, 0};
  EXPECT_THROW(d.validate(), InvalidArgument) << "flags are still 0 or 1";
}

TEST_F(DatasetFileTest, SameDatasetGivesIdenticalBytes) {
  const Dataset d = trajectory_set(true, true);
  save_dataset(d, file("a.h5"));
  // Time stamps have a resolution of one second: let one pass.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  save_dataset(d, file("b.h5"));
  const Bytes a = read_bytes(file("a.h5"));
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, read_bytes(file("b.h5")));
  save_dataset(d, file("a.h5"));  // over an existing file
  EXPECT_EQ(a, read_bytes(file("a.h5")));
}

// HDF5 1.8's file format, not the earliest: superblock version 2, whose
// metadata (superblock, object headers) carries checksums that HDF5 checks
// before parsing (docs/reliability.md, "Checksummed metadata").
TEST_F(DatasetFileTest, WritesTheChecksummedFormat) {
  save_dataset(trajectory_set(true, true), file("a.h5"));
  const Bytes a = read_bytes(file("a.h5"));
  ASSERT_GT(a.size(), 12u);
  const unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  EXPECT_TRUE(std::equal(signature, signature + 8, a.begin()));
  EXPECT_EQ(static_cast<int>(a[8]), 2) << "superblock version";
  // Version 2 object headers start with "OHDR" (version 1 has no signature).
  const std::string text(a.begin(), a.end());
  EXPECT_NE(text.find("OHDR"), std::string::npos);
}

TEST(DatasetKindNames, RoundTripAndRefuseUnknown) {
  for (DatasetKind k : {DatasetKind::derivatives, DatasetKind::trajectories})
    EXPECT_EQ(parse_dataset_kind(to_string(k)), k);
  EXPECT_EQ(to_string(DatasetKind::trajectories), "trajectories");
  try {
    (void)parse_dataset_kind("trajectory");
    ADD_FAILURE() << "no InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("'trajectory'"), std::string::npos) << e.what();
  }
}

// ---- validate ----------------------------------------------------------------------

TEST(DatasetValidate, AcceptsTheTestSets) {
  EXPECT_NO_THROW(derivative_set(true, true).validate());
  EXPECT_NO_THROW(trajectory_set(true, true, false).validate());
}

// Failed points may hold NaN (a failed solve, a trajectory that stopped);
// times may repeat (the integrators take them ascending, not strictly).
TEST(DatasetValidate, AcceptsNonFiniteValuesOfFailedPointsAndRepeatedTimes) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Dataset d = derivative_set(true, true);
  ASSERT_NE(d.status[1], 0);
  d.accelerations[2] = nan;
  d.energies[1] = std::numeric_limits<double>::infinity();
  d.states[4] = nan;
  EXPECT_NO_THROW(d.validate());
  Dataset t = trajectory_set(true, true);
  ASSERT_NE(t.status[1], 0);
  for (std::size_t p = 4; p < 8; ++p) t.accelerations[2 * p] = t.energies[p] = t.tau[2 * p] = nan;
  t.times = {0.0, 0.1, 0.1, 0.2};
  EXPECT_NO_THROW(t.validate());
  // The catalogue's defaults stand for parameters left out.
  t.parameters.clear();
  EXPECT_NO_THROW(t.validate());
}

// Issue 19, defect 7: what the dataset says must be what a trainer may
// believe: tau where forces act, finite values where the status is ok,
// finite ascending times, and the catalogue's system with valid parameters.
TEST(DatasetValidate, RefusesWhatWouldMisleadATrainer) {
  struct Case {
    const char* phrase;
    bool trajectories;
    std::function<void(Dataset&)> edit;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<Case> cases = {
      {"tau is missing, but system acrobot has actuated coordinates [0, 1]", false,
       [](Dataset& d) { d.tau.clear(); }},
      {"tau is missing", true, [](Dataset& d) { d.tau.clear(); }},
      {"accelerations is NaN at point 0, whose status is ok", false,
       [=](Dataset& d) { d.accelerations[1] = nan; }},
      {"energies is infinite at point 4", false, [=](Dataset& d) { d.energies[4] = -inf; }},
      {"states is NaN at point 2", false, [=](Dataset& d) { d.states[8] = nan; }},
      {"states_true is NaN at point 0", false, [=](Dataset& d) { d.states_true[3] = nan; }},
      {"tau is infinite at point 2", false, [=](Dataset& d) { d.tau[5] = inf; }},
      {"model_energies is NaN at point 4", false,
       [=](Dataset& d) {
         d.model_energies.assign(5, 1.0);
         d.model_energies[4] = nan;
       }},
      {"states is NaN at trajectory 2 at times[1]", true,
       [=](Dataset& d) { d.states[(2 * 4 + 1) * 4] = nan; }},
      {"accelerations is NaN at trajectory 0 at times[3]", true,
       [=](Dataset& d) { d.accelerations[3 * 2 + 1] = nan; }},
      {"times[2] is not finite", true, [=](Dataset& d) { d.times[2] = nan; }},
      {"times[0] is not finite", true, [=](Dataset& d) { d.times[0] = -inf; }},
      {"times are not ascending: times[3] = 0.050000 comes before times[2]", true,
       [](Dataset& d) { d.times[3] = 0.05; }},
      {"system acrobot: parameter m2 = -1 is not allowed", false,
       [](Dataset& d) { d.parameters[0].second = -1; }},
      {"system acrobot: parameter l1 = 0 is not allowed", true,
       [](Dataset& d) { d.parameters[1].second = 0; }},
      {"system acrobot has no parameter 'k'", false,
       [](Dataset& d) { d.parameters.push_back({"k", 1}); }},
      {"unknown system 'quadruple_pendulum'", false,
       [](Dataset& d) { d.system = "quadruple_pendulum"; }},
      {"angles [1, 0] are not system acrobot's [1, 1]", false,
       [](Dataset& d) { d.angles = {1, 0}; }},
      {"actuated [1, 1] are not system acrobot's [0, 1]", false,
       [](Dataset& d) { d.actuated = {1, 1}; }},
      {"n is 2, but system chain_pendulum has n = 3", false,
       [](Dataset& d) {
         d.system = "chain_pendulum";
         d.parameters.clear();
         d.actuated = {0, 0};
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.phrase);
    Dataset d = c.trajectories ? trajectory_set(true, true) : derivative_set(true, true);
    c.edit(d);
    try {
      d.validate();
      ADD_FAILURE() << "no InvalidArgument";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(c.phrase), std::string::npos) << e.what();
    }
  }
}

// Writers whose integration went well but whose samples give NaN mark the
// trajectory failed rather than write a file validate() refuses.
TEST(DatasetValidate, NonFiniteTrajectoriesOfStatusOkAreMarkedFailed) {
  Dataset t = trajectory_set(true, true);
  EXPECT_EQ(mark_non_finite_trajectories(t), 0u);
  t.energies[2 * 4 + 3] = std::numeric_limits<double>::quiet_NaN();  // trajectory 2
  EXPECT_THROW(t.validate(), InvalidArgument);
  EXPECT_EQ(mark_non_finite_trajectories(t), 1u);
  EXPECT_EQ(t.status, (std::vector<std::int8_t>{0, 2, 2}));
  EXPECT_NO_THROW(t.validate());
  Dataset d = derivative_set(true, true);
  d.accelerations[0] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(mark_non_finite_trajectories(d), 0u);
  EXPECT_EQ(d.status[0], 0);
}

// lnn rollout and a sweep's truth roll a forced system out unforced and hand
// save_dataset no tau: the file says τ = 0, and reads back with it.
TEST_F(DatasetFileTest, AnUnforcedRolloutOfAForcedSystemIsSavedWithZeroTau) {
  Dataset d = trajectory_set(true, false);
  d.tau.clear();
  d.generator = R"({"tool":"lnn rollout"})";
  EXPECT_THROW(d.validate(), InvalidArgument);
  save_dataset(d, file("r.h5"));
  const Dataset back = load_dataset(file("r.h5"));
  EXPECT_EQ(back.tau, std::vector<double>(12 * 2, 0.0));
  d.tau = back.tau;
  expect_same(back, d);
}

TEST(DatasetValidate, RefusesEachInconsistency) {
  struct Case {
    const char* phrase;
    bool trajectories;
    std::function<void(Dataset&)> edit;
  };
  const std::vector<Case> cases = {
      {"n (degrees of freedom)", false, [](Dataset& d) { d.n = 0; }},
      {"system name is empty", false, [](Dataset& d) { d.system.clear(); }},
      {"angles has 1 entries, expected n = 2", false, [](Dataset& d) { d.angles = {1}; }},
      {"actuated holds 2", false,
       [](Dataset& d) {
         d.actuated = {0, 2};
       }},
      {"potential_scale", false, [](Dataset& d) { d.potential_scale = 0.0; }},
      {"potential_scale", false,
       [](Dataset& d) { d.potential_scale = std::numeric_limits<double>::infinity(); }},
      {"generator is not a JSON object", false, [](Dataset& d) { d.generator = "[1, 2]"; }},
      {"generator is not a JSON object", false, [](Dataset& d) { d.generator = "{\"a\":"; }},
      {"parameter 'g' appears twice", false,
       [](Dataset& d) {
         d.parameters.push_back({"g", 1});
       }},
      {"parameter 'g' is not finite", false,
       [](Dataset& d) { d.parameters[2].second = std::numeric_limits<double>::quiet_NaN(); }},
      {"parameter name is empty", false, [](Dataset& d) { d.parameters[0].first.clear(); }},
      {"not a multiple of 2n = 4", false, [](Dataset& d) { d.states.pop_back(); }},
      {"no points", false,
       [](Dataset& d) {
         d.states.clear();
         d.accelerations.clear();
         d.energies.clear();
         d.status.clear();
       }},
      {"states_true has 19 values, expected none or 20", false,
       [](Dataset& d) { d.states_true.pop_back(); }},
      {"accelerations has 9 values, expected 10", false,
       [](Dataset& d) { d.accelerations.pop_back(); }},
      {"energies", false, [](Dataset& d) { d.energies.push_back(0); }},
      {"tau has 11 values, expected none or 10", false, [](Dataset& d) { d.tau.push_back(0); }},
      {"status has 4 values, expected 5", false, [](Dataset& d) { d.status.pop_back(); }},
      {"trajectories must be 0 for a derivative set, got 1", false,
       [](Dataset& d) { d.trajectories = 1; }},
      {"times (a derivative set has none)", false, [](Dataset& d) { d.times = {0.0}; }},
      {"accepted (a derivative set has none)", false, [](Dataset& d) { d.accepted = {1}; }},
      {"at least one sample time", true, [](Dataset& d) { d.times.clear(); }},
      {"2 trajectories × 4 times is not the 12 points", true,
       [](Dataset& d) { d.trajectories = 2; }},
      {"status has 2 values, expected 3", true, [](Dataset& d) { d.status.pop_back(); }},
      {"accepted has 4 values, expected none or 3", true,
       [](Dataset& d) { d.accepted.push_back(1); }},
      {"rejected has 2 values, expected none or 3", true,
       [](Dataset& d) { d.rejected.pop_back(); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.phrase);
    Dataset d = c.trajectories ? trajectory_set(true, true) : derivative_set(true, true);
    c.edit(d);
    try {
      d.validate();
      ADD_FAILURE() << "no InvalidArgument";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(c.phrase), std::string::npos) << e.what();
    }
  }
}

// ---- atomic saves ---------------------------------------------------------------------

TEST_F(DatasetFileTest, InvalidDatasetLeavesTheOldFile) {
  const std::string path = file("d.h5");
  save_dataset(derivative_set(false, false), path);
  const Bytes before = read_bytes(path);
  Dataset bad = derivative_set(true, true);
  bad.energies.pop_back();
  EXPECT_THROW(save_dataset(bad, path), InvalidArgument);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(entries(), std::vector<std::string>{"d.h5"});
}

TEST_F(DatasetFileTest, FailedWriteRemovesTemporaryAndKeepsExistingFile) {
  const std::string path = file("d.h5");
  save_dataset(derivative_set(false, false), path);
  const Bytes before = read_bytes(path);
  Dataset big = derivative_set(false, false);
  big.states = ramp(4 * 4000, 0.0, 1.0);  // 128 kB of states alone
  big.accelerations = ramp(2 * 4000, 0.0, 1.0);
  big.energies = ramp(4000, 0.0, 1.0);
  big.status.assign(4000, 0);
  // A file-size limit makes write() fail with EFBIG part way through, as a
  // full disk would (and unlike permissions, it applies to root too).
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 32768;
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  try {
    save_dataset(big, path);
    ADD_FAILURE() << "no FileError";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("File too large"), std::string::npos) << e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(entries(), std::vector<std::string>{"d.h5"});
  save_dataset(big, path);  // HDF5 is usable after the failure
  expect_same(load_dataset(path), big);
}

TEST_F(DatasetFileTest, RefusesADirectoryAndAMissingDirectory) {
  const std::string dir = file("target");
  fs::create_directory(dir);
  expect_file_error(dir, [&] { save_dataset(derivative_set(false, false), dir); },
                    {"not a regular file"});
  const std::string missing = file("no_such_dir/d.h5");
  expect_file_error(missing, [&] { save_dataset(derivative_set(false, false), missing); },
                    {"cannot create temporary file"});
  EXPECT_EQ(entries(), std::vector<std::string>{"target"});
}

// ---- the layout as h5py sees it --------------------------------------------------------

// A Python with h5py and NumPy: $LNN_TEST_PYTHON, python3 on the PATH, or the
// system's (a virtual environment may lack h5py); empty when there is none.
std::string python_with_h5py() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("LNN_TEST_PYTHON")) candidates.emplace_back(env);
  candidates.insert(candidates.end(), {"python3", "/usr/bin/python3"});
  for (const std::string& py : candidates) {
    const std::string probe = py + " -c 'import h5py, numpy' >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return py;
  }
  return "";
}

// Runs `script` with `args`; the exit status (0: all its asserts held).
int run_python(const std::string& python, const std::string& script_path, const std::string& script,
               const std::string& args) {
  write_text(script_path, script);
  const std::string command = python + " '" + script_path + "' " + args;
  return std::system(command.c_str());
}

TEST_F(DatasetFileTest, H5pySeesTheDocumentedLayout) {
  const std::string python = python_with_h5py();
  if (python.empty()) GTEST_SKIP() << "no Python with h5py and numpy";
  save_dataset(trajectory_set(true, true), file("t.h5"));
  save_dataset(derivative_set(false, false), file("d.h5"));
  const std::string script = R"PY(
import json, sys
import h5py, numpy as np

def ramp(count, start, step):
    i = np.arange(count, dtype=np.float64)
    return start + i * step + i / 7.0

def text(value):
    # Fixed-length UTF-8 strings, which h5py returns as bytes (docs/file-formats.md).
    assert isinstance(value, bytes), type(value)
    return value.decode("utf-8")

def check_common(f, kind, system, actuated):
    a = {k: (text(v) if k in ("format", "kind", "system", "generator", "lnn_version") else v)
         for k, v in f.attrs.items()}
    for key in ("format", "kind", "system", "generator", "lnn_version"):
        tid = f.attrs.get_id(key).get_type()
        assert not tid.is_variable_str() and tid.get_cset() == h5py.h5t.CSET_UTF8, key
    assert a["format"] == "lnn-dataset"
    assert a["format_version"] == 1 and a["format_version"].dtype == np.int64
    assert a["kind"] == kind
    assert a["system"] == system
    assert a["n"] == 2 and a["n"].dtype == np.int64
    assert a["seed"] == 2**63 + 5 and a["seed"].dtype == np.uint64
    assert a["potential_scale"] == 29.43 and a["potential_scale"].dtype == np.float64
    assert isinstance(json.loads(a["generator"]), dict)
    assert a["angles"].dtype == np.int8 and a["angles"].tolist() == [1, 1]
    assert a["actuated"].dtype == np.int8 and a["actuated"].tolist() == actuated
    names = [text(x) for x in a["parameter_names"]]
    assert names == ["m2", "l1", "g"], names
    p = f["parameters"].attrs
    assert sorted(p) == sorted(names)
    assert [float(p[k]) for k in names] == [1.5, 0.75, 9.81]
    assert all(p[k].dtype == np.float64 for k in names)

def check_array(f, name, shape, dtype, values=None):
    d = f[name]
    assert d.shape == shape and d.dtype == dtype, (name, d.shape, d.dtype)
    assert d.chunks is None and d.compression is None, name
    if values is not None:
        assert np.array_equal(d[()].ravel(), values, equal_nan=True), name

with h5py.File(sys.argv[1], "r") as f:
    check_common(f, "trajectories", "acrobot", [0, 1])
    assert json.loads(text(f.attrs["generator"])) == {"integrator": "dopri5", "rtol": 1e-10}
    check_array(f, "times", (4,), np.float64, [0.0, 0.1, 0.2, 0.1 + 0.2])
    states = ramp(48, 1.0, -0.5)
    states[17] = np.nan
    states[18] = -0.0
    check_array(f, "states", (3, 4, 4), np.float64, states)
    check_array(f, "states_true", (3, 4, 4), np.float64, ramp(48, 1.01, -0.5))
    check_array(f, "accelerations", (3, 4, 2), np.float64, ramp(24, 3.0, 0.75))
    check_array(f, "energies", (3, 4), np.float64, ramp(12, 0.3, 0.01))
    check_array(f, "tau", (3, 4, 2), np.float64, ramp(24, -1.0, 0.2))
    check_array(f, "status", (3,), np.int8, [0, 2, 0])
    check_array(f, "accepted", (3,), np.int64, [120, 7, 2**63 - 1])
    check_array(f, "rejected", (3,), np.int64, [3, 0, 11])
    assert sorted(f.keys()) == sorted(["parameters", "times", "states", "states_true",
                                       "accelerations", "energies", "tau", "status",
                                       "accepted", "rejected"]), list(f.keys())

with h5py.File(sys.argv[2], "r") as f:
    check_common(f, "derivatives", "double_pendulum", [0, 0])
    assert json.loads(text(f.attrs["generator"]))["note"] == "ünïcode \"quoted\""
    check_array(f, "states", (5, 4), np.float64, ramp(20, -3.0, 0.25))
    check_array(f, "accelerations", (5, 2), np.float64, ramp(10, 10.0, -1.5))
    check_array(f, "energies", (5,), np.float64, ramp(5, -7.0, 2.0))
    check_array(f, "status", (5,), np.int8, [0, 1, 0, 2, 0])
    assert sorted(f.keys()) == ["accelerations", "energies", "parameters", "states", "status"]
)PY";
  EXPECT_EQ(
      run_python(python, file("check.py"), script, "'" + file("t.h5") + "' '" + file("d.h5") + "'"),
      0);
}

TEST_F(DatasetFileTest, ReadsAFileWrittenByH5py) {
  const std::string python = python_with_h5py();
  if (python.empty()) GTEST_SKIP() << "no Python with h5py and numpy";
  // h5py's defaults differ from lnn's writer: attributes in creation order,
  // a fixed-length ASCII string, chunked and compressed datasets, a wider
  // status type. The reader takes all of them.
  const std::string script = R"PY(
import sys
import h5py, numpy as np

with h5py.File(sys.argv[1], "w", track_order=True) as f:
    f.attrs["format"] = "lnn-dataset"
    f.attrs["format_version"] = np.int64(1)
    f.attrs["kind"] = "derivatives"
    f.attrs["system"] = np.bytes_(b"pendulum")
    f.attrs["n"] = np.int64(1)
    f.attrs["seed"] = np.uint64(42)
    f.attrs["potential_scale"] = 9.81
    f.attrs["generator"] = '{"samples": 3}'
    f.attrs["angles"] = np.array([1], dtype=np.int8)
    f.attrs["actuated"] = np.array([0], dtype=np.int8)
    f.attrs["parameter_names"] = ["m", "l", "g"]
    f.attrs["lnn_version"] = "handmade"
    p = f.create_group("parameters")
    for k, v in (("m", 1.0), ("l", 0.5), ("g", 9.81)):
        p.attrs[k] = v
    f.create_dataset("states", data=np.arange(6, dtype=np.float64).reshape(3, 2) / 3,
                     chunks=(1, 2), compression="gzip")
    f.create_dataset("accelerations", data=np.array([[-1.0], [0.5], [0.25]]))
    f.create_dataset("energies", data=np.array([1.0, 2.0, 3.0], dtype=np.float32))
    f.create_dataset("status", data=np.array([0, 1, 0], dtype=np.int64))
)PY";
  ASSERT_EQ(run_python(python, file("make.py"), script, "'" + file("h.h5") + "'"), 0);
  const Dataset d = load_dataset(file("h.h5"));
  EXPECT_EQ(d.kind, DatasetKind::derivatives);
  EXPECT_EQ(d.system, "pendulum");
  EXPECT_EQ(d.n, 1);
  EXPECT_EQ(d.seed, 42u);
  EXPECT_EQ(d.parameters,
            (std::vector<std::pair<std::string, double>>{{"m", 1.0}, {"l", 0.5}, {"g", 9.81}}));
  EXPECT_EQ(d.angles, std::vector<std::uint8_t>{1});
  EXPECT_EQ(d.states, (std::vector<double>{0.0, 1.0 / 3, 2.0 / 3, 1.0, 4.0 / 3, 5.0 / 3}));
  EXPECT_EQ(d.accelerations, (std::vector<double>{-1.0, 0.5, 0.25}));
  EXPECT_EQ(d.energies, (std::vector<double>{1.0, 2.0, 3.0}));
  EXPECT_EQ(d.status, (std::vector<std::int8_t>{0, 1, 0}));
  EXPECT_TRUE(d.tau.empty());
  EXPECT_TRUE(d.states_true.empty());
}

}  // namespace
}  // namespace lnn::test
