// infer-shapes.
#include "passes/analysis/InferShapes.h"

#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"

namespace mopt {

const PassInfo& InferShapesPass::info() {
  static const PassInfo i{
      "infer-shapes",
      "analysis",
      "Give every value a type and shape (symbolic dims kept)",
      "Runs ONNX's shape inference with data propagation over every graph, subgraphs included, "
      "and merges the result into the model: types nobody stated are filled in, unknown dims "
      "get values or names, and dims the model already names stay as they are. Operators ONNX "
      "does not know (custom domains) leave their outputs untyped; with strict=true that is an "
      "error.",
      {{"strict",
        OptionType::Bool,
        "false",
        "fail when some value is left without a type",
        {},
        false}}};
  return i;
}

bool InferShapesPass::run(Model& model, PassContext& ctx) {
  ShapeInferenceResult r = inferShapesOnnx(model);
  ctx.count("values-updated", r.updated);
  ctx.count("values-typed", r.typed);
  ctx.count("values-untyped", r.values - r.typed);
  for (const auto& n : r.notes)
    ctx.note(n);
  if (strict_ && r.typed < r.values)
    fail(ErrorKind::Pass, "{} of {} values have no type after shape inference", r.values - r.typed,
         r.values);
  return r.updated > 0;
}

}  // namespace mopt
