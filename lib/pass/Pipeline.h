// Pipelines: the textual form `dce,convert-opset{target=17}` and its canonical spelling.
#pragma once

#include "pass/Pass.h"

#include <string>
#include <utility>
#include <vector>

namespace mopt {

struct PassInvocation {
  const PassEntry* entry = nullptr;
  OptionValues options;
  std::string canonical() const;  // name{all options} (braces omitted when it has none)
};

struct Pipeline {
  std::vector<PassInvocation> passes;
  std::string canonical() const;  // comma-separated invocations
};

// Parses pipeline text. Errors are Error(Usage) with three lines: the message with the column,
// the text, and a caret under the offending column; unknown names come with a suggestion.
Pipeline parsePipeline(const std::string& text, const PassRegistry& registry);

// Builds one invocation from already-split options (the YAML form). Errors are Error(Usage)
// without location; the caller prefixes file:line:column.
PassInvocation makeInvocation(const PassRegistry& registry, const std::string& name,
                              const std::vector<std::pair<std::string, RawOptionValue>>& options);
// The "unknown pass" message with the nearest registered name.
std::string unknownPassMessage(const PassRegistry& registry, const std::string& name);

}  // namespace mopt
