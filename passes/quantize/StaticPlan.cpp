// Static quantization: planning, the QDQ rewrite and the QOperator lowering.
//
// Conventions follow ONNX Runtime's QDQ quantizer, because ONNX Runtime only runs integer
// kernels when it recognises complete node units (users of other tools most often meet a
// "quantized" model that is slower than fp32 because a unit was incomplete):
//  - every quantized tensor is produced once and read through QuantizeLinear -> DequantizeLinear,
//    and all its readers take the DequantizeLinear output, so the producer's only reader is the Q;
//  - Conv/ConvTranspose/Gemm/MatMul weights are int8, per output channel, symmetric; biases are
//    int32 with scale s_x * s_w and zero point 0;
//  - shape-only ops (MaxPool, Reshape, Transpose, ...) give their output the input's parameters,
//    so ONNX Runtime can drop the pair around them;
//  - Relu and Clip(0, x) right after a quantized op disappear: the op's output is quantized over
//    the activation's range, whose lower end is the zero point, which clamps exactly as they do.
#include "passes/quantize/StaticPlan.h"

#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "passes/common/Constants.h"
#include "passes/common/Rewrite.h"
#include "passes/quantize/QuantCommon.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace mopt {

namespace {

enum class Role { Compute, Binary, Multi, Own, Direct, Activation };

const std::map<std::string, Role>& roles() {
  static const std::map<std::string, Role> r = {
      {"Conv", Role::Compute},
      {"ConvTranspose", Role::Compute},
      {"Gemm", Role::Compute},
      {"MatMul", Role::Compute},
      {"Add", Role::Binary},
      {"Mul", Role::Binary},
      {"Concat", Role::Multi},
      {"AveragePool", Role::Own},
      {"GlobalAveragePool", Role::Own},
      {"MaxPool", Role::Direct},
      {"Reshape", Role::Direct},
      {"Flatten", Role::Direct},
      {"Transpose", Role::Direct},
      {"Squeeze", Role::Direct},
      {"Unsqueeze", Role::Direct},
      {"Slice", Role::Direct},
      {"Gather", Role::Direct},
      {"Split", Role::Direct},
      {"Resize", Role::Direct},
      {"DepthToSpace", Role::Direct},
      {"SpaceToDepth", Role::Direct},
      {"Expand", Role::Direct},
      {"Tile", Role::Direct},
      {"Relu", Role::Activation},
      {"Clip", Role::Activation},
  };
  return r;
}

bool isF32(const Value* v) {
  return v && v->type().isTensor() && v->type().elemType() == DType::F32;
}

// The data inputs of a node in its role (the ones that get quantized).
std::vector<size_t> dataInputs(const Node& n, Role role) {
  switch (role) {
    case Role::Compute:
      return n.is("MatMul") ? std::vector<size_t>{0, 1} : std::vector<size_t>{0};
    case Role::Binary:
      return {0, 1};
    case Role::Multi: {
      std::vector<size_t> all;
      for (size_t i = 0; i < n.numInputs(); ++i)
        all.push_back(i);
      return all;
    }
    default:
      return {0};
  }
}

// Clip's bounds: attributes before opset 11, optional constant inputs after.
bool clipBounds(const Node& n, float& lo, float& hi) {
  lo = -INFINITY;
  hi = INFINITY;
  if (n.attr("min") || n.attr("max")) {
    lo = n.floatAttr("min", -INFINITY);
    hi = n.floatAttr("max", INFINITY);
    return true;
  }
  for (size_t i = 1; i < 3; ++i) {
    if (i >= n.numInputs() || !n.input(i)) continue;
    auto t = constantValue(n.input(i));
    if (!t || t->numel() != 1) return false;
    (i == 1 ? lo : hi) = static_cast<float>(elementAsDouble(*t, 0));
  }
  return true;
}

}  // namespace

const std::set<std::string>& staticQuantizableOps() {
  static const std::set<std::string> ops = [] {
    std::set<std::string> s;
    for (const auto& [op, role] : roles())
      s.insert(op);
    return s;
  }();
  return ops;
}

