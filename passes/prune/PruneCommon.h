// What the pruning passes share: their selection options, finding each prunable weight once
// (behind Identity nodes, read by one or more nodes), replacing a constant for every reader,
// grouped notes about what was left alone, and parameter / MAC counts for the reports.
#pragma once

#include "pass/Pass.h"
#include "passes/prune/PruneReport.h"
#include "passes/quantize/Selection.h"

#include <string>
#include <vector>

namespace mopt {

// `include-ops` (with the pass's default), `exclude`, `min-size` and `report`.
std::vector<OptionSpec> pruneCommonOptions(const std::string& default_ops,
                                           const std::string& ops_help);
// The node selection; include-ops may only name op types in `known_ops` (Error(Usage)).
NodeSelection pruneSelectionFrom(const OptionValues& o, const std::vector<std::string>& known_ops);
// A number option that must lie in [lo, hi) (or [lo, hi] when `closed`), else Error(Usage).
double checkedFraction(const OptionValues& o, const std::string& name, double lo, double hi,
                       bool closed = false);

// The value holding the constant that `v` reads, seen through Identity nodes: an initializer
// that is not also a graph input, or a Constant node's output. Null when `v` is not constant.
Value* constantRoot(Value* v);
// The tensor of a constant root.
Tensor rootTensor(const Value* root);
// Replaces the tensor of a constant root, for every reader at once.
void replaceConstant(Value* root, Tensor t);
// Every node input that reads `root`, directly or through Identity nodes (an Identity whose
// output is a graph output counts as a reader itself).
std::vector<Use> constantReaders(Value* root);

// Which input of `n` holds its weight: 1 for Conv/ConvTranspose/Gemm, the constant operand of a
// MatMul (the right one if both are), 0 for a Gather on a constant table; -1 when `n` has none
// (a MatMul of two activations, a Gather on shapes).
int weightInputOf(const Node& n);

struct WeightUse {
  Node* node;
  size_t input;
};
// A constant weight and the selected nodes that read it: pruned once, for all of them.
struct PrunableWeight {
  Value* root = nullptr;
  Tensor tensor;
  std::vector<WeightUse> uses;
  std::string nodes() const;  // "a" or "a, b"
  std::string op() const;     // op type of the first reader
};

// Candidates left alone, grouped by op type and reason so a model with hundreds of similar
// layers gets a handful of lines.
class PruneSkips {
 public:
  void add(const Node& n, const std::string& why);
  void add(const std::string& op, const std::string& name, const std::string& why);
  // One note per group into the pass context and the report; counts layers-skipped.
  void flush(PassContext& ctx, PruneReport& report);

 private:
  struct Group {
    std::string op, why;
    std::vector<std::string> names;
  };
  std::vector<Group> groups_;
};

// A node's name for messages and reports (its first output's name when it has none).
std::string nodeLabel(const Node& n);

// The floating-point weights of the selected nodes in model order, each once. Weights that are
// not constant, not floating point, smaller than `min_size`, read by an excluded node or also
// read by a node that is not pruned go to `skips`.
std::vector<PrunableWeight> collectWeights(Model& m, const NodeSelection& select, int64_t min_size,
                                           PruneSkips& skips);

// Multiply-accumulates per sample of a Conv, ConvTranspose, Gemm or MatMul (symbolic dims count
// as 1); -1 when a shape is unknown, 0 for other ops.
int64_t nodeMacs(const Node& n);
// Sum of nodeMacs over every graph; -1 when any is unknown.
int64_t modelMacs(const Model& m);
// Elements of every floating-point initializer and Constant, in every graph.
int64_t floatParams(const Model& m);

}  // namespace mopt
