// Types of IR values: tensors with (possibly symbolic) shapes, and ONNX's sequence/map/optional.
#pragma once

#include "ir/DType.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mopt {

// One dimension: a known size, a named symbolic size ("N", "seq_len") or unknown.
struct Dim {
  enum class Kind : uint8_t { Unknown, Value, Param };
  Kind kind = Kind::Unknown;
  int64_t value = 0;
  std::string param;
  std::string denotation;  // ONNX dimension denotation, kept for lossless round trips

  static Dim known(int64_t v) { return Dim{Kind::Value, v, {}, {}}; }
  static Dim symbol(std::string name) { return Dim{Kind::Param, 0, std::move(name), {}}; }
  static Dim unknown() { return Dim{}; }
  bool isKnown() const { return kind == Kind::Value; }
  bool operator==(const Dim& o) const {
    return kind == o.kind && value == o.value && param == o.param && denotation == o.denotation;
  }
  bool operator!=(const Dim& o) const { return !(*this == o); }
};

using Shape = std::vector<Dim>;

Shape shapeOf(const std::vector<int64_t>& dims);
// Product of the dimensions if all are known and it fits in int64.
std::optional<int64_t> knownNumel(const Shape& s);
std::string shapeToString(const Shape& s);  // "[N,3,224,224]", "[]" for scalars

class Type {
 public:
  enum class Kind : uint8_t { Undefined, Tensor, SparseTensor, Sequence, Map, Optional, Opaque };

  Type() = default;
  static Type tensor(DType elem, std::optional<Shape> shape = std::nullopt);
  static Type sparseTensor(DType elem, std::optional<Shape> shape = std::nullopt);
  static Type sequence(Type element);
  static Type optional(Type element);
  static Type map(DType key, Type value);
  static Type opaque(std::string domain, std::string name);

  Kind kind() const { return kind_; }
  bool isDefined() const { return kind_ != Kind::Undefined; }
  bool isTensor() const { return kind_ == Kind::Tensor; }
  // Element type of a (sparse) tensor, or key type of a map.
  DType elemType() const { return elem_; }
  void setElemType(DType t) { elem_ = t; }
  // Shape of a (sparse) tensor; nullopt when even the rank is unknown.
  const std::optional<Shape>& shape() const { return shape_; }
  void setShape(std::optional<Shape> s) { shape_ = std::move(s); }
  // Element of a sequence/optional, value type of a map.
  const Type* element() const { return element_.get(); }
  const std::string& denotation() const { return denotation_; }
  void setDenotation(std::string d) { denotation_ = std::move(d); }
  const std::string& opaqueDomain() const { return opaque_domain_; }
  const std::string& opaqueName() const { return opaque_name_; }

  std::string str() const;  // "f32[N,3,224,224]", "seq(i64[?])", "map(str,f32[])"
  bool operator==(const Type& o) const;
  bool operator!=(const Type& o) const { return !(*this == o); }

 private:
  Kind kind_ = Kind::Undefined;
  DType elem_ = DType::Undefined;
  std::optional<Shape> shape_;
  std::shared_ptr<const Type> element_;
  std::string denotation_;
  std::string opaque_domain_, opaque_name_;
};

}  // namespace mopt
