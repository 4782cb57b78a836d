// convert-opset: the stepping engine; the per-operator knowledge lives in OpsetAdapters.cpp.
#include "passes/convert/ConvertOpset.h"

#include "ir/Error.h"
#include "ir/Verifier.h"
#include "passes/convert/OpsetAdapters.h"

#include <fmt/format.h>

#include <algorithm>

namespace mopt {

const PassInfo& ConvertOpsetPass::info() {
  static const PassInfo i{
      "convert-opset",
      "convert",
      "Convert the default ONNX domain to another opset version",
      "Steps one opset at a time, up or down. Operators whose meaning or signature changed at a "
      "step are rewritten by an adapter (attributes that became inputs and back, Softmax's axis "
      "semantics at 13, Upsample->Resize, LayerNormalization decomposed below 17, ...); changes "
      "that only widen the accepted types are checked against the target schema. Everything "
      "that blocks the conversion is reported in one error naming the operators and nodes. "
      "Subgraphs are converted too; model-local functions keep their own opset imports. Opsets "
      "18 to 21 are checked against signatures built into mopt (the linked ONNX registry stops "
      "at 17): DFT's axis attribute <-> input (20), GridSample's mode names (20), "
      "GroupNormalization's per-group <-> per-channel scale and bias (21), Gelu decomposed below "
      "20; float8/int4 types, Pad wrap, blocked quantization and other features the target lacks "
      "are refused. Supported range: opset 6 (source only) to 21.",
      {{"target",
        OptionType::Int,
        "",
        "opset version of the default domain to convert to",
        {},
        true},
       {"only-upgrade",
        OptionType::Bool,
        "false",
        "leave a model already at or above the target unchanged (a minimum opset)",
        {},
        false}}};
  return i;
}

namespace {

// IR version an opset needs at least (ONNX's versioning table).
int64_t minIrVersion(int64_t opset) {
  if (opset <= 8) return 3;
  if (opset == 9) return 4;
  if (opset == 10) return 5;
  if (opset == 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

// Removes attributes the target schema lacks when they hold the source schema's default;
// returns why not otherwise. `dry`: decide only.
std::string dropNewDefaults(const OpSchemaOracle& schemas, Node& n, int64_t from, int64_t to,
                            bool dry) {
  const OpSignature *src = nullptr, *dst = nullptr;
  if (schemas.lookup("", n.opType(), to, &dst) != OpSchemaOracle::Lookup::Found) return "";
  bool have_src = schemas.lookup("", n.opType(), from, &src) == OpSchemaOracle::Lookup::Found;
  std::vector<std::string> drop;
  for (const Attribute& a : n.attributes()) {
    bool known = std::any_of(dst->attributes.begin(), dst->attributes.end(),
                             [&](const OpAttrSpec& s) { return s.name == a.name; });
    if (known) continue;
    const OpAttrSpec* spec = nullptr;
    if (have_src)
      for (const auto& s : src->attributes)
        if (s.name == a.name) spec = &s;
    if (!spec || !spec->isDefault(a))
      return fmt::format("attribute '{}' does not exist in opset {} and is not at its default",
                         a.name, to);
    drop.push_back(a.name);
  }
  if (!dry)
    for (const auto& name : drop)
      n.removeAttr(name);
  return "";
}

struct Blocker {
  std::string op, node, reason;
  int64_t from, to;
};

}  // namespace

bool ConvertOpsetPass::run(Model& model, PassContext& ctx) {
  if (!ctx.schemas) fail(ErrorKind::Internal, "convert-opset needs the operator schema registry");
  // The registry extended with mopt's own signatures for the opsets it does not know (18..21).
  const ConvertOpsetSchemas schemas(*ctx.schemas);
  int64_t current = model.opset("");
  if (current == 0) fail(ErrorKind::Pass, "the model does not import the default ONNX domain");
  if (target_ < kMinConvertOpset + 1 || target_ > kMaxConvertOpset)
    fail(ErrorKind::Usage, "target opset {} is outside the supported range {}..{}", target_,
         kMinConvertOpset + 1, kMaxConvertOpset);
  if (current < kMinConvertOpset || current > kMaxConvertOpset)
    fail(ErrorKind::Pass, "the model uses opset {}; convert-opset reads opsets {}..{}", current,
         kMinConvertOpset, kMaxConvertOpset);
  if (current == target_ || (only_upgrade_ && current >= target_)) return false;

  NameScope names(model);
  int64_t rewritten = 0;
  for (int64_t from = current; from != target_;) {
    int64_t to = from < target_ ? from + 1 : from - 1;
    bool up = to > from;
    std::vector<Blocker> blockers;
    // Two sweeps per step: the first only checks (adapters run dry), the second rewrites and
    // checks the result against the target schema. A failure throws; the CLI then writes
    // nothing, so a half-converted model never reaches a file.
    for (int apply = 0; apply < 2; ++apply) {
      forEachGraph(*model.graph, [&](Graph& g) {
        for (Node* n : g.nodeVector()) {
          if (!n->isDefaultDomain()) continue;
          int s_from = sinceVersion(schemas, n->opType(), from);
          int s_to = sinceVersion(schemas, n->opType(), to);
          if (s_from == s_to) continue;
          int64_t boundary = up ? to : from;
          const OpsetChange* change = findOpsetChange(n->opType(), boundary);
          AdaptFn fn = change ? (up ? change->upgrade : change->downgrade) : nullptr;
          std::string where = n->describe();
          std::string op = n->opType();
          std::string reason;
          if (fn) {
            AdaptContext ac{g, n, names, from, to, apply == 0};
            reason = fn(ac);
            if (!reason.empty() || apply == 0) {
              if (!reason.empty()) blockers.push_back({op, where, reason, from, to});
              continue;
            }
            n = ac.node;  // the adapter may have replaced the node
            ++rewritten;
          } else if (s_to == 0) {
            reason = fmt::format("{} does not exist in opset {} and has no decomposition", op, to);
            blockers.push_back({op, where, reason, from, to});
            continue;
          } else if (!up) {
            // Attributes added after the target opset can go when they hold their default.
            reason = dropNewDefaults(schemas, *n, from, to, apply == 0);
            if (!reason.empty()) {
              blockers.push_back({op, where, reason, from, to});
              continue;
            }
          }
          // The node as the adapter (or dropNewDefaults) left it must satisfy the target schema.
          if (!n || apply == 0) continue;
          const OpSignature* sig = nullptr;
          if (schemas.lookup("", n->opType(), to, &sig) == OpSchemaOracle::Lookup::Found) {
            auto problems = checkNodeSignature(*n, *sig);
            if (!problems.empty())
              blockers.push_back({n->opType(), n->describe(), problems.front(), from, to});
          }
        }
      });
      if (!blockers.empty()) break;
    }
    if (!blockers.empty()) {
      std::string msg = fmt::format(
          "cannot convert opset {} to {}: at step {} -> {}, {} node(s) block it:", current, target_,
          blockers[0].from, blockers[0].to, blockers.size());
      for (size_t i = 0; i < blockers.size() && i < 8; ++i)
        msg += fmt::format(" [{} {}: {}]", blockers[i].op, blockers[i].node, blockers[i].reason);
      if (blockers.size() > 8) msg += fmt::format(" (and {} more)", blockers.size() - 8);
      throw Error(ErrorKind::Pass, msg);
    }
    model.setOpset("", to);
    from = to;
  }
  if (target_ > current) model.ir_version = std::max(model.ir_version, minIrVersion(target_));
  ctx.count("nodes-rewritten", rewritten);
  ctx.count("opset-from", current);
  ctx.count("opset-to", target_);
  return true;
}

}  // namespace mopt
