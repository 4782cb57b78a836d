// Tensor-manipulation kernels: reshapes, concatenation and splitting, gathers and scatters,
// slicing, padding, tiling, sorting-based ops (TopK, Unique), TfIdfVectorizer and the random ops.
#include "exec/Runtime.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace mopt::exec {

namespace {

// --- helpers -------------------------------------------------------------------------------------

// "[2, 3]", for messages.
std::string listStr(at::IntArrayRef v) {
  return c10::str(v);
}

int64_t product(at::IntArrayRef dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

// Data-movement kernels work on ATen tensors. A string tensor takes part as an int64 tensor of
// indices into a pool holding the strings of all string inputs (-1 stands for the fill string,
// e.g. padding); an output's indices pick its strings back out. One code path serves both.
class Operands {
 public:
  explicit Operands(KernelContext& ctx) : ctx_(ctx) {}

  // Input i: the tensor itself, or for strings, its indices into the pool.
  at::Tensor get(size_t i) {
    const RtValue& v = ctx_.value(i);
    bool is_strings = v.kind == RtValue::Kind::Strings;
    if ((is_strings && numeric_) || (!is_strings && strings_))
      ctx_.fail("data inputs mix string and numeric tensors");
    if (!is_strings) {
      numeric_ = true;
      return ctx_.input(i);
    }
    strings_ = true;
    auto base = static_cast<int64_t>(pool_.size());
    pool_.insert(pool_.end(), v.strings->begin(), v.strings->end());
    return at::arange(base, static_cast<int64_t>(pool_.size()), at::kLong).reshape(v.dims);
  }
  bool strings() const { return strings_; }
  void setFill(std::string s) { fill_ = std::move(s); }

  void set(size_t out, const at::Tensor& t, DType dtype) {
    if (!strings_) {
      ctx_.setOutput(out, t, dtype);
      return;
    }
    at::Tensor idx = t.contiguous();
    const int64_t* p = idx.data_ptr<int64_t>();
    std::vector<std::string> s(static_cast<size_t>(idx.numel()));
    for (size_t i = 0; i < s.size(); ++i)
      s[i] = p[i] < 0 ? fill_ : pool_[static_cast<size_t>(p[i])];
    ctx_.setOutputValue(out, RtValue::fromStrings(idx.sizes().vec(), std::move(s)));
  }

 private:
  KernelContext& ctx_;
  std::vector<std::string> pool_;
  std::string fill_;
  bool strings_ = false, numeric_ = false;
};

// An integer list that moved from an attribute to an optional input at opset `since`; nullopt
// when the node gives none.
std::optional<std::vector<int64_t>> intsArg(const KernelContext& ctx, std::string_view attr,
                                            size_t input, int64_t since) {
  if (ctx.opset() >= since) {
    if (!ctx.hasInput(input)) return std::nullopt;
    return ctx.inputInts(input);
  }
  if (!ctx.hasAttr(attr)) return std::nullopt;
  return ctx.attrInts(attr);
}

// A one-value integer input, such as TopK's k.
int64_t inputInt(const KernelContext& ctx, size_t i) {
  std::vector<int64_t> v = ctx.inputInts(i);
  if (v.size() != 1) ctx.fail("input {} must hold one value, it has {}", i, v.size());
  return v[0];
}

// Indices into an axis of size n, negative ones counted from the end. Out-of-range indices fail
// here with a readable message rather than deep inside ATen.
at::Tensor axisIndices(const KernelContext& ctx, const at::Tensor& idx, int64_t n) {
  if (idx.scalar_type() != at::kLong && idx.scalar_type() != at::kInt)
    ctx.fail("indices must be int32 or int64, got {}", c10::toString(idx.scalar_type()));
  if (idx.numel() == 0) return idx;
  auto [lo, hi] = at::aminmax(idx);
  int64_t mn = lo.item<int64_t>(), mx = hi.item<int64_t>();
  if (mn < -n || mx >= n)
    ctx.fail("index {} is out of range for an axis of size {}", mn < -n ? mn : mx, n);
  return mn < 0 ? at::where(idx < 0, idx + n, idx) : idx;
}

// Row-major offsets of the index tuples along the last axis of `idx` into a block of leading
// dims `dims` (GatherND/ScatterND), negative components counted from the end.
at::Tensor tupleOffsets(const KernelContext& ctx, const at::Tensor& idx, at::IntArrayRef dims) {
  if (idx.scalar_type() != at::kLong && idx.scalar_type() != at::kInt)
    ctx.fail("indices must be int32 or int64, got {}", c10::toString(idx.scalar_type()));
  at::Tensor sizes = at::tensor(dims, at::kLong);
  at::Tensor i = idx.to(at::kLong);
  if (i.numel() > 0) {
    i = at::where(i < 0, i + sizes, i);
    if (((i < 0) | (i >= sizes)).any().item<bool>())
      ctx.fail("an index tuple is out of range for dims {}", listStr(dims));
  }
  std::vector<int64_t> strides(dims.size());
  int64_t s = 1;
  for (size_t j = dims.size(); j-- > 0;) {
    strides[j] = s;
    s *= dims[j];
  }
  return (i * at::tensor(strides, at::kLong)).sum(-1);
}

// Sorting kernels compare an order-preserving key: uint64 lives bit-for-bit in int64, so its
// sign bit is flipped; half types and bool go through types every ATen sort and unique handles.
at::Tensor sortKey(const at::Tensor& x, DType dtype) {
  if (dtype == DType::U64) return at::bitwise_xor(x, std::numeric_limits<int64_t>::min());
  if (x.scalar_type() == at::kHalf || x.scalar_type() == at::kBFloat16) return x.to(at::kFloat);
  if (x.scalar_type() == at::kBool) return x.to(at::kByte);
  return x;
}

// at::scatter_reduce prints a one-time "in beta" warning on stderr; mopt relies only on its
// documented semantics, so the first call (which warns) happens with warnings silenced.
at::Tensor scatterReduce(const at::Tensor& self, int64_t dim, const at::Tensor& index,
                         const at::Tensor& src, const char* reduce) {
  static const bool warned = [] {
    struct Quiet : c10::WarningHandler {
      void process(const c10::SourceLocation&, const std::string&, const bool) override {}
    } quiet;
    c10::Warning::WarningHandlerGuard guard(&quiet);
    at::Tensor t = at::zeros({1});
    at::scatter_reduce(t, 0, at::zeros({1}, at::kLong), t, "sum");
    return true;
  }();
  (void)warned;
  return at::scatter_reduce(self, dim, index, src, reduce, true);
}

// The `dtype` attribute as a DType, or `fallback` when absent.
DType dtypeAttr(const KernelContext& ctx, DType fallback) {
  if (!ctx.hasAttr("dtype")) return fallback;
  int64_t code = ctx.attrInt("dtype", 0);
  auto dt = dtypeFromOnnx(static_cast<int32_t>(code));
  if (!dt || !atenCanHold(*dt)) ctx.fail("dtype {} is not supported by the executor", code);
  return *dt;
}

// --- reshaping -----------------------------------------------------------------------------------

void opFlatten(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  int64_t rank = x.dim(), axis = ctx.attrInt("axis", 1);
  if (axis < -rank || axis > rank) ctx.fail("axis {} is out of range for rank {}", axis, rank);
  if (axis < 0) axis += rank;
  int64_t outer = product(x.sizes().slice(0, static_cast<size_t>(axis)));
  int64_t inner = product(x.sizes().slice(static_cast<size_t>(axis)));
  ops.set(0, x.reshape({outer, inner}), ctx.inputType(0));
}

void opReshape(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  const std::vector<int64_t> requested = ctx.inputInts(1);
  std::vector<int64_t> shape = requested;
  bool allowzero = ctx.opset() >= 14 && ctx.attrInt("allowzero", 0) != 0;
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    auto d = static_cast<int64_t>(i);
    if (shape[i] == 0 && !allowzero) {
      if (d >= x.dim()) ctx.fail("shape entry {} is 0 but the input has rank {}", i, x.dim());
      shape[i] = x.size(d);
    }
    if (shape[i] == -1) {
      if (infer >= 0) ctx.fail("shape {} has more than one -1", listStr(requested));
      infer = d;
      continue;
    }
    if (shape[i] < 0) ctx.fail("shape {} has a negative entry", listStr(requested));
    known *= shape[i];
  }
  if (infer >= 0) {
    if (known == 0 || x.numel() % known != 0)
      ctx.fail("cannot infer the -1 of shape {} for {} elements", listStr(requested), x.numel());
    shape[static_cast<size_t>(infer)] = x.numel() / known;
  } else if (known != x.numel()) {
    ctx.fail("cannot reshape {} to {}", listStr(x.sizes()), listStr(requested));
  }
  ops.set(0, x.reshape(shape), ctx.inputType(0));
}

void opSqueeze(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  int64_t rank = x.dim();
  std::vector<bool> drop(static_cast<size_t>(rank), false);
  auto axes = intsArg(ctx, "axes", 1, 13);
  if (!axes || axes->empty()) {
    for (int64_t d = 0; d < rank; ++d)
      drop[static_cast<size_t>(d)] = x.size(d) == 1;
  } else {
    for (int64_t a : *axes) {
      int64_t d = normalizeAxis(ctx, a, rank);
      if (x.size(d) != 1) ctx.fail("cannot squeeze axis {} of size {}", a, x.size(d));
      drop[static_cast<size_t>(d)] = true;
    }
  }
  for (int64_t d = rank - 1; d >= 0; --d)
    if (drop[static_cast<size_t>(d)]) x = x.squeeze(d);
  ops.set(0, x, ctx.inputType(0));
}

void opUnsqueeze(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  auto axes = intsArg(ctx, "axes", 1, 13);
  if (!axes) ctx.fail("Unsqueeze needs axes");
  int64_t rank = x.dim() + static_cast<int64_t>(axes->size());
  std::vector<bool> insert(static_cast<size_t>(rank), false);
  for (int64_t a : *axes) {
    int64_t d = normalizeAxis(ctx, a, rank);
    if (insert[static_cast<size_t>(d)]) ctx.fail("axis {} appears twice", a);
    insert[static_cast<size_t>(d)] = true;
  }
  // Inserting in increasing order puts every new axis at its final position.
  for (int64_t d = 0; d < rank; ++d)
    if (insert[static_cast<size_t>(d)]) x = x.unsqueeze(d);
  ops.set(0, x, ctx.inputType(0));
}

void opTranspose(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  int64_t rank = x.dim();
  std::vector<int64_t> perm = ctx.attrInts("perm");
  if (perm.empty())
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  if (static_cast<int64_t>(perm.size()) != rank)
    ctx.fail("perm has {} entries for rank {}", perm.size(), rank);
  for (int64_t& p : perm) {
    p = normalizeAxis(ctx, p, rank);
    if (seen[static_cast<size_t>(p)]) ctx.fail("perm is not a permutation");
    seen[static_cast<size_t>(p)] = true;
  }
  ops.set(0, x.permute(perm), ctx.inputType(0));
}

void opExpand(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  std::vector<int64_t> shape = ctx.inputInts(1);
  // Bidirectional broadcasting: a 1 in `shape` keeps the input's size.
  int64_t rank = std::max<int64_t>(x.dim(), static_cast<int64_t>(shape.size()));
  std::vector<int64_t> out(static_cast<size_t>(rank));
  for (int64_t i = 1; i <= rank; ++i) {
    int64_t a = i <= x.dim() ? x.size(-i) : 1;
    int64_t b = i <= static_cast<int64_t>(shape.size()) ? shape[shape.size() - i] : 1;
    if (a != b && a != 1 && b != 1)
      ctx.fail("cannot expand {} to {}", listStr(x.sizes()), listStr(shape));
    out[static_cast<size_t>(rank - i)] = a == 1 ? b : a;
  }
  ops.set(0, x.expand(out), ctx.inputType(0));
}

void opTile(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  std::vector<int64_t> repeats = ctx.inputInts(1);
  if (static_cast<int64_t>(repeats.size()) != x.dim())
    ctx.fail("repeats has {} entries for rank {}", repeats.size(), x.dim());
  for (int64_t r : repeats)
    if (r < 0) ctx.fail("repeats must not be negative");
  ops.set(0, x.repeat(repeats), ctx.inputType(0));
}

void opDepthToSpace(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  int64_t b = ctx.attrInt("blocksize", 0);
  if (x.dim() != 4) ctx.fail("DepthToSpace needs a 4-D input, got rank {}", x.dim());
  int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (b <= 0 || c % (b * b) != 0)
    ctx.fail("blocksize {} does not divide the {} channels into blocks", b, c);
  int64_t oc = c / (b * b);
  bool crd = ctx.attrString("mode", "DCR") == "CRD";
  at::Tensor y = crd ? x.reshape({n, oc, b, b, h, w}).permute({0, 1, 4, 2, 5, 3})
                     : x.reshape({n, b, b, oc, h, w}).permute({0, 3, 4, 1, 5, 2});
  ops.set(0, y.reshape({n, oc, h * b, w * b}), ctx.inputType(0));
}

void opSpaceToDepth(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  int64_t b = ctx.attrInt("blocksize", 0);
  if (x.dim() != 4) ctx.fail("SpaceToDepth needs a 4-D input, got rank {}", x.dim());
  int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (b <= 0 || h % b != 0 || w % b != 0)
    ctx.fail("blocksize {} does not divide the spatial dims {}x{}", b, h, w);
  at::Tensor y = x.reshape({n, c, h / b, b, w / b, b}).permute({0, 3, 5, 1, 2, 4});
  ops.set(0, y.reshape({n, c * b * b, h / b, w / b}), ctx.inputType(0));
}

// --- concatenation, splitting, slicing, padding --------------------------------------------------

void opConcat(KernelContext& ctx) {
  Operands ops(ctx);
  std::vector<at::Tensor> parts;
  for (size_t i = 0; i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i)) parts.push_back(ops.get(i));
  if (parts.empty()) ctx.fail("Concat has no inputs");
  if (!ctx.hasAttr("axis")) ctx.fail("Concat needs an axis");
  int64_t rank = parts[0].dim();
  if (rank == 0) ctx.fail("Concat of scalars");
  int64_t axis = normalizeAxis(ctx, ctx.attrInt("axis", 0), rank);
  for (const at::Tensor& p : parts) {
    bool ok = p.dim() == rank;
    for (int64_t d = 0; ok && d < rank; ++d)
      ok = d == axis || p.size(d) == parts[0].size(d);
    if (!ok)
      ctx.fail("cannot concatenate {} and {} along axis {}", listStr(parts[0].sizes()),
               listStr(p.sizes()), axis);
  }
  ops.set(0, parts.size() == 1 ? parts[0] : at::cat(parts, axis), ctx.inputType(0));
}

