// Neural-network kernels: convolutions, pooling, normalization, recurrent layers, resizing.
#include "exec/Runtime.h"

namespace mopt::exec {

namespace {

// ONNX pads are [x1_begin, x2_begin, ..., x1_end, x2_end, ...]; ATen takes one symmetric pad per
// spatial dim, so asymmetric pads are applied with an explicit constant pad first.
struct Padding {
  std::vector<int64_t> symmetric;
  std::vector<int64_t> explicit_pad;  // for at::constant_pad_nd (last dim first), empty if none
};

Padding convPadding(const KernelContext& ctx, const at::Tensor& x,
                    const std::vector<int64_t>& kernel, const std::vector<int64_t>& strides,
                    const std::vector<int64_t>& dilations) {
  size_t n = kernel.size();
  std::vector<int64_t> pads = ctx.attrInts("pads");
  std::string auto_pad = ctx.attrString("auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    pads.assign(2 * n, 0);
    for (size_t i = 0; i < n; ++i) {
      int64_t in = x.size(static_cast<int64_t>(i) + 2);
      int64_t out = (in + strides[i] - 1) / strides[i];
      int64_t total =
          std::max<int64_t>(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - in);
      int64_t small = total / 2, big = total - small;
      pads[i] = auto_pad == "SAME_UPPER" ? small : big;
      pads[i + n] = auto_pad == "SAME_UPPER" ? big : small;
    }
  } else if (auto_pad == "VALID" || pads.empty()) {
    pads.assign(2 * n, 0);
  }
  if (pads.size() != 2 * n) ctx.fail("pads has {} entries, expected {}", pads.size(), 2 * n);
  Padding p;
  bool symmetric = true;
  for (size_t i = 0; i < n; ++i)
    symmetric = symmetric && pads[i] == pads[i + n];
  if (symmetric) {
    p.symmetric.assign(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(n));
    return p;
  }
  p.symmetric.assign(n, 0);
  for (size_t i = n; i-- > 0;) {
    p.explicit_pad.push_back(pads[i]);
    p.explicit_pad.push_back(pads[i + n]);
  }
  return p;
}

void opConv(KernelContext& ctx) {
  at::Tensor x = ctx.input(0);
  const at::Tensor& w = ctx.input(1);
  size_t n = static_cast<size_t>(w.dim() - 2);
  std::vector<int64_t> kernel(w.sizes().begin() + 2, w.sizes().end());
  std::vector<int64_t> strides = ctx.attrInts("strides"), dilations = ctx.attrInts("dilations");
  if (strides.empty()) strides.assign(n, 1);
  if (dilations.empty()) dilations.assign(n, 1);
  Padding p = convPadding(ctx, x, kernel, strides, dilations);
  if (!p.explicit_pad.empty()) x = at::constant_pad_nd(x, p.explicit_pad, 0);
  c10::optional<at::Tensor> bias;
  if (ctx.hasInput(2)) bias = ctx.input(2);
  at::Tensor y = at::convolution(x, w, bias, strides, p.symmetric, dilations, false,
                                 std::vector<int64_t>(n, 0), ctx.attrInt("group", 1));
  ctx.setOutput(0, y, ctx.inputType(0));
}

void opBatchNormalization(KernelContext& ctx) {
  if (ctx.attrInt("training_mode", 0))
    ctx.fail("BatchNormalization in training mode is not supported");
  at::Tensor y = at::batch_norm(ctx.input(0), ctx.input(1), ctx.input(2), ctx.input(3),
                                ctx.input(4), false, 0.0, ctx.attrFloat("epsilon", 1e-5f), false);
  ctx.setOutput(0, y, ctx.inputType(0));
}

void opMaxPool(KernelContext& ctx) {
  at::Tensor x = ctx.input(0);
  std::vector<int64_t> kernel = ctx.attrInts("kernel_shape");
  size_t n = kernel.size();
  std::vector<int64_t> strides = ctx.attrInts("strides"), dilations = ctx.attrInts("dilations");
  if (strides.empty()) strides.assign(n, 1);
  if (dilations.empty()) dilations.assign(n, 1);
  Padding p = convPadding(ctx, x, kernel, strides, dilations);
  if (!p.explicit_pad.empty())
    x = at::constant_pad_nd(x, p.explicit_pad, -std::numeric_limits<double>::infinity());
  bool ceil = ctx.attrInt("ceil_mode", 0) != 0;
  at::Tensor y;
  if (n == 1)
    y = at::max_pool1d(x, kernel, strides, p.symmetric, dilations, ceil);
  else if (n == 2)
    y = at::max_pool2d(x, kernel, strides, p.symmetric, dilations, ceil);
  else if (n == 3)
    y = at::max_pool3d(x, kernel, strides, p.symmetric, dilations, ceil);
  else
    ctx.fail("MaxPool over {} dimensions is not supported", n);
  ctx.setOutput(0, y, ctx.inputType(0));
}

}  // namespace

void addNNKernels(KernelList& k) {
  k.push_back({"", "Conv", opConv});
  k.push_back({"", "BatchNormalization", opBatchNormalization});
  k.push_back({"", "MaxPool", opMaxPool});
}

}  // namespace mopt::exec
