// Atomic replacement of a file: write a temporary in the target's directory,
// fsync it, rename it over the target. Readers see the old file or the new
// one, never a torn one; a failure at any point leaves the old file as it was.
#pragma once
#include <cstddef>
#include <string>

namespace lnn::io {

class AtomicFile {
 public:
  // Creates the temporary "<target>.tmp.<pid>.<i>" exclusively (threads saving
  // to one path take different names; a stale name is never reused). The
  // target is `path`, or the file a symbolic link at `path` points to, so the
  // link is kept. Throws FileError naming `path` when path exists and is not a
  // regular file (as root, a rename over /dev/null would replace the device)
  // or when no temporary can be created. Temporaries of the same target left
  // by processes that no longer exist (killed while writing) are removed.
  explicit AtomicFile(const std::string& path);
  // Removes the temporary unless commit() succeeded.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // The temporary, for writers that open the file by name themselves. fsync
  // in commit() flushes what they wrote through any descriptor.
  const std::string& temp_path() const { return tmp_; }

  // Appends bytes to the temporary; throws FileError on a failed write.
  void write(const void* data, std::size_t bytes);

  // fsync, close, rename over the target, then fsync the directory (best
  // effort). Throws FileError naming the step that failed.
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what, int err) const;

  std::string path_;  // as the caller gave it, for messages
  std::string target_;
  std::string tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace lnn::io
