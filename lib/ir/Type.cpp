// Construction, printing and comparison of IR types.
#include "ir/Type.h"

#include <fmt/format.h>

namespace mopt {

Shape shapeOf(const std::vector<int64_t>& dims) {
  Shape s;
  s.reserve(dims.size());
  for (int64_t d : dims)
    s.push_back(Dim::known(d));
  return s;
}

std::optional<int64_t> knownNumel(const Shape& s) {
  int64_t n = 1;
  for (const Dim& d : s) {
    if (!d.isKnown() || d.value < 0) return std::nullopt;
    if (d.value != 0 && n > INT64_MAX / d.value) return std::nullopt;
    n *= d.value;
  }
  return n;
}

std::string shapeToString(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ',';
    const Dim& d = s[i];
    if (d.kind == Dim::Kind::Value) {
      out += std::to_string(d.value);
    } else if (d.kind == Dim::Kind::Param) {
      out += d.param;
    } else {
      out += '?';
    }
  }
  return out + "]";
}

Type Type::tensor(DType elem, std::optional<Shape> shape) {
  Type t;
  t.kind_ = Kind::Tensor;
  t.elem_ = elem;
  t.shape_ = std::move(shape);
  return t;
}

Type Type::sparseTensor(DType elem, std::optional<Shape> shape) {
  Type t = tensor(elem, std::move(shape));
  t.kind_ = Kind::SparseTensor;
  return t;
}

Type Type::sequence(Type element) {
  Type t;
  t.kind_ = Kind::Sequence;
  t.element_ = std::make_shared<const Type>(std::move(element));
  return t;
}

Type Type::optional(Type element) {
  Type t;
  t.kind_ = Kind::Optional;
  t.element_ = std::make_shared<const Type>(std::move(element));
  return t;
}

Type Type::map(DType key, Type value) {
  Type t;
  t.kind_ = Kind::Map;
  t.elem_ = key;
  t.element_ = std::make_shared<const Type>(std::move(value));
  return t;
}

Type Type::opaque(std::string domain, std::string name) {
  Type t;
  t.kind_ = Kind::Opaque;
  t.opaque_domain_ = std::move(domain);
  t.opaque_name_ = std::move(name);
  return t;
}

std::string Type::str() const {
  auto elem = [this] { return element_ ? element_->str() : std::string("?"); };
  auto tensorStr = [this] {
    return std::string(dtypeName(elem_)) + (shape_ ? shapeToString(*shape_) : std::string("[...]"));
  };
  switch (kind_) {
    case Kind::Undefined:
      return "?";
    case Kind::Tensor:
      return tensorStr();
    case Kind::SparseTensor:
      return "sparse " + tensorStr();
    case Kind::Sequence:
      return "seq(" + elem() + ")";
    case Kind::Optional:
      return "opt(" + elem() + ")";
    case Kind::Map:
      return fmt::format("map({},{})", dtypeName(elem_), elem());
    case Kind::Opaque:
      return fmt::format("opaque({}.{})", opaque_domain_, opaque_name_);
  }
  return "?";
}

bool Type::operator==(const Type& o) const {
  if (kind_ != o.kind_ || elem_ != o.elem_ || shape_ != o.shape_ || denotation_ != o.denotation_ ||
      opaque_domain_ != o.opaque_domain_ || opaque_name_ != o.opaque_name_)
    return false;
  if (!element_ || !o.element_) return !element_ && !o.element_;
  return *element_ == *o.element_;
}

}  // namespace mopt
