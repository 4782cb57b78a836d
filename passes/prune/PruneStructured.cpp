// prune-structured: dependency groups from ChannelDeps, an importance per channel, a choice of
// channels to remove per partition (uniform) or over the whole model (global), then the rewrite.
//
// A group is a set of layers whose output channels are tied (a residual chain, the branches of
// a Concat read by one consumer, ...). Inside a group, a unit is one class of tied channels; its
// importance sums over every layer it spans: the L1 or L2 norm of each layer's output slice
// (filters of a Conv, columns of a MatMul, rows of a depthwise Conv), or |gamma| of the
// BatchNormalizations it passes through (bn-scale). Units are partitioned by the set of layers
// (and Split parts) they touch, so that every partition is a block of channels of the same
// layers: ratio and round-to apply per partition, and each keeps at least one channel.
#include "passes/prune/PruneStructured.h"

#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "passes/common/Constants.h"
#include "passes/prune/ChannelDeps.h"
#include "passes/prune/PruneCommon.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <tuple>

namespace mopt {

const PassInfo& PruneStructuredPass::info() {
  static const PassInfo i{
      "prune-structured", "prune",
      "Remove whole channels from Conv/Gemm/MatMul and everything tied to them",
      "Removes output channels (filters, hidden units) from Conv, ConvTranspose, Gemm and MatMul "
      "with a constant weight and rewrites what reads them, so tensors really shrink: the "
      "consumers' input channels, biases, BatchNormalization/InstanceNormalization parameters, "
      "per-channel constants of Add/Mul, depthwise convolutions (their group count follows), "
      "grouped convolutions (they keep their groups: channel j of every group goes together), "
      "Concat offsets, Split sizes, Flatten -> Gemm (a block of spatial positions per channel), "
      "Reshape/Transpose/Squeeze/Unsqueeze/Slice/pooling where the channel axis can be followed, "
      "and Reshape target shapes. Channels tied by residual Add/Mul or Concat form dependency "
      "groups that are pruned identically (Torch-Pruning's DepGraph, on the IR). Graph inputs "
      "and outputs keep their shapes; a group that cannot be pruned safely (a graph output, an "
      "op that mixes channels, a grouped ConvTranspose, ...) is kept and the report says why. "
      "Importance: l1 or l2 norm of each channel's weights summed over the group, bn-scale "
      "(|gamma| of the BatchNormalizations the channel passes through; groups without one use "
      "l1), or random (a seeded baseline). scope=layer removes `ratio` of every partition of "
      "tied channels; scope=global ranks all channels together (importance normalised by its "
      "group's mean) and removes `ratio` of them, at most max-ratio of any partition. round-to "
      "keeps channel counts multiples of N. overrides (NODE=RATIO, or re:REGEX=RATIO) set the "
      "ratio of the groups holding those layers. Shapes are re-inferred and checked afterwards.",
      [] {
        auto o = pruneCommonOptions("Conv,ConvTranspose,Gemm,MatMul",
                                    "op types whose output channels may be removed (Conv, "
                                    "ConvTranspose, Gemm, MatMul)");
        o.insert(o.begin(),
                 {{"ratio",
                   OptionType::Float,
                   "0.5",
                   "fraction of the output channels to remove, in [0, 1)",
                   {},
                   false},
                  {"scope",
                   OptionType::Enum,
                   "layer",
                   "layer: the ratio in every group; global: over all channels together",
                   {"layer", "global"},
                   false},
                  {"importance",
                   OptionType::Enum,
                   "l1",
                   "how channels are ranked",
                   {"l1", "l2", "bn-scale", "random"},
                   false},
                  {"round-to",
                   OptionType::Int,
                   "1",
                   "channel counts stay multiples of this (e.g. 8 for SIMD-friendly widths)",
                   {},
                   false},
                  {"max-ratio",
                   OptionType::Float,
                   "0.9",
                   "scope=global: the largest fraction of any partition to remove",
                   {},
                   false},
                  {"overrides",
                   OptionType::StringList,
                   "",
                   "per-layer ratios: NODE=RATIO or re:REGEX=RATIO (0 keeps the layer's group)",
                   {},
                   false},
                  {"seed", OptionType::Int, "0", "seed of importance=random", {}, false}});
        return o;
      }()};
  return i;
}

namespace {

const std::vector<std::string> kKnownOps = {"Conv", "ConvTranspose", "Gemm", "MatMul"};

struct Override {
  std::string text;
  bool regex = false;
  std::string name;
  std::regex re;
  double ratio = 0;
};

std::vector<Override> parseOverrides(const std::vector<std::string>& items) {
  std::vector<Override> out;
  for (const auto& item : items) {
    auto eq = item.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      fail(ErrorKind::Usage, "overrides entry '{}' must be NODE=RATIO or re:REGEX=RATIO", item);
    Override o;
    o.text = item;
    std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    try {
      size_t used = 0;
      o.ratio = std::stod(value, &used);
      if (used != value.size()) throw std::invalid_argument(value);
    } catch (const std::exception&) {
      fail(ErrorKind::Usage, "overrides entry '{}': '{}' is not a number", item, value);
    }
    if (!(o.ratio >= 0 && o.ratio < 1))
      fail(ErrorKind::Usage, "overrides entry '{}': the ratio must be in [0, 1)", item);
    if (key.rfind("re:", 0) == 0) {
      o.regex = true;
      try {
        o.re = std::regex(key.substr(3));
      } catch (const std::regex_error& e) {
        fail(ErrorKind::Usage, "overrides entry '{}' is not a valid regular expression: {}", item,
             e.what());
      }
    } else {
      o.name = key;
    }
    out.push_back(std::move(o));
  }
  return out;
}

void checkOptions(const OptionValues& o) {
  checkedFraction(o, "ratio", 0.0, 1.0);
  checkedFraction(o, "max-ratio", 0.0, 1.0);
  if (o.getInt("round-to") < 1)
    fail(ErrorKind::Usage, "round-to must be >= 1, not {}", o.getInt("round-to"));
  parseOverrides(o.getList("overrides"));
  pruneSelectionFrom(o, kKnownOps);
}

// splitmix64: a portable, seeded hash for importance=random.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Per position along `axis`: the sum of |x| (or x^2) over the rest of the tensor.
std::vector<double> sliceNorms(const Tensor& t, int64_t axis, bool squared) {
  const auto& d = t.dims();
  int64_t outer = 1, len = d[static_cast<size_t>(axis)], inner = 1;
  for (size_t i = 0; i < d.size(); ++i) {
    if (static_cast<int64_t>(i) < axis) outer *= d[i];
    if (static_cast<int64_t>(i) > axis) inner *= d[i];
  }
  std::vector<double> out(static_cast<size_t>(len), 0.0);
  const bool f32 = t.dtype() == DType::F32;
  const float* p = f32 ? t.data<float>() : nullptr;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < len; ++c) {
      double s = 0;
      int64_t base = (o * len + c) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        double x = f32 ? p[base + i] : elementAsDouble(t, base + i);
        s += squared ? x * x : std::fabs(x);
      }
      out[static_cast<size_t>(c)] += s;
    }
  return out;
}

