// Corrupted dataset files (issue 19, defect 1): one flipped byte anywhere in
// a file lnn wrote, or in a file of the earlier format with variable-length
// strings (tests/data/legacy_vlen_dataset.h5), must give one FileError naming
// the file: never a crash, a hang, or HDF5's own messages on stderr. Each
// mutant is read in a child process, so a crash or a hang is observed rather
// than suffered.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "io/dataset_test_util.hpp"
#include "lnn/dataset.hpp"
#include "lnn/errors.hpp"
#include "lnn/generate.hpp"
#include "lnn/systems.hpp"

namespace lnn::test {
namespace {

std::string test_data(const std::string& name) {
  const char* env = std::getenv("LNN_TEST_DATA");
  const fs::path dir = env ? fs::path(env) : fs::path(__FILE__).parent_path().parent_path() / "data";
  return (dir / name).string();
}

// How a child reading one mutant ended.
struct Outcome {
  enum Kind { loaded, refused, other_exception, crashed, hung } kind = loaded;
  std::string output;  // what the child wrote on stderr, then its message
};

// Reads `path` in a child process; at most `timeout` for it.
Outcome read_in_child(const std::string& path, std::chrono::milliseconds timeout) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    ::close(fds[0]);
    ::dup2(fds[1], 2);  // stderr: anything HDF5 prints comes back to the parent
    int code = 0;
    try {
      (void)load_dataset(path);
    } catch (const FileError& e) {
      const std::string line = std::string("MESSAGE ") + e.what();
      (void)!::write(2, line.data(), line.size());
      code = 10;
    } catch (const std::exception& e) {
      const std::string line = std::string("OTHER ") + e.what();
      (void)!::write(2, line.data(), line.size());
      code = 11;
    }
    std::exit(code);  // exit(), not _exit(): HDF5's own clean-up runs, and its noise would show
  }
  ::close(fds[1]);
  Outcome out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool open = true;
  while (open) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) open = false;
    else out.output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(pid, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    ::usleep(1000);
  }
  if (done == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    out.kind = Outcome::hung;
  } else if (WIFSIGNALED(status)) {
    out.kind = Outcome::crashed;
  } else {
    const int code = WEXITSTATUS(status);
    out.kind = code == 0    ? Outcome::loaded
               : code == 10 ? Outcome::refused
                            : Outcome::other_exception;
  }
  return out;
}

// The child's stderr without a sanitizer's own diagnostics, which are not
// lnn's output: ASan's "failed to allocate" warnings when libhdf5 asks for a
// size read from the file (allocator_may_return_null: tests/io/sanitizer_defaults.cpp).
std::string without_sanitizer_lines(const std::string& text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    end = end == std::string::npos ? text.size() : end + 1;
    const std::string line = text.substr(pos, end - pos);
    const bool sanitizer = line.rfind("==", 0) == 0 &&
                           line.find("==WARNING: AddressSanitizer failed to allocate") != std::string::npos;
    if (!sanitizer) out += line;
    pos = end;
  }
  return out;
}

// Flips bytes of `original` at every `stride`-th offset (alternately every bit
// and one bit) and reads each mutant; every one must load or be refused with
// one line naming the file, and nothing else on stderr.
void expect_mutants_refused_cleanly(const Bytes& original, const std::string& mutant_path,
                                    std::size_t mutants) {
  ASSERT_GT(original.size(), mutants);
  const std::size_t stride = original.size() / mutants;
  std::size_t refused = 0, loaded = 0;
  std::vector<std::string> failures;
  for (std::size_t i = 0; i < mutants; ++i) {
    const std::size_t offset = i * stride + (i % 7);
    Bytes b = original;
    b[offset] ^= static_cast<unsigned char>(i % 2 == 0 ? 0xff : 1u << (i % 8));
    write_bytes(mutant_path, b);
    Outcome o = read_in_child(mutant_path, std::chrono::seconds(3));
    o.output = without_sanitizer_lines(o.output);
    const std::string where = "offset " + std::to_string(offset) + ": ";
    switch (o.kind) {
      case Outcome::loaded:
        ++loaded;
        if (!o.output.empty()) failures.push_back(where + "loaded, but printed: " + o.output);
        break;
      case Outcome::refused: {
        ++refused;
        const std::string expected = "MESSAGE " + mutant_path + ": ";
        if (o.output.rfind(expected, 0) != 0 || o.output.find('\n') != std::string::npos) {
          failures.push_back(where + "refused, but the output is not one line naming the file: " +
                             o.output);
        }
        break;
      }
      case Outcome::other_exception:
        failures.push_back(where + "not a FileError: " + o.output);
        break;
      case Outcome::crashed:
        failures.push_back(where + "crashed; output: " + o.output);
        break;
      case Outcome::hung:
        failures.push_back(where + "hung; output: " + o.output);
        break;
    }
  }
  EXPECT_GT(refused, mutants / 10) << "refused " << refused << ", loaded " << loaded;
  std::string all;
  for (std::size_t i = 0; i < failures.size() && i < 20; ++i) all += failures[i] + "\n";
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << mutants
                                << " mutants misbehaved:\n" << all;
}

