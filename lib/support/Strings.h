// Small string helpers: edit distance for "did you mean" suggestions, joining, trimming.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mopt {

size_t editDistance(std::string_view a, std::string_view b);
// The candidate closest to `word`, or "" when none is plausibly a typo of it.
std::string nearestName(std::string_view word, const std::vector<std::string>& candidates);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string trim(std::string_view s);

}  // namespace mopt
