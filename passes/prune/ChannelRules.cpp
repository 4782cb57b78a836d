// The per-op rules of the channel dependency analysis: how each op carries, ties, cuts or
// blocks the channel ids of its inputs (see ChannelDeps.h).
#include "passes/prune/ChannelDeps.h"

#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "passes/common/Constants.h"
#include "passes/common/Rewrite.h"
#include "passes/prune/PruneCommon.h"
#include "passes/prune/PruneMath.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>
#include <set>

namespace mopt {

namespace {

const Shape* shapeOfValue(const Value* v) {
  if (!v || !v->type().isTensor() || !v->type().shape()) return nullptr;
  return &*v->type().shape();
}

int64_t rankOf(const Value* v) {
  if (auto t = constantValue(v)) return static_cast<int64_t>(t->dims().size());
  const Shape* s = shapeOfValue(v);
  return s ? static_cast<int64_t>(s->size()) : -1;
}

// The size of `v` along `axis`, or -1 when unknown.
int64_t dimOf(const Value* v, int64_t axis) {
  if (auto t = constantValue(v)) {
    if (axis < 0 || axis >= static_cast<int64_t>(t->dims().size())) return -1;
    return t->dims()[static_cast<size_t>(axis)];
  }
  const Shape* s = shapeOfValue(v);
  if (!s || axis < 0 || axis >= static_cast<int64_t>(s->size())) return -1;
  const Dim& d = (*s)[static_cast<size_t>(axis)];
  return d.isKnown() ? d.value : -1;
}

// The integers of a constant int tensor.
std::optional<std::vector<int64_t>> intsOf(const Value* v) {
  if (!v) return std::nullopt;
  auto t = constantValue(v);
  if (!t || !isInteger(t->dtype())) return std::nullopt;
  std::vector<int64_t> out(static_cast<size_t>(t->numel()));
  for (int64_t i = 0; i < t->numel(); ++i)
    out[static_cast<size_t>(i)] = elementAsInt(*t, i);
  return out;
}

int64_t normAxis(int64_t axis, int64_t rank) {
  return axis < 0 ? axis + rank : axis;
}

bool isUnary(const std::string& op) {
  static const std::set<std::string> k = {"Relu",     "LeakyRelu",   "Sigmoid",
                                          "Tanh",     "HardSigmoid", "HardSwish",
                                          "Clip",     "Elu",         "Selu",
                                          "Celu",     "Softplus",    "Softsign",
                                          "Gelu",     "Erf",         "Exp",
                                          "Log",      "Neg",         "Abs",
                                          "Sqrt",     "Reciprocal",  "Floor",
                                          "Ceil",     "Round",       "Sign",
                                          "Identity", "Cast",        "Mish",
                                          "Sin",      "Cos",         "Not",
                                          "IsNaN",    "IsInf",       "ThresholdedRelu",
                                          "Shrink",   "Dropout"};
  return k.count(op) > 0;
}

bool isPool(const std::string& op) {
  static const std::set<std::string> k = {"MaxPool",           "AveragePool",   "LpPool",
                                          "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"};
  return k.count(op) > 0;
}

bool isBroadcast(const std::string& op) {
  static const std::set<std::string> k = {
      "Add",  "Sub",   "Mul",   "Div",   "Pow",  "Max",     "Min",         "Sum",
      "Mean", "PRelu", "Where", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
      "And",  "Or",    "Xor",   "Mod"};
  return k.count(op) > 0;
}

bool isReduce(const std::string& op) {
  return op.rfind("Reduce", 0) == 0 || op == "ArgMax" || op == "ArgMin";
}

// A reason a unit cannot go: what happens (what reports group by), then where, in brackets.
std::string at(const Node& n, const std::string& what) {
  return fmt::format("{} {} [{}]", n.opType(), what, nodeLabel(n));
}

// Whether an optional output is read by anything.
bool outputUsed(const Node* n, size_t i) {
  return i < n->numOutputs() && n->output(i) &&
         (n->output(i)->hasUses() || n->output(i)->isGraphOutput());
}

}  // namespace

void ChannelDeps::visit(Node* n) {
  bool any = false;
  for (const Value* v : n->inputs())
    any = any || track(v);
  const std::string& op = n->opType();
  if (!n->isDefaultDomain()) {
    if (any)
      for (const Value* v : n->inputs())
        blockValue(v,
                   fmt::format("an op of domain {} reads them [{}]", n->domain(), nodeLabel(*n)));
    return;
  }
  bool handled = false;
  if (op == "Conv" || op == "ConvTranspose") {
    handled = conv(n);
  } else if (op == "Gemm" || op == "MatMul") {
    handled = gemmOrMatMul(n);
  } else if (!any) {
    return;
  } else if (isUnary(op) || isPool(op) || op == "Pad" || op == "Resize" || op == "Upsample") {
    const Value* x = n->input(0);
    Track* t = track(x);
    handled = true;
    std::string why;
    for (size_t i = 1; i < n->numInputs(); ++i)
      if (track(n->input(i))) why = at(*n, "reads them as a parameter");
    if (!t) {
      // only a parameter input is tracked: blocked above
    } else if (isPool(op) && t->axis != 1) {
      why = at(*n, "pools over their axis");
    } else if ((op == "Dropout" || op == "MaxPool") && outputUsed(n, 1)) {
      why = at(*n, "has a second output in use");
    } else if (op == "Pad") {
      int64_t r = rankOf(x);
      auto pads = opset_ >= 11 ? intsOf(n->input(1)) : std::optional(n->intsAttr("pads"));
      std::optional<std::vector<int64_t>> axes;
      if (n->numInputs() > 3 && n->input(3)) axes = intsOf(n->input(3));
      if (!pads || r < 0) {
        why = at(*n, "has pads computed at run time");
      } else {
        std::vector<int64_t> ax;
        if (n->numInputs() > 3 && n->input(3)) {
          if (!axes)
            why = at(*n, "has axes computed at run time");
          else
            ax = *axes;
        } else {
          ax.resize(static_cast<size_t>(r));
          std::iota(ax.begin(), ax.end(), 0);
        }
        const size_t k = ax.size();
        for (size_t i = 0; i < k && why.empty(); ++i)
          if (normAxis(ax[i], r) == t->axis && pads->size() == 2 * k &&
              ((*pads)[i] != 0 || (*pads)[i + k] != 0))
            why = at(*n, "pads their axis");
        if (pads->size() != 2 * k && why.empty()) why = at(*n, "has malformed pads");
      }
    } else if (op == "Resize" || op == "Upsample") {
      size_t scales_in = op == "Upsample" || opset_ < 11 ? 1 : 2;
      if (n->attr("axes")) why = at(*n, "names its axes");
      auto scale = [&](size_t i) -> std::optional<double> {
        if (i >= n->numInputs() || !n->input(i)) return std::nullopt;
        auto s = constantValue(n->input(i));
        if (!s || s->numel() == 0) return std::nullopt;
        if (t->axis >= s->numel()) return -1.0;
        return elementAsDouble(*s, t->axis);
      };
      auto s = scale(scales_in);
      if (op == "Upsample" && n->attr("scales")) {
        auto v = n->attr("scales")->floats;
        s = t->axis < static_cast<int64_t>(v.size()) ? v[static_cast<size_t>(t->axis)] : -1.0;
      }
      bool has_sizes = op == "Resize" && opset_ >= 11 && n->numInputs() > 3 && n->input(3);
      if (s) {
        if (*s != 1.0) why = at(*n, "scales their axis");
      } else if (has_sizes) {
        auto sizes = intsOf(n->input(3));
        if (!sizes || t->axis >= static_cast<int64_t>(sizes->size()))
          why = at(*n, "has sizes computed at run time");
        else
          shape_edits_.push_back({n, 3, t->axis, n->output(0)});
      } else {
        why = at(*n, "has scales computed at run time");
      }
    }
    if (!why.empty()) {
      for (const Value* v : n->inputs())
        blockValue(v, why);
    } else if (t) {
      passThrough(n, x, t->axis);
    }
  } else if (op == "BatchNormalization" || op == "InstanceNormalization") {
    handled = perChannel(n);
  } else if (isBroadcast(op)) {
    handled = broadcast(n);
  } else if (op == "Concat") {
    handled = concat(n);
  } else if (op == "Split") {
    handled = split(n);
  } else if (op == "Flatten") {
    handled = flatten(n);
  } else if (op == "Reshape") {
    handled = reshape(n);
  } else if (op == "Shape") {
    handled = shapeOf(n);
  } else {
    handled = axisMoving(n);
  }
  if (!handled)
    for (const Value* v : n->inputs())
      blockValue(v, at(*n, "cannot follow a channel removal"));
}

void ChannelDeps::passThrough(Node* n, const Value* in, int64_t out_axis) {
  Track* t = track(in);
  if (!t || !n->output(0)) return;
  std::vector<int32_t> ids = t->ids;
  setTrack(n->output(0), out_axis, std::move(ids));
}

bool ChannelDeps::conv(Node* n) {
  if (n->numInputs() < 2 || !n->output(0)) return false;
  Value* wv = constantRoot(n->input(1));
  if (!wv) return false;
  Tensor w = rootTensor(wv);
  if (w.dims().size() < 3) return false;
  const bool transposed = n->is("ConvTranspose");
  const int64_t g = n->intAttr("group", 1);
  if (g < 1) return false;
  const int64_t cin = transposed ? w.dims()[0] : w.dims()[1] * g;
  const int64_t cout = transposed ? w.dims()[1] * g : w.dims()[0];
  const Value* x = n->input(0);
  const Value* y = n->output(0);
  Track* t = track(x);
  const std::string label = nodeLabel(*n);
  const bool bias = n->numInputs() > 2 && n->input(2);
  // A bias must be a constant with one value per output channel to be sliced with them.
  const bool bias_const = !bias || (constantRoot(n->input(2)) && rankOf(n->input(2)) == 1 &&
                                    dimOf(n->input(2), 0) == cout);
  const std::string excluded = select_.exclusionReason(*n);

  // Depthwise (one input channel per group) is handled below. Other grouped convolutions keep
  // their group count: input channel j of every group is tied to j of the others (so each group
  // keeps the same ones and the weight, which holds one group's inputs, stays rectangular), and
  // likewise output channel i of every group.
  const bool depthwise = !transposed && w.dims()[1] == 1 && cout % g == 0 && cin == g;
  const bool grouped = g > 1 && !depthwise && !transposed && cout % g == 0;
  if (g == 1 || grouped) {
    const int64_t cin_g = cin / g, cout_g = cout / g;
    if (t) {
      if (t->axis != 1 || static_cast<int64_t>(t->ids.size()) != cin) {
        block(t->ids, at(*n, "reads them along another axis"));
      } else {
        for (int64_t j = 0; j < cin_g; ++j)
          for (int64_t gi = 1; gi < g; ++gi)
            unite(t->ids[static_cast<size_t>(j)], t->ids[static_cast<size_t>(gi * cin_g + j)]);
        slices_.push_back({n, 1, transposed ? 0 : 1, x, g > 1 ? cin_g : 0});
      }
    }
    std::string why;
    if (!excluded.empty())
      why = fmt::format("{} [{}]", excluded, label);
    else if (!select_.includes(*n))
      why = fmt::format("{} is not in include-ops [{}]", n->opType(), label);
    else if (!isPrunableFloat(w.dtype()))
      why = fmt::format("its weight is {} [{}]", dtypeName(w.dtype()), label);
    else if (!bias_const)
      why = at(*n, "has a bias that is not a constant per channel");
    else if (w.numel() < min_size_)
      why = fmt::format("its weight has fewer than min-size={} elements [{}]", min_size_, label);
    if (!why.empty()) rejected_.emplace_back(n, why);
    int32_t first = fresh(cout, why);
    std::vector<int32_t> ids(static_cast<size_t>(cout));
    std::iota(ids.begin(), ids.end(), first);
    if (why.empty()) {
      for (int64_t i = 0; i < cout_g; ++i)
        for (int64_t gi = 1; gi < g; ++gi)
          unite(first + static_cast<int32_t>(i), first + static_cast<int32_t>(gi * cout_g + i));
      sources_.push_back({n, cout, first});
      terms_.push_back({ImportanceTerm::Kind::Weight, w, transposed ? 1 : 0, ids});
      slices_.push_back({n, 1, transposed ? 1 : 0, y});
      if (bias) slices_.push_back({n, 2, 0, y});
    }
    setTrack(y, 1, std::move(ids));
    return true;
  }

  // Depthwise: output channel o reads input channel o / mult, so it goes with it; the group
  // count follows the input's channels.
  if (!depthwise) {
    std::string why =
        fmt::format("a grouped {} needs whole groups [{}: group={}]", n->opType(), label, g);
    if (t) block(t->ids, why);
    int32_t first = fresh(cout, why);
    std::vector<int32_t> ids(static_cast<size_t>(cout));
    std::iota(ids.begin(), ids.end(), first);
    setTrack(y, 1, std::move(ids));
    return true;
  }
  const int64_t mult = cout / g;
  std::string why;
  if (!t)
    why = at(*n, "is a depthwise convolution of channels that stay");
  else if (t->axis != 1 || static_cast<int64_t>(t->ids.size()) != cin)
    why = at(*n, "reads them along another axis");
  else if (!excluded.empty())
    why = fmt::format("{} [{}]", excluded, label);
  else if (!isPrunableFloat(w.dtype()))
    why = fmt::format("its weight is {} [{}]", dtypeName(w.dtype()), label);
  else if (!bias_const)
    why = at(*n, "has a bias that is not a constant per channel");
  if (!t || (t->axis != 1 || static_cast<int64_t>(t->ids.size()) != cin)) {
    if (t) block(t->ids, why);
    int32_t first = fresh(cout, why);
    std::vector<int32_t> ids(static_cast<size_t>(cout));
    std::iota(ids.begin(), ids.end(), first);
    setTrack(y, 1, std::move(ids));
    return true;
  }
  if (!why.empty()) block(t->ids, why);
  std::vector<int32_t> ids;
  ids.reserve(static_cast<size_t>(cout));
  for (int32_t id : t->ids)
    for (int64_t k = 0; k < mult; ++k)
      ids.push_back(id);
  if (why.empty()) {
    slices_.push_back({n, 1, 0, y});
    if (bias) slices_.push_back({n, 2, 0, y});
    group_edits_.push_back({n, x});
    terms_.push_back({ImportanceTerm::Kind::Weight, w, 0, ids});
  }
  setTrack(y, 1, std::move(ids));
  return true;
}

bool ChannelDeps::gemmOrMatMul(Node* n) {
  if (n->numInputs() < 2 || !n->output(0)) return false;
  const bool gemm = n->is("Gemm");
  if (!gemm && !constantRoot(n->input(1))) return false;  // activations, or a left weight
  Value* wv = constantRoot(n->input(1));
  if (!wv) return false;
  Tensor w = rootTensor(wv);
  if (w.dims().size() != 2) return false;
  const bool trans_b = gemm && n->intAttr("transB", 0) != 0;
  const int64_t k = trans_b ? w.dims()[1] : w.dims()[0];
  const int64_t cout = trans_b ? w.dims()[0] : w.dims()[1];
  const Value* a = n->input(0);
  const Value* y = n->output(0);
  const std::string label = nodeLabel(*n);
  const int64_t rank_a = rankOf(a);
  if (Track* t = track(a)) {
    int64_t red = gemm ? (n->intAttr("transA", 0) ? 0 : 1) : rank_a - 1;
    if (t->axis != red || static_cast<int64_t>(t->ids.size()) != k)
      block(t->ids, at(*n, "reads them along another axis"));
    else
      slices_.push_back({n, 1, trans_b ? 1 : 0, a});
  }
  int64_t out_axis = gemm ? 1 : std::max<int64_t>(rankOf(y), std::max<int64_t>(rank_a, 1)) - 1;
  if (!gemm && rankOf(y) < 0 && rank_a < 0) out_axis = -1;
  std::string why;
  const std::string excluded = select_.exclusionReason(*n);
  if (out_axis < 0)
    why = at(*n, "has an output of unknown rank");
  else if (!excluded.empty())
    why = fmt::format("{} [{}]", excluded, label);
  else if (!select_.includes(*n))
    why = fmt::format("{} is not in include-ops [{}]", n->opType(), label);
  else if (!isPrunableFloat(w.dtype()))
    why = fmt::format("its weight is {} [{}]", dtypeName(w.dtype()), label);
  else if (w.numel() < min_size_)
    why = fmt::format("its weight has fewer than min-size={} elements [{}]", min_size_, label);
  bool bias_slice = false;
  int64_t bias_axis = 0;
  if (gemm && why.empty() && n->numInputs() > 2 && n->input(2)) {
    const Value* c = n->input(2);
    int64_t rc = rankOf(c);
    int64_t last = rc > 0 ? dimOf(c, rc - 1) : 1;
    if (rc < 0 || last < 0)
      why = at(*n, "has a C input of unknown shape");
    else if (last != 1 && !constantRoot(const_cast<Value*>(c)))
      why = at(*n, "has a C input that is not constant");
    else if (last != 1) {
      bias_slice = true;
      bias_axis = rc - 1;
    }
  }
  if (!why.empty()) rejected_.emplace_back(n, why);
  int32_t first = fresh(cout, why);
  std::vector<int32_t> ids(static_cast<size_t>(cout));
  std::iota(ids.begin(), ids.end(), first);
  if (why.empty()) {
    sources_.push_back({n, cout, first});
    terms_.push_back({ImportanceTerm::Kind::Weight, w, trans_b ? 0 : 1, ids});
    slices_.push_back({n, 1, trans_b ? 0 : 1, y});
    if (bias_slice) slices_.push_back({n, 2, bias_axis, y});
  }
  if (out_axis >= 0) setTrack(y, out_axis, std::move(ids));
  return true;
}

bool ChannelDeps::perChannel(Node* n) {
  const Value* x = n->input(0);
  Track* t = track(x);
  if (!t) return false;
  const std::string label = nodeLabel(*n);
  const size_t params = n->is("BatchNormalization") ? 5 : 3;
  std::string why;
  if (t->axis != 1) why = at(*n, "normalizes along another axis");
  for (size_t i = 1; i < params && why.empty(); ++i) {
    auto p = i < n->numInputs() ? constantValue(n->input(i)) : std::nullopt;
    if (!p || p->dims().size() != 1 || p->numel() != static_cast<int64_t>(t->ids.size()))
      why = at(*n, "has parameters that are not constant per channel");
  }
  for (size_t i = 1; i < n->numOutputs() && why.empty(); ++i)
    if (outputUsed(n, i)) why = at(*n, "has its running statistics in use");
  for (size_t i = 1; i < n->numInputs() && why.empty(); ++i)
    if (track(n->input(i))) why = at(*n, "reads them as a parameter");
  if (!why.empty()) {
    block(t->ids, why);
    return true;
  }
  for (size_t i = 1; i < params; ++i)
    slices_.push_back({n, i, 0, n->output(0)});
  terms_.push_back({ImportanceTerm::Kind::BnScale, *constantValue(n->input(1)), 0, t->ids});
  passThrough(n, x, 1);
  return true;
}

bool ChannelDeps::broadcast(Node* n) {
  const Value* y = n->output(0);
  int64_t out_rank = rankOf(y);
  for (const Value* v : n->inputs())
    out_rank = std::max(out_rank, rankOf(v));
  const std::string label = nodeLabel(*n);
  auto blockAll = [&](const std::string& why) {
    for (const Value* v : n->inputs())
      blockValue(v, why);
    return true;
  };
  if (!y || out_rank < 0) return blockAll(at(*n, "has an output of unknown rank"));
  int64_t axis = -1;
  const Track* first = nullptr;
  for (const Value* v : n->inputs()) {
    const Track* t = track(v);
    if (!t) continue;
    int64_t r = rankOf(v);
    if (r < 0) return blockAll(at(*n, "has an input of unknown rank"));
    int64_t a = t->axis + (out_rank - r);
    if (axis >= 0 && a != axis) return blockAll(at(*n, "combines channels of different axes"));
    axis = a;
    if (!first) first = t;
  }
  const int64_t len = static_cast<int64_t>(first->ids.size());
  std::vector<int32_t> ids = first->ids;
  std::vector<Slice> params;
  for (size_t i = 0; i < n->numInputs(); ++i) {
    const Value* v = n->input(i);
    if (!v) continue;
    if (const Track* t = track(v)) {
      if (static_cast<int64_t>(t->ids.size()) != len)
        return blockAll(at(*n, "combines channels of different counts"));
      for (size_t p = 0; p < ids.size(); ++p)
        unite(ids[p], t->ids[p]);
      continue;
    }
    int64_t r = rankOf(v);
    if (r < 0) return blockAll(at(*n, "has an input of unknown rank"));
    int64_t a = axis - (out_rank - r);
    if (a < 0) continue;  // broadcast along the channels
    int64_t d = dimOf(v, a);
    if (d == 1) continue;
    if (d == len && constantRoot(const_cast<Value*>(v))) {
      params.push_back({n, i, a, y});
      continue;
    }
    return blockAll(fmt::format("{} combines them with channels that stay [{}: '{}']", n->opType(),
                                label, v->name()));
  }
  slices_.insert(slices_.end(), params.begin(), params.end());
  setTrack(y, axis, std::move(ids));
  return true;
}

bool ChannelDeps::concat(Node* n) {
  const Value* y = n->output(0);
  int64_t rank = rankOf(y);
  const std::string label = nodeLabel(*n);
  auto blockAll = [&](const std::string& why) {
    for (const Value* v : n->inputs())
      blockValue(v, why);
    return true;
  };
  if (rank < 0) return blockAll(at(*n, "has an output of unknown rank"));
  const int64_t c = normAxis(n->intAttr("axis", 0), rank);
  int64_t axis = -1;
  for (const Value* v : n->inputs())
    if (const Track* t = track(v)) {
      if (axis >= 0 && t->axis != axis) return blockAll(at(*n, "joins channels of different axes"));
      axis = t->axis;
    }
  std::vector<int32_t> ids;
  if (axis == c) {
    for (const Value* v : n->inputs()) {
      if (const Track* t = track(v)) {
        ids.insert(ids.end(), t->ids.begin(), t->ids.end());
        continue;
      }
      int64_t d = dimOf(v, c);
      if (d < 0) return blockAll(at(*n, "joins them with a tensor of unknown size"));
      int32_t f = fresh(
          d, fmt::format("Concat joins them with channels that stay [{}: '{}']", label, v->name()));
      for (int64_t i = 0; i < d; ++i)
        ids.push_back(f + static_cast<int32_t>(i));
    }
    setTrack(y, c, std::move(ids));
    return true;
  }
  for (const Value* v : n->inputs()) {
    const Track* t = track(v);
    if (!t)
      return blockAll(
          fmt::format("Concat joins them with channels that stay [{}: '{}']", label, v->name()));
    if (ids.empty()) {
      ids = t->ids;
      continue;
    }
    if (t->ids.size() != ids.size()) return blockAll(at(*n, "joins channels of different counts"));
    for (size_t p = 0; p < ids.size(); ++p)
      unite(ids[p], t->ids[p]);
  }
  setTrack(y, axis, std::move(ids));
  return true;
}

bool ChannelDeps::split(Node* n) {
  const Value* x = n->input(0);
  Track* t = track(x);
  const std::string label = nodeLabel(*n);
  for (size_t i = 1; i < n->numInputs(); ++i)
    if (track(n->input(i))) return false;
  if (!t) return false;
  int64_t rank = rankOf(x);
  if (rank < 0) return false;
  const int64_t s = normAxis(n->intAttr("axis", 0), rank);
  if (t->axis != s) {
    for (const Value* out : n->outputs())
      if (out) setTrack(out, t->axis, t->ids);
    return true;
  }
  const int64_t len = static_cast<int64_t>(t->ids.size());
  std::vector<int64_t> sizes;
  if (opset_ >= 13 && n->numInputs() > 1 && n->input(1)) {
    auto v = intsOf(n->input(1));
    if (!v) {
      block(t->ids, at(*n, "has sizes computed at run time"));
      return true;
    }
    sizes = *v;
  } else if (opset_ < 13 && n->attr("split")) {
    sizes = n->intsAttr("split");
  } else {
    int64_t parts = n->attr("num_outputs") ? n->intAttr("num_outputs", 1)
                                           : static_cast<int64_t>(n->numOutputs());
    if (parts < 1 || len % parts) {
      block(t->ids, at(*n, "splits them unevenly"));
      return true;
    }
    sizes.assign(static_cast<size_t>(parts), len / parts);
  }
  if (sizes.size() != n->numOutputs() ||
      std::accumulate(sizes.begin(), sizes.end(), int64_t{0}) != len) {
    block(t->ids, at(*n, "has sizes that do not add up"));
    return true;
  }
  int64_t offset = 0;
  std::vector<int32_t> all = t->ids;
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::vector<int32_t> part(all.begin() + offset, all.begin() + offset + sizes[i]);
    if (!n->output(i)) {
      block(part, at(*n, "has an output that is not produced"));
    } else {
      // Each part keeps at least one channel and rounds on its own: it is its own partition.
      split_parts_.push_back(part);
      setTrack(n->output(i), s, std::move(part));
    }
    offset += sizes[i];
  }
  split_edits_.push_back(n);
  return true;
}

