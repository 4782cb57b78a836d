// fold-constants: computes nodes whose inputs are all constant and stores their results.
#pragma once

#include "pass/Pass.h"

namespace mopt {

// Runs such nodes through the executor's kernels (so folding and execution agree) and turns
// their outputs into initializers; Shape and Size of values with fully known static shapes fold
// too. Random ops are never folded, nor nodes with subgraphs. A result larger than `max-bytes`
// is left to be computed at run time (folding would bloat the file). Follow with `dce` to drop
// the inputs that became unused.
class FoldConstantsPass : public Pass {
 public:
  static const PassInfo& info();
  explicit FoldConstantsPass(const OptionValues& o) : max_bytes_(o.getInt("max-bytes")) {}
  bool run(Model& model, PassContext& ctx) override;

 private:
  int64_t max_bytes_;
};

}  // namespace mopt
