// Model files with training state, for checkpoints (src/train/checkpoint.cpp).
//
// A checkpoint is a model file with two kinds of additions that the public
// readers skip, so that load_model and read_model_info (and so `lnn predict`)
// accept it as the model it holds:
//   tensors named "optimizer.*", in the model's dtype, after the model's;
//   metadata keys "lnn.train.*" (reserved: save_model refuses every "lnn." key
//   from its caller, so only this interface writes them).
// Everything else (validation, atomic writing, error messages) is save_model's
// and load_model's. Not a public header: the format of the additions belongs
// to the checkpoint code.
#pragma once
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lnn/model.hpp"
#include "lnn/model_file.hpp"

namespace lnn::io {

inline constexpr std::string_view kExtraTensorPrefix = "optimizer.";
inline constexpr std::string_view kTrainMetadataPrefix = "lnn.train.";

// One tensor stored besides the model's, written with shape [values.size()].
template <class T>
struct ExtraTensor {
  std::string name;  // starts with kExtraTensorPrefix
  std::span<const T> values;
};

// save_model(model, path, metadata) plus `train_metadata` (every key starts
// with kTrainMetadataPrefix) and `extra` tensors (distinct names). A bad name
// or key is a programming error: InvalidArgument. Non-finite values in an
// extra tensor are refused like non-finite parameters (FileError).
template <class T>
void save_model_file(const Model<T>& model, const std::string& path,
                     const std::map<std::string, std::string>& metadata,
                     const std::map<std::string, std::string>& train_metadata,
                     const std::vector<ExtraTensor<T>>& extra);

template <class T>
struct ModelFileContents {
  Model<T> model;
  Precision precision = Precision::f64;               // the dtype in the file, of all tensors
  std::map<std::string, std::string> train_metadata;  // every lnn.train.* entry
  // Every optimizer.* tensor, flattened, converted to T and checked like the
  // parameters (finite, within float's range for T = float).
  std::map<std::string, std::vector<T>> extra;
};

// load_model(path) that also returns the additions. Throws what load_model throws.
template <class T>
ModelFileContents<T> load_model_file(const std::string& path);

extern template void save_model_file<float>(const Model<float>&, const std::string&,
                                            const std::map<std::string, std::string>&,
                                            const std::map<std::string, std::string>&,
                                            const std::vector<ExtraTensor<float>>&);
extern template void save_model_file<double>(const Model<double>&, const std::string&,
                                             const std::map<std::string, std::string>&,
                                             const std::map<std::string, std::string>&,
                                             const std::vector<ExtraTensor<double>>&);
extern template ModelFileContents<float> load_model_file<float>(const std::string&);
extern template ModelFileContents<double> load_model_file<double>(const std::string&);

}  // namespace lnn::io
