// Model files in the safetensors format: layout and names in
// include/lnn/model_file.hpp, the checkpoint additions in
// src/io/model_file_detail.hpp, user documentation in docs/file-formats.md.
#include "lnn/model_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "io/atomic_file.hpp"
#include "io/model_file_detail.hpp"
#include "lnn/errors.hpp"
#include "lnn/info.hpp"

namespace lnn {
namespace {

static_assert(std::endian::native == std::endian::little,
              "model files hold little-endian tensors; this build assumes a little-endian host");

using json = nlohmann::json;

constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // the safetensors reference limit
constexpr std::string_view kFormat = "lnn-model";
constexpr int kFormatVersion = 1;
constexpr std::string_view kReservedPrefix = "lnn.";
constexpr std::string_view kMetadataKeys[] = {"lnn.format", "lnn.format_version", "lnn.n",
                                              "lnn.hidden", "lnn.activation",     "lnn.embedding"};

std::string errno_text(int err) { return std::generic_category().message(err); }

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

template <class Seq>
std::string bracketed(const Seq& values) {
  std::string out = "[";
  for (const auto& v : values) out += (out.size() > 1 ? ", " : "") + std::to_string(v);
  return out + "]";
}

std::string_view dtype_name(Precision p) { return p == Precision::f32 ? "F32" : "F64"; }
std::uint64_t dtype_bytes(Precision p) { return p == Precision::f32 ? 4 : 8; }
template <class T>
constexpr Precision precision_of() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  return std::is_same_v<T, float> ? Precision::f32 : Precision::f64;
}

// One tensor of a model file and where it lives in Model::parameters().
struct TensorSlot {
  std::string name;
  std::vector<std::uint64_t> shape;
  std::size_t param_offset = 0;
  std::size_t count = 0;
};

// A tensor outside the model (an io::ExtraTensor), one-dimensional when written.
struct ExtraSlot {
  std::string name;
  std::uint64_t count = 0;
  std::uint64_t begin = 0;  // data_offsets[0], when read
};

// The tensors of a spec in file order: layers.0.weight, layers.0.bias, …,
// output.weight, output.bias — the order of the flat parameter buffer.
std::vector<TensorSlot> tensor_slots(const ModelSpec& spec) {
  const std::vector<LayerLayout> layout = spec.layout();
  const std::size_t K = layout.size() - 1;
  std::vector<TensorSlot> slots;
  slots.reserve(2 * layout.size());
  for (std::size_t l = 0; l < layout.size(); ++l) {
    const LayerLayout& ll = layout[l];
    const std::string prefix = l < K ? "layers." + std::to_string(l) : std::string("output");
    const auto rows = static_cast<std::uint64_t>(ll.rows),
               cols = static_cast<std::uint64_t>(ll.cols);
    slots.push_back({prefix + ".weight", {rows, cols}, ll.weight_offset, rows * cols});
    slots.push_back({prefix + ".bias", {rows}, ll.bias_offset, rows});
  }
  return slots;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

// ---- writing ---------------------------------------------------------------

std::string make_header(const ModelSpec& spec, Precision precision,
                        const std::vector<TensorSlot>& slots,
                        const std::vector<ExtraSlot>& extra_slots,
                        const std::map<std::string, std::string>& train_metadata,
                        const std::map<std::string, std::string>& extra, const std::string& path) {
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  meta["lnn.format"] = kFormat;
  meta["lnn.format_version"] = std::to_string(kFormatVersion);
  meta["lnn.n"] = std::to_string(spec.n);
  std::vector<std::string> parts;
  for (int m : spec.hidden) parts.push_back(std::to_string(m));
  meta["lnn.hidden"] = join(parts);
  meta["lnn.activation"] = to_string(spec.activation);
  parts.clear();
  for (int j = 0; j < spec.n; ++j) parts.emplace_back(to_string(spec.embedding_of(j)));
  meta["lnn.embedding"] = join(parts);
  for (const auto& [key, value] : train_metadata) meta[key] = value;
  for (const auto& [key, value] : extra) {
    if (key.starts_with(kReservedPrefix)) {
      throw FileError(path, "metadata key " + in_quotes(key) +
                                " is reserved (keys starting with \"lnn.\" belong to the format)");
    }
    meta[key] = value;
  }

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = std::move(meta);
  std::uint64_t begin = 0;
  for (const TensorSlot& t : slots) {
    const std::uint64_t end = begin + t.count * dtype_bytes(precision);
    header[t.name] = {
        {"dtype", dtype_name(precision)}, {"shape", t.shape}, {"data_offsets", {begin, end}}};
    begin = end;
  }
  for (const ExtraSlot& t : extra_slots) {
    const std::uint64_t end = begin + t.count * dtype_bytes(precision);
    header[t.name] = {{"dtype", dtype_name(precision)},
                      {"shape", std::vector<std::uint64_t>{t.count}},
                      {"data_offsets", {begin, end}}};
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
  return text;
}

template <class T>
void check_finite_for_save(std::span<const T> values, const std::string& name,
                           const std::string& path) {
  for (std::size_t e = 0; e < values.size(); ++e) {
    if (!std::isfinite(values[e])) {
      throw FileError(path, "refusing to write: tensor " + in_quotes(name) +
                                " holds a non-finite value (" + format_number(values[e]) +
                                ") at index " + std::to_string(e) + "; it could not be loaded");
    }
  }
}

// ---- reading ---------------------------------------------------------------

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

struct Header {
  ModelFileInfo info;
  std::vector<TensorSlot> slots;
  std::vector<std::uint64_t> begin;  // data_offsets[0] of slots[i]
  std::uint64_t data_start = 0;      // 8 + header length
  // The checkpoint additions, which only io::load_model_file reads.
  std::map<std::string, std::string> train_metadata;
  std::vector<ExtraSlot> extras;
};

std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> out;
  if (s.empty()) return out;
  for (std::size_t pos = 0;;) {
    const std::size_t comma = s.find(',', pos);
    out.push_back(
        s.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    if (comma == std::string_view::npos) return out;
    pos = comma + 1;
  }
}

std::optional<int> parse_int(std::string_view s) {
  int value = 0;
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (s.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// The model spec from __metadata__; the caller's entries go to `caller`, the
// lnn.train.* entries of a checkpoint to `train`.
ModelSpec spec_from_metadata(const json& header, const std::string& path,
                             std::map<std::string, std::string>& caller,
                             std::map<std::string, std::string>& train) {
  const auto it = header.find("__metadata__");
  if (it == header.end()) {
    throw FileError(path,
                    "not an lnn model file: the header has no __metadata__ (an lnn model "
                    "file records its spec there under lnn.format, lnn.n, …)");
  }
  if (!it->is_object()) throw FileError(path, "__metadata__ is not a JSON object");
  std::map<std::string, std::string> lnn;
  for (const auto& [key, value] : it->items()) {
    if (!value.is_string()) {
      throw FileError(path, "metadata value of " + in_quotes(key) + " is not a string");
    }
    auto& to = key.starts_with(io::kTrainMetadataPrefix) ? train
               : key.starts_with(kReservedPrefix)        ? lnn
                                                         : caller;
    to[key] = value.get<std::string>();
  }
  auto get = [&](std::string_view key) -> const std::string& {
    const auto found = lnn.find(std::string(key));
    if (found == lnn.end()) throw FileError(path, "metadata has no " + in_quotes(key));
    return found->second;
  };

  if (!lnn.contains("lnn.format")) {
    throw FileError(path, "not an lnn model file: metadata has no 'lnn.format'");
  }
  if (get("lnn.format") != kFormat) {
    throw FileError(path, "not an lnn model file: lnn.format is " + in_quotes(get("lnn.format")) +
                              ", expected " + in_quotes(kFormat));
  }
  const std::string& version_text = get("lnn.format_version");
  const std::optional<int> file_version = parse_int(version_text);
  if (file_version && *file_version > kFormatVersion) {
    throw FileError(path, "model file format version " + std::to_string(*file_version) +
                              " is newer than this lnn (" + version() + ") reads (" +
                              std::to_string(kFormatVersion) + "); upgrade lnn");
  }
  if (version_text != std::to_string(kFormatVersion)) {
    throw FileError(path, "unsupported format version " + in_quotes(version_text) +
                              " (this build reads version " + std::to_string(kFormatVersion) + ")");
  }
  for (const auto& [key, value] : lnn) {
    if (std::find(std::begin(kMetadataKeys), std::end(kMetadataKeys), key) ==
        std::end(kMetadataKeys)) {
      throw FileError(path, "unknown reserved metadata key " + in_quotes(key) +
                                " in format version " + std::to_string(kFormatVersion));
    }
  }

  ModelSpec spec;
  const std::string& n_text = get("lnn.n");
  const std::optional<int> n = parse_int(n_text);
  if (!n) throw FileError(path, "metadata lnn.n = " + in_quotes(n_text) + " is not an integer");
  spec.n = *n;

  const std::string& hidden_text = get("lnn.hidden");
  for (std::string_view part : split_commas(hidden_text)) {
    const std::optional<int> m = parse_int(part);
    if (!m) {
      throw FileError(path, "metadata lnn.hidden = " + in_quotes(hidden_text) +
                                " is not a comma-separated list of integers (bad entry " +
                                in_quotes(part) + ")");
    }
    spec.hidden.push_back(*m);
  }

  try {
    spec.activation = parse_activation(get("lnn.activation"));
  } catch (const InvalidArgument& e) {
    throw FileError(path, std::string("metadata lnn.activation: ") + e.what());
  }
  auto validate = [&] {
    try {
      spec.validate();
    } catch (const InvalidArgument& e) {
      throw FileError(path, std::string("invalid model in metadata: ") + e.what());
    }
  };
  validate();  // n and the widths first, so the embedding count is checked against a sane n

  const std::vector<std::string_view> embedding = split_commas(get("lnn.embedding"));
  if (static_cast<std::int64_t>(embedding.size()) != spec.n) {
    throw FileError(path, "metadata lnn.embedding has " + std::to_string(embedding.size()) +
                              " entries, expected n = " + std::to_string(spec.n));
  }
  for (std::string_view e : embedding) {
    try {
      spec.embedding.push_back(parse_embedding(e));
    } catch (const InvalidArgument& err) {
      throw FileError(path, std::string("metadata lnn.embedding: ") + err.what());
    }
  }
  // Canonical form: all plain is the empty vector.
  if (std::all_of(spec.embedding.begin(), spec.embedding.end(),
                  [](Embedding e) { return e == Embedding::plain; })) {
    spec.embedding.clear();
  }

  validate();
  return spec;
}

bool is_uint_array(const json& v, std::size_t size_or_zero) {
  if (!v.is_array() || (size_or_zero != 0 && v.size() != size_or_zero)) return false;
  return std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_number_unsigned(); });
}

// Bytes of a tensor of `shape` with `dtype_size`-byte elements, or nothing
// when that does not fit in 64 bits. Model tensors are bounded by the
// validated spec; an extra tensor's shape comes straight from the file.
std::optional<std::uint64_t> tensor_bytes(const std::vector<std::uint64_t>& shape,
                                          std::uint64_t dtype_size) {
  std::uint64_t bytes = dtype_size;
  for (std::uint64_t d : shape) {
    if (d != 0 && bytes > std::numeric_limits<std::uint64_t>::max() / d) return std::nullopt;
    bytes *= d;
  }
  return bytes;
}

Header read_header(const InputFile& file) {
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

  Header h;
  h.info.spec = spec_from_metadata(header, path, h.info.metadata, h.train_metadata);
  h.slots = tensor_slots(h.info.spec);
  h.begin.assign(h.slots.size(), 0);
  h.data_start = 8 + header_len;
  const std::uint64_t data_size = file.size() - h.data_start;

  std::unordered_map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < h.slots.size(); ++i) index[h.slots[i].name] = i;
  std::vector<bool> seen(h.slots.size(), false);
  std::optional<Precision> precision;
  std::string first_name;

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const auto found = index.find(name);
    const bool extra = found == index.end() && name.starts_with(io::kExtraTensorPrefix);
    if (found == index.end() && !extra) {
      throw FileError(path, "unexpected tensor " + in_quotes(name) + " (a model with " +
                                std::to_string(h.info.spec.depth()) +
                                " hidden layers has layers.{0.." +
                                std::to_string(h.info.spec.depth() - 1) +
                                "}.weight/.bias, output.weight, output.bias)");
    }
    const std::string what = "tensor " + in_quotes(name);
    if (!entry.is_object()) throw FileError(path, what + ": entry is not a JSON object");
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
      if (!entry.contains(field)) throw FileError(path, what + " has no '" + field + "'");
    }

    const json& dtype = entry["dtype"];
    if (!dtype.is_string()) throw FileError(path, what + ": 'dtype' is not a string");
    const std::string& dt = dtype.get_ref<const std::string&>();
    Precision p;
    if (dt == "F32") {
      p = Precision::f32;
    } else if (dt == "F64") {
      p = Precision::f64;
    } else {
      throw FileError(path, what + " has unsupported dtype " + in_quotes(dt) +
                                " (lnn model files hold F32 or F64)");
    }
    if (precision && *precision != p) {
      throw FileError(path, "mixed dtypes: tensor " + in_quotes(first_name) + " is " +
                                std::string(dtype_name(*precision)) + " but " + what + " is " + dt +
                                " (all tensors must share one dtype)");
    }
    if (!precision) {
      precision = p;
      first_name = name;
    }

    const json& shape_json = entry["shape"];
    if (!is_uint_array(shape_json, 0)) {
      throw FileError(path, what + ": 'shape' is not an array of non-negative integers");
    }
    const auto shape = shape_json.get<std::vector<std::uint64_t>>();
    std::uint64_t needed = 0;
    if (extra) {
      const std::optional<std::uint64_t> bytes = tensor_bytes(shape, dtype_bytes(p));
      if (!bytes) {
        throw FileError(
            path, what + " has shape " + bracketed(shape) + " of " + dt + ", more than 2^64 bytes");
      }
      needed = *bytes;
    } else {
      const TensorSlot& slot = h.slots[found->second];
      if (shape != slot.shape) {
        throw FileError(path, what + " has shape " + bracketed(shape) + ", expected " +
                                  bracketed(slot.shape) + " for the model in the metadata");
      }
      // slot.count is bounded by the validated spec, so this cannot overflow.
      needed = slot.count * dtype_bytes(p);
    }

    const json& offsets_json = entry["data_offsets"];
    if (!is_uint_array(offsets_json, 2)) {
      throw FileError(path,
                      what + ": 'data_offsets' is not [begin, end] with non-negative integers");
    }
    const auto begin = offsets_json[0].get<std::uint64_t>();
    const auto end = offsets_json[1].get<std::uint64_t>();
    const std::string offsets_text = bracketed(std::vector<std::uint64_t>{begin, end});
    if (end < begin)
      throw FileError(path, what + " has data_offsets " + offsets_text + " with end before begin");
    if (end - begin != needed) {
      throw FileError(path, what + " has data_offsets " + offsets_text + " (" +
                                std::to_string(end - begin) + " bytes), but shape " +
                                bracketed(shape) + " of " + dt + " needs " +
                                std::to_string(needed) + " bytes");
    }
    if (end > data_size) {
      throw FileError(path, what + " has data_offsets " + offsets_text +
                                " beyond the end of the file (the data section holds " +
                                std::to_string(data_size) + " bytes); file truncated?");
    }
    if (extra) {
      h.extras.push_back({name, needed / dtype_bytes(p), begin});
    } else {
      h.begin[found->second] = begin;
      seen[found->second] = true;
    }
  }

