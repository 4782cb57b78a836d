// What the quantization passes share: their common options, and the weight layouts of the ops
// they quantize (which input is the weight, along which axis its output channels lie).
#pragma once

#include "pass/Pass.h"
#include "passes/quantize/QuantMath.h"
#include "passes/quantize/Selection.h"

#include <optional>
#include <string>
#include <vector>

namespace mopt {

// `include-ops` (with the pass's default list) and `exclude`.
std::vector<OptionSpec> selectionOptions(const std::string& default_ops,
                                         const std::string& ops_help);
NodeSelection selectionFrom(const OptionValues& o);

// `weight-type` (int8|uint8) as a DType.
DType weightTypeFrom(const OptionValues& o, const std::string& option = "weight-type");

// A scalar or 1-D tensor of `dtype`.
Tensor scalarOf(DType dtype, double v);

// The float weight of a MatMul/Gemm as a [K, N] matrix (Gemm: transB and alpha applied), or why
// the node does not qualify. `weight_input` is the index of the constant operand.
struct MatMulWeight {
  Tensor kn;  // [K, N], same float dtype as the original
  size_t weight_input = 1;
  std::string why_not;  // non-empty: not quantizable
};
MatMulWeight matmulWeight(const Node& n);

// Candidates a pass left alone, grouped by op type and reason, so a model with hundreds of
// similar nodes gets a handful of report lines (with examples), not hundreds.
class SkipReport {
 public:
  void add(const Node& n, const std::string& why);
  // One note per group, in the order groups were first seen; counts nodes-skipped.
  void flush(PassContext& ctx);

 private:
  struct Group {
    std::string op, why;
    std::vector<std::string> names;
  };
  std::vector<Group> groups_;
};

// A copy of an int/float/string attribute or list (Attribute itself is move-only).
Attribute copyScalarAttr(const Attribute& a);

// The total bytes of float initializers (for before/after counters).
int64_t floatWeightBytes(const Model& m);

}  // namespace mopt
