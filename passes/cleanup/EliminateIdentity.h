// eliminate-identity: bypasses Identity nodes; graph outputs keep their names.
#pragma once

#include "pass/Pass.h"

namespace mopt {

// Readers of an Identity's output read its input instead. When the output is a graph output,
// the value feeding the Identity takes over the output's name, so callers see the same
// interface; if that is impossible (the input is itself a graph input, an initializer or
// another output, or lives in an enclosing graph) the Identity stays.
class EliminateIdentityPass : public Pass {
 public:
  static const PassInfo& info();
  explicit EliminateIdentityPass(const OptionValues&) {}
  bool run(Model& model, PassContext& ctx) override;
};

}  // namespace mopt
