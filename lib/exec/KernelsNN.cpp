// Neural-network kernels: convolutions, pooling, normalization, recurrent layers, resizing and
// sampling, and the detection helpers RoiAlign and NonMaxSuppression.
#include "exec/Fusion.h"
#include "exec/Runtime.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <numeric>

namespace mopt::exec {

namespace {

using Ints = std::vector<int64_t>;

// ATen 1.13 has almost no CPU kernels for half precision: such inputs are computed in float and
// the kernels cast the result back to the input's type.
at::Tensor widen(const at::Tensor& t) {
  at::ScalarType s = t.scalar_type();
  return s == at::kHalf || s == at::kBFloat16 ? t.to(at::kFloat) : t;
}

int64_t floorDiv(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}
int64_t ceilDiv(int64_t a, int64_t b) {
  return -floorDiv(-a, b);
}

// A shape with `n` at `axis` and 1 elsewhere, to broadcast a per-channel vector.
Ints alongAxis(int64_t rank, int64_t axis, int64_t n) {
  Ints s(static_cast<size_t>(rank), 1);
  s[static_cast<size_t>(axis)] = n;
  return s;
}

Ints spatialDims(const at::Tensor& x) {
  Ints d(static_cast<size_t>(std::max<int64_t>(x.dim() - 2, 0)));
  std::iota(d.begin(), d.end(), 2);
  return d;
}

// Optional inputs that are present but empty count as absent.
bool given(const KernelContext& ctx, size_t i) {
  return ctx.hasInput(i) && ctx.input(i).numel() > 0;
}

Ints intsOr(const KernelContext& ctx, const char* name, size_t n, int64_t fallback) {
  Ints v = ctx.attrInts(name);
  if (v.empty()) v.assign(n, fallback);
  if (v.size() != n) ctx.fail("{} has {} entries, expected {}", name, v.size(), n);
  return v;
}

// --- window geometry (Conv, ConvTranspose, pooling) ---------------------------------------------

// The sliding window of a convolution or pooling over the spatial dims, with ONNX's pads split
// into the pads before (`begin`) and after (`end`) each dim.
struct Window {
  Ints kernel, strides, dilations, begin, end;
  size_t rank() const { return kernel.size(); }
  int64_t extent(size_t i) const { return (kernel[i] - 1) * dilations[i] + 1; }
};

// auto_pad SAME_* pads so that the output has ceil(input / stride) elements; the odd unit goes
// at the end for SAME_UPPER, at the beginning for SAME_LOWER.
Window window(const KernelContext& ctx, const at::Tensor& x, Ints kernel) {
  size_t n = kernel.size();
  if (x.dim() != static_cast<int64_t>(n) + 2)
    ctx.fail("the input has rank {}, expected {} for a {}-D kernel", x.dim(), n + 2, n);
  Window w;
  w.kernel = std::move(kernel);
  w.strides = intsOr(ctx, "strides", n, 1);
  w.dilations = intsOr(ctx, "dilations", n, 1);
  w.begin.assign(n, 0);
  w.end.assign(n, 0);
  std::string auto_pad = ctx.attrString("auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (size_t i = 0; i < n; ++i) {
      int64_t in = x.size(static_cast<int64_t>(i) + 2);
      int64_t out = ceilDiv(in, w.strides[i]);
      int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + w.extent(i) - in);
      w.begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.end[i] = total - w.begin[i];
    }
  } else if (auto_pad == "NOTSET") {
    Ints pads = ctx.attrInts("pads");
    if (!pads.empty()) {
      if (pads.size() != 2 * n) ctx.fail("pads has {} entries, expected {}", pads.size(), 2 * n);
      w.begin.assign(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(n));
      w.end.assign(pads.begin() + static_cast<std::ptrdiff_t>(n), pads.end());
    }
  } else if (auto_pad != "VALID") {
    ctx.fail("unknown auto_pad '{}'", auto_pad);
  }
  return w;
}

// at::constant_pad_nd's pad list (last dim first) for per-spatial-dim pads; negative crops.
Ints padList(const Ints& begin, const Ints& end) {
  Ints p;
  for (size_t i = begin.size(); i-- > 0;) {
    p.push_back(begin[i]);
    p.push_back(end[i]);
  }
  return p;
}

// --- convolutions --------------------------------------------------------------------------------

// ATen pads symmetrically; the asymmetric part of ONNX pads (SAME_* with even kernels, TF
// exports) is applied with an explicit zero pad first.
at::Tensor convolve(const KernelContext& ctx, at::Tensor x, const at::Tensor& w,
                    const c10::optional<at::Tensor>& bias) {
  Window win = window(ctx, x, Ints(w.sizes().begin() + 2, w.sizes().end()));
  size_t n = win.rank();
  Ints sym(n), extra_begin(n), extra_end(n);
  bool asymmetric = false;
  for (size_t i = 0; i < n; ++i) {
    sym[i] = std::min(win.begin[i], win.end[i]);
    extra_begin[i] = win.begin[i] - sym[i];
    extra_end[i] = win.end[i] - sym[i];
    asymmetric = asymmetric || extra_begin[i] || extra_end[i];
  }
  if (asymmetric) x = at::constant_pad_nd(x, padList(extra_begin, extra_end), 0);
  return at::convolution(x, w, bias, win.strides, sym, win.dilations, false, Ints(n, 0),
                         ctx.attrInt("group", 1));
}

void opConv(KernelContext& ctx) {
  c10::optional<at::Tensor> bias;
  if (ctx.hasInput(2)) bias = widen(ctx.input(2));
  at::Tensor y = convolve(ctx, widen(ctx.input(0)), widen(ctx.input(1)), bias);
  ctx.setOutput(0, y.to(ctx.input(0).scalar_type()), ctx.inputType(0));
}

// Conv + Relu/Clip fused by exec/Fusion.cpp (inference only: training runs the graph unfused).
void opConvClamp(KernelContext& ctx) {
  c10::optional<at::Tensor> bias;
  if (ctx.hasInput(2)) bias = widen(ctx.input(2));
  at::Tensor y = convolve(ctx, widen(ctx.input(0)), widen(ctx.input(1)), bias);
  c10::optional<at::Scalar> lo, hi;
  if (ctx.hasAttr("clamp_min")) lo = ctx.attrFloat("clamp_min", 0.0f);
  if (ctx.hasAttr("clamp_max")) hi = ctx.attrFloat("clamp_max", 0.0f);
  if (lo || hi) y.clamp_(lo, hi);
  ctx.setOutput(0, y.to(ctx.input(0).scalar_type()), ctx.inputType(0));
}

// Output length before pads: stride * (in - 1) + output_padding + dilated kernel; the pads then
// crop it. output_shape (or SAME_*) fixes the length and implies the pads instead.
void opConvTranspose(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0)), w = widen(ctx.input(1));
  size_t n = static_cast<size_t>(w.dim() - 2);
  if (x.dim() != w.dim()) ctx.fail("input rank {} does not match weight rank {}", x.dim(), w.dim());
  int64_t group = ctx.attrInt("group", 1);
  Ints strides = intsOr(ctx, "strides", n, 1), dilations = intsOr(ctx, "dilations", n, 1);
  Ints out_pad = intsOr(ctx, "output_padding", n, 0);
  Ints out_shape = ctx.attrInts("output_shape");
  if (out_shape.size() == n + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  if (!out_shape.empty() && out_shape.size() != n)
    ctx.fail("output_shape has {} entries, expected {}", out_shape.size(), n);
  std::string auto_pad = ctx.attrString("auto_pad", "NOTSET");
  Ints begin(n, 0), end(n, 0);
  if (!out_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (size_t i = 0; i < n; ++i) {
      int64_t in = x.size(static_cast<int64_t>(i) + 2);
      int64_t target = out_shape.empty() ? in * strides[i] : out_shape[i];
      int64_t total =
          strides[i] * (in - 1) + out_pad[i] + (w.size(i + 2) - 1) * dilations[i] + 1 - target;
      // ONNX puts the odd unit at the end for SAME_UPPER, at the beginning otherwise.
      begin[i] = auto_pad == "SAME_UPPER" ? floorDiv(total, 2) : total - floorDiv(total, 2);
      end[i] = total - begin[i];
    }
  } else if (auto_pad == "NOTSET") {
    Ints pads = ctx.attrInts("pads");
    if (!pads.empty()) {
      if (pads.size() != 2 * n) ctx.fail("pads has {} entries, expected {}", pads.size(), 2 * n);
      begin.assign(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(n));
      end.assign(pads.begin() + static_cast<std::ptrdiff_t>(n), pads.end());
    }
  } else if (auto_pad != "VALID") {
    ctx.fail("unknown auto_pad '{}'", auto_pad);
  }
  c10::optional<at::Tensor> bias;
  if (ctx.hasInput(2)) bias = widen(ctx.input(2));
  // ATen handles symmetric non-negative pads and an output_padding below stride or dilation.
  bool direct = begin == end;
  for (size_t i = 0; i < n; ++i)
    direct = direct && begin[i] >= 0 && (out_pad[i] < strides[i] || out_pad[i] < dilations[i]);
  at::Tensor y;
  if (direct) {
    y = at::convolution(x, w, bias, strides, begin, dilations, true, out_pad, group);
  } else {
    y = at::convolution(x, w, c10::nullopt, strides, Ints(n, 0), dilations, true, Ints(n, 0),
                        group);
    // Crop the pads (zero-extend where they are negative), then append output_padding.
    Ints front(n), back(n);
    for (size_t i = 0; i < n; ++i) {
      front[i] = -begin[i];
      back[i] = out_pad[i] - end[i];
    }
    y = at::constant_pad_nd(y, padList(front, back), 0);
    if (bias) y = y + bias->view(alongAxis(y.dim(), 1, bias->numel()));
  }
  ctx.setOutput(0, y.to(ctx.input(0).scalar_type()), ctx.inputType(0));
}

