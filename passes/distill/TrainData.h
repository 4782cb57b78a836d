// A training set held as memory-mapped arrays, read in any order: random mini-batches for
// distillation and chunked passes for teacher-output export.
#pragma once

#include "passes/quantize/CalibData.h"

#include <optional>
#include <string>
#include <vector>

namespace mopt {

class TrainData {
 public:
  // One .npz (validated against the model's inputs like calibration data: names, dtypes,
  // shapes; `labels`, if given, must be an array of the file with one entry per sample).
  TrainData(const std::string& path, const Graph& g,
            const std::vector<std::pair<std::string, std::string>>& map, const std::string& labels,
            int64_t max_samples);
  int64_t size() const { return samples_; }
  // The model inputs (by graph input name) and labels of samples `idx`, copied into new tensors.
  NamedTensors inputs(const std::vector<int64_t>& idx) const;
  std::optional<Tensor> labels(const std::vector<int64_t>& idx) const;
  // sha256 of the file's bytes (for manifests and provenance).
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::pair<std::string, Tensor>> inputs_;  // graph input name -> array
  std::optional<Tensor> labels_;
  int64_t samples_ = 0;
};

// Rows `idx` of `t` along axis 0, copied.
Tensor gatherRows(const Tensor& t, const std::vector<int64_t>& idx);

}  // namespace mopt