void opSplit(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  int64_t axis = normalizeAxis(ctx, ctx.attrInt("axis", 0), x.dim());
  int64_t dim = x.size(axis);
  auto outputs = static_cast<int64_t>(ctx.numOutputs());
  std::vector<int64_t> sizes;
  auto split = intsArg(ctx, "split", 1, 13);
  if (split && !split->empty()) {
    sizes = *split;
    int64_t total = 0;
    for (int64_t s : sizes) {
      if (s < 0) ctx.fail("split sizes must not be negative");
      total += s;
    }
    if (static_cast<int64_t>(sizes.size()) != outputs || total != dim)
      ctx.fail("split {} does not cut an axis of size {} into {} outputs", listStr(sizes), dim,
               outputs);
  } else {
    // Equal chunks; from opset 18 (num_outputs) the last one may be smaller.
    int64_t n = ctx.opset() >= 18 ? ctx.attrInt("num_outputs", outputs) : outputs;
    if (n != outputs) ctx.fail("num_outputs is {} but the node has {} outputs", n, outputs);
    int64_t chunk = (dim + n - 1) / n;
    if (ctx.opset() < 18 && dim % n != 0)
      ctx.fail("an axis of size {} does not split into {} equal parts", dim, n);
    if (chunk * (n - 1) > dim) ctx.fail("an axis of size {} does not split into {} chunks", dim, n);
    sizes.assign(static_cast<size_t>(n), chunk);
    sizes.back() = dim - chunk * (n - 1);
  }
  int64_t offset = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (ctx.wantsOutput(i)) ops.set(i, x.narrow(axis, offset, sizes[i]), ctx.inputType(0));
    offset += sizes[i];
  }
}

