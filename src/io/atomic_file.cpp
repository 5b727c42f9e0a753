#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string>

#include "common/text.hpp"
#include "lnn/errors.hpp"

namespace lnn::io {
namespace {

constexpr int kTempAttempts = 16;  // temporary names tried

using text::errno_text;
using text::in_quotes;

// Best effort: makes the rename durable. Some file systems refuse fsync on a
// directory; the file itself is already on disk, so that is not an error.
void sync_directory_of(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

// Removes "<target>.tmp.<pid>" and "<target>.tmp.<pid>.<i>" files that a
// process killed while writing left behind, when that process is gone
// (kill(pid, 0) says ESRCH). A live process's temporary, or one whose pid
// was reused by a live process, is left alone. Best effort: errors are ignored.
void remove_stale_temporaries(const std::string& target) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir = fs::path(target).parent_path();
  if (dir.empty()) dir = ".";
  const std::string prefix = fs::path(target).filename().string() + ".tmp.";
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = name.substr(prefix.size());  // "<pid>" or "<pid>.<i>"
    const std::size_t dot = rest.find('.');
    const std::string pid_text = rest.substr(0, dot);
    if (pid_text.empty() || pid_text.size() > 9 ||
        pid_text.find_first_not_of("0123456789") != std::string::npos ||
        (dot != std::string::npos &&
         (dot + 1 == rest.size() ||
          rest.find_first_not_of("0123456789", dot + 1) != std::string::npos))) {
      continue;
    }
    const auto pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH) fs::remove(it->path(), ec);
    ec.clear();
  }
}

}  // namespace

AtomicFile::AtomicFile(const std::string& path) : path_(path), target_(path) {
  std::error_code ec;
  const auto link = std::filesystem::symlink_status(path, ec);
  if (!ec && std::filesystem::is_symlink(link)) {
    target_ = std::filesystem::weakly_canonical(path, ec).string();
    if (ec) throw FileError(path, "cannot resolve symbolic link: " + ec.message());
  }
  const auto st = std::filesystem::status(target_, ec);
  if (!ec && std::filesystem::exists(st) && !std::filesystem::is_regular_file(st)) {
    throw FileError(path, "exists and is not a regular file; refusing to replace it");
  }
  remove_stale_temporaries(target_);
  int open_errno = 0;
  for (int i = 0; i < kTempAttempts && fd_ < 0; ++i) {
    tmp_ = target_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(i);
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    open_errno = errno;
    if (fd_ < 0 && open_errno != EEXIST) break;
  }
  if (fd_ < 0) {
    throw FileError(
        path, "cannot create temporary file " + in_quotes(tmp_) + ": " + errno_text(open_errno));
  }
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(tmp_.c_str());
}

void AtomicFile::fail(const std::string& what, int err) const {
  throw FileError(path_, what + ": " + errno_text(err));
}

void AtomicFile::write(const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  while (bytes > 0) {
    const ssize_t w = ::write(fd_, p, std::min<std::size_t>(bytes, std::size_t{1} << 30));
    if (w < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      fail("cannot write temporary file " + in_quotes(tmp_), err);
    }
    p += w;
    bytes -= static_cast<std::size_t>(w);
  }
}

void AtomicFile::commit() {
  // errno is read right after each call: building the message may change it.
  if (::fsync(fd_) != 0) {
    const int err = errno;
    fail("cannot flush temporary file " + in_quotes(tmp_), err);
  }
  const int closed = ::close(fd_);
  const int close_errno = errno;
  fd_ = -1;
  if (closed != 0) fail("cannot close temporary file " + in_quotes(tmp_), close_errno);
  if (::rename(tmp_.c_str(), target_.c_str()) != 0) {
    const int err = errno;
    fail("cannot rename temporary file " + in_quotes(tmp_) + " into place", err);
  }
  committed_ = true;
  sync_directory_of(target_);
}

}  // namespace lnn::io
