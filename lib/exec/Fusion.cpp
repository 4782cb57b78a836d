// Execution-only graph rewrites; see Fusion.h. Pure IR code: the kernels are in KernelsFused.cpp.
#include "exec/Fusion.h"

#include "ir/TensorUtil.h"
#include "passes/common/Constants.h"

#include <cmath>

namespace mopt {

namespace {

bool onlyUse(const Value* v, const Node* user) {
  return v && v->uses().size() == 1 && v->uses()[0].user == user && !v->isGraphOutput();
}

Node* singleUser(const Value* v) {
  return v && v->uses().size() == 1 && !v->isGraphOutput() ? v->uses()[0].user : nullptr;
}

bool isScalarConst(const Value* v, double want, double tol) {
  auto t = constantValue(v);
  return t && t->numel() == 1 && isFloatingPoint(t->dtype()) &&
         std::fabs(elementAsDouble(*t, 0) - want) <= tol;
}

// Moves `last`'s output to a new node of `op` built before it, then erases `last` and whatever
// of the chain became unused.
void replaceOutput(Graph& g, Node* last, Node* fused, const std::vector<Node*>& chain) {
  Value* old = last->output(0);
  Value* fresh = fused->output(0);
  std::string name = old->name();
  Type type = old->type();
  old->replaceAllUsesWith(fresh);
  for (size_t i = 0; i < g.outputs().size(); ++i)
    if (g.outputs()[i] == old) g.setOutput(i, fresh);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    bool used = false;
    for (const Value* v : (*it)->outputs())
      used = used || (v && (v->hasUses() || v->isGraphOutput()));
    if (!used) g.eraseNode(*it);
  }
  fresh->setName(name);
  fresh->setType(type);
}

int64_t fuseGelu(Graph& g) {
  int64_t n = 0;
  for (Node* erf : g.nodeVector()) {
    if (!erf->is("Erf") || !erf->owner()) continue;
    Node* div = erf->input(0) ? erf->input(0)->producer() : nullptr;
    if (!div || !onlyUse(div->output(0), erf)) continue;
    Value* x = div->input(0);
    bool scaled = (div->is("Div") && isScalarConst(div->input(1), std::sqrt(2.0), 1e-3)) ||
                  (div->is("Mul") && isScalarConst(div->input(1), 1 / std::sqrt(2.0), 1e-3));
    if (!scaled) continue;
    Node* add = singleUser(erf->output(0));
    if (!add || !add->is("Add")) continue;
    Value* one = add->input(0) == erf->output(0) ? add->input(1) : add->input(0);
    if (!isScalarConst(one, 1.0, 1e-6)) continue;
    Node* mul = singleUser(add->output(0));
    if (!mul || !mul->is("Mul")) continue;
    Value* other = mul->input(0) == add->output(0) ? mul->input(1) : mul->input(0);
    Node* half = nullptr;
    Node* last = nullptr;
    if (other == x) {  // (x * (1 + erf)) * 0.5
      half = singleUser(mul->output(0));
      if (!half || !half->is("Mul")) continue;
      Value* c = half->input(0) == mul->output(0) ? half->input(1) : half->input(0);
      if (!isScalarConst(c, 0.5, 1e-6)) continue;
      last = half;
    } else {  // (x * 0.5) * (1 + erf)
      Node* xh = other->producer();
      if (!xh || !xh->is("Mul") || !onlyUse(other, mul)) continue;
      Value* c = xh->input(0) == x ? xh->input(1) : xh->input(0);
      if ((xh->input(0) != x && xh->input(1) != x) || !isScalarConst(c, 0.5, 1e-6)) continue;
      half = xh;
      last = mul;
    }
    Node* gelu = g.insertNodeBefore(last, "Gelu");
    gelu->addInput(x);
    gelu->addOutput(last->output(0)->name() + "_gelu");
    replaceOutput(g, last, gelu, {div, erf, add, mul, half});
    ++n;
  }
  return n;
}

int64_t fuseLinear(Graph& g, NameScope& names) {
  int64_t n = 0;
  for (Node* mm : g.nodeVector()) {
    if (!mm->is("MatMul") || mm->numInputs() != 2) continue;
    Value* w = mm->input(1);
    auto wt = constantValue(w);
    if (!wt || wt->dims().size() != 2 || (wt->dtype() != DType::F32 && wt->dtype() != DType::F64))
      continue;
    // W^T, computed once: [K, N] -> [N, K].
    int64_t K = wt->dims()[0], N = wt->dims()[1];
    std::vector<double> v = toDoubles(*wt), t(v.size());
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < N; ++j)
        t[static_cast<size_t>(j * K + k)] = v[static_cast<size_t>(k * N + j)];
    if (wt->buffer()) wt->buffer()->releasePages();
    Value* transposed =
        g.addInitializer(names.fresh(w->name() + "_T"), fromDoubles(wt->dtype(), {N, K}, t));
    Node* last = mm;
    Value* bias = nullptr;
    Node* add = singleUser(mm->output(0));
    if (add && add->is("Add")) {
      Value* b = add->input(0) == mm->output(0) ? add->input(1) : add->input(0);
      auto bt = constantValue(b);
      if (bt && bt->dims().size() == 1 && bt->dims()[0] == N && bt->dtype() == wt->dtype()) {
        bias = b;
        last = add;
      }
    }
    Node* lin = g.insertNodeBefore(last, "LinearT", kExecDomain);
    lin->addInput(mm->input(0));
    lin->addInput(transposed);
    if (bias) lin->addInput(bias);
    lin->addOutput(last->output(0)->name() + "_linear");
    std::vector<Node*> chain = {mm};
    if (last != mm) chain.push_back(last);
    replaceOutput(g, last, lin, chain);
    ++n;
  }
  return n;
}