void opSlice(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  int64_t rank = x.dim();
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() >= 10) {
    starts = ctx.inputInts(1);
    ends = ctx.inputInts(2);
    if (ctx.hasInput(3)) axes = ctx.inputInts(3);
    if (ctx.hasInput(4)) steps = ctx.inputInts(4);
  } else {
    starts = ctx.attrInts("starts");
    ends = ctx.attrInts("ends");
    axes = ctx.attrInts("axes");
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    ctx.fail("starts, ends, axes and steps have different lengths");
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  std::vector<int64_t> flips;
  for (size_t j = 0; j < starts.size(); ++j) {
    int64_t a = normalizeAxis(ctx, axes[j], rank);
    if (seen[static_cast<size_t>(a)]) ctx.fail("axis {} is sliced twice", axes[j]);
    seen[static_cast<size_t>(a)] = true;
    int64_t dim = x.size(a), step = steps[j];
    if (step == 0) ctx.fail("slice step must not be 0");
    int64_t s = starts[j] < 0 ? starts[j] + dim : starts[j];
    int64_t e = ends[j] < 0 ? ends[j] + dim : ends[j];
    if (step > 0) {
      s = std::min(std::max<int64_t>(s, 0), dim);
      e = std::min(std::max<int64_t>(e, 0), dim);
      x = x.slice(a, s, std::max(s, e), step);
      continue;
    }
    // Negative steps: ATen views only step forward, so take the same elements forward and flip.
    // (Any stride past the axis picks one element; clamping keeps -step from overflowing.)
    step = std::max(step, -dim - 1);
    s = std::min(std::max<int64_t>(s, 0), dim - 1);
    e = std::min(std::max<int64_t>(e, -1), dim - 1);
    int64_t count = s > e ? (s - e - step - 1) / -step : 0;
    if (count == 0) {
      x = x.narrow(a, 0, 0);
      continue;
    }
    x = x.slice(a, s + (count - 1) * step, s + 1, -step);
    flips.push_back(a);
  }
  if (!flips.empty()) x = x.flip(flips);
  ops.set(0, x, ctx.inputType(0));
}

