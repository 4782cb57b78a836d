// IR -> ONNX wire structs. Tensor bytes are referenced, never copied; big tensors can be routed
// to an external data file.
#include "frontend/onnx/OnnxImport.h"

#include "ir/Error.h"

namespace mopt {

using namespace onnx_wire;

namespace {

PType exportType(const Type& t) {
  PType p;
  auto shape = [&p](const std::optional<Shape>& s) {
    if (!s) return;
    p.has_shape = true;
    for (const Dim& d : *s) {
      PDim pd;
      pd.has_value = d.kind == Dim::Kind::Value;
      pd.has_param = d.kind == Dim::Kind::Param;
      pd.value = d.value;
      pd.param = d.param;
      pd.denotation = d.denotation;
      p.shape.push_back(std::move(pd));
    }
  };
  auto inner = [&p](const Type* e) {
    if (e) p.elem = std::make_unique<PType>(exportType(*e));
  };
  switch (t.kind()) {
    case Type::Kind::Undefined:
      break;
    case Type::Kind::Tensor:
      p.kind = 1;
      p.elem_type = static_cast<int32_t>(t.elemType());
      shape(t.shape());
      break;
    case Type::Kind::SparseTensor:
      p.kind = 8;
      p.elem_type = static_cast<int32_t>(t.elemType());
      shape(t.shape());
      break;
    case Type::Kind::Sequence:
      p.kind = 4;
      inner(t.element());
      break;
    case Type::Kind::Optional:
      p.kind = 9;
      inner(t.element());
      break;
    case Type::Kind::Map:
      p.kind = 5;
      p.elem_type = static_cast<int32_t>(t.elemType());
      inner(t.element());
      break;
    case Type::Kind::Opaque:
      p.kind = 7;
      p.opaque_domain = t.opaqueDomain();
      p.opaque_name = t.opaqueName();
      break;
  }
  p.denotation = t.denotation();
  return p;
}

PValueInfo exportValueInfo(const Value& v) {
  PValueInfo p;
  p.name = v.name();
  p.has_type = v.type().isDefined();
  if (p.has_type) p.type = exportType(v.type());
  p.doc_string = v.docString();
  p.metadata_props = v.metadataProps();
  return p;
}

class Exporter {
 public:
  explicit Exporter(ExternalDataSink* sink) : sink_(sink) {}

  PTensor tensor(const Tensor& t, const std::string& name) {
    PTensor p;
    p.dims = t.dims();
    p.data_type = static_cast<int32_t>(t.dtype());
    p.name = name;
    p.doc_string = t.docString();
    p.metadata_props = t.metadataProps();
    if (t.dtype() == DType::String) {
      p.string_data = t.strings();
      return p;
    }
    if (sink_ && t.byteSize() >= sink_->threshold() && t.byteSize() > 0) {
      uint64_t offset = sink_->append(t);
      p.data_location = 1;
      p.external_data = {{"location", sink_->location()},
                         {"offset", std::to_string(offset)},
                         {"length", std::to_string(t.byteSize())}};
      return p;
    }
    p.has_raw_data = true;
    p.raw_data.buffer = t.buffer();
    p.raw_data.data = t.raw();
    p.raw_data.size = t.byteSize();
    return p;
  }

  PSparseTensor sparse(const SparseTensor& s) {
    PSparseTensor p;
    // Sparse parts stay inline: they are small by construction and rarely used.
    ExternalDataSink* saved = sink_;
    sink_ = nullptr;
    p.values = tensor(s.values, s.values.name());
    p.indices = tensor(s.indices, s.indices.name());
    sink_ = saved;
    p.dims = s.dims;
    return p;
  }