// --- pooling -------------------------------------------------------------------------------------

struct Pool {
  Window win;
  Ints in, out;
  bool ceil = false;
  // ATen applies the pads itself when they are symmetric and at most half the kernel.
  bool atenPads() const {
    for (size_t i = 0; i < win.rank(); ++i)
      if (win.begin[i] != win.end[i] || win.begin[i] < 0 || 2 * win.begin[i] > win.kernel[i])
        return false;
    return true;
  }
  bool dilated() const {
    return std::any_of(win.dilations.begin(), win.dilations.end(),
                       [](int64_t d) { return d != 1; });
  }
};

// With ceil_mode a last window that would start in the end padding is dropped (PyTorch's rule,
// which ONNX Runtime and the ONNX reference follow).
Pool poolGeometry(const KernelContext& ctx, const at::Tensor& x, Ints kernel) {
  if (kernel.empty()) ctx.fail("kernel_shape is required");
  if (kernel.size() > 3) ctx.fail("pooling over {} spatial dims is not supported", kernel.size());
  Pool p;
  p.win = window(ctx, x, std::move(kernel));
  p.ceil = ctx.attrInt("ceil_mode", 0) != 0;
  for (size_t i = 0; i < p.win.rank(); ++i) {
    int64_t in = x.size(static_cast<int64_t>(i) + 2), s = p.win.strides[i];
    int64_t span = in + p.win.begin[i] + p.win.end[i] - p.win.extent(i);
    int64_t out = (p.ceil ? ceilDiv(span, s) : floorDiv(span, s)) + 1;
    if (p.ceil && out > 0 && (out - 1) * s >= in + p.win.begin[i]) --out;
    if (out <= 0) ctx.fail("the pooling window does not fit spatial dim {} of size {}", i, in);
    p.in.push_back(in);
    p.out.push_back(out);
  }
  return p;
}

// Pads (or crops) `x` so that floor-mode pooling without padding yields exactly `p.out`.
at::Tensor padForPool(const at::Tensor& x, const Pool& p, double value) {
  Ints end(p.win.rank());
  for (size_t i = 0; i < end.size(); ++i)
    end[i] = (p.out[i] - 1) * p.win.strides[i] + p.win.extent(i) - p.in[i] - p.win.begin[i];
  return at::constant_pad_nd(x, padList(p.win.begin, end), value);
}

// ATen pools 2-D and 3-D; 1-D pooling runs as 2-D over a unit height.
struct Lifted {
  at::Tensor x;
  Ints kernel, strides, pads, dilations;
};
Lifted lift(const at::Tensor& x, const Pool& p, bool with_pads) {
  Lifted l{x, p.win.kernel, p.win.strides, with_pads ? p.win.begin : Ints(p.win.rank(), 0),
           p.win.dilations};
  if (p.win.rank() == 1) {
    l.x = x.unsqueeze(2);
    for (Ints* v : {&l.kernel, &l.strides, &l.dilations})
      v->insert(v->begin(), 1);
    l.pads.insert(l.pads.begin(), 0);
  }
  return l;
}

// oneDNN pools 2-D float maps several times faster than ATen's NCHW kernels (which are not
// vectorized over that layout); below a few thousand elements the layout conversions outweigh it.
bool oneDnnPool(const Lifted& l) {
  return at::hasMKLDNN() && at::globalContext().userEnabledMkldnn() && l.kernel.size() == 2 &&
         l.x.scalar_type() == at::kFloat && l.x.numel() >= 4096 &&
         std::all_of(l.dilations.begin(), l.dilations.end(), [](int64_t d) { return d == 1; });
}

at::Tensor unlift(const at::Tensor& y, const Pool& p) {
  return p.win.rank() == 1 ? y.squeeze(2) : y;
}

// ATen's average pooling, 2-D or 3-D; divisor 1 gives window sums.
at::Tensor avgPool(const Lifted& l, bool ceil, bool include_pad,
                   c10::optional<int64_t> divisor = c10::nullopt) {
  return l.kernel.size() == 2
             ? at::avg_pool2d(l.x, l.kernel, l.strides, l.pads, ceil, include_pad, divisor)
             : at::avg_pool3d(l.x, l.kernel, l.strides, l.pads, ceil, include_pad, divisor);
}

// Sum over each window of an already padded input (zero pads, floor mode).
at::Tensor windowSum(const at::Tensor& xp, const Pool& p) {
  if (!p.dilated()) return unlift(avgPool(lift(xp, p, false), false, true, 1), p);
  // Dilated windows: unfold each spatial dim into a window dim, keep every dilation-th element.
  at::Tensor t = xp;
  int64_t rank = xp.dim();
  for (size_t i = 0; i < p.win.rank(); ++i) {
    t = t.unfold(static_cast<int64_t>(i) + 2, p.win.extent(i), p.win.strides[i]);
    t = t.slice(-1, 0, c10::nullopt, p.win.dilations[i]);
  }
  Ints window_dims(p.win.rank());
  std::iota(window_dims.begin(), window_dims.end(), rank);
  return t.sum(window_dims);
}

void opAveragePool(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  Pool p = poolGeometry(ctx, x, ctx.attrInts("kernel_shape"));
  bool include_pad = ctx.attrInt("count_include_pad", 0) != 0;
  at::Tensor y;
  if (p.atenPads() && !p.dilated()) {
    Lifted l = lift(x, p, true);
    // oneDNN would count the ceil_mode overhang as padding.
    if (oneDnnPool(l) && !(p.ceil && include_pad)) l.x = l.x.to_mkldnn();
    y = avgPool(l, p.ceil, include_pad);
    y = unlift(y.is_mkldnn() ? y.to_dense() : y, p);
  } else {
    // Window sums over the padded input, divided by how many elements each window covers: the
    // input's alone, or also the explicit pads (never the ceil_mode overhang).
    Ints ones_shape = {1, 1};
    ones_shape.insert(ones_shape.end(), p.in.begin(), p.in.end());
    at::Tensor mask = at::constant_pad_nd(at::ones(ones_shape, x.options()),
                                          padList(p.win.begin, p.win.end), include_pad ? 1 : 0);
    Ints overhang(p.win.rank());
    for (size_t i = 0; i < overhang.size(); ++i)
      overhang[i] = (p.out[i] - 1) * p.win.strides[i] + p.win.extent(i) - p.in[i] - p.win.begin[i] -
                    p.win.end[i];
    mask = at::constant_pad_nd(mask, padList(Ints(p.win.rank(), 0), overhang), 0);
    y = windowSum(padForPool(x, p, 0), p) / windowSum(mask, p);
  }
  ctx.setOutput(0, y.to(ctx.input(0).scalar_type()), ctx.inputType(0));
}