// Source positions for padding an axis of size n by `before`/`after` in reflect, edge or wrap
// mode.
std::vector<int64_t> padSource(const KernelContext& ctx, const std::string& mode, int64_t n,
                               int64_t before, int64_t after) {
  if (n == 0) ctx.fail("cannot pad an empty axis in {} mode", mode);
  std::vector<int64_t> src;
  src.reserve(static_cast<size_t>(before + n + after));
  int64_t period = 2 * (n - 1);
  for (int64_t i = -before; i < n + after; ++i) {
    int64_t j;
    if (mode == "edge") {
      j = std::min(std::max<int64_t>(i, 0), n - 1);
    } else if (mode == "wrap") {
      j = (i % n + n) % n;
    } else if (n == 1) {
      j = 0;
    } else {
      j = (i % period + period) % period;
      if (j >= n) j = period - j;
    }
    src.push_back(j);
  }
  return src;
}

void opPad(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  int64_t rank = x.dim();
  std::string mode = ctx.attrString("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    ctx.fail("unknown pad mode '{}'", mode);
  std::vector<int64_t> pads, axes;
  at::Scalar value = 0.0;
  if (ctx.opset() >= 11) {
    pads = ctx.inputInts(1);
    if (ctx.hasInput(2)) {
      const RtValue& v = ctx.value(2);
      if (v.kind == RtValue::Kind::Strings) {
        if (!v.strings->empty()) ops.setFill(v.strings->front());
      } else if (!ops.strings() && ctx.input(2).numel() > 0) {
        value = ctx.input(2).reshape({-1})[0].item();
      }
    }
    if (ctx.opset() >= 18 && ctx.hasInput(3)) axes = ctx.inputInts(3);
  } else {
    pads = ctx.attrInts("pads");
    value = static_cast<double>(ctx.attrFloat("value", 0));
  }
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  if (pads.size() != 2 * axes.size())
    ctx.fail("pads has {} entries for {} axes", pads.size(), axes.size());
  std::vector<int64_t> before(static_cast<size_t>(rank), 0), after(before);
  for (size_t j = 0; j < axes.size(); ++j) {
    auto d = static_cast<size_t>(normalizeAxis(ctx, axes[j], rank));
    before[d] = pads[j];
    after[d] = pads[j + axes.size()];
  }
  if (mode == "constant") {
    // ATen orders pads from the last axis, (before, after) per axis; negative pads crop.
    std::vector<int64_t> aten_pads;
    for (size_t d = before.size(); d-- > 0;) {
      aten_pads.push_back(before[d]);
      aten_pads.push_back(after[d]);
    }
    ops.set(0, at::constant_pad_nd(x, aten_pads, ops.strings() ? at::Scalar(-1) : value),
            ctx.inputType(0));
    return;
  }
  for (int64_t d = 0; d < rank; ++d) {
    int64_t b = before[static_cast<size_t>(d)], e = after[static_cast<size_t>(d)];
    // Negative pads crop first; the padding then mirrors or repeats what remains.
    int64_t cut_b = std::max<int64_t>(-b, 0), cut_e = std::max<int64_t>(-e, 0);
    if (cut_b + cut_e > x.size(d)) ctx.fail("pads crop more than axis {} holds", d);
    if (cut_b || cut_e) x = x.narrow(d, cut_b, x.size(d) - cut_b - cut_e);
    if (b > 0 || e > 0) {
      std::vector<int64_t> src =
          padSource(ctx, mode, x.size(d), std::max<int64_t>(b, 0), std::max<int64_t>(e, 0));
      x = x.index_select(d, at::tensor(src, at::kLong));
    }
  }
  ops.set(0, x, ctx.inputType(0));
}

// --- gathers and scatters ------------------------------------------------------------------------

void opGather(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  const at::Tensor& indices = ctx.input(1);
  if (x.dim() == 0) ctx.fail("Gather on a scalar");
  int64_t axis = normalizeAxis(ctx, ctx.attrInt("axis", 0), x.dim());
  at::Tensor idx = axisIndices(ctx, indices, x.size(axis));
  // One index (e.g. the last token's state, or one dim of a shape) is a view, not a copy.
  if (idx.dim() == 0) {
    ops.set(0, x.select(axis, idx.item<int64_t>()), ctx.inputType(0));
    return;
  }
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().begin() + axis);
  shape.insert(shape.end(), indices.sizes().begin(), indices.sizes().end());
  shape.insert(shape.end(), x.sizes().begin() + axis + 1, x.sizes().end());
  ops.set(0, x.index_select(axis, idx.reshape({-1})).reshape(shape), ctx.inputType(0));
}

void opGatherElements(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  const at::Tensor& indices = ctx.input(1);
  if (indices.dim() != x.dim())
    ctx.fail("indices have rank {}, data rank {}", indices.dim(), x.dim());
  int64_t axis = normalizeAxis(ctx, ctx.attrInt("axis", 0), x.dim());
  at::Tensor idx = axisIndices(ctx, indices, x.size(axis)).to(at::kLong);
  ops.set(0, at::gather(x, axis, idx), ctx.inputType(0));
}

