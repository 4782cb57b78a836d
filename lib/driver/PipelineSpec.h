// Pipeline files (YAML, or JSON) and their in-memory form; see docs/pipeline.md for the schema.
#pragma once

#include "frontend/onnx/Onnx.h"
#include "pass/Pipeline.h"

#include <optional>
#include <string>

namespace mopt {

struct PipelineSpec {
  std::string source;         // the file it came from ("" for a -p pipeline)
  std::string input, output;  // resolved against the spec file's folder
  Pipeline pipeline;
  OnnxSaveOptions save;
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