// ONNX MaxPool indices count over the whole input tensor: ((n * C + c) * spatial) + position,
// the position row-major (storage_order 0) or column-major (1) over the spatial dims.
at::Tensor onnxPoolIndices(const at::Tensor& idx, const Pool& p, bool padded, bool column_major) {
  size_t n = p.win.rank();
  Ints grid(n);  // extents of the plane ATen indexed
  for (size_t i = 0; i < n; ++i)
    grid[i] = padded ? (p.out[i] - 1) * p.win.strides[i] + p.win.extent(i) : p.in[i];
  std::vector<at::Tensor> coord(n);
  at::Tensor rest = idx;
  for (size_t i = n; i-- > 0;) {
    coord[i] = at::remainder(rest, grid[i]);
    rest = at::div(rest, grid[i], "floor");
    if (padded) coord[i] = coord[i] - p.win.begin[i];
  }
  at::Tensor flat = at::zeros_like(idx);
  for (size_t k = 0; k < n; ++k) {
    size_t i = column_major ? n - 1 - k : k;
    flat = flat * p.in[i] + coord[i];
  }
  int64_t plane = std::accumulate(p.in.begin(), p.in.end(), int64_t{1}, std::multiplies<>());
  Ints base_shape(static_cast<size_t>(idx.dim()), 1);
  base_shape[0] = idx.size(0);
  base_shape[1] = idx.size(1);
  at::Tensor base = at::arange(idx.size(0) * idx.size(1), idx.options()).view(base_shape);
  return flat + base * plane;
}

void opMaxPool(KernelContext& ctx) {
  const at::Tensor& in = ctx.input(0);
  // ATen's max pooling has floating kernels only; integers pool exactly in a wider float type.
  at::Tensor x = widen(in);
  if (!at::isFloatingType(x.scalar_type()))
    x = x.to(x.element_size() <= 2 ? at::kFloat : at::kDouble);
  Pool p = poolGeometry(ctx, x, ctx.attrInts("kernel_shape"));
  bool direct = p.atenPads();
  at::Tensor xp = direct ? x : padForPool(x, p, -std::numeric_limits<double>::infinity());
  Lifted l = lift(xp, p, direct);
  bool ceil = direct && p.ceil;
  bool two_d = l.kernel.size() == 2;
  if (!ctx.wantsOutput(1)) {
    at::Tensor y;
    if (oneDnnPool(l))
      y = at::max_pool2d(l.x.to_mkldnn(), l.kernel, l.strides, l.pads, l.dilations, ceil)
              .to_dense();
    else if (two_d)
      y = at::max_pool2d(l.x, l.kernel, l.strides, l.pads, l.dilations, ceil);
    else
      y = at::max_pool3d(l.x, l.kernel, l.strides, l.pads, l.dilations, ceil);
    ctx.setOutput(0, unlift(y, p).to(in.scalar_type()), ctx.inputType(0));
    return;
  }
  auto [y, idx] =
      two_d ? at::max_pool2d_with_indices(l.x, l.kernel, l.strides, l.pads, l.dilations, ceil)
            : at::max_pool3d_with_indices(l.x, l.kernel, l.strides, l.pads, l.dilations, ceil);
  ctx.setOutput(0, unlift(y, p).to(in.scalar_type()), ctx.inputType(0));
  bool column_major = ctx.attrInt("storage_order", 0) != 0;
  ctx.setOutput(1, onnxPoolIndices(unlift(idx, p), p, !direct, column_major), DType::I64);
}

void opLpPool(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  Pool p = poolGeometry(ctx, x, ctx.attrInts("kernel_shape"));
  double power = static_cast<double>(ctx.attrInt("p", 2));
  at::Tensor xp = power == 2 ? x * x : at::pow(at::abs(x), power);
  at::Tensor s;
  if (p.atenPads() && !p.dilated()) {
    // Zero pads add nothing to the sums, so ATen's padding and ceil_mode are right here.
    s = unlift(avgPool(lift(xp, p, true), p.ceil, true, 1), p);
  } else {
    s = windowSum(padForPool(xp, p, 0), p);
  }
  at::Tensor y = power == 2 ? at::sqrt(s) : at::pow(s, 1.0 / power);
  ctx.setOutput(0, y.to(ctx.input(0).scalar_type()), ctx.inputType(0));
}

void opGlobalAveragePool(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  ctx.setOutput(0, x.mean(spatialDims(x), true).to(ctx.input(0).scalar_type()), ctx.inputType(0));
}

void opGlobalMaxPool(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  ctx.setOutput(0, at::amax(x, spatialDims(x), true).to(ctx.input(0).scalar_type()),
                ctx.inputType(0));
}

void opGlobalLpPool(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  double power = static_cast<double>(ctx.attrInt("p", 2));
  at::Tensor y = at::norm(x, power, spatialDims(x), true);
  ctx.setOutput(0, y.to(ctx.input(0).scalar_type()), ctx.inputType(0));
}

// Scatters X into zeros at the flattened indices MaxPool produced. The indices address the shape
// MaxPool's input had (inferred from the attributes); with a different output_shape each element
// keeps its spatial coordinates (as in the ONNX tests), so the indices are re-linearized.
void opMaxUnpool(KernelContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  at::Tensor idx = ctx.input(1).to(at::kLong).reshape({-1});
  Ints kernel = ctx.attrInts("kernel_shape");
  size_t n = kernel.size();
  if (n == 0) ctx.fail("kernel_shape is required");
  if (x.dim() != static_cast<int64_t>(n) + 2)
    ctx.fail("the input has rank {}, expected {} for a {}-D kernel", x.dim(), n + 2, n);
  Ints strides = intsOr(ctx, "strides", n, 1), pads = intsOr(ctx, "pads", 2 * n, 0);
  Ints inferred = {x.size(0), x.size(1)};
  for (size_t i = 0; i < n; ++i)
    inferred.push_back((x.size(static_cast<int64_t>(i) + 2) - 1) * strides[i] + kernel[i] -
                       pads[i] - pads[i + n]);
  Ints shape = given(ctx, 2) ? ctx.inputInts(2) : inferred;
  if (shape.size() != inferred.size() || shape[0] != x.size(0) || shape[1] != x.size(1))
    ctx.fail("output_shape {} does not fit an input of shape {}", c10::str(shape),
             c10::str(x.sizes()));
  if (shape != inferred) {
    int64_t in_plane = 1, out_plane = 1;
    for (size_t i = 2; i < shape.size(); ++i) {
      if (shape[i] < inferred[i]) ctx.fail("output_shape is smaller than the unpooled shape");
      in_plane *= inferred[i];
      out_plane *= shape[i];
    }
    at::Tensor rest = at::remainder(idx, in_plane), flat = at::div(idx, in_plane, "floor");
    at::Tensor pos = at::zeros_like(idx);
    int64_t step = 1;
    for (size_t i = shape.size(); i-- > 2;) {
      pos = pos + at::remainder(rest, inferred[i]) * step;
      rest = at::div(rest, inferred[i], "floor");
      step *= shape[i];
    }
    idx = flat * out_plane + pos;
  }
  int64_t total = std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
  at::Tensor y = at::zeros({total}, x.options());
  y.index_put_({idx}, x.reshape({-1}));
  ctx.setOutput(0, y.view(shape), ctx.inputType(0));
}

// --- normalization -------------------------------------------------------------------------------

void opBatchNormalization(KernelContext& ctx) {
  if (ctx.attrInt("training_mode", 0))
    ctx.fail("BatchNormalization in training mode is not supported");
  at::Tensor x = widen(ctx.input(0));
  at::Tensor scale = widen(ctx.input(1)), bias = widen(ctx.input(2)), mean = widen(ctx.input(3)),
             var = widen(ctx.input(4));
  float eps = ctx.attrFloat("epsilon", 1e-5f);
  at::Tensor y;
  if (ctx.opset() < 9 && ctx.attrInt("spatial", 1) == 0) {
    // Per-activation statistics: scale etc. are shaped like one sample.
    y = (x - mean) * at::rsqrt(var + eps) * scale + bias;
  } else {
    y = at::batch_norm(x, scale, bias, mean, var, false, 0.0, eps, false);
  }
  ctx.setOutput(0, y.to(ctx.input(0).scalar_type()), ctx.inputType(0));
}

void opInstanceNormalization(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  at::Tensor y = at::instance_norm(x, widen(ctx.input(1)), widen(ctx.input(2)), {}, {}, true, 0.0,
                                   ctx.attrFloat("epsilon", 1e-5f), false);
  ctx.setOutput(0, y.to(ctx.input(0).scalar_type()), ctx.inputType(0));
}

