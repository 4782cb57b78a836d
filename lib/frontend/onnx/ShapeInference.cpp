// Types and shapes for every value, from ONNX's own shape inference (with data propagation), run
// on a copy of the model whose large weights are left out (inference needs their dims, not bytes).
#include "frontend/onnx/Onnx.h"
#include "frontend/onnx/OnnxImport.h"

#include "ir/Error.h"

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <set>
#include <unordered_map>

namespace mopt {

namespace {

// Records every tensor of at least 256 bytes as "external" without writing anything: the copy
// stays small (no 2 GB limit) while small integer tensors (shapes, axes) keep their values for
// data propagation.
class DiscardingSink : public ExternalDataSink {
 public:
  uint64_t threshold() const override { return 256; }
  uint64_t append(const Tensor&) override { return 0; }
  const std::string& location() const override { return location_; }

 private:
  std::string location_ = "mopt-shape-inference-placeholder";
};

Type convertType(const ::onnx::TypeProto& t) {
  auto shape = [](const ::onnx::TensorShapeProto& s) {
    Shape out;
    for (const auto& d : s.dim()) {
      if (d.has_dim_value())
        out.push_back(Dim::known(d.dim_value()));
      else if (d.has_dim_param())
        out.push_back(Dim::symbol(d.dim_param()));
      else
        out.push_back(Dim::unknown());
    }
    return out;
  };
  auto elem = [](int32_t v) { return dtypeFromOnnx(v).value_or(DType::Undefined); };
  switch (t.value_case()) {
    case ::onnx::TypeProto::kTensorType:
      return Type::tensor(elem(t.tensor_type().elem_type()),
                          t.tensor_type().has_shape()
                              ? std::optional<Shape>(shape(t.tensor_type().shape()))
                              : std::nullopt);
    case ::onnx::TypeProto::kSequenceType:
      return Type::sequence(convertType(t.sequence_type().elem_type()));
    case ::onnx::TypeProto::kOptionalType:
      return Type::optional(convertType(t.optional_type().elem_type()));
    case ::onnx::TypeProto::kSparseTensorType:
      return Type::sparseTensor(elem(t.sparse_tensor_type().elem_type()),
                                t.sparse_tensor_type().has_shape()
                                    ? std::optional<Shape>(shape(t.sparse_tensor_type().shape()))
                                    : std::nullopt);
    default:
      return Type();
  }
}

// How much a type says: undefined < no shape < shape with unknown dims < fully named/known.
int specificity(const Type& t) {
  if (!t.isDefined()) return 0;
  if (!t.isTensor()) return 1;
  if (t.elemType() == DType::Undefined) return 1;
  if (!t.shape()) return 2;
  int score = 3;
  for (const Dim& d : *t.shape())
    score += d.kind == Dim::Kind::Unknown ? 0 : 1;
  return score;
}

// Keeps what we knew (symbolic names included) and fills gaps from the inferred type.
Type merge(const Type& have, const Type& inferred) {
  if (specificity(inferred) <= specificity(have)) {
    if (!have.isTensor() || !inferred.isTensor() || !have.shape() || !inferred.shape() ||
        have.shape()->size() != inferred.shape()->size())
      return have;
  }
  if (!have.isTensor() || !have.shape() || !inferred.isTensor() || !inferred.shape() ||
      have.shape()->size() != inferred.shape()->size() || have.elemType() != inferred.elemType())
    return specificity(inferred) > specificity(have) ? inferred : have;
  Shape s = *have.shape();
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i].kind == Dim::Kind::Unknown ||
        (s[i].kind == Dim::Kind::Param && (*inferred.shape())[i].isKnown()))
      s[i] = (*inferred.shape())[i];
  Type out = have;
  out.setShape(s);
  return out;
}

