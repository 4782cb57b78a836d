// Tensor-manipulation kernels: reshapes, concatenation and splitting, gathers and scatters,
// slicing, padding, tiling and friends.
#include "exec/Runtime.h"

namespace mopt::exec {

namespace {

void opFlatten(KernelContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  int64_t axis = ctx.attrInt("axis", 1);
  if (axis < 0) axis += x.dim();
  if (axis < 0 || axis > x.dim())
    ctx.fail("axis {} is out of range for rank {}", ctx.attrInt("axis", 1), x.dim());
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= x.size(d);
  int64_t inner = outer == 0 ? 0 : x.numel() / std::max<int64_t>(outer, 1);
  ctx.setOutput(0, x.reshape({outer, inner}), ctx.inputType(0));
}

void opReshape(KernelContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  std::vector<int64_t> shape = ctx.inputInts(1);
  bool allowzero = ctx.attrInt("allowzero", 0) != 0;
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 0 && !allowzero) {
      if (static_cast<int64_t>(i) >= x.dim())
        ctx.fail("shape entry {} is 0 but the input has rank {}", i, x.dim());
      shape[i] = x.size(static_cast<int64_t>(i));
    }
  ctx.setOutput(0, x.reshape(shape), ctx.inputType(0));
}

}  // namespace

void addTensorKernels(KernelList& k) {
  k.push_back({"", "Flatten", opFlatten});
  k.push_back({"", "Reshape", opReshape});
}

}  // namespace mopt::exec