void opGatherND(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  const at::Tensor& indices = ctx.input(1);
  int64_t b = ctx.attrInt("batch_dims", 0), r = x.dim(), q = indices.dim();
  if (q < 1 || r < 1 || b < 0 || b >= std::min(q, r))
    ctx.fail("batch_dims {} is invalid for data rank {} and indices rank {}", b, r, q);
  int64_t k = indices.size(-1);
  if (k > r - b) ctx.fail("index tuples of length {} for {} non-batch dims", k, r - b);
  for (int64_t d = 0; d < b; ++d)
    if (indices.size(d) != x.size(d)) ctx.fail("batch dim {} differs in data and indices", d);
  // Batch dims collapse into one, the k indexed dims into one; a single index_select follows.
  auto sizes = x.sizes();
  int64_t batches = product(sizes.slice(0, static_cast<size_t>(b)));
  int64_t block = product(sizes.slice(static_cast<size_t>(b), static_cast<size_t>(k)));
  std::vector<int64_t> rest(sizes.begin() + b + k, sizes.end());
  std::vector<int64_t> shape(indices.sizes().begin(), indices.sizes().end() - 1);
  shape.insert(shape.end(), rest.begin(), rest.end());
  int64_t per_batch =
      product(indices.sizes().slice(static_cast<size_t>(b), static_cast<size_t>(q - b - 1)));
  at::Tensor lin =
      tupleOffsets(ctx, indices, sizes.slice(static_cast<size_t>(b), static_cast<size_t>(k)))
          .reshape({batches, per_batch});
  lin = lin + at::arange(batches, at::kLong).unsqueeze(1) * block;
  std::vector<int64_t> flat_shape{batches * block};
  flat_shape.insert(flat_shape.end(), rest.begin(), rest.end());
  at::Tensor out = x.reshape(flat_shape).index_select(0, lin.reshape({-1}));
  ops.set(0, out.reshape(shape), ctx.inputType(0));
}

void opCompress(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  at::Tensor cond = ctx.input(1).to(at::kBool).reshape({-1});
  int64_t axis = 0;
  if (ctx.hasAttr("axis"))
    axis = normalizeAxis(ctx, ctx.attrInt("axis", 0), x.dim());
  else
    x = x.reshape({-1});
  at::Tensor picked = at::nonzero(cond).reshape({-1});
  if (picked.numel() > 0 && picked.max().item<int64_t>() >= x.size(axis))
    ctx.fail("condition selects past the end of an axis of size {}", x.size(axis));
  ops.set(0, x.index_select(axis, picked), ctx.inputType(0));
}

const char* scatterReduction(const KernelContext& ctx) {
  std::string r = ctx.attrString("reduction", "none");
  if (r == "none") return nullptr;
  if (r == "add") return "sum";
  if (r == "mul") return "prod";
  if (r == "max") return "amax";
  if (r == "min") return "amin";
  ctx.fail("unknown reduction '{}'", r);
}

// ScatterElements and the deprecated Scatter (which has no reduction).
void opScatterElements(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  at::Tensor updates = ops.get(2);
  const at::Tensor& indices = ctx.input(1);
  if (indices.sizes() != updates.sizes() || indices.dim() != x.dim())
    ctx.fail("indices {} and updates {} must have the same shape, of the data's rank {}",
             listStr(indices.sizes()), listStr(updates.sizes()), x.dim());
  int64_t axis = normalizeAxis(ctx, ctx.attrInt("axis", 0), x.dim());
  at::Tensor idx = axisIndices(ctx, indices, x.size(axis)).to(at::kLong);
  const char* reduce = scatterReduction(ctx);
  if (reduce && ops.strings()) ctx.fail("scatter reductions need numeric data");
  ops.set(
      0, reduce ? scatterReduce(x, axis, idx, updates, reduce) : at::scatter(x, axis, idx, updates),
      ctx.inputType(0));
}

void opScatterND(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  at::Tensor updates = ops.get(2);
  const at::Tensor& indices = ctx.input(1);
  int64_t r = x.dim(), q = indices.dim();
  if (q < 1 || indices.size(-1) > r)
    ctx.fail("indices {} do not index data of rank {}", listStr(indices.sizes()), r);
  int64_t k = indices.size(-1);
  std::vector<int64_t> want(indices.sizes().begin(), indices.sizes().end() - 1);
  want.insert(want.end(), x.sizes().begin() + k, x.sizes().end());
  if (updates.sizes() != at::IntArrayRef(want))
    ctx.fail("updates have shape {}, expected {}", listStr(updates.sizes()), listStr(want));
  // The k indexed dims collapse into one; each index tuple then scatters one slice along it.
  at::Tensor lin = tupleOffsets(ctx, indices, x.sizes().slice(0, static_cast<size_t>(k)));
  std::vector<int64_t> flat{product(x.sizes().slice(0, static_cast<size_t>(k)))};
  flat.insert(flat.end(), x.sizes().begin() + k, x.sizes().end());
  std::vector<int64_t> upd_flat{lin.numel()};
  upd_flat.insert(upd_flat.end(), x.sizes().begin() + k, x.sizes().end());
  at::Tensor src = updates.reshape(upd_flat);
  std::vector<int64_t> lin_shape(upd_flat.size(), 1);
  lin_shape[0] = lin.numel();
  at::Tensor idx = lin.reshape(lin_shape).expand(upd_flat);
  const char* reduce = scatterReduction(ctx);
  if (reduce && ops.strings()) ctx.fail("scatter reductions need numeric data");
  at::Tensor xf = x.reshape(flat);
  at::Tensor out = reduce ? scatterReduce(xf, 0, idx, src, reduce) : at::scatter(xf, 0, idx, src);
  ops.set(0, out.reshape(x.sizes()), ctx.inputType(0));
}

void opReverseSequence(KernelContext& ctx) {
  Operands ops(ctx);
  at::Tensor x = ops.get(0);
  std::vector<int64_t> lens = ctx.inputInts(1);
  if (x.dim() < 2) ctx.fail("ReverseSequence needs rank >= 2, got {}", x.dim());
  int64_t batch_axis = normalizeAxis(ctx, ctx.attrInt("batch_axis", 1), x.dim());
  int64_t time_axis = normalizeAxis(ctx, ctx.attrInt("time_axis", 0), x.dim());
  if (batch_axis == time_axis) ctx.fail("batch_axis and time_axis are the same");
  int64_t steps = x.size(time_axis), batch = x.size(batch_axis);
  if (static_cast<int64_t>(lens.size()) != batch)
    ctx.fail("sequence_lens has {} entries for a batch of {}", lens.size(), batch);
  // Source time step of every (time, batch) position, then one gather along the time axis.
  std::vector<int64_t> src(static_cast<size_t>(steps * batch));
  for (int64_t bi = 0; bi < batch; ++bi) {
    int64_t len = lens[static_cast<size_t>(bi)];
    if (len < 0 || len > steps) ctx.fail("sequence length {} is out of range [0, {}]", len, steps);
    for (int64_t t = 0; t < steps; ++t)
      src[static_cast<size_t>(t * batch + bi)] = t < len ? len - 1 - t : t;
  }
  at::Tensor idx = at::tensor(src, at::kLong).reshape({steps, batch});
  if (time_axis > batch_axis) idx = idx.t();
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[static_cast<size_t>(time_axis)] = steps;
  shape[static_cast<size_t>(batch_axis)] = batch;
  idx = idx.reshape(shape).expand(x.sizes());
  ops.set(0, at::gather(x, time_axis, idx), ctx.inputType(0));
}