void apply(Graph& g, const ::onnx::GraphProto& gp, int64_t& updated) {
  std::unordered_map<std::string, const ::onnx::TypeProto*> types;
  for (const auto& vi : gp.value_info())
    types[vi.name()] = &vi.type();
  for (const auto& vi : gp.output())
    types[vi.name()] = &vi.type();
  int node_index = 0;
  for (Node* n : g.nodes()) {
    for (Value* v : n->outputs()) {
      if (!v) continue;
      auto it = types.find(v->name());
      if (it == types.end()) continue;
      Type merged = merge(v->type(), convertType(*it->second));
      if (merged != v->type()) {
        v->setType(merged);
        ++updated;
      }
    }
    // Subgraphs pair up by node position and attribute order (the copy was exported from `g`).
    if (node_index < gp.node_size()) {
      const auto& pn = gp.node(node_index);
      std::vector<const ::onnx::GraphProto*> subs;
      for (const auto& a : pn.attribute()) {
        if (a.has_g()) subs.push_back(&a.g());
        for (const auto& sg : a.graphs())
          subs.push_back(&sg);
      }
      std::vector<Graph*> ours = n->subgraphs();
      for (size_t i = 0; i < ours.size() && i < subs.size(); ++i)
        apply(*ours[i], *subs[i], updated);
    }
    ++node_index;
  }
}

// Rules for what ONNX 1.12's inference leaves open (e.g. Slice with computed starts loses even
// the rank): same-shape ops, Transpose, Slice/Reshape ranks, broadcasting. Returns values updated.
int64_t fillByRules(Graph& g) {
  static const std::set<std::string> kSameShape = {"Relu",
                                                   "Sigmoid",
                                                   "Tanh",
                                                   "Erf",
                                                   "Softmax",
                                                   "LogSoftmax",
                                                   "Neg",
                                                   "Abs",
                                                   "Sqrt",
                                                   "Exp",
                                                   "Log",
                                                   "Dropout",
                                                   "Identity",
                                                   "LayerNormalization",
                                                   "BatchNormalization",
                                                   "Clip",
                                                   "LeakyRelu",
                                                   "HardSigmoid",
                                                   "HardSwish",
                                                   "Reciprocal",
                                                   "Floor",
                                                   "Ceil",
                                                   "Round",
                                                   "Sign",
                                                   "Not",
                                                   "Cast",
                                                   "CastLike",
                                                   "Softplus",
                                                   "Elu",
                                                   "Selu",
                                                   "Celu",
                                                   "Gelu",
                                                   "Mish",
                                                   "PRelu",
                                                   "QuantizeLinear",
                                                   "DequantizeLinear",
                                                   "IsNaN",
                                                   "IsInf",
                                                   "InstanceNormalization",
                                                   "LpNormalization"};
  static const std::set<std::string> kBroadcast = {
      "Add", "Sub", "Mul", "Div", "Pow", "Where",       "Equal",          "Less", "Greater", "And",
      "Or",  "Xor", "Max", "Min", "Mod", "LessOrEqual", "GreaterOrEqual", "Sum",  "Mean"};
  int64_t updated = 0;
  auto known = [](const Value* v) { return v && v->type().isTensor() && v->type().shape(); };
  auto set = [&updated](Value* v, const Type& t) {
    if (specificity(t) > specificity(v->type())) {
      v->setType(t);
      ++updated;
    }
  };
  for (Node* n : g.nodes()) {
    for (Graph* sub : n->subgraphs())
      updated += fillByRules(*sub);
    Value* out = n->output(0);
    if (!out || !n->isDefaultDomain() || (out->type().isTensor() && out->type().shape())) continue;
    const Value* x = n->input(0);
    const std::string& op = n->opType();
    if (kSameShape.count(op) && known(x)) {
      DType dt = x->type().elemType();
      if (op == "Cast")
        dt = dtypeFromOnnx(static_cast<int32_t>(n->intAttr("to", 0))).value_or(DType::Undefined);
      if (op == "CastLike" && n->input(1)) dt = n->input(1)->type().elemType();
      if (op == "QuantizeLinear" && n->input(2)) dt = n->input(2)->type().elemType();
      if (op == "QuantizeLinear" && !n->input(2)) dt = DType::U8;
      if (op == "DequantizeLinear" && n->input(1)) dt = n->input(1)->type().elemType();
      if (op == "IsNaN" || op == "IsInf" || op == "Not") dt = DType::Bool;
      set(out, Type::tensor(dt, x->type().shape()));
    } else if (op == "Transpose" && known(x)) {
      const Shape& in = *x->type().shape();
      std::vector<int64_t> perm = n->intsAttr("perm");
      Shape s;
      if (perm.empty())
        s.assign(in.rbegin(), in.rend());
      else
        for (int64_t p : perm)
          s.push_back(p >= 0 && p < static_cast<int64_t>(in.size()) ? in[p] : Dim::unknown());
      set(out, Type::tensor(x->type().elemType(), s));
    } else if (op == "Slice" && known(x)) {
      set(out,
          Type::tensor(x->type().elemType(), Shape(x->type().shape()->size(), Dim::unknown())));
    } else if (op == "Reshape" && x && x->type().isTensor() && known(n->input(1)) &&
               n->input(1)->type().shape()->size() == 1 &&
               (*n->input(1)->type().shape())[0].isKnown()) {
      int64_t rank = (*n->input(1)->type().shape())[0].value;
      set(out,
          Type::tensor(x->type().elemType(), Shape(static_cast<size_t>(rank), Dim::unknown())));
    } else if (kBroadcast.count(op)) {
      size_t first = op == "Where" ? 1 : 0;
      bool all = n->numInputs() > first;
      size_t rank = 0;
      for (size_t i = first; i < n->numInputs(); ++i) {
        all = all && known(n->input(i));
        if (all) rank = std::max(rank, n->input(i)->type().shape()->size());
      }
      if (!all) continue;
      Shape s(rank, Dim::unknown());
      for (size_t i = first; i < n->numInputs(); ++i) {
        const Shape& in = *n->input(i)->type().shape();
        for (size_t k = 0; k < in.size(); ++k) {
          Dim& d = s[rank - in.size() + k];
          const Dim& e = in[k];
          if (e.isKnown() && e.value != 1)
            d = e;
          else if (d.kind == Dim::Kind::Unknown && e.kind == Dim::Kind::Param)
            d = e;
          else if (d.kind == Dim::Kind::Unknown && e.isKnown() && e.value == 1 &&
                   i + 1 == n->numInputs())
            d = e;
        }
      }
      bool compare = op == "Equal" || op == "Less" || op == "Greater" || op == "And" ||
                     op == "Or" || op == "Xor" || op == "LessOrEqual" || op == "GreaterOrEqual";
      set(out, Type::tensor(compare ? DType::Bool : n->input(first)->type().elemType(), s));
    }
  }
  return updated;
}

}  // namespace

