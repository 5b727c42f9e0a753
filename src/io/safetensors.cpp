// The safetensors container (src/io/safetensors.hpp, docs/file-formats.md).
#include "io/safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "common/text.hpp"
#include "io/atomic_file.hpp"
#include "lnn/errors.hpp"

namespace lnn::io::safetensors {
namespace {

static_assert(
    std::endian::native == std::endian::little,
    "safetensors files hold little-endian tensors; this build assumes a little-endian host");

using json = nlohmann::json;
using text::bracketed;
using text::in_quotes;

constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // the safetensors reference limit

using text::errno_text;

class InputFile {
 public:
  explicit InputFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw FileError(path, "cannot open for reading: " + errno_text(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      const int err = errno;
      ::close(fd_);
      throw FileError(path, "cannot stat: " + errno_text(err));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd_);
      throw FileError(path, "is not a regular file");
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
  }
  ~InputFile() { ::close(fd_); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  std::uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  void read_at(std::uint64_t offset, void* data, std::size_t bytes, const std::string& what) const {
    auto* p = static_cast<unsigned char*>(data);
    while (bytes > 0) {
      const ssize_t r = ::pread(fd_, p, std::min<std::size_t>(bytes, std::size_t{1} << 30),
                                static_cast<off_t>(offset));
      if (r < 0) {
        if (errno == EINTR) continue;
        throw FileError(path_, "read error in " + what + ": " + errno_text(errno));
      }
      if (r == 0) throw FileError(path_, "unexpected end of file in " + what);
      p += r;
      bytes -= static_cast<std::size_t>(r);
      offset += static_cast<std::uint64_t>(r);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// The header's JSON text, after its length has been checked against the file.
std::string read_header_text(const InputFile& file) {
  const std::string& path = file.path();
  if (file.size() < 8) {
    throw FileError(path, "file is " + std::to_string(file.size()) +
                              " bytes, too short for a safetensors file (it starts with an "
                              "8-byte header length)");
  }
  unsigned char len_bytes[8];
  file.read_at(0, len_bytes, 8, "the header length");
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = header_len << 8 | len_bytes[i];
  if (header_len > kMaxHeaderBytes) {
    throw FileError(path, "header length " + std::to_string(header_len) +
                              " bytes is absurd (limit 100 MB); not a safetensors file?");
  }
  if (header_len > file.size() - 8) {
    throw FileError(path, "header length " + std::to_string(header_len) + " bytes exceeds the " +
                              std::to_string(file.size() - 8) +
                              " bytes after it; file truncated or not a safetensors file");
  }
  std::string text(static_cast<std::size_t>(header_len), '\0');
  file.read_at(8, text.data(), text.size(), "the header");
  return text;
}

// The header as JSON, refused when other safetensors readers would refuse it.
json parse_header(const std::string& text, const std::string& path) {
  // nlohmann::json stops at a NUL as at the end of the input, so bytes after
  // one would be ignored; other safetensors readers refuse them (JSON has no
  // raw NUL: a header is padded with spaces only).
  if (const std::size_t nul = text.find('\0'); nul != std::string::npos) {
    throw FileError(path, "header holds a NUL byte at offset " + std::to_string(8 + nul) +
                              " (a safetensors header is JSON, padded with spaces only)");
  }
  // A key repeated within one object would silently keep one of the values;
  // the parser's callback sees every key, in nesting order.
  std::vector<std::set<std::string>> open_objects;  // keys seen in each enclosing object
  std::vector<bool> is_object;                      // the enclosing containers
  std::string repeated;
  const json::parser_callback_t check_keys = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        is_object.push_back(true);
        open_objects.emplace_back();
        break;
      case json::parse_event_t::array_start:
        is_object.push_back(false);
        break;
      case json::parse_event_t::object_end:
        if (!is_object.empty()) is_object.pop_back();
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::array_end:
        if (!is_object.empty()) is_object.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string() &&
            !open_objects.back().insert(parsed.get<std::string>()).second && repeated.empty())
          repeated = parsed.get<std::string>();
        break;
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text.begin(), text.end(), check_keys);
  } catch (const json::exception& e) {
    throw FileError(path, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!repeated.empty()) {
    throw FileError(path, "header repeats the key " + in_quotes(repeated) +
                              " in one object (safetensors readers refuse that)");
  }
  if (!header.is_object()) throw FileError(path, "header is not a JSON object");
  return header;
}

std::optional<std::map<std::string, std::string>> metadata_of(const json& header,
                                                              const std::string& path) {
  const auto it = header.find("__metadata__");
  if (it == header.end()) return std::nullopt;
  if (!it->is_object()) throw FileError(path, "__metadata__ is not a JSON object");
  std::map<std::string, std::string> metadata;
  for (const auto& [key, value] : it->items()) {
    if (!value.is_string()) {
      throw FileError(path, "metadata value of " + in_quotes(key) + " is not a string");
    }
    metadata[key] = value.get<std::string>();
  }
  return metadata;
}

bool is_uint_array(const json& v, std::size_t size_or_zero) {
  if (!v.is_array() || (size_or_zero != 0 && v.size() != size_or_zero)) return false;
  return std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_number_unsigned(); });
}

// Bytes of a tensor of `shape` with `dtype_size`-byte elements, or nothing
// when that does not fit in 64 bits (the shape comes straight from the file).
std::optional<std::uint64_t> tensor_bytes(const std::vector<std::uint64_t>& shape,
                                          std::uint64_t dtype_size) {
  std::uint64_t bytes = dtype_size;
  for (std::uint64_t d : shape) {
    if (d != 0 && bytes > std::numeric_limits<std::uint64_t>::max() / d) return std::nullopt;
    bytes *= d;
  }
  return bytes;
}

// One entry of the header, checked against the data section's `data_size` bytes.
Tensor tensor_of(const std::string& name, const json& entry, std::uint64_t data_size,
                 const Checks& checks, const std::string& path) {
  checks.name(name);
  const std::string what = "tensor " + in_quotes(name);
  if (!entry.is_object()) throw FileError(path, what + ": entry is not a JSON object");
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(field)) throw FileError(path, what + " has no '" + field + "'");
  }