// --- generators ----------------------------------------------------------------------------------

void opConstantOfShape(KernelContext& ctx) {
  std::vector<int64_t> shape = ctx.inputInts(0);
  for (int64_t d : shape)
    if (d < 0) ctx.fail("shape {} has a negative dim", listStr(shape));
  const Attribute* a = ctx.attr("value");
  if (!a) {
    ctx.setOutput(0, at::zeros(shape, at::kFloat), DType::F32);
    return;
  }
  if (a->kind != AttrKind::Tensor || a->t.numel() != 1)
    ctx.fail("value must be a tensor with one element");
  RtValue v = toRuntime(a->t);
  if (!v.isTensor()) ctx.fail("ConstantOfShape of strings is not supported");
  at::Tensor out = at::empty(shape, v.tensor.options());
  out.fill_(v.tensor.reshape({}));
  ctx.setOutput(0, out, v.dtype);
}

void opEyeLike(KernelContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  if (x.dim() != 2) ctx.fail("EyeLike needs a 2-D input, got rank {}", x.dim());
  DType dt = dtypeAttr(ctx, ctx.inputType(0));
  at::Tensor out = at::zeros(x.sizes(), atenType(dt));
  // An offset past the matrix gives an empty diagonal: all zeros, as ONNX wants.
  out.diagonal(ctx.attrInt("k", 0)).fill_(1);
  ctx.setOutput(0, out, dt);
}

void opRange(KernelContext& ctx) {
  DType dt = ctx.inputType(0);
  at::Tensor out;
  if (isFloatingPoint(dt)) {
    double start = ctx.inputScalar(0), limit = ctx.inputScalar(1), delta = ctx.inputScalar(2);
    if (delta == 0) ctx.fail("Range delta must not be 0");
    auto n = static_cast<int64_t>(std::max(std::ceil((limit - start) / delta), 0.0));
    out = at::arange(n, at::kDouble) * delta + start;
  } else {
    int64_t start = inputInt(ctx, 0), limit = inputInt(ctx, 1), delta = inputInt(ctx, 2);
    if (delta == 0) ctx.fail("Range delta must not be 0");
    int64_t diff = limit - start, n = diff / delta;
    if (diff % delta != 0 && (diff < 0) == (delta < 0)) ++n;
    out = at::arange(std::max<int64_t>(n, 0), at::kLong) * delta + start;
  }
  ctx.setOutput(0, out.to(atenType(dt)), dt);
}

void opOneHot(KernelContext& ctx) {
  const at::Tensor& indices = ctx.input(0);
  auto depth = static_cast<int64_t>(ctx.inputScalar(1));
  const at::Tensor& values = ctx.input(2);
  if (values.numel() != 2) ctx.fail("values must hold [off, on], got {} elements", values.numel());
  if (depth < 0) ctx.fail("depth must not be negative");
  int64_t axis = normalizeAxis(ctx, ctx.attrInt("axis", -1), indices.dim() + 1);
  at::Tensor idx = indices.to(at::kLong);
  idx = at::where(idx < 0, idx + depth, idx).unsqueeze(axis);
  std::vector<int64_t> class_shape(static_cast<size_t>(indices.dim() + 1), 1);
  class_shape[static_cast<size_t>(axis)] = depth;
  at::Tensor hot = idx.eq(at::arange(depth, at::kLong).reshape(class_shape));
  at::Tensor v = values.reshape({-1});
  ctx.setOutput(0, at::where(hot, v[1], v[0]), ctx.inputType(2));
}

void opNonZero(KernelContext& ctx) {
  at::Tensor x = ctx.input(0);
  // A scalar counts as a 1-element vector, as in numpy.
  if (x.dim() == 0) x = x.reshape({1});
  ctx.setOutput(0, at::nonzero(x).t(), DType::I64);
}

void opTrilu(KernelContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  if (x.dim() < 2) ctx.fail("Trilu needs rank >= 2, got {}", x.dim());
  int64_t k = ctx.hasInput(1) ? inputInt(ctx, 1) : 0;
  bool upper = ctx.attrInt("upper", 1) != 0;
  ctx.setOutput(0, upper ? at::triu(x, k) : at::tril(x, k), ctx.inputType(0));
}

// --- sorting -------------------------------------------------------------------------------------

// Positions of the k largest (smallest) keys along `axis`, best first, equal keys in index order
// as ONNX requires; the result is sorted whatever `sorted` says (unsorted order is unspecified).
at::Tensor topkIndices(const at::Tensor& key, int64_t k, int64_t axis, bool largest) {
  int64_t n = key.size(axis);
  bool small_k = k > 0 && 4 * k < n;
  // NaN equals nothing, so the tie handling below needs it absent.
  if (!small_k || (at::isFloatingType(key.scalar_type()) && at::isnan(key).any().item<bool>()))
    return std::get<1>(at::sort(key, true, axis, largest)).narrow(axis, 0, k);
  // A small k of a long axis: at::topk is much faster than sorting but picks arbitrarily among
  // keys tied with the k-th. So take every key better than the k-th, then the first tied ones
  // up to k, and order those k stably.
  at::Tensor kth = std::get<0>(at::topk(key, k, axis, largest, true)).narrow(axis, k - 1, 1);
  at::Tensor better = largest ? key > kth : key < kth, tied = key == kth;
  at::Tensor need = k - better.sum(axis, true);
  at::Tensor take = (better | (tied & (tied.cumsum(axis) <= need))).movedim(axis, -1);
  // Exactly k taken per row; nonzero lists them row by row in index order.
  std::vector<int64_t> rows = take.sizes().vec();
  rows.back() = k;
  at::Tensor idx = at::nonzero(take).select(1, -1).reshape(rows).movedim(-1, axis);
  at::Tensor order = std::get<1>(at::sort(at::gather(key, axis, idx), true, axis, largest));
  return at::gather(idx, axis, order);
}

