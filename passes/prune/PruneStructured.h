// prune-structured: removes whole output channels / hidden units from Conv, ConvTranspose, Gemm
// and MatMul, with everything that depends on them, so the tensors really shrink.
#pragma once

#include "pass/Pass.h"

namespace mopt {

class PruneStructuredPass : public Pass {
 public:
  static const PassInfo& info();
  explicit PruneStructuredPass(const OptionValues& o);
  bool run(Model& model, PassContext& ctx) override;

 private:
  OptionValues opts_;
};

}  // namespace mopt