  for (std::size_t i = 0; i < h.slots.size(); ++i) {
    if (!seen[i]) throw FileError(path, "missing tensor " + in_quotes(h.slots[i].name));
  }

  struct Range {
    std::string_view name;
    std::uint64_t begin, end;
  };
  std::vector<Range> ranges;
  for (std::size_t i = 0; i < h.slots.size(); ++i) {
    ranges.push_back(
        {h.slots[i].name, h.begin[i], h.begin[i] + h.slots[i].count * dtype_bytes(*precision)});
  }
  for (const ExtraSlot& e : h.extras) {
    ranges.push_back({e.name, e.begin, e.begin + e.count * dtype_bytes(*precision)});
  }
  // Sorted by begin, ranges are disjoint exactly when each starts at or after
  // the end of the one before.
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (std::size_t k = 1; k < ranges.size(); ++k) {
    const Range& a = ranges[k - 1];
    const Range& b = ranges[k];
    if (b.begin < a.end) {
      throw FileError(path, "tensors " + in_quotes(a.name) + " " +
                                bracketed(std::vector<std::uint64_t>{a.begin, a.end}) + " and " +
                                in_quotes(b.name) + " " +
                                bracketed(std::vector<std::uint64_t>{b.begin, b.end}) +
                                " overlap in the data section");
    }
  }
  h.info.precision = *precision;
  return h;
}

