// Pipeline files (YAML, or JSON) and their in-memory form; see docs/pipeline.md for the schema.
#pragma once

#include "frontend/onnx/Onnx.h"
#include "pass/Pipeline.h"

#include <map>
#include <optional>
#include <string>

namespace mopt {

// A named data set of the `data:` section; passes refer to it as "@name".
struct DataSetSpec {
  std::string path;                                      // resolved against the spec's folder
  std::vector<std::pair<std::string, std::string>> map;  // graph input -> array
  std::string labels;                                    // array of integer labels, if any
};

// `gates:` checks of the result against the input model, evaluated on `data`.
struct GateSpec {
  std::string data;                         // a data set name
  std::optional<double> max_accuracy_drop;  // points of top-1 accuracy (needs labels)
  std::optional<double> min_cosine;         // of the first output, all samples together
  std::optional<double> max_size_ratio;     // weight bytes, output / input
  std::optional<double> max_latency_ratio;  // batch-1 p50 in mopt's executor, output / input
  int64_t samples = 256;                    // evaluation samples at most
};

struct ReportSpec {
  std::string json, markdown, svg;  // resolved paths; "" = not written
};

struct PipelineSpec {
  std::string source;         // the file it came from ("" for a -p pipeline)
  std::string input, output;  // resolved against the spec file's folder
  Pipeline pipeline;
  OnnxSaveOptions save;
  std::map<std::string, DataSetSpec> data;
  std::optional<GateSpec> gates;
  ReportSpec report;
};

// Loads and validates a pipeline file. Errors are Error(Usage) starting with `file:line:col:`.
PipelineSpec loadPipelineSpec(const std::string& path, const PassRegistry& registry);
// The same from text already in memory: `source` names it in errors and is the path relative
// input/output paths are resolved against.
PipelineSpec loadPipelineSpecText(const std::string& text, const std::string& source,
                                  const PassRegistry& registry);

// Parses an external-data mode word: auto|always|never (also true/false).
std::optional<ExternalDataMode> parseExternalDataMode(const std::string& s);

}  // namespace mopt
