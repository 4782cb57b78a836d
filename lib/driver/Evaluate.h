// Running models: `mopt exec`, `mopt compare` (two models on the same inputs, optionally node by
// node) and `mopt eval` (accuracy, latency, throughput).
#pragma once

#include "data/Npy.h"
#include "exec/Executor.h"
#include "frontend/torchscript/TorchScript.h"
#include "ir/Graph.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mopt {

// Feeds for a model: arrays from an .npz (renamed with `map` NAME=KEY), or random values.
struct FeedOptions {
  std::string npz;
  std::vector<std::pair<std::string, std::string>> map;  // graph input name -> array name
  int64_t random_batch = 0;  // > 0: random inputs with symbolic dims set to this
  uint64_t seed = 0;
  std::vector<InputSpec> shapes;  // explicit shapes for random inputs
};
std::vector<std::pair<std::string, std::string>> parseMap(const std::string& text);
NamedTensors makeFeeds(const Model& m, const FeedOptions& opts);

struct OutputComparison {
  std::string name;
  std::vector<int64_t> shape;
  double max_abs = 0, mean_abs = 0, max_rel = 0, cosine = 1;
  std::optional<double> top1_agreement;  // [N, C] float outputs: share of rows with equal argmax
  bool shapes_match = true;
};
struct NodeDivergence {
  std::string value;     // the first intermediate whose relative error passes the threshold
  std::string producer;  // node that computes it in model A
  double max_abs = 0, rel = 0;
};
struct CompareResult {
  std::vector<OutputComparison> outputs;
  std::optional<NodeDivergence> first_divergence;  // with per_node
  int64_t compared_values = 0;                     // with per_node
};
CompareResult compareOutputs(const NamedTensors& a, const NamedTensors& b);
CompareResult compareModels(const Model& a, const Model& b, const NamedTensors& feeds,
                            bool per_node, double rel_threshold, int threads);
std::string compareText(const CompareResult& r);
std::string compareJson(const CompareResult& r);

struct EvalOptions {
  std::string labels;  // array name in the data file
  int64_t batch = 32;
  int warmup = 3;
  int latency_runs = 50;  // batch-1 runs timed for p50/p90
  int threads = 1;
  bool profile = false;  // report time per op type
};
struct EvalResult {
  int64_t samples = 0;
  std::optional<double> accuracy;
  double p50_ms = 0, p90_ms = 0, mean_ms = 0;  // batch-1 latency
  double throughput = 0;                       // samples per second over the batched pass
  int latency_runs = 0;
  std::vector<OpProfile> profile;  // with EvalOptions::profile (latency runs only)
};
EvalResult evaluateModel(const Model& m, const NamedTensors& data, const EvalOptions& opts);
std::string evalText(const EvalResult& r);
std::string evalJson(const EvalResult& r);

}  // namespace mopt
