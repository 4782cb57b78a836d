// Node selection for the quantization passes.
#include "passes/quantize/Selection.h"

#include "ir/Error.h"

#include <algorithm>

namespace mopt {

NodeSelection::NodeSelection(std::vector<std::string> include_ops,
                             const std::vector<std::string>& exclude)
    : include_ops_(std::move(include_ops)) {
  for (const auto& e : exclude) {
    if (e.rfind("re:", 0) == 0) {
      try {
        patterns_.emplace_back(e, std::regex(e.substr(3)));
      } catch (const std::regex_error& err) {
        fail(ErrorKind::Usage, "exclude pattern '{}' is not a valid regular expression: {}", e,
             err.what());
      }
    } else {
      exclude_names_.push_back(e);
    }
  }
}

bool NodeSelection::includes(const Node& n) const {
  if (!n.isDefaultDomain()) return false;
  if (std::find(include_ops_.begin(), include_ops_.end(), n.opType()) == include_ops_.end())
    return false;
  return exclusionReason(n).empty();
}

std::string NodeSelection::exclusionReason(const Node& n) const {
  for (const auto& e : exclude_names_) {
    if (e == n.opType()) return "op type " + e + " is excluded";
    if (!n.name().empty() && e == n.name()) return "excluded by name";
  }
  for (const auto& [text, re] : patterns_)
    if (!n.name().empty() && std::regex_match(n.name(), re)) return "excluded by " + text;
  return "";
}

}  // namespace mopt
