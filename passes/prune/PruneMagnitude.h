// prune-magnitude: unstructured pruning by |w|, per layer or with one global threshold; weights
// stay dense with exact zeros.
#pragma once

#include "pass/Pass.h"

namespace mopt {

class PruneMagnitudePass : public Pass {
 public:
  static const PassInfo& info();
  explicit PruneMagnitudePass(const OptionValues& o);
  bool run(Model& model, PassContext& ctx) override;

 private:
  OptionValues opts_;
};

}  // namespace mopt
