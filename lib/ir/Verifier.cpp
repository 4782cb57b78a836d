// The IR verifier: runs after import, after each pass that changed the graph, and before export.
#include "ir/Verifier.h"

#include "ir/Error.h"

#include <algorithm>
#include <functional>
#include <unordered_map>
#include <unordered_set>

namespace mopt {

namespace {

bool isDefaultDomain(std::string_view d) {
  return d.empty() || d == "ai.onnx";
}

void checkArity(const std::vector<Value*>& args, const std::vector<OpFormal>& formals,
                const std::string& op, const char* what, std::vector<std::string>& out) {
  size_t count = args.size();
  bool variadic_last = !formals.empty() && formals.back().option == OpFormal::Option::Variadic;
  size_t max = variadic_last ? SIZE_MAX : formals.size();
  if (count > max) {
    out.push_back(fmt::format("{} takes at most {} {}s, got {}", op, max, what, count));
    return;
  }
  for (size_t i = 0; i < formals.size(); ++i) {
    const OpFormal& f = formals[i];
    if (f.option == OpFormal::Option::Single && (i >= count || !args[i])) {
      out.push_back(fmt::format("{} {} {} ('{}') is required", op, what, i, f.name));
      return;
    }
    if (f.option == OpFormal::Option::Variadic) {
      size_t have = count > i ? count - i : 0;
      if (have < static_cast<size_t>(std::max(0, f.min_arity)))
        out.push_back(fmt::format("{} needs at least {} {}s for '{}', got {}", op, f.min_arity,
                                  what, f.name, have));
    }
  }
}

void checkTypes(const Node& n, const OpSignature& sig, const std::string& op,
                std::vector<std::string>& out) {
  std::unordered_map<std::string, DType> bound;
  auto checkOne = [&](const Value* v, const OpFormal& f, const char* what, size_t index) {
    if (!v || !v->type().isTensor() || v->type().elemType() == DType::Undefined) return;
    DType t = v->type().elemType();
    if (!f.allowed.empty() && std::find(f.allowed.begin(), f.allowed.end(), t) == f.allowed.end()) {
      out.push_back(fmt::format("{} {} '{}' ({}) has element type {}, which {} does not accept",
                                what, index, v->name(), f.name, dtypeOnnxName(t), op));
      return;
    }
    if (f.type_var.empty() || f.type_var.rfind("tensor(", 0) == 0) return;
    if (f.option == OpFormal::Option::Variadic && !f.homogeneous) return;
    auto [it, inserted] = bound.emplace(f.type_var, t);
    if (!inserted && it->second != t)
      out.push_back(fmt::format("{} {} '{}' ({}) is {} but type {} is already bound to {}", what,
                                index, v->name(), f.name, dtypeOnnxName(t), f.type_var,
                                dtypeOnnxName(it->second)));
  };
  auto walk = [&](const std::vector<Value*>& args, const std::vector<OpFormal>& formals,
                  const char* what) {
    for (size_t i = 0; i < args.size() && !formals.empty(); ++i) {
      const OpFormal& f = formals[std::min(i, formals.size() - 1)];
      if (i >= formals.size() && f.option != OpFormal::Option::Variadic) break;
      checkOne(args[i], f, what, i);
    }
  };
  walk(n.inputs(), sig.inputs, "input");
  walk(n.outputs(), sig.outputs, "output");
}

}  // namespace

bool OpAttrSpec::isDefault(const Attribute& a) const {
  if (a.kind != default_kind || !a.ref_attr_name.empty()) return false;
  switch (a.kind) {
    case AttrKind::Int:
      return a.i == default_int;
    case AttrKind::Float:
      return a.f == default_float;
    case AttrKind::String:
      return a.s == default_string;
    case AttrKind::Ints:
      return a.ints == default_ints;
    case AttrKind::Floats:
      return a.floats == default_floats;
    default:
      return false;
  }
}

std::vector<std::string> checkNodeSignature(const Node& n, const OpSignature& sig,
                                            bool in_function) {
  std::vector<std::string> out;
  std::string op = fmt::format("{}-{}", n.opType(), sig.since_version);
  checkArity(n.inputs(), sig.inputs, op, "input", out);
  checkArity(n.outputs(), sig.outputs, op, "output", out);
  for (const Attribute& a : n.attributes()) {
    auto spec = std::find_if(sig.attributes.begin(), sig.attributes.end(),
                             [&](const OpAttrSpec& s) { return s.name == a.name; });
    if (spec == sig.attributes.end()) {
      if (!sig.allows_unchecked_attributes)
        out.push_back(fmt::format("{} has no attribute '{}'", op, a.name));
      continue;
    }
    if (a.ref_attr_name.empty() && a.kind != spec->kind)
      out.push_back(fmt::format("attribute '{}' of {} must be {}, not {}", a.name, op,
                                attrKindName(spec->kind), attrKindName(a.kind)));
  }
  for (const OpAttrSpec& s : sig.attributes)
    if (s.required && !n.attr(s.name) && !in_function)
      out.push_back(fmt::format("{} requires attribute '{}'", op, s.name));
  checkTypes(n, sig, op, out);
  return out;
}

namespace {

class Verifier {
 public:
  Verifier(const Model& m, const VerifyOptions& opts) : model_(m), opts_(opts) {}

