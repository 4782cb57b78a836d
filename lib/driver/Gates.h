// Gates: checks of a pipeline's result against its input model (accuracy drop, output cosine,
// size and latency ratios), whose failure a CI job sees as exit code 4.
#pragma once

#include "driver/PipelineSpec.h"

#include <string>
#include <vector>

namespace mopt {

struct GateResult {
  std::string name;  // max-accuracy-drop, min-cosine, max-size-ratio, max-latency-ratio
  double value = 0, limit = 0;
  bool passed = true;
  std::string detail;  // e.g. "99.33% -> 98.00%"
};

// Evaluates every gate `g` sets. `before` is the input model, `after` the pipeline's result;
// `data` the gate's data set (may be null when only size is gated).
std::vector<GateResult> evaluateGates(const Model& before, const Model& after, const GateSpec& g,
                                      const DataSetSpec* data, int threads);

}  // namespace mopt
