// infer-shapes: gives every value a type and, where it can be derived, a shape.
#pragma once

#include "pass/Pass.h"

namespace mopt {

// Uses ONNX's shape inference with data propagation (shapes computed by Shape/Gather/Concat
// chains are followed), on every graph including If/Loop/Scan bodies. Symbolic dims the model
// already names (N, seq_len) are kept; dims nobody can know stay unknown. With strict=true the
// pass fails when some value is left without a type.
class InferShapesPass : public Pass {
 public:
  static const PassInfo& info();
  explicit InferShapesPass(const OptionValues& o) : strict_(o.getBool("strict")) {}
  bool run(Model& model, PassContext& ctx) override;

 private:
  bool strict_;
};

}  // namespace mopt