// Scale and B may be given in any shape broadcastable to the normalized dims.
at::Tensor normParam(const at::Tensor& t, c10::IntArrayRef normalized, at::ScalarType type) {
  at::Tensor p = t.to(type);
  if (p.sizes() == normalized) return p;
  if (p.numel() == c10::multiply_integers(normalized)) return p.reshape(normalized);
  return p.expand(normalized).contiguous();
}

void opLayerNormalization(KernelContext& ctx) {
  const at::Tensor& in = ctx.input(0);
  at::Tensor x = widen(in);
  int64_t axis = normalizeAxis(ctx, ctx.attrInt("axis", -1), x.dim());
  c10::IntArrayRef normalized = x.sizes().slice(static_cast<size_t>(axis));
  c10::optional<at::Tensor> scale, bias;
  if (ctx.hasInput(1)) scale = normParam(ctx.input(1), normalized, x.scalar_type());
  if (ctx.hasInput(2)) bias = normParam(ctx.input(2), normalized, x.scalar_type());
  // Mean and InvStdDev come in the stash type (float unless told otherwise).
  auto stash = dtypeFromOnnx(static_cast<int32_t>(ctx.attrInt("stash_type", 1)));
  if (!stash || !atenCanHold(*stash)) ctx.fail("unsupported stash_type");
  auto [y, mean, rstd] =
      at::native_layer_norm(x, normalized, scale, bias, ctx.attrFloat("epsilon", 1e-5f));
  ctx.setOutput(0, y.to(in.scalar_type()), ctx.inputType(0));
  if (ctx.wantsOutput(1)) ctx.setOutput(1, mean.to(atenType(*stash)), *stash);
  if (ctx.wantsOutput(2)) ctx.setOutput(2, rstd.to(atenType(*stash)), *stash);
}

// Each channel is divided by (bias + alpha / size * sum of squares over the channels
// [c - floor((size-1)/2), c + ceil((size-1)/2)]) ^ beta.
void opLRN(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  int64_t size = ctx.attrInt("size", 0);
  if (size <= 0) ctx.fail("LRN needs a positive size");
  double alpha = ctx.attrFloat("alpha", 1e-4f), beta = ctx.attrFloat("beta", 0.75f),
         bias = ctx.attrFloat("bias", 1.0f);
  int64_t n = x.size(0), c = x.size(1);
  at::Tensor sq = (x * x).reshape({n, 1, c, -1});
  sq = at::constant_pad_nd(sq, {0, 0, (size - 1) / 2, size / 2}, 0);
  at::Tensor sums = at::avg_pool2d(sq, {size, 1}, {1, 1}, {0, 0}, false, true, 1).view(x.sizes());
  at::Tensor y = x / at::pow(sums * (alpha / static_cast<double>(size)) + bias, beta);
  ctx.setOutput(0, y.to(ctx.input(0).scalar_type()), ctx.inputType(0));
}

// --- recurrent layers ----------------------------------------------------------------------------

enum class Act {
  Relu,
  Tanh,
  Sigmoid,
  Affine,
  LeakyRelu,
  ThresholdedRelu,
  ScaledTanh,
  HardSigmoid,
  Elu,
  Softsign,
  Softplus
};

struct Activation {
  Act kind;
  double alpha, beta;
};

// Activation names are case-insensitive (as in ONNX Runtime); alpha and beta are taken in order
// by the functions that use them, with the corresponding ONNX operator's defaults otherwise.
std::vector<Activation> rnnActivations(const KernelContext& ctx,
                                       const std::vector<std::string>& defaults,
                                       int64_t directions) {
  std::vector<std::string> names;
  if (const Attribute* a = ctx.attr("activations")) names = a->strings;
  size_t per_dir = defaults.size();
  if (names.empty()) {
    for (int64_t d = 0; d < directions; ++d)
      names.insert(names.end(), defaults.begin(), defaults.end());
  } else if (names.size() == per_dir && directions == 2) {
    std::vector<std::string> forward = names;  // both directions use the same functions
    names.insert(names.end(), forward.begin(), forward.end());
  }
  if (names.size() != per_dir * static_cast<size_t>(directions))
    ctx.fail("activations has {} entries, expected {}", names.size(),
             per_dir * static_cast<size_t>(directions));
  std::vector<float> alphas = ctx.attrFloats("activation_alpha"),
                     betas = ctx.attrFloats("activation_beta");
  size_t ai = 0, bi = 0;
  auto next = [](const std::vector<float>& v, size_t& i, double fallback) {
    return i < v.size() ? static_cast<double>(v[i++]) : fallback;
  };
  std::vector<Activation> out;
  for (std::string name : names) {
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    Activation a{Act::Tanh, 0, 0};
    if (name == "relu") {
      a.kind = Act::Relu;
    } else if (name == "tanh") {
      a.kind = Act::Tanh;
    } else if (name == "sigmoid") {
      a.kind = Act::Sigmoid;
    } else if (name == "affine") {
      a = {Act::Affine, next(alphas, ai, 1.0), next(betas, bi, 0.0)};
    } else if (name == "leakyrelu") {
      a = {Act::LeakyRelu, next(alphas, ai, 0.01), 0};
    } else if (name == "thresholdedrelu") {
      a = {Act::ThresholdedRelu, next(alphas, ai, 1.0), 0};
    } else if (name == "scaledtanh") {
      a = {Act::ScaledTanh, next(alphas, ai, 1.0), next(betas, bi, 1.0)};
    } else if (name == "hardsigmoid") {
      a = {Act::HardSigmoid, next(alphas, ai, 0.2), next(betas, bi, 0.5)};
    } else if (name == "elu") {
      a = {Act::Elu, next(alphas, ai, 1.0), 0};
    } else if (name == "softsign") {
      a.kind = Act::Softsign;
    } else if (name == "softplus") {
      a.kind = Act::Softplus;
    } else {
      ctx.fail("unknown activation '{}'", name);
    }
    out.push_back(a);
  }
  return out;
}

at::Tensor activate(const Activation& a, const at::Tensor& x) {
  switch (a.kind) {
    case Act::Relu:
      return at::relu(x);
    case Act::Tanh:
      return at::tanh(x);
    case Act::Sigmoid:
      return at::sigmoid(x);
    case Act::Affine:
      return x * a.alpha + a.beta;
    case Act::LeakyRelu:
      return at::leaky_relu(x, a.alpha);
    case Act::ThresholdedRelu:
      return at::where(x > a.alpha, x, at::zeros_like(x));
    case Act::ScaledTanh:
      return at::tanh(x * a.beta) * a.alpha;
    case Act::HardSigmoid:
      return at::clamp(x * a.alpha + a.beta, 0, 1);
    case Act::Elu:
      return at::elu(x, a.alpha);
    case Act::Softsign:
      return x / (at::abs(x) + 1);
    case Act::Softplus:
      return at::softplus(x);
  }
  return x;
}

enum class Cell { Rnn, Gru, Lstm };

// Reverses each batch entry's first lens[b] steps of a [seq, batch, ...] tensor; steps past the
// length stay where they are.
at::Tensor reverseSequences(const at::Tensor& t, const Ints& lens, bool uniform) {
  if (uniform) return t.flip(0);
  int64_t seq = t.size(0), batch = t.size(1);
  std::vector<int64_t> map(static_cast<size_t>(seq * batch));
  for (int64_t s = 0; s < seq; ++s)
    for (int64_t b = 0; b < batch; ++b)
      map[static_cast<size_t>(s * batch + b)] =
          s < lens[static_cast<size_t>(b)] ? lens[static_cast<size_t>(b)] - 1 - s : s;
  at::Tensor idx = at::tensor(map, at::kLong).view({seq, batch, 1}).expand(t.sizes());
  return at::gather(t, 0, idx);
}

