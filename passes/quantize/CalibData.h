// Calibration (and evaluation) data for a model: .npz/.npy files or a folder of them, one array
// per graph input with samples along axis 0. Everything is validated against the model's inputs
// before any work starts, so a wrong file fails in a second, not after an hour of calibration.
#pragma once

#include "data/Npy.h"
#include "ir/Graph.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace mopt {

struct CalibDataOptions {
  std::vector<std::pair<std::string, std::string>> map;  // graph input -> array name
  int64_t first_sample = 0;                              // skip the samples before this one
  int64_t max_samples = 0;                               // 0: all (after first_sample)
  int64_t batch = 1;                                     // samples per run (<= a static batch dim)
  std::vector<std::string> extra_arrays;  // arrays the file must also hold (e.g. labels)
};

class CalibrationData {
 public:
  // Opens and checks `path` (.npz, .npy for a one-input model, or a folder of those, read in
  // name order). Throws Error(Input) naming the file and array: a missing input, a wrong dtype, a
  // wrong rank or static dimension, arrays with different sample counts, no samples.
  CalibrationData(const std::string& path, const Graph& g, CalibDataOptions opts = {});

  int64_t samples() const { return total_; }
  // Feeds for the batches, in order: fn(feeds, first_sample, count). Extra arrays are included
  // under their own names. Files are opened one at a time (memory-mapped when stored).
  void forEachBatch(const std::function<void(const NamedTensors&, int64_t, int64_t)>& fn) const;
  const std::string& path() const { return path_; }

 private:
  struct Input {
    std::string name, array;
    DType dtype;
    std::vector<int64_t> dims;     // -1 for symbolic
    bool per_sample_rank = false;  // data has one more dim than the model input (no batch dim)
    // A scalar model input given one scalar (a flag such as use_cache): fed as is to every batch.
    bool constant = false;
  };
  struct File {
    std::string path;
    int64_t samples = 0;
  };
  NamedTensors load(const File& f) const;
  int64_t check(const std::string& file, const NamedTensors& arrays);

  std::string path_;
  CalibDataOptions opts_;
  std::vector<Input> inputs_;
  std::vector<File> files_;
  int64_t total_ = 0;
};

}  // namespace mopt