bool ChannelDeps::flatten(Node* n) {
  const Value* x = n->input(0);
  Track* t = track(x);
  if (!t) return false;
  const std::string label = nodeLabel(*n);
  int64_t rank = rankOf(x);
  if (rank < 0) return false;
  const int64_t f = normAxis(n->intAttr("axis", 1), rank);
  int64_t inner = 1, outer = 1;
  bool known = t->axis >= f;
  for (int64_t d = f; d < rank && known; ++d) {
    if (d == t->axis) continue;
    int64_t v = dimOf(x, d);
    if (v < 0) known = false;
    (d < t->axis ? outer : inner) *= std::max<int64_t>(v, 1);
  }
  if (!known) {
    block(t->ids, at(*n, "merges them with dims of unknown size"));
    return true;
  }
  std::vector<int32_t> ids;
  ids.reserve(static_cast<size_t>(outer * inner) * t->ids.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int32_t id : t->ids)
      for (int64_t i = 0; i < inner; ++i)
        ids.push_back(id);
  setTrack(n->output(0), 1, std::move(ids));
  return true;
}

namespace {

// A product of dims: the known part, and the names of the symbolic ones.
struct DimProduct {
  int64_t known = 1;
  std::multiset<std::string> symbols;
  bool unknown = false;
  bool operator==(const DimProduct& o) const {
    return !unknown && !o.unknown && known == o.known && symbols == o.symbols;
  }
  DimProduct& operator*=(const DimProduct& o) {
    known *= o.known;
    symbols.insert(o.symbols.begin(), o.symbols.end());
    unknown = unknown || o.unknown;
    return *this;
  }
  bool isConstant(int64_t v) const { return !unknown && symbols.empty() && known == v; }
};

DimProduct dimProduct(const Dim& d) {
  DimProduct p;
  if (d.isKnown())
    p.known = d.value;
  else if (d.kind == Dim::Kind::Param)
    p.symbols.insert(d.param);
  else
    p.unknown = true;
  return p;
}

std::vector<DimProduct> dimProducts(const Shape& s) {
  std::vector<DimProduct> out;
  for (const Dim& d : s)
    out.push_back(dimProduct(d));
  return out;
}

DimProduct productOf(const std::vector<DimProduct>& d, int64_t from, int64_t to) {
  DimProduct p;
  for (int64_t i = from; i < to; ++i)
    p *= d[static_cast<size_t>(i)];
  return p;
}

// The output dims of a Reshape: worked out from a constant target when there is one (shape
// inference names the -1 next to a symbolic batch with a fresh symbol, where `x.view(-1, 512)`
// on [N, 512, 1, 1] clearly keeps N), else as inferred.
std::vector<DimProduct> reshapeDims(const std::vector<DimProduct>& in, const Shape* inferred,
                                    const std::optional<std::vector<int64_t>>& target) {
  std::vector<DimProduct> out;
  if (!target) {
    if (inferred) out = dimProducts(*inferred);
    return out;
  }
  out.assign(target->size(), DimProduct());
  int64_t rest = -1;
  DimProduct others;
  for (size_t j = 0; j < target->size(); ++j) {
    int64_t v = (*target)[j];
    if (v > 0) {
      out[j].known = v;
    } else if (v == 0 && j < in.size()) {
      out[j] = in[j];
    } else if (v == -1 && rest < 0) {
      rest = static_cast<int64_t>(j);
      continue;
    } else {
      out[j].unknown = true;
    }
    others *= out[j];
  }
  if (rest >= 0) {
    DimProduct all = productOf(in, 0, static_cast<int64_t>(in.size()));
    DimProduct& r = out[static_cast<size_t>(rest)];
    r.unknown = all.unknown || others.unknown || others.known == 0 || all.known % others.known;
    for (const auto& sym : others.symbols) {
      auto it = all.symbols.find(sym);
      if (it == all.symbols.end()) {
        r.unknown = true;
        break;
      }
      all.symbols.erase(it);
    }
    if (!r.unknown) {
      r.known = all.known / others.known;
      r.symbols = all.symbols;
    }
  }
  return out;
}

}  // namespace

