// Checks that a model is well formed: scoping, topological order, use lists, attributes,
// tensor sizes and (given a schema oracle) operator arity, attributes and element types.
#pragma once

#include "ir/Error.h"
#include "ir/Graph.h"
#include "ir/OpSchema.h"

#include <string>
#include <vector>

namespace mopt {

struct VerifyIssue {
  std::string where;    // "graph 'main' / node 'Conv_3' (Conv)"
  std::string message;  // what is wrong, phrased so the reader knows what to fix
  std::string str() const { return where.empty() ? message : where + ": " + message; }
};

struct VerifyOptions {
  const OpSchemaOracle* schemas = nullptr;  // null: structural checks only
  size_t max_issues = 50;
};

// Checks one node against an operator signature: arity, attribute names/kinds, required
// attributes, element types and type-variable consistency. Returns the problems found.
std::vector<std::string> checkNodeSignature(const Node& n, const OpSignature& sig,
                                            bool in_function = false);

std::vector<VerifyIssue> verifyModel(const Model& m, const VerifyOptions& opts = {});

// Throws Error(kind) with the first issue (and a count of the rest) when the model is invalid.
void verifyOrThrow(const Model& m, const VerifyOptions& opts, ErrorKind kind,
                   const std::string& context);

}  // namespace mopt
