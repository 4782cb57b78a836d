// quantize-dynamic: the rewrite of each MatMul/Gemm/Conv into integer form.
//
// format=qoperator writes what ONNX Runtime's own dynamic quantizer writes, because that is the
// pattern its graph optimizer fuses into DynamicQuantizeMatMul / fused ConvInteger kernels:
//
//   x_q, x_s, x_zp = DynamicQuantizeLinear(x)          (one per activation, shared by readers)
//   y_i = MatMulInteger(x_q, W_q, x_zp, W_zp)          (ConvInteger for Conv)
//   y   = Mul(Cast(y_i, float), Mul(x_s, W_s)) [+ bias]
//
// format=qdq keeps the float op and feeds it DequantizeLinear(W_q): a smaller file, float compute.
#include "passes/quantize/QuantizeDynamic.h"

#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "passes/common/Constants.h"
#include "passes/common/Rewrite.h"
#include "passes/quantize/QuantCommon.h"

#include <map>

namespace mopt {

const PassInfo& QuantizeDynamicPass::info() {
  static const PassInfo i{
      "quantize-dynamic", "quantize",
      "int8 weights; activations quantized at run time (MatMulInteger/ConvInteger)",
      "Quantizes the constant weights of MatMul, Gemm and Conv, and constant Gather tables "
      "(embeddings, one scale per table, dequantized after the gather), to 8 bits. With "
      "format=qoperator "
      "(the default) each quantized node becomes DynamicQuantizeLinear on its activation (shared "
      "by every reader) + MatMulInteger/ConvInteger + Cast + Mul by the product of scales (+ "
      "bias), the pattern ONNX Runtime fuses into its integer kernels. A MatMul whose constant "
      "operand is on the left is handled too. Gemm becomes MatMulInteger + Add (transB and alpha "
      "are folded into the weight). Conv weights are uint8 and per tensor, the only form ONNX "
      "Runtime's ConvInteger kernel accepts. format=qdq instead feeds the unchanged op "
      "DequantizeLinear of the int8 weight (weight-only: a smaller file, float compute). Only "
      "float32 activations are quantized; the report says which candidates were skipped and why.",
      [] {
        auto o = selectionOptions("MatMul,Gemm,Conv,Gather",
                                  "op types to quantize (MatMul, Gemm, Conv, Gather)");
        o.push_back(
            {"format",
             OptionType::Enum,
             "qoperator",
             "qoperator: integer ops (ONNX Runtime's dynamic form); qdq: DequantizeLinear on "
             "the weight, float compute",
             {"qoperator", "qdq"},
             false});
        o.push_back({"weight-type",
                     OptionType::Enum,
                     "int8",
                     "integer type of MatMul/Gemm weights",
                     {"int8", "uint8"},
                     false});
        o.push_back({"per-channel",
                     OptionType::Bool,
                     "true",
                     "one scale per output channel (MatMul/Gemm columns; Conv with format=qdq)",
                     {},
                     false});
        o.push_back({"symmetric",
                     OptionType::Bool,
                     "true",
                     "weights symmetric around zero (int8: [-127, 127], zero point 0)",
                     {},
                     false});
        o.push_back({"reduce-range",
                     OptionType::Bool,
                     "false",
                     "7-bit weights, for CPUs without VNNI whose int8 dot products can saturate",
                     {},
                     false});
        return o;
      }()};
  return i;
}

namespace {

constexpr int64_t kFloat = 1;  // TensorProto.FLOAT, for Cast

struct Rewriter {
  Model& model;
  PassContext& ctx;
  NameScope names;
  bool qdq, per_channel, symmetric, reduce_range;
  DType wtype;
  std::vector<Value*> replaced;  // original weights: removed at the end when nothing reads them
  // One DynamicQuantizeLinear per (graph, activation): Q, K and V projections share theirs.
  std::map<std::pair<Graph*, Value*>, Node*> dql;

