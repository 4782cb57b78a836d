// Core kernels: identity, constants, casts, shape queries and control flow (If, Loop, Scan).
#include "exec/Runtime.h"

#include "passes/common/Constants.h"

namespace mopt::exec {

namespace {

void opIdentity(KernelContext& ctx) {
  ctx.setOutputValue(0, ctx.value(0));
}

void opConstant(KernelContext& ctx) {
  auto t = constantNodeValue(ctx.node());
  if (!t) ctx.fail("Constant has no value attribute mopt understands");
  ctx.setOutputValue(0, toRuntime(*t));
}

at::Tensor castTensor(const KernelContext& ctx, const at::Tensor& x, DType from, DType to) {
  if (!atenCanHold(to) || to == DType::I4 || to == DType::U4)
    ctx.fail("Cast to {} is not supported by the executor", dtypeName(to));
  at::ScalarType target = atenType(to);
  at::Tensor src = x;
  // Floating -> integer: ONNX truncates toward zero, like C++ and ATen. Integer wrap-around for
  // the unsigned types stored wider than they are: mask to the real width.
  at::Tensor out = src.to(target);
  if (to == DType::U16) out = at::bitwise_and(out, 0xFFFF);
  if (to == DType::U32) out = at::bitwise_and(out, int64_t{0xFFFFFFFF});
  (void)from;
  return out;
}

void opCast(KernelContext& ctx) {
  const RtValue& v = ctx.value(0);
  auto to = dtypeFromOnnx(static_cast<int32_t>(ctx.attrInt("to", 0)));
  if (!to) ctx.fail("Cast has an invalid 'to' attribute");
  if (v.kind != RtValue::Kind::Tensor || *to == DType::String)
    ctx.fail("Cast involving strings is not supported by the executor");
  ctx.setOutput(0, castTensor(ctx, v.tensor, v.dtype, *to), *to);
}

void opCastLike(KernelContext& ctx) {
  const RtValue& v = ctx.value(0);
  DType to = ctx.value(1).dtype;
  if (v.kind != RtValue::Kind::Tensor || to == DType::String)
    ctx.fail("CastLike involving strings is not supported by the executor");
  ctx.setOutput(0, castTensor(ctx, v.tensor, v.dtype, to), to);
}

std::vector<int64_t> dimsOf(const RtValue& v) {
  if (v.kind == RtValue::Kind::Strings) return v.dims;
  return std::vector<int64_t>(v.tensor.sizes().begin(), v.tensor.sizes().end());
}

void opShape(KernelContext& ctx) {
  std::vector<int64_t> dims = dimsOf(ctx.value(0));
  int64_t rank = static_cast<int64_t>(dims.size());
  int64_t start = ctx.attrInt("start", 0), end = ctx.attrInt("end", rank);
  auto clamp = [rank](int64_t i) {
    return std::min(std::max(i < 0 ? i + rank : i, int64_t{0}), rank);
  };
  start = clamp(start);
  end = clamp(end);
  std::vector<int64_t> out(dims.begin() + start, dims.begin() + std::max(start, end));
  ctx.setOutput(0, at::tensor(out, at::kLong));
}

void opSize(KernelContext& ctx) {
  std::vector<int64_t> dims = dimsOf(ctx.value(0));
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  ctx.setOutput(0, at::scalar_tensor(n, at::kLong));
}

void opDropout(KernelContext& ctx) {
  // Inference semantics (training_mode false): the output is the input, the mask all true.
  if (ctx.hasInput(2) && ctx.inputScalar(2) != 0) {
    double ratio = ctx.hasInput(1) ? ctx.inputScalar(1) : ctx.attrFloat("ratio", 0.5f);
    if (ratio != 0) ctx.fail("Dropout in training mode is random; the executor runs inference");
  }
  const at::Tensor& x = ctx.input(0);
  ctx.setOutput(0, x, ctx.inputType(0));
  if (ctx.wantsOutput(1)) {
    bool bool_mask = ctx.opset() >= 10;
    at::Tensor mask = at::ones(x.sizes(), at::kBool);
    ctx.setOutput(1, bool_mask ? mask : mask.to(x.scalar_type()),
                  bool_mask ? DType::Bool : ctx.inputType(0));
  }
}

bool truthy(const KernelContext& ctx, size_t i) {
  const at::Tensor& c = ctx.input(i);
  if (c.numel() != 1) ctx.fail("condition input {} must hold one value", i);
  return c.to(at::kBool).item<bool>();
}

void opIf(KernelContext& ctx) {
  const Attribute* branch = ctx.attr(truthy(ctx, 0) ? "then_branch" : "else_branch");
  if (!branch || !branch->g) ctx.fail("If has no such branch");
  std::vector<RtValue> outs = ctx.runSubgraph(*branch->g, {});
  if (outs.size() < ctx.numOutputs())
    ctx.fail("the branch returns {} values, If has {} outputs", outs.size(), ctx.numOutputs());
  for (size_t i = 0; i < ctx.numOutputs(); ++i)
    ctx.setOutputValue(i, std::move(outs[i]));
}

// Stacks per-iteration scan outputs along a new axis.
RtValue stack(const KernelContext& ctx, const std::vector<RtValue>& items, int64_t axis,
              bool reverse) {
  std::vector<at::Tensor> ts;
  DType dt = DType::Undefined;
  for (const auto& v : items) {
    if (!v.isTensor()) ctx.fail("scan outputs must be tensors");
    ts.push_back(v.tensor);
    dt = v.dtype;
  }
  if (reverse) std::reverse(ts.begin(), ts.end());
  return RtValue::fromTensor(at::stack(ts, axis), dt);
}

void opLoop(KernelContext& ctx) {
  const Attribute* body = ctx.attr("body");
  if (!body || !body->g) ctx.fail("Loop has no body");
  const Graph& g = *body->g;
  int64_t max_trip = ctx.hasInput(0) ? ctx.input(0).item<int64_t>() : INT64_MAX;
  bool cond = ctx.hasInput(1) ? truthy(ctx, 1) : true;
  size_t carried = ctx.numInputs() > 2 ? ctx.numInputs() - 2 : 0;
  std::vector<RtValue> state;
  for (size_t i = 0; i < carried; ++i)
    state.push_back(ctx.value(2 + i));
  size_t scans = ctx.numOutputs() - carried;
  std::vector<std::vector<RtValue>> scan_items(scans);
  for (int64_t it = 0; it < max_trip && cond; ++it) {
    std::vector<RtValue> in;
    in.push_back(RtValue::fromTensor(at::scalar_tensor(it, at::kLong), DType::I64));
    in.push_back(RtValue::fromTensor(at::scalar_tensor(cond, at::kBool), DType::Bool));
    for (auto& s : state)
      in.push_back(s);
    std::vector<RtValue> out = ctx.runSubgraph(g, in);
    if (out.size() != 1 + carried + scans)
      ctx.fail("the Loop body returns {} values, expected {}", out.size(), 1 + carried + scans);
    cond = out[0].tensor.to(at::kBool).item<bool>();
    for (size_t i = 0; i < carried; ++i)
      state[i] = std::move(out[1 + i]);
    for (size_t i = 0; i < scans; ++i)
      scan_items[i].push_back(std::move(out[1 + carried + i]));
  }
  for (size_t i = 0; i < carried; ++i)
    ctx.setOutputValue(i, state[i]);
  for (size_t i = 0; i < scans; ++i) {
    if (scan_items[i].empty()) {
      // No iteration ran: an empty scan output of the body's declared type, shape [0].
      const Value* bo = g.outputs()[1 + carried + i];
      DType dt = bo->type().isTensor() ? bo->type().elemType() : DType::F32;
      ctx.setOutput(carried + i, at::empty({0}, atenType(dt == DType::Undefined ? DType::F32 : dt)),
                    dt);
      continue;
    }
    ctx.setOutputValue(carried + i, stack(ctx, scan_items[i], 0, false));
  }
}

// Scan-8: every input has a leading batch axis (scan inputs scan along axis 1), and an optional
// first input gives each batch entry's sequence length. Each batch entry is an independent scan.
void opScan8(KernelContext& ctx, const Graph& g) {
  if (ctx.hasInput(0)) ctx.fail("Scan-8 with sequence_lens is not supported");
  int64_t num_scan_inputs = ctx.attrInt("num_scan_inputs", 0);
  size_t n_state = ctx.numInputs() - 1 - static_cast<size_t>(num_scan_inputs);
  size_t n_scan_out = ctx.numOutputs() - n_state;
  std::vector<int64_t> dirs = ctx.attrInts("directions");
  int64_t batch = ctx.input(1).size(0);
  std::vector<std::vector<RtValue>> per_batch_out(ctx.numOutputs());
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<RtValue> state;
    for (size_t i = 0; i < n_state; ++i)
      state.push_back(RtValue::fromTensor(ctx.input(1 + i)[b], ctx.inputType(1 + i)));
    std::vector<at::Tensor> scan_in;
    int64_t length = -1;
    for (int64_t j = 0; j < num_scan_inputs; ++j) {
      at::Tensor x = ctx.input(1 + n_state + static_cast<size_t>(j))[b];
      if (j < static_cast<int64_t>(dirs.size()) && dirs[j]) x = x.flip(0);
      length = x.size(0);
      scan_in.push_back(x);
    }
    std::vector<std::vector<RtValue>> outs(n_scan_out);
    for (int64_t t = 0; t < std::max<int64_t>(length, 0); ++t) {
      std::vector<RtValue> in = state;
      for (int64_t j = 0; j < num_scan_inputs; ++j)
        in.push_back(RtValue::fromTensor(scan_in[j][t],
                                         ctx.inputType(1 + n_state + static_cast<size_t>(j))));
      std::vector<RtValue> out = ctx.runSubgraph(g, in);
      for (size_t i = 0; i < n_state; ++i)
        state[i] = std::move(out[i]);
      for (size_t i = 0; i < n_scan_out; ++i)
        outs[i].push_back(std::move(out[n_state + i]));
    }
    for (size_t i = 0; i < n_state; ++i)
      per_batch_out[i].push_back(state[i]);
    for (size_t i = 0; i < n_scan_out; ++i)
      per_batch_out[n_state + i].push_back(stack(ctx, outs[i], 0, false));
  }
  for (size_t i = 0; i < ctx.numOutputs(); ++i)
    ctx.setOutputValue(i, stack(ctx, per_batch_out[i], 0, false));
}

void opScan(KernelContext& ctx) {
  const Attribute* body = ctx.attr("body");
  if (!body || !body->g) ctx.fail("Scan has no body");
  if (ctx.opset() < 9) return opScan8(ctx, *body->g);
  const Graph& g = *body->g;
  int64_t num_scan_inputs = ctx.attrInt("num_scan_inputs", 0);
  size_t n_state = ctx.numInputs() - static_cast<size_t>(num_scan_inputs);
  size_t n_scan_out = ctx.numOutputs() - n_state;
  std::vector<int64_t> in_axes = ctx.attrInts("scan_input_axes"),
                       in_dirs = ctx.attrInts("scan_input_directions");
  std::vector<int64_t> out_axes = ctx.attrInts("scan_output_axes"),
                       out_dirs = ctx.attrInts("scan_output_directions");
  std::vector<RtValue> state;
  for (size_t i = 0; i < n_state; ++i)
    state.push_back(ctx.value(i));
  std::vector<at::Tensor> scan_in;
  std::vector<DType> scan_types;
  int64_t length = -1;
  for (int64_t j = 0; j < num_scan_inputs; ++j) {
    at::Tensor x = ctx.input(n_state + static_cast<size_t>(j));
    int64_t axis =
        j < static_cast<int64_t>(in_axes.size()) ? normalizeAxis(ctx, in_axes[j], x.dim()) : 0;
    x = x.movedim(axis, 0);
    if (j < static_cast<int64_t>(in_dirs.size()) && in_dirs[j]) x = x.flip(0);
    if (length >= 0 && x.size(0) != length) ctx.fail("scan inputs have different lengths");
    length = x.size(0);
    scan_in.push_back(x);
    scan_types.push_back(ctx.inputType(n_state + static_cast<size_t>(j)));
  }
  std::vector<std::vector<RtValue>> outs(n_scan_out);
  for (int64_t t = 0; t < std::max<int64_t>(length, 0); ++t) {
    std::vector<RtValue> in = state;
    for (size_t j = 0; j < scan_in.size(); ++j)
      in.push_back(RtValue::fromTensor(scan_in[j][t], scan_types[j]));
    std::vector<RtValue> out = ctx.runSubgraph(g, in);
    for (size_t i = 0; i < n_state; ++i)
      state[i] = std::move(out[i]);
    for (size_t i = 0; i < n_scan_out; ++i)
      outs[i].push_back(std::move(out[n_state + i]));
  }
  for (size_t i = 0; i < n_state; ++i)
    ctx.setOutputValue(i, state[i]);
  for (size_t i = 0; i < n_scan_out; ++i) {
    bool reverse = i < out_dirs.size() && out_dirs[i];
    if (outs[i].empty()) ctx.fail("Scan over an empty sequence");
    RtValue stacked = stack(ctx, outs[i], 0, reverse);
    int64_t axis = i < out_axes.size() ? normalizeAxis(ctx, out_axes[i], stacked.tensor.dim()) : 0;
    if (axis) stacked.tensor = stacked.tensor.movedim(0, axis);
    ctx.setOutputValue(n_state + i, stacked);
  }
}

}  // namespace

void addCoreKernels(KernelList& k) {
  k.push_back({"", "Identity", opIdentity});
  k.push_back({"", "Constant", opConstant});
  k.push_back({"", "Cast", opCast});
  k.push_back({"", "CastLike", opCastLike});
  k.push_back({"", "Shape", opShape});
  k.push_back({"", "Size", opSize});
  k.push_back({"", "Dropout", opDropout});
  k.push_back({"", "If", opIf});
  k.push_back({"", "Loop", opLoop});
  k.push_back({"", "Scan", opScan});
}

}  // namespace mopt::exec
