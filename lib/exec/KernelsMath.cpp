// Math kernels: elementwise arithmetic and activations, comparisons and logic, reductions,
// matrix products.
#include "exec/Runtime.h"

namespace mopt::exec {

namespace {

// Binary ops with ONNX (numpy) broadcasting; the output keeps the inputs' ONNX dtype.
template <at::Tensor (*F)(const at::Tensor&, const at::Tensor&)>
void binary(KernelContext& ctx) {
  const at::Tensor& a = ctx.input(0);
  const at::Tensor& b = ctx.input(1);
  checkBroadcastable(ctx, a, b);
  ctx.setOutput(0, F(a, b), ctx.inputType(0));
}

at::Tensor add(const at::Tensor& a, const at::Tensor& b) {
  return at::add(a, b);
}
at::Tensor sub(const at::Tensor& a, const at::Tensor& b) {
  return at::sub(a, b);
}
at::Tensor mul(const at::Tensor& a, const at::Tensor& b) {
  return at::mul(a, b);
}

void opDiv(KernelContext& ctx) {
  const at::Tensor& a = ctx.input(0);
  const at::Tensor& b = ctx.input(1);
  checkBroadcastable(ctx, a, b);
  // Integer division truncates toward zero in ONNX (C semantics).
  at::Tensor out = at::isFloatingType(a.scalar_type()) ? at::div(a, b) : at::div(a, b, "trunc");
  ctx.setOutput(0, out, ctx.inputType(0));
}

void opRelu(KernelContext& ctx) {
  ctx.setOutput(0, at::relu(ctx.input(0)), ctx.inputType(0));
}

void opMatMul(KernelContext& ctx) {
  ctx.setOutput(0, at::matmul(ctx.input(0), ctx.input(1)), ctx.inputType(0));
}

void opGemm(KernelContext& ctx) {
  at::Tensor a = ctx.input(0), b = ctx.input(1);
  if (ctx.attrInt("transA", 0)) a = a.t();
  if (ctx.attrInt("transB", 0)) b = b.t();
  float alpha = ctx.attrFloat("alpha", 1.0f), beta = ctx.attrFloat("beta", 1.0f);
  at::Tensor y;
  if (ctx.hasInput(2) && beta != 0) {
    at::Tensor c = ctx.input(2);
    y = at::addmm(c.expand({a.size(0), b.size(1)}), a, b, beta, alpha);
  } else {
    y = at::mm(a, b);
    if (alpha != 1.0f) y = y * alpha;
  }
  ctx.setOutput(0, y, ctx.inputType(0));
}

}  // namespace

void addMathKernels(KernelList& k) {
  k.push_back({"", "Add", binary<add>});
  k.push_back({"", "Sub", binary<sub>});
  k.push_back({"", "Mul", binary<mul>});
  k.push_back({"", "Div", opDiv});
  k.push_back({"", "Relu", opRelu});
  k.push_back({"", "MatMul", opMatMul});
  k.push_back({"", "Gemm", opGemm});
}

}  // namespace mopt::exec
