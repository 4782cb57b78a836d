// quantize-weight-only: block-wise 4/8-bit weights for MatMul/Gemm (com.microsoft MatMulNBits, or
// DequantizeLinear with block_size) and Gather embeddings (GatherBlockQuantized).
#pragma once

#include "pass/Pass.h"

namespace mopt {

class QuantizeWeightOnlyPass : public Pass {
 public:
  static const PassInfo& info();
  explicit QuantizeWeightOnlyPass(const OptionValues& o) : opts_(o) {}
  bool run(Model& model, PassContext& ctx) override;

 private:
  OptionValues opts_;
};

}  // namespace mopt
