// Model files in the safetensors format: layout and names in
// include/lnn/model_file.hpp, the checkpoint additions in
// src/io/model_file_detail.hpp, user documentation in docs/file-formats.md.
#include "lnn/model_file.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/text.hpp"
#include "io/model_file_detail.hpp"
#include "io/safetensors.hpp"
#include "lnn/errors.hpp"
#include "lnn/info.hpp"

namespace lnn LNN_CXX_API {
namespace {

namespace safetensors = io::safetensors;
using text::bracketed;
using text::format_number;
using text::in_quotes;

constexpr std::string_view kFormat = "lnn-model";
constexpr int kFormatVersion = 1;
constexpr std::string_view kReservedPrefix = "lnn.";
constexpr std::string_view kMetadataKeys[] = {"lnn.format", "lnn.format_version", "lnn.n",
                                              "lnn.hidden", "lnn.activation",     "lnn.embedding"};

std::string_view dtype_name(Precision p) {
  return p == Precision::f32 ? safetensors::dtype_of<float>() : safetensors::dtype_of<double>();
}
std::uint64_t dtype_bytes(Precision p) { return p == Precision::f32 ? 4 : 8; }

// One tensor of a model file and where it lives in Model::parameters().
struct TensorSlot {
  std::string name;
  std::vector<std::uint64_t> shape;
  std::size_t param_offset = 0;
  std::size_t count = 0;
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

// The __metadata__ of a model file: the spec, then the checkpoint's
// lnn.train.* entries, then the caller's (none of them "lnn.").
std::vector<std::pair<std::string, std::string>> metadata_of(
    const ModelSpec& spec, const std::map<std::string, std::string>& train_metadata,
    const std::map<std::string, std::string>& extra, const std::string& path) {
  std::vector<std::pair<std::string, std::string>> meta;
  meta.emplace_back("lnn.format", kFormat);
  meta.emplace_back("lnn.format_version", std::to_string(kFormatVersion));
  meta.emplace_back("lnn.n", std::to_string(spec.n));
  std::vector<std::string> parts;
  for (int m : spec.hidden) parts.push_back(std::to_string(m));
  meta.emplace_back("lnn.hidden", join(parts));
  meta.emplace_back("lnn.activation", to_string(spec.activation));
  parts.clear();
  for (int j = 0; j < spec.n; ++j) parts.emplace_back(to_string(spec.embedding_of(j)));
  meta.emplace_back("lnn.embedding", join(parts));
  for (const auto& [key, value] : train_metadata) meta.emplace_back(key, value);
  for (const auto& [key, value] : extra) {
    if (key.starts_with(kReservedPrefix)) {
      throw FileError(path, "metadata key " + in_quotes(key) +
                                " is reserved (keys starting with \"lnn.\" belong to the format)");
    }
    meta.emplace_back(key, value);
  }
  return meta;
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

struct Header {
  ModelFileInfo info;
  std::vector<TensorSlot> slots;
  std::vector<safetensors::Tensor> tensors;  // the entry of slots[i]
  // The checkpoint additions, which only io::load_model_file reads.
  std::map<std::string, std::string> train_metadata;
  std::vector<safetensors::Tensor> extras;
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
ModelSpec spec_from_metadata(const safetensors::Reader& file,
                             std::map<std::string, std::string>& caller,
                             std::map<std::string, std::string>& train) {
  const std::string& path = file.path();
  const auto& metadata = file.metadata();
  if (!metadata) {
    throw FileError(path,
                    "not an lnn model file: the header has no __metadata__ (an lnn model "
                    "file records its spec there under lnn.format, lnn.n, …)");
  }
  std::map<std::string, std::string> lnn;
  for (const auto& [key, value] : *metadata) {
    auto& to = key.starts_with(io::kTrainMetadataPrefix) ? train
               : key.starts_with(kReservedPrefix)        ? lnn
                                                         : caller;
    to[key] = value;
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

Header read_header(const safetensors::Reader& file) {
  const std::string& path = file.path();
  Header h;
  h.info.spec = spec_from_metadata(file, h.info.metadata, h.train_metadata);
  h.slots = tensor_slots(h.info.spec);

  std::unordered_map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < h.slots.size(); ++i) index[h.slots[i].name] = i;
  std::optional<Precision> precision;
  std::string first_name;

  safetensors::Checks checks;
  checks.name = [&](const std::string& name) {
    if (!index.contains(name) && !name.starts_with(io::kExtraTensorPrefix)) {
      throw FileError(path, "unexpected tensor " + in_quotes(name) + " (a model with " +
                                std::to_string(h.info.spec.depth()) +
                                " hidden layers has layers.{0.." +
                                std::to_string(h.info.spec.depth() - 1) +
                                "}.weight/.bias, output.weight, output.bias)");
    }
  };
  checks.dtype_size = [&](const std::string& name, const std::string& what, const std::string& dt) {
    Precision p;
    if (dt == dtype_name(Precision::f32)) {
      p = Precision::f32;
    } else if (dt == dtype_name(Precision::f64)) {
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
    return dtype_bytes(p);
  };
  checks.shape = [&](const std::string& name, const std::string& what,
                     const std::vector<std::uint64_t>& shape) {
    const auto found = index.find(name);
    if (found == index.end()) return;  // an extra tensor: any shape
    const TensorSlot& slot = h.slots[found->second];
    if (shape != slot.shape) {
      throw FileError(path, what + " has shape " + bracketed(shape) + ", expected " +
                                bracketed(slot.shape) + " for the model in the metadata");
    }
  };
  checks.all = [&](const std::vector<safetensors::Tensor>& tensors) {
    std::vector<bool> seen(h.slots.size(), false);
    for (const safetensors::Tensor& t : tensors) {
      const auto found = index.find(t.name);
      if (found != index.end()) seen[found->second] = true;
    }
    for (std::size_t i = 0; i < h.slots.size(); ++i) {
      if (!seen[i]) throw FileError(path, "missing tensor " + in_quotes(h.slots[i].name));
    }
  };

  h.tensors.resize(h.slots.size());
  for (safetensors::Tensor& t : file.tensors(checks)) {
    const auto found = index.find(t.name);
    if (found != index.end()) {
      h.tensors[found->second] = std::move(t);
    } else {
      h.extras.push_back(std::move(t));
    }
  }
  h.info.precision = *precision;
  return h;
}

// Reads the out.size() values of tensor `t`, stored as S, into `out`,
// checking each; `buffer` holds them when S is not T.
template <class T, class S>
void read_tensor(const safetensors::Reader& file, const safetensors::Tensor& t, std::span<T> out,
                 std::vector<S>& buffer) {
  const std::string& path = file.path();
  const std::string& name = t.name;
  S* values = nullptr;
  if constexpr (std::is_same_v<S, T>) {
    values = out.data();
  } else {
    buffer.resize(out.size());
    values = buffer.data();
  }
  file.read(t, values);
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
void read_tensors(const safetensors::Reader& file, const Header& h, Model<T>& model,
                  std::map<std::string, std::vector<T>>* extra) {
  std::vector<S> buffer;
  const std::span<T> params = model.parameters();
  for (std::size_t i = 0; i < h.slots.size(); ++i) {
    const TensorSlot& t = h.slots[i];
    read_tensor<T, S>(file, h.tensors[i], params.subspan(t.param_offset, t.count), buffer);
  }
  if (!extra) return;
  for (const safetensors::Tensor& e : h.extras) {
    std::vector<T>& values = (*extra)[e.name];
    values.resize((e.end - e.begin) / sizeof(S));
    read_tensor<T, S>(file, e, std::span<T>(values), buffer);
  }
}

template <class T>
io::ModelFileContents<T> read_model_file(const std::string& path, bool with_extra) {
  const safetensors::Reader file(path);
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
  const safetensors::Reader file(path);
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

namespace io LNN_HIDDEN {

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
  for (auto t = extra.begin(); t != extra.end(); ++t) {
    const bool duplicate =
        std::any_of(extra.begin(), t, [&](const ExtraTensor<T>& s) { return s.name == t->name; });
    if (!t->name.starts_with(kExtraTensorPrefix) || duplicate) {
      throw InvalidArgument(
          "extra tensor name " + in_quotes(t->name) + " is " +
          (duplicate ? "repeated" : "not in the " + in_quotes(kExtraTensorPrefix) + " namespace"));
    }
  }

  const std::vector<TensorSlot> slots = tensor_slots(model.spec());
  const std::span<const T> params = model.parameters();
  for (const TensorSlot& t : slots) {
    check_finite_for_save(params.subspan(t.param_offset, t.count), t.name, path);
  }
  for (const ExtraTensor<T>& t : extra) check_finite_for_save(t.values, t.name, path);
  const auto meta = metadata_of(model.spec(), train_metadata, metadata, path);

  constexpr std::string_view dtype = safetensors::dtype_of<T>();
  std::vector<safetensors::TensorOut> tensors;
  for (const TensorSlot& t : slots) {
    tensors.push_back(
        {t.name, dtype, t.shape, params.data() + t.param_offset, t.count * sizeof(T)});
  }
  for (const ExtraTensor<T>& t : extra) {
    tensors.push_back({t.name, dtype, {t.values.size()}, t.values.data(), t.values.size_bytes()});
  }
  safetensors::write(path, meta, tensors);
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
