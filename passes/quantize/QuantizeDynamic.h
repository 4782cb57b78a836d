// quantize-dynamic: int8 weights for MatMul/Gemm/Conv with activations quantized at run time
// (ONNX Runtime's dynamic form), or weight-only QDQ.
#pragma once

#include "pass/Pass.h"

namespace mopt {

class QuantizeDynamicPass : public Pass {
 public:
  static const PassInfo& info();
  explicit QuantizeDynamicPass(const OptionValues& o) : opts_(o) {}
  bool run(Model& model, PassContext& ctx) override;

 private:
  OptionValues opts_;
};

}  // namespace mopt
