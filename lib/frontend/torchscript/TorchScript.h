// Reading and writing TorchScript (plain header; the implementation is in the LibTorch plugin).
#pragma once

#include "ir/Graph.h"

#include <string>
#include <vector>

namespace mopt {

// One graph input: name (empty = by position), dtype, dims (numbers or symbols such as "N").
struct InputSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::string> dims;
};
// `name=1,3,224,224`, `N,3,224,224`, `input_ids:i64=N,128`. Throws Error(Usage).
InputSpec parseInputSpec(const std::string& text);

struct TorchScriptImportOptions {
  // Shapes and dtypes of forward()'s arguments in order (TorchScript files do not record them).
  std::vector<InputSpec> inputs;
  // Last resort when neither `inputs` nor the file (mopt records them when it writes TorchScript)
  // say: the arrays of a sample data file.
  std::vector<InputSpec> sample_inputs;
  bool keep_batchnorm = false;  // freeze without folding BatchNorm into the convolutions
  int64_t opset = 17;           // default-domain opset of the resulting IR
};

// torch::jit::load -> freeze -> inline -> aten ops mapped onto ONNX-semantics IR ops. An op with
// no mapping is an Error(Input) naming the op and its TorchScript source line.
Model loadTorchScript(const std::string& path, const TorchScriptImportOptions& opts);

struct TorchScriptExportOptions {
  // Keep quantized weights (int8/int4) stored as such and dequantize at run time (smaller file).
  bool keep_quantized_weights = true;
};
// IR -> a torch::jit::Module whose forward() is generated TorchScript over registered
// parameters and buffers; saved with Module::save (loads in LibTorch and Python's torch.jit.load).
void saveTorchScript(const Model& model, const std::string& path,
                     const TorchScriptExportOptions& opts = {});

}  // namespace mopt
