// The OpSchemaOracle backed by ONNX's own operator schema registry (libonnx).
#include "frontend/onnx/Onnx.h"

#include <onnx/defs/schema.h>

#include <map>
#include <mutex>
#include <tuple>

namespace mopt {

namespace {

AttrKind attrKind(::onnx::AttributeProto::AttributeType t) {
  using A = ::onnx::AttributeProto;
  switch (t) {
    case A::FLOAT:
      return AttrKind::Float;
    case A::INT:
      return AttrKind::Int;
    case A::STRING:
      return AttrKind::String;
    case A::TENSOR:
      return AttrKind::Tensor;
    case A::GRAPH:
      return AttrKind::Graph;
    case A::SPARSE_TENSOR:
      return AttrKind::SparseTensor;
    case A::TYPE_PROTO:
      return AttrKind::TypeProto;
    case A::FLOATS:
      return AttrKind::Floats;
    case A::INTS:
      return AttrKind::Ints;
    case A::STRINGS:
      return AttrKind::Strings;
    case A::TENSORS:
      return AttrKind::Tensors;
    case A::GRAPHS:
      return AttrKind::Graphs;
    case A::SPARSE_TENSORS:
      return AttrKind::SparseTensors;
    case A::TYPE_PROTOS:
      return AttrKind::TypeProtos;
    default:
      return AttrKind::Undefined;
  }
}

OpFormal formal(const ::onnx::OpSchema::FormalParameter& p) {
  OpFormal f;
  f.name = p.GetName();
  switch (p.GetOption()) {
    case ::onnx::OpSchema::Single:
      f.option = OpFormal::Option::Single;
      break;
    case ::onnx::OpSchema::Optional:
      f.option = OpFormal::Option::Optional;
      break;
    case ::onnx::OpSchema::Variadic:
      f.option = OpFormal::Option::Variadic;
      break;
  }
  f.type_var = p.GetTypeStr();
  f.homogeneous = p.GetIsHomogeneous();
  f.min_arity = p.GetMinArity();
  bool only_tensors = true;
  for (const std::string* t : p.GetTypes()) {
    const std::string& s = *t;
    if (s.rfind("tensor(", 0) != 0) {
      only_tensors = false;
      continue;
    }
    auto d = parseDType(s.substr(7, s.size() - 8));
    if (d) f.allowed.push_back(*d);
  }
  // Mixed sets (tensor or sequence) are left unchecked: the verifier only sees element types.
  if (!only_tensors) f.allowed.clear();
  std::sort(f.allowed.begin(), f.allowed.end());
  return f;
}

class RegistryOracle : public OpSchemaOracle {
 public:
  Lookup lookup(std::string_view domain, std::string_view op_type, int64_t version,
                const OpSignature** out) const override {
    std::string dom(domain == "ai.onnx" ? "" : domain);
    const auto& ranges = ::onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
    auto range = ranges.find(dom);
    if (range == ranges.end() || version > range->second.second) return Lookup::NotCovered;
    std::lock_guard<std::mutex> lock(mu_);
    auto key = std::make_tuple(dom, std::string(op_type), version);
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      const ::onnx::OpSchema* s =
          ::onnx::OpSchemaRegistry::Schema(std::string(op_type), static_cast<int>(version), dom);
      std::unique_ptr<OpSignature> sig;
      if (s) {
        sig = std::make_unique<OpSignature>();
        sig->domain = dom;
        sig->op_type = std::string(op_type);
        sig->since_version = s->since_version();
        sig->deprecated = s->deprecated();
        for (const auto& p : s->inputs())
          sig->inputs.push_back(formal(p));
        for (const auto& p : s->outputs())
          sig->outputs.push_back(formal(p));
        for (const auto& [name, a] : s->attributes()) {
          OpAttrSpec spec;
          spec.name = name;
          spec.kind = attrKind(a.type);
          spec.required = a.required;
          const auto& d = a.default_value;
          if (d.has_f()) {
            spec.default_kind = AttrKind::Float;
            spec.default_float = d.f();
          } else if (d.has_i()) {
            spec.default_kind = AttrKind::Int;
            spec.default_int = d.i();
          } else if (d.has_s()) {
            spec.default_kind = AttrKind::String;
            spec.default_string = d.s();
          } else if (d.ints_size()) {
            spec.default_kind = AttrKind::Ints;
            spec.default_ints.assign(d.ints().begin(), d.ints().end());
          } else if (d.floats_size()) {
            spec.default_kind = AttrKind::Floats;
            spec.default_floats.assign(d.floats().begin(), d.floats().end());
          }
          sig->attributes.push_back(std::move(spec));
        }
      }
      it = cache_.emplace(key, std::move(sig)).first;
    }
    if (!it->second) return Lookup::UnknownOp;
    *out = it->second.get();
    return Lookup::Found;
  }

 private:
  mutable std::mutex mu_;
  mutable std::map<std::tuple<std::string, std::string, int64_t>, std::unique_ptr<OpSignature>>
      cache_;
};

}  // namespace

const OpSchemaOracle& onnxSchemas() {
  static const RegistryOracle oracle;
  return oracle;
}

int64_t onnxRegistryMaxOpset(const std::string& domain) {
  const auto& ranges = ::onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = ranges.find(domain == "ai.onnx" ? "" : domain);
  return it == ranges.end() ? 0 : it->second.second;
}

}  // namespace mopt
