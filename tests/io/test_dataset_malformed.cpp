// Malformed dataset files, each refused with a FileError that names the
// problem. The files are built with the library's own HDF5 writer
// (io/hdf5_util.hpp), from a second statement of the documented layout.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <set>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "io/dataset_test_util.hpp"
#include "io/hdf5_util.hpp"
#include "lnn/dataset.hpp"
#include "lnn/errors.hpp"

namespace lnn::test {
namespace {

using io::h5::Shape;

// Writes the documented layout of `d` with the library's HDF5 writer, leaving
// out the attributes and datasets named in `skip`, then lets `extra` add what
// replaces them: an independent statement of the layout, and a way to break it.
void write_layout(const std::string& path, const Dataset& d, const std::set<std::string>& skip,
                  const std::function<void(io::h5::Writer&)>& extra = {}) {
  io::h5::Writer w(path);
  auto keep = [&](const std::string& name) { return !skip.contains(name); };
  const auto n = static_cast<std::uint64_t>(d.n);
  const std::vector<std::int8_t> angles(d.angles.begin(), d.angles.end());
  const std::vector<std::int8_t> actuated(d.actuated.begin(), d.actuated.end());
  std::vector<std::string> names;
  for (const auto& p : d.parameters) names.push_back(p.first);
  if (keep("format")) w.write_string("/", "format", "lnn-dataset");
  if (keep("format_version")) w.write_int64("/", "format_version", 1);
  if (keep("kind")) w.write_string("/", "kind", to_string(d.kind));
  if (keep("system")) w.write_string("/", "system", d.system);
  if (keep("n")) w.write_int64("/", "n", d.n);
  if (keep("seed")) w.write_uint64("/", "seed", d.seed);
  if (keep("potential_scale")) w.write_double("/", "potential_scale", d.potential_scale);
  if (keep("generator")) w.write_string("/", "generator", d.generator);
  if (keep("angles")) w.write_int8s("/", "angles", angles);
  if (keep("actuated")) w.write_int8s("/", "actuated", actuated);
  if (keep("parameter_names")) w.write_strings("/", "parameter_names", names);
  if (keep("/parameters")) {
    w.create_group("/parameters");
    for (const auto& [name, value] : d.parameters) w.write_double("/parameters", name, value);
  }
  const bool traj = d.kind == DatasetKind::trajectories;
  const std::uint64_t P = d.points(), T = d.trajectories, S = d.times.size();
  auto rows = [&](std::uint64_t width) {
    Shape s = traj ? Shape{T, S} : Shape{P};
    if (width > 0) s.push_back(width);
    return s;
  };
  auto dataset = [&](const std::string& name, const Shape& shape, const auto& values) {
    using V = typename std::decay_t<decltype(values)>::value_type;
    if (keep(name) && !values.empty()) w.write_dataset(name, shape, std::span<const V>(values));
  };
  if (traj) dataset("/times", {S}, d.times);
  dataset("/states", rows(2 * n), d.states);
  dataset("/states_true", rows(2 * n), d.states_true);
  dataset("/accelerations", rows(n), d.accelerations);
  dataset("/energies", rows(0), d.energies);
  dataset("/tau", rows(n), d.tau);
  dataset("/status", traj ? Shape{T} : Shape{P}, d.status);
  dataset("/accepted", {T}, d.accepted);
  dataset("/rejected", {T}, d.rejected);
  if (extra) extra(w);
  write_bytes(path, w.finish());
}

class MalformedDatasetFile : public DatasetFileTest {
 protected:
  void SetUp() override {
    DatasetFileTest::SetUp();
    path_ = file("bad.h5");
  }
  void expect_refused(const Dataset& d, const std::set<std::string>& skip,
                      const std::function<void(io::h5::Writer&)>& extra,
                      std::initializer_list<std::string> phrases) {
    write_layout(path_, d, skip, extra);
    expect_file_error(
        path_, [&] { (void)load_dataset(path_); }, phrases);
  }