int64_t keepCount(int64_t c, double ratio, int64_t round_to) {
  int64_t keep = c - static_cast<int64_t>(std::floor(ratio * static_cast<double>(c) + 1e-6));
  keep = (keep + round_to - 1) / round_to * round_to;
  return std::max<int64_t>(1, std::min(keep, c));
}

// Output channels, weight + bias elements of a layer (Conv/ConvTranspose/Gemm/MatMul).
std::pair<int64_t, int64_t> layerSize(const Node& n) {
  auto w = constantValue(n.input(1));
  if (!w || w->dims().size() < 2) return {0, 0};
  const auto& d = w->dims();
  int64_t ch = n.is("Conv")            ? d[0]
               : n.is("ConvTranspose") ? d[1] * n.intAttr("group", 1)
               : n.is("Gemm")          ? (n.intAttr("transB", 0) ? d[0] : d[1])
                                       : d[1];
  int64_t params = w->numel();
  if (n.numInputs() > 2 && n.input(2) && !n.is("MatMul"))
    if (auto b = constantValue(n.input(2))) params += b->numel();
  return {ch, params};
}

// The part of a ChannelDeps reason that says what happens, without where ("Softmax normalizes
// over them [head/softmax]" -> "Softmax normalizes over them"): notes group layers by it.
std::string generic(const std::string& why) {
  auto b = why.rfind(" [");
  return b == std::string::npos ? why : why.substr(0, b);
}