void opTopK(KernelContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  DType dt = ctx.inputType(0);
  if (x.dim() == 0) ctx.fail("TopK needs an input of rank >= 1");
  int64_t axis = normalizeAxis(ctx, ctx.attrInt("axis", -1), x.dim());
  int64_t k = ctx.opset() >= 10 ? inputInt(ctx, 1) : ctx.attrInt("k", -1);
  if (k < 0 || k > x.size(axis))
    ctx.fail("k = {} is out of range for an axis of size {}", k, x.size(axis));
  bool largest = ctx.attrInt("largest", 1) != 0;
  at::Tensor idx = topkIndices(sortKey(x, dt), k, axis, largest);
  ctx.setOutput(0, at::gather(x, axis, idx), dt);
  ctx.setOutput(1, idx, DType::I64);
}

void opUnique(KernelContext& ctx) {
  const at::Tensor& input = ctx.input(0);
  DType dt = ctx.inputType(0);
  bool has_axis = ctx.hasAttr("axis");
  at::Tensor x = has_axis ? input : input.reshape({-1});
  int64_t axis = has_axis ? normalizeAxis(ctx, ctx.attrInt("axis", 0), x.dim()) : 0;
  at::Tensor key = sortKey(x, dt), inverse, counts;
  std::tie(std::ignore, inverse, counts) =
      has_axis ? at::unique_dim(key, axis, true, true, true) : at::_unique2(key, true, true, true);
  inverse = inverse.reshape({-1});
  int64_t groups = counts.size(0), n = inverse.numel();
  // First occurrence of each unique value (ATen does not return it): the least position mapping
  // to it.
  at::Tensor first =
      scatterReduce(at::full({groups}, n, at::kLong), 0, inverse, at::arange(n, at::kLong), "amin");
  if (ctx.attrInt("sorted", 1) == 0) {
    // Order of first occurrence instead of sorted order.
    at::Tensor order = at::argsort(first);
    at::Tensor rank = at::empty_like(order).scatter_(0, order, at::arange(groups, at::kLong));
    first = first.index_select(0, order);
    counts = counts.index_select(0, order);
    inverse = rank.index_select(0, inverse);
  }
  ctx.setOutput(0, x.index_select(axis, first), dt);
  ctx.setOutput(1, first, DType::I64);
  ctx.setOutput(2, inverse, DType::I64);
  ctx.setOutput(3, counts, DType::I64);
}

// --- text ----------------------------------------------------------------------------------------

void opTfIdfVectorizer(KernelContext& ctx) {
  if (ctx.hasAttr("pool_strings"))
    ctx.fail("TfIdfVectorizer over strings (pool_strings) is not supported by the executor");
  const at::Tensor& input = ctx.input(0);
  if (input.dim() != 1 && input.dim() != 2)
    ctx.fail("TfIdfVectorizer needs a 1-D or 2-D input, got rank {}", input.dim());
  at::Tensor x = input.to(at::kLong).contiguous();
  int64_t min_n = ctx.attrInt("min_gram_length", 1), max_n = ctx.attrInt("max_gram_length", 1);
  int64_t max_skip = ctx.attrInt("max_skip_count", 0);
  std::string mode = ctx.attrString("mode", "TF");
  if (mode != "TF" && mode != "IDF" && mode != "TFIDF") ctx.fail("unknown mode '{}'", mode);
  if (min_n < 1 || max_n < min_n || max_skip < 0)
    ctx.fail("invalid n-gram lengths [{}, {}] or skip count {}", min_n, max_n, max_skip);
  std::vector<int64_t> counts = ctx.attrInts("ngram_counts"),
                       indexes = ctx.attrInts("ngram_indexes"), pool = ctx.attrInts("pool_int64s");
  std::vector<float> weights = ctx.attrFloats("weights");

  // The pool lists the n-grams by length: those of length n start at ngram_counts[n - 1]. The
  // i-th n-gram in the pool counts into output column ngram_indexes[i].
  std::map<std::vector<int64_t>, int64_t> column;
  size_t gram = 0;
  auto pool_size = static_cast<int64_t>(pool.size());
  for (size_t level = 0; level < counts.size(); ++level) {
    auto n = static_cast<int64_t>(level + 1);
    int64_t begin = counts[level], end = level + 1 < counts.size() ? counts[level + 1] : pool_size;
    if (begin < 0 || begin > end || end > pool_size || (end - begin) % n != 0)
      ctx.fail("ngram_counts {} does not split pool_int64s into n-grams", listStr(counts));
    for (int64_t p = begin; p < end; p += n, ++gram) {
      if (gram >= indexes.size() || indexes[gram] < 0)
        ctx.fail("ngram_indexes has no valid column for n-gram {}", gram);
      column[std::vector<int64_t>(pool.begin() + p, pool.begin() + p + n)] = indexes[gram];
    }
  }
  int64_t width = indexes.empty() ? 0 : *std::max_element(indexes.begin(), indexes.end()) + 1;
  if (!weights.empty() && static_cast<int64_t>(weights.size()) < width)
    ctx.fail("weights has {} entries for {} columns", weights.size(), width);

  int64_t rows = x.dim() == 2 ? x.size(0) : 1, len = x.size(-1);
  std::vector<float> tf(static_cast<size_t>(rows * width), 0.0f);
  const int64_t* data = x.data_ptr<int64_t>();
  std::vector<int64_t> key;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t* row = data + r * len;
    float* out = tf.data() + r * width;
    for (int64_t start = 0; start < len; ++start)
      for (int64_t n = min_n; n <= max_n; ++n)
        // Unigrams have no gaps to skip: count them once.
        for (int64_t skip = 0; skip <= (n == 1 ? 0 : max_skip); ++skip) {
          int64_t step = skip + 1;
          if (start + (n - 1) * step >= len) break;
          key.resize(static_cast<size_t>(n));
          for (int64_t j = 0; j < n; ++j)
            key[static_cast<size_t>(j)] = row[start + j * step];
          auto it = column.find(key);
          if (it != column.end()) out[it->second] += 1;
        }
  }
  // Weights are per output column (as onnxruntime applies them); absent weights are 1.
  for (size_t i = 0; i < tf.size(); ++i) {
    float w = weights.empty() ? 1.0f : weights[i % static_cast<size_t>(width)];
    if (mode == "IDF") tf[i] = tf[i] > 0 ? w : 0;
    if (mode == "TFIDF") tf[i] *= w;
  }
  at::Tensor result = at::tensor(tf, at::kFloat);
  ctx.setOutput(0, x.dim() == 2 ? result.reshape({rows, width}) : result, DType::F32);
}