// Reads the out.size() values of tensor `name` stored as S at file offset
// `offset` into `out`, checking each; `buffer` holds them when S is not T.
template <class T, class S>
void read_tensor(const InputFile& file, std::uint64_t offset, const std::string& name,
                 std::span<T> out, std::vector<S>& buffer) {
  const std::string& path = file.path();
  S* values = nullptr;
  if constexpr (std::is_same_v<S, T>) {
    values = out.data();
  } else {
    buffer.resize(out.size());
    values = buffer.data();
  }
  file.read_at(offset, values, out.size() * sizeof(S), "tensor " + in_quotes(name));
  for (std::size_t e = 0; e < out.size(); ++e) {
    const S v = values[e];
    if (!std::isfinite(v)) {
      throw FileError(path, "tensor " + in_quotes(name) + " holds a non-finite value (" +
                                format_number(static_cast<double>(v)) + ") at index " +
                                std::to_string(e));
    }
    if constexpr (!std::is_same_v<S, T>) {
      if (static_cast<double>(std::fabs(v)) > static_cast<double>(std::numeric_limits<T>::max())) {
        throw FileError(path, "tensor " + in_quotes(name) + " holds " + format_number(v) +
                                  " at index " + std::to_string(e) +
                                  ", outside the range of float");
      }
      out[e] = static_cast<T>(v);
    }
  }
}