// Re-infers every shape of a copy from scratch and compares with the rewrite's own.
void checkShapes(const Model& m) {
  Model copy = cloneModel(m);
  for (Node* n : copy.graph->nodes())
    for (Value* v : n->outputs())
      if (v && !v->isGraphOutput()) v->setType(Type());
  inferShapesOnnx(copy);
  std::map<std::string, const Value*> ours;
  for (const Node* n : m.graph->nodes())
    for (const Value* v : n->outputs())
      if (v) ours[v->name()] = v;
  for (const Node* n : copy.graph->nodes())
    for (const Value* v : n->outputs()) {
      if (!v || !v->type().isTensor() || !v->type().shape()) continue;
      auto it = ours.find(v->name());
      if (it == ours.end() || !it->second->type().shape()) continue;
      const Shape& a = *it->second->type().shape();
      const Shape& b = *v->type().shape();
      bool differ = a.size() != b.size();
      for (size_t i = 0; i < a.size() && !differ; ++i)
        differ = a[i].isKnown() && b[i].isKnown() && a[i].value != b[i].value;
      if (differ)
        fail(ErrorKind::Pass,
             "shapes do not add up after pruning: '{}' is {} but shape inference gives {} "
             "(please report this model)",
             v->name(), shapeToString(a), shapeToString(b));
    }
}

// The units of an analysis (classes of tied channels that touch a source), in order of first
// appearance, with the layers and Split parts each touches and the group each belongs to.
struct Units {
  std::vector<int32_t> of;    // root id -> unit, or -1
  std::vector<int32_t> root;  // unit -> root id
  std::vector<std::set<size_t>> sources, parts;
  std::vector<size_t> group;         // unit -> group (the group's first source)
  std::vector<size_t> source_group;  // source -> group
  std::vector<bool> blocked;
  size_t size() const { return root.size(); }
};

Units unitsOf(const ChannelDeps& deps) {
  Units u;
  const auto& sources = deps.sources();
  u.of.assign(static_cast<size_t>(deps.numIds()), -1);
  for (size_t s = 0; s < sources.size(); ++s)
    for (int64_t c = 0; c < sources[s].channels; ++c) {
      int32_t r = deps.find(sources[s].first + static_cast<int32_t>(c));
      int32_t& k = u.of[static_cast<size_t>(r)];
      if (k < 0) {
        k = static_cast<int32_t>(u.root.size());
        u.root.push_back(r);
        u.sources.emplace_back();
        u.parts.emplace_back();
      }
      u.sources[static_cast<size_t>(k)].insert(s);
    }
  for (size_t p = 0; p < deps.splitParts().size(); ++p)
    for (int32_t id : deps.splitParts()[p]) {
      int32_t k = u.of[static_cast<size_t>(deps.find(id))];
      if (k >= 0) u.parts[static_cast<size_t>(k)].insert(p);
    }
  // Groups: sources tied through any unit (union-find over sources, the smallest is the root).
  std::vector<size_t> parent(sources.size());
  for (size_t s = 0; s < sources.size(); ++s)
    parent[s] = s;
  auto rootOf = [&](size_t s) {
    while (parent[s] != s)
      s = parent[s] = parent[parent[s]];
    return s;
  };
  for (const auto& us : u.sources)
    for (size_t s : us) {
      size_t a = rootOf(*us.begin()), b = rootOf(s);
      if (a != b) parent[std::max(a, b)] = std::min(a, b);
    }
  for (size_t s = 0; s < sources.size(); ++s)
    u.source_group.push_back(rootOf(s));
  for (size_t k = 0; k < u.size(); ++k) {
    u.group.push_back(rootOf(*u.sources[k].begin()));
    u.blocked.push_back(!deps.blockReason(u.root[k]).empty());
  }
  return u;
}