// RNN, GRU and LSTM share the layout handling, directions and sequence lengths. The input
// projection of all steps is one matrix product; each step then adds the recurrent product.
void recurrent(KernelContext& ctx, Cell cell) {
  int64_t gates = cell == Cell::Rnn ? 1 : cell == Cell::Gru ? 3 : 4;
  bool batch_first = ctx.opset() >= 14 && ctx.attrInt("layout", 0) == 1;
  at::Tensor x = widen(ctx.input(0));
  if (batch_first) x = x.transpose(0, 1);
  at::ScalarType type = x.scalar_type();
  at::Tensor W = ctx.input(1).to(type), R = ctx.input(2).to(type);
  int64_t seq = x.size(0), batch = x.size(1), input_size = x.size(2);
  int64_t hidden = ctx.attrInt("hidden_size", R.size(-1));
  std::string direction = ctx.attrString("direction", "forward");
  int64_t dirs = direction == "bidirectional" ? 2 : 1;
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    ctx.fail("unknown direction '{}'", direction);
  if (W.size(0) != dirs || W.size(1) != gates * hidden || R.size(2) != hidden)
    ctx.fail("W or R do not match hidden_size {} and {} direction(s)", hidden, dirs);
  at::Tensor B =
      ctx.hasInput(3) ? ctx.input(3).to(type) : at::zeros({dirs, 2 * gates * hidden}, x.options());
  Ints lens(static_cast<size_t>(batch), seq);
  if (ctx.hasInput(4)) lens = ctx.inputInts(4);
  if (static_cast<int64_t>(lens.size()) != batch)
    ctx.fail("sequence_lens has {} entries for a batch of {}", lens.size(), batch);
  bool uniform = std::all_of(lens.begin(), lens.end(), [&](int64_t l) { return l == seq; });
  auto initial = [&](size_t i) {
    if (!ctx.hasInput(i)) return at::zeros({dirs, batch, hidden}, x.options());
    at::Tensor t = ctx.input(i).to(type);
    return batch_first ? t.transpose(0, 1) : t;
  };
  at::Tensor h0 = initial(5);
  at::Tensor c0 = cell == Cell::Lstm ? initial(6) : at::Tensor();
  at::Tensor P;
  if (cell == Cell::Lstm && ctx.hasInput(7)) P = ctx.input(7).to(type);
  std::vector<std::string> defaults = cell == Cell::Rnn ? std::vector<std::string>{"Tanh"}
                                      : cell == Cell::Gru
                                          ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                          : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
  std::vector<Activation> acts = rnnActivations(ctx, defaults, dirs);
  bool has_clip = ctx.hasAttr("clip");
  double clip = ctx.attrFloat("clip", 0);
  auto clipped = [&](const at::Tensor& t) { return has_clip ? at::clamp(t, -clip, clip) : t; };
  bool linear_before_reset = ctx.attrInt("linear_before_reset", 0) != 0;
  bool input_forget = ctx.attrInt("input_forget", 0) != 0;
  at::Tensor valid_steps;  // [seq, batch, 1]: whether step t is inside sequence b
  if (!uniform) {
    at::Tensor l = at::tensor(lens, at::kLong).view({1, batch, 1});
    valid_steps = at::arange(seq, at::kLong).view({seq, 1, 1}) < l;
  }

  std::vector<at::Tensor> ys, hs, cs;
  for (int64_t d = 0; d < dirs; ++d) {
    bool reverse = direction == "reverse" || d == 1;
    const Activation* f = &acts[static_cast<size_t>(d) * defaults.size()];
    at::Tensor Wb = B[d].narrow(0, 0, gates * hidden),
               Rb = B[d].narrow(0, gates * hidden, gates * hidden);
    // Recurrent biases fold into the input projection, except GRU's hidden-gate one, which the
    // reset gate multiplies (linear_before_reset) or which follows the reset.
    at::Tensor in_bias = Wb + Rb;
    at::Tensor Rbh;
    if (cell == Cell::Gru) {
      Rbh = Rb.narrow(0, 2 * hidden, hidden);
      in_bias = at::cat({(Wb + Rb).narrow(0, 0, 2 * hidden), Wb.narrow(0, 2 * hidden, hidden)});
    }
    at::Tensor xs = reverse ? reverseSequences(x, lens, uniform) : x;
    at::Tensor xw = at::addmm(in_bias, xs.reshape({seq * batch, input_size}), W[d].t())
                        .view({seq, batch, gates * hidden});
    at::Tensor Rt = R[d].t();
    at::Tensor h = h0[d], c = cell == Cell::Lstm ? c0[d] : at::Tensor();
    at::Tensor y = at::empty({seq, batch, hidden}, x.options());
    for (int64_t t = 0; t < seq; ++t) {
      at::Tensor xt = xw[t], h_new, c_new;
      if (cell == Cell::Rnn) {
        h_new = activate(f[0], clipped(at::addmm(xt, h, Rt)));
      } else if (cell == Cell::Gru) {
        at::Tensor zr = at::addmm(xt.narrow(1, 0, 2 * hidden), h, Rt.narrow(1, 0, 2 * hidden));
        zr = activate(f[0], clipped(zr));
        at::Tensor z = zr.narrow(1, 0, hidden), r = zr.narrow(1, hidden, hidden);
        at::Tensor Rh = Rt.narrow(1, 2 * hidden, hidden);
        at::Tensor hh = linear_before_reset ? r * at::addmm(Rbh, h, Rh) : at::addmm(Rbh, r * h, Rh);
        hh = activate(f[1], clipped(xt.narrow(1, 2 * hidden, hidden) + hh));
        h_new = hh + z * (h - hh);
      } else {
        at::Tensor g = at::addmm(xt, h, Rt);
        at::Tensor gi = g.narrow(1, 0, hidden), go = g.narrow(1, hidden, hidden),
                   gf = g.narrow(1, 2 * hidden, hidden), gc = g.narrow(1, 3 * hidden, hidden);
        if (P.defined()) {
          gi = gi + P[d].narrow(0, 0, hidden) * c;
          gf = gf + P[d].narrow(0, 2 * hidden, hidden) * c;
        }
        at::Tensor i = activate(f[0], clipped(gi));
        at::Tensor fg = input_forget ? 1 - i : activate(f[0], clipped(gf));
        c_new = fg * c + i * activate(f[1], clipped(gc));
        if (P.defined()) go = go + P[d].narrow(0, hidden, hidden) * c_new;
        h_new = activate(f[0], clipped(go)) * activate(f[2], c_new);
      }
      if (uniform) {
        y[t].copy_(h_new);
      } else {
        // Past a sequence's end the state holds and the output is zero.
        at::Tensor v = valid_steps[t];
        h_new = at::where(v, h_new, h);
        if (c_new.defined()) c_new = at::where(v, c_new, c);
        y[t].copy_(at::where(v, h_new, at::zeros_like(h_new)));
      }
      h = h_new;
      if (c_new.defined()) c = c_new;
    }
    ys.push_back(reverse ? reverseSequences(y, lens, uniform) : y);
    hs.push_back(h);
    if (cell == Cell::Lstm) cs.push_back(c);
  }
  at::ScalarType out_type = ctx.input(0).scalar_type();
  DType dt = ctx.inputType(0);
  at::Tensor Y = at::stack(ys, 1);  // [seq, dirs, batch, hidden]
  at::Tensor Yh = at::stack(hs, 0);
  if (batch_first) {
    Y = Y.permute({2, 0, 1, 3});
    Yh = Yh.transpose(0, 1);
  }
  if (ctx.wantsOutput(0)) ctx.setOutput(0, Y.to(out_type).contiguous(), dt);
  if (ctx.wantsOutput(1)) ctx.setOutput(1, Yh.to(out_type).contiguous(), dt);
  if (cell == Cell::Lstm && ctx.wantsOutput(2)) {
    at::Tensor Yc = at::stack(cs, 0);
    if (batch_first) Yc = Yc.transpose(0, 1);
    ctx.setOutput(2, Yc.to(out_type).contiguous(), dt);
  }
}

void opRNN(KernelContext& ctx) {
  recurrent(ctx, Cell::Rnn);
}
void opGRU(KernelContext& ctx) {
  recurrent(ctx, Cell::Gru);
}
void opLSTM(KernelContext& ctx) {
  recurrent(ctx, Cell::Lstm);
}

// --- resizing ------------------------------------------------------------------------------------

enum class Coord {
  HalfPixel,
  HalfPixelSymmetric,
  PytorchHalfPixel,
  AlignCorners,
  Asymmetric,
  TfHalfPixelForNN,
  TfCropAndResize
};
enum class Interp { Nearest, Linear, Cubic };
enum class Rounding { PreferFloor, PreferCeil, Floor, Ceil };

struct ResizeMode {
  Interp interp = Interp::Nearest;
  Coord coord = Coord::HalfPixel;
  Rounding rounding = Rounding::PreferFloor;
  float cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
  float extrapolation = 0;
};

