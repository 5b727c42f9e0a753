// Model files: safetensors (docs/file-formats.md).
//
// Byte layout: an 8-byte little-endian u64 N, N bytes of JSON header (padded
// with spaces so the data starts 8-byte aligned), then the raw little-endian
// tensor bytes. The header maps each tensor name to
// {"dtype": "F32"|"F64", "shape": [...], "data_offsets": [begin, end]}
// (offsets relative to the first data byte), plus "__metadata__": string→string.
//
// Tensors (K = spec.depth(), all of one dtype, F32 or F64):
//   layers.{l}.weight   [m_l, in_l]   l = 0..K-1, row-major, rows = outputs
//                                     (exactly Model::weight(l)); in_0 = input_width()
//   layers.{l}.bias     [m_l]
//   output.weight       [1, m_K]      (Model::weight(K))
//   output.bias         [1]           (Model::bias(K))
// Metadata (all values strings):
//   lnn.format = "lnn-model"       lnn.format_version = "1"
//   lnn.n = "2"                    lnn.hidden = "600,600,600"
//   lnn.activation = to_string(a)  lnn.embedding = "angle,plain" (n entries, always in full)
// plus any caller metadata, whose keys must not start with "lnn.".
// A training checkpoint (lnn/optimizer.hpp) adds tensors "optimizer.*" and
// metadata "lnn.train.*"; load_model skips both, read_model_info returns the
// metadata in ModelFileInfo::training.
#pragma once
#include "lnn/visibility.hpp"
#include <cstdint>
#include <map>
#include <string>

#include "lnn/model.hpp"

namespace lnn LNN_CXX_API {

enum class Precision : std::uint8_t { f32, f64 };

// The model-file format version this build writes and reads (lnn.format_version).
// A file of a newer version is refused with a FileError saying so.
int model_format_version();

// Writes the model atomically: to "<path>.tmp.<pid>.<i>" (created exclusively)
// in the same directory, fsync, then rename() over path. A path that exists
// and is not a regular file is refused; a symbolic link is kept and its
// target replaced. On any failure the temporary is removed and
// FileError is thrown (also for a metadata key starting with "lnn.", a
// metadata string that is not UTF-8, or a non-finite parameter, which could
// never be loaded); an existing file at path is untouched until the rename.
// Tensors are written in dtype F32 for Model<float>, F64 for Model<double>.
template <class T>
void save_model(const Model<T>& model, const std::string& path,
                const std::map<std::string, std::string>& extra_metadata = {});

struct ModelFileInfo {
  // An all-plain embedding reads back as an empty vector (the canonical form).
  ModelSpec spec;
  Precision precision = Precision::f64;  // dtype of the stored tensors
  // The caller metadata: every __metadata__ entry whose key does not start
  // with "lnn." (so it can be passed straight back to save_model).
  std::map<std::string, std::string> metadata;
  // A checkpoint's "lnn.train.*" entries (lnn/optimizer.hpp), among them
  // lnn.train.config, the training configuration as JSON (TrainConfig); empty
  // for a plain model file.
  std::map<std::string, std::string> training;
};

// Reads and validates the header only (metadata, spec, every tensor entry and
// its offsets against the file size); reads no tensor data. Throws FileError
// naming the file and the problem.
ModelFileInfo read_model_info(const std::string& path);

// Reads and validates the whole file. Converts F32 <-> F64 when the file's
// dtype differs from T (an F64 value outside float's range is an error).
// Throws FileError naming the file and the problem, including any NaN or
// infinite parameter (naming the tensor).
template <class T>
Model<T> load_model(const std::string& path);

extern template void save_model<float>(const Model<float>&, const std::string&,
                                       const std::map<std::string, std::string>&);
extern template void save_model<double>(const Model<double>&, const std::string&,
                                        const std::map<std::string, std::string>&);
extern template Model<float> load_model<float>(const std::string&);
extern template Model<double> load_model<double>(const std::string&);

}  // namespace lnn
