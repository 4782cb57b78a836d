// Options and weight layouts shared by the quantization passes.
#include "passes/quantize/QuantCommon.h"

#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "passes/common/Constants.h"

#include <cstring>

namespace mopt {

std::vector<OptionSpec> selectionOptions(const std::string& default_ops,
                                         const std::string& ops_help) {
  return {{"include-ops", OptionType::StringList, default_ops, ops_help, {}, false},
          {"exclude",
           OptionType::StringList,
           "",
           "nodes to leave alone: an op type, a node name, or re:REGEX matched against node names",
           {},
           false}};
}

NodeSelection selectionFrom(const OptionValues& o) {
  return NodeSelection(o.getList("include-ops"), o.getList("exclude"));
}

DType weightTypeFrom(const OptionValues& o, const std::string& option) {
  const std::string& t = o.getString(option);
  if (t == "int8") return DType::I8;
  if (t == "uint8") return DType::U8;
  if (t == "int16") return DType::I16;
  if (t == "uint16") return DType::U16;
  fail(ErrorKind::Usage, "{} must be int8 or uint8, not '{}'", option, t);
}

Tensor scalarOf(DType dtype, double v) {
  return fromDoubles(dtype, {}, {v});
}

namespace {

bool isFloat(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::F64;
}

// [R, C] -> [C, R], scaled by alpha, in f32.
Tensor transposeScaled(const Tensor& t, float alpha) {
  FloatData src(t);
  int64_t r = t.dims()[0], c = t.dims()[1];
  auto buf = Buffer::allocate(static_cast<uint64_t>(r * c) * 4);
  auto* out = reinterpret_cast<float*>(buf->mutableData());
  const float* in = src.data();
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j)
      out[j * r + i] = in[i * c + j] * alpha;
  return Tensor(DType::F32, {c, r}, std::move(buf));
}

}  // namespace

MatMulWeight matmulWeight(const Node& n) {
  MatMulWeight w;
  if (n.is("MatMul")) {
    auto b = constantValue(n.input(1));
    if (!b) {
      w.why_not = "neither operand is constant";
      if (constantValue(n.input(0))) w.why_not = "only the left operand is constant";
      return w;
    }
    if (!isFloat(b->dtype())) {
      w.why_not = "the weight is not floating point";
      return w;
    }
    if (b->dims().size() != 2) {
      w.why_not = "the weight is not a matrix";
      return w;
    }
    w.kn = *b;
    return w;
  }
  if (n.is("Gemm")) {
    if (n.intAttr("transA", 0) != 0) {
      w.why_not = "transA is set";
      return w;
    }
    auto b = constantValue(n.input(1));
    if (!b || b->dims().size() != 2 || !isFloat(b->dtype())) {
      w.why_not = "its B operand is not a constant float matrix";
      return w;
    }
    float alpha = n.floatAttr("alpha", 1.0f);
    bool trans = n.intAttr("transB", 0) != 0;
    if (!trans && alpha == 1.0f) {
      w.kn = *b;
    } else if (trans) {
      w.kn = transposeScaled(*b, alpha);
    } else {
      std::vector<double> v = toDoubles(*b);
      for (double& x : v)
        x *= alpha;
      w.kn = fromDoubles(DType::F32, b->dims(), v);
    }
    return w;
  }
  w.why_not = "not a MatMul or Gemm";
  return w;
}

Attribute copyScalarAttr(const Attribute& a) {
  switch (a.kind) {
    case AttrKind::Int:
      return Attribute::makeInt(a.name, a.i);
    case AttrKind::Float:
      return Attribute::makeFloat(a.name, a.f);
    case AttrKind::String:
      return Attribute::makeString(a.name, a.s);
    case AttrKind::Ints:
      return Attribute::makeInts(a.name, a.ints);
    case AttrKind::Floats:
      return Attribute::makeFloats(a.name, a.floats);
    case AttrKind::Strings:
      return Attribute::makeStrings(a.name, a.strings);
    default:
      fail(ErrorKind::Internal, "copyScalarAttr: attribute {} is not a scalar or list", a.name);
  }
}

void SkipReport::add(const Node& n, const std::string& why) {
  std::string name =
      n.name().empty() ? (n.numOutputs() && n.output(0) ? n.output(0)->name() : "?") : n.name();
  for (auto& g : groups_)
    if (g.op == n.opType() && g.why == why) {
      g.names.push_back(name);
      return;
    }
  groups_.push_back({n.opType(), why, {name}});
}

void SkipReport::flush(PassContext& ctx) {
  int64_t total = 0;
  for (const auto& g : groups_) {
    std::string examples;
    for (size_t i = 0; i < g.names.size() && i < 3; ++i)
      examples += (i ? ", " : "") + g.names[i];
    if (g.names.size() > 3) examples += ", ...";
    ctx.note("kept " + std::to_string(g.names.size()) + " " + g.op + " in float: " + g.why + " (" +
             examples + ")");
    total += static_cast<int64_t>(g.names.size());
  }
  if (total) ctx.count("nodes-skipped", total);
  groups_.clear();
}

int64_t floatWeightBytes(const Model& m) {
  int64_t total = 0;
  forEachGraph(m, [&](const Graph& g) {
    for (const Value* v : g.initializers())
      if (isFloat(v->initializer().dtype()))
        total += static_cast<int64_t>(v->initializer().byteSize());
  });
  return total;
}

}  // namespace mopt
