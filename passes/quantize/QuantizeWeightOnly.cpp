// quantize-weight-only: rewrites MatMul/Gemm with a constant weight into MatMulNBits (or
// DequantizeLinear(block_size) -> MatMul) and Gather on a constant table into
// GatherBlockQuantized. Activations stay float; only the weights shrink (int4: ~1/7 of fp32 with
// block 128, scales and zero points included).
#include "passes/quantize/QuantizeWeightOnly.h"

#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "passes/common/Constants.h"
#include "passes/common/Rewrite.h"
#include "passes/quantize/Calibrate.h"
#include "passes/quantize/Gptq.h"
#include "passes/quantize/QuantCommon.h"

#include <cstring>
#include <map>

namespace mopt {

const PassInfo& QuantizeWeightOnlyPass::info() {
  static const PassInfo i{
      "quantize-weight-only", "quantize",
      "Block-wise int4/int8 weights (MatMulNBits, GatherBlockQuantized)",
      "Quantizes constant weights in blocks of block-size values along the reduction axis, each "
      "block with its own scale (and zero point unless symmetric), by round-to-nearest. "
      "MatMul with a constant float32 [K, N] weight and Gemm with a constant B (transB and alpha "
      "folded; bias added after) become com.microsoft MatMulNBits with the given accuracy-level "
      "(ONNX Runtime: 0 = unset, 1 = fp32, 2 = fp16, 3 = bf16, 4 = int8 compute, usually the "
      "fastest on CPU). Gather on a constant float32 [V, D] table along axis 0 (embeddings) "
      "becomes com.microsoft GatherBlockQuantized, blocks along D. With format=qdq, MatMul and "
      "Gather instead read DequantizeLinear(int4/uint4 or int8/uint8 weight, block_size) (opset "
      "21: convert the model first). Symmetric 4-bit blocks use ONNX Runtime's scheme (the "
      "largest-magnitude value maps to code 0, zero point 8), asymmetric ones a zero point per "
      "block. algorithm=gptq (Frantar et al.) runs the float model over calib-data once, "
      "accumulates the Hessian of every MatMul/Gemm input (memory: K^2 doubles per distinct "
      "input) and quantizes each weight column by column, pushing each column's rounding error "
      "onto the columns not yet quantized (one-shot: every layer sees float inputs; cost O(K^2 N) "
      "per layer).",
      [] {
        auto o =
            selectionOptions("MatMul,Gemm,Gather", "op types to quantize (MatMul, Gemm, Gather)");
        o.push_back({"bits", OptionType::Enum, "4", "bits per weight", {"4", "8"}, false});
        o.push_back({"block-size",
                     OptionType::Int,
                     "128",
                     "values per block along the reduction axis (a power of two, >= 16)",
                     {},
                     false});
        o.push_back({"symmetric",
                     OptionType::Bool,
                     "false",
                     "no zero points (one fewer parameter per block; slightly less accurate)",
                     {},
                     false});
        o.push_back({"format",
                     OptionType::Enum,
                     "matmulnbits",
                     "matmulnbits: com.microsoft MatMulNBits / GatherBlockQuantized; qdq: "
                     "DequantizeLinear with block_size (opset 21)",
                     {"matmulnbits", "qdq"},
                     false});
        o.push_back(
            {"algorithm",
             OptionType::Enum,
             "rtn",
             "rtn: round to nearest; gptq: compensate rounding errors using calibration data "
             "(MatMul/Gemm; Gather tables stay rtn)",
             {"rtn", "gptq"},
             false});
        o.push_back({"calib-data",
                     OptionType::String,
                     "",
                     "gptq: .npz/.npy file or folder of samples",
                     {},
                     false});
        o.push_back(
            {"calib-map", OptionType::StringList, "", "gptq: INPUT=ARRAY pairs", {}, false});
        o.push_back({"calib-samples",
                     OptionType::Int,
                     "128",
                     "gptq: use at most this many samples (0: all)",
                     {},
                     false});
        o.push_back({"damp",
                     OptionType::Float,
                     "0.01",
                     "gptq: Hessian damping, a fraction of its mean diagonal",
                     {},
                     false});
        o.push_back({"accuracy-level",
                     OptionType::Int,
                     "0",
                     "MatMulNBits accuracy_level: minimum compute precision (0 = unset, 4 = int8)",
                     {},
                     false});
        return o;
      }()};
  return i;
}

namespace {

Tensor bytesTensor(DType t, std::vector<int64_t> dims, const std::vector<uint8_t>& v) {
  return Tensor::fromBytes(t, std::move(dims), v.data(), v.size());
}

// Codes of a BlockQuantized matrix re-laid as an ONNX int4/uint4 (or 8-bit) tensor [K, N] for
// DequantizeLinear, plus its scale and zero-point tensors [blocks, N].
struct QdqWeight {
  Tensor data, scale, zero_point;
};
QdqWeight qdqLayout(const BlockQuantized& q, bool symmetric, bool transposed_table) {
  // Symmetric blocks keep ONNX Runtime's MatMulNBits codes (zero point 2^(bits-1)) by shifting
  // into the signed type: code - 2^(bits-1), zero point 0.
  const int32_t mid = 1 << (q.bits - 1);
  const int64_t blob = q.block * q.bits / 8, zp_bytes = (q.blocks * q.bits + 7) / 8;
  auto code = [&](int64_t k, int64_t n) {
    const uint8_t* src = q.packed.data() + (n * q.blocks + k / q.block) * blob;
    int64_t i = k % q.block;
    int32_t c = q.bits == 4 ? (src[i / 2] >> ((i % 2) * 4)) & 0xf : src[i];
    return symmetric ? c - mid : c;
  };
  auto zpOf = [&](int64_t b, int64_t n) {
    if (symmetric) return 0;
    uint8_t byte = q.zero_points[static_cast<size_t>(n * zp_bytes + (q.bits == 4 ? b / 2 : b))];
    return q.bits == 4 ? (byte >> ((b % 2) * 4)) & 0xf : static_cast<int32_t>(byte);
  };
  // Element order: [K, N] for a MatMul weight, [N, K] (rows are table entries) for a table.
  std::vector<int64_t> dims =
      transposed_table ? std::vector<int64_t>{q.N, q.K} : std::vector<int64_t>{q.K, q.N};
  std::vector<int64_t> pdims =
      transposed_table ? std::vector<int64_t>{q.N, q.blocks} : std::vector<int64_t>{q.blocks, q.N};
  DType t = q.bits == 4 ? (symmetric ? DType::I4 : DType::U4) : (symmetric ? DType::I8 : DType::U8);
  auto pack = [&](int64_t rows, int64_t cols, auto&& at) {
    int64_t count = rows * cols;
    std::vector<uint8_t> out(static_cast<size_t>(q.bits == 4 ? (count + 1) / 2 : count), 0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        int64_t i = r * cols + c;
        auto v = static_cast<uint8_t>(at(r, c) & (q.bits == 4 ? 0xf : 0xff));
        if (q.bits == 4)
          out[static_cast<size_t>(i / 2)] |= static_cast<uint8_t>(v << ((i % 2) * 4));
        else
          out[static_cast<size_t>(i)] = v;
      }
    return out;
  };
  QdqWeight w;
  if (transposed_table) {
    w.data = bytesTensor(t, dims, pack(q.N, q.K, [&](int64_t n, int64_t k) { return code(k, n); }));
    w.zero_point = bytesTensor(
        t, pdims, pack(q.N, q.blocks, [&](int64_t n, int64_t b) { return zpOf(b, n); }));
    w.scale = Tensor::fromVector(DType::F32, pdims, q.scales);
  } else {
    w.data = bytesTensor(t, dims, pack(q.K, q.N, [&](int64_t k, int64_t n) { return code(k, n); }));
    w.zero_point = bytesTensor(
        t, pdims, pack(q.blocks, q.N, [&](int64_t b, int64_t n) { return zpOf(b, n); }));
    std::vector<float> s(q.scales.size());
    for (int64_t n = 0; n < q.N; ++n)
      for (int64_t b = 0; b < q.blocks; ++b)
        s[static_cast<size_t>(b * q.N + n)] = q.scales[static_cast<size_t>(n * q.blocks + b)];
    w.scale = Tensor::fromVector(DType::F32, pdims, s);
  }
  return w;
}

struct Rewriter {
  Model& model;
  PassContext& ctx;
  NameScope names;
  int bits;
  int64_t block, accuracy;
  bool symmetric, qdq;
  std::vector<Value*> replaced;
  // GPTQ: the Hessian of each MatMul input (by activation name), when algorithm=gptq.
  std::map<std::string, InputHessian> hessians;
  double damp = 0.01;