// Importance per unit; `bn_fallback` counts the groups bn-scale had to rank by l1.
std::vector<double> scoreUnits(const ChannelDeps& deps, const Units& u,
                               const std::string& importance, int64_t seed, int64_t& bn_fallback) {
  const size_t n = u.size();
  std::vector<double> l1(n, 0.0), l2(n, 0.0), bn(n, 0.0);
  std::vector<bool> has_bn(n, false);
  for (const ImportanceTerm& t : deps.importance()) {
    const bool is_bn = t.kind == ImportanceTerm::Kind::BnScale;
    if ((is_bn && importance != "bn-scale") || (!is_bn && importance == "random")) continue;
    std::vector<double> a = sliceNorms(t.tensor, t.axis, false);
    std::vector<double> b = is_bn ? std::vector<double>() : sliceNorms(t.tensor, t.axis, true);
    for (size_t p = 0; p < t.ids.size(); ++p) {
      int32_t k = u.of[static_cast<size_t>(deps.find(t.ids[p]))];
      if (k < 0) continue;
      const size_t i = static_cast<size_t>(k);
      if (is_bn) {
        bn[i] += a[p];
        has_bn[i] = true;
      } else {
        l1[i] += a[p];
        l2[i] += b[p];
      }
    }
  }
  std::set<size_t> with_bn, fallback;
  for (size_t k = 0; k < n; ++k)
    if (has_bn[k]) with_bn.insert(u.group[k]);
  std::vector<double> score(n);
  for (size_t k = 0; k < n; ++k) {
    if (importance == "l2") {
      score[k] = std::sqrt(l2[k]);
    } else if (importance == "random") {
      score[k] = static_cast<double>(mix(static_cast<uint64_t>(seed) * 1000003u + k) >> 11) /
                 9007199254740992.0;
    } else if (importance == "bn-scale" && with_bn.count(u.group[k])) {
      score[k] = bn[k];
    } else {
      score[k] = l1[k];
      if (importance == "bn-scale") fallback.insert(u.group[k]);
    }
  }
  bn_fallback = static_cast<int64_t>(fallback.size());
  return score;
}

struct Choice {
  double ratio = 0.5, max_ratio = 0.9;
  bool global = false;
  int64_t round_to = 1;
  std::map<size_t, double> overridden;  // group -> its ratio
};

// Which units go. Units are partitioned by the layers and Split parts they touch; each partition
// loses its share (scope=layer) or what a global ranking takes from it, keeps at least one
// channel and rounds what it keeps up to round-to.
std::vector<bool> chooseRemovals(const Units& u, const std::vector<double>& score,
                                 const Choice& c) {
  std::map<std::tuple<size_t, std::set<size_t>, std::set<size_t>>, size_t> index;
  std::vector<std::vector<size_t>> parts;
  std::vector<size_t> part_group;
  for (size_t k = 0; k < u.size(); ++k) {
    if (u.blocked[k]) continue;
    auto key = std::make_tuple(u.group[k], u.sources[k], u.parts[k]);
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, parts.size()).first;
      parts.emplace_back();
      part_group.push_back(u.group[k]);
    }
    parts[it->second].push_back(k);
  }
  auto byScore = [&](size_t a, size_t b) {
    return score[a] != score[b] ? score[a] < score[b] : a < b;
  };
  std::vector<bool> remove(u.size(), false);
  std::vector<size_t> pool;  // scope=global
  for (size_t p = 0; p < parts.size(); ++p) {
    auto o = c.overridden.find(part_group[p]);
    if (c.global && o == c.overridden.end()) {
      pool.insert(pool.end(), parts[p].begin(), parts[p].end());
      continue;
    }
    const double r = o == c.overridden.end() ? c.ratio : o->second;
    std::vector<size_t> order = parts[p];
    std::sort(order.begin(), order.end(), byScore);
    const int64_t n = static_cast<int64_t>(order.size());
    const int64_t drop = r > 0 ? n - keepCount(n, r, c.round_to) : 0;
    for (int64_t i = 0; i < drop; ++i)
      remove[order[static_cast<size_t>(i)]] = true;
  }
  if (pool.empty()) return remove;
  // Normalised by the group's mean, so that layers of different fan-in compete fairly.
  std::map<size_t, std::pair<double, int64_t>> mean;
  for (size_t k : pool) {
    mean[u.group[k]].first += score[k];
    mean[u.group[k]].second += 1;
  }
  std::vector<double> norm(u.size(), 0.0);
  for (size_t k : pool) {
    const auto& m = mean[u.group[k]];
    const double avg = m.first / static_cast<double>(m.second);
    norm[k] = avg > 0 ? score[k] / avg : score[k];
  }
  std::sort(pool.begin(), pool.end(),
            [&](size_t a, size_t b) { return norm[a] != norm[b] ? norm[a] < norm[b] : a < b; });
  std::vector<size_t> part_of(u.size(), 0);
  for (size_t p = 0; p < parts.size(); ++p)
    for (size_t k : parts[p])
      part_of[k] = p;
  std::vector<int64_t> removed_in(parts.size(), 0);
  int64_t target =
      static_cast<int64_t>(std::floor(c.ratio * static_cast<double>(pool.size()) + 1e-6));
  for (size_t k : pool) {
    if (target <= 0) break;
    const size_t p = part_of[k];
    const int64_t n = static_cast<int64_t>(parts[p].size());
    const int64_t limit = std::min<int64_t>(
        n - 1, static_cast<int64_t>(std::floor(c.max_ratio * static_cast<double>(n) + 1e-6)));
    if (removed_in[p] >= limit) continue;
    remove[k] = true;
    ++removed_in[p];
    --target;
  }
  // round-to: give back the most important removed channels of each partition.
  for (size_t p = 0; p < parts.size(); ++p) {
    if (!removed_in[p]) continue;
    const int64_t n = static_cast<int64_t>(parts[p].size());
    const int64_t keep = n - removed_in[p];
    const int64_t want = std::min(n, (keep + c.round_to - 1) / c.round_to * c.round_to);
    std::vector<size_t> gone;
    for (size_t k : parts[p])
      if (remove[k]) gone.push_back(k);
    std::sort(gone.begin(), gone.end(), [&](size_t a, size_t b) { return byScore(b, a); });
    for (int64_t i = 0; i < want - keep; ++i)
      remove[gone[static_cast<size_t>(i)]] = false;
  }
  return remove;
}