  std::vector<VerifyIssue> run() {
    checkGraph(*model_.graph, "graph '" + model_.graph->name() + "'", model_.opset_imports, false);
    for (const Function& f : model_.functions) {
      if (!f.body) {
        report("function '" + f.name + "'", "has no body");
        continue;
      }
      checkGraph(*f.body, "function '" + f.domain + "." + f.name + "'", f.opset_imports, true);
    }
    checkUseCounts();
    return std::move(issues_);
  }

 private:
  const Model& model_;
  VerifyOptions opts_;
  std::vector<VerifyIssue> issues_;
  std::unordered_set<const Value*> visible_;
  std::unordered_map<std::string, const Value*> names_;
  std::unordered_map<const Value*, size_t> use_counts_;
  std::vector<const Value*> all_values_;

  bool full() const { return issues_.size() >= opts_.max_issues; }

  void report(std::string where, std::string message) {
    if (!full()) issues_.push_back(VerifyIssue{std::move(where), std::move(message)});
  }

  // Makes `v` visible from here on; returns false (after reporting) on a duplicate name.
  void define(const Value* v, const Graph& g, const std::string& where,
              std::vector<const Value*>& local) {
    if (v->owner() != &g) report(where, "value '" + v->name() + "' is owned by another graph");
    if (v->name().empty()) report(where, "a value has an empty name");
    auto [it, inserted] = names_.emplace(v->name(), v);
    if (!inserted && it->second != v) {
      report(where, "name '" + v->name() +
                        "' is defined twice (ONNX requires every value name to be unique, "
                        "including in nested graphs)");
    }
    if (visible_.insert(v).second) local.push_back(v);
    all_values_.push_back(v);
  }

  void undefine(const std::vector<const Value*>& local) {
    for (const Value* v : local) {
      visible_.erase(v);
      auto it = names_.find(v->name());
      if (it != names_.end() && it->second == v) names_.erase(it);
    }
  }

  void checkGraph(const Graph& g, const std::string& where, const std::vector<OpsetImport>& opsets,
                  bool is_function) {
    std::vector<const Value*> local;
    for (const Value* v : g.inputs()) {
      if (!is_function && !g.parentNode() && !v->type().isDefined())
        report(where, "input '" + v->name() + "' has no type");
      define(v, g, where, local);
    }
    for (const Value* v : g.initializers()) {
      if (!v->isGraphInput()) define(v, g, where, local);
      if (v->isGraphInput() && v->type().isTensor() &&
          v->type().elemType() != v->initializer().dtype())
        report(where, "input '" + v->name() + "' is declared " +
                          std::string(dtypeName(v->type().elemType())) +
                          " but its initializer holds " +
                          std::string(dtypeName(v->initializer().dtype())));
    }
    for (const Value* v : g.sparseInitializers())
      if (!v->isGraphInput()) define(v, g, where, local);

    size_t index = 0;  // Node::describe() would count from the start for every node: O(n^2)
    for (const Node* n : g.nodes()) {
      std::string nwhere = where + " / node " +
                           (n->name().empty() ? fmt::format("{} #{}", n->opType(), index)
                                              : fmt::format("'{}' ({})", n->name(), n->opType()));
      ++index;
      if (n->owner() != &g) report(nwhere, "node is owned by another graph");
      if (n->opType().empty()) report(nwhere, "node has an empty op_type");
      for (size_t i = 0; i < n->numInputs(); ++i) {
        const Value* v = n->input(i);
        if (!v) continue;
        ++use_counts_[v];
        if (!visible_.count(v)) {
          bool later = v->producer() && v->producer()->owner() == &g;
          report(nwhere, later ? "input '" + v->name() +
                                     "' is produced by a later node (the graph is not in "
                                     "topological order or has a cycle)"
                               : "input '" + v->name() +
                                     "' is not defined in this graph or an enclosing one");
        }
      }
      checkAttributes(*n, nwhere, opsets, is_function);
      checkSchema(*n, nwhere, opsets, is_function);
      for (size_t i = 0; i < n->numOutputs(); ++i) {
        const Value* v = n->output(i);
        if (!v) continue;
        if (v->producer() != n || v->producerIndex() != i)
          report(nwhere, "output '" + v->name() + "' has a wrong producer link (IR bug)");
        define(v, g, nwhere, local);
      }
      if (full()) break;
    }
    for (const Value* v : g.outputs()) {
      if (!visible_.count(v))
        report(where,
               "output '" + v->name() + "' is not defined in this graph or an enclosing one");
      if (!is_function && !v->type().isDefined() && !g.parentNode())
        report(where, "output '" + v->name() + "' has no type");
    }
    undefine(local);
  }