  const json& dtype = entry["dtype"];
  if (!dtype.is_string()) throw FileError(path, what + ": 'dtype' is not a string");
  Tensor t{name, dtype.get<std::string>(), {}, 0, 0};
  const std::uint64_t dtype_size = checks.dtype_size(name, what, t.dtype);

  const json& shape_json = entry["shape"];
  if (!is_uint_array(shape_json, 0)) {
    throw FileError(path, what + ": 'shape' is not an array of non-negative integers");
  }
  t.shape = shape_json.get<std::vector<std::uint64_t>>();
  checks.shape(name, what, t.shape);
  const std::optional<std::uint64_t> needed = tensor_bytes(t.shape, dtype_size);
  if (!needed) {
    throw FileError(path, what + " has shape " + bracketed(t.shape) + " of " + t.dtype +
                              ", more than 2^64 bytes");
  }

  const json& offsets_json = entry["data_offsets"];
  if (!is_uint_array(offsets_json, 2)) {
    throw FileError(path, what + ": 'data_offsets' is not [begin, end] with non-negative integers");
  }
  t.begin = offsets_json[0].get<std::uint64_t>();
  t.end = offsets_json[1].get<std::uint64_t>();
  const std::string offsets_text = bracketed(std::vector<std::uint64_t>{t.begin, t.end});
  if (t.end < t.begin) {
    throw FileError(path, what + " has data_offsets " + offsets_text + " with end before begin");
  }
  if (t.end - t.begin != *needed) {
    throw FileError(path, what + " has data_offsets " + offsets_text + " (" +
                              std::to_string(t.end - t.begin) + " bytes), but shape " +
                              bracketed(t.shape) + " of " + t.dtype + " needs " +
                              std::to_string(*needed) + " bytes");
  }
  if (t.end > data_size) {
    throw FileError(path, what + " has data_offsets " + offsets_text +
                              " beyond the end of the file (the data section holds " +
                              std::to_string(data_size) + " bytes); file truncated?");
  }
  return t;
}

void check_disjoint(std::vector<Tensor> ranges, const std::string& path) {
  // Sorted by begin, ranges are disjoint exactly when each starts at or after
  // the end of the one before.
  std::sort(ranges.begin(), ranges.end(), [](const Tensor& a, const Tensor& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (std::size_t k = 1; k < ranges.size(); ++k) {
    const Tensor& a = ranges[k - 1];
    const Tensor& b = ranges[k];
    if (b.begin < a.end) {
      throw FileError(path, "tensors " + in_quotes(a.name) + " " +
                                bracketed(std::vector<std::uint64_t>{a.begin, a.end}) + " and " +
                                in_quotes(b.name) + " " +
                                bracketed(std::vector<std::uint64_t>{b.begin, b.end}) +
                                " overlap in the data section");
    }
  }
}

}  // namespace

// ---- writing ---------------------------------------------------------------

void write(const std::string& path,
           const std::vector<std::pair<std::string, std::string>>& metadata,
           const std::vector<TensorOut>& tensors) {
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  for (const auto& [key, value] : metadata) meta[key] = value;
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = std::move(meta);
  std::uint64_t begin = 0;
  for (const TensorOut& t : tensors) {
    const std::uint64_t end = begin + t.bytes;
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {begin, end}}};
    begin = end;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception&) {
    throw FileError(path, "metadata is not valid UTF-8 (safetensors headers are UTF-8 JSON)");
  }
  // Pad with spaces so the data section starts 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');

  AtomicFile file(path);
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(text.size() >> (8 * i));
  file.write(len_bytes, sizeof len_bytes);
  file.write(text.data(), text.size());
  for (const TensorOut& t : tensors) file.write(t.data, t.bytes);
  file.commit();
}

// ---- reading ---------------------------------------------------------------

struct Reader::State {
  InputFile file;
  json header;
  std::optional<std::map<std::string, std::string>> metadata;
  std::uint64_t data_start = 0;  // 8 + the header length

  explicit State(const std::string& path) : file(path) {
    const std::string text = read_header_text(file);
    header = parse_header(text, path);
    metadata = metadata_of(header, path);
    data_start = 8 + text.size();
  }
};

Reader::Reader(const std::string& path) : s_(std::make_unique<State>(path)) {}
Reader::~Reader() = default;

const std::string& Reader::path() const { return s_->file.path(); }

const std::optional<std::map<std::string, std::string>>& Reader::metadata() const {
  return s_->metadata;
}

std::vector<Tensor> Reader::tensors(const Checks& checks) const {
  const std::uint64_t data_size = s_->file.size() - s_->data_start;
  std::vector<Tensor> tensors;
  for (const auto& [name, entry] : s_->header.items()) {
    if (name == "__metadata__") continue;
    tensors.push_back(tensor_of(name, entry, data_size, checks, path()));
  }
  checks.all(tensors);
  check_disjoint(tensors, path());
  return tensors;
}

void Reader::read(const Tensor& t, void* out) const {
  s_->file.read_at(s_->data_start + t.begin, out, static_cast<std::size_t>(t.end - t.begin),
                   "tensor " + in_quotes(t.name));
}

}  // namespace lnn::io::safetensors
