// Text printer for the IR. The format is line-oriented and deterministic so two dumps diff well.
#include "ir/Printer.h"

#include "ir/TensorUtil.h"

#include <fmt/format.h>

#include <cstring>

namespace mopt {

namespace {

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string valueRef(const Value* v) {
  return v ? "%" + v->name() : "%<none>";
}

std::string dimsStr(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

template <typename T>
std::string join(const std::vector<T>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + fmt::format("{}", v[i]);
  return s + "]";
}

class Printer {
 public:
  explicit Printer(const PrintOptions& o) : opts_(o) {}

  std::string model(const Model& m) {
    std::string opsets;
    for (const auto& o : m.opset_imports)
      opsets += fmt::format("{}{}:{}", opsets.empty() ? "" : ", ",
                            o.domain.empty() ? "ai.onnx" : o.domain, o.version);
    line(0,
         fmt::format(
             "model ir_version={} opsets=[{}] producer={} version={}", m.ir_version, opsets,
             quote(m.producer_name + (m.producer_version.empty() ? "" : " ") + m.producer_version),
             m.model_version));
    if (!m.domain.empty()) line(1, "domain " + quote(m.domain));
    for (const auto& [k, v] : m.metadata_props)
      line(1, "metadata " + quote(k) + " = " + quote(v));
    if (opts_.show_doc_strings && !m.doc_string.empty()) line(1, "doc " + quote(m.doc_string));
    if (!m.training_info.empty())
      line(1, fmt::format("training_info: {} entries", m.training_info.size()));
    graph(*m.graph, 0, "graph");
    for (const Function& f : m.functions) {
      std::string opsets_f;
      for (const auto& o : f.opset_imports)
        opsets_f += fmt::format("{}{}:{}", opsets_f.empty() ? "" : ", ",
                                o.domain.empty() ? "ai.onnx" : o.domain, o.version);
      std::string attrs;
      for (const auto& a : f.attribute_names)
        attrs += (attrs.empty() ? "" : ", ") + a;
      for (const auto& a : f.attribute_defaults)
        attrs += (attrs.empty() ? "" : ", ") + a.name + "=" + attrValue(a, 1);
      line(0, fmt::format("function {}.{}{} opsets=[{}] attributes=[{}]", f.domain, f.name,
                          f.overload.empty() ? "" : ":" + f.overload, opsets_f, attrs));
      if (f.body) graph(*f.body, 0, "body");
    }
    return std::move(out_);
  }

  std::string graphOnly(const Graph& g) {
    graph(g, 0, "graph");
    return std::move(out_);
  }

 private:
  const PrintOptions& opts_;
  std::string out_;

  void line(int indent, const std::string& text) {
    out_.append(static_cast<size_t>(indent) * 2, ' ');
    out_ += text;
    out_ += '\n';
  }

  void graph(const Graph& g, int indent, const std::string& label) {
    line(indent, fmt::format("{} {} {{", label, quote(g.name())));
    for (const auto& [k, v] : g.metadataProps())
      line(indent + 1, "metadata " + quote(k) + " = " + quote(v));
    if (opts_.show_doc_strings && !g.docString().empty())
      line(indent + 1, "doc " + quote(g.docString()));
    for (const Value* v : g.inputs())
      line(indent + 1,
           fmt::format(
               "input {}: {}{}", valueRef(v), v->type().str(),
               v->isInitializer() ? " = " + printTensorSummary(v->initializer(), opts_) : ""));
    for (const Value* v : g.initializers())
      if (!v->isGraphInput())
        line(indent + 1,
             fmt::format("init {} = {}", valueRef(v), printTensorSummary(v->initializer(), opts_)));
    for (const Value* v : g.sparseInitializers()) {
      const SparseTensor& s = *v->sparseInitializer();
      line(indent + 1,
           fmt::format("sparse_init {}: {}{} values={} indices={}", valueRef(v),
                       dtypeName(s.values.dtype()), dimsStr(s.dims),
                       printTensorSummary(s.values, opts_), printTensorSummary(s.indices, opts_)));
    }
    for (const Node* n : g.nodes())
      node(*n, indent + 1);
    std::string outs;
    for (const Value* v : g.outputs())
      outs += (outs.empty() ? "" : ", ") + valueRef(v) + ": " + v->type().str();
    line(indent + 1, "return " + outs);
    line(indent, "}");
  }

  void node(const Node& n, int indent) {
    std::string outs;
    for (const Value* v : n.outputs())
      outs += (outs.empty() ? "" : ", ") + valueRef(v);
    std::string ins;
    for (size_t i = 0; i < n.numInputs(); ++i)
      ins += (i ? ", " : "") + valueRef(n.input(i));
    std::string op = n.domain().empty() ? n.opType() : n.domain() + "." + n.opType();
    if (!n.overload().empty()) op += ":" + n.overload();
    std::string attrs;
    bool has_graphs = false;
    for (const Attribute& a : n.attributes()) {
      if (a.kind == AttrKind::Graph || a.kind == AttrKind::Graphs) {
        has_graphs = true;
        continue;
      }
      attrs += (attrs.empty() ? "" : ", ") + a.name + "=" +
               (a.ref_attr_name.empty() ? attrValue(a, indent) : "@" + a.ref_attr_name);
    }
    std::string types;
    for (const Value* v : n.outputs())
      types += (types.empty() ? "" : ", ") + (v ? v->type().str() : std::string("-"));
    std::string text = fmt::format("{} = {}({})", outs.empty() ? "()" : outs, op, ins);
    if (!attrs.empty()) text += " {" + attrs + "}";
    if (!n.name().empty()) text += " name=" + quote(n.name());
    text += " : " + types;
    for (const auto& [k, v] : n.metadataProps())
      text += " meta " + quote(k) + "=" + quote(v);
    if (opts_.show_doc_strings && !n.docString().empty()) text += " doc=" + quote(n.docString());
    line(indent, text + (has_graphs ? " {" : ""));
    if (!has_graphs) return;
    for (const Attribute& a : n.attributes()) {
      if (a.g) graph(*a.g, indent + 1, a.name + " =");
      for (size_t i = 0; i < a.graphs.size(); ++i)
        graph(*a.graphs[i], indent + 1, fmt::format("{}[{}] =", a.name, i));
    }
    line(indent, "}");
  }

  std::string attrValue(const Attribute& a, int /*indent*/) {
    switch (a.kind) {
      case AttrKind::Float:
        return fmt::format("{}", a.f);
      case AttrKind::Int:
        return std::to_string(a.i);
      case AttrKind::String:
        return quote(a.s);
      case AttrKind::Tensor:
        return printTensorSummary(a.t, opts_);
      case AttrKind::SparseTensor:
        return fmt::format("sparse {}{} values={}", dtypeName(a.sparse.values.dtype()),
                           dimsStr(a.sparse.dims), printTensorSummary(a.sparse.values, opts_));
      case AttrKind::TypeProto:
        return "type " + a.tp.str();
      case AttrKind::Floats:
        return join(a.floats);
      case AttrKind::Ints:
        return join(a.ints);
      case AttrKind::Strings: {
        std::string s = "[";
        for (size_t i = 0; i < a.strings.size(); ++i)
          s += (i ? ", " : "") + quote(a.strings[i]);
        return s + "]";
      }
      case AttrKind::Tensors: {
        std::string s = "[";
        for (size_t i = 0; i < a.tensors.size(); ++i)
          s += (i ? ", " : "") + printTensorSummary(a.tensors[i], opts_);
        return s + "]";
      }
      case AttrKind::SparseTensors:
        return fmt::format("[{} sparse tensors]", a.sparse_tensors.size());
      case AttrKind::TypeProtos: {
        std::string s = "[";
        for (size_t i = 0; i < a.type_protos.size(); ++i)
          s += (i ? ", " : "") + a.type_protos[i].str();
        return s + "]";
      }
      case AttrKind::Graph:
      case AttrKind::Graphs:
      case AttrKind::Undefined:
        break;
    }
    return "?";
  }
};

std::string elementStr(const Tensor& t, int64_t i) {
  if (t.dtype() == DType::String) return quote(t.strings()[static_cast<size_t>(i)]);
  if (t.dtype() == DType::Bool) return t.raw()[i] ? "true" : "false";
  if (isFloatingPoint(t.dtype())) return fmt::format("{}", elementAsDouble(t, i));
  if (t.dtype() == DType::C64 || t.dtype() == DType::C128) return "c";
  if (t.dtype() == DType::U64) {
    uint64_t u;
    std::memcpy(&u, t.raw() + 8 * i, 8);
    return std::to_string(u);
  }
  return std::to_string(elementAsInt(t, i));
}

}  // namespace

uint64_t tensorHash(const Tensor& t) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 1099511628211ull;
    }
  };
  if (t.dtype() == DType::String) {
    for (const auto& s : t.strings()) {
      mix(reinterpret_cast<const uint8_t*>(s.data()), s.size());
      uint8_t sep = 0xff;
      mix(&sep, 1);
    }
  } else if (t.raw()) {
    mix(t.raw(), t.byteSize());
  }
  return h;
}

std::string printTensorSummary(const Tensor& t, const PrintOptions& opts) {
  if (!t.isDefined()) return "<undefined tensor>";
  std::string head = fmt::format("{}{}", dtypeName(t.dtype()), dimsStr(t.dims()));
  bool complex = t.dtype() == DType::C64 || t.dtype() == DType::C128;
  if (t.numel() <= opts.max_inline_elements && !complex && dtypeBits(t.dtype()) != 4) {
    std::string vals;
    for (int64_t i = 0; i < t.numel(); ++i)
      vals += (i ? ", " : "") + elementStr(t, i);
    return head + " {" + vals + "}";
  }
  std::string first;
  if (!complex && dtypeBits(t.dtype()) != 4) {
    for (int64_t i = 0; i < std::min<int64_t>(4, t.numel()); ++i)
      first += (i ? ", " : "") + elementStr(t, i);
    first += ", ...";
  }
  return fmt::format("{} {{{}}} #{:016x}", head, first, tensorHash(t));
}

std::string printModel(const Model& m, const PrintOptions& opts) {
  return Printer(opts).model(m);
}

std::string printGraph(const Graph& g, const PrintOptions& opts) {
  return Printer(opts).graphOnly(g);
}

}  // namespace mopt
