// prune-nm: N:M semi-structured sparsity (default 2:4) along each weight's reduction axis, the
// pattern NVIDIA's sparse tensor cores run at twice the dense rate.
#pragma once

#include "pass/Pass.h"

namespace mopt {

class PruneNMPass : public Pass {
 public:
  static const PassInfo& info();
  explicit PruneNMPass(const OptionValues& o);
  bool run(Model& model, PassContext& ctx) override;

 private:
  OptionValues opts_;
};

}  // namespace mopt
