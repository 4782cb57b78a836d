// Quantization sensitivity: how much each layer alone costs when quantized, and the greedy
// search that keeps the most sensitive layers in float until a quality target is met.
#pragma once

#include "passes/quantize/CalibData.h"
#include "passes/quantize/StaticPlan.h"

#include <optional>
#include <string>
#include <vector>

namespace mopt {

// Quality of a model's first output against the float model's, over the evaluation samples.
struct QualityMetrics {
  double sqnr_db = 0;              // 10 log10(|ref|^2 / |ref - out|^2), all samples together
  double cosine = 1;               // of the flattened outputs, all samples together
  std::optional<double> accuracy;  // top-1 in percent, with labels
};

// Runs models on evaluation data held in memory and compares them with the float model.
class QualityProbe {
 public:
  // `labels`: an array of the data with one integer class per sample, or "".
  QualityProbe(const Model& float_model, const CalibrationData& data, const std::string& labels,
               int threads);
  QualityMetrics measure(const Model& m) const;
  std::optional<double> floatAccuracy() const { return float_accuracy_; }
  int64_t samples() const { return samples_; }

 private:
  std::vector<Tensor> run(const Model& m) const;  // first output per batch
  std::vector<NamedTensors> batches_;
  std::vector<Tensor> reference_;
  std::vector<int64_t> labels_;
  std::optional<double> float_accuracy_;
  int64_t samples_ = 0;
  int threads_ = 1;
};

// A quality target: min-cosine=0.99, min-sqnr=30 (dB) or max-drop=0.5 (accuracy points).
struct QualityTarget {
  enum class Kind { MinCosine, MinSqnr, MaxDrop } kind = Kind::MinCosine;
  double value = 0.99;
  std::string text;
  bool met(const QualityMetrics& m, std::optional<double> float_accuracy) const;
};
QualityTarget parseQualityTarget(const std::string& text);  // Error(Usage)

struct SensitivityRow {
  size_t position = 0;  // in the main graph
  std::string node, op;
  QualityMetrics alone;  // only this node quantized
};
struct SensitivityReport {
  int64_t samples = 0;
  std::optional<double> float_accuracy;
  QualityMetrics all;                // every planned node quantized
  std::vector<SensitivityRow> rows;  // most sensitive first
  // With a target: what auto-exclusion kept in float, and the quality reached.
  std::optional<QualityTarget> target;
  std::vector<std::string> kept_float;
  std::vector<QualityMetrics> steps;  // quality after each node kept in float
  std::optional<QualityMetrics> final;
};

// Measures every weighted or range-owning node of the plan alone (Conv, Gemm, MatMul, Add, ...).
SensitivityReport analyzeSensitivity(const Model& model, const StaticConfig& cfg,
                                     const NodeSelection& select, const StatsSet& stats,
                                     const QualityProbe& probe);
// Excludes the most sensitive nodes one at a time until `target` holds; fills the report's
// target fields and returns the positions to exclude.
std::set<size_t> autoExclude(const Model& model, const StaticConfig& cfg,
                             const NodeSelection& select, const StatsSet& stats,
                             const QualityProbe& probe, const QualityTarget& target,
                             SensitivityReport& report);

std::string sensitivityText(const SensitivityReport& r);
std::string sensitivityJson(const SensitivityReport& r);
std::string sensitivityMarkdown(const SensitivityReport& r);
// By extension: .json, .md, anything else text. Atomic.
void writeSensitivityReport(const SensitivityReport& r, const std::string& path);

}  // namespace mopt
