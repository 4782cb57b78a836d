// Static (calibrated) quantization in ONNX Runtime's QDQ form: which nodes and tensors are
// quantized (the plan), the rewrite that inserts QuantizeLinear/DequantizeLinear pairs, int8
// weights and int32 biases, and the optional lowering of node units to QLinear operators.
#pragma once

#include "pass/Pass.h"
#include "passes/quantize/CalibStats.h"
#include "passes/quantize/Selection.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mopt {

struct StaticConfig {
  DType activation_type = DType::U8;
  bool activation_symmetric = false;
  DType weight_type = DType::I8;
  bool weight_symmetric = true;
  bool per_channel = true;
  bool reduce_range = false;
  CalibMethod method = CalibMethod::MinMax;
  double percentile = 99.999;
  bool fold_activations = true;  // Relu / Clip(0, x) after a quantized op fold into its Q range
  bool show_ranges = false;      // a report note per quantized tensor: range, scale, zero point
  // Restrict the plan by node position in the main graph (sensitivity analysis, auto-exclude):
  // only these, and never these. Positions are those of the model handed to planStatic.
  std::optional<std::set<size_t>> only_nodes;
  std::set<size_t> excluded_nodes;
  // Per-tensor overrides (pipeline option `overrides`): "float", a type, or a fixed range.
  struct Override {
    bool keep_float = false;
    std::optional<DType> type;
    std::optional<std::pair<float, float>> range;
  };
  std::map<std::string, Override> overrides;
};
// Parses `NAME=float`, `NAME=int8|uint8|int16|uint16`, `NAME=range:LO:HI` (Error(Usage)).
void parseOverride(const std::string& text, std::map<std::string, StaticConfig::Override>& out);

// The op types quantize-static knows, by role.
const std::set<std::string>& staticQuantizableOps();

struct StaticPlan {
  std::vector<Node*> nodes;     // quantized nodes, in graph order
  std::vector<Node*> folded;    // Relu/Clip whose effect the producer's output range takes over
  std::vector<Value*> tensors;  // activations that get Q -> DQ, in graph order
  std::map<const Value*, const Value*> root;      // tensor -> tensor whose parameters it shares
  std::map<const Value*, std::string> stat_name;  // roots -> calibration statistics to use
  std::map<const Value*, float> clip_max;         // roots folded from Clip: upper bound
  // The statistics calibration must collect (sorted, unique).
  std::vector<std::string> statNames() const;
  // statNames() plus every planned tensor's own statistics: what any restriction of this plan
  // (one node alone, some nodes excluded) can need.
  std::vector<std::string> allStatNames() const;
};

// Decides what to quantize in the main graph. Skipped candidates are reported through ctx.
StaticPlan planStatic(const Model& model, const StaticConfig& cfg, const NodeSelection& select,
                      PassContext& ctx);

// Rewrites the main graph as planned, with activation ranges from `stats`. Throws Error(Input)
// when statistics for a planned tensor are missing (e.g. a calibration file for another model).
void applyStatic(Model& model, const StaticPlan& plan, const StatsSet& stats,
                 const StaticConfig& cfg, PassContext& ctx);

// Turns QDQ node units into QLinearConv / QLinearMatMul and lets shape-only ops (MaxPool,
// Reshape, Flatten, Transpose, ...) run on the quantized tensor directly. What has no standard
// QLinear form (Add, Concat, pooling, Gemm, ...) keeps DequantizeLinear -> op -> QuantizeLinear.
void lowerToQOperator(Model& model, PassContext& ctx);

}  // namespace mopt