// Conv followed by Relu, or by Clip with constant bounds, becomes ConvClamp: the activation runs
// in place on the convolution's fresh output instead of allocating and filling another tensor
// (MobileNet-style nets have one after nearly every Conv).
int64_t fuseConvActivation(Graph& g, int64_t opset) {
  int64_t n = 0;
  for (Node* conv : g.nodeVector()) {
    if (!conv->is("Conv") || conv->numOutputs() != 1) continue;
    Node* act = singleUser(conv->output(0));
    if (!act || act->numOutputs() != 1 || act->input(0) != conv->output(0)) continue;
    std::vector<Attribute> bounds;
    if (act->is("Relu")) {
      bounds.push_back(Attribute::makeFloat("clamp_min", 0.0f));
    } else if (act->is("Clip") && opset < 11) {
      if (const Attribute* a = act->attr("min"))
        bounds.push_back(Attribute::makeFloat("clamp_min", a->f));
      if (const Attribute* a = act->attr("max"))
        bounds.push_back(Attribute::makeFloat("clamp_max", a->f));
    } else if (act->is("Clip")) {
      bool constant = true;
      for (size_t i = 1; i < act->numInputs() && i < 3; ++i) {
        if (!act->input(i)) continue;  // an omitted optional bound
        auto t = constantValue(act->input(i));
        if (!t || t->numel() != 1 || !isFloatingPoint(t->dtype())) {
          constant = false;
          break;
        }
        bounds.push_back(Attribute::makeFloat(i == 1 ? "clamp_min" : "clamp_max",
                                              static_cast<float>(elementAsDouble(*t, 0))));
      }
      if (!constant) continue;
    } else {
      continue;
    }
    Node* fused = g.insertNodeBefore(act, "ConvClamp", kExecDomain);
    for (size_t i = 0; i < conv->numInputs(); ++i)
      fused->addInput(conv->input(i));
    std::vector<Attribute> attrs = std::move(conv->attributes());
    conv->attributes().clear();
    for (auto& b : bounds)
      attrs.push_back(std::move(b));
    fused->setAttrs(std::move(attrs));
    fused->addOutput(act->output(0)->name() + "_convclamp");
    replaceOutput(g, act, fused, {conv, act});
    ++n;
  }
  return n;
}

}  // namespace

int64_t fuseForExecution(Model& m) {
  NameScope names(m);
  int64_t n = 0;
  forEachGraph(*m.graph, [&](Graph& g) {
    n += fuseGelu(g);
    n += fuseLinear(g, names);
    n += fuseConvActivation(g, m.opset(""));
  });
  if (n && m.opset(kExecDomain) == 0) m.setOpset(kExecDomain, 1);
  return n;
}

}  // namespace mopt
