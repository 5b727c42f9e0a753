#include "io/hdf5_util.hpp"

#include <fcntl.h>
#include <hdf5.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <utility>

#include "common/text.hpp"
#include "lnn/errors.hpp"

// HDF5's own metadata checksum (Jenkins' lookup3, the one it verifies
// superblocks and object headers with): exported by libhdf5 since 1.8 but
// declared in a private header only (H5private.h).
extern "C" std::uint32_t H5_checksum_metadata(const void* data, std::size_t len,
                                              std::uint32_t initval);

namespace lnn::io::h5 {
namespace {

// One HDF5 identifier and the function that closes it.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() { (void)close(); }
  Handle(Handle&& other) noexcept
      : id_(std::exchange(other.id_, H5I_INVALID_HID)), closer_(other.closer_) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      (void)close();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      closer_ = other.closer_;
    }
    return *this;
  }
  hid_t get() const { return id_; }
  // Closes now; false when HDF5 reports an error (for a file: a failed flush).
  bool close() {
    const bool ok = id_ < 0 || closer_(id_) >= 0;
    id_ = H5I_INVALID_HID;
    return ok;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// Holds the library for one Writer or Reader where HDF5 was built without
// thread safety, which must not be entered from two threads at once.
// Recursive: one thread may hold a Writer and a Reader together.
// In the child of read_in_child_first the lock is not taken: the parent holds
// it across fork(), and the child (one thread, a new thread id) could never
// take the copy the parent held.
bool g_in_read_child = false;

class LibraryLock {
 public:
  LibraryLock() {
#ifndef H5_HAVE_THREADSAFE
    if (!g_in_read_child) {
      mutex().lock();
      held_ = true;
    }
#endif
  }
  ~LibraryLock() {
    if (held_) mutex().unlock();
  }
  LibraryLock(const LibraryLock&) = delete;
  LibraryLock& operator=(const LibraryLock&) = delete;

 private:
  static std::recursive_mutex& mutex() {
    static std::recursive_mutex m;
    return m;
  }
  bool held_ = false;
};

// Turns HDF5's automatic error printing off for the lifetime of the object
// and restores the caller's setting afterwards.
class QuietErrors {
 public:
  QuietErrors() {
    (void)H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    (void)H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietErrors() { (void)H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// After HDF5 1.10 fails on a corrupted file it may keep internal objects of
// that file (no identifier of lnn's stays open: every one is closed by its
// Handle), and at exit its clean-up then prints "HDF5: infinite loop closing
// library" with a list of its interfaces, unless automatic error printing is
// off. So once a read has failed, a handler that turns the printing off runs
// at exit just before HDF5's own (atexit handlers run in reverse order of
// registration, and HDF5 registered its own when it started, before this).
// Nothing else of the program's error printing changes.
void quiet_at_exit() {
  static std::once_flag once;
  std::call_once(once, [] {
    (void)std::atexit([] { (void)H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
  });
}

// The innermost message of the error stack, where HDF5 detected the failure.
// For a failed system call HDF5 writes "…, errno = 27, error message = 'File
// too large', buf = 0x…": only the error message is kept, the rest (times,
// addresses) would make the message differ from run to run.
std::string hdf5_detail() {
  std::string desc;
  auto innermost = [](unsigned n, const H5E_error2_t* err, void* out) -> herr_t {
    if (n == 0 && err->desc != nullptr) *static_cast<std::string*>(out) = err->desc;
    return 0;
  };
  (void)H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, &desc);
  const std::string marker = "error message = '";
  const std::size_t at = desc.find(marker);
  if (at != std::string::npos) {
    const std::size_t begin = at + marker.size();
    const std::size_t end = desc.find('\'', begin);
    desc = desc.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  }
  return desc.empty() ? std::string("HDF5 reported an error") : desc;
}

using text::in_quotes;

// "'states'": objects as h5py names them, without the leading slash.
std::string object_label(const std::string& path) {
  return in_quotes(path.size() > 1 && path[0] == '/' ? path.substr(1) : path);
}

std::string attribute_label(const std::string& object, const std::string& name) {
  return "attribute " + in_quotes(name) + (object == "/" ? "" : " of " + object_label(object));
}

// Creation properties shared by groups, datasets and (through the file
// creation list) the root group: no access/modification/change times, which
// would make two saves of the same data differ.
Handle untimed_plist(hid_t cls) {
  Handle plist(H5Pcreate(cls), H5Pclose);
  if (plist.get() < 0 || H5Pset_obj_track_times(plist.get(), 0) < 0) return {};
  return plist;
}

// File access: exactly HDF5 1.8's file format (any HDF5 ≥ 1.8 reads the
// file, and the format does not change with the library's version). Not the
// earliest format: 1.8's superblock and object headers carry checksums, so
// a corrupted header of a file lnn wrote is refused by HDF5's own check
// before it is parsed (docs/reliability.md, "HDF5"). File locking only where
// the file system supports it.
Handle access_plist() {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (fapl.get() < 0 || H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18) < 0)
    return {};
#if H5_VERSION_GE(1, 10, 7)
  if (H5Pset_file_locking(fapl.get(), 1, 1) < 0) return {};
#endif
  return fapl;
}

// Fixed-length UTF-8 strings of `size` bytes, NUL-padded (a string of
// exactly `size` bytes has no NUL). Not variable-length: those live in HDF5's
// global heap, whose reader in HDF5 1.10 crashes or hangs on a corrupted
// heap (docs/file-formats.md, "Strings").
Handle utf8_string_type(std::size_t size) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  if (type.get() < 0 || H5Tset_size(type.get(), std::max<std::size_t>(size, 1)) < 0 ||
      H5Tset_strpad(type.get(), H5T_STR_NULLPAD) < 0 || H5Tset_cset(type.get(), H5T_CSET_UTF8) < 0)
    return {};
  return type;
}

Handle simple_space(const Shape& shape) {
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  return Handle(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
}

// The file and memory types of an element type, and its class for checks.
template <class T>
struct Element;
template <>
struct Element<double> {
  static hid_t file() { return H5T_IEEE_F64LE; }
  static hid_t memory() { return H5T_NATIVE_DOUBLE; }
  static constexpr H5T_class_t type_class = H5T_FLOAT;
};
template <>
struct Element<std::int8_t> {
  static hid_t file() { return H5T_STD_I8LE; }
  static hid_t memory() { return H5T_NATIVE_INT8; }
  static constexpr H5T_class_t type_class = H5T_INTEGER;
};
template <>
struct Element<std::int64_t> {
  static hid_t file() { return H5T_STD_I64LE; }
  static hid_t memory() { return H5T_NATIVE_INT64; }
  static constexpr H5T_class_t type_class = H5T_INTEGER;
};
template <>
struct Element<std::uint64_t> {
  static hid_t file() { return H5T_STD_U64LE; }
  static hid_t memory() { return H5T_NATIVE_UINT64; }
  static constexpr H5T_class_t type_class = H5T_INTEGER;
};

std::string class_name(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER:
      return "integer";
    case H5T_FLOAT:
      return "floating-point";
    case H5T_STRING:
      return "string";
    default:
      return "non-numeric";
  }
}

// The most bytes of strings one attribute may hold (a generator's JSON is a
// few hundred): beyond, the attribute is taken for corrupted.
constexpr std::size_t kMaxStringBytes = std::size_t{64} << 20;

// The number of elements of `shape`, or false when it overflows (a file may
// claim any dimensions).
bool element_count(const Shape& shape, std::uint64_t& count) {
  count = 1;
  for (std::uint64_t d : shape) {
    if (d != 0 && count > std::numeric_limits<std::uint64_t>::max() / d) return false;
    count *= d;
  }
  return true;
}

// ---- variable-length strings of earlier files ----------------------------------
//
// Files written before issue 19 (and h5py's default str attributes) hold
// variable-length strings: in the attribute, per string its length, the
// address of a global heap collection and an object index; the characters in
// that collection. HDF5 1.10 copies the object without checking the index
// against the collection or its size against the length (H5HG_read), and
// loops forever on a collection whose free-space entry has size 0: a flipped
// byte crashes or hangs the process. So before HDF5 reads one, the raw
// references are read (through the conversion below, which leaves the bytes
// as stored) and each collection they point into is walked here with every
// bound checked (docs/file-formats.md, "Strings").

constexpr const char* kRawVlenTag = "lnn: a variable-length string as stored";

// A soft conversion from a variable-length string in the file to an opaque
// type of the same size tagged kRawVlenTag: the identity, so H5Aread hands
// back the stored (length, collection address, index) triples without
// touching the global heap.
herr_t raw_vlen_conversion(hid_t src, hid_t dst, H5T_cdata_t* cdata, size_t, size_t, size_t,
                           void*, void*, hid_t) {
  if (cdata->command != H5T_CONV_INIT) return 0;  // convert: nothing moves; free: nothing held
  if (H5Tget_class(dst) != H5T_OPAQUE || H5Tis_variable_str(src) <= 0) return -1;
  char* tag = H5Tget_tag(dst);
  const bool ours = tag != nullptr && std::strcmp(tag, kRawVlenTag) == 0;
  if (tag != nullptr) H5free_memory(tag);
  if (!ours || H5Tget_size(src) != H5Tget_size(dst)) return -1;
  cdata->need_bkg = H5T_BKG_NO;
  return 0;
}

bool register_raw_vlen_conversion() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    Handle src(H5Tcopy(H5T_C_S1), H5Tclose);
    Handle dst(H5Tcreate(H5T_OPAQUE, 16), H5Tclose);
    ok = src.get() >= 0 && dst.get() >= 0 && H5Tset_size(src.get(), H5T_VARIABLE) >= 0 &&
         H5Tset_tag(dst.get(), kRawVlenTag) >= 0 &&
         H5Tregister(H5T_PERS_SOFT, "lnn_raw_vlen", src.get(), dst.get(), raw_vlen_conversion) >= 0;
  });
  return ok;
}