void parseOverride(const std::string& text, std::map<std::string, StaticConfig::Override>& out) {
  auto eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0)
    fail(ErrorKind::Usage, "override '{}' must be NAME=float, NAME=TYPE or NAME=range:LO:HI", text);
  std::string name = text.substr(0, eq), what = text.substr(eq + 1);
  StaticConfig::Override& o = out[name];
  if (what == "float") {
    o.keep_float = true;
  } else if (what == "uint8" || what == "int8" || what == "uint16" || what == "int16") {
    o.type = what == "uint8"    ? DType::U8
             : what == "int8"   ? DType::I8
             : what == "uint16" ? DType::U16
                                : DType::I16;
  } else if (what.rfind("range:", 0) == 0) {
    std::string rest = what.substr(6);
    auto colon = rest.find(':');
    char* end1 = nullptr;
    char* end2 = nullptr;
    std::string a = rest.substr(0, colon),
                b = colon == std::string::npos ? "" : rest.substr(colon + 1);
    float lo = std::strtof(a.c_str(), &end1), hi = std::strtof(b.c_str(), &end2);
    if (colon == std::string::npos || a.empty() || b.empty() || *end1 || *end2 || !(lo <= hi))
      fail(ErrorKind::Usage, "override '{}': range must be range:LO:HI with LO <= HI", text);
    o.range = std::make_pair(lo, hi);
  } else {
    fail(ErrorKind::Usage,
         "override '{}': '{}' is not float, uint8, int8, uint16, int16 or range:LO:HI", text, what);
  }
}

std::vector<std::string> StaticPlan::statNames() const {
  std::set<std::string> s;
  for (const auto& [v, name] : stat_name)
    s.insert(name);
  return {s.begin(), s.end()};
}

std::vector<std::string> StaticPlan::allStatNames() const {
  std::set<std::string> s;
  for (const auto& [v, name] : stat_name)
    s.insert(name);
  for (const Value* v : tensors)
    s.insert(v->name());
  return {s.begin(), s.end()};
}