  Rewriter(Model& m, PassContext& c, const OptionValues& o)
      : model(m),
        ctx(c),
        names(m),
        bits(o.getString("bits") == "8" ? 8 : 4),
        block(o.getInt("block-size")),
        accuracy(o.getInt("accuracy-level")),
        symmetric(o.getBool("symmetric")),
        qdq(o.getString("format") == "qdq") {
    if (block < 16 || (block & (block - 1)))
      fail(ErrorKind::Usage,
           "quantize-weight-only: block-size must be a power of two >= 16, not {}", block);
    if (accuracy < 0 || accuracy > 4)
      fail(ErrorKind::Usage, "quantize-weight-only: accuracy-level must be 0..4, not {}", accuracy);
    if (qdq && model.opset("") < 21)
      fail(ErrorKind::Usage,
           "quantize-weight-only: format=qdq writes DequantizeLinear with block_size, which needs "
           "opset 21 "
           "(the model has {}); run convert-opset{{target=21}} first",
           model.opset(""));
  }

  SkipReport skipped;
  bool skip(Node* n, const std::string& why) {
    skipped.add(*n, why);
    return false;
  }

  std::string prefix(const Node* n) const {
    return n->name().empty() ? n->output(0)->name() : n->name();
  }

  bool matmul(Graph& g, Node* n) {
    MatMulWeight mw = matmulWeight(*n);
    if (!mw.why_not.empty()) return skip(n, mw.why_not);
    if (mw.kn.dtype() != DType::F32) return skip(n, "its weight is not float32");
    const Value* x = n->input(0);
    if (x->type().isTensor() && x->type().elemType() != DType::Undefined &&
        x->type().elemType() != DType::F32)
      return skip(n, "its activation is not float32");
    const int64_t K = mw.kn.dims()[0], N = mw.kn.dims()[1];
    auto h = hessians.find(n->input(0)->name());
    BlockQuantized q =
        h != hessians.end() && h->second.width() == K
            ? gptqQuantize(mw.kn.data<float>(), K, N, h->second, block, bits, symmetric, damp)
            : quantizeBlocks(mw.kn.data<float>(), K, N, N, 1, block, bits, symmetric);
    if (auto& buf = mw.kn.buffer()) buf->releasePages();
    GraphBuilder b(g, n, names, prefix(n));
    Value* y;
    if (qdq) {
      QdqWeight w = qdqLayout(q, symmetric, false);
      Node* dq = b.node("DequantizeLinear",
                        {b.constant(w.data, "W_quantized"), b.constant(w.scale, "W_scale"),
                         b.constant(w.zero_point, "W_zero_point")},
                        "W_DequantizeLinear");
      dq->setAttr(Attribute::makeInt("axis", 0));
      dq->setAttr(Attribute::makeInt("block_size", block));
      y = b.op("MatMul", {n->input(0), dq->output(0)}, "MatMul");
    } else {
      std::vector<Value*> in = {
          n->input(0),
          b.constant(bytesTensor(DType::U8, {N, q.blocks, block * bits / 8}, q.packed),
                     "B_quantized"),
          b.constant(Tensor::fromVector(DType::F32, {N * q.blocks}, q.scales), "B_scale")};
      if (!symmetric)
        in.push_back(
            b.constant(bytesTensor(DType::U8, {N * ((q.blocks * bits + 7) / 8)}, q.zero_points),
                       "B_zero_point"));
      Node* mm = b.node("MatMulNBits", in, "MatMulNBits", 1, "com.microsoft");
      mm->setAttr(Attribute::makeInt("K", K));
      mm->setAttr(Attribute::makeInt("N", N));
      mm->setAttr(Attribute::makeInt("bits", bits));
      mm->setAttr(Attribute::makeInt("block_size", block));
      if (accuracy > 0) mm->setAttr(Attribute::makeInt("accuracy_level", accuracy));
      y = mm->output(0);
    }
    std::vector<Value*> old = {n->input(1)};
    if (n->is("Gemm") && n->numInputs() > 2 && n->input(2)) {
      Value* c = n->input(2);
      float beta = n->floatAttr("beta", 1.0f);
      if (beta != 1.0f)
        c = b.op("Mul", {c, b.constant(scalarOf(DType::F32, beta), "beta")}, "beta_mul");
      y = b.op("Add", {y, c}, "bias_add");
    }
    replaceValue(g, n->output(0), y, names);
    g.eraseNode(n);
    replaced.insert(replaced.end(), old.begin(), old.end());
    ctx.count("matmuls-quantized");
    return true;
  }