  PAttr attribute(const Attribute& a) {
    PAttr p;
    p.name = a.name;
    p.doc_string = a.doc_string;
    p.ref_attr_name = a.ref_attr_name;
    p.unknown = a.unknown_fields;
    bool ref = !a.ref_attr_name.empty();
    switch (a.kind) {
      case AttrKind::Undefined:
        p.type = 0;
        break;
      case AttrKind::Float:
        p.type = 1;
        p.has_f = !ref;
        p.f = a.f;
        break;
      case AttrKind::Int:
        p.type = 2;
        p.has_i = !ref;
        p.i = a.i;
        break;
      case AttrKind::String:
        p.type = 3;
        p.has_s = !ref;
        p.s = a.s;
        break;
      case AttrKind::Tensor:
        p.type = 4;
        p.has_t = !ref && a.t.isDefined();
        if (p.has_t) p.t = std::make_unique<PTensor>(tensor(a.t, a.t.name()));
        break;
      case AttrKind::Graph:
        p.type = 5;
        p.has_g = a.g != nullptr;
        if (a.g) p.g = std::make_unique<PGraph>(graph(*a.g));
        break;
      case AttrKind::Floats:
        p.type = 6;
        p.floats = a.floats;
        break;
      case AttrKind::Ints:
        p.type = 7;
        p.ints = a.ints;
        break;
      case AttrKind::Strings:
        p.type = 8;
        p.strings = a.strings;
        break;
      case AttrKind::Tensors:
        p.type = 9;
        for (const auto& t : a.tensors)
          p.tensors.push_back(tensor(t, t.name()));
        break;
      case AttrKind::Graphs:
        p.type = 10;
        for (const auto& g : a.graphs)
          p.graphs.push_back(std::make_unique<PGraph>(graph(*g)));
        break;
      case AttrKind::SparseTensor:
        p.type = 11;
        p.has_sparse = !ref && a.sparse.values.isDefined();
        if (p.has_sparse) p.sparse_tensor = std::make_unique<PSparseTensor>(sparse(a.sparse));
        break;
      case AttrKind::SparseTensors:
        p.type = 12;
        for (const auto& s : a.sparse_tensors)
          p.sparse_tensors.push_back(sparse(s));
        break;
      case AttrKind::TypeProto:
        p.type = 13;
        p.has_tp = !ref;
        p.tp = std::make_unique<PType>(exportType(a.tp));
        break;
      case AttrKind::TypeProtos:
        p.type = 14;
        for (const auto& t : a.type_protos)
          p.type_protos.push_back(exportType(t));
        break;
    }
    return p;
  }

  PNode node(const Node& n) {
    PNode p;
    for (const Value* v : n.inputs())
      p.input.push_back(v ? v->name() : std::string());
    for (const Value* v : n.outputs())
      p.output.push_back(v ? v->name() : std::string());
    p.name = n.name();
    p.op_type = n.opType();
    p.domain = n.domain();
    p.overload = n.overload();
    p.doc_string = n.docString();
    p.metadata_props = n.metadataProps();
    p.unknown = n.unknown_fields;
    for (const Attribute& a : n.attributes())
      p.attribute.push_back(attribute(a));
    return p;
  }

  PGraph graph(const Graph& g) {
    PGraph p;
    p.name = g.name();
    p.doc_string = g.docString();
    p.metadata_props = g.metadataProps();
    p.unknown = g.unknown_fields;
    for (const Node* n : g.nodes()) {
      p.node.push_back(node(*n));
      for (const Value* v : n->outputs())
        if (v && v->type().isDefined() && !v->isGraphOutput())
          p.value_info.push_back(exportValueInfo(*v));
    }
    for (const Value* v : g.initializers())
      p.initializer.push_back(tensor(v->initializer(), v->name()));
    for (const Value* v : g.sparseInitializers()) {
      PSparseTensor s = sparse(*v->sparseInitializer());
      s.values.name = v->name();  // a sparse initializer is named by its values tensor
      p.sparse_initializer.push_back(std::move(s));
    }
    for (const Value* v : g.inputs())
      p.input.push_back(exportValueInfo(*v));
    for (const Value* v : g.outputs())
      p.output.push_back(exportValueInfo(*v));
    return p;
  }

  PFunction function(const Function& f) {
    PFunction p;
    p.name = f.name;
    p.domain = f.domain;
    p.overload = f.overload;
    p.doc_string = f.doc_string;
    p.attribute = f.attribute_names;
    p.metadata_props = f.metadata_props;
    p.unknown = f.unknown_fields;
    for (const auto& o : f.opset_imports)
      p.opset_import.push_back(POpset{o.domain, o.version});
    for (const auto& a : f.attribute_defaults)
      p.attribute_proto.push_back(attribute(a));
    if (f.body) {
      for (const Value* v : f.body->inputs())
        p.input.push_back(v->name());
      for (const Value* v : f.body->outputs())
        p.output.push_back(v->name());
      for (const Node* n : f.body->nodes()) {
        p.node.push_back(node(*n));
        for (const Value* v : n->outputs())
          if (v && v->type().isDefined()) p.value_info.push_back(exportValueInfo(*v));
      }
    }
    return p;
  }

 private:
  ExternalDataSink* sink_;
};

}  // namespace

PModel exportOnnx(const Model& m, ExternalDataSink* sink) {
  Exporter ex(sink);
  PModel p;
  p.ir_version = m.ir_version;
  for (const auto& o : m.opset_imports)
    p.opset_import.push_back(POpset{o.domain, o.version});
  p.producer_name = m.producer_name;
  p.producer_version = m.producer_version;
  p.domain = m.domain;
  p.model_version = m.model_version;
  p.doc_string = m.doc_string;
  p.metadata_props = m.metadata_props;
  p.training_info = m.training_info;
  p.unknown = m.unknown_fields;
  p.has_graph = true;
  p.graph = ex.graph(*m.graph);
  for (const Function& f : m.functions)
    p.functions.push_back(ex.function(f));
  return p;
}

PTensor exportOnnxTensor(const Tensor& t, const std::string& name, ExternalDataSink* sink) {
  return Exporter(sink).tensor(t, name);
}

}  // namespace mopt
