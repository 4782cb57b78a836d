// Rewrites the executor's private copy of a model into faster equivalents (never written out).
#pragma once

#include "ir/Graph.h"

namespace mopt {

// Domain of the executor-private ops the rewrites introduce.
inline constexpr const char* kExecDomain = "com.mopt.exec";

// - MatMul(x, W) (+ Add(bias)) with a constant 2-D float W becomes LinearT(x, W^T, bias): the
//   weight is transposed once so BLAS runs its faster "B transposed" kernel, and the bias add
//   happens inside the GEMM.
// - Conv followed by Relu, or by Clip with constant bounds, becomes ConvClamp (Conv's inputs and
//   attributes, plus float clamp_min / clamp_max): the activation runs in place.
// - The erf form of GELU that exporters emit (Div, Erf, Add, Mul, Mul) becomes one Gelu node.
// Returns how many rewrites were made.
int64_t fuseForExecution(Model& m);

}  // namespace mopt