// Little-endian unsigned integer of `width` bytes.
std::uint64_t le(const unsigned char* p, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = width; i-- > 0;) v = v << 8 | p[i];
  return v;
}

// The file's bytes [offset, offset + size), or false when they are not all there.
bool read_bytes(int fd, std::uint64_t offset, std::size_t size, std::vector<unsigned char>& out) {
  out.resize(size);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// The objects of one global heap collection: index → (size).
struct Collection {
  std::vector<std::uint64_t> sizes;  // by index; kAbsent where none
  static constexpr std::uint64_t kAbsent = ~std::uint64_t{0};
};

// Walks the collection at file offset `at` (the layout of the HDF5 file
// format specification, "Global Heap") the way H5HG__cache_heap_deserialize
// does, refusing what would make it loop, read outside the collection or
// outside the file. Returns the problem, or "" with `out` filled.
std::string walk_collection(int fd, std::uint64_t at, std::uint64_t file_size,
                            std::size_t length_bytes, Collection& out) {
  constexpr std::uint64_t kMinSize = 4096;  // H5HG_MINSIZE: HDF5 first reads this much
  const std::size_t header = (8 + length_bytes + 7) / 8 * 8;
  const std::size_t object_header = 8 + length_bytes;
  std::vector<unsigned char> head;
  if (at > file_size || file_size - at < kMinSize || !read_bytes(fd, at, 8 + length_bytes, head))
    return "a global heap collection lies outside the file";
  if (std::memcmp(head.data(), "GCOL", 4) != 0 || head[4] != 1)
    return "a global heap collection has no valid signature";
  const std::uint64_t size = le(head.data() + 8, length_bytes);
  if (size < kMinSize || size > file_size - at)
    return "a global heap collection has an impossible size";
  std::vector<unsigned char> c;
  if (!read_bytes(fd, at, static_cast<std::size_t>(size), c))
    return "a global heap collection lies outside the file";
  std::uint64_t pos = header;
  while (pos < size) {
    if (pos + object_header > size) break;  // a tail too small for an object: free space
    const unsigned char* p = c.data() + pos;
    const std::uint64_t index = le(p, 2);
    const std::uint64_t object_size = le(p + 8, length_bytes);
    const std::uint64_t left = size - pos;
    if (object_size > left) return "a global heap object overruns its collection";
    const std::uint64_t need =
        index > 0 ? object_header + (object_size + 7) / 8 * 8 : object_size;
    if (need < object_header || need > left)
      return "a global heap object overruns its collection";
    if (index >= out.sizes.size()) out.sizes.resize(index + 1, Collection::kAbsent);
    if (out.sizes[index] != Collection::kAbsent) return "a global heap object appears twice";
    out.sizes[index] = index > 0 ? object_size : 0;
    pos += need;
  }
  return "";
}

}  // namespace

