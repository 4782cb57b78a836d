// quantize-static: int8 activations and weights with ranges from calibration data, in QDQ form
// (what ONNX Runtime fuses into QLinearConv/QGemm/QLinearMatMul) or as explicit QLinear ops.
#pragma once

#include "pass/Pass.h"

namespace mopt {

class QuantizeStaticPass : public Pass {
 public:
  static const PassInfo& info();
  explicit QuantizeStaticPass(const OptionValues& o) : opts_(o) {}
  bool run(Model& model, PassContext& ctx) override;

 private:
  OptionValues opts_;
};

// quantization-sensitivity: the per-node table behind auto-exclude, as a report.
class QuantizationSensitivityPass : public Pass {
 public:
  static const PassInfo& info();
  explicit QuantizationSensitivityPass(const OptionValues& o) : opts_(o) {}
  bool run(Model& model, PassContext& ctx) override;

 private:
  OptionValues opts_;
};

}  // namespace mopt