// Reads the model's tensors stored as S and, with `extra`, the extra tensors.
template <class T, class S>
void read_tensors(const InputFile& file, const Header& h, Model<T>& model,
                  std::map<std::string, std::vector<T>>* extra) {
  std::vector<S> buffer;
  const std::span<T> params = model.parameters();
  for (std::size_t i = 0; i < h.slots.size(); ++i) {
    const TensorSlot& t = h.slots[i];
    read_tensor<T, S>(file, h.data_start + h.begin[i], t.name,
                      params.subspan(t.param_offset, t.count), buffer);
  }
  if (!extra) return;
  for (const ExtraSlot& e : h.extras) {
    std::vector<T>& values = (*extra)[e.name];
    values.resize(e.count);
    read_tensor<T, S>(file, h.data_start + e.begin, e.name, std::span<T>(values), buffer);
  }
}

template <class T>
io::ModelFileContents<T> read_model_file(const std::string& path, bool with_extra) {
  const InputFile file(path);
  Header h = read_header(file);
  io::ModelFileContents<T> c{
      Model<T>(h.info.spec), h.info.precision, std::move(h.train_metadata), {}};
  std::map<std::string, std::vector<T>>* extra = with_extra ? &c.extra : nullptr;
  if (h.info.precision == Precision::f32) {
    read_tensors<T, float>(file, h, c.model, extra);
  } else {
    read_tensors<T, double>(file, h, c.model, extra);
  }
  return c;
}

}  // namespace

