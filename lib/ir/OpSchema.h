// What the verifier needs to know about an operator's signature, without depending on ONNX's
// headers: a frontend provides an OpSchemaOracle built from the real schema registry.
#pragma once

#include "ir/DType.h"
#include "ir/Graph.h"

#include <string>
#include <string_view>
#include <vector>

namespace mopt {

struct OpFormal {
  enum class Option : uint8_t { Single, Optional, Variadic };
  std::string name;
  Option option = Option::Single;
  std::string type_var;        // "T", or a concrete type string such as "tensor(int64)"
  std::vector<DType> allowed;  // element types a tensor here may have; empty = not checked
  bool homogeneous = true;     // variadic: all arguments share one type
  int min_arity = 1;           // variadic: fewest arguments
};

struct OpAttrSpec {
  std::string name;
  AttrKind kind = AttrKind::Undefined;
  bool required = false;
  // The schema's default for scalar/list attributes (kind Undefined when there is none).
  AttrKind default_kind = AttrKind::Undefined;
  int64_t default_int = 0;
  float default_float = 0;
  std::string default_string;
  std::vector<int64_t> default_ints;
  std::vector<float> default_floats;
  // True when `a` holds exactly the default value.
  bool isDefault(const Attribute& a) const;
};

struct OpSignature {
  std::string domain, op_type;
  int since_version = 0;
  bool deprecated = false;
  std::vector<OpFormal> inputs, outputs;
  std::vector<OpAttrSpec> attributes;
  bool allows_unchecked_attributes = false;
};

class OpSchemaOracle {
 public:
  virtual ~OpSchemaOracle() = default;
  enum class Lookup { Found, UnknownOp, NotCovered };
  // Signature of `op_type` in `domain` at opset `version`. NotCovered means the oracle cannot
  // judge (a domain it does not know, or an opset newer than its registry), so no check is made.
  virtual Lookup lookup(std::string_view domain, std::string_view op_type, int64_t version,
                        const OpSignature** out) const = 0;
};

}  // namespace mopt