StaticPlan planStatic(const Model& model, const StaticConfig& cfg, const NodeSelection& select,
                      PassContext& ctx) {
  StaticPlan plan;
  const Graph& g = *model.graph;
  SkipReport skipped;
  auto skip = [&](const Node* n, const std::string& why) { skipped.add(*n, why); };
  // Sensitivity analysis works on units that partition the quantized tensors: a node owns its
  // weights, its outputs and (when its output feeds nothing else) the Relu/Clip that folds into
  // it. Measuring a unit alone quantizes exactly what it owns (plus graph inputs it reads);
  // keeping a unit in float keeps what it owns in float, so auto-exclude removes the error it
  // measured.
  auto activationAfter = [](const Node* p) -> const Node* {
    const Value* x = p->numOutputs() ? p->output(0) : nullptr;
    if (!x || x->isGraphOutput() || x->uses().size() != 1) return nullptr;
    const Node* u = x->uses()[0].user;
    return u->isDefaultDomain() && (u->is("Relu") || u->is("Clip")) ? u : nullptr;
  };
  std::set<const Node*> only, excluded;
  std::set<const Value*> owned_float;
  {
    size_t at = 0;
    for (const Node* n : g.nodes()) {
      bool in_only = cfg.only_nodes && cfg.only_nodes->count(at);
      bool in_excluded = cfg.excluded_nodes.count(at) > 0;
      ++at;
      if (!in_only && !in_excluded) continue;
      std::vector<const Node*> unit = {n};
      if (const Node* a = activationAfter(n)) unit.push_back(a);
      for (const Node* u : unit) {
        (in_only ? only : excluded).insert(u);
        if (in_excluded)
          for (const Value* o : u->outputs())
            owned_float.insert(o);
      }
    }
  }
  auto keptFloat = [&](const Value* v) {
    if (owned_float.count(v)) return true;
    auto it = cfg.overrides.find(v->name());
    return it != cfg.overrides.end() && it->second.keep_float;
  };

  // 1. Which nodes.
  std::set<const Node*> chosen;
  for (const Node* n : g.nodes()) {
    if (excluded.count(n) || (cfg.only_nodes && !only.count(n))) continue;
    if (!n->isDefaultDomain()) continue;
    auto r = roles().find(n->opType());
    if (r == roles().end()) continue;
    if (!select.includes(*n)) {
      std::string why = select.exclusionReason(*n);
      if (!why.empty()) skip(n, why);
      continue;
    }
    Role role = r->second;
    std::string why;
    for (size_t i : dataInputs(*n, role)) {
      const Value* v = n->input(i);
      if (!v) continue;
      if (constantValue(v)) {
        auto t = constantValue(v);
        if (t->dtype() != DType::F32) why = "input " + std::to_string(i) + " is not float32";
        continue;
      }
      if (!isF32(v)) why = "input '" + v->name() + "' is not known to be float32";
    }
    for (const Value* o : n->outputs())
      if (o && !isF32(o)) why = "output '" + o->name() + "' is not known to be float32";
    if (role == Role::Compute && why.empty()) {
      const bool matmul = n->is("MatMul");
      auto w = constantValue(n->input(1));
      if (!matmul && (!w || w->dims().size() < 2)) why = "its weight is not a constant";
      if (n->is("Gemm") && n->intAttr("transA", 0)) why = "transA is set";
      if (matmul && w && w->dims().size() != 2 && !constantValue(n->input(0)))
        why = "its weight is not a matrix";
      if (n->is("ConvTranspose") && n->intAttr("group", 1) != 1 && cfg.per_channel)
        why = "grouped ConvTranspose has no per-channel weight axis";
      if (matmul && constantValue(n->input(0)) && constantValue(n->input(1)))
        why = "both operands are constant";
    }
    if (role == Role::Binary || role == Role::Multi) {
      bool any_activation = false;
      for (const Value* v : n->inputs())
        any_activation = any_activation || (v && !constantValue(v));
      if (!any_activation) why = "all its inputs are constant";
    }
    if (n->is("Clip") && why.empty()) {
      float lo, hi;
      if (!clipBounds(*n, lo, hi)) why = "its bounds are not constant";
    }
    if (!why.empty()) {
      skip(n, why);
      continue;
    }
    chosen.insert(n);
  }

  // Shape-only ops and activations only carry quantization along (as in ONNX Runtime): they are
  // quantized where their input is quantized anyway, i.e. produced by a quantized node or read
  // by one that quantizes its inputs. Otherwise a node kept in float (excluded, or auto-excluded
  // as too sensitive) would still have its output clipped to a quantized range downstream.
  std::set<const Value*> quantized_inputs;
  for (const Node* n : g.nodes()) {
    if (!chosen.count(n)) continue;
    Role role = roles().at(n->opType());
    if (role == Role::Direct || role == Role::Activation) continue;
    for (size_t i : dataInputs(*n, role))
      if (i < n->numInputs() && n->input(i)) quantized_inputs.insert(n->input(i));
  }
  for (const Node* n : g.nodes()) {
    if (!chosen.count(n)) continue;
    Role role = roles().at(n->opType());
    if (role != Role::Direct && role != Role::Activation) continue;
    const Value* x = n->input(0);
    bool carried = (x->producer() && chosen.count(x->producer())) || quantized_inputs.count(x);
    if (!carried) chosen.erase(n);
  }

  // 2. Relu / Clip(0, x) directly after a quantized op fold into that op's output range.
  std::set<const Node*> folded;
  if (cfg.fold_activations && !cfg.activation_symmetric) {
    for (const Node* n : g.nodes()) {
      if (!chosen.count(n) || roles().at(n->opType()) != Role::Activation) continue;
      const Value* x = n->input(0);
      const Node* p = x->producer();
      if (!p || !chosen.count(p) || folded.count(p)) continue;
      Role pr = roles().at(p->opType());
      if (pr != Role::Compute && pr != Role::Binary) continue;
      if (x->uses().size() != 1 || x->isGraphOutput() || keptFloat(x) || keptFloat(n->output(0)))
        continue;
      float lo = 0, hi = INFINITY;
      if (n->is("Clip") && (!clipBounds(*n, lo, hi) || lo != 0.0f)) continue;
      folded.insert(n);
      plan.folded.push_back(const_cast<Node*>(n));
      if (n->is("Clip") && std::isfinite(hi)) plan.clip_max[x] = hi;
    }
  }

  // 3. Which tensors, and whose parameters each uses.
  std::set<const Value*> seen;
  auto addTensor = [&](const Value* v) {
    if (!v || constantValue(v) || keptFloat(v) || !seen.insert(v).second) return;
    plan.tensors.push_back(const_cast<Value*>(v));
  };
  for (const Node* n : g.nodes()) {
    if (!chosen.count(n) || folded.count(n)) continue;
    Role role = roles().at(n->opType());
    plan.nodes.push_back(const_cast<Node*>(n));
    for (size_t i : dataInputs(*n, role))
      if (i < n->numInputs()) {
        const Value* v = n->input(i);
        // The output of a folded activation is read as its producer's output.
        if (v && v->producer() && folded.count(v->producer())) v = v->producer()->input(0);
        // A unit measured alone: its inputs belong to their producers' units.
        if (cfg.only_nodes && v && v->producer() && !chosen.count(v->producer())) continue;
        addTensor(v);
      }
    for (const Value* o : n->outputs())
      addTensor(o);
  }
  for (const Value* v : plan.tensors) {
    plan.root[v] = v;
    const Node* p = v->producer();
    if (p && chosen.count(p) && roles().at(p->opType()) == Role::Direct) {
      const Value* in = p->input(0);
      if (in && in->producer() && folded.count(in->producer())) in = in->producer()->input(0);
      auto it = plan.root.find(in);
      if (it != plan.root.end()) plan.root[v] = it->second;
    }
  }
  for (const Value* v : plan.tensors) {
    if (plan.root[v] != v) continue;
    std::string stat = v->name();
    // A folded activation's output range is the one to use.
    if (v->uses().size() == 1 && folded.count(v->uses()[0].user))
      stat = v->uses()[0].user->output(0)->name();
    plan.stat_name[v] = stat;
  }
  skipped.flush(ctx);
  ctx.count("nodes-planned", static_cast<int64_t>(plan.nodes.size()));
  ctx.count("activations-folded", static_cast<int64_t>(plan.folded.size()));
  return plan;
}

