// dce: reverse sweep per graph, so a chain of dead nodes goes in one pass.
#include "passes/cleanup/DeadCodeElimination.h"

namespace mopt {

const PassInfo& DeadCodeEliminationPass::info() {
  static const PassInfo i{
      "dce",
      "cleanup",
      "Remove nodes whose outputs are unused and initializers nothing reads",
      "Walks every graph (subgraphs and function bodies included) from the end, erasing nodes "
      "none of whose outputs is read or is a graph output, then erases initializers that are "
      "neither read nor graph inputs. Graph inputs and outputs never change.",
      {}};
  return i;
}

namespace {

// Returns the number of nodes erased in `g` and the graphs nested in its live nodes.
int64_t sweep(Graph& g) {
  int64_t erased = 0;
  std::vector<Node*> nodes = g.nodeVector();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    Node* n = *it;
    bool live = false;
    for (const Value* v : n->outputs())
      if (v && (v->hasUses() || v->isGraphOutput())) live = true;
    if (!live) {
      g.eraseNode(n);  // drops its uses (and its subgraphs' uses) of earlier values
      ++erased;
      continue;
    }
    // Cleaning a body first can free outer values that earlier (not yet visited) nodes produce.
    for (Graph* sub : n->subgraphs())
      erased += sweep(*sub);
  }
  return erased;
}

int64_t dropUnusedInitializers(Graph& g) {
  int64_t dropped = 0;
  std::vector<Value*> candidates = g.initializers();
  candidates.insert(candidates.end(), g.sparseInitializers().begin(), g.sparseInitializers().end());
  for (Value* v : candidates) {
    if (v->hasUses() || v->isGraphOutput() || v->isGraphInput()) continue;
    g.removeInitializer(v);
    ++dropped;
  }
  return dropped;
}

}  // namespace

bool DeadCodeEliminationPass::run(Model& model, PassContext& ctx) {
  int64_t nodes = sweep(*model.graph);
  for (Function& f : model.functions)
    if (f.body) nodes += sweep(*f.body);
  int64_t inits = 0;
  forEachGraph(model, [&inits](Graph& g) { inits += dropUnusedInitializers(g); });
  ctx.count("nodes-removed", nodes);
  ctx.count("initializers-removed", inits);
  return nodes + inits > 0;
}

}  // namespace mopt
