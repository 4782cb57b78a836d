// The reference executor: runs an IR model on CPU with ATen kernels. Plain header (no torch):
// the implementation lives in the LibTorch plugin (libmopt_torch.so), loaded on first use.
#pragma once

#include "data/Npy.h"
#include "ir/Graph.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mopt {

struct ExecOptions {
  int threads = 1;  // intra-op threads; more is slower on these 2-vCPU machines (BUILD-NOTES)
  // Names of intermediate values to return besides the graph outputs (for `compare --per-node`
  // and calibration); "*" keeps every tensor value of the main graph.
  std::vector<std::string> capture;
  bool profile = false;  // time each op type (see Executor::profile)
  bool fuse = true;      // execution fusions (off when capturing, and for training)
};

// Time spent per op type over all runs so far (with ExecOptions::profile).
struct OpProfile {
  std::string op;
  int64_t calls = 0;
  double seconds = 0;
};

// Runs one model many times. Weights are converted to ATen once, zero-copy where possible;
// every intermediate value is freed after its last use. Creation fails (Error(Input)) when the
// model uses an operator mopt cannot execute, naming all of them.
class Executor {
 public:
  virtual ~Executor() = default;
  // Inputs by graph input name (initializer-backed inputs may be omitted). Returns the graph
  // outputs in order, then captured values. Errors name the node and op that failed.
  virtual NamedTensors run(const NamedTensors& inputs) = 0;
  virtual std::vector<std::string> inputNames() const = 0;  // required inputs (no initializer)
  virtual std::vector<std::string> outputNames() const = 0;
  // Sorted by time, largest first; empty unless created with ExecOptions::profile.
  virtual std::vector<OpProfile> profile() const = 0;
};

// `model` must outlive the executor.
std::unique_ptr<Executor> makeExecutor(const Model& model, ExecOptions opts = {});
// Evaluates one node on constant inputs (absent optional inputs as nullopt), as the executor
// would; `opset` is the version of the node's domain. Nodes with subgraphs are not supported.
std::vector<Tensor> evaluateNode(const Node& node, int64_t opset,
                                 const std::vector<std::optional<Tensor>>& inputs);
// True when the executor has a kernel for the node's op.
bool canEvaluate(const Node& node);

// Operators of `model` (domain-qualified when not default) that have no kernel.
std::vector<std::string> unsupportedOps(const Model& model);
// Every op the executor implements ("Conv", "com.microsoft.MatMulNBits", ...).
std::vector<std::string> supportedOps();

}  // namespace mopt
