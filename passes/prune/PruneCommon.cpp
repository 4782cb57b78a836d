// Weight discovery, constant replacement, skip notes and counting for the pruning passes.
#include "passes/prune/PruneCommon.h"

#include "ir/Error.h"
#include "passes/common/Constants.h"
#include "passes/prune/PruneMath.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

namespace mopt {

std::vector<OptionSpec> pruneCommonOptions(const std::string& default_ops,
                                           const std::string& ops_help) {
  return {{"include-ops", OptionType::StringList, default_ops, ops_help, {}, false},
          {"exclude",
           OptionType::StringList,
           "",
           "nodes to leave alone: an op type, a node name, or re:REGEX matched against node names",
           {},
           false},
          {"min-size",
           OptionType::Int,
           "0",
           "leave weights with fewer elements than this alone",
           {},
           false},
          {"report",
           OptionType::String,
           "",
           "write the per-layer report here (.json, .md, or text)",
           {},
           false}};
}

NodeSelection pruneSelectionFrom(const OptionValues& o, const std::vector<std::string>& known_ops) {
  std::vector<std::string> ops = o.getList("include-ops");
  for (const auto& op : ops)
    if (std::find(known_ops.begin(), known_ops.end(), op) == known_ops.end()) {
      std::string known;
      for (const auto& k : known_ops)
        known += (known.empty() ? "" : ", ") + k;
      fail(ErrorKind::Usage, "include-ops: cannot prune '{}' (known: {})", op, known);
    }
  if (o.getInt("min-size") < 0)
    fail(ErrorKind::Usage, "min-size must be >= 0, not {}", o.getInt("min-size"));
  return NodeSelection(ops, o.getList("exclude"));
}

double checkedFraction(const OptionValues& o, const std::string& name, double lo, double hi,
                       bool closed) {
  double v = o.getFloat(name);
  bool ok = v >= lo && (closed ? v <= hi : v < hi);
  if (!ok)
    fail(ErrorKind::Usage, "{} must be in [{}, {}{}, not {}", name, lo, hi, closed ? "]" : ")", v);
  return v;
}

Value* constantRoot(Value* v) {
  for (int hops = 0; v && hops < 64; ++hops) {
    if (v->isConstantInitializer()) return v;
    Node* p = v->producer();
    if (!p) return nullptr;
    if (p->is("Constant")) return constantNodeValue(*p) ? v : nullptr;
    if (!p->is("Identity")) return nullptr;
    v = p->input(0);
  }
  return nullptr;
}

Tensor rootTensor(const Value* root) {
  if (root->isInitializer()) return root->initializer();
  auto t = constantNodeValue(*root->producer());
  if (!t) fail(ErrorKind::Internal, "rootTensor: '{}' is not constant", root->name());
  return *t;
}

void replaceConstant(Value* root, Tensor t) {
  Tensor old = rootTensor(root);
  t.setName(old.name());
  t.setDocString(old.docString());
  t.setMetadataProps(old.metadataProps());
  if (root->isInitializer()) {
    root->setInitializer(std::move(t));
    return;
  }
  Node* c = root->producer();
  std::vector<std::string> drop;
  for (const Attribute& a : c->attributes())
    if (a.name.rfind("value", 0) == 0) drop.push_back(a.name);
  for (const auto& name : drop)
    c->removeAttr(name);
  Type type = Type::tensor(t.dtype(), shapeOf(t.dims()));
  c->setAttr(Attribute::makeTensor("value", std::move(t)));
  root->setType(type);
}

std::vector<Use> constantReaders(Value* root) {
  std::vector<Use> out;
  std::vector<Value*> work = {root};
  while (!work.empty()) {
    Value* v = work.back();
    work.pop_back();
    for (const Use& u : v->uses()) {
      if (u.user->is("Identity") && u.user->output(0) && !u.user->output(0)->isGraphOutput()) {
        work.push_back(u.user->output(0));
        continue;
      }
      out.push_back(u);
    }
  }
  return out;
}

int weightInputOf(const Node& n) {
  if (!n.isDefaultDomain()) return -1;
  if (n.is("Conv") || n.is("ConvTranspose") || n.is("Gemm")) return n.numInputs() > 1 ? 1 : -1;
  if (n.is("MatMul")) {
    if (n.numInputs() < 2) return -1;
    if (constantRoot(n.input(1))) return 1;
    if (constantRoot(n.input(0))) return 0;
    return -1;
  }
  if (n.is("Gather")) return n.numInputs() > 0 && constantRoot(n.input(0)) ? 0 : -1;
  return -1;
}

std::string PrunableWeight::nodes() const {
  std::string s;
  for (const auto& u : uses)
    s += (s.empty() ? "" : ", ") + nodeLabel(*u.node);
  return s;
}

std::string PrunableWeight::op() const {
  return uses.empty() ? "" : uses[0].node->opType();
}

std::string nodeLabel(const Node& n) {
  if (!n.name().empty()) return n.name();
  return n.numOutputs() && n.output(0) ? n.output(0)->name() : n.opType();
}

void PruneSkips::add(const Node& n, const std::string& why) {
  add(n.opType(), nodeLabel(n), why);
}

void PruneSkips::add(const std::string& op, const std::string& name, const std::string& why) {
  for (auto& g : groups_)
    if (g.op == op && g.why == why) {
      g.names.push_back(name);
      return;
    }
  groups_.push_back({op, why, {name}});
}

void PruneSkips::flush(PassContext& ctx, PruneReport& report) {
  int64_t total = 0;
  for (const auto& g : groups_) {
    std::string examples;
    for (size_t i = 0; i < g.names.size() && i < 3; ++i)
      examples += (i ? ", " : "") + g.names[i];
    if (g.names.size() > 3) examples += ", ...";
    std::string line =
        fmt::format("left {} {} unpruned: {} ({})", g.names.size(), g.op, g.why, examples);
    ctx.note(line);
    report.skipped.push_back(line);
    total += static_cast<int64_t>(g.names.size());
  }
  if (total) ctx.count("layers-skipped", total);
  groups_.clear();
}

std::vector<PrunableWeight> collectWeights(Model& m, const NodeSelection& select, int64_t min_size,
                                           PruneSkips& skips) {
  std::vector<PrunableWeight> found;
  std::unordered_map<const Value*, size_t> index;
  std::unordered_map<const Value*, std::string> rejected;  // root -> why (reported once)
  forEachGraph(m, [&](Graph& g) {
    for (Node* n : g.nodes()) {
      if (!n->isDefaultDomain()) continue;
      if (!(n->is("Conv") || n->is("ConvTranspose") || n->is("Gemm") || n->is("MatMul") ||
            n->is("Gather")))
        continue;
      std::string excluded = select.exclusionReason(*n);
      if (!select.includes(*n) && excluded.empty()) continue;  // an op type not asked for
      int wi = weightInputOf(*n);
      if (wi < 0) {
        if (n->is("Conv") || n->is("ConvTranspose") || n->is("Gemm"))
          skips.add(*n, "its weight is not constant");
        continue;
      }
      Value* root = constantRoot(n->input(static_cast<size_t>(wi)));
      if (!root) {
        skips.add(*n, "its weight is not constant");
        continue;
      }
      if (!excluded.empty()) {
        skips.add(*n, excluded);
        rejected.emplace(root, "it is shared with an excluded node");
        continue;
      }
      Tensor t = rootTensor(root);
      if (!isPrunableFloat(t.dtype())) {
        skips.add(*n, fmt::format("its weight is {}, not floating point", dtypeName(t.dtype())));
        continue;
      }
      if (t.numel() < min_size) {
        skips.add(*n, fmt::format("its weight has fewer than min-size={} elements", min_size));
        continue;
      }
      auto it = index.find(root);
      if (it == index.end()) {
        index.emplace(root, found.size());
        found.push_back({root, t, {}});
        it = index.find(root);
      }
      found[it->second].uses.push_back({n, static_cast<size_t>(wi)});
    }
  });
  // A weight is pruned only when every reader is a selected node reading it as its weight.
  std::vector<PrunableWeight> out;
  for (auto& w : found) {
    std::string why;
    auto r = rejected.find(w.root);
    if (r != rejected.end()) why = r->second;
    if (w.root->isGraphOutput()) why = "its weight is also a graph output";
    for (const Use& u : constantReaders(w.root)) {
      if (!why.empty()) break;
      bool selected = false;
      for (const auto& s : w.uses)
        selected = selected || (s.node == u.user && s.input == u.index);
      if (!selected)
        why = fmt::format("its weight is also read by {} ({}), which is not pruned",
                          nodeLabel(*u.user), u.user->opType());
    }
    if (!why.empty()) {
      for (const auto& s : w.uses)
        skips.add(*s.node, why);
      continue;
    }
    out.push_back(std::move(w));
  }
  return out;
}

namespace {

// Product of the dims, symbolic ones counting as 1; -1 when a dim or the shape is unknown.
int64_t perSample(const Value* v, bool skip_batch) {
  if (!v || !v->type().isTensor() || !v->type().shape()) return -1;
  int64_t p = 1;
  const Shape& s = *v->type().shape();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i].kind == Dim::Kind::Unknown) return -1;
    if (i == 0 && skip_batch) continue;
    if (s[i].isKnown()) p *= s[i].value;
  }
  return p;
}