  bool gather(Graph& g, Node* n) {
    auto table = constantValue(n->input(0));
    if (!table) return false;  // shape arithmetic, not an embedding: not a candidate
    if (table->dtype() != DType::F32 || table->dims().size() != 2)
      return skip(n, "its table is not a float32 matrix");
    int64_t axis = n->intAttr("axis", 0);
    if (axis != 0 && axis != -2) return skip(n, "it gathers along axis " + std::to_string(axis));
    const int64_t V = table->dims()[0], D = table->dims()[1];
    if (D % block)
      return skip(n, "its row length " + std::to_string(D) + " is not a multiple of block-size");
    BlockQuantized q = quantizeBlocks(table->data<float>(), D, V, 1, D, block, bits, symmetric);
    if (auto& buf = table->buffer()) buf->releasePages();
    GraphBuilder b(g, n, names, prefix(n));
    Value* y;
    if (qdq) {
      QdqWeight w = qdqLayout(q, symmetric, true);
      Node* dq = b.node("DequantizeLinear",
                        {b.constant(w.data, "table_quantized"), b.constant(w.scale, "table_scale"),
                         b.constant(w.zero_point, "table_zero_point")},
                        "table_DequantizeLinear");
      dq->setAttr(Attribute::makeInt("axis", 1));
      dq->setAttr(Attribute::makeInt("block_size", block));
      y = b.op("Gather", {dq->output(0), n->input(1)}, "Gather");
    } else {
      // GatherBlockQuantized always gets zero points: ONNX Runtime's default for uint8 data
      // differs between versions, explicit ones cannot be misread.
      std::vector<uint8_t> zps = q.zero_points;
      if (symmetric)
        zps.assign(static_cast<size_t>(V * ((q.blocks * bits + 7) / 8)), bits == 4 ? 0x88 : 0x80);
      Node* gq = b.node(
          "GatherBlockQuantized",
          {b.constant(bytesTensor(DType::U8, {V, D * bits / 8}, q.packed), "table_quantized"),
           n->input(1),
           b.constant(Tensor::fromVector(DType::F32, {V, q.blocks}, q.scales), "table_scale"),
           b.constant(bytesTensor(DType::U8, {V, (q.blocks * bits + 7) / 8}, zps),
                      "table_zero_point")},
          "GatherBlockQuantized", 1, "com.microsoft");
      gq->setAttr(Attribute::makeInt("gather_axis", 0));
      gq->setAttr(Attribute::makeInt("quantize_axis", 1));
      gq->setAttr(Attribute::makeInt("block_size", block));
      gq->setAttr(Attribute::makeInt("bits", bits));
      y = gq->output(0);
    }
    replaced.push_back(n->input(0));
    replaceValue(g, n->output(0), y, names);
    g.eraseNode(n);
    ctx.count("gathers-quantized");
    return true;
  }
};

}  // namespace

namespace {

// GPTQ's statistics: runs the float model over calibration data once and accumulates, for every
// activation a candidate MatMul/Gemm reads, the Hessian of its rows.
void collectHessians(Model& model, const NodeSelection& select, const OptionValues& o, Rewriter& rw,
                     PassContext& ctx) {
  std::map<std::string, int64_t> widths;
  for (const Node* n : model.graph->nodes()) {
    if (!n->isDefaultDomain() || !(n->is("MatMul") || n->is("Gemm")) || !select.includes(*n))
      continue;
    MatMulWeight mw = matmulWeight(*n);
    if (!mw.why_not.empty() || mw.kn.dtype() != DType::F32) continue;
    widths[n->input(0)->name()] = mw.kn.dims()[0];
  }
  if (widths.empty()) return;
  const std::string path = o.getString("calib-data");
  if (path.empty()) fail(ErrorKind::Usage, "quantize-weight-only: algorithm=gptq needs calib-data");
  CalibDataOptions d;
  for (const auto& m : o.getList("calib-map")) {
    auto eq = m.find('=');
    if (eq == std::string::npos)
      fail(ErrorKind::Usage, "calib-map entry '{}' must be INPUT=ARRAY", m);
    d.map.emplace_back(m.substr(0, eq), m.substr(eq + 1));
  }
  d.max_samples = o.getInt("calib-samples");
  CalibrationData data(path, *model.graph, d);
  std::vector<std::string> names;
  for (const auto& [name, k] : widths) {
    names.push_back(name);
    rw.hessians.emplace(name, InputHessian(k));
  }
  forEachActivation(
      model, data, names, CalibrateOptions{}, [&](const std::string& name, const Tensor& t) {
        InputHessian& h = rw.hessians.at(name);
        FloatData f(t);
        if (f.size() % h.width())
          failInput("GPTQ: activation '{}' does not have rows of {} values", name, h.width());
        h.add(f.data(), f.size() / h.width());
      });
  ctx.count("gptq-inputs", static_cast<int64_t>(names.size()));
  ctx.count("calibration-samples", data.samples());
}

}  // namespace

bool QuantizeWeightOnlyPass::run(Model& model, PassContext& ctx) {
  NodeSelection select = selectionFrom(opts_);
  Rewriter rw(model, ctx, opts_);
  rw.damp = opts_.getFloat("damp");
  if (opts_.getString("algorithm") == "gptq") collectHessians(model, select, opts_, rw, ctx);
  int64_t before = floatWeightBytes(model);
  bool changed = false;
  forEachGraph(model, [&](Graph& g) {
    for (Node* n : g.nodeVector()) {
      if (!n->isDefaultDomain() || !(n->is("MatMul") || n->is("Gemm") || n->is("Gather"))) continue;
      if (!select.includes(*n)) {
        std::string why = select.exclusionReason(*n);
        if (!why.empty()) rw.skip(n, why);
        continue;
      }
      changed |= n->is("Gather") ? rw.gather(g, n) : rw.matmul(g, n);
    }
  });
  dropDeadValues(rw.replaced);
  rw.skipped.flush(ctx);
  if (changed && !rw.qdq && model.opset("com.microsoft") == 0) model.setOpset("com.microsoft", 1);
  ctx.count("float-weight-bytes-before", before);
  ctx.count("float-weight-bytes-after", floatWeightBytes(model));
  return changed;
}

}  // namespace mopt