namespace {

struct QParamValues {
  Value* scale = nullptr;
  Value* zero_point = nullptr;
  float s = 1;
  DType type = DType::U8;
};

class StaticRewriter {
 public:
  StaticRewriter(Model& m, const StaticPlan& plan, const StatsSet& stats, const StaticConfig& cfg,
                 PassContext& ctx)
      : model_(m), g_(*m.graph), plan_(plan), stats_(stats), cfg_(cfg), ctx_(ctx), names_(m) {}

  void run() {
    computeParams();
    unfoldActivations();
    for (Node* n : plan_.nodes)
      quantizeConstants(n);
    insertPairs();
    ctx_.table(std::move(ranges_));
  }

 private:
  bool qdqDomainNeeded(DType t) const {
    return (t == DType::U16 || t == DType::I16) && model_.opset("") < 21;
  }
  std::string qdqDomain(DType t) const { return qdqDomainNeeded(t) ? "com.microsoft" : ""; }

  DType typeOf(const Value* root) const {
    auto it = cfg_.overrides.find(root->name());
    if (it != cfg_.overrides.end() && it->second.type) return *it->second.type;
    return cfg_.activation_type;
  }

  void computeParams() {
    for (const Value* v : plan_.tensors) {
      const Value* root = plan_.root.at(v);
      if (root != v) continue;
      DType t = typeOf(root);
      QRange range = quantRange(t, cfg_.activation_symmetric, false);
      std::pair<float, float> r;
      auto ov = cfg_.overrides.find(root->name());
      if (ov != cfg_.overrides.end() && ov->second.range) {
        r = *ov->second.range;
      } else {
        const std::string& stat = plan_.stat_name.at(root);
        auto it = stats_.tensors.find(stat);
        if (it == stats_.tensors.end())
          failInput(
              "calibration statistics have no tensor '{}' (they were collected for another model "
              "or "
              "pipeline)",
              stat);
        if (it->second.count == 0)
          failInput("calibration statistics for tensor '{}' hold no finite values", stat);
        r = calibratedRange(it->second, cfg_.method, cfg_.percentile, range,
                            cfg_.activation_symmetric);
      }
      auto cm = plan_.clip_max.find(root);
      if (cm != plan_.clip_max.end()) r.second = std::min(r.second, cm->second);
      QParams p = computeQParams(r.first, r.second, range, cfg_.activation_symmetric);
      ranges_.rows.push_back({root->name(), fmt::format("{:.6g}", r.first),
                              fmt::format("{:.6g}", r.second), fmt::format("{:.6g}", p.scale),
                              std::to_string(p.zero_point)});
      if (cfg_.show_ranges)
        ctx_.note(fmt::format("range of {}: [{:.6g}, {:.6g}] -> scale {:.6g}, zero point {}",
                              root->name(), r.first, r.second, p.scale, p.zero_point));
      QParamValues q;
      q.s = p.scale;
      q.type = t;
      std::string base = root->name();
      q.scale = g_.addInitializer(names_.fresh(base + "_scale"), scalarOf(DType::F32, p.scale));
      q.zero_point =
          g_.addInitializer(names_.fresh(base + "_zero_point"), scalarOf(t, p.zero_point));
      params_[root] = q;
      if (t == DType::U16 || t == DType::I16) ctx_.count("activations-16bit");
    }
  }