  Rewriter(Model& m, PassContext& c, const OptionValues& o)
      : model(m),
        ctx(c),
        names(m),
        qdq(o.getString("format") == "qdq"),
        per_channel(o.getBool("per-channel")),
        symmetric(o.getBool("symmetric")),
        reduce_range(o.getBool("reduce-range")),
        wtype(weightTypeFrom(o)) {}

  bool floatActivation(const Value* x, DType weight_dtype) const {
    if (x->type().isTensor() && x->type().elemType() != DType::Undefined)
      return x->type().elemType() == DType::F32;
    return weight_dtype == DType::F32;
  }

  Node* dynamicQuantize(Graph& g, Node* first_reader, Value* x) {
    auto key = std::make_pair(&g, x);
    auto it = dql.find(key);
    if (it != dql.end()) return it->second;
    // Before the first quantized reader: nodes are visited in topological order, so every
    // later reader comes after it.
    Node* before = first_reader;
    GraphBuilder b(g, before, names, x->name() + "_dq");
    Node* n = b.node("DynamicQuantizeLinear", {x}, "DynamicQuantizeLinear", 3);
    dql[key] = n;
    return n;
  }

  // y = Mul(Cast(int_out), Mul(x_scale, w_scale)), replacing `out`.
  Value* rescale(GraphBuilder& b, Value* int_out, Value* x_scale, Value* w_scale) {
    Node* cast = b.node("Cast", {int_out}, "Cast");
    cast->setAttr(Attribute::makeInt("to", kFloat));
    Value* scale = b.op("Mul", {x_scale, w_scale}, "scale");
    return b.op("Mul", {cast->output(0), scale}, "rescale");
  }

  void finish(Graph& g, Node* n, Value* result, const std::vector<Value*>& old_weights) {
    replaceValue(g, n->output(0), result, names);
    g.eraseNode(n);
    replaced.insert(replaced.end(), old_weights.begin(), old_weights.end());
  }

  bool matmul(Graph& g, Node* n) {
    MatMulWeight mw = matmulWeight(*n);
    if (!mw.why_not.empty()) {
      if (n->is("MatMul") && mw.why_not == "only the left operand is constant")
        return leftConstMatMul(g, n);
      return skip(n, mw.why_not);
    }
    Value* x = n->input(0);
    if (mw.kn.dtype() != DType::F32) return skip(n, "its weight is not float32");
    if (!floatActivation(x, mw.kn.dtype())) return skip(n, "its activation is not float32");
    const bool gemm = n->is("Gemm");
    int64_t axis = per_channel ? 1 : -1;
    if (qdq && model.opset("") < 13) axis = -1;  // DequantizeLinear's axis needs opset 13
    QuantizedTensor q = quantizeWeight(mw.kn, wtype, axis, symmetric, reduce_range);
    if (auto& buf = mw.kn.buffer()) buf->releasePages();
    GraphBuilder b(g, n, names, n->name().empty() ? n->output(0)->name() : n->name());
    std::vector<Value*> old = {n->input(1)};
    if (qdq && !gemm) {
      Value* deq = dequantize(b, q);
      n->setInput(1, deq);
      replaced.push_back(old[0]);
      ctx.count("weights-quantized");
      return true;
    }
    if (qdq) {  // Gemm: keep it, with its weight now [K, N] and alpha folded in
      Value* deq = dequantize(b, q);
      n->setInput(1, deq);
      n->removeAttr("transB");
      n->removeAttr("alpha");
      replaced.push_back(old[0]);
      ctx.count("weights-quantized");
      return true;
    }
    Node* d = dynamicQuantize(g, n, x);
    Value* wq = b.constant(q.data, "W_quantized");
    Value* ws = b.constant(q.scale, "W_scale");
    Value* wz = b.constant(q.zero_point, "W_zero_point");
    Value* yi = b.op("MatMulInteger", {d->output(0), wq, d->output(2), wz}, "MatMulInteger");
    Value* y = rescale(b, yi, d->output(1), ws);
    if (gemm && n->numInputs() > 2 && n->input(2)) {
      Value* c = n->input(2);
      float beta = n->floatAttr("beta", 1.0f);
      if (beta != 1.0f) {
        if (auto ct = constantValue(c)) {
          std::vector<double> v = toDoubles(*ct);
          for (double& e : v)
            e *= beta;
          c = b.constant(fromDoubles(ct->dtype(), ct->dims(), v), "bias");
          old.push_back(n->input(2));
        } else {
          c = b.op("Mul", {c, b.constant(scalarOf(DType::F32, beta), "beta")}, "beta_mul");
        }
      }
      y = b.op("Add", {y, c}, "bias_add");
    }
    finish(g, n, y, old);
    ctx.count("matmuls-quantized");
    return true;
  }

