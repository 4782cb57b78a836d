// fold-constants.
#include "passes/cleanup/FoldConstants.h"

#include "exec/Executor.h"
#include "passes/common/Constants.h"

#include <set>

namespace mopt {

const PassInfo& FoldConstantsPass::info() {
  static const PassInfo i{
      "fold-constants",
      "cleanup",
      "Precompute nodes whose inputs are all constant",
      "Evaluates, with the executor's own kernels, every node whose inputs are initializers, "
      "Constant outputs or already folded values (and Shape/Size of statically shaped values), "
      "and replaces it by initializers holding the results. Random ops (RandomNormal, "
      "RandomUniform, Bernoulli, Multinomial, ...) and nodes with subgraphs are never folded; "
      "results larger than max-bytes are left to run time. Graph outputs keep their names. Run "
      "dce afterwards to drop inputs nothing reads any more.",
      {{"max-bytes",
        OptionType::Int,
        "16777216",
        "largest result (bytes) folding may create; bigger ones stay computed",
        {},
        false}}};
  return i;
}

namespace {

const std::set<std::string>& neverFold() {
  static const std::set<std::string> s = {"RandomNormal",      "RandomUniform", "RandomNormalLike",
                                          "RandomUniformLike", "Multinomial",   "Bernoulli",
                                          "Constant"};
  return s;
}

std::optional<Tensor> staticShape(const Node& n) {
  const Value* x = n.input(0);
  if (!x || !x->type().isTensor() || !x->type().shape()) return std::nullopt;
  std::vector<int64_t> dims;
  for (const Dim& d : *x->type().shape()) {
    if (!d.isKnown()) return std::nullopt;
    dims.push_back(d.value);
  }
  if (n.is("Size")) {
    int64_t total = 1;
    for (int64_t d : dims)
      total *= d;
    return Tensor::fromVector(DType::I64, {}, std::vector<int64_t>{total});
  }
  int64_t rank = static_cast<int64_t>(dims.size());
  int64_t start = n.intAttr("start", 0), end = n.intAttr("end", rank);
  auto clamp = [rank](int64_t i) {
    return std::min(std::max(i < 0 ? i + rank : i, int64_t{0}), rank);
  };
  start = clamp(start);
  end = std::max(clamp(end), start);
  std::vector<int64_t> out(dims.begin() + start, dims.begin() + end);
  return Tensor::fromVector(DType::I64, {static_cast<int64_t>(out.size())}, out);
}

}  // namespace

bool FoldConstantsPass::run(Model& model, PassContext& ctx) {
  int64_t folded = 0, too_big = 0;
  NameScope names(model);
  auto opsetOf = [&model](const Node& n) {
    return model.opset(n.isDefaultDomain() ? "" : n.domain());
  };
  forEachGraph(*model.graph, [&](Graph& g) {
    for (Node* n : g.nodeVector()) {
      if (!n->subgraphs().empty() || neverFold().count(n->opType()) || n->numOutputs() == 0)
        continue;
      std::vector<Tensor> results;
      if ((n->is("Shape") || n->is("Size")) && !constantValue(n->input(0))) {
        auto t = staticShape(*n);
        if (!t) continue;
        results.push_back(*t);
      } else {
        std::vector<std::optional<Tensor>> inputs;
        bool all_constant = true;
        for (const Value* v : n->inputs()) {
          if (!v) {
            inputs.push_back(std::nullopt);
            continue;
          }
          auto c = constantValue(v);
          if (!c) {
            all_constant = false;
            break;
          }
          inputs.push_back(*c);
        }
        if (!all_constant || !canEvaluate(*n)) continue;
        results = evaluateNode(*n, opsetOf(*n), inputs);
      }
      uint64_t bytes = 0;
      for (const Tensor& t : results)
        bytes += t.byteSize();
      if (bytes > static_cast<uint64_t>(max_bytes_)) {
        ++too_big;
        ctx.note("left " + n->describe() + " to run time: its result has " + std::to_string(bytes) +
                 " bytes");
        continue;
      }
      // Each output becomes an initializer that takes over the output's name.
      std::vector<std::pair<Value*, Value*>> replaced;
      for (size_t i = 0; i < n->numOutputs(); ++i) {
        Value* out = n->output(i);
        if (!out || i >= results.size() || !results[i].isDefined()) continue;
        Value* init = g.addInitializer(names.fresh(out->name() + "_folded"), results[i]);
        out->replaceAllUsesWith(init);
        for (size_t k = 0; k < g.outputs().size(); ++k)
          if (g.outputs()[k] == out) g.setOutput(k, init);
        replaced.emplace_back(out, init);
      }
      bool all_replaced = true;
      for (Value* out : n->outputs())
        if (out && (out->hasUses() || out->isGraphOutput())) all_replaced = false;
      if (!all_replaced) continue;  // an output the kernel did not produce: leave the node
      std::vector<std::string> old_names;
      for (auto& [out, init] : replaced)
        old_names.push_back(out->name());
      g.eraseNode(n);
      for (size_t i = 0; i < replaced.size(); ++i)
        replaced[i].second->setName(old_names[i]);
      ++folded;
    }
  });
  ctx.count("nodes-folded", folded);
  ctx.count("left-too-big", too_big);
  return folded > 0;
}

}  // namespace mopt