ShapeInferenceResult inferShapesOnnx(Model& m) {
  ShapeInferenceResult r;
  // ONNX's inference and mopt's rules feed each other: a rank the rules recover lets ONNX infer
  // the ops after it. A few rounds reach the fixed point on real models.
  for (int round = 0; round < 4; ++round) {
    DiscardingSink sink;
    std::string bytes = onnx_wire::serializeModel(exportOnnx(m, &sink)).flatten();
    ::onnx::ModelProto proto;
    if (!proto.ParseFromString(bytes))
      fail(ErrorKind::Internal,
           "shape inference: protobuf could not parse mopt's own serialization");
    try {
      ::onnx::ShapeInferenceOptions opts(/*check_type=*/false, /*error_mode=*/0,
                                         /*data_prop=*/true);
      ::onnx::shape_inference::InferShapes(proto, ::onnx::OpSchemaRegistry::Instance(), opts);
    } catch (const std::exception& e) {
      if (round == 0)
        r.notes.push_back(std::string("ONNX shape inference stopped early: ") + e.what());
    }
    int64_t before = r.updated;
    apply(*m.graph, proto.graph(), r.updated);
    r.updated += fillByRules(*m.graph);
    if (r.updated == before) break;
  }
  forEachGraph(static_cast<const Graph&>(*m.graph), [&](const Graph& g) {
    for (const Node* n : g.nodes())
      for (const Value* v : n->outputs()) {
        if (!v) continue;
        ++r.values;
        if (v->type().isDefined() && (!v->type().isTensor() || v->type().shape())) ++r.typed;
      }
  });
  return r;
}

}  // namespace mopt