bool ChannelDeps::reshape(Node* n) {
  const Value* x = n->input(0);
  Track* t = track(x);
  const Value* y = n->output(0);
  const std::string label = nodeLabel(*n);
  if (!t || track(n->input(1))) return false;
  auto blockIt = [&](const std::string& what) {
    block(t->ids, at(*n, what));
    return true;
  };
  const Shape* in_shape = shapeOfValue(x);
  if (!in_shape) return blockIt("has shapes that are not known");
  const std::vector<DimProduct> in = dimProducts(*in_shape);
  const std::vector<DimProduct> out = reshapeDims(in, shapeOfValue(y), intsOf(n->input(1)));
  const int64_t r = static_cast<int64_t>(in.size()), q = static_cast<int64_t>(out.size());
  const int64_t a = t->axis, len = static_cast<int64_t>(t->ids.size());
  if (q == 0) return blockIt("has shapes that are not known");
  // The channel axis lands inside one output axis b that merges input dims [f, e) around it:
  // index = (outer * len + c) * inner + i, so each channel repeats `inner` times, `outer` times
  // over. f = a = e - 1 is a plain copy of the axis.
  int64_t b = -1, outer = 1, inner = 1;
  std::vector<int32_t> ids;
  for (int64_t f = a; f >= 0 && b < 0; --f) {
    if (f < a && !in[static_cast<size_t>(f)].symbols.empty()) break;
    DimProduct pre = productOf(in, 0, f);
    for (int64_t j = 0; j < q && b < 0; ++j) {
      if (!(productOf(out, 0, j) == pre)) continue;
      const DimProduct& eb = out[static_cast<size_t>(j)];
      if (eb.unknown || !eb.symbols.empty()) break;
      DimProduct span = productOf(in, f, a + 1);
      for (int64_t e = a + 1; e <= r; ++e) {
        if (e > a + 1) span *= in[static_cast<size_t>(e - 1)];
        if (!span.symbols.empty() || span.unknown || span.known > eb.known) break;
        if (span.known == eb.known) {
          b = j;
          outer = productOf(in, f, a).known;
          inner = productOf(in, a + 1, e).known;
          break;
        }
      }
    }
  }
  if (b >= 0) {
    ids.reserve(static_cast<size_t>(outer * len * inner));
    for (int64_t o = 0; o < outer; ++o)
      for (int32_t id : t->ids)
        for (int64_t i = 0; i < inner; ++i)
          ids.push_back(id);
  } else {
    // The channel axis split in two (a Flatten undone): channels must come in blocks of k.
    DimProduct pre = productOf(in, 0, a);
    for (int64_t j = 0; j + 1 < q && b < 0; ++j) {
      if (!(productOf(out, 0, j) == pre)) continue;
      const DimProduct& eb = out[static_cast<size_t>(j)];
      const DimProduct& next = out[static_cast<size_t>(j + 1)];
      if (eb.unknown || !eb.symbols.empty() || next.unknown || !next.symbols.empty()) break;
      if (eb.known * next.known != len) break;
      const int64_t k = next.known;
      for (int64_t p = 0; p < len; ++p)
        if (t->ids[static_cast<size_t>(p)] != t->ids[static_cast<size_t>(p - p % k)])
          return blockIt("splits them across dims");
      for (int64_t p = 0; p < len; p += k)
        ids.push_back(t->ids[static_cast<size_t>(p)]);
      b = j;
    }
    if (b < 0) return blockIt("moves them across other dims");
  }
  // The target shape must not pin the channel count, or must be rewritten with it.
  Node* holder = n;
  size_t holder_input = 1;
  int64_t index = b;
  auto shape = intsOf(n->input(1));
  if (!shape) {
    Node* c = n->input(1) ? n->input(1)->producer() : nullptr;
    if (!c || !c->is("Concat")) return blockIt("has a target shape computed at run time");
    int64_t offset = 0;
    for (size_t i = 0; i < c->numInputs() && !shape; ++i) {
      int64_t piece = dimOf(c->input(i), 0);
      if (piece < 0) return blockIt("has a target shape computed at run time");
      if (b < offset + piece) {
        shape = intsOf(c->input(i));
        if (!shape) return blockIt("has a target shape computed at run time");
        holder = c;
        holder_input = i;
        index = b - offset;
      }
      offset += piece;
    }
    if (!shape) return blockIt("has a target shape computed at run time");
  }
  if (index >= static_cast<int64_t>(shape->size())) return blockIt("has a malformed target");
  const int64_t target = (*shape)[static_cast<size_t>(index)];
  if (target == 0 && !(b == a && static_cast<int64_t>(ids.size()) == len))
    return blockIt("copies a dim it cannot follow");
  if (target > 0) {
    if (holder != n && holder->output(0)->uses().size() != 1)
      return blockIt("shares its target shape with other nodes");
    shape_edits_.push_back({holder, holder_input, index, y});
  }
  setTrack(y, b, std::move(ids));
  return true;
}

