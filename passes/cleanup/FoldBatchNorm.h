// fold-bn-into-conv: merges an inference-mode BatchNormalization into the Conv (or
// ConvTranspose) that feeds it.
//
//   y = Conv(x, W, b)                      y' = Conv(x, W', b')
//   z = BatchNormalization(y, s, B, m, v)  with, per output channel c,
//                                            k[c]  = s[c] / sqrt(v[c] + eps)
//                                            W'[c] = W[c] * k[c]
//                                            b'[c] = (b[c] - m[c]) * k[c] + B[c]
#pragma once

#include "pass/Pass.h"

#include <cstdint>
#include <vector>

namespace mopt {

// The fold arithmetic on its own, so it can be tested without a graph. Weights are laid out as
// ONNX does: Conv [M, C/group, k...], ConvTranspose [C, M/group, k...]. `bias` has M entries
// (zeros if the conv had none). Computed in double.
struct BatchNormParams {
  std::vector<double> scale, shift, mean, var;
  double epsilon = 1e-5;
};
void foldBatchNormIntoWeights(std::vector<double>& weight, const std::vector<int64_t>& wdims,
                              std::vector<double>& bias, const BatchNormParams& bn, bool transposed,
                              int64_t group);

class FoldBatchNormPass : public Pass {
 public:
  static const PassInfo& info();
  explicit FoldBatchNormPass(const OptionValues&) {}
  bool run(Model& model, PassContext& ctx) override;
};

}  // namespace mopt
