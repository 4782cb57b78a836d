// Small helpers for passes that rewrite graphs: building nodes and constants at a point, and
// replacing a value while the graph keeps the names its callers see.
#pragma once

#include "ir/Graph.h"

#include <string>
#include <vector>

namespace mopt {

// Inserts nodes before `before` (at the end when null), naming everything from `prefix`.
class GraphBuilder {
 public:
  GraphBuilder(Graph& g, Node* before, NameScope& names, std::string prefix)
      : g_(g), before_(before), names_(names), prefix_(std::move(prefix)) {}

  Value* constant(Tensor t, const std::string& hint);
  Node* node(const std::string& op, const std::vector<Value*>& inputs, const std::string& hint,
             size_t outputs = 1, const std::string& domain = "");
  Value* op(const std::string& op, const std::vector<Value*>& inputs, const std::string& hint) {
    return node(op, inputs, hint)->output(0);
  }

 private:
  Graph& g_;
  Node* before_;
  NameScope& names_;
  std::string prefix_;
};

// Points every reader of `old` at `replacement`. When `old` is a graph output, `replacement`
// takes over that slot and `old`'s name and type (`old` is renamed out of the way), so callers
// of the model see the same interface.
void replaceValue(Graph& g, Value* old, Value* replacement, NameScope& names);

// Removes each of `candidates` that nothing reads any more (an initializer, or the output of a
// node whose outputs are all unread), then whatever only they read, in any graph. Candidates
// may repeat or feed one another. Returns how many initializers were removed.
int64_t dropDeadValues(const std::vector<Value*>& candidates);

// Erases `n` and then every producer of its inputs that is left without readers (within `g`).
void eraseWithDeadInputs(Graph& g, Node* n);

}  // namespace mopt