  const QParamValues& paramsOf(const Value* v) const { return params_.at(plan_.root.at(v)); }

  // Readers of a folded Relu/Clip read its producer's output (quantized over the activation's
  // range, which clamps the same way).
  void unfoldActivations() {
    for (Node* n : plan_.folded) {
      Value* x = n->input(0);
      Value* y = n->output(0);
      replaceValue(g_, y, x, names_);
      g_.eraseNode(n);
    }
  }

  Value* dequantizeConstant(GraphBuilder& b, const Tensor& q, Value* scale, Value* zp, int64_t axis,
                            const std::string& hint) {
    Node* dq = b.node("DequantizeLinear", {b.constant(q, hint + "_quantized"), scale, zp},
                      hint + "_DequantizeLinear");
    if (axis >= 0) dq->setAttr(Attribute::makeInt("axis", axis));
    return dq->output(0);
  }

  // Weights, biases and constant operands of a quantized node.
  void quantizeConstants(Node* n) {
    Role role = roles().at(n->opType());
    GraphBuilder b(g_, n, names_, n->name().empty() ? n->output(0)->name() : n->name());
    const bool per_axis_ok = model_.opset("") >= 13;
    if (role == Role::Compute) {
      bool matmul = n->is("MatMul");
      size_t wi = matmul && constantValue(n->input(0)) ? 0 : 1;
      if (auto w = constantValue(n->input(wi))) {
        int64_t axis = -1;
        if (cfg_.per_channel && per_axis_ok) {
          if (n->is("Conv"))
            axis = 0;
          else if (n->is("ConvTranspose"))
            axis = 1;
          else if (n->is("Gemm"))
            axis = n->intAttr("transB", 0) ? 0 : 1;
          else if (matmul && wi == 1 && w->dims().size() == 2)
            axis = 1;
        }
        QuantizedTensor q =
            quantizeWeight(*w, cfg_.weight_type, axis, cfg_.weight_symmetric, cfg_.reduce_range);
        Value* old = n->input(wi);
        std::string hint = old->name();
        Value* s = b.constant(q.scale, hint + "_scale");
        Value* z = b.constant(q.zero_point, hint + "_zero_point");
        n->setInput(wi, dequantizeConstant(b, q.data, s, z, axis, hint));
        dead_.push_back(old);
        ctx_.count("weights-quantized");
        // Bias: int32 with scale s_x * s_w, so integer kernels can add it to their accumulator.
        size_t bi = 2;
        bool has_bias = !matmul && n->numInputs() > bi && n->input(bi);
        if (has_bias && n->is("Gemm") && n->floatAttr("beta", 1.0f) != 1.0f) has_bias = false;
        auto bias = has_bias ? constantValue(n->input(bi)) : std::nullopt;
        if (bias && bias->dtype() == DType::F32 && plan_.root.count(n->input(0))) {
          int64_t channels =
              n->is("Gemm")
                  ? (n->intAttr("transB", 0) ? w->dims()[0] : w->dims()[1])
                  : (n->is("ConvTranspose") ? w->dims()[1] * n->intAttr("group", 1) : w->dims()[0]);
          if (bias->numel() == channels) {
            float sx = paramsOf(n->input(0)).s;
            std::vector<float> ws = floatsOf(q.scale);
            std::vector<float> bs(static_cast<size_t>(channels));
            std::vector<int32_t> codes(static_cast<size_t>(channels));
            FloatData bv(*bias);
            for (int64_t c = 0; c < channels; ++c) {
              float sw = ws.size() == 1 ? ws[0] : ws[static_cast<size_t>(c)];
              float s = sx * sw;
              bs[static_cast<size_t>(c)] = s;
              double code = s > 0 ? std::nearbyint(bv.data()[c] / s) : 0;
              codes[static_cast<size_t>(c)] =
                  static_cast<int32_t>(std::clamp(code, -2147483648.0, 2147483647.0));
            }
            Value* oldb = n->input(bi);
            std::string bh = oldb->name();
            std::vector<int64_t> pd = {channels};
            Value* bsv = b.constant(Tensor::fromVector(DType::F32, pd, bs), bh + "_scale");
            Value* bzv =
                b.constant(makeQuantTensor(DType::I32, pd, std::vector<int32_t>(codes.size(), 0)),
                           bh + "_zero_point");
            Tensor bq = makeQuantTensor(DType::I32, bias->dims(), codes);
            n->setInput(bi, dequantizeConstant(b, bq, bsv, bzv, per_axis_ok ? 0 : -1, bh));
            if (!per_axis_ok) fail(ErrorKind::Internal, "bias quantization needs opset 13");
            dead_.push_back(oldb);
            ctx_.count("biases-quantized");
          }
        }
      }
    }
    if (role == Role::Binary || role == Role::Multi) {
      // Constant operands: quantized like activations, over their own range.
      for (size_t i : dataInputs(*n, role)) {
        Value* v = n->input(i);
        auto t = v ? constantValue(v) : std::nullopt;
        if (!t) continue;
        FloatData f(*t);
        float lo = 0, hi = 0;
        for (int64_t k = 0; k < f.size(); ++k) {
          lo = std::min(lo, f.data()[k]);
          hi = std::max(hi, f.data()[k]);
        }
        QRange range = quantRange(cfg_.activation_type, cfg_.activation_symmetric, false);
        QParams p = computeQParams(lo, hi, range, cfg_.activation_symmetric);
        std::vector<int32_t> codes(static_cast<size_t>(f.size()));
        for (int64_t k = 0; k < f.size(); ++k)
          codes[static_cast<size_t>(k)] = quantizeValue(f.data()[k], p, range);
        std::string hint = v->name();
        Value* s = b.constant(scalarOf(DType::F32, p.scale), hint + "_scale");
        Value* z = b.constant(scalarOf(cfg_.activation_type, p.zero_point), hint + "_zero_point");
        n->setInput(
            i, dequantizeConstant(b, makeQuantTensor(cfg_.activation_type, t->dims(), codes), s, z,
                                  -1, hint));
        dead_.push_back(v);
        ctx_.count("constants-quantized");
      }
    }
  }