std::string shape_text(const Shape& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    out += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  }
  return out + (shape.size() == 1 ? ",)" : ")");
}

// ---- Writer -------------------------------------------------------------------

struct Writer::Impl {
  LibraryLock lock;   // first: held, and
  QuietErrors quiet;  // silent, until every handle below is closed
  std::string error_path;
  Handle file;

  [[noreturn]] void fail(const std::string& what) const {
    throw FileError(error_path, "cannot write " + what + ": " + hdf5_detail());
  }

  template <class T>
  void attribute(const std::string& object, const std::string& name, hid_t file_type,
                 hid_t memory_type, const Handle& space, const T* data) {
    const std::string what = attribute_label(object, name);
    if (space.get() < 0 || file_type < 0) fail(what);
    Handle attr(H5Acreate_by_name(file.get(), object.c_str(), name.c_str(), file_type, space.get(),
                                  H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                H5Aclose);
    // HDF5 refuses a null buffer even for no values (an empty array's data()).
    const bool empty = H5Sget_simple_extent_npoints(space.get()) == 0;
    if (attr.get() < 0 || (!empty && H5Awrite(attr.get(), memory_type, data) < 0) || !attr.close())
      fail(what);
  }

  template <class T>
  void scalar(const std::string& object, const std::string& name, T value) {
    const Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    attribute(object, name, Element<T>::file(), Element<T>::memory(), space, &value);
  }

  template <class T>
  void dataset(const std::string& path, const Shape& shape, std::span<const T> values) {
    const std::string what = "dataset " + object_label(path);
    std::uint64_t count = 0;
    if (!element_count(shape, count) || count != values.size()) {
      throw FileError(error_path, what + ": " + std::to_string(values.size()) +
                                      " values do not fill shape " + shape_text(shape));
    }
    const Handle space = simple_space(shape);
    const Handle dcpl = untimed_plist(H5P_DATASET_CREATE);
    if (space.get() < 0 || dcpl.get() < 0 || H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS) < 0 ||
        H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER) < 0)
      fail(what);
    Handle dset(H5Dcreate2(file.get(), path.c_str(), Element<T>::file(), space.get(), H5P_DEFAULT,
                           dcpl.get(), H5P_DEFAULT),
                H5Dclose);
    if (dset.get() < 0) fail(what);
    if (!values.empty() && H5Dwrite(dset.get(), Element<T>::memory(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                    values.data()) < 0)
      fail(what);
    if (!dset.close()) fail(what);
  }
};