float cubicWeight(float t, float a) {
  t = std::abs(t);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

// Input position of output index x along one axis. As in ONNX Runtime the arithmetic is in float
// (it decides ties of nearest rounding); as in the ONNX reference and its tests, `length` is
// scale * input length, not rounded.
float originalCoordinate(const ResizeMode& m, float x, float scale, int64_t in, int64_t out,
                         float roi_start, float roi_end) {
  float length = scale * static_cast<float>(in);
  switch (m.coord) {
    case Coord::HalfPixel:
      return (x + 0.5f) / scale - 0.5f;
    case Coord::HalfPixelSymmetric: {
      float adjustment = static_cast<float>(out) / length;
      float center = static_cast<float>(in) / 2;
      return static_cast<float>(center * (1 - adjustment) + (x + 0.5) / scale - 0.5);
    }
    case Coord::PytorchHalfPixel:
      return out > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
    case Coord::AlignCorners:
      return length == 1 ? 0 : x * static_cast<float>(in - 1) / (length - 1);
    case Coord::Asymmetric:
      return x / scale;
    case Coord::TfHalfPixelForNN:
      return (x + 0.5f) / scale;
    case Coord::TfCropAndResize: {
      float span = (roi_end - roi_start) * static_cast<float>(in - 1);
      return length > 1 ? roi_start * static_cast<float>(in - 1) + x * span / (length - 1)
                        : 0.5f * (roi_start + roi_end) * static_cast<float>(in - 1);
    }
  }
  return x;
}

// Resamples `x` along one axis: every output element is a weighted sum of a few input elements
// (taps), gathered with index_select. Nearest is one tap of weight one.
at::Tensor resampleAxis(const at::Tensor& x, int64_t axis, int64_t out, float scale,
                        float roi_start, float roi_end, const ResizeMode& m) {
  int64_t in = x.size(axis);
  std::vector<std::vector<int64_t>> index;
  std::vector<std::vector<float>> weight;
  std::vector<int64_t> outside;
  // Linear and cubic filters reach 1 and 2 input steps; antialiasing stretches them by 1/scale.
  float support = m.interp == Interp::Cubic ? 2 : 1;
  float stretch = m.antialias && m.interp != Interp::Nearest ? std::min(scale, 1.0f) : 1.0f;
  int64_t first = static_cast<int64_t>(std::floor(-support / stretch)) + 1;
  int64_t taps = m.interp == Interp::Nearest ? 1 : 2 - 2 * first;
  index.assign(static_cast<size_t>(taps), std::vector<int64_t>(static_cast<size_t>(out)));
  weight.assign(static_cast<size_t>(taps), std::vector<float>(static_cast<size_t>(out), 0.0));
  for (int64_t o = 0; o < out; ++o) {
    size_t oi = static_cast<size_t>(o);
    float xo = originalCoordinate(m, static_cast<float>(o), scale, in, out, roi_start, roi_end);
    if (m.coord == Coord::TfCropAndResize && (xo < 0 || xo > static_cast<float>(in - 1))) {
      outside.push_back(o);
      continue;
    }
    // The left neighbour is the one strictly below xo: on integers the ratio is 1, not 0.
    float fl = std::floor(xo);
    bool integral = fl == xo;
    int64_t base = static_cast<int64_t>(fl) - (integral ? 1 : 0);
    float ratio = xo - static_cast<float>(base);
    if (m.interp == Interp::Nearest) {
      int64_t pick = static_cast<int64_t>(fl);
      if (!integral) {
        float r = xo - fl;
        bool up = m.rounding == Rounding::PreferFloor  ? r > 0.5f
                  : m.rounding == Rounding::PreferCeil ? r >= 0.5f
                                                       : m.rounding == Rounding::Ceil;
        pick += up ? 1 : 0;
      }
      index[0][oi] = std::clamp<int64_t>(pick, 0, in - 1);
      weight[0][oi] = 1;
      continue;
    }
    float sum = 0;
    for (int64_t k = 0; k < taps; ++k) {
      int64_t i = first + k;
      float t = (static_cast<float>(i) - ratio) * stretch;
      float w =
          m.interp == Interp::Cubic ? cubicWeight(t, m.cubic_a) : std::max(0.0f, 1 - std::abs(t));
      int64_t src = base + i;
      if (m.exclude_outside && (src < 0 || src >= in)) w = 0;
      index[static_cast<size_t>(k)][oi] = std::clamp<int64_t>(src, 0, in - 1);
      weight[static_cast<size_t>(k)][oi] = w;
      sum += w;
    }
    if ((m.exclude_outside || stretch != 1.0f) && sum != 0)
      for (int64_t k = 0; k < taps; ++k)
        weight[static_cast<size_t>(k)][oi] /= sum;
  }
  Ints wshape = alongAxis(x.dim(), axis, out);
  at::Tensor y;
  for (int64_t k = 0; k < taps; ++k) {
    at::Tensor g = x.index_select(axis, at::tensor(index[static_cast<size_t>(k)], at::kLong));
    if (m.interp == Interp::Nearest) {
      y = g;
      break;
    }
    at::Tensor w =
        at::tensor(weight[static_cast<size_t>(k)], at::kFloat).to(x.scalar_type()).view(wshape);
    y = k == 0 ? g * w : y.add_(g * w);
  }
  if (!outside.empty()) {
    if (m.interp == Interp::Nearest) y = y.clone();
    y.index_fill_(axis, at::tensor(outside, at::kLong), m.extrapolation);
  }
  return y;
}

ResizeMode resizeMode(const KernelContext& ctx, bool legacy) {
  ResizeMode m;
  std::string mode = ctx.attrString("mode", "nearest");
  if (mode == "nearest")
    m.interp = Interp::Nearest;
  else if (mode == "linear" || mode == "bilinear" || mode == "trilinear")
    m.interp = Interp::Linear;
  else if (mode == "cubic" && !legacy)
    m.interp = Interp::Cubic;
  else
    ctx.fail("unknown mode '{}'", mode);
  if (legacy) {
    // Upsample and Resize-10: asymmetric coordinates, nearest rounds down.
    m.coord = Coord::Asymmetric;
    m.rounding = Rounding::Floor;
    return m;
  }
  std::string coord = ctx.attrString("coordinate_transformation_mode", "half_pixel");
  if (coord == "half_pixel")
    m.coord = Coord::HalfPixel;
  else if (coord == "half_pixel_symmetric")
    m.coord = Coord::HalfPixelSymmetric;
  else if (coord == "pytorch_half_pixel")
    m.coord = Coord::PytorchHalfPixel;
  else if (coord == "align_corners")
    m.coord = Coord::AlignCorners;
  else if (coord == "asymmetric")
    m.coord = Coord::Asymmetric;
  else if (coord == "tf_half_pixel_for_nn")
    m.coord = Coord::TfHalfPixelForNN;
  else if (coord == "tf_crop_and_resize")
    m.coord = Coord::TfCropAndResize;
  else
    ctx.fail("unknown coordinate_transformation_mode '{}'", coord);
  std::string rounding = ctx.attrString("nearest_mode", "round_prefer_floor");
  if (rounding == "round_prefer_floor")
    m.rounding = Rounding::PreferFloor;
  else if (rounding == "round_prefer_ceil")
    m.rounding = Rounding::PreferCeil;
  else if (rounding == "floor")
    m.rounding = Rounding::Floor;
  else if (rounding == "ceil")
    m.rounding = Rounding::Ceil;
  else
    ctx.fail("unknown nearest_mode '{}'", rounding);
  m.cubic_a = ctx.attrFloat("cubic_coeff_a", -0.75f);
  m.exclude_outside = ctx.attrInt("exclude_outside", 0) != 0;
  m.antialias = ctx.attrInt("antialias", 0) != 0;
  m.extrapolation = ctx.attrFloat("extrapolation_value", 0.0f);
  return m;
}

// Value range of an integer ONNX type (the unsigned ones are stored in wider ATen types).
std::pair<double, double> integerRange(DType t) {
  switch (t) {
    case DType::U8:
      return {0, 255};
    case DType::I8:
      return {-128, 127};
    case DType::U16:
      return {0, 65535};
    case DType::I16:
      return {-32768, 32767};
    case DType::U32:
      return {0, 4294967295.0};
    case DType::I32:
      return {-2147483648.0, 2147483647.0};
    case DType::Bool:
      return {0, 1};
    default:
      return {-9.2e18, 9.2e18};
  }
}

std::vector<float> floatValues(const at::Tensor& t) {
  at::Tensor d = t.to(at::kFloat).contiguous();
  return std::vector<float>(d.data_ptr<float>(), d.data_ptr<float>() + d.numel());
}

// Shared by Resize (10-18) and Upsample (7-9). `scales` and `sizes` list the resized axes only.
void resize(KernelContext& ctx, const ResizeMode& m, std::vector<float> scales, Ints sizes,
            std::vector<float> roi, Ints axes) {
  const at::Tensor& in = ctx.input(0);
  int64_t rank = in.dim();
  if (axes.empty()) {
    axes.resize(static_cast<size_t>(rank));
    std::iota(axes.begin(), axes.end(), 0);
  }
  for (auto& a : axes)
    a = normalizeAxis(ctx, a, rank);
  size_t n = axes.size();
  if (!sizes.empty()) {
    if (sizes.size() != n) ctx.fail("sizes has {} entries for {} axes", sizes.size(), n);
    scales.assign(n, 0);
    std::string policy = ctx.attrString("keep_aspect_ratio_policy", "stretch");
    if (policy == "stretch") {
      for (size_t i = 0; i < n; ++i)
        scales[i] = static_cast<float>(sizes[i]) / static_cast<float>(in.size(axes[i]));
    } else if (policy == "not_larger" || policy == "not_smaller") {
      // One scale for all axes; the sizes follow from it.
      float s = policy == "not_larger" ? std::numeric_limits<float>::infinity() : 0;
      for (size_t i = 0; i < n; ++i) {
        float r = static_cast<float>(sizes[i]) / static_cast<float>(in.size(axes[i]));
        s = policy == "not_larger" ? std::min(s, r) : std::max(s, r);
      }
      for (size_t i = 0; i < n; ++i) {
        scales[i] = s;
        sizes[i] =
            static_cast<int64_t>(std::floor(s * static_cast<float>(in.size(axes[i])) + 0.5f));
      }
    } else {
      ctx.fail("unknown keep_aspect_ratio_policy '{}'", policy);
    }
  } else {
    if (scales.size() != n) ctx.fail("scales has {} entries for {} axes", scales.size(), n);
    for (size_t i = 0; i < n; ++i) {
      if (scales[i] <= 0) ctx.fail("scales must be positive");
      sizes.push_back(
          static_cast<int64_t>(std::floor(scales[i] * static_cast<float>(in.size(axes[i])))));
    }
  }
  if (m.coord == Coord::TfCropAndResize) {
    if (roi.size() == 2 * static_cast<size_t>(rank) && n != static_cast<size_t>(rank)) {
      std::vector<float> sub;
      for (size_t half = 0; half < 2; ++half)
        for (int64_t a : axes)
          sub.push_back(roi[half * static_cast<size_t>(rank) + static_cast<size_t>(a)]);
      roi = sub;
    }
    if (roi.size() != 2 * n) ctx.fail("roi has {} entries, expected {}", roi.size(), 2 * n);
  }
  // Interpolation runs in floating point; integer results are saturated and truncated (as in
  // ONNX Runtime and the ONNX reference).
  bool integral = !at::isFloatingType(in.scalar_type());
  at::Tensor x = m.interp == Interp::Nearest ? in : integral ? in.to(at::kFloat) : widen(in);
  for (size_t i = 0; i < n; ++i) {
    int64_t a = axes[i];
    bool identity = sizes[i] == x.size(a) && scales[i] == 1.0f && m.coord != Coord::TfCropAndResize;
    if (identity) continue;
    x = resampleAxis(x, a, sizes[i], scales[i], roi.empty() ? 0 : roi[i],
                     roi.empty() ? 1 : roi[i + n], m);
  }
  if (x.scalar_type() != in.scalar_type()) {
    if (integral) {
      auto [lo, hi] = integerRange(ctx.inputType(0));
      x = at::clamp(x, lo, hi);
    }
    x = x.to(in.scalar_type());
  }
  ctx.setOutput(0, x.contiguous(), ctx.inputType(0));
}

void opResize(KernelContext& ctx) {
  if (ctx.opset() < 11) {
    resize(ctx, resizeMode(ctx, true), floatValues(ctx.input(1)), {}, {}, {});
    return;
  }
  std::vector<float> scales, roi;
  Ints sizes;
  if (given(ctx, 3)) sizes = ctx.inputInts(3);
  if (sizes.empty()) {
    if (!given(ctx, 2)) ctx.fail("Resize needs scales or sizes");
    scales = floatValues(ctx.input(2));
  }
  if (given(ctx, 1)) roi = floatValues(ctx.input(1));
  resize(ctx, resizeMode(ctx, false), scales, sizes, roi, ctx.attrInts("axes"));
}

void opUpsample(KernelContext& ctx) {
  std::vector<float> scales;
  if (ctx.opset() >= 9) {
    scales = floatValues(ctx.input(1));
  } else {
    for (float s : ctx.attrFloats("scales"))
      scales.push_back(s);
  }
  resize(ctx, resizeMode(ctx, true), scales, {}, {}, {});
}

// --- sampling and detection ----------------------------------------------------------------------

void opGridSample(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0));
  at::Tensor grid = ctx.input(1).to(x.scalar_type());
  // Opset 20 renamed bilinear/bicubic to linear/cubic.
  std::string mode = ctx.attrString("mode", ctx.opset() >= 20 ? "linear" : "bilinear");
  std::string padding = ctx.attrString("padding_mode", "zeros");
  int64_t interp = mode == "bilinear" || mode == "linear" ? 0
                   : mode == "nearest"                    ? 1
                   : mode == "bicubic" || mode == "cubic" ? 2
                                                          : -1;
  int64_t pad = padding == "zeros" ? 0 : padding == "border" ? 1 : padding == "reflection" ? 2 : -1;
  if (interp < 0) ctx.fail("unknown mode '{}'", mode);
  if (pad < 0) ctx.fail("unknown padding_mode '{}'", padding);
  at::Tensor y = at::grid_sampler(x, grid, interp, pad, ctx.attrInt("align_corners", 0) != 0);
  ctx.setOutput(0, y.to(ctx.input(0).scalar_type()), ctx.inputType(0));
}