  // MatMul(W, x): the constant operand on the left; per tensor (MatMulInteger's per-row
  // zero points for A are not supported by ONNX Runtime's kernel).
  bool leftConstMatMul(Graph& g, Node* n) {
    auto a = constantValue(n->input(0));
    if (a->dims().size() != 2 || (a->dtype() != DType::F32))
      return skip(n, "its left constant is not a float32 matrix");
    Value* x = n->input(1);
    if (!floatActivation(x, a->dtype())) return skip(n, "its activation is not float32");
    QuantizedTensor q = quantizeWeight(*a, wtype, -1, symmetric, reduce_range);
    GraphBuilder b(g, n, names, n->name().empty() ? n->output(0)->name() : n->name());
    if (qdq) {
      replaced.push_back(n->input(0));
      n->setInput(0, dequantize(b, q));
      ctx.count("weights-quantized");
      return true;
    }
    Node* d = dynamicQuantize(g, n, x);
    Value* wq = b.constant(q.data, "A_quantized");
    Value* ws = b.constant(q.scale, "A_scale");
    Value* wz = b.constant(q.zero_point, "A_zero_point");
    Value* yi = b.op("MatMulInteger", {wq, d->output(0), wz, d->output(2)}, "MatMulInteger");
    finish(g, n, rescale(b, yi, d->output(1), ws), {n->input(0)});
    ctx.count("matmuls-quantized");
    return true;
  }

  Value* dequantize(GraphBuilder& b, const QuantizedTensor& q) {
    Value* wq = b.constant(q.data, "W_quantized");
    Value* ws = b.constant(q.scale, "W_scale");
    Value* wz = b.constant(q.zero_point, "W_zero_point");
    Node* dq = b.node("DequantizeLinear", {wq, ws, wz}, "W_DequantizeLinear");
    if (q.axis >= 0) dq->setAttr(Attribute::makeInt("axis", q.axis));
    return dq->output(0);
  }