  void insertPairs() {
    std::unordered_map<const Node*, size_t> order;
    size_t i = 0;
    for (const Node* n : g_.nodes())
      order[n] = i++;
    for (Value* v : plan_.tensors) {
      const QParamValues& p = paramsOf(v);
      // Readers in this graph, earliest first; readers inside subgraphs keep the float value.
      std::vector<Use> uses;
      for (const Use& u : v->uses())
        if (u.user->owner() == &g_) uses.push_back(u);
      if (uses.empty() && !v->isGraphOutput()) continue;
      Node* before = nullptr;
      for (const Use& u : uses)
        if (!before || order.at(u.user) < order.at(before)) before = u.user;
      GraphBuilder b(g_, before, names_, v->name());
      std::string dom = qdqDomain(p.type);
      Node* q = b.node("QuantizeLinear", {v, p.scale, p.zero_point}, "QuantizeLinear", 1, dom);
      Node* dq = b.node("DequantizeLinear", {q->output(0), p.scale, p.zero_point},
                        "DequantizeLinear", 1, dom);
      if (!dom.empty() && model_.opset(dom) == 0) model_.setOpset(dom, 1);
      for (const Use& u : uses)
        u.user->setInput(u.index, dq->output(0));
      if (v->isGraphOutput()) {
        // The model's interface keeps its output name: the DequantizeLinear output takes it.
        for (size_t k = 0; k < g_.outputs().size(); ++k)
          if (g_.outputs()[k] == v) g_.setOutput(k, dq->output(0));
        std::string name = v->name();
        Type type = v->type();
        v->setName(names_.fresh(name + "_float"));
        dq->output(0)->setName(name);
        dq->output(0)->setType(type);
      }
      ctx_.count("tensors-quantized");
    }
    dropDeadValues(dead_);
  }

  Model& model_;
  Graph& g_;
  const StaticPlan& plan_;
  const StatsSet& stats_;
  const StaticConfig& cfg_;
  PassContext& ctx_;
  NameScope names_;
  std::map<const Value*, QParamValues> params_;
  ReportTable ranges_{
      "quantized activations", {"tensor", "min", "max", "scale", "zero point"}, {}, ""};
  std::vector<Value*> dead_;
};

}  // namespace