class CorruptDatasetFile : public DatasetFileTest {};

// A trajectory set as `lnn generate` writes it, of a forced system (so tau too).
TEST_F(CorruptDatasetFile, FlippedBytesInAFileLnnWroteAreRefusedCleanly) {
  const auto system = make_system("cart_pole");
  TrajectorySetOptions o;
  o.trajectories = 2;
  o.t_end = 0.3;
  const Dataset d = generate_trajectories(*system, o);
  save_dataset(d, file("t.h5"));
  expect_mutants_refused_cleanly(read_bytes(file("t.h5")), file("mutant.h5"), 400);
}

// A file written before strings became fixed-length (docs/file-formats.md):
// its strings are variable-length, kept in HDF5's global heap.
TEST_F(CorruptDatasetFile, FlippedBytesInALegacyFileAreRefusedCleanly) {
  const std::string legacy = test_data("legacy_vlen_dataset.h5");
  const Dataset d = load_dataset(legacy);  // still read
  EXPECT_EQ(d.system, "pendulum");
  expect_mutants_refused_cleanly(read_bytes(legacy), file("mutant.h5"), 400);
}

}  // namespace
}  // namespace lnn::test

namespace lnn::test {
namespace {

// Found by the dataset fuzzer (docs/reliability.md, crashes 4 to 6): object
// headers of the earliest HDF5 format (no checksums) on which libhdf5 1.10's
// attribute code (H5Aexists_by_name, H5Aiterate2 → H5O__msg_iterate_real)
// reads memory it has released or never had: a SEGV under ASan, and
// undefined behaviour without it. load_dataset reads every file in a child
// process first, so in this process each is one FileError naming the file
// (under ASan too: there the child's fault is ASan's report, which goes
// nowhere, and its exit).
TEST(DatasetCorrupt, FilesOnWhichLibhdf5FaultsAreRefusedInProcess) {
  for (const char* name : {"hdf5_corrupt_object_header.h5", "hdf5_corrupt_attribute_table.h5",
                           "hdf5_corrupt_attribute_lookup.h5"}) {
    SCOPED_TRACE(name);
    const std::string path = test_data(name);
    try {
      (void)load_dataset(path);
      ADD_FAILURE() << "loaded";
    } catch (const FileError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(path + ": ", 0), 0u) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
}

// The same files through the child-process harness above: refused, never a
// crash or a hang of the reading process.
TEST(DatasetCorrupt, FilesOnWhichLibhdf5FaultsAreRefusedInAChild) {
  for (const char* name : {"hdf5_corrupt_object_header.h5", "hdf5_corrupt_attribute_table.h5",
                           "hdf5_corrupt_attribute_lookup.h5"}) {
    SCOPED_TRACE(name);
    const std::string path = test_data(name);
    const Outcome o = read_in_child(path, std::chrono::seconds(30));
    EXPECT_EQ(o.kind, Outcome::refused) << o.output;
    EXPECT_NE(o.output.find(path), std::string::npos) << o.output;
  }
}

// A read that does not finish within the limit (libhdf5 looping on corrupted
// metadata; here a valid file and a limit of a microsecond) is killed and
// refused naming the file; the limit's variable is named in the message.
TEST(DatasetCorrupt, AReadOverTheChildsLimitIsRefused) {
  const fs::path dir = fs::temp_directory_path() / ("lnn_child_limit_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "d.h5").string();
  DerivativeSetOptions o;
  o.samples = 10;
  save_dataset(generate_derivatives(*make_system("pendulum"), o), path);
  ASSERT_EQ(::setenv("LNN_HDF5_CHILD_LIMIT_S", "0.000001", 1), 0);
  try {
    (void)load_dataset(path);
    ADD_FAILURE() << "loaded";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("LNN_HDF5_CHILD_LIMIT_S"), std::string::npos) << e.what();
  }
  ASSERT_EQ(::unsetenv("LNN_HDF5_CHILD_LIMIT_S"), 0);
  EXPECT_EQ(load_dataset(path).states.size(), 10u * 2u);
  ASSERT_EQ(::setenv("LNN_HDF5_CHILD", "0", 1), 0);  // in this process only: the same dataset
  EXPECT_EQ(load_dataset(path).states.size(), 10u * 2u);
  ASSERT_EQ(::unsetenv("LNN_HDF5_CHILD"), 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lnn::test