bool ChannelDeps::shapeOf(Node* n) {
  const Value* x = n->input(0);
  Track* t = track(x);
  if (!t) return false;
  int64_t rank = rankOf(x);
  if (rank < 0) return false;
  int64_t start = normAxis(n->intAttr("start", 0), rank);
  int64_t end = n->attr("end") ? normAxis(n->intAttr("end", rank), rank) : rank;
  if (t->axis < start || t->axis >= end) return true;
  // Only gathers of other dims (x.size(0) for a batch) are safe.
  for (const Use& u : n->output(0)->uses()) {
    auto idx = u.user->is("Gather") && u.index == 0 && u.user->intAttr("axis", 0) == 0
                   ? intsOf(u.user->input(1))
                   : std::nullopt;
    bool ok = idx.has_value();
    for (int64_t i : idx.value_or(std::vector<int64_t>{}))
      ok = ok && normAxis(i, end - start) + start != t->axis;
    if (!ok) {
      block(t->ids, at(*n, "reads their count"));
      return true;
    }
  }
  if (n->output(0)->isGraphOutput()) block(t->ids, at(*n, "reads their count"));
  return true;
}

bool ChannelDeps::axisMoving(Node* n) {
  const Value* x = n->input(0);
  Track* t = track(x);
  const std::string& op = n->opType();
  const std::string label = nodeLabel(*n);
  for (size_t i = 1; i < n->numInputs(); ++i)
    if (track(n->input(i))) return false;
  if (!t || !n->output(0)) return false;
  const int64_t rank = rankOf(x);
  if (rank < 0) return false;
  const int64_t a = t->axis;
  auto blockIt = [&](const std::string& what) {
    block(t->ids, at(*n, what));
    return true;
  };
  // Axes from an attribute (older opsets) or a constant input.
  auto axesOf = [&](size_t input) -> std::optional<std::vector<int64_t>> {
    if (n->attr("axes")) return n->intsAttr("axes");
    if (input < n->numInputs() && n->input(input)) return intsOf(n->input(input));
    return std::vector<int64_t>{};
  };
  if (op == "Transpose") {
    std::vector<int64_t> perm = n->intsAttr("perm");
    if (perm.empty())
      for (int64_t i = rank - 1; i >= 0; --i)
        perm.push_back(i);
    for (size_t j = 0; j < perm.size(); ++j)
      if (normAxis(perm[j], rank) == a) {
        passThrough(n, x, static_cast<int64_t>(j));
        return true;
      }
    return blockIt("has a malformed perm");
  }
  if (op == "Unsqueeze") {
    auto axes = axesOf(1);
    if (!axes) return blockIt("has axes computed at run time");
    const int64_t out_rank = rank + static_cast<int64_t>(axes->size());
    std::set<int64_t> ins;
    for (int64_t v : *axes)
      ins.insert(normAxis(v, out_rank));
    int64_t src = 0;
    for (int64_t j = 0; j < out_rank; ++j) {
      if (ins.count(j)) continue;
      if (src++ == a) {
        passThrough(n, x, j);
        return true;
      }
    }
    return blockIt("has malformed axes");
  }
  if (op == "Squeeze" || isReduce(op)) {
    std::optional<std::vector<int64_t>> axes;
    if (op == "ArgMax" || op == "ArgMin")
      axes = std::vector<int64_t>{n->intAttr("axis", 0)};
    else
      axes = axesOf(1);
    if (!axes) return blockIt("has axes computed at run time");
    std::set<int64_t> gone;
    for (int64_t v : *axes)
      gone.insert(normAxis(v, rank));
    bool keep = isReduce(op) && n->intAttr("keepdims", 1) != 0;
    if (gone.empty()) {
      if (isReduce(op) && n->intAttr("noop_with_empty_axes", 0)) {
        passThrough(n, x, a);
        return true;
      }
      if (op == "Squeeze") {
        const Shape* s = shapeOfValue(x);
        if (!s) return blockIt("has axes that are not known");
        for (int64_t i = 0; i < rank; ++i)
          if (!(*s)[static_cast<size_t>(i)].isKnown() || (*s)[static_cast<size_t>(i)].value == 1)
            gone.insert(i);
      } else {
        return blockIt("reduces over them");
      }
    }
    if (gone.count(a)) return blockIt(isReduce(op) ? "reduces over them" : "removes their axis");
    int64_t shift = 0;
    for (int64_t g : gone)
      shift += g < a;
    passThrough(n, x, keep ? a : a - shift);
    return true;
  }
  if (op == "Gather") {
    const int64_t g = normAxis(n->intAttr("axis", 0), rank);
    if (g == a) return blockIt("picks among them");
    int64_t q = rankOf(n->input(1));
    if (q < 0) return blockIt("has indices of unknown rank");
    passThrough(n, x, a < g ? a : a + q - 1);
    return true;
  }
  if (op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") {
    int64_t axis = normAxis(n->intAttr("axis", opset_ >= 13 ? -1 : 1), rank);
    if (opset_ >= 13 ? a == axis : a >= axis) return blockIt("normalizes over them");
    passThrough(n, x, a);
    return true;
  }
  if (op == "LayerNormalization") {
    int64_t axis = normAxis(n->intAttr("axis", -1), rank);
    if (a >= axis) return blockIt("normalizes over them");
    if (outputUsed(n, 1) || outputUsed(n, 2)) return blockIt("has its statistics in use");
    passThrough(n, x, a);
    return true;
  }
  if (op == "Slice") {
    std::optional<std::vector<int64_t>> axes;
    if (opset_ < 10) {
      axes = n->intsAttr("axes");
      if (axes->empty())
        for (size_t i = 0; i < n->intsAttr("starts").size(); ++i)
          axes->push_back(static_cast<int64_t>(i));
    } else if (n->numInputs() > 3 && n->input(3)) {
      axes = intsOf(n->input(3));
    } else {
      int64_t k = dimOf(n->input(1), 0);
      if (k < 0) return blockIt("has starts of unknown length");
      axes = std::vector<int64_t>();
      for (int64_t i = 0; i < k; ++i)
        axes->push_back(i);
    }
    if (!axes) return blockIt("has axes computed at run time");
    for (int64_t v : *axes)
      if (normAxis(v, rank) == a) return blockIt("slices them");
    passThrough(n, x, a);
    return true;
  }
  return false;
}

}  // namespace mopt
