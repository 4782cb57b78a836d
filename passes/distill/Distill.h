// distill: recovery fine-tuning of the model (the student) against a teacher's outputs.
#pragma once

#include "pass/Pass.h"

namespace mopt {

class DistillPass : public Pass {
 public:
  static const PassInfo& info();
  explicit DistillPass(const OptionValues& o) : opts_(o) {}
  bool run(Model& model, PassContext& ctx) override;

 private:
  OptionValues opts_;
};

// Loads an ONNX or TorchScript file (by content) for passes that need a second model.
Model loadModelForPass(const std::string& path);

}  // namespace mopt
