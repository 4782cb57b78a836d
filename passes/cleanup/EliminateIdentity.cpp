// eliminate-identity.
#include "passes/cleanup/EliminateIdentity.h"

namespace mopt {

const PassInfo& EliminateIdentityPass::info() {
  static const PassInfo i{
      "eliminate-identity",
      "cleanup",
      "Bypass Identity nodes, keeping graph output names",
      "Every reader of an Identity's output reads the Identity's input instead and the node is "
      "removed. When the output is a graph output, the producer of the input takes over its "
      "name; when that is impossible (the input is a graph input, an initializer, another "
      "output or an outer-scope value) the Identity is kept and counted as kept.",
      {}};
  return i;
}

namespace {

bool canRenameInto(const Value* in, const Graph& g) {
  return in->owner() == &g && in->producer() && !in->isGraphOutput() && !in->isGraphInput() &&
         !in->isInitializer();
}

}  // namespace

bool EliminateIdentityPass::run(Model& model, PassContext& ctx) {
  int64_t removed = 0, kept = 0;
  forEachGraph(model, [&](Graph& g) {
    for (Node* n : g.nodeVector()) {
      if (!n->is("Identity") || n->numInputs() != 1 || n->numOutputs() != 1) continue;
      Value* in = n->input(0);
      Value* out = n->output(0);
      if (!in || !out) continue;
      if (!out->isGraphOutput()) {
        out->replaceAllUsesWith(in);
        g.eraseNode(n);
        ++removed;
        continue;
      }
      if (!canRenameInto(in, g)) {
        ++kept;
        continue;
      }
      std::string name = out->name();
      Type type = out->type().isDefined() ? out->type() : in->type();
      std::string doc = out->docString();
      Props meta = out->metadataProps();
      out->replaceAllUsesWith(in);
      for (size_t i = 0; i < g.outputs().size(); ++i)
        if (g.outputs()[i] == out) g.setOutput(i, in);
      g.eraseNode(n);
      in->setName(name);
      in->setType(type);
      if (!doc.empty()) in->setDocString(doc);
      if (!meta.empty()) in->setMetadataProps(meta);
      ++removed;
    }
  });
  ctx.count("identities-removed", removed);
  ctx.count("identities-kept", kept);
  return removed > 0;
}

}  // namespace mopt
