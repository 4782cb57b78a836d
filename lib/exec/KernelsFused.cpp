// Kernels for ops the executor introduces on its private copy of a model (Fusion.cpp), plus Gelu.
#include "exec/Fusion.h"
#include "exec/Runtime.h"

namespace mopt::exec {

namespace {

// Gelu (ONNX opset 20 semantics; `approximate` none|tanh).
void opGelu(KernelContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  std::string approx = ctx.attrString("approximate", "none");
  ctx.setOutput(0, at::gelu(x, approx == "tanh" ? "tanh" : "none"), ctx.inputType(0));
}

// LinearT(x, W^T, bias?): x @ W + bias with W stored transposed ([N, K]), as BLAS prefers.
void opLinearT(KernelContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  c10::optional<at::Tensor> bias;
  if (ctx.hasInput(2)) bias = ctx.input(2);
  ctx.setOutput(0, at::linear(x, ctx.input(1), bias), ctx.inputType(0));
}

}  // namespace

void addFusedKernels(KernelList& k) {
  k.push_back({"", "Gelu", opGelu});
  k.push_back({kExecDomain, "LinearT", opLinearT});
}

}  // namespace mopt::exec