void applyStatic(Model& model, const StaticPlan& plan, const StatsSet& stats,
                 const StaticConfig& cfg, PassContext& ctx) {
  if (cfg.per_channel && model.opset("") < 13)
    fail(ErrorKind::Usage,
         "quantize-static: per-channel weights need opset 13 (the model has {}); run "
         "convert-opset{{target=13}} "
         "first or set per-channel=false",
         model.opset(""));
  StaticRewriter(model, plan, stats, cfg, ctx).run();
}

// ------------------------------------------------------------------------------------------------
// QOperator lowering

namespace {

// The DequantizeLinear producing `v`, if any.
Node* dqOf(const Value* v) {
  Node* p = v ? v->producer() : nullptr;
  return p && p->is("DequantizeLinear") && p->numInputs() >= 3 ? p : nullptr;
}
// The single QuantizeLinear reading `v` (the only reader), if any.
Node* onlyQ(const Value* v) {
  if (!v || v->isGraphOutput() || v->uses().size() != 1) return nullptr;
  Node* u = v->uses()[0].user;
  return u->is("QuantizeLinear") && u->numInputs() >= 3 && u->input(0) == v ? u : nullptr;
}

const std::set<std::string>& lowerableDirect() {
  static const std::set<std::string> s = {"MaxPool",      "Reshape",      "Flatten", "Transpose",
                                          "Squeeze",      "Unsqueeze",    "Slice",   "Gather",
                                          "DepthToSpace", "SpaceToDepth", "Expand",  "Tile"};
  return s;
}

}  // namespace

void lowerToQOperator(Model& model, PassContext& ctx) {
  Graph& g = *model.graph;
  NameScope names(model);
  std::vector<Value*> dead;
  for (Node* n : g.nodeVector()) {
    if (!n->isDefaultDomain()) continue;
    Node* q = onlyQ(n->output(0));
    if (!q || n->numOutputs() != 1) continue;
    if (n->is("Conv") || n->is("MatMul")) {
      Node* dx = dqOf(n->input(0));
      Node* dw = dqOf(n->input(1));
      if (!dx || !dw || !q->input(2)) continue;
      if (n->is("MatMul") && (dx->attr("axis") || constantValue(n->input(0)))) continue;
      Node* db = n->is("Conv") && n->numInputs() > 2 && n->input(2) ? dqOf(n->input(2)) : nullptr;
      if (n->is("Conv") && n->numInputs() > 2 && n->input(2) && !db) continue;
      const bool conv = n->is("Conv");
      Node* ql = g.insertNodeBefore(n, conv ? "QLinearConv" : "QLinearMatMul");
      ql->setName(names.fresh((n->name().empty() ? n->output(0)->name() : n->name()) + "_quant"));
      for (Value* v : {dx->input(0), dx->input(1), dx->input(2), dw->input(0), dw->input(1),
                       dw->input(2), q->input(1), q->input(2)})
        ql->addInput(v);
      if (db) ql->addInput(db->input(0));
      if (conv)
        for (const char* a : {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"})
          if (const Attribute* at = n->attr(a)) ql->setAttr(copyScalarAttr(*at));
      Value* out = ql->addOutput(names.fresh(q->output(0)->name() + "_qlinear"));
      out->setType(q->output(0)->type());
      replaceValue(g, q->output(0), out, names);
      std::vector<Value*> ins = n->inputs();
      g.eraseNode(q);
      g.eraseNode(n);
      dead.insert(dead.end(), ins.begin(), ins.end());
      ctx.count(conv ? "qlinear-conv" : "qlinear-matmul");
      continue;
    }
    if (lowerableDirect().count(n->opType())) {
      if (n->is("MaxPool") && model.opset("") < 12) continue;  // int8 MaxPool needs opset 12
      Node* dx = dqOf(n->input(0));
      // The same parameter values on both sides: the op then maps codes to codes.
      if (!dx || dx->input(1) != q->input(1) || dx->input(2) != q->input(2)) continue;
      Value* in = n->input(0);
      n->setInput(0, dx->input(0));
      Type qt = q->output(0)->type();
      n->output(0)->setType(qt);
      replaceValue(g, q->output(0), n->output(0), names);
      g.eraseNode(q);
      dead.push_back(in);
      ctx.count("ops-on-quantized-data");
    }
  }
  dropDeadValues(dead);
}

}  // namespace mopt
