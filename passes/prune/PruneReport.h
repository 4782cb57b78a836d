// The report every pruning pass fills: per layer what it had and has (non-zero weights, or
// channels / parameters / MACs), totals, and what was left alone and why; as text, JSON or
// Markdown.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mopt {

struct ReportTable;

struct PruneLayer {
  std::string node;    // the node (or nodes, when they share the weight)
  std::string op;      // Conv, Gemm, ...
  std::string weight;  // the weight's name in the model before pruning
  // Unstructured pruning: elements of the weight and how many are zero.
  int64_t params = 0, zeros_before = 0, zeros_after = 0;
  // Structured pruning: output channels, weight + bias elements, multiply-accumulates per sample
  // (-1 when the shapes are not known).
  int64_t channels_before = 0, channels_after = 0;
  int64_t params_before = 0, params_after = 0;
  int64_t macs_before = -1, macs_after = -1;
};

// One dependency group of prune-structured: layers whose output channels must go together.
struct PruneGroup {
  std::vector<std::string> members;  // the nodes whose output channels form the group
  int64_t channels = 0, removed = 0;
  std::string status;  // "pruned", or why it was (partly) kept
};

struct PruneReport {
  std::string pass;      // prune-magnitude, prune-nm, prune-structured
  std::string settings;  // the options that decide the result, e.g. "sparsity=0.5, scope=global"
  bool structured = false;
  std::vector<PruneLayer> layers;
  std::vector<PruneGroup> groups;
  std::vector<std::string> skipped;  // "left 2 Conv unpruned: ... (a, b)"
  // Float parameters of the whole model, and multiply-accumulates of its Conv, ConvTranspose,
  // Gemm and MatMul nodes per sample (symbolic dims count as 1; -1 when unknown).
  int64_t model_params_before = 0, model_params_after = 0;
  int64_t macs_before = -1, macs_after = -1;

  // Totals over `layers` (unstructured passes).
  int64_t prunedParams() const;
  int64_t zerosBefore() const;
  int64_t zerosAfter() const;
};

std::string pruneReportText(const PruneReport& r);
std::string pruneReportJson(const PruneReport& r);
std::string pruneReportMarkdown(const PruneReport& r);
// The per-layer table for the run report (`mopt run --report`), charted by sparsity: the share of
// zero weights (unstructured) or of removed output channels (structured) per layer.
ReportTable pruneReportTable(const PruneReport& r);
// By extension: .json, .md, anything else text. Written atomically.
void writePruneReport(const PruneReport& r, const std::string& path);

}  // namespace mopt