// The groups for the report, in order of their first layer; fully kept groups go to `skips`.
std::vector<PruneGroup> describeGroups(const ChannelDeps& deps, const Units& u,
                                       const std::vector<bool>& remove, const Choice& c,
                                       PruneSkips& skips) {
  const auto& sources = deps.sources();
  std::map<size_t, PruneGroup> groups;
  std::map<size_t, std::string> why;
  for (size_t s = 0; s < sources.size(); ++s)
    groups[u.source_group[s]].members.push_back(nodeLabel(*sources[s].node));
  for (size_t k = 0; k < u.size(); ++k) {
    PruneGroup& g = groups[u.group[k]];
    g.channels += 1;
    g.removed += remove[k];
    if (u.blocked[k] && !why.count(u.group[k])) why[u.group[k]] = deps.blockReason(u.root[k]);
  }
  std::vector<PruneGroup> out;
  for (auto& [gr, g] : groups) {
    auto b = why.find(gr);
    auto o = c.overridden.find(gr);
    if (g.removed > 0) {
      g.status = "pruned";
      if (b != why.end()) g.status += "; some channels kept: " + b->second;
    } else if (b != why.end()) {
      g.status = "kept: " + b->second;
      for (size_t s = 0; s < sources.size(); ++s)
        if (u.source_group[s] == gr) skips.add(*sources[s].node, generic(b->second));
    } else if (o != c.overridden.end() && o->second == 0) {
      g.status = "kept: overridden to ratio 0";
    } else {
      g.status = "kept: too few channels for the ratio";
    }
    out.push_back(g);
  }
  return out;
}

}  // namespace

PruneStructuredPass::PruneStructuredPass(const OptionValues& o) : opts_(o) {
  checkOptions(opts_);
}