  void checkAttributes(const Node& n, const std::string& where,
                       const std::vector<OpsetImport>& opsets, bool is_function) {
    std::unordered_set<std::string> seen;
    for (const Attribute& a : n.attributes()) {
      if (a.name.empty()) report(where, "an attribute has an empty name");
      if (!seen.insert(a.name).second) report(where, "attribute '" + a.name + "' appears twice");
      if (a.kind == AttrKind::Undefined && a.ref_attr_name.empty())
        report(where, "attribute '" + a.name + "' has no type");
      if (!a.ref_attr_name.empty() && !is_function)
        report(where,
               "attribute '" + a.name + "' refers to a function attribute outside a function body");
      if (a.kind == AttrKind::Graph && !a.g)
        report(where, "graph attribute '" + a.name + "' is empty");
      if (a.g) {
        if (a.g->parentNode() != &n)
          report(where, "subgraph '" + a.name + "' has a wrong parent link (IR bug)");
        checkGraph(*a.g, where + " / " + a.name, opsets, is_function);
      }
      for (const auto& sub : a.graphs)
        checkGraph(*sub, where + " / " + a.name, opsets, is_function);
    }
  }

  void checkSchema(const Node& n, const std::string& where, const std::vector<OpsetImport>& opsets,
                   bool is_function) {
    if (!opts_.schemas) return;
    int64_t version = -1;
    for (const auto& o : opsets) {
      if (o.domain == n.domain() || (isDefaultDomain(o.domain) && n.isDefaultDomain()))
        version = o.version;
    }
    // A model-local function with this name shadows nothing in the registry but is callable.
    for (const Function& f : model_.functions)
      if (f.name == n.opType() && f.domain == n.domain()) return;
    if (version < 0) {
      report(where, "domain '" + n.domain() + "' has no opset_import entry");
      return;
    }
    const OpSignature* sig = nullptr;
    auto found =
        opts_.schemas->lookup(n.isDefaultDomain() ? "" : n.domain(), n.opType(), version, &sig);
    if (found == OpSchemaOracle::Lookup::NotCovered) return;
    std::string domain_name = n.isDefaultDomain() ? "ai.onnx" : n.domain();
    if (found == OpSchemaOracle::Lookup::UnknownOp) {
      report(where, fmt::format("operator {} does not exist in domain {} at opset {}", n.opType(),
                                domain_name, version));
      return;
    }
    for (auto& msg : checkNodeSignature(n, *sig, is_function))
      report(where, std::move(msg));
  }

  void checkUseCounts() {
    for (const Value* v : all_values_) {
      size_t counted = 0;
      auto it = use_counts_.find(v);
      if (it != use_counts_.end()) counted = it->second;
      if (counted != v->uses().size())
        report("value '" + v->name() + "'",
               fmt::format("has {} recorded uses but {} node inputs read it (IR bug)",
                           v->uses().size(), counted));
      // Each recorded use must be a distinct input slot that reads v; with the counts equal, the
      // uses are then exactly the slots. (Looking each slot up in its value's use list instead
      // is quadratic in the number of readers: 40 s for one input read by 100k nodes.)
      std::vector<Use> uses = v->uses();
      for (const Use& u : uses)
        if (!u.user || u.index >= u.user->numInputs() || u.user->input(u.index) != v)
          report("value '" + v->name() + "'", "has a recorded use that does not read it (IR bug)");
      std::sort(uses.begin(), uses.end(), [](const Use& a, const Use& b) {
        return std::less<const Node*>()(a.user, b.user) || (a.user == b.user && a.index < b.index);
      });
      if (std::adjacent_find(uses.begin(), uses.end()) != uses.end())
        report("value '" + v->name() + "'", "has a use recorded twice (IR bug)");
    }
  }
};

}  // namespace

std::vector<VerifyIssue> verifyModel(const Model& m, const VerifyOptions& opts) {
  return Verifier(m, opts).run();
}

void verifyOrThrow(const Model& m, const VerifyOptions& opts, ErrorKind kind,
                   const std::string& context) {
  auto issues = verifyModel(m, opts);
  if (issues.empty()) return;
  std::string msg = context + ": " + issues.front().str();
  if (issues.size() > 1) msg += fmt::format(" (and {} more problems)", issues.size() - 1);
  throw Error(kind, msg);
}

}  // namespace mopt
