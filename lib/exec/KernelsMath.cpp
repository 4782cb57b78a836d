// Math kernels: elementwise arithmetic, activations, comparisons and logic, reductions, matrix
// products, softmax and losses, and signal processing (windows, DFT, STFT, mel filter banks).
#include "exec/Runtime.h"
#include "ir/TensorUtil.h"

#include <ATen/core/Reduction.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace mopt::exec {

namespace {

// --- helpers -------------------------------------------------------------------------------------

bool isUnsigned(DType t) {
  return t == DType::U8 || t == DType::U16 || t == DType::U32 || t == DType::U64;
}

// ATen's CPU kernels mostly lack float16 (and a few bfloat16): those are computed in float32 and
// rounded back by emit().
at::Tensor widen(const at::Tensor& t) {
  at::ScalarType s = t.scalar_type();
  return s == at::kHalf || s == at::kBFloat16 ? t.to(at::kFloat) : t;
}

// Sets output i as ONNX type `dt`: converts to its ATen storage type and wraps the unsigned types
// stored wider than they are to their real width (arithmetic on them may carry past it).
void emit(KernelContext& ctx, size_t i, at::Tensor t, DType dt) {
  at::ScalarType st = atenType(dt);
  if (t.scalar_type() != st) t = t.to(st);
  if (dt == DType::U16) t = at::bitwise_and(t, 0xFFFF);
  if (dt == DType::U32) t = at::bitwise_and(t, int64_t{0xFFFFFFFF});
  ctx.setOutput(i, std::move(t), dt);
}

// The largest and smallest values of an ONNX integer type, as stored (uint64's maximum is the
// all-ones int64, -1); +-inf for floating types.
at::Scalar typeMax(DType t) {
  switch (t) {
    case DType::U8:
      return 255;
    case DType::U16:
      return 65535;
    case DType::U32:
      return int64_t{0xFFFFFFFF};
    case DType::U64:
      return int64_t{-1};
    case DType::I8:
      return std::numeric_limits<int8_t>::max();
    case DType::I16:
      return std::numeric_limits<int16_t>::max();
    case DType::I32:
      return std::numeric_limits<int32_t>::max();
    case DType::I64:
      return std::numeric_limits<int64_t>::max();
    default:
      return std::numeric_limits<double>::infinity();
  }
}

at::Scalar typeLowest(DType t) {
  switch (t) {
    case DType::U8:
    case DType::U16:
    case DType::U32:
    case DType::U64:
      return 0;
    case DType::I8:
      return std::numeric_limits<int8_t>::lowest();
    case DType::I16:
      return std::numeric_limits<int16_t>::lowest();
    case DType::I32:
      return std::numeric_limits<int32_t>::lowest();
    case DType::I64:
      return std::numeric_limits<int64_t>::lowest();
    default:
      return -std::numeric_limits<double>::infinity();
  }
}

// The single value of an input that must hold one (e.g. Clip's bounds), keeping its type.
at::Scalar scalarInput(const KernelContext& ctx, size_t i) {
  const at::Tensor& t = ctx.input(i);
  if (t.numel() != 1) ctx.fail("input {} must hold one value, it has {}", i, t.numel());
  return t.item();
}

// The output_datatype attribute of the generator ops (default float).
DType outputDatatype(const KernelContext& ctx) {
  int64_t code = ctx.attrInt("output_datatype", 1);
  auto dt = dtypeFromOnnx(static_cast<int32_t>(code));
  if (!dt || !atenCanHold(*dt) || !isNumeric(*dt))
    ctx.fail("output_datatype {} is not supported", code);
  return *dt;
}

// --- elementwise arithmetic ----------------------------------------------------------------------

// Binary ops with ONNX (numpy) broadcasting; the output keeps the inputs' ONNX dtype.
template <at::Tensor (*F)(const at::Tensor&, const at::Tensor&)>
void binary(KernelContext& ctx) {
  const at::Tensor& a = ctx.input(0);
  const at::Tensor& b = ctx.input(1);
  checkBroadcastable(ctx, a, b);
  emit(ctx, 0, F(a, b), ctx.inputType(0));
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
at::Tensor div(const at::Tensor& a, const at::Tensor& b) {
  // Integer division truncates toward zero in ONNX (C semantics).
  return at::isFloatingType(a.scalar_type()) ? at::div(a, b) : at::div(a, b, "trunc");
}

void opMod(KernelContext& ctx) {
  const at::Tensor& a = ctx.input(0);
  const at::Tensor& b = ctx.input(1);
  checkBroadcastable(ctx, a, b);
  // fmod=1: C fmod, the sign of the dividend; fmod=0: the sign of the divisor (Python's %).
  at::Tensor r = ctx.attrInt("fmod", 0) ? at::fmod(a, b) : at::remainder(a, b);
  emit(ctx, 0, r, ctx.inputType(0));
}

void opPow(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  const at::Tensor& y = ctx.input(1);
  checkBroadcastable(ctx, x, y);
  // A single exponent goes through ATen's scalar overload, which has fast paths for the usual
  // exponents (2, 0.5, -1, ...). Mixed types promote as in numpy; the result has the base's type.
  at::Tensor r = y.numel() == 1 && y.dim() <= x.dim() ? at::pow(x, y.item()) : at::pow(x, y);
  emit(ctx, 0, r, ctx.inputType(0));
}

template <at::Tensor (*F)(const at::Tensor&, const at::Tensor&)>
at::Tensor foldInputs(KernelContext& ctx) {
  if (ctx.numInputs() == 0) ctx.fail("the operator needs at least one input");
  at::Tensor acc = ctx.input(0);
  for (size_t i = 1; i < ctx.numInputs(); ++i) {
    checkBroadcastable(ctx, acc, ctx.input(i));
    acc = F(acc, ctx.input(i));
  }
  return acc;
}

// Variadic Sum/Max/Min with broadcasting; one input is passed through.
template <at::Tensor (*F)(const at::Tensor&, const at::Tensor&)>
void variadic(KernelContext& ctx) {
  emit(ctx, 0, foldInputs<F>(ctx), ctx.inputType(0));
}

at::Tensor maximum(const at::Tensor& a, const at::Tensor& b) {
  return at::maximum(a, b);
}
at::Tensor minimum(const at::Tensor& a, const at::Tensor& b) {
  return at::minimum(a, b);
}

void opMean(KernelContext& ctx) {
  at::Tensor sum = foldInputs<add>(ctx);
  emit(ctx, 0, at::div(sum, static_cast<int64_t>(ctx.numInputs())), ctx.inputType(0));
}

// --- elementwise unary ops and activations -------------------------------------------------------

template <at::Tensor (*F)(const at::Tensor&)>
void unary(KernelContext& ctx) {
  emit(ctx, 0, F(widen(ctx.input(0))), ctx.inputType(0));
}

// Abs, Relu and Sign of unsigned values: uint64 values >= 2^63 are negative in their int64 storage,
// so those ops must not look at the sign bit.
void opAbs(KernelContext& ctx) {
  if (isUnsigned(ctx.inputType(0))) return ctx.setOutputValue(0, ctx.value(0));
  emit(ctx, 0, at::abs(widen(ctx.input(0))), ctx.inputType(0));
}

void opRelu(KernelContext& ctx) {
  if (isUnsigned(ctx.inputType(0))) return ctx.setOutputValue(0, ctx.value(0));
  emit(ctx, 0, at::relu(widen(ctx.input(0))), ctx.inputType(0));
}

void opSign(KernelContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  at::Tensor r = isUnsigned(ctx.inputType(0)) ? at::ne(x, 0) : at::sign(widen(x));
  emit(ctx, 0, r, ctx.inputType(0));
}

void opNeg(KernelContext& ctx) {
  emit(ctx, 0, at::neg(ctx.input(0)), ctx.inputType(0));
}

void opClip(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  c10::optional<at::Scalar> lo, hi;
  if (ctx.opset() < 11) {
    lo = ctx.attrFloat("min", std::numeric_limits<float>::lowest());
    hi = ctx.attrFloat("max", std::numeric_limits<float>::max());
  } else {
    if (ctx.hasInput(1)) lo = scalarInput(ctx, 1);
    if (ctx.hasInput(2)) hi = scalarInput(ctx, 2);
  }
  // at::clamp sets everything to max when min > max, as ONNX specifies.
  emit(ctx, 0, lo || hi ? at::clamp(x, lo, hi) : x, ctx.inputType(0));
}

void opRound(KernelContext& ctx) {
  // at::round rounds halves to even, as ONNX does.
  emit(ctx, 0, at::round(widen(ctx.input(0))), ctx.inputType(0));
}

void opCelu(KernelContext& ctx) {
  emit(ctx, 0, at::celu(widen(ctx.input(0)), ctx.attrFloat("alpha", 1.0f)), ctx.inputType(0));
}

void opElu(KernelContext& ctx) {
  emit(ctx, 0, at::elu(widen(ctx.input(0)), ctx.attrFloat("alpha", 1.0f)), ctx.inputType(0));
}

void opSelu(KernelContext& ctx) {
  float alpha = ctx.attrFloat("alpha", 1.67326319217681884765625f);
  float gamma = ctx.attrFloat("gamma", 1.05070102214813232421875f);
  emit(ctx, 0, at::elu(widen(ctx.input(0)), alpha, gamma), ctx.inputType(0));
}

void opHardSigmoid(KernelContext& ctx) {
  float alpha = ctx.attrFloat("alpha", 0.2f), beta = ctx.attrFloat("beta", 0.5f);
  at::Tensor y = at::mul(widen(ctx.input(0)), alpha);
  emit(ctx, 0, y.add_(beta).clamp_(0, 1), ctx.inputType(0));
}

void opHardSwish(KernelContext& ctx) {
  // ONNX's x * HardSigmoid(x; 1/6, 0.5) is ATen's x * relu6(x + 3) / 6.
  emit(ctx, 0, at::hardswish(widen(ctx.input(0))), ctx.inputType(0));
}

void opLeakyRelu(KernelContext& ctx) {
  emit(ctx, 0, at::leaky_relu(widen(ctx.input(0)), ctx.attrFloat("alpha", 0.01f)),
       ctx.inputType(0));
}

void opPRelu(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  at::Tensor slope = widen(ctx.input(1));
  // Before opset 7 a 1-D slope holds one value per channel (axis 1), not per last-axis element.
  if (ctx.opset() < 7 && slope.dim() == 1 && x.dim() > 2 && slope.size(0) == x.size(1)) {
    std::vector<int64_t> shape(static_cast<size_t>(x.dim() - 1), 1);
    shape[0] = slope.size(0);
    slope = slope.reshape(shape);
  }
  checkBroadcastable(ctx, x, slope);
  emit(ctx, 0, at::where(at::lt(x, 0), at::mul(x, slope), x), ctx.inputType(0));
}

void opThresholdedRelu(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  emit(ctx, 0, at::where(at::gt(x, ctx.attrFloat("alpha", 1.0f)), x, at::zeros({}, x.options())),
       ctx.inputType(0));
}

void opSoftplus(KernelContext& ctx) {
  // ATen is linear past beta*x > 20, where log1p(exp(x)) equals x in float precision.
  emit(ctx, 0, at::softplus(widen(ctx.input(0)), 1, 20), ctx.inputType(0));
}

void opSoftsign(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  emit(ctx, 0, at::div(x, at::abs(x).add_(1)), ctx.inputType(0));
}

void opShrink(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  double lambd = ctx.attrFloat("lambd", 0.5f), bias = ctx.attrFloat("bias", 0.0f);
  at::Tensor zero = at::zeros({}, x.options());
  at::Tensor y = at::where(at::lt(x, -lambd), at::add(x, bias),
                           at::where(at::gt(x, lambd), at::sub(x, bias), zero));
  emit(ctx, 0, y, ctx.inputType(0));
}

void opIsInf(KernelContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  bool neg = ctx.attrInt("detect_negative", 1), pos = ctx.attrInt("detect_positive", 1);
  at::Tensor y = neg && pos ? at::isinf(x)
                 : neg      ? at::isneginf(x)
                 : pos      ? at::isposinf(x)
                            : at::zeros(x.sizes(), at::kBool);
  ctx.setOutput(0, y, DType::Bool);
}

void opIsNaN(KernelContext& ctx) {
  ctx.setOutput(0, at::isnan(ctx.input(0)), DType::Bool);
}

// --- comparisons and logic -----------------------------------------------------------------------

template <at::Tensor (*F)(const at::Tensor&, const at::Tensor&)>
void predicate(KernelContext& ctx) {
  const at::Tensor& a = ctx.input(0);
  const at::Tensor& b = ctx.input(1);
  checkBroadcastable(ctx, a, b);
  ctx.setOutput(0, F(a, b), DType::Bool);
}

at::Tensor eq(const at::Tensor& a, const at::Tensor& b) {
  return at::eq(a, b);
}
at::Tensor gt(const at::Tensor& a, const at::Tensor& b) {
  return at::gt(a, b);
}
at::Tensor ge(const at::Tensor& a, const at::Tensor& b) {
  return at::ge(a, b);
}
at::Tensor lt(const at::Tensor& a, const at::Tensor& b) {
  return at::lt(a, b);
}
at::Tensor le(const at::Tensor& a, const at::Tensor& b) {
  return at::le(a, b);
}
at::Tensor logicalAnd(const at::Tensor& a, const at::Tensor& b) {
  return at::logical_and(a, b);
}
at::Tensor logicalOr(const at::Tensor& a, const at::Tensor& b) {
  return at::logical_or(a, b);
}
at::Tensor logicalXor(const at::Tensor& a, const at::Tensor& b) {
  return at::logical_xor(a, b);
}

void opNot(KernelContext& ctx) {
  ctx.setOutput(0, at::logical_not(ctx.input(0)), DType::Bool);
}

void opWhere(KernelContext& ctx) {
  at::Tensor c = ctx.input(0);
  const at::Tensor& x = ctx.input(1);
  const at::Tensor& y = ctx.input(2);
  checkBroadcastable(ctx, x, y);
  checkBroadcastable(ctx, c, x);
  checkBroadcastable(ctx, c, y);
  if (c.scalar_type() != at::kBool) c = c.to(at::kBool);
  emit(ctx, 0, at::where(c, x, y), ctx.inputType(1));
}

// BitShift is defined on unsigned types only. Shifting by the type's width or more gives 0 (C++
// leaves it undefined); uint64 (stored in int64) needs a logical right shift.
void opBitShift(KernelContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  const at::Tensor& s = ctx.input(1);
  checkBroadcastable(ctx, x, s);
  DType dt = ctx.inputType(0);
  if (!isUnsigned(dt)) ctx.fail("BitShift is defined on unsigned integers, not {}", dtypeName(dt));
  std::string dir = ctx.attrString("direction", "");
  at::Tensor y;
  if (dir == "LEFT") {
    y = at::bitwise_left_shift(x, s);
  } else if (dir == "RIGHT") {
    if (dt == DType::U64) {
      at::Tensor half =
          at::bitwise_and(at::bitwise_right_shift(x, 1), std::numeric_limits<int64_t>::max());
      y = at::where(at::eq(s, 0), x, at::bitwise_right_shift(half, at::clamp_min(s - 1, 0)));
    } else {
      y = at::bitwise_right_shift(x, s);
    }
  } else {
    ctx.fail("BitShift direction must be LEFT or RIGHT, got '{}'", dir);
  }
  y = at::where(at::ge(s, dtypeBits(dt)), at::zeros({}, y.options()), y);
  emit(ctx, 0, y, dt);
}

// --- softmax family ------------------------------------------------------------------------------

at::Tensor hardmax(const at::Tensor& x, int64_t dim) {
  return at::zeros_like(x).scatter_(dim, at::argmax(x, dim, true), 1);
}
at::Tensor softmax(const at::Tensor& x, int64_t dim) {
  return at::softmax(x, dim);
}
at::Tensor logSoftmax(const at::Tensor& x, int64_t dim) {
  return at::log_softmax(x, dim);
}

// Before opset 13 these ops flatten the input to 2-D at `axis` (default 1) and normalize each
// row; from 13 they work along `axis` (default -1).
template <at::Tensor (*F)(const at::Tensor&, int64_t)>
void softmaxOp(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  int64_t r = x.dim();
  at::Tensor y;
  if (ctx.opset() >= 13) {
    y = F(x, normalizeAxis(ctx, ctx.attrInt("axis", -1), r));
  } else {
    int64_t axis = normalizeAxis(ctx, ctx.attrInt("axis", 1), r);
    int64_t rows = 1;
    for (int64_t i = 0; i < axis; ++i)
      rows *= x.size(i);
    int64_t cols = rows ? x.numel() / rows : 0;
    y = F(x.reshape({rows, cols}), 1).reshape(x.sizes());
  }
  emit(ctx, 0, y, ctx.inputType(0));
}

// --- reductions ----------------------------------------------------------------------------------

enum class Red { Sum, SumSquare, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp };

// The axes a Reduce* node reduces, normalized, sorted and unique. They are an attribute before
// opset `axes_input_since` (13 for ReduceSum, 18 for the others) and an optional input from it.
// No axes means all of them, unless noop_with_empty_axes is set: then the result is empty and each
// element is reduced alone.
std::vector<int64_t> reduceDims(const KernelContext& ctx, int64_t axes_input_since, int64_t rank) {
  std::vector<int64_t> axes;
  if (ctx.opset() >= axes_input_since) {
    if (ctx.hasInput(1)) axes = ctx.inputInts(1);
  } else {
    axes = ctx.attrInts("axes");
  }
  if (axes.empty()) {
    if (ctx.attrInt("noop_with_empty_axes", 0)) return {};
    axes.resize(static_cast<size_t>(rank));
    std::iota(axes.begin(), axes.end(), 0);
  }
  for (int64_t& a : axes)
    a = normalizeAxis(ctx, a, rank);
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  if (rank == 0) axes.clear();
  return axes;
}

// The reduction of a single element (no axes reduced).
at::Tensor reduceNothing(Red op, const at::Tensor& x) {
  switch (op) {
    case Red::SumSquare:
      return at::mul(x, x);
    case Red::L1:
    case Red::L2:
      return at::abs(x);
    case Red::LogSum:
      return at::log(x);
    default:
      return x;
  }
}

// The reduction of an empty set, for inputs with no elements.
at::Scalar reduceIdentity(Red op, DType dt) {
  switch (op) {
    case Red::Prod:
      return 1;
    case Red::Mean:
      return std::numeric_limits<double>::quiet_NaN();
    case Red::Max:
      return typeLowest(dt);
    case Red::Min:
      return typeMax(dt);
    case Red::LogSum:
    case Red::LogSumExp:
      return -std::numeric_limits<double>::infinity();
    default:
      return 0;
  }
}

at::Tensor reduce(Red op, const at::Tensor& x, const std::vector<int64_t>& dims, bool keep) {
  at::ScalarType st = x.scalar_type();
  bool fp = at::isFloatingType(st);
  switch (op) {
    case Red::Sum:
      return at::sum(x, dims, keep, st);
    case Red::SumSquare:
      return at::sum(at::mul(x, x), dims, keep, st);
    case Red::Mean: {
      if (fp) return at::mean(x, dims, keep);
      // Integer means truncate, like numpy's mean cast back to the input type.
      int64_t count = 1;
      for (int64_t d : dims)
        count *= x.size(d);
      return at::sum(x, dims, keep, at::kDouble).div_(count);
    }
    case Red::Max:
      return at::amax(x, dims, keep);
    case Red::Min:
      return at::amin(x, dims, keep);
    case Red::Prod: {
      // at::prod takes one dim at a time; going from the last keeps the others' indices valid.
      at::Tensor y = x;
      for (auto it = dims.rbegin(); it != dims.rend(); ++it)
        y = at::prod(y, *it, keep, st);
      return y;
    }
    case Red::L1:
      return fp ? at::linalg_vector_norm(x, 1, dims, keep) : at::sum(at::abs(x), dims, keep, st);
    case Red::L2:
      return fp ? at::linalg_vector_norm(x, 2, dims, keep)
                : at::sum(at::mul(x, x), dims, keep, at::kLong).to(at::kDouble).sqrt_();
    case Red::LogSum:
      return at::log(at::sum(x, dims, keep, st));
    case Red::LogSumExp:
      return at::logsumexp(fp ? x : x.to(at::kDouble), dims, keep);
  }
  return x;
}

template <Red Op, int64_t AxesInputSince>
void reduceOp(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  DType dt = ctx.inputType(0);
  std::vector<int64_t> dims = reduceDims(ctx, AxesInputSince, x.dim());
  bool keep = ctx.attrInt("keepdims", 1) != 0;
  if (dims.empty()) return emit(ctx, 0, reduceNothing(Op, x), dt);
  if (x.numel() == 0) {
    std::vector<int64_t> shape;
    for (int64_t i = 0; i < x.dim(); ++i) {
      bool reduced = std::binary_search(dims.begin(), dims.end(), i);
      if (!reduced)
        shape.push_back(x.size(i));
      else if (keep)
        shape.push_back(1);
    }
    at::Scalar v = reduceIdentity(Op, dt);
    bool as_double = v.isFloatingPoint() && !at::isFloatingType(x.scalar_type());
    return emit(ctx, 0,
                at::full(shape, v, as_double ? x.options().dtype(at::kDouble) : x.options()), dt);
  }
  emit(ctx, 0, reduce(Op, x, dims, keep), dt);
}

template <bool Max>
void argReduce(KernelContext& ctx) {
  at::Tensor x = ctx.input(0);
  if (x.scalar_type() == at::kBool) x = x.to(at::kByte);
  int64_t axis = normalizeAxis(ctx, ctx.attrInt("axis", 0), x.dim());
  bool keep = ctx.attrInt("keepdims", 1) != 0;
  at::Tensor idx;
  if (ctx.attrInt("select_last_index", 0)) {
    // The first extreme of the reversed axis is the last one of the original.
    at::Tensor flipped = x.flip(axis);
    idx = Max ? at::argmax(flipped, axis, keep) : at::argmin(flipped, axis, keep);
    idx = at::rsub(idx, x.dim() ? x.size(axis) - 1 : 0);
  } else {
    idx = Max ? at::argmax(x, axis, keep) : at::argmin(x, axis, keep);
  }
  ctx.setOutput(0, idx, DType::I64);
}

void opCumSum(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  std::vector<int64_t> axes = ctx.inputInts(1);
  if (axes.size() != 1) ctx.fail("CumSum axis must hold one value, it has {}", axes.size());
  int64_t axis = normalizeAxis(ctx, axes[0], x.dim());
  bool reverse = ctx.attrInt("reverse", 0), exclusive = ctx.attrInt("exclusive", 0);
  if (x.dim() == 0) return emit(ctx, 0, exclusive ? at::zeros_like(x) : x, ctx.inputType(0));
  if (reverse) x = x.flip(axis);
  at::Tensor y = at::cumsum(x, axis, x.scalar_type());
  int64_t n = x.size(axis);
  if (exclusive && n > 0)
    y = at::cat({at::zeros_like(y.narrow(axis, 0, 1)), y.narrow(axis, 0, n - 1)}, axis);
  if (reverse) y = y.flip(axis);
  emit(ctx, 0, y, ctx.inputType(0));
}

void opMeanVarianceNormalization(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  std::vector<int64_t> axes =
      ctx.hasAttr("axes") ? ctx.attrInts("axes") : std::vector<int64_t>{0, 2, 3};
  for (int64_t& a : axes)
    a = normalizeAxis(ctx, a, x.dim());
  auto [var, mean] = at::var_mean(x, axes, /*unbiased=*/false, /*keepdim=*/true);
  // ONNX divides by the standard deviation plus 1e-9.
  emit(ctx, 0, at::sub(x, mean).div_(var.sqrt_().add_(1e-9)), ctx.inputType(0));
}

// --- matrix products -----------------------------------------------------------------------------

void opMatMul(KernelContext& ctx) {
  const at::Tensor& a = ctx.input(0);
  const at::Tensor& b = ctx.input(1);
  if (a.dim() == 0 || b.dim() == 0) ctx.fail("MatMul inputs must have rank 1 or more");
  emit(ctx, 0, at::matmul(widen(a), widen(b)), ctx.inputType(0));
}

void opGemm(KernelContext& ctx) {
  at::Tensor a = widen(ctx.input(0)), b = widen(ctx.input(1));
  if (a.dim() != 2 || b.dim() != 2)
    ctx.fail("Gemm inputs must be matrices, got ranks {} and {}", a.dim(), b.dim());
  if (ctx.attrInt("transA", 0)) a = a.t();
  if (ctx.attrInt("transB", 0)) b = b.t();
  if (a.size(1) != b.size(0))
    ctx.fail("Gemm: A is {}x{} but B is {}x{}", a.size(0), a.size(1), b.size(0), b.size(1));
  double alpha = ctx.attrFloat("alpha", 1.0f), beta = ctx.attrFloat("beta", 1.0f);
  bool with_c = ctx.hasInput(2) && beta != 0;
  at::Tensor y;
  if (with_c && at::isFloatingType(a.scalar_type())) {
    // C broadcasts (unidirectionally) to M x N inside addmm.
    at::Tensor c = widen(ctx.input(2));
    if (c.scalar_type() != a.scalar_type()) c = c.to(a.scalar_type());
    y = at::addmm(c, a, b, beta, alpha);
  } else {
    // Integer Gemm (ATen takes no float alpha/beta there), or no C.
    y = at::mm(a, b);
    if (alpha != 1) y = at::mul(y, alpha);
    if (with_c) y = at::add(y, beta == 1 ? ctx.input(2) : at::mul(ctx.input(2), beta));
  }
  emit(ctx, 0, y, ctx.inputType(0));
}

void opEinsum(KernelContext& ctx) {
  std::string eq = ctx.attrString("equation", "");
  eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
  std::vector<at::Tensor> ins;
  for (size_t i = 0; i < ctx.numInputs(); ++i)
    ins.push_back(widen(ctx.input(i)));
  emit(ctx, 0, at::einsum(eq, ins), ctx.inputType(0));
}

void opDet(KernelContext& ctx) {
  emit(ctx, 0, at::linalg_det(widen(ctx.input(0))), ctx.inputType(0));
}

// --- losses --------------------------------------------------------------------------------------

int64_t reductionMode(const KernelContext& ctx) {
  std::string r = ctx.attrString("reduction", "mean");
  if (r == "none") return at::Reduction::None;
  if (r == "sum") return at::Reduction::Sum;
  if (r == "mean") return at::Reduction::Mean;
  ctx.fail("reduction must be none, sum or mean, got '{}'", r);
}

// ATen's nll_loss has ONNX's semantics: the weighted mean divides by the total weight of the
// targets that are not ignored.
at::Tensor nllLoss(const KernelContext& ctx, const at::Tensor& log_prob) {
  if (log_prob.dim() < 2) ctx.fail("the input must have shape [N, C, ...]");
  at::Tensor target = ctx.input(1).to(at::kLong);
  c10::optional<at::Tensor> weight;
  if (ctx.hasInput(2)) weight = ctx.input(2).to(log_prob.scalar_type());
  // Without ignore_index no target is ignored: pass a value no valid class index can equal.
  int64_t ignore = ctx.attrInt("ignore_index", std::numeric_limits<int64_t>::min());
  return at::nll_loss_nd(log_prob, target, weight, reductionMode(ctx), ignore);
}

void opNegativeLogLikelihoodLoss(KernelContext& ctx) {
  emit(ctx, 0, nllLoss(ctx, widen(ctx.input(0))), ctx.inputType(0));
}

void opSoftmaxCrossEntropyLoss(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  if (x.dim() < 2) ctx.fail("the input must have shape [N, C, ...]");
  at::Tensor log_prob = at::log_softmax(x, 1);
  emit(ctx, 0, nllLoss(ctx, log_prob), ctx.inputType(0));
  if (ctx.wantsOutput(1)) emit(ctx, 1, log_prob, ctx.inputType(0));
}

// --- signal processing ---------------------------------------------------------------------------

// Signals carry a trailing dimension of 1 (real) or 2 (real, imaginary); this gives the real or
// complex ATen tensor without it.
at::Tensor signalOf(const KernelContext& ctx, const at::Tensor& x) {
  if (x.dim() < 2) ctx.fail("the signal must have rank 2 or more, got {}", x.dim());
  int64_t parts = x.size(-1);
  if (parts == 1) return x.squeeze(-1);
  if (parts == 2) return at::view_as_complex(x.contiguous());
  ctx.fail("the signal's last dimension must be 1 (real) or 2 (complex), got {}", parts);
}

void opDFT(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  int64_t r = x.dim();
  // The axis is an attribute (default 1) before opset 20, an optional input (default -2) from it.
  int64_t axis = ctx.opset() < 20  ? ctx.attrInt("axis", 1)
                 : ctx.hasInput(2) ? ctx.inputInts(2).at(0)
                                   : -2;
  int64_t a = axis < 0 ? axis + r : axis;
  if (a < 0 || a > r - 2) ctx.fail("axis {} is out of range for a signal of rank {}", axis, r);
  bool inverse = ctx.attrInt("inverse", 0), onesided = ctx.attrInt("onesided", 0);
  if (inverse && onesided) ctx.fail("an inverse one-sided DFT is not supported");
  at::Tensor sig = signalOf(ctx, x);
  c10::optional<int64_t> n;
  if (ctx.hasInput(1)) n = static_cast<int64_t>(ctx.inputScalar(1));
  at::Tensor y;
  if (inverse) {
    y = at::fft_ifft(sig, n, a);
  } else if (onesided && !sig.is_complex()) {
    y = at::fft_rfft(sig, n, a);
  } else {
    y = at::fft_fft(sig, n, a);
    if (onesided) y = y.narrow(a, 0, y.size(a) / 2 + 1);
  }
  emit(ctx, 0, at::view_as_real(y), ctx.inputType(0));
}

void opSTFT(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  if (x.dim() != 3) ctx.fail("the signal must have shape [batch, length, 1 or 2]");
  at::Tensor sig = signalOf(ctx, x);
  auto step = static_cast<int64_t>(ctx.inputScalar(1));
  c10::optional<at::Tensor> window;
  if (ctx.hasInput(2)) window = widen(ctx.input(2));
  int64_t n = ctx.hasInput(3) ? static_cast<int64_t>(ctx.inputScalar(3))
              : window        ? window->numel()
                              : 0;
  if (n <= 0) ctx.fail("STFT needs a window or a frame_length");
  if (window && (window->dim() != 1 || window->numel() != n))
    ctx.fail("the window has shape {}, expected [{}]", c10::str(window->sizes()), n);
  if (step <= 0) ctx.fail("frame_step must be positive, got {}", step);
  if (sig.size(1) < n) ctx.fail("the signal is shorter ({}) than a frame ({})", sig.size(1), n);
  at::Tensor frames = sig.unfold(1, n, step);  // [batch, frames, n]
  if (window) frames = at::mul(frames, window->to(x.scalar_type()));
  bool onesided = ctx.attrInt("onesided", 1);
  at::Tensor y;
  if (onesided && !frames.is_complex()) {
    y = at::fft_rfft(frames, n, -1);
  } else {
    y = at::fft_fft(frames, n, -1);
    if (onesided) y = y.narrow(-1, 0, n / 2 + 1);
  }
  emit(ctx, 0, at::view_as_real(y), ctx.inputType(0));
}

int64_t windowSize(const KernelContext& ctx) {
  auto size = static_cast<int64_t>(ctx.inputScalar(0));
  if (size < 0) ctx.fail("the window size must not be negative, got {}", size);
  return size;
}

// ATen's windows follow the same generalized cosine definitions; they are computed in double.
void opHannWindow(KernelContext& ctx) {
  bool periodic = ctx.attrInt("periodic", 1);
  emit(ctx, 0, at::hann_window(windowSize(ctx), periodic, at::kDouble), outputDatatype(ctx));
}

void opHammingWindow(KernelContext& ctx) {
  // ONNX uses the "optimal" Hamming coefficients 25/46 and 21/46, not 0.54 and 0.46.
  bool periodic = ctx.attrInt("periodic", 1);
  emit(ctx, 0, at::hamming_window(windowSize(ctx), periodic, 25.0 / 46.0, 21.0 / 46.0, at::kDouble),
       outputDatatype(ctx));
}

void opBlackmanWindow(KernelContext& ctx) {
  bool periodic = ctx.attrInt("periodic", 1);
  emit(ctx, 0, at::blackman_window(windowSize(ctx), periodic, at::kDouble), outputDatatype(ctx));
}

// Triangular filters between mel-spaced points, as the ONNX reference builds them: the range of
// mels is divided into num_mel_bins + 2 steps, and the points are rounded down to DFT bins.
void opMelWeightMatrix(KernelContext& ctx) {
  auto mels = static_cast<int64_t>(ctx.inputScalar(0));
  auto dft_length = static_cast<int64_t>(ctx.inputScalar(1));
  double sample_rate = ctx.inputScalar(2);
  double lower = ctx.inputScalar(3), upper = ctx.inputScalar(4);
  if (mels <= 0 || dft_length <= 0 || sample_rate <= 0)
    ctx.fail("num_mel_bins, dft_length and sample_rate must be positive");
  int64_t bins = dft_length / 2 + 1;
  auto toMel = [](double hz) { return 2595 * std::log10(1 + hz / 700); };
  double low_mel = toMel(lower), step = (toMel(upper) - low_mel) / static_cast<double>(mels + 2);
  std::vector<int64_t> points(static_cast<size_t>(mels + 2));
  for (int64_t i = 0; i < mels + 2; ++i) {
    double hz = 700 * (std::pow(10.0, (static_cast<double>(i) * step + low_mel) / 2595) - 1);
    points[static_cast<size_t>(i)] =
        static_cast<int64_t>(std::floor(static_cast<double>(dft_length + 1) * hz / sample_rate));
  }
  // Filter i writes rows points[i] .. points[i + 2] - 1 (and points[i + 1]).
  bool fits = std::all_of(points.begin(), points.end() - 1,
                          [bins](int64_t p) { return p >= 0 && p < bins; }) &&
              points.back() >= 0 && points.back() <= bins;
  if (!fits) ctx.fail("the mel range [{}, {}] Hz does not fit in {} DFT bins", lower, upper, bins);
  at::Tensor out = at::zeros({bins, mels}, at::kDouble);
  auto w = out.accessor<double, 2>();
  for (int64_t i = 0; i < mels; ++i) {
    int64_t left = points[static_cast<size_t>(i)], center = points[static_cast<size_t>(i + 1)],
            right = points[static_cast<size_t>(i + 2)];
    if (center == left)
      w[center][i] = 1;
    else
      for (int64_t j = left; j <= center; ++j)
        w[j][i] = static_cast<double>(j - left) / static_cast<double>(center - left);
    for (int64_t j = center; j < right; ++j)
      w[j][i] = static_cast<double>(right - j) / static_cast<double>(right - center);
  }
  emit(ctx, 0, out, outputDatatype(ctx));
}

}  // namespace

void addMathKernels(KernelList& k) {
  // Arithmetic.
  k.push_back({"", "Add", binary<add>});
  k.push_back({"", "Sub", binary<sub>});
  k.push_back({"", "Mul", binary<mul>});
  k.push_back({"", "Div", binary<div>});
  k.push_back({"", "Mod", opMod});
  k.push_back({"", "Pow", opPow});
  k.push_back({"", "Sum", variadic<add>});
  k.push_back({"", "Max", variadic<maximum>});
  k.push_back({"", "Min", variadic<minimum>});
  k.push_back({"", "Mean", opMean});
  // Unary math.
  k.push_back({"", "Abs", opAbs});
  k.push_back({"", "Neg", opNeg});
  k.push_back({"", "Sign", opSign});
  k.push_back({"", "Ceil", unary<at::ceil>});
  k.push_back({"", "Floor", unary<at::floor>});
  k.push_back({"", "Round", opRound});
  k.push_back({"", "Reciprocal", unary<at::reciprocal>});
  k.push_back({"", "Sqrt", unary<at::sqrt>});
  k.push_back({"", "Exp", unary<at::exp>});
  k.push_back({"", "Log", unary<at::log>});
  k.push_back({"", "Erf", unary<at::erf>});
  k.push_back({"", "Sin", unary<at::sin>});
  k.push_back({"", "Cos", unary<at::cos>});
  k.push_back({"", "Tan", unary<at::tan>});
  k.push_back({"", "Asin", unary<at::asin>});
  k.push_back({"", "Acos", unary<at::acos>});
  k.push_back({"", "Atan", unary<at::atan>});
  k.push_back({"", "Sinh", unary<at::sinh>});
  k.push_back({"", "Cosh", unary<at::cosh>});
  k.push_back({"", "Asinh", unary<at::asinh>});
  k.push_back({"", "Acosh", unary<at::acosh>});
  k.push_back({"", "Atanh", unary<at::atanh>});
  k.push_back({"", "Clip", opClip});
  k.push_back({"", "IsInf", opIsInf});
  k.push_back({"", "IsNaN", opIsNaN});
  // Activations.
  k.push_back({"", "Relu", opRelu});
  k.push_back({"", "Sigmoid", unary<at::sigmoid>});
  k.push_back({"", "Tanh", unary<at::tanh>});
  k.push_back({"", "Celu", opCelu});
  k.push_back({"", "Elu", opElu});
  k.push_back({"", "Selu", opSelu});
  k.push_back({"", "HardSigmoid", opHardSigmoid});
  k.push_back({"", "HardSwish", opHardSwish});
  k.push_back({"", "LeakyRelu", opLeakyRelu});
  k.push_back({"", "PRelu", opPRelu});
  k.push_back({"", "ThresholdedRelu", opThresholdedRelu});
  k.push_back({"", "Softplus", opSoftplus});
  k.push_back({"", "Softsign", opSoftsign});
  k.push_back({"", "Shrink", opShrink});
  // Comparisons and logic.
  k.push_back({"", "Equal", predicate<eq>});
  k.push_back({"", "Greater", predicate<gt>});
  k.push_back({"", "GreaterOrEqual", predicate<ge>});
  k.push_back({"", "Less", predicate<lt>});
  k.push_back({"", "LessOrEqual", predicate<le>});
  k.push_back({"", "And", predicate<logicalAnd>});
  k.push_back({"", "Or", predicate<logicalOr>});
  k.push_back({"", "Xor", predicate<logicalXor>});
  k.push_back({"", "Not", opNot});
  k.push_back({"", "Where", opWhere});
  k.push_back({"", "BitShift", opBitShift});
  // Softmax family.
  k.push_back({"", "Softmax", softmaxOp<softmax>});
  k.push_back({"", "LogSoftmax", softmaxOp<logSoftmax>});
  k.push_back({"", "Hardmax", softmaxOp<hardmax>});
  // Reductions.
  k.push_back({"", "ReduceSum", reduceOp<Red::Sum, 13>});
  k.push_back({"", "ReduceSumSquare", reduceOp<Red::SumSquare, 18>});
  k.push_back({"", "ReduceMean", reduceOp<Red::Mean, 18>});
  k.push_back({"", "ReduceMax", reduceOp<Red::Max, 18>});
  k.push_back({"", "ReduceMin", reduceOp<Red::Min, 18>});
  k.push_back({"", "ReduceProd", reduceOp<Red::Prod, 18>});
  k.push_back({"", "ReduceL1", reduceOp<Red::L1, 18>});
  k.push_back({"", "ReduceL2", reduceOp<Red::L2, 18>});
  k.push_back({"", "ReduceLogSum", reduceOp<Red::LogSum, 18>});
  k.push_back({"", "ReduceLogSumExp", reduceOp<Red::LogSumExp, 18>});
  k.push_back({"", "ArgMax", argReduce<true>});
  k.push_back({"", "ArgMin", argReduce<false>});
  k.push_back({"", "CumSum", opCumSum});
  k.push_back({"", "MeanVarianceNormalization", opMeanVarianceNormalization});
  // Matrix products.
  k.push_back({"", "MatMul", opMatMul});
  k.push_back({"", "Gemm", opGemm});
  k.push_back({"", "Einsum", opEinsum});
  k.push_back({"", "Det", opDet});
  // Losses.
  k.push_back({"", "NegativeLogLikelihoodLoss", opNegativeLogLikelihoodLoss});
  k.push_back({"", "SoftmaxCrossEntropyLoss", opSoftmaxCrossEntropyLoss});
  // Signal processing.
  k.push_back({"", "DFT", opDFT});
  k.push_back({"", "STFT", opSTFT});
  k.push_back({"", "HannWindow", opHannWindow});
  k.push_back({"", "HammingWindow", opHammingWindow});
  k.push_back({"", "BlackmanWindow", opBlackmanWindow});
  k.push_back({"", "MelWeightMatrix", opMelWeightMatrix});
}

}  // namespace mopt::exec
