// Graph rewriting helpers.
#include "passes/common/Rewrite.h"

#include <set>

namespace mopt {

Value* GraphBuilder::constant(Tensor t, const std::string& hint) {
  return g_.addInitializer(names_.fresh(prefix_ + "_" + hint), std::move(t));
}

Node* GraphBuilder::node(const std::string& op, const std::vector<Value*>& inputs,
                         const std::string& hint, size_t outputs, const std::string& domain) {
  Node* n = before_ ? g_.insertNodeBefore(before_, op, domain) : g_.appendNode(op, domain);
  n->setName(names_.fresh(prefix_ + "/" + hint));
  for (Value* v : inputs)
    n->addInput(v);
  for (size_t i = 0; i < outputs; ++i)
    n->addOutput(names_.fresh(prefix_ + "_" + hint + (outputs > 1 ? std::to_string(i) : "")));
  return n;
}

void replaceValue(Graph& g, Value* old, Value* replacement, NameScope& names) {
  old->replaceAllUsesWith(replacement);
  if (!old->isGraphOutput()) return;
  for (size_t i = 0; i < g.outputs().size(); ++i)
    if (g.outputs()[i] == old) g.setOutput(i, replacement);
  std::string name = old->name();
  old->setName(names.fresh(name + "_replaced"));
  replacement->setName(name);
  if (old->type().isDefined()) replacement->setType(old->type());
}

int64_t dropDeadValues(const std::vector<Value*>& candidates) {
  std::set<const Value*> gone;
  int64_t removed = 0;
  std::vector<Value*> work(candidates.rbegin(), candidates.rend());
  while (!work.empty()) {
    Value* v = work.back();
    work.pop_back();
    if (!v || gone.count(v) || v->hasUses() || v->isGraphOutput() || v->isGraphInput()) continue;
    Graph* g = v->owner();
    if (Node* p = v->producer()) {
      bool used = false;
      for (const Value* o : p->outputs())
        used = used || (o && (o->hasUses() || o->isGraphOutput()));
      if (used) continue;
      std::vector<Value*> inputs = p->inputs();
      for (const Value* o : p->outputs())
        gone.insert(o);
      g->eraseNode(p);
      work.insert(work.end(), inputs.begin(), inputs.end());
    } else if (v->isInitializer()) {
      gone.insert(v);
      g->removeInitializer(v);
      ++removed;
    }
  }
  return removed;
}

void eraseWithDeadInputs(Graph& g, Node* n) {
  std::vector<Value*> inputs = n->inputs();
  g.eraseNode(n);
  for (Value* v : inputs) {
    if (!v || v->hasUses() || v->isGraphOutput() || v->owner() != &g) continue;
    if (Node* p = v->producer()) {
      bool used = false;
      for (const Value* o : p->outputs())
        used = used || (o && (o->hasUses() || o->isGraphOutput()));
      if (!used) eraseWithDeadInputs(g, p);
    } else if (v->isConstantInitializer()) {
      g.removeInitializer(v);
    }
  }
}

}  // namespace mopt
