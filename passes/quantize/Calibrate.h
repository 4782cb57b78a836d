// Runs a float model over calibration data and collects statistics of chosen tensors.
#pragma once

#include "passes/quantize/CalibData.h"
#include "passes/quantize/CalibStats.h"

#include <functional>
#include <string>
#include <vector>

namespace mopt {

struct CalibrateOptions {
  int threads = 1;
  bool progress = true;  // a progress line on stderr when it is a terminal
};

// Statistics of `tensors` (graph inputs or values computed by the main graph) over every sample
// of `data`. Memory: one batch's captured activations at a time plus a fixed histogram per
// tensor. Throws Error(Input) when a tensor is not float or not produced.
StatsSet collectStats(const Model& model, const CalibrationData& data,
                      const std::vector<std::string>& tensors, const CalibrateOptions& opts = {});

// Runs the model over every sample of `data` and hands each batch's value of every tensor in
// `tensors` to fn(name, tensor) (graph inputs come from the feeds). One batch in memory at a time.
void forEachActivation(const Model& model, const CalibrationData& data,
                       const std::vector<std::string>& tensors, const CalibrateOptions& opts,
                       const std::function<void(const std::string&, const Tensor&)>& fn);

// A one-line progress indicator on stderr, redrawn in place; silent when stderr is not a
// terminal (CI logs) or when disabled.
class Progress {
 public:
  Progress(std::string what, int64_t total, bool enabled);
  ~Progress();
  void update(int64_t done);

 private:
  std::string what_;
  int64_t total_;
  bool enabled_;
  int last_percent_ = -1;
};

}  // namespace mopt
