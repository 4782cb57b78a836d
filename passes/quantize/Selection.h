// Which nodes a quantization pass may touch: op types to include, and exclusions by node name,
// op type or regular expression (the options every quantization pass shares).
#pragma once

#include "ir/Graph.h"

#include <regex>
#include <string>
#include <vector>

namespace mopt {

class NodeSelection {
 public:
  // `exclude` entries: an op type (all its nodes), a node name, or `re:PATTERN` (ECMAScript,
  // matched against the whole node name).
  NodeSelection(std::vector<std::string> include_ops, const std::vector<std::string>& exclude);
  bool includes(const Node& n) const;
  // Why `n` is excluded ("" if it is not): for the pass's report.
  std::string exclusionReason(const Node& n) const;

 private:
  std::vector<std::string> include_ops_, exclude_names_;
  std::vector<std::pair<std::string, std::regex>> patterns_;
};

}  // namespace mopt