  std::string path_;
};

TEST_F(MalformedDatasetFile, TheTestWriterMatchesSaveDataset) {
  // write_layout must state the same layout, or the cases below test nothing.
  for (const Dataset& d : {derivative_set(true, true), trajectory_set(true, false)}) {
    write_layout(path_, d, {});
    expect_same(load_dataset(path_), d);
  }
}

TEST_F(MalformedDatasetFile, MissingNotAFileOrNotHdf5) {
  expect_file_error(file("absent.h5"), [&] { (void)load_dataset(file("absent.h5")); },
                    {"cannot open for reading", "No such file"});
  expect_file_error(dir_.string(), [&] { (void)load_dataset(dir_.string()); },
                    {"not a regular file"});
  write_text(path_, "time,q,qdot\n0,1,2\n");
  expect_file_error(path_, [&] { (void)load_dataset(path_); }, {"not an HDF5 file"});
  write_text(path_, "");
  expect_file_error(path_, [&] { (void)load_dataset(path_); }, {"not an HDF5 file"});
}

TEST_F(MalformedDatasetFile, NotAnLnnDatasetOrNewerVersion) {
  const Dataset d = derivative_set(false, false);
  write_bytes(path_, io::h5::Writer(path_).finish());  // an empty HDF5 file
  expect_file_error(path_, [&] { (void)load_dataset(path_); },
                    {"not an lnn dataset", "no attribute 'format'"});
  expect_refused(d, {"format"}, [](io::h5::Writer& w) { w.write_string("/", "format", "other"); },
                 {"not an lnn dataset", "'other'"});
  expect_refused(d, {"format"}, [](io::h5::Writer& w) { w.write_int64("/", "format", 1); },
                 {"attribute 'format' holds integer values, expected string"});
  expect_refused(d, {"format_version"},
                 [](io::h5::Writer& w) { w.write_int64("/", "format_version", 2); },
                 {"format version 2 is newer than this lnn reads (1)"});
  expect_refused(d, {"format_version"},
                 [](io::h5::Writer& w) { w.write_int64("/", "format_version", 0); },
                 {"format version 0 is not valid"});
  expect_refused(d, {"format_version"}, {}, {"no attribute 'format_version'"});
}

TEST_F(MalformedDatasetFile, BadRootAttributes) {
  const Dataset d = derivative_set(false, false);
  expect_refused(d, {"kind"}, [](io::h5::Writer& w) { w.write_string("/", "kind", "samples"); },
                 {"attribute 'kind'", "unknown dataset kind 'samples'"});
  expect_refused(d, {"n"}, [](io::h5::Writer& w) { w.write_int64("/", "n", 0); },
                 {"attribute 'n' is 0"});
  expect_refused(d, {"n"}, [](io::h5::Writer& w) { w.write_double("/", "n", 2.0); },
                 {"attribute 'n' holds floating-point values, expected integer"});
  expect_refused(d, {"seed"}, [](io::h5::Writer& w) { w.write_int64("/", "seed", -1); },
                 {"attribute 'seed' is negative"});
  expect_refused(d, {"system"}, {}, {"no attribute 'system'"});
  expect_refused(d, {"generator"},
                 [](io::h5::Writer& w) { w.write_string("/", "generator", "not json"); },
                 {"invalid dataset", "generator is not a JSON object"});
  expect_refused(
      d, {"angles"},
      [](io::h5::Writer& w) { w.write_int8s("/", "angles", std::vector<std::int8_t>{1}); },
      {"invalid dataset", "angles has 1 entries, expected n = 2"});
  expect_refused(d, {"actuated"},
                 [](io::h5::Writer& w) {
                   w.write_int8s("/", "actuated", std::vector<std::int8_t>{0, -1});
                 },
                 {"invalid dataset", "actuated holds 255"});
}

TEST_F(MalformedDatasetFile, BadParameters) {
  const Dataset d = derivative_set(false, false);
  expect_refused(d, {"/parameters"}, {}, {"no group 'parameters'"});
  expect_refused(d, {"parameter_names"},
                 [](io::h5::Writer& w) {
                   w.write_strings("/", "parameter_names", {"m2", "l1", "g", "l2"});
                 },
                 {"no attribute 'l2' of 'parameters'"});
  expect_refused(d, {"parameter_names"},
                 [](io::h5::Writer& w) {
                   w.write_strings("/", "parameter_names", {"m2", "g"});
                 },
                 {"attribute 'l1' of 'parameters' is not listed in parameter_names"});
}

TEST_F(MalformedDatasetFile, MissingMisshapenOrMistypedArrays) {
  const Dataset d = derivative_set(true, false);
  expect_refused(d, {"/accelerations"}, {}, {"no dataset 'accelerations'"});
  expect_refused(d, {"/states"},
                 [](io::h5::Writer& w) {
                   w.write_dataset("/states", {5, 3}, std::span<const double>(ramp(15, 0, 1)));
                 },
                 {"'states' has shape (5, 3), expected (5, 4)"});
  expect_refused(d, {"/states"},
                 [](io::h5::Writer& w) {
                   w.write_dataset("/states", {20}, std::span<const double>(ramp(20, 0, 1)));
                 },
                 {"'states' has shape (20,), expected (P, 4)"});
  expect_refused(d, {"/energies"},
                 [](io::h5::Writer& w) {
                   w.write_dataset("/energies", {5, 1}, std::span<const double>(ramp(5, 0, 1)));
                 },
                 {"'energies' has shape (5, 1), expected (5,)"});
  expect_refused(d, {"/tau"},
                 [](io::h5::Writer& w) {
                   w.write_dataset("/tau", {4, 2}, std::span<const double>(ramp(8, 0, 1)));
                 },
                 {"'tau' has shape (4, 2), expected (5, 2)"});
  expect_refused(d, {"/status"},
                 [](io::h5::Writer& w) {
                   w.write_dataset("/status", {5}, std::span<const double>(ramp(5, 0, 1)));
                 },
                 {"'status' holds floating-point values, expected integer"});
  expect_refused(d, {"/accelerations"}, [](io::h5::Writer& w) { w.create_group("/accelerations"); },
                 {"'accelerations' is not a dataset"});
}

TEST_F(MalformedDatasetFile, MisshapenTrajectoryArrays) {
  const Dataset d = trajectory_set(false, false);
  expect_refused(d, {"/times"}, {}, {"no dataset 'times'"});
  expect_refused(d, {"/states"},
                 [](io::h5::Writer& w) {
                   w.write_dataset("/states", {3, 5, 4}, std::span<const double>(ramp(60, 0, 1)));
                 },
                 {"'states' has shape (3, 5, 4), expected (3, 4, 4)"});
  expect_refused(d, {"/states"},
                 [](io::h5::Writer& w) {
                   w.write_dataset("/states", {12, 4}, std::span<const double>(ramp(48, 0, 1)));
                 },
                 {"'states' has shape (12, 4), expected (T, 4, 4)"});
  expect_refused(d, {"/status"},
                 [](io::h5::Writer& w) {
                   w.write_dataset("/status", {12},
                                   std::span<const std::int8_t>(std::vector<std::int8_t>(12, 0)));
                 },
                 {"'status' has shape (12,), expected (3,)"});
  expect_refused(d, {"/rejected"},
                 [](io::h5::Writer& w) {
                   w.write_dataset("/rejected", {4},
                                   std::span<const std::int64_t>(std::vector<std::int64_t>(4, 1)));
                 },
                 {"'rejected' has shape (4,), expected (3,)"});
}

// Issue 19, defect 7: files whose values would mislead a trainer, each
// refused with one line naming the file.
TEST_F(MalformedDatasetFile, ForcedWithoutTauNonFiniteOrInvalidSystem) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // A forced system's accelerations without the forces behind them.
  expect_refused(derivative_set(true, false), {"/tau"}, {},
                 {"invalid dataset", "tau is missing, but system acrobot has actuated"});
  expect_refused(trajectory_set(true, false), {"/tau"}, {}, {"invalid dataset", "tau is missing"});
  Dataset d = derivative_set(false, false);
  d.accelerations[9] = nan;  // point 4, status ok
  expect_refused(d, {}, {},
                 {"invalid dataset", "accelerations is NaN at point 4, whose status is ok"});
  Dataset t = trajectory_set(false, false);
  t.times[1] = nan;
  expect_refused(t, {}, {}, {"invalid dataset", "times[1] is not finite"});
  t = trajectory_set(false, false);
  t.times = {0.0, 0.2, 0.1, 0.3};
  expect_refused(t, {}, {}, {"invalid dataset", "times are not ascending"});
  t = trajectory_set(false, false);
  t.energies[11] = nan;  // trajectory 2, status ok
  expect_refused(t, {}, {}, {"energies is NaN at trajectory 2 at times[3]"});
  d = derivative_set(false, false);
  d.parameters[0].second = -1.5;
  expect_refused(d, {}, {}, {"invalid dataset", "parameter m2 = -1.5 is not allowed"});
  d = derivative_set(false, false);
  d.system = "my_pendulum";
  expect_refused(d, {}, {}, {"invalid dataset", "unknown system 'my_pendulum'"});
  d = derivative_set(false, false);
  d.actuated = {0, 1};
  expect_refused(d, {}, {}, {"invalid dataset", "actuated [0, 1] are not system double_pendulum's"});
}

// Failed points keep their NaN: a file lnn wrote with failures reads back.
TEST_F(MalformedDatasetFile, NonFiniteValuesOfFailedPointsAreRead) {
  Dataset d = derivative_set(true, false);
  d.accelerations[2] = d.accelerations[3] = std::numeric_limits<double>::quiet_NaN();  // status 1
  write_layout(path_, d, {});
  expect_same(load_dataset(path_), d);
}

// Rollout files written before issue 19 hold no tau for a forced system:
// lnn rollout and lnn sweep roll out unforced, so they mean τ = 0. Any
// other file without tau is refused (above).
TEST_F(MalformedDatasetFile, OlderRolloutFilesWithoutTauMeanZeroForces) {
  for (const char* tool : {"lnn rollout", "lnn sweep"}) {
    SCOPED_TRACE(tool);
    Dataset d = trajectory_set(true, false);
    d.generator = std::string(R"({"tool":")") + tool + R"(","integrator":"dopri5"})";
    write_layout(path_, d, {"/tau"});
    const Dataset back = load_dataset(path_);
    EXPECT_EQ(back.tau, std::vector<double>(d.tau.size(), 0.0));
  }
}

}  // namespace
}  // namespace lnn::test