bool PruneStructuredPass::run(Model& model, PassContext& ctx) {
  checkOptions(opts_);
  const double ratio = opts_.getFloat("ratio");
  const bool global = opts_.getString("scope") == "global";
  const std::string importance = opts_.getString("importance");
  const int64_t round_to = opts_.getInt("round-to");
  const double max_ratio = opts_.getFloat("max-ratio");
  const std::vector<Override> overrides = parseOverrides(opts_.getList("overrides"));
  NodeSelection select = pruneSelectionFrom(opts_, kKnownOps);

  PruneReport report;
  report.pass = "prune-structured";
  report.structured = true;
  report.settings = fmt::format("ratio={}, scope={}, importance={}, round-to={}", ratio,
                                opts_.getString("scope"), importance, round_to);
  PruneSkips skips;

  inferShapesOnnx(model);
  Graph& g = *model.graph;
  std::vector<Node*> layers;
  for (Node* n : g.nodes())
    if ((n->is("Conv") || n->is("ConvTranspose") || n->is("Gemm") || n->is("MatMul")) &&
        weightInputOf(*n) == 1 && constantValue(n->input(1)))
      layers.push_back(n);
  for (Node* n : layers) {
    PruneLayer row;
    row.node = nodeLabel(*n);
    row.op = n->opType();
    row.weight = n->input(1)->name();
    std::tie(row.channels_before, row.params_before) = layerSize(*n);
    row.macs_before = nodeMacs(*n);
    report.layers.push_back(row);
  }
  report.model_params_before = floatParams(model);
  report.macs_before = modelMacs(model);

  ChannelDeps deps(model, select, opts_.getInt("min-size"));
  for (const auto& [n, why] : deps.rejected())
    skips.add(*n, generic(why));
  const auto& sources = deps.sources();
  Units units = unitsOf(deps);
  int64_t bn_fallback = 0;
  std::vector<double> score =
      scoreUnits(deps, units, importance, opts_.getInt("seed"), bn_fallback);

  // Ratio per group: overrides name any of its layers; the smallest wins.
  Choice choice;
  choice.ratio = ratio;
  choice.max_ratio = max_ratio;
  choice.global = global;
  choice.round_to = round_to;
  for (const Override& o : overrides) {
    bool used = false;
    for (size_t s = 0; s < sources.size(); ++s) {
      const std::string& name = sources[s].node->name();
      if (!(o.regex ? (!name.empty() && std::regex_match(name, o.re)) : o.name == name)) continue;
      used = true;
      auto [it, fresh] = choice.overridden.emplace(units.source_group[s], o.ratio);
      if (!fresh) it->second = std::min(it->second, o.ratio);
    }
    if (!used) ctx.note(fmt::format("overrides entry '{}' matches no prunable layer", o.text));
  }
  std::vector<bool> remove = chooseRemovals(units, score, choice);
  std::vector<bool> removed_roots(static_cast<size_t>(deps.numIds()), false);
  int64_t removed_units = 0;
  for (size_t k = 0; k < units.size(); ++k)
    if (remove[k]) {
      removed_roots[static_cast<size_t>(units.root[k])] = true;
      ++removed_units;
    }
  report.groups = describeGroups(deps, units, remove, choice, skips);

  bool changed = false;
  if (removed_units > 0) {
    int64_t tensors = deps.apply(removed_roots);
    checkShapes(model);
    ctx.count("tensors-rewritten", tensors);
    changed = true;
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    PruneLayer& row = report.layers[i];
    std::tie(row.channels_after, row.params_after) = layerSize(*layers[i]);
    row.macs_after = nodeMacs(*layers[i]);
  }
  report.model_params_after = floatParams(model);
  report.macs_after = modelMacs(model);

  ctx.count("groups", static_cast<int64_t>(report.groups.size()));
  ctx.count("channels-removed", removed_units);
  if (bn_fallback)
    ctx.note(fmt::format("bn-scale: {} group(s) pass through no BatchNormalization; ranked by l1",
                         bn_fallback));
  auto fmtCount = [](int64_t v) {
    return v < 0 ? std::string("?") : fmt::format("{:.3f} M", static_cast<double>(v) / 1e6);
  };
  ctx.note(fmt::format("removed {} of {} channels in {} groups; parameters {} -> {}, MACs {} -> {}",
                       removed_units, units.size(), report.groups.size(),
                       fmtCount(report.model_params_before), fmtCount(report.model_params_after),
                       fmtCount(report.macs_before), fmtCount(report.macs_after)));
  skips.flush(ctx, report);
  ctx.table(pruneReportTable(report));
  if (!opts_.getString("report").empty()) writePruneReport(report, opts_.getString("report"));
  return changed;
}

}  // namespace mopt
