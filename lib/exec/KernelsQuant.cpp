// Quantization kernels: QuantizeLinear/DequantizeLinear (per-tensor, per-axis, blocked),
// DynamicQuantizeLinear, integer matmul/conv, QLinear ops and com.microsoft MatMulNBits.
#include "exec/Runtime.h"

#include <cmath>

namespace mopt::exec {

namespace {

// Value range of a quantized type.
std::pair<double, double> quantRange(const KernelContext& ctx, DType t) {
  switch (t) {
    case DType::U8:
      return {0, 255};
    case DType::I8:
      return {-128, 127};
    case DType::U16:
      return {0, 65535};
    case DType::I16:
      return {-32768, 32767};
    case DType::U4:
      return {0, 15};
    case DType::I4:
      return {-8, 7};
    default:
      ctx.fail("{} is not a supported quantized type", dtypeName(t));
  }
}

// Shapes a scale or zero point to broadcast against x: one value (per tensor), a 1-D tensor
// along `axis` (per axis), or with block_size > 0 a tensor of x's rank whose entries each cover
// block_size consecutive elements along `axis` (blocked, opset 21).
at::Tensor quantParam(const KernelContext& ctx, const at::Tensor& p, const at::Tensor& x) {
  int64_t block = ctx.attrInt("block_size", 0);
  if (block > 0) {
    int64_t axis = normalizeAxis(ctx, ctx.attrInt("axis", 1), x.dim());
    if (p.dim() != x.dim() || p.size(axis) != (x.size(axis) + block - 1) / block)
      ctx.fail("blocked quantization parameters of shape {} do not match input {} with block {}",
               c10::str(p.sizes()), c10::str(x.sizes()), block);
    return p.repeat_interleave(block, axis).narrow(axis, 0, x.size(axis));
  }
  if (p.numel() == 1) return p.reshape({});
  int64_t axis = normalizeAxis(ctx, ctx.attrInt("axis", 1), x.dim());
  if (p.dim() != 1 || p.size(0) != x.size(axis))
    ctx.fail("quantization parameters of shape {} fit neither per-tensor nor axis {} of {}",
             c10::str(p.sizes()), axis, c10::str(x.sizes()));
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[static_cast<size_t>(axis)] = p.size(0);
  return p.view(shape);
}

// x / scale rounded half to even (at::round), plus the zero point, saturated. ONNX Runtime
// divides in float, so this does too.
void opQuantizeLinear(KernelContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  DType qtype = DType::U8;
  if (ctx.hasInput(2)) {
    qtype = ctx.inputType(2);
  } else if (ctx.hasAttr("output_dtype") && ctx.attrInt("output_dtype", 0) != 0) {
    auto t = dtypeFromOnnx(static_cast<int32_t>(ctx.attrInt("output_dtype", 0)));
    if (!t) ctx.fail("invalid output_dtype");
    qtype = *t;
  }
  auto [lo, hi] = quantRange(ctx, qtype);
  at::Tensor q = at::div(x.to(at::kFloat), quantParam(ctx, ctx.input(1).to(at::kFloat), x));
  q.round_();
  if (ctx.hasInput(2)) q.add_(quantParam(ctx, ctx.input(2).to(at::kFloat), x));
  ctx.setOutput(0, q.clamp_(lo, hi).to(atenType(qtype)), qtype);
}

// (x - zero_point) * scale, computed in float (exact for the quantized types) and returned in
// the scale's type.
void opDequantizeLinear(KernelContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  const at::Tensor& scale = ctx.input(1);
  at::Tensor y = x.to(at::kFloat, false, /*copy=*/true);  // updated in place below
  if (ctx.hasInput(2)) y.sub_(quantParam(ctx, ctx.input(2).to(at::kFloat), x));
  y.mul_(quantParam(ctx, scale.to(at::kFloat), x));
  ctx.setOutput(0, y.to(scale.scalar_type()), ctx.inputType(1));
}

// uint8 quantization over [min(x, 0), max(x, 0)]; the zero point is rounded half to even.
void opDynamicQuantizeLinear(KernelContext& ctx) {
  at::Tensor x = ctx.input(0).to(at::kFloat);
  float lo = 0, hi = 0;
  if (x.numel() > 0) {
    auto [mn, mx] = at::aminmax(x);
    lo = std::min(0.0f, mn.item<float>());
    hi = std::max(0.0f, mx.item<float>());
  }
  // An all-zero input has no range; any scale represents it, ONNX Runtime picks 1.
  float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
  float zp = std::nearbyint(std::clamp(0.0f - lo / scale, 0.0f, 255.0f));
  at::Tensor y = at::div(x, scale).round_().add_(zp).clamp_(0, 255).to(at::kByte);
  ctx.setOutput(0, y, DType::U8);
  ctx.setOutput(1, at::scalar_tensor(scale, at::kFloat), DType::F32);
  ctx.setOutput(2, at::scalar_tensor(static_cast<int64_t>(zp), at::kByte), DType::U8);
}

// --- integer products ----------------------------------------------------------------------------

constexpr double kExactFloat = 16777216.0;  // 2^24: float holds every integer below it

// x - zero_point in float; `zp_shape` reshapes a 1-D per-row/per-channel zero point.
at::Tensor centered(const at::Tensor& x, const at::Tensor* zp, c10::IntArrayRef zp_shape = {}) {
  at::Tensor v = x.to(at::kFloat);
  if (!zp || zp->numel() == 0) return v;
  at::Tensor z = zp->to(at::kFloat);
  if (!zp_shape.empty() && z.dim() == 1 && z.numel() > 1) z = z.reshape(zp_shape);
  return v - z;
}

const at::Tensor* optionalInput(const KernelContext& ctx, size_t i) {
  return ctx.hasInput(i) ? &ctx.input(i) : nullptr;
}

// Integer matrix product of float tensors holding integers. Float accumulation is exact while
// every partial sum stays below 2^24 (bounded by max|a| * the largest column sum of |b|), which
// is the common case; otherwise the product runs in double, exact to 2^53.
at::Tensor integerMatmul(const at::Tensor& a, const at::Tensor& b) {
  double bound = 0;
  if (a.numel() > 0 && b.numel() > 0)
    bound = a.abs().max().item<double>() *
            (b.dim() >= 2 ? b.abs().sum(-2) : b.abs().sum()).max().item<double>();
  if (bound < kExactFloat) return at::matmul(a, b);
  return at::matmul(a.to(at::kDouble), b.to(at::kDouble));
}

// The a zero point may be per row of a ([M], or shaped [..., M, 1]); the b one per column ([N]
// broadcasts by itself).
void opMatMulInteger(KernelContext& ctx) {
  const at::Tensor& a = ctx.input(0);
  at::Tensor ac = centered(a, optionalInput(ctx, 2), {a.dim() >= 2 ? a.size(-2) : 1, 1});
  at::Tensor bc = centered(ctx.input(1), optionalInput(ctx, 3));
  ctx.setOutput(0, integerMatmul(ac, bc).to(at::kInt), DType::I32);
}

// ConvInteger and QLinearConv have Conv's attributes: run the Conv kernel on the centered
// integer values.
at::Tensor integerConv(const KernelContext& ctx, const at::Tensor& x, const at::Tensor& w) {
  double bound = 0;
  if (x.numel() > 0 && w.numel() > 0)
    bound = x.abs().max().item<double>() * w.abs().flatten(1).sum(1).max().item<double>();
  at::ScalarType t = bound < kExactFloat ? at::kFloat : at::kDouble;
  RtValue xv = RtValue::fromTensor(x.to(t)), wv = RtValue::fromTensor(w.to(t));
  std::vector<RtValue> out(1);
  KernelContext conv(ctx.node(), ctx.opset(), {&xv, &wv}, out, nullptr);
  findKernel("", "Conv")(conv);
  return out[0].tensor;
}

std::vector<int64_t> perChannel(const at::Tensor& w) {
  std::vector<int64_t> s(static_cast<size_t>(w.dim()), 1);
  s[0] = w.size(0);
  return s;
}

void opConvInteger(KernelContext& ctx) {
  const at::Tensor& w = ctx.input(1);
  at::Tensor xc = centered(ctx.input(0), optionalInput(ctx, 2));
  at::Tensor wc = centered(w, optionalInput(ctx, 3), perChannel(w));
  ctx.setOutput(0, integerConv(ctx, xc, wc).to(at::kInt), DType::I32);
}

// Requantizes an int32 accumulator as ONNX Runtime does: float(acc) * float(a_scale * b_scale /
// y_scale), rounded half to even, plus the output zero point, saturated.
void requantize(KernelContext& ctx, const at::Tensor& acc, const at::Tensor& multiplier,
                size_t y_zp_index) {
  DType qtype = ctx.hasInput(y_zp_index) ? ctx.inputType(y_zp_index) : DType::U8;
  auto [lo, hi] = quantRange(ctx, qtype);
  at::Tensor y = at::mul(acc.to(at::kFloat), multiplier).round_();
  if (ctx.hasInput(y_zp_index)) y.add_(ctx.input(y_zp_index).to(at::kFloat));
  ctx.setOutput(0, y.clamp_(lo, hi).to(atenType(qtype)), qtype);
}

// A scale in float, a 1-D per-row/per-channel one reshaped to broadcast.
at::Tensor floatParam(const at::Tensor& t, c10::IntArrayRef shape) {
  at::Tensor f = t.to(at::kFloat);
  return f.dim() == 1 && f.numel() > 1 ? f.reshape(shape) : f;
}

void opQLinearConv(KernelContext& ctx) {
  const at::Tensor& w = ctx.input(3);
  at::Tensor xc = centered(ctx.input(0), optionalInput(ctx, 2));
  at::Tensor wc = centered(w, optionalInput(ctx, 5), perChannel(w));
  at::Tensor acc = integerConv(ctx, xc, wc).to(at::kDouble);
  std::vector<int64_t> channel(static_cast<size_t>(acc.dim()), 1);
  channel[1] = acc.size(1);
  if (ctx.hasInput(8)) acc = acc + ctx.input(8).to(at::kDouble).view(channel);
  at::Tensor multiplier =
      ctx.input(1).to(at::kFloat) * floatParam(ctx.input(4), channel) / ctx.input(6).to(at::kFloat);
  requantize(ctx, acc.to(at::kInt), multiplier, 7);
}

void opQLinearMatMul(KernelContext& ctx) {
  const at::Tensor& a = ctx.input(0);
  std::vector<int64_t> row = {a.dim() >= 2 ? a.size(-2) : 1, 1};
  at::Tensor ac = centered(a, optionalInput(ctx, 2), row);
  at::Tensor bc = centered(ctx.input(3), optionalInput(ctx, 5));
  at::Tensor acc = integerMatmul(ac, bc);
  at::Tensor multiplier =
      floatParam(ctx.input(1), row) * ctx.input(4).to(at::kFloat) / ctx.input(6).to(at::kFloat);
  requantize(ctx, acc.to(at::kInt), multiplier, 7);
}

// --- com.microsoft MatMulNBits -------------------------------------------------------------------

// Unpacks `bits`-bit values from the bytes of `packed` (lowest bits first) into a new last dim.
at::Tensor unpackBits(const at::Tensor& packed, int64_t bits) {
  int64_t per_byte = 8 / bits;
  at::Tensor shifts = at::arange(0, 8, bits, packed.options().dtype(at::kByte));
  at::Tensor v =
      at::bitwise_and(at::bitwise_right_shift(packed.unsqueeze(-1), shifts), (1 << bits) - 1);
  std::vector<int64_t> shape(packed.sizes().begin(), packed.sizes().end());
  shape.back() *= per_byte;
  return v.reshape(shape);
}

// Y = A @ dequantize(B)^T + bias. B is [N, k_blocks, blob] with block_size values of `bits` bits
// packed into each blob, low bits first; each block has a scale and a zero point (packed the
// same way per row of N, or given as floats; 2^(bits-1) by default). g_idx, when given, maps
// each k to its block.
void opMatMulNBits(KernelContext& ctx) {
  const at::Tensor& A = ctx.input(0);
  int64_t K = ctx.attrInt("K", 0), N = ctx.attrInt("N", 0), bits = ctx.attrInt("bits", 4);
  int64_t block = ctx.attrInt("block_size", 0);
  if (bits != 2 && bits != 4 && bits != 8) ctx.fail("bits={} is not supported", bits);
  if (K <= 0 || N <= 0 || block <= 0) ctx.fail("K, N and block_size must be positive");
  if (A.size(-1) != K) ctx.fail("A's last dim is {}, expected K={}", A.size(-1), K);
  int64_t blocks = (K + block - 1) / block;
  at::Tensor B = ctx.input(1);
  if (B.numel() != N * blocks * block * bits / 8)
    ctx.fail("B has {} bytes, expected {} for N={} K={} block_size={}", B.numel(),
             N * blocks * block * bits / 8, N, K, block);
  at::Tensor q = unpackBits(B.reshape({N, blocks, block * bits / 8}), bits).to(at::kFloat);
  at::Tensor scales = ctx.input(2).to(at::kFloat).reshape({N, blocks});
  at::Tensor zp;
  if (!ctx.hasInput(3)) {
    zp = at::full({N, blocks}, static_cast<double>(1 << (bits - 1)), q.options());
  } else if (ctx.input(3).scalar_type() == at::kByte) {
    zp = unpackBits(ctx.input(3).reshape({N, -1}), bits).narrow(1, 0, blocks).to(at::kFloat);
  } else {
    zp = ctx.input(3).to(at::kFloat).reshape({N, blocks});
  }
  at::Tensor w;
  if (ctx.hasInput(4)) {
    at::Tensor g = ctx.input(4).to(at::kLong).reshape({-1});
    if (g.numel() != K) ctx.fail("g_idx has {} entries, expected K={}", g.numel(), K);
    q = q.reshape({N, blocks * block}).narrow(1, 0, K);
    w = (q - zp.index_select(1, g)) * scales.index_select(1, g);
  } else {
    w = ((q - zp.unsqueeze(2)) * scales.unsqueeze(2)).reshape({N, blocks * block}).narrow(1, 0, K);
  }
  at::ScalarType type = A.scalar_type();
  at::Tensor Af = type == at::kHalf || type == at::kBFloat16 ? A.to(at::kFloat) : A;
  c10::optional<at::Tensor> bias;
  if (ctx.hasInput(5)) bias = ctx.input(5).to(Af.scalar_type());
  at::Tensor y = at::linear(Af, w.to(Af.scalar_type()), bias);
  ctx.setOutput(0, y.to(type), ctx.inputType(0));
}

// com.microsoft GatherBlockQuantized: Gather on a block-quantized table (embeddings), only the
// gathered rows dequantized. Data is uint8 with `bits`-bit codes packed along the last axis (the
// quantized one); scales (and packed zero points, default 2^(bits-1)) have one entry per block.
void opGatherBlockQuantized(KernelContext& ctx) {
  const at::Tensor& data = ctx.input(0);
  int64_t bits = ctx.attrInt("bits", 4), block = ctx.attrInt("block_size", 128);
  if (data.scalar_type() != at::kByte) ctx.fail("data must be uint8 (packed codes)");
  if (bits != 4 && bits != 8) ctx.fail("bits={} is not supported", bits);
  if (block <= 0) ctx.fail("block_size must be positive");
  if (data.dim() < 1) ctx.fail("data must have at least one dimension");
  int64_t qaxis = normalizeAxis(ctx, ctx.attrInt("quantize_axis", 1), data.dim());
  int64_t gaxis = normalizeAxis(ctx, ctx.attrInt("gather_axis", 0), data.dim());
  if (qaxis != data.dim() - 1 || gaxis == qaxis)
    ctx.fail("only quantize_axis = the last axis and gather_axis before it are supported");
  const at::Tensor& indices = ctx.input(1);
  if (indices.scalar_type() != at::kLong && indices.scalar_type() != at::kInt)
    ctx.fail("indices must be int32 or int64");
  int64_t n = data.size(gaxis);
  at::Tensor idx = indices.to(at::kLong).reshape({-1});
  if (idx.numel() > 0) {
    auto [lo, hi] = at::aminmax(idx);
    if (lo.item<int64_t>() < -n || hi.item<int64_t>() >= n)
      ctx.fail("an index is out of range for an axis of size {}", n);
    idx = at::where(idx < 0, idx + n, idx);
  }
  int64_t D = data.size(qaxis) * (8 / bits), blocks = (D + block - 1) / block;
  at::Tensor scales = ctx.input(2);
  if (scales.dim() != data.dim() || scales.size(qaxis) != blocks)
    ctx.fail("scales of shape {} do not match data {} with block_size {}", c10::str(scales.sizes()),
             c10::str(data.sizes()), block);
  at::Tensor q = unpackBits(data.index_select(gaxis, idx), bits).to(at::kFloat);
  at::Tensor s = scales.index_select(gaxis, idx).to(at::kFloat);
  at::Tensor zp;
  if (ctx.hasInput(3)) {
    at::Tensor z = ctx.input(3).index_select(gaxis, idx);
    if (z.scalar_type() != at::kByte) ctx.fail("zero_points must be uint8 (packed)");
    zp = unpackBits(z, bits).narrow(qaxis, 0, blocks).to(at::kFloat);
  } else {
    zp = at::full_like(s, static_cast<double>(1 << (bits - 1)));
  }
  auto expand = [&](const at::Tensor& p) {
    return p.repeat_interleave(block, qaxis).narrow(qaxis, 0, D);
  };
  at::Tensor out = (q - expand(zp)) * expand(s);
  std::vector<int64_t> shape(data.sizes().begin(), data.sizes().begin() + gaxis);
  shape.insert(shape.end(), indices.sizes().begin(), indices.sizes().end());
  shape.insert(shape.end(), data.sizes().begin() + gaxis + 1, data.sizes().end() - 1);
  shape.push_back(D);
  ctx.setOutput(0, out.reshape(shape).to(scales.scalar_type()), ctx.inputType(2));
}

}  // namespace

void addQuantKernels(KernelList& k) {
  k.push_back({"", "QuantizeLinear", opQuantizeLinear});
  k.push_back({"", "DequantizeLinear", opDequantizeLinear});
  k.push_back({"", "DynamicQuantizeLinear", opDynamicQuantizeLinear});
  k.push_back({"", "MatMulInteger", opMatMulInteger});
  k.push_back({"", "ConvInteger", opConvInteger});
  k.push_back({"", "QLinearConv", opQLinearConv});
  k.push_back({"", "QLinearMatMul", opQLinearMatMul});
  // ONNX Runtime's contrib forms, which take 16-bit types before opset 21 allows them.
  k.push_back({"com.microsoft", "QuantizeLinear", opQuantizeLinear});
  k.push_back({"com.microsoft", "DequantizeLinear", opDequantizeLinear});
  k.push_back({"com.microsoft", "MatMulNBits", opMatMulNBits});
  k.push_back({"com.microsoft", "GatherBlockQuantized", opGatherBlockQuantized});
}

}  // namespace mopt::exec