template <class T>
void save_model(const Model<T>& model, const std::string& path,
                const std::map<std::string, std::string>& extra_metadata) {
  io::save_model_file<T>(model, path, extra_metadata, {}, {});
}

ModelFileInfo read_model_info(const std::string& path) {
  const InputFile file(path);
  Header h = read_header(file);
  h.info.training = std::move(h.train_metadata);
  return std::move(h.info);
}

template <class T>
Model<T> load_model(const std::string& path) {
  return read_model_file<T>(path, false).model;
}

template void save_model<float>(const Model<float>&, const std::string&,
                                const std::map<std::string, std::string>&);
template void save_model<double>(const Model<double>&, const std::string&,
                                 const std::map<std::string, std::string>&);
template Model<float> load_model<float>(const std::string&);
template Model<double> load_model<double>(const std::string&);

namespace io {

template <class T>
void save_model_file(const Model<T>& model, const std::string& path,
                     const std::map<std::string, std::string>& metadata,
                     const std::map<std::string, std::string>& train_metadata,
                     const std::vector<ExtraTensor<T>>& extra) {
  for (const auto& [key, value] : train_metadata) {
    if (!key.starts_with(kTrainMetadataPrefix)) {
      throw InvalidArgument("training metadata key " + in_quotes(key) + " does not start with " +
                            in_quotes(kTrainMetadataPrefix));
    }
  }
  std::vector<ExtraSlot> extra_slots;
  for (const ExtraTensor<T>& t : extra) {
    const bool duplicate = std::any_of(extra_slots.begin(), extra_slots.end(),
                                       [&](const ExtraSlot& s) { return s.name == t.name; });
    if (!t.name.starts_with(kExtraTensorPrefix) || duplicate) {
      throw InvalidArgument(
          "extra tensor name " + in_quotes(t.name) + " is " +
          (duplicate ? "repeated" : "not in the " + in_quotes(kExtraTensorPrefix) + " namespace"));
    }
    extra_slots.push_back({t.name, t.values.size(), 0});
  }

  const std::vector<TensorSlot> slots = tensor_slots(model.spec());
  const std::span<const T> params = model.parameters();
  for (const TensorSlot& t : slots) {
    check_finite_for_save(params.subspan(t.param_offset, t.count), t.name, path);
  }
  for (const ExtraTensor<T>& t : extra) check_finite_for_save(t.values, t.name, path);
  const std::string header = make_header(model.spec(), precision_of<T>(), slots, extra_slots,
                                         train_metadata, metadata, path);

  AtomicFile file(path);
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(header.size() >> (8 * i));
  file.write(len_bytes, sizeof len_bytes);
  file.write(header.data(), header.size());
  for (const TensorSlot& t : slots) {
    file.write(params.data() + t.param_offset, t.count * sizeof(T));
  }
  for (const ExtraTensor<T>& t : extra) file.write(t.values.data(), t.values.size_bytes());
  file.commit();
}

template <class T>
ModelFileContents<T> load_model_file(const std::string& path) {
  return read_model_file<T>(path, true);
}

template void save_model_file<float>(const Model<float>&, const std::string&,
                                     const std::map<std::string, std::string>&,
                                     const std::map<std::string, std::string>&,
                                     const std::vector<ExtraTensor<float>>&);
template void save_model_file<double>(const Model<double>&, const std::string&,
                                      const std::map<std::string, std::string>&,
                                      const std::map<std::string, std::string>&,
                                      const std::vector<ExtraTensor<double>>&);
template ModelFileContents<float> load_model_file<float>(const std::string&);
template ModelFileContents<double> load_model_file<double>(const std::string&);

}  // namespace io
int model_format_version() { return kFormatVersion; }

}  // namespace lnn