namespace {

// H5Fget_file_image of a file open for writing clears the superblock's
// status flags (HDF5 sets them while a writer has the file open) but, in
// HDF5 1.10, leaves the checksum computed with them set: a version 2 or 3
// superblock then fails HDF5's own check when the image is opened ("incorrect
// metadata checksum"). The checksum is computed again here over the bytes
// as they are, which gives the bytes H5Fclose writes (and changes nothing
// where HDF5 already did it). Layout (HDF5 file format, superblock v2/v3):
// signature 8, version 1, offset size 1, length size 1, flags 1, four
// addresses of `offset size` bytes, the checksum (4, little-endian). lnn
// writes no user block: the superblock is at byte 0.
void reseal_superblock(std::vector<unsigned char>& image) {
  if (image.size() < 12 || (image[8] != 2 && image[8] != 3)) return;
  const std::size_t at = 12 + 4 * std::size_t{image[9]};
  if (image.size() < at + 4) return;
  const std::uint32_t sum = H5_checksum_metadata(image.data(), at, 0);
  for (int i = 0; i < 4; ++i) image[at + i] = static_cast<unsigned char>(sum >> (8 * i));
}

}  // namespace

Writer::Writer(const std::string& error_path, std::size_t size_hint)
    : impl_(std::make_unique<Impl>()) {
  impl_->error_path = error_path;
  // The core driver without a backing store keeps the file in one block of
  // memory, grown in steps of `increment`. The name only has to be unique
  // among open files (HDF5 refuses to create a file it has open).
  static std::atomic<std::uint64_t> counter{0};
  const std::string name =
      "lnn-in-memory-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
  const std::size_t increment = std::max<std::size_t>(size_hint + (64 << 10), 1 << 20);
  const Handle fcpl = untimed_plist(H5P_FILE_CREATE);
  const Handle fapl = access_plist();
  if (fcpl.get() < 0 || fapl.get() < 0 || H5Pset_fapl_core(fapl.get(), increment, 0) < 0)
    impl_->fail("the HDF5 file");
  impl_->file = Handle(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), H5Fclose);
  if (impl_->file.get() < 0) impl_->fail("the HDF5 file");
}

Writer::~Writer() = default;

void Writer::create_group(const std::string& path) {
  const Handle gcpl = untimed_plist(H5P_GROUP_CREATE);
  const std::string what = "group " + object_label(path);
  if (gcpl.get() < 0) impl_->fail(what);
  Handle group(H5Gcreate2(impl_->file.get(), path.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT),
               H5Gclose);
  if (group.get() < 0 || !group.close()) impl_->fail(what);
}

void Writer::write_string(const std::string& object, const std::string& name,
                          std::string_view value) {
  // One byte at least (HDF5 has no zero-size strings): "" is one NUL.
  std::string text(value);
  if (text.empty()) text.push_back('\0');
  const Handle type = utf8_string_type(text.size());
  const Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  impl_->attribute(object, name, type.get(), type.get(), space, text.data());
}

void Writer::write_int64(const std::string& object, const std::string& name, std::int64_t value) {
  impl_->scalar(object, name, value);
}

void Writer::write_uint64(const std::string& object, const std::string& name, std::uint64_t value) {
  impl_->scalar(object, name, value);
}

void Writer::write_double(const std::string& object, const std::string& name, double value) {
  impl_->scalar(object, name, value);
}

void Writer::write_int8s(const std::string& object, const std::string& name,
                         std::span<const std::int8_t> values) {
  const Handle space = simple_space({values.size()});
  impl_->attribute(object, name, Element<std::int8_t>::file(), Element<std::int8_t>::memory(),
                   space, values.data());
}

void Writer::write_strings(const std::string& object, const std::string& name,
                           const std::vector<std::string>& values) {
  // Each padded with NULs to the longest.
  std::size_t size = 1;
  for (const std::string& v : values) size = std::max(size, v.size());
  std::vector<char> data(values.size() * size, '\0');
  for (std::size_t i = 0; i < values.size(); ++i)
    std::copy(values[i].begin(), values[i].end(), data.begin() + static_cast<long>(i * size));
  const Handle type = utf8_string_type(size);
  const Handle space = simple_space({values.size()});
  impl_->attribute(object, name, type.get(), type.get(), space, data.data());
}

void Writer::write_dataset(const std::string& path, const Shape& shape,
                           std::span<const double> values) {
  impl_->dataset(path, shape, values);
}
void Writer::write_dataset(const std::string& path, const Shape& shape,
                           std::span<const std::int8_t> values) {
  impl_->dataset(path, shape, values);
}
void Writer::write_dataset(const std::string& path, const Shape& shape,
                           std::span<const std::int64_t> values) {
  impl_->dataset(path, shape, values);
}

