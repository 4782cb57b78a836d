// The table of operator changes between neighbouring ONNX opsets and the adapters that rewrite
// a node across each change (used by convert-opset).
#pragma once

#include "ir/Graph.h"
#include "ir/OpSchema.h"

#include <optional>
#include <string>

namespace mopt {

// What an adapter may use while rewriting one node.
struct AdaptContext {
  Graph& graph;
  Node* node;
  NameScope& names;
  int64_t from, to;  // the step: to == from + 1 (upgrade) or from - 1 (downgrade)
  bool dry = false;  // only decide whether the rewrite is possible; change nothing

  // Inserts a new node before `node` (same name prefix) and returns it.
  Node* newNodeBefore(const std::string& op_type, const std::string& name_hint);
  // Makes `replacement` (same number of outputs) take over the outputs of `node`, names
  // included, then erases `node`; `node` becomes `replacement`.
  void replaceNode(Node* replacement);

  Value* addConstant(const Tensor& t, const std::string& hint);
  Value* int64s(const std::vector<int64_t>& v, const std::string& hint, bool scalar = false);
  std::optional<int64_t> rank(const Value* v) const;
};

// Rewrites ctx.node for the step; returns "" on success or why it cannot.
using AdaptFn = std::string (*)(AdaptContext& ctx);

struct OpsetChange {
  const char* op;
  int version;        // the opset at which the new schema appears
  AdaptFn upgrade;    // from version-1 to version; null: nothing to do beyond a schema check
  AdaptFn downgrade;  // from version to version-1; null: nothing to do beyond a schema check
};

// The rule for `op` at the boundary `version`, or null when the change there only widens types
// or adds attributes/inputs whose defaults keep the old meaning.
const OpsetChange* findOpsetChange(const std::string& op, int64_t version);

// The operator schemas convert-opset checks nodes against. ONNX's registry as mopt links it
// (ONNX 1.12) stops at opset 17; this oracle answers up to kMaxConvertOpset: operators that
// changed or appeared at 18..21 have their signatures from OpsetSchemas.inc (generated from the
// ONNX Changelog by gen_opset_schemas.py), every other operator keeps its opset-17 schema.
class ConvertOpsetSchemas final : public OpSchemaOracle {
 public:
  explicit ConvertOpsetSchemas(const OpSchemaOracle& registry) : registry_(registry) {}
  Lookup lookup(std::string_view domain, std::string_view op_type, int64_t version,
                const OpSignature** out) const override;

 private:
  const OpSchemaOracle& registry_;
};

// Since-version of `op` at opset `version` (0 when the op does not exist there). Opsets the
// schema registry does not know (18..21) come from the built-in signatures.
int sinceVersion(const OpSchemaOracle& schemas, const std::string& op, int64_t version);
// Highest opset the linked ONNX schema registry knows.
constexpr int64_t kRegistryMaxOpset = 17;
// Highest opset convert-opset handles.
constexpr int64_t kMaxConvertOpset = 21;
constexpr int64_t kMinConvertOpset = 6;

}  // namespace mopt
