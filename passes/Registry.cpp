// Builds the pass registry from passes/Passes.def.
#include "passes/Registry.h"

#include "passes/analysis/InferShapes.h"
#include "passes/cleanup/DeadCodeElimination.h"
#include "passes/cleanup/EliminateIdentity.h"
#include "passes/cleanup/FoldBatchNorm.h"
#include "passes/cleanup/FoldConstants.h"
#include "passes/convert/ConvertOpset.h"
#include "passes/distill/Distill.h"
#include "passes/distill/DistillExport.h"
#include "passes/prune/PruneMagnitude.h"
#include "passes/prune/PruneNM.h"
#include "passes/prune/PruneStructured.h"
#include "passes/quantize/ConvertFloat16.h"
#include "passes/quantize/QuantizeDynamic.h"
#include "passes/quantize/QuantizeStatic.h"
#include "passes/quantize/QuantizeWeightOnly.h"

namespace mopt {

const PassRegistry& passRegistry() {
  static const PassRegistry registry({
#define MOPT_PASS(CLASS)                                                         \
  PassEntry{&CLASS::info(), [](const OptionValues& o) -> std::unique_ptr<Pass> { \
              return std::make_unique<CLASS>(o);                                 \
            }},
#include "passes/Passes.def"
  });
  return registry;
}

}  // namespace mopt