std::vector<int64_t> dimsOf(const Value* v) {
  if (auto t = constantValue(v)) return t->dims();
  std::vector<int64_t> d;
  if (!v || !v->type().isTensor() || !v->type().shape()) return d;
  for (const Dim& x : *v->type().shape())
    d.push_back(x.isKnown() ? x.value : -1);
  return d;
}

int64_t productFrom(const std::vector<int64_t>& d, size_t from) {
  int64_t p = 1;
  for (size_t i = from; i < d.size(); ++i) {
    if (d[i] < 0) return -1;
    p *= d[i];
  }
  return p;
}

}  // namespace

int64_t nodeMacs(const Node& n) {
  if (!n.isDefaultDomain() || n.numInputs() < 2 || !n.input(0) || !n.input(1)) return 0;
  if (n.is("Conv") || n.is("ConvTranspose")) {
    std::vector<int64_t> w = dimsOf(n.input(1));
    int64_t per = w.size() >= 2 ? productFrom(w, 1) : -1;
    int64_t elems = n.is("Conv") ? perSample(n.output(0), true) : perSample(n.input(0), true);
    return per < 0 || elems < 0 ? -1 : per * elems;
  }
  if (n.is("Gemm") || n.is("MatMul")) {
    std::vector<int64_t> a = dimsOf(n.input(0));
    if (a.empty()) return -1;
    int64_t k = n.is("Gemm") && n.intAttr("transA", 0) ? a[0] : a.back();
    if (n.is("Gemm") && a.size() != 2) return -1;
    if (k < 0) {
      std::vector<int64_t> b = dimsOf(n.input(1));  // the weight knows K when A's dim is symbolic
      if (b.size() < 2) return -1;
      k = n.is("Gemm") && n.intAttr("transB", 0) ? b[1] : b[b.size() - 2];
    }
    int64_t out = perSample(n.output(0), dimsOf(n.output(0)).size() >= 2);
    return out < 0 || k < 0 ? -1 : out * k;
  }
  return 0;
}

int64_t modelMacs(const Model& m) {
  int64_t total = 0;
  bool unknown = false;
  forEachGraph(m, [&](const Graph& g) {
    for (const Node* n : g.nodes()) {
      int64_t v = nodeMacs(*n);
      if (v < 0) unknown = true;
      total += std::max<int64_t>(v, 0);
    }
  });
  return unknown ? -1 : total;
}

int64_t floatParams(const Model& m) {
  int64_t total = 0;
  forEachGraph(m, [&](const Graph& g) {
    for (const Value* v : g.initializers())
      if (isPrunableFloat(v->initializer().dtype())) total += v->initializer().numel();
    for (const Node* n : g.nodes())
      if (n->is("Constant"))
        if (auto t = constantNodeValue(*n))
          if (isPrunableFloat(t->dtype())) total += t->numel();
  });
  return total;
}

}  // namespace mopt
