// The LibTorch plugin's interface. Commands that need no execution (inspect, print, ONNX
// convert, passes) never load LibTorch, which costs ~0.4 s per process here; the first call that
// needs it loads libmopt_torch.so from beside the executable.
#pragma once

#include "exec/Distill.h"
#include "exec/Executor.h"
#include "frontend/torchscript/TorchScript.h"

namespace mopt {

class TorchBackend {
 public:
  virtual ~TorchBackend() = default;
  virtual std::unique_ptr<Executor> makeExecutor(const Model& model, ExecOptions opts) const = 0;
  virtual std::vector<std::string> unsupportedOps(const Model& model) const = 0;
  virtual std::vector<std::string> supportedOps() const = 0;
  virtual std::vector<Tensor> evaluateNode(
      const Node& node, int64_t opset, const std::vector<std::optional<Tensor>>& inputs) const = 0;
  virtual bool canEvaluate(const Node& node) const = 0;
  virtual Model loadTorchScript(const std::string& path,
                                const TorchScriptImportOptions& opts) const = 0;
  virtual void saveTorchScript(const Model& model, const std::string& path,
                               const TorchScriptExportOptions& opts) const = 0;
  // Trains `student`'s float weights (see exec/Trainable.h for which) in place; exact zeros stay
  // zero, so pruning survives.
  virtual DistillStats distill(Model& student, const DistillConfig& cfg,
                               const DistillEpoch& epochs) const = 0;
};

// Loads the plugin on first use; throws Error(Internal) naming the file when it is missing.
const TorchBackend& torchBackend();

}  // namespace mopt

// The plugin's entry point (resolved with dlsym).
extern "C" const mopt::TorchBackend* mopt_torch_backend();