// RoiAlign as ONNX Runtime computes it (in T: ROI geometry decides sample counts, so float
// rounding matters): each output cell averages (or takes the max of) a grid of bilinear samples;
// in max mode each sample is the largest of its four weighted corners.
template <typename T>
void roiAlign(const at::Tensor& x, const at::Tensor& rois, const Ints& batch_index, at::Tensor& y,
              bool max_mode, bool half_pixel, T spatial_scale, int64_t sampling_ratio) {
  int64_t channels = x.size(1), height = x.size(2), width = x.size(3);
  int64_t out_h = y.size(2), out_w = y.size(3);
  const T* data = x.data_ptr<T>();
  const T* box = rois.data_ptr<T>();
  T* out = y.data_ptr<T>();
  T offset = half_pixel ? T(0.5) : T(0);
  for (int64_t r = 0; r < y.size(0); ++r) {
    const T* b = box + r * 4;
    T x0 = b[0] * spatial_scale - offset, y0 = b[1] * spatial_scale - offset;
    T roi_w = b[2] * spatial_scale - offset - x0, roi_h = b[3] * spatial_scale - offset - y0;
    if (!half_pixel) {
      roi_w = std::max(roi_w, T(1));
      roi_h = std::max(roi_h, T(1));
    }
    T bin_h = roi_h / static_cast<T>(out_h), bin_w = roi_w / static_cast<T>(out_w);
    int64_t grid_h = sampling_ratio > 0 ? sampling_ratio : static_cast<int64_t>(std::ceil(bin_h));
    int64_t grid_w = sampling_ratio > 0 ? sampling_ratio : static_cast<int64_t>(std::ceil(bin_w));
    T count = static_cast<T>(std::max<int64_t>(grid_h * grid_w, 1));
    const T* image = data + batch_index[static_cast<size_t>(r)] * channels * height * width;
    for (int64_t c = 0; c < channels; ++c) {
      const T* plane = image + c * height * width;
      for (int64_t ph = 0; ph < out_h; ++ph)
        for (int64_t pw = 0; pw < out_w; ++pw) {
          T acc = 0;
          bool first = true;
          for (int64_t iy = 0; iy < grid_h; ++iy)
            for (int64_t ix = 0; ix < grid_w; ++ix) {
              T yy = y0 + static_cast<T>(ph) * bin_h +
                     (static_cast<T>(iy) + T(0.5)) * bin_h / static_cast<T>(grid_h);
              T xx = x0 + static_cast<T>(pw) * bin_w +
                     (static_cast<T>(ix) + T(0.5)) * bin_w / static_cast<T>(grid_w);
              T v = 0;
              if (!(yy < -1 || yy > static_cast<T>(height) || xx < -1 ||
                    xx > static_cast<T>(width))) {
                yy = std::max(yy, T(0));
                xx = std::max(xx, T(0));
                int64_t ylo = static_cast<int64_t>(yy), xlo = static_cast<int64_t>(xx);
                int64_t yhi = ylo + 1, xhi = xlo + 1;
                if (ylo >= height - 1) {
                  ylo = yhi = height - 1;
                  yy = static_cast<T>(ylo);
                }
                if (xlo >= width - 1) {
                  xlo = xhi = width - 1;
                  xx = static_cast<T>(xlo);
                }
                T ly = yy - static_cast<T>(ylo), lx = xx - static_cast<T>(xlo);
                T hy = 1 - ly, hx = 1 - lx;
                T v1 = hy * hx * plane[ylo * width + xlo], v2 = hy * lx * plane[ylo * width + xhi],
                  v3 = ly * hx * plane[yhi * width + xlo], v4 = ly * lx * plane[yhi * width + xhi];
                v = max_mode ? std::max(std::max(v1, v2), std::max(v3, v4)) : v1 + v2 + v3 + v4;
              }
              if (!max_mode)
                acc += v;
              else
                acc = first ? v : std::max(acc, v);
              first = false;
            }
          out[((r * channels + c) * out_h + ph) * out_w + pw] = max_mode ? acc : acc / count;
        }
    }
  }
}