// --- random --------------------------------------------------------------------------------------
// The outputs are random; the `seed` attribute makes a node's draws repeatable from run to run.

c10::optional<at::Generator> seededGenerator(const KernelContext& ctx) {
  if (!ctx.hasAttr("seed")) return c10::nullopt;
  auto seed = static_cast<int64_t>(ctx.attrFloat("seed", 0));
  return at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
}

DType randomDType(const KernelContext& ctx, DType fallback) {
  DType dt = dtypeAttr(ctx, fallback);
  if (!isFloatingPoint(dt)) ctx.fail("random values must be floating point, not {}", dtypeName(dt));
  return dt;
}

// Shape and dtype of RandomNormal/RandomUniform (attributes) or their *Like variants (input).
std::pair<std::vector<int64_t>, DType> randomTarget(const KernelContext& ctx, bool like) {
  if (!like) return {ctx.attrInts("shape"), randomDType(ctx, DType::F32)};
  const at::Tensor& x = ctx.input(0);
  return {x.sizes().vec(), randomDType(ctx, ctx.inputType(0))};
}

void randomNormal(KernelContext& ctx, bool like) {
  auto [shape, dt] = randomTarget(ctx, like);
  at::Tensor out = at::empty(shape, dt == DType::F64 ? at::kDouble : at::kFloat);
  out.normal_(ctx.attrFloat("mean", 0), ctx.attrFloat("scale", 1), seededGenerator(ctx));
  ctx.setOutput(0, out.to(atenType(dt)), dt);
}

void randomUniform(KernelContext& ctx, bool like) {
  auto [shape, dt] = randomTarget(ctx, like);
  at::Tensor out = at::empty(shape, dt == DType::F64 ? at::kDouble : at::kFloat);
  out.uniform_(ctx.attrFloat("low", 0), ctx.attrFloat("high", 1), seededGenerator(ctx));
  ctx.setOutput(0, out.to(atenType(dt)), dt);
}

void opRandomNormal(KernelContext& ctx) {
  randomNormal(ctx, false);
}
void opRandomNormalLike(KernelContext& ctx) {
  randomNormal(ctx, true);
}
void opRandomUniform(KernelContext& ctx) {
  randomUniform(ctx, false);
}
void opRandomUniformLike(KernelContext& ctx) {
  randomUniform(ctx, true);
}

void opMultinomial(KernelContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  if (x.dim() != 2) ctx.fail("Multinomial needs a [batch, classes] input, got rank {}", x.dim());
  DType dt = dtypeAttr(ctx, DType::I32);
  if (dt != DType::I32 && dt != DType::I64) ctx.fail("Multinomial dtype must be int32 or int64");
  // The input holds unnormalized log-probabilities.
  at::Tensor probs = at::softmax(x.to(at::kDouble), 1);
  at::Tensor out =
      at::multinomial(probs, ctx.attrInt("sample_size", 1), true, seededGenerator(ctx));
  ctx.setOutput(0, out.to(atenType(dt)), dt);
}

void opBernoulli(KernelContext& ctx) {
  const at::Tensor& p = ctx.input(0);
  DType dt = dtypeAttr(ctx, ctx.inputType(0));
  at::Tensor out = at::bernoulli(p.to(at::kDouble), seededGenerator(ctx));
  ctx.setOutput(0, out.to(atenType(dt)), dt);
}

}  // namespace

void addTensorKernels(KernelList& k) {
  k.push_back({"", "Flatten", opFlatten});
  k.push_back({"", "Reshape", opReshape});
  k.push_back({"", "Squeeze", opSqueeze});
  k.push_back({"", "Unsqueeze", opUnsqueeze});
  k.push_back({"", "Transpose", opTranspose});
  k.push_back({"", "Expand", opExpand});
  k.push_back({"", "Tile", opTile});
  k.push_back({"", "DepthToSpace", opDepthToSpace});
  k.push_back({"", "SpaceToDepth", opSpaceToDepth});
  k.push_back({"", "Concat", opConcat});
  k.push_back({"", "Split", opSplit});
  k.push_back({"", "Slice", opSlice});
  k.push_back({"", "Pad", opPad});
  k.push_back({"", "Gather", opGather});
  k.push_back({"", "GatherElements", opGatherElements});
  k.push_back({"", "GatherND", opGatherND});
  k.push_back({"", "Compress", opCompress});
  k.push_back({"", "Scatter", opScatterElements});
  k.push_back({"", "ScatterElements", opScatterElements});
  k.push_back({"", "ScatterND", opScatterND});
  k.push_back({"", "ReverseSequence", opReverseSequence});
  k.push_back({"", "ConstantOfShape", opConstantOfShape});
  k.push_back({"", "EyeLike", opEyeLike});
  k.push_back({"", "Range", opRange});
  k.push_back({"", "OneHot", opOneHot});
  k.push_back({"", "NonZero", opNonZero});
  k.push_back({"", "Trilu", opTrilu});
  k.push_back({"", "TopK", opTopK});
  k.push_back({"", "Unique", opUnique});
  k.push_back({"", "TfIdfVectorizer", opTfIdfVectorizer});
  k.push_back({"", "RandomNormal", opRandomNormal});
  k.push_back({"", "RandomNormalLike", opRandomNormalLike});
  k.push_back({"", "RandomUniform", opRandomUniform});
  k.push_back({"", "RandomUniformLike", opRandomUniformLike});
  k.push_back({"", "Multinomial", opMultinomial});
  k.push_back({"", "Bernoulli", opBernoulli});
}

}  // namespace mopt::exec
