// dce: removes nodes whose results nobody reads, and initializers nothing uses.
#pragma once

#include "pass/Pass.h"

namespace mopt {

// Graph inputs and outputs are never touched; nodes inside If/Loop/Scan bodies and function
// bodies are cleaned too. A node is dead when none of its outputs is used or is a graph output.
class DeadCodeEliminationPass : public Pass {
 public:
  static const PassInfo& info();
  explicit DeadCodeEliminationPass(const OptionValues&) {}
  bool run(Model& model, PassContext& ctx) override;
};

}  // namespace mopt
