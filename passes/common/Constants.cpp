// Looking through Constant and Identity nodes for constant tensors.
#include "passes/common/Constants.h"

namespace mopt {

std::optional<Tensor> constantNodeValue(const Node& n) {
  if (!n.is("Constant")) return std::nullopt;
  for (const Attribute& a : n.attributes()) {
    if (!a.ref_attr_name.empty()) return std::nullopt;
    if (a.name == "value" && a.kind == AttrKind::Tensor) return a.t;
    if (a.name == "value_float") return Tensor::fromVector(DType::F32, {}, std::vector<float>{a.f});
    if (a.name == "value_int") return Tensor::fromVector(DType::I64, {}, std::vector<int64_t>{a.i});
    if (a.name == "value_floats")
      return Tensor::fromVector(DType::F32, {static_cast<int64_t>(a.floats.size())}, a.floats);
    if (a.name == "value_ints")
      return Tensor::fromVector(DType::I64, {static_cast<int64_t>(a.ints.size())}, a.ints);
    if (a.name == "value_string") return Tensor::fromStrings({}, {a.s});
    if (a.name == "value_strings")
      return Tensor::fromStrings({static_cast<int64_t>(a.strings.size())}, a.strings);
  }
  return std::nullopt;
}

std::optional<Tensor> constantValue(const Value* v) {
  for (int hops = 0; v && hops < 64; ++hops) {
    if (v->isConstantInitializer()) return v->initializer();
    const Node* p = v->producer();
    if (!p) return std::nullopt;
    if (p->is("Constant")) return constantNodeValue(*p);
    if (!p->is("Identity")) return std::nullopt;
    v = p->input(0);
  }
  return std::nullopt;
}

}  // namespace mopt
