// The run report of `mopt run`: per pass (time, peak memory, weight size, parameters, counters,
// notes, per-layer tables), gate results and provenance, as JSON, Markdown and an SVG chart.
#pragma once

#include "driver/Gates.h"
#include "pass/PassManager.h"

#include <string>
#include <vector>

namespace mopt {

struct RunReport {
  std::string input, output, input_sha256, output_sha256, pipeline, mopt_version;
  int64_t weight_bytes_before = 0, parameters_before = 0;
  std::vector<PassStats> passes;
  std::vector<GateResult> gates;
  bool gates_passed = true;
  bool written = false;  // false when a gate failed (and --keep-failed was not given)
  double seconds = 0;
};

std::string reportJson(const RunReport& r);
std::string reportMarkdown(const RunReport& r);
// A horizontal bar chart: the first per-layer table a pass marked for charting (e.g. sparsity
// or sensitivity per layer), else the model's weight size after each pass.
std::string reportSvg(const RunReport& r);
// Writes whichever of the three paths are non-empty (atomically).
void writeReports(const RunReport& r, const std::string& json, const std::string& markdown,
                  const std::string& svg);

}  // namespace mopt
