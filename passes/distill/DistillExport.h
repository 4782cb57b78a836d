// distill-export: the teacher's outputs over a data set, the student, and a manifest, for
// distillation in an outside training loop (e.g. PyTorch).
#pragma once

#include "pass/Pass.h"

namespace mopt {

class DistillExportPass : public Pass {
 public:
  static const PassInfo& info();
  explicit DistillExportPass(const OptionValues& o) : opts_(o) {}
  bool run(Model& model, PassContext& ctx) override;

 private:
  OptionValues opts_;
};

}  // namespace mopt
