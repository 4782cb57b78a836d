// Compile-time constant values of IR values, shared by the passes that fold or rewrite weights.
#pragma once

#include "ir/Graph.h"

#include <optional>

namespace mopt {

// The value of `v` when it is fixed by the model itself: a non-overridable initializer, the
// output of a Constant node, or either of those seen through Identity nodes (torch's exporter
// shares weights through Identity).
std::optional<Tensor> constantValue(const Value* v);

// The tensor a Constant node produces (any of its value_* attributes), if it has one.
std::optional<Tensor> constantNodeValue(const Node& n);

}  // namespace mopt