  bool conv(Graph& g, Node* n) {
    auto w = constantValue(n->input(1));
    if (!w) return skip(n, "its weight is not constant");
    if (w->dtype() != DType::F32) return skip(n, "its weight is not float32");
    if (w->dims().size() < 3) return skip(n, "its weight has fewer than 3 dimensions");
    Value* x = n->input(0);
    if (!floatActivation(x, w->dtype())) return skip(n, "its activation is not float32");
    GraphBuilder b(g, n, names, n->name().empty() ? n->output(0)->name() : n->name());
    if (qdq) {
      int64_t axis = per_channel && model.opset("") >= 13 ? 0 : -1;
      QuantizedTensor q = quantizeWeight(*w, wtype, axis, symmetric, reduce_range);
      replaced.push_back(n->input(1));
      n->setInput(1, dequantize(b, q));
      ctx.count("weights-quantized");
      return true;
    }
    // ConvInteger: ONNX Runtime's CPU kernel takes uint8 weights with one zero point.
    QuantizedTensor q = quantizeWeight(*w, DType::U8, -1, false, reduce_range);
    Node* d = dynamicQuantize(g, n, x);
    Value* wq = b.constant(q.data, "W_quantized");
    Value* ws = b.constant(q.scale, "W_scale");
    Value* wz = b.constant(q.zero_point, "W_zero_point");
    Node* ci = b.node("ConvInteger", {d->output(0), wq, d->output(2), wz}, "ConvInteger");
    for (const char* a : {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"})
      if (const Attribute* at = n->attr(a)) ci->setAttr(copyScalarAttr(*at));
    Value* y = rescale(b, ci->output(0), d->output(1), ws);
    std::vector<Value*> old = {n->input(1)};
    if (n->numInputs() > 2 && n->input(2)) {
      // Bias [M] -> [M, 1, ..., 1] to broadcast over the spatial dims.
      Value* bias = n->input(2);
      auto bt = constantValue(bias);
      std::vector<int64_t> shape = {-1};
      for (size_t i = 2; i < w->dims().size(); ++i)
        shape.push_back(1);
      if (bt) {
        std::vector<int64_t> dims = {bt->numel()};
        dims.insert(dims.end(), shape.begin() + 1, shape.end());
        Tensor reshaped(bt->dtype(), dims, bt->buffer());
        bias = b.constant(reshaped, "bias");
        old.push_back(n->input(2));
      } else {
        bias = b.op("Reshape",
                    {bias, b.constant(Tensor::fromVector(
                                          DType::I64, {static_cast<int64_t>(shape.size())}, shape),
                                      "bias_shape")},
                    "bias_reshape");
      }
      y = b.op("Add", {y, bias}, "bias_add");
    }
    finish(g, n, y, old);
    ctx.count("convs-quantized");
    return true;
  }

  // Gather on a constant table (embeddings): the table becomes int8, the gathered rows are
  // dequantized (one scale for the table, as ONNX Runtime's dynamic quantizer does).
  bool gather(Graph& g, Node* n) {
    auto table = constantValue(n->input(0));
    if (!table) return false;  // shape arithmetic, not an embedding: not a candidate
    if (table->dtype() != DType::F32) return skip(n, "its table is not float32");
    QuantizedTensor q = quantizeWeight(*table, wtype, -1, symmetric, reduce_range);
    if (auto& buf = table->buffer()) buf->releasePages();
    GraphBuilder b(g, n, names, n->name().empty() ? n->output(0)->name() : n->name());
    Value* tq = b.constant(q.data, "table_quantized");
    Value* ts = b.constant(q.scale, "table_scale");
    Value* tz = b.constant(q.zero_point, "table_zero_point");
    replaced.push_back(n->input(0));
    if (qdq) {
      n->setInput(0, b.op("DequantizeLinear", {tq, ts, tz}, "table_DequantizeLinear"));
    } else {
      Node* gq = b.node("Gather", {tq, n->input(1)}, "Gather");
      if (const Attribute* a = n->attr("axis")) gq->setAttr(copyScalarAttr(*a));
      finish(g, n, b.op("DequantizeLinear", {gq->output(0), ts, tz}, "DequantizeLinear"), {});
    }
    ctx.count("gathers-quantized");
    return true;
  }

  SkipReport skipped;
  bool skip(Node* n, const std::string& why) {
    skipped.add(*n, why);
    return false;
  }
};

}  // namespace

bool QuantizeDynamicPass::run(Model& model, PassContext& ctx) {
  NodeSelection select = selectionFrom(opts_);
  Rewriter rw(model, ctx, opts_);
  int64_t before = floatWeightBytes(model);
  bool changed = false;
  forEachGraph(model, [&](Graph& g) {
    for (Node* n : g.nodeVector()) {
      if (!n->isDefaultDomain() ||
          !(n->is("MatMul") || n->is("Gemm") || n->is("Conv") || n->is("Gather")))
        continue;
      if (!select.includes(*n)) {
        std::string why = select.exclusionReason(*n);
        if (!why.empty()) rw.skip(n, why);
        continue;
      }
      changed |= n->is("Conv")     ? rw.conv(g, n)
                 : n->is("Gather") ? rw.gather(g, n)
                                   : rw.matmul(g, n);
    }
  });
  dropDeadValues(rw.replaced);
  rw.skipped.flush(ctx);
  ctx.count("float-weight-bytes-before", before);
  ctx.count("float-weight-bytes-after", floatWeightBytes(model));
  return changed;
}

}  // namespace mopt