void opRoiAlign(KernelContext& ctx) {
  at::Tensor x = widen(ctx.input(0)).contiguous();
  at::Tensor rois = ctx.input(1).to(x.scalar_type()).contiguous();
  Ints batch_index = ctx.inputInts(2);
  if (x.dim() != 4 || rois.dim() != 2 || rois.size(1) != 4)
    ctx.fail("RoiAlign needs a 4-D input and [num_rois, 4] rois");
  if (static_cast<int64_t>(batch_index.size()) != rois.size(0))
    ctx.fail("batch_indices has {} entries for {} rois", batch_index.size(), rois.size(0));
  for (int64_t b : batch_index)
    if (b < 0 || b >= x.size(0)) ctx.fail("batch index {} is out of range", b);
  std::string mode = ctx.attrString("mode", "avg");
  if (mode != "avg" && mode != "max") ctx.fail("unknown mode '{}'", mode);
  // Opset 16 added coordinate_transformation_mode; before it the behaviour was output_half_pixel.
  std::string coord = ctx.attrString("coordinate_transformation_mode",
                                     ctx.opset() >= 16 ? "half_pixel" : "output_half_pixel");
  if (coord != "half_pixel" && coord != "output_half_pixel")
    ctx.fail("unknown coordinate_transformation_mode '{}'", coord);
  at::Tensor y = at::empty(
      {rois.size(0), x.size(1), ctx.attrInt("output_height", 1), ctx.attrInt("output_width", 1)},
      x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "RoiAlign", [&] {
    roiAlign<scalar_t>(x, rois, batch_index, y, mode == "max", coord == "half_pixel",
                       static_cast<scalar_t>(ctx.attrFloat("spatial_scale", 1.0f)),
                       ctx.attrInt("sampling_ratio", 0));
  });
  ctx.setOutput(0, y.to(ctx.input(0).scalar_type()), ctx.inputType(0));
}

// Greedy per-class suppression as ONNX Runtime does it: candidates above score_threshold in
// descending score order (ties by box index), dropped when their IoU with a kept box exceeds
// iou_threshold. Output rows are [batch, class, box].
void opNonMaxSuppression(KernelContext& ctx) {
  at::Tensor boxes = ctx.input(0).to(at::kFloat).contiguous();
  at::Tensor scores = ctx.input(1).to(at::kFloat).contiguous();
  if (boxes.dim() != 3 || boxes.size(2) != 4 || scores.dim() != 3 ||
      scores.size(0) != boxes.size(0) || scores.size(2) != boxes.size(1))
    ctx.fail("boxes must be [batches, boxes, 4] and scores [batches, classes, boxes]");
  int64_t max_out = given(ctx, 2) ? ctx.inputInts(2)[0] : 0;
  float iou_threshold = given(ctx, 3) ? static_cast<float>(ctx.inputScalar(3)) : 0.0f;
  bool has_score_threshold = given(ctx, 4);
  float score_threshold = has_score_threshold ? static_cast<float>(ctx.inputScalar(4)) : 0.0f;
  bool center = ctx.attrInt("center_point_box", 0) != 0;
  int64_t batches = boxes.size(0), count = boxes.size(1), classes = scores.size(1);
  // Corners as [ymin, xmin, ymax, xmax].
  std::vector<std::array<float, 4>> corners(static_cast<size_t>(batches * count));
  const float* bp = boxes.data_ptr<float>();
  for (size_t i = 0; i < corners.size(); ++i) {
    const float* b = bp + i * 4;
    if (center) {
      corners[i] = {b[1] - b[3] / 2, b[0] - b[2] / 2, b[1] + b[3] / 2, b[0] + b[2] / 2};
    } else {
      corners[i] = {std::min(b[0], b[2]), std::min(b[1], b[3]), std::max(b[0], b[2]),
                    std::max(b[1], b[3])};
    }
  }
  auto suppresses = [&](const std::array<float, 4>& a, const std::array<float, 4>& b) {
    float ih = std::min(a[2], b[2]) - std::max(a[0], b[0]);
    float iw = std::min(a[3], b[3]) - std::max(a[1], b[1]);
    if (ih <= 0 || iw <= 0) return false;
    float inter = ih * iw;
    float area_a = (a[2] - a[0]) * (a[3] - a[1]), area_b = (b[2] - b[0]) * (b[3] - b[1]);
    float uni = area_a + area_b - inter;
    if (area_a <= 0 || area_b <= 0 || uni <= 0) return false;
    return inter / uni > iou_threshold;
  };
  std::vector<int64_t> selected;
  const float* sp = scores.data_ptr<float>();
  for (int64_t b = 0; b < batches; ++b)
    for (int64_t c = 0; c < classes; ++c) {
      const float* s = sp + (b * classes + c) * count;
      std::vector<int64_t> order;
      for (int64_t i = 0; i < count; ++i)
        if (!has_score_threshold || s[i] > score_threshold) order.push_back(i);
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t i, int64_t j) { return s[i] > s[j]; });
      std::vector<int64_t> kept;
      for (int64_t i : order) {
        if (static_cast<int64_t>(kept.size()) >= max_out) break;
        const auto& box = corners[static_cast<size_t>(b * count + i)];
        bool drop = std::any_of(kept.begin(), kept.end(), [&](int64_t k) {
          return suppresses(corners[static_cast<size_t>(b * count + k)], box);
        });
        if (drop) continue;
        kept.push_back(i);
        selected.insert(selected.end(), {b, c, i});
      }
    }
  int64_t rows = static_cast<int64_t>(selected.size() / 3);
  ctx.setOutput(0, at::tensor(selected, at::kLong).view({rows, 3}), DType::I64);
}

}  // namespace

void addNNKernels(KernelList& k) {
  k.push_back({"", "Conv", opConv});
  k.push_back({kExecDomain, "ConvClamp", opConvClamp});
  k.push_back({"", "ConvTranspose", opConvTranspose});
  k.push_back({"", "AveragePool", opAveragePool});
  k.push_back({"", "MaxPool", opMaxPool});
  k.push_back({"", "LpPool", opLpPool});
  k.push_back({"", "GlobalAveragePool", opGlobalAveragePool});
  k.push_back({"", "GlobalMaxPool", opGlobalMaxPool});
  k.push_back({"", "GlobalLpPool", opGlobalLpPool});
  k.push_back({"", "MaxUnpool", opMaxUnpool});
  k.push_back({"", "BatchNormalization", opBatchNormalization});
  k.push_back({"", "InstanceNormalization", opInstanceNormalization});
  k.push_back({"", "LayerNormalization", opLayerNormalization});
  k.push_back({"", "LRN", opLRN});
  k.push_back({"", "RNN", opRNN});
  k.push_back({"", "GRU", opGRU});
  k.push_back({"", "LSTM", opLSTM});
  k.push_back({"", "Resize", opResize});
  k.push_back({"", "Upsample", opUpsample});
  k.push_back({"", "GridSample", opGridSample});
  k.push_back({"", "RoiAlign", opRoiAlign});
  k.push_back({"", "NonMaxSuppression", opNonMaxSuppression});
}

}  // namespace mopt::exec