std::vector<unsigned char> Writer::finish() {
  // H5Fget_file_image copies what the driver holds, without the metadata
  // still in HDF5's cache: flush first. Asking with no buffer gives the size.
  if (H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL) < 0) impl_->fail("the HDF5 file");
  const ssize_t size = H5Fget_file_image(impl_->file.get(), nullptr, 0);
  if (size < 0) impl_->fail("the HDF5 file");
  std::vector<unsigned char> image(static_cast<std::size_t>(size));
  if (H5Fget_file_image(impl_->file.get(), image.data(), image.size()) != size ||
      !impl_->file.close())
    impl_->fail("the HDF5 file");
  reseal_superblock(image);
  return image;
}

// ---- Reader -------------------------------------------------------------------

struct Reader::Impl {
  LibraryLock lock;   // first: held, and
  QuietErrors quiet;  // silent, until every handle below is closed
  std::string file_name;
  std::uint64_t file_size = 0;
  Handle file;

  [[noreturn]] void fail(const std::string& problem) const { throw FileError(file_name, problem); }
  [[noreturn]] void fail_hdf5(const std::string& problem) const {
    quiet_at_exit();
    fail(problem + ": " + hdf5_detail());
  }

  // An open attribute with its type, space and element count.
  struct Attribute {
    Handle attr, type, space;
    H5T_class_t type_class = H5T_NO_CLASS;
    hssize_t count = 0;
  };

