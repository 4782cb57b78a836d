// convert-opset: moves a model's default ONNX domain to another opset version, rewriting nodes
// whose operator changed meaning or signature in between.
#pragma once

#include "pass/Pass.h"

namespace mopt {

// Steps one opset at a time. For each node whose schema differs between two neighbouring
// versions, an adapter from OpsetAdapters rewrites it (attribute <-> input moves, semantic
// rewrites such as Softmax's axis change at 13); changes that only widen types are checked
// against the target schema. Anything it cannot convert is reported together, naming the ops,
// nodes and reasons, and the model is left unchanged.
class ConvertOpsetPass : public Pass {
 public:
  static const PassInfo& info();
  explicit ConvertOpsetPass(const OptionValues& o)
      : target_(o.getInt("target")), only_upgrade_(o.getBool("only-upgrade")) {}
  bool run(Model& model, PassContext& ctx) override;

 private:
  int64_t target_;
  bool only_upgrade_;
};

}  // namespace mopt