  // `rank` is 0 for one value (scalar, or any shape holding one element) and
  // 1 for a one-dimensional array.
  Attribute open_attribute(const std::string& object, const std::string& name, int rank) const {
    const std::string what = attribute_label(object, name);
    const htri_t exists = H5Aexists_by_name(file.get(), object.c_str(), name.c_str(), H5P_DEFAULT);
    if (exists < 0) fail_hdf5("cannot look up " + what);
    if (exists == 0) fail("no " + what);
    Attribute a;
    a.attr =
        Handle(H5Aopen_by_name(file.get(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
               H5Aclose);
    if (a.attr.get() < 0) fail_hdf5("cannot open " + what);
    a.type = Handle(H5Aget_type(a.attr.get()), H5Tclose);
    a.space = Handle(H5Aget_space(a.attr.get()), H5Sclose);
    if (a.type.get() < 0 || a.space.get() < 0) fail_hdf5("cannot read " + what);
    a.type_class = H5Tget_class(a.type.get());
    a.count = H5Sget_simple_extent_npoints(a.space.get());
    const int ndims = H5Sget_simple_extent_ndims(a.space.get());
    if (a.count < 0 || ndims < 0) fail_hdf5("cannot read " + what);
    if (rank == 0 && a.count != 1) {
      fail(what + " holds " + std::to_string(a.count) + " values, expected one");
    }
    if (rank == 1 && ndims != 1) {
      fail(what + " has " + std::to_string(ndims) +
           " dimensions, expected a one-dimensional array");
    }
    return a;
  }

  void expect_class(const Attribute& a, H5T_class_t expected, const std::string& what) const {
    if (a.type_class != expected) {
      fail(what + " holds " + class_name(a.type_class) + " values, expected " +
           class_name(expected));
    }
  }

  template <class T>
  std::vector<T> numbers(const std::string& object, const std::string& name, int rank) const {
    const std::string what = attribute_label(object, name);
    const Attribute a = open_attribute(object, name, rank);
    expect_class(a, Element<T>::type_class, what);
    std::vector<T> out(static_cast<std::size_t>(a.count));
    if (!out.empty() && H5Aread(a.attr.get(), Element<T>::memory(), out.data()) < 0)
      fail_hdf5("cannot read " + what);
    return out;
  }

  // Refuses variable-length strings whose stored references HDF5 could not
  // follow safely (see walk_collection).
  void check_variable_strings(const Attribute& a, const std::string& what) const {
    const auto count = static_cast<std::size_t>(a.count);
    if (count == 0) return;
    const Handle fcpl(H5Fget_create_plist(file.get()), H5Pclose);
    std::size_t address_bytes = 0, length_bytes = 0;
    hsize_t userblock = 0;
    if (fcpl.get() < 0 || H5Pget_sizes(fcpl.get(), &address_bytes, &length_bytes) < 0 ||
        H5Pget_userblock(fcpl.get(), &userblock) < 0)
      fail_hdf5("cannot read " + what);
    if (address_bytes < 1 || address_bytes > 8 || length_bytes < 1 || length_bytes > 8)
      fail("cannot read " + what + ": unusual address or length sizes in the superblock");
    const std::size_t element = 4 + address_bytes + 4;
    if (count > kMaxStringBytes / element) fail(what + " is corrupted (too many strings)");
    const Handle raw(H5Tcreate(H5T_OPAQUE, element), H5Tclose);
    std::vector<unsigned char> refs(count * element);
    if (!register_raw_vlen_conversion() || raw.get() < 0 ||
        H5Tset_tag(raw.get(), kRawVlenTag) < 0 ||
        H5Aread(a.attr.get(), raw.get(), refs.data()) < 0)
      fail_hdf5("cannot read " + what);

    const int fd = ::open(file_name.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
      if (fd >= 0) ::close(fd);
      fail("cannot read " + what + ": cannot open the file again");
    }
    const auto size_now = static_cast<std::uint64_t>(st.st_size);
    std::string problem;
    std::uint64_t walked_at = ~std::uint64_t{0};
    Collection collection;
    for (std::size_t i = 0; i < count && problem.empty(); ++i) {
      const unsigned char* r = refs.data() + i * element;
      const std::uint64_t length = le(r, 4);
      const std::uint64_t address = le(r + 4, address_bytes);
      const std::uint64_t index = le(r + 4 + address_bytes, 4);
      if (address == 0) continue;  // HDF5's null string: nothing is read
      if (address > size_now || userblock > size_now - address) {
        problem = "a string lies outside the file";
        break;
      }
      if (address + userblock != walked_at) {
        collection = {};
        walked_at = address + userblock;
        problem = walk_collection(fd, walked_at, size_now, length_bytes, collection);
        if (!problem.empty()) break;
      }
      if (index == 0 || index >= collection.sizes.size() ||
          collection.sizes[index] == Collection::kAbsent) {
        problem = "a string refers to a missing global heap object";
      } else if (collection.sizes[index] != length) {
        problem = "a string's length differs from its global heap object's";
      }
    }
    ::close(fd);
    if (!problem.empty()) fail(what + " is corrupted: " + problem);
  }

  std::vector<std::string> strings(const std::string& object, const std::string& name,
                                   int rank) const {
    const std::string what = attribute_label(object, name);
    const Attribute a = open_attribute(object, name, rank);
    expect_class(a, H5T_STRING, what);
    const auto count = static_cast<std::size_t>(a.count);
    std::vector<std::string> out;
    const htri_t variable = H5Tis_variable_str(a.type.get());
    if (variable < 0) fail_hdf5("cannot read " + what);
    if (variable > 0) {
      check_variable_strings(a, what);
      // Memory type: the file's character set (HDF5 does not convert between
      // ASCII and UTF-8).
      Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
      std::vector<char*> data(count, nullptr);
      if (memory.get() < 0 || H5Tset_cset(memory.get(), H5Tget_cset(a.type.get())) < 0 ||
          H5Tset_size(memory.get(), H5T_VARIABLE) < 0 ||
          (count > 0 && H5Aread(a.attr.get(), memory.get(), data.data()) < 0))
        fail_hdf5("cannot read " + what);
      for (const char* s : data) out.emplace_back(s != nullptr ? s : "");
      if (count > 0) (void)H5Dvlen_reclaim(memory.get(), a.space.get(), H5P_DEFAULT, data.data());
    } else {
      // Read as stored (size, padding, character set): converting to a C
      // string of the same size would drop a last character to make room for
      // the NUL.
      // The stored bytes must be what the type and space say, before any
      // are allocated or read.
      const std::size_t size = H5Tget_size(a.type.get());
      const hsize_t stored = H5Aget_storage_size(a.attr.get());
      if (size == 0 || size > kMaxStringBytes || count > kMaxStringBytes / size ||
          stored != count * size) {
        fail(what + " is corrupted (" + std::to_string(count) + " strings of " +
             std::to_string(size) + " bytes in " + std::to_string(stored) + " stored bytes)");
      }
      std::vector<char> data(count * size);
      if (count > 0 && H5Aread(a.attr.get(), a.type.get(), data.data()) < 0)
        fail_hdf5("cannot read " + what);
      const bool space_padded = H5Tget_strpad(a.type.get()) == H5T_STR_SPACEPAD;
      for (std::size_t i = 0; i < count; ++i) {
        const char* s = data.data() + i * size;
        std::string text(s, ::strnlen(s, size));
        if (space_padded) text.erase(text.find_last_not_of(' ') + 1);
        out.push_back(std::move(text));
      }
    }
    return out;
  }

  Handle open_dataset(const std::string& path) const {
    const std::string what = object_label(path);
    const htri_t exists = H5Lexists(file.get(), path.c_str(), H5P_DEFAULT);
    if (exists < 0) fail_hdf5("cannot look up " + what);
    if (exists == 0) fail("no dataset " + what);
    Handle object(H5Oopen(file.get(), path.c_str(), H5P_DEFAULT), H5Oclose);
    if (object.get() < 0) fail_hdf5("cannot open " + what);
    if (H5Iget_type(object.get()) != H5I_DATASET) fail(what + " is not a dataset");
    return object;
  }

  static Shape shape_of(hid_t space) {
    const int ndims = H5Sget_simple_extent_ndims(space);
    if (ndims < 0) return {};
    std::vector<hsize_t> dims(static_cast<std::size_t>(ndims));
    (void)H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    return Shape(dims.begin(), dims.end());
  }

  // A dataset's shape is believed only when the file holds its values: a
  // corrupted dimension must not make the reader allocate and fill terabytes.
  // Contiguous and compact data (what lnn writes) must be exactly
  // elements × element size; chunked data, possibly compressed, at most 1024
  // times the file (zeros compress about that well).
  void check_storage(hid_t dset, hid_t type, std::uint64_t count, const std::string& what,
                     const Shape& shape) const {
    const std::size_t element = H5Tget_size(type);
    const Handle dcpl(H5Dget_create_plist(dset), H5Pclose);
    if (element == 0 || dcpl.get() < 0) fail_hdf5("cannot read " + what);
    const H5D_layout_t layout = H5Pget_layout(dcpl.get());
    const hsize_t stored = H5Dget_storage_size(dset);
    const bool overflow = count > std::numeric_limits<std::uint64_t>::max() / element;
    const std::uint64_t bytes = overflow ? 0 : count * element;
    const bool ok = !overflow && (layout == H5D_CHUNKED
                                      ? bytes / 1024 <= file_size
                                      : stored == bytes && bytes <= file_size);
    if (!ok) {
      fail(what + " is corrupted: shape " + shape_text(shape) + " needs " +
           (overflow ? std::string("more than 2^64") : std::to_string(bytes)) +
           " bytes, the file holds " + std::to_string(stored) + " for it");
    }
  }

  template <class T>
  void read(const std::string& path, const Shape& expected, std::vector<T>& out) const {
    const std::string what = object_label(path);
    const Handle dset = open_dataset(path);
    const Handle space(H5Dget_space(dset.get()), H5Sclose);
    const Handle type(H5Dget_type(dset.get()), H5Tclose);
    if (space.get() < 0 || type.get() < 0) fail_hdf5("cannot read " + what);
    const Shape shape = shape_of(space.get());
    if (shape != expected) {
      fail(what + " has shape " + shape_text(shape) + ", expected " + shape_text(expected));
    }
    const H5T_class_t type_class = H5Tget_class(type.get());
    if (type_class != Element<T>::type_class) {
      fail(what + " holds " + class_name(type_class) + " values, expected " +
           class_name(Element<T>::type_class));
    }
    std::uint64_t count = 0;
    if (!element_count(shape, count) || count > out.max_size()) {
      fail(what + " of shape " + shape_text(shape) + " does not fit in memory");
    }
    check_storage(dset.get(), type.get(), count, what, shape);
    try {
      out.assign(static_cast<std::size_t>(count), T{});
    } catch (const std::bad_alloc&) {
      fail(what + " of shape " + shape_text(shape) + " does not fit in memory");
    }
    if (!out.empty() &&
        H5Dread(dset.get(), Element<T>::memory(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
      fail_hdf5("cannot read " + what);
  }
};

Reader::Reader(const std::string& path) : impl_(std::make_unique<Impl>()) {
  impl_->file_name = path;
  // The system's answer for a missing or unreadable file, before HDF5's.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    impl_->fail("cannot open for reading: " + text::errno_text(err));
  }
  struct stat st {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ::close(fd);
  if (!regular) impl_->fail("is not a regular file");
  impl_->file_size = static_cast<std::uint64_t>(st.st_size);

  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 < 0) impl_->fail_hdf5("cannot open as an HDF5 file");
  if (is_hdf5 == 0) impl_->fail("not an HDF5 file");
  const Handle fapl = access_plist();
  if (fapl.get() < 0) impl_->fail_hdf5("cannot open as an HDF5 file");
  impl_->file = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  if (impl_->file.get() < 0) impl_->fail_hdf5("cannot open as an HDF5 file");
}

Reader::~Reader() = default;

bool Reader::has_object(const std::string& path) const {
  const htri_t exists = H5Lexists(impl_->file.get(), path.c_str(), H5P_DEFAULT);
  if (exists < 0) impl_->fail_hdf5("cannot look up " + object_label(path));
  return exists > 0;
}

bool Reader::has_attribute(const std::string& object, const std::string& name) const {
  const htri_t exists =
      H5Aexists_by_name(impl_->file.get(), object.c_str(), name.c_str(), H5P_DEFAULT);
  if (exists < 0) impl_->fail_hdf5("cannot look up " + attribute_label(object, name));
  return exists > 0;
}

std::vector<std::string> Reader::attribute_names(const std::string& object) const {
  const Handle obj(H5Oopen(impl_->file.get(), object.c_str(), H5P_DEFAULT), H5Oclose);
  if (obj.get() < 0) impl_->fail_hdf5("cannot open " + object_label(object));
  std::vector<std::string> names;
  auto collect = [](hid_t, const char* name, const H5A_info_t*, void* out) -> herr_t {
    static_cast<std::vector<std::string>*>(out)->emplace_back(name);
    return 0;
  };
  if (H5Aiterate2(obj.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect, &names) < 0)
    impl_->fail_hdf5("cannot list the attributes of " + object_label(object));
  return names;
}

std::string Reader::read_string(const std::string& object, const std::string& name) const {
  return impl_->strings(object, name, 0).front();
}

std::int64_t Reader::read_int64(const std::string& object, const std::string& name) const {
  return impl_->numbers<std::int64_t>(object, name, 0).front();
}

std::uint64_t Reader::read_uint64(const std::string& object, const std::string& name) const {
  // HDF5 would clip a negative stored value to 0 without a word.
  const Impl::Attribute a = impl_->open_attribute(object, name, 0);
  if (a.type_class == H5T_INTEGER && H5Tget_sign(a.type.get()) == H5T_SGN_2 &&
      impl_->numbers<std::int64_t>(object, name, 0).front() < 0) {
    impl_->fail(attribute_label(object, name) + " is negative, expected an unsigned integer");
  }
  return impl_->numbers<std::uint64_t>(object, name, 0).front();
}

double Reader::read_double(const std::string& object, const std::string& name) const {
  return impl_->numbers<double>(object, name, 0).front();
}

std::vector<std::int8_t> Reader::read_int8s(const std::string& object,
                                            const std::string& name) const {
  return impl_->numbers<std::int8_t>(object, name, 1);
}

std::vector<std::string> Reader::read_strings(const std::string& object,
                                              const std::string& name) const {
  return impl_->strings(object, name, 1);
}

Shape Reader::dataset_shape(const std::string& path) const {
  const Handle dset = impl_->open_dataset(path);
  const Handle space(H5Dget_space(dset.get()), H5Sclose);
  if (space.get() < 0) impl_->fail_hdf5("cannot read " + object_label(path));
  return Impl::shape_of(space.get());
}

void Reader::read_dataset(const std::string& path, const Shape& expected,
                          std::vector<double>& out) const {
  impl_->read(path, expected, out);
}
void Reader::read_dataset(const std::string& path, const Shape& expected,
                          std::vector<std::int8_t>& out) const {
  impl_->read(path, expected, out);
}
void Reader::read_dataset(const std::string& path, const Shape& expected,
                          std::vector<std::int64_t>& out) const {
  impl_->read(path, expected, out);
}

// ---- reading in a child first ----------------------------------------------------

namespace {

// Seconds the child may take: LNN_HDF5_CHILD_LIMIT_S, else 60 s + 1 s per
// 20 MB (a whole read copies the file's data once; a slow disk reads 20 MB/s).
double child_limit_seconds(const std::string& path) {
  if (const char* env = std::getenv("LNN_HDF5_CHILD_LIMIT_S")) {
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    if (end != env && *end == '\0' && v > 0) return v;
  }
  struct stat st {};
  const double bytes = ::stat(path.c_str(), &st) == 0 ? static_cast<double>(st.st_size) : 0.0;
  return 60.0 + bytes / 20e6;
}

}  // namespace

void read_in_child_first(const std::string& path, const std::function<void()>& read) {
  if (const char* env = std::getenv("LNN_HDF5_CHILD"); env && std::string(env) == "0") return;
  const double limit = child_limit_seconds(path);
  // Held across fork(): no other thread of this process is inside libhdf5
  // when the child's copy of it starts.
  LibraryLock lock;
  int fds[2];  // the child's end closes when it ends, however it ends
  if (::pipe2(fds, O_CLOEXEC) != 0) return;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return;  // no child: the read runs in this process only
  }
  if (pid == 0) {
    // The child: one thread, which holds no lock of the parent's threads but
    // the library lock's copy (skipped, above). Its stderr goes nowhere (a
    // sanitizer's report of libhdf5's fault is not lnn's message); _exit,
    // not exit: no handler of the parent's (atexit, stdio buffers) runs here.
    ::close(fds[0]);
    g_in_read_child = true;
    const int null_fd = ::open("/dev/null", O_WRONLY);
    if (null_fd >= 0) ::dup2(null_fd, 2);
    int code = 0;
    try {
      read();
    } catch (...) {
      code = 65;  // refused: the parent's own read throws the same exception
    }
    ::_exit(code);
  }
  ::close(fds[1]);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(limit));
  bool finished = false;
  for (;;) {  // until the child's end of the pipe closes (EOF) or the limit
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fds[0], POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1 << 30)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char c;
    const ssize_t n = ::read(fds[0], &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      finished = true;
      break;
    }
  }
  ::close(fds[0]);
  if (!finished) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!finished) {
    throw FileError(path, "cannot read its HDF5 metadata: the HDF5 library did not finish reading "
                          "it within " + text::format_number(limit) +
                          " s (corrupted metadata can make it loop; LNN_HDF5_CHILD_LIMIT_S "
                          "allows more)");
  }
  if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 65)) return;
  const std::string how = WIFSIGNALED(status)
                              ? "signal " + std::to_string(WTERMSIG(status))
                              : "exit status " + std::to_string(WEXITSTATUS(status));
  throw FileError(path, "corrupted HDF5 metadata: the HDF5 library faulted while reading it (" +
                            how + ", in a child process lnn reads HDF5 files in first)");
}

}  // namespace lnn::io::h5
