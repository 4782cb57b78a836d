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

namespace mopt {

const PassInfo& PruneStructuredPass::info() {
  static const PassInfo i{
      "prune-structured", "prune",
      "Remove whole channels from Conv/Gemm/MatMul and everything tied to them",
      "Removes output channels (filters, hidden units) from Conv, ConvTranspose, Gemm and MatMul "
      "with a constant weight and rewrites what reads them, so tensors really shrink: the "
      "consumers' input channels, biases, BatchNormalization/InstanceNormalization parameters, "
      "per-channel constants of Add/Mul, depthwise convolutions (their group count follows), "
      "Concat offsets, Split sizes, Flatten -> Gemm (a block of spatial positions per channel), "
      "Reshape/Transpose/Squeeze/Unsqueeze/Slice/pooling where the channel axis can be followed, "
      "and Reshape target shapes. Channels tied by residual Add/Mul or Concat form dependency "
      "groups that are pruned identically (Torch-Pruning's DepGraph, on the IR). Graph inputs "
      "and outputs keep their shapes; a group that cannot be pruned safely (a graph output, an "
      "op that mixes channels, a grouped convolution, ...) is kept and the report says why. "
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

  // Units: classes of tied channels that touch a source, in order of first appearance.
  std::vector<int32_t> unit_of(static_cast<size_t>(deps.numIds()), -1);  // root -> unit
  std::vector<int32_t> unit_root;
  std::vector<std::set<size_t>> unit_sources;
  std::vector<std::set<size_t>> unit_parts;
  for (size_t s = 0; s < sources.size(); ++s)
    for (int64_t c = 0; c < sources[s].channels; ++c) {
      int32_t r = deps.find(sources[s].first + static_cast<int32_t>(c));
      if (unit_of[static_cast<size_t>(r)] < 0) {
        unit_of[static_cast<size_t>(r)] = static_cast<int32_t>(unit_root.size());
        unit_root.push_back(r);
        unit_sources.emplace_back();
        unit_parts.emplace_back();
      }
      unit_sources[static_cast<size_t>(unit_of[static_cast<size_t>(r)])].insert(s);
    }
  for (size_t p = 0; p < deps.splitParts().size(); ++p)
    for (int32_t id : deps.splitParts()[p]) {
      int32_t u = unit_of[static_cast<size_t>(deps.find(id))];
      if (u >= 0) unit_parts[static_cast<size_t>(u)].insert(p);
    }
  const size_t units = unit_root.size();

  // Groups: sources tied through any unit (union-find over sources).
  std::vector<size_t> group_parent(sources.size());
  for (size_t s = 0; s < sources.size(); ++s)
    group_parent[s] = s;
  std::function<size_t(size_t)> groupRoot = [&](size_t s) {
    while (group_parent[s] != s)
      s = group_parent[s] = group_parent[group_parent[s]];
    return s;
  };
  for (const auto& us : unit_sources)
    for (size_t s : us) {
      size_t a = groupRoot(*us.begin()), b = groupRoot(s);
      if (a != b) group_parent[std::max(a, b)] = std::min(a, b);
    }
  std::vector<size_t> unit_group(units);
  for (size_t u = 0; u < units; ++u)
    unit_group[u] = groupRoot(*unit_sources[u].begin());

  // Importance per unit.
  std::vector<double> l1(units, 0.0), l2(units, 0.0), bn(units, 0.0);
  std::vector<bool> has_bn(units, false);
  for (const ImportanceTerm& t : deps.importance()) {
    const bool is_bn = t.kind == ImportanceTerm::Kind::BnScale;
    if (is_bn && importance != "bn-scale") continue;
    if (!is_bn && importance == "random") continue;
    std::vector<double> a = sliceNorms(t.tensor, t.axis, false);
    std::vector<double> b = is_bn ? std::vector<double>() : sliceNorms(t.tensor, t.axis, true);
    for (size_t p = 0; p < t.ids.size(); ++p) {
      int32_t u = unit_of[static_cast<size_t>(deps.find(t.ids[p]))];
      if (u < 0) continue;
      if (is_bn) {
        bn[static_cast<size_t>(u)] += a[p];
        has_bn[static_cast<size_t>(u)] = true;
      } else {
        l1[static_cast<size_t>(u)] += a[p];
        l2[static_cast<size_t>(u)] += b[p];
      }
    }
  }
  std::map<size_t, bool> group_has_bn;
  for (size_t u = 0; u < units; ++u)
    group_has_bn[unit_group[u]] = group_has_bn[unit_group[u]] || has_bn[u];
  std::vector<double> score(units);
  int64_t bn_fallback = 0;
  std::set<size_t> fallback_groups;
  for (size_t u = 0; u < units; ++u) {
    if (importance == "l2") {
      score[u] = std::sqrt(l2[u]);
    } else if (importance == "random") {
      score[u] = static_cast<double>(
                     mix(static_cast<uint64_t>(opts_.getInt("seed")) * 1000003u + u) >> 11) /
                 9007199254740992.0;
    } else if (importance == "bn-scale" && group_has_bn[unit_group[u]]) {
      score[u] = bn[u];
    } else {
      score[u] = l1[u];
      if (importance == "bn-scale") fallback_groups.insert(unit_group[u]);
    }
  }
  bn_fallback = static_cast<int64_t>(fallback_groups.size());

  // Ratio per group (overrides name any of its layers; the smallest wins).
  std::map<size_t, double> group_ratio;
  std::map<size_t, bool> group_overridden;
  for (size_t s = 0; s < sources.size(); ++s) {
    const std::string& name = sources[s].node->name();
    for (const Override& o : overrides) {
      bool match = o.regex ? (!name.empty() && std::regex_match(name, o.re)) : o.name == name;
      if (!match) continue;
      size_t gr = groupRoot(s);
      if (!group_overridden[gr] || o.ratio < group_ratio[gr]) group_ratio[gr] = o.ratio;
      group_overridden[gr] = true;
    }
  }
  for (const Override& o : overrides) {
    bool used = false;
    for (const auto& src : sources) {
      const std::string& name = src.node->name();
      used = used || (o.regex ? (!name.empty() && std::regex_match(name, o.re)) : o.name == name);
    }
    if (!used) ctx.note(fmt::format("overrides entry '{}' matches no prunable layer", o.text));
  }

  // Partitions of the prunable units.
  std::vector<bool> blocked(units);
  std::map<std::tuple<size_t, std::set<size_t>, std::set<size_t>>, size_t> part_index;
  std::vector<std::vector<size_t>> parts;
  std::vector<size_t> part_group;
  for (size_t u = 0; u < units; ++u) {
    blocked[u] = !deps.blockReason(unit_root[u]).empty();
    if (blocked[u]) continue;
    auto key = std::make_tuple(unit_group[u], unit_sources[u], unit_parts[u]);
    auto it = part_index.find(key);
    if (it == part_index.end()) {
      it = part_index.emplace(key, parts.size()).first;
      parts.emplace_back();
      part_group.push_back(unit_group[u]);
    }
    parts[it->second].push_back(u);
  }
  auto byScore = [&](size_t a, size_t b) {
    return score[a] != score[b] ? score[a] < score[b] : a < b;
  };
  std::vector<bool> remove(units, false);
  std::vector<size_t> pool;  // scope=global
  for (size_t p = 0; p < parts.size(); ++p) {
    size_t gr = part_group[p];
    if (global && !group_overridden[gr]) {
      pool.insert(pool.end(), parts[p].begin(), parts[p].end());
      continue;
    }
    double r = group_overridden[gr] ? group_ratio[gr] : ratio;
    std::vector<size_t> order = parts[p];
    std::sort(order.begin(), order.end(), byScore);
    const int64_t c = static_cast<int64_t>(order.size());
    int64_t drop = r > 0 ? c - keepCount(c, r, round_to) : 0;
    for (int64_t i = 0; i < drop; ++i)
      remove[order[static_cast<size_t>(i)]] = true;
  }
  if (!pool.empty()) {
    // Normalised by the group's mean, so that layers of different fan-in compete fairly.
    std::map<size_t, std::pair<double, int64_t>> mean;
    for (size_t u : pool) {
      mean[unit_group[u]].first += score[u];
      mean[unit_group[u]].second += 1;
    }
    std::vector<double> norm(units, 0.0);
    for (size_t u : pool) {
      const auto& m = mean[unit_group[u]];
      double avg = m.first / static_cast<double>(m.second);
      norm[u] = avg > 0 ? score[u] / avg : score[u];
    }
    std::vector<size_t> order = pool;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return norm[a] != norm[b] ? norm[a] < norm[b] : a < b; });
    std::vector<size_t> part_of(units, 0);
    for (size_t p = 0; p < parts.size(); ++p)
      for (size_t u : parts[p])
        part_of[u] = p;
    std::vector<int64_t> removed_in(parts.size(), 0);
    int64_t target =
        static_cast<int64_t>(std::floor(ratio * static_cast<double>(pool.size()) + 1e-6));
    for (size_t u : order) {
      if (target <= 0) break;
      size_t p = part_of[u];
      const int64_t c = static_cast<int64_t>(parts[p].size());
      int64_t limit = std::min<int64_t>(
          c - 1, static_cast<int64_t>(std::floor(max_ratio * static_cast<double>(c) + 1e-6)));
      if (removed_in[p] >= limit) continue;
      remove[u] = true;
      ++removed_in[p];
      --target;
    }
    // round-to: give back the most important removed channels of each partition.
    for (size_t p = 0; p < parts.size(); ++p) {
      const int64_t c = static_cast<int64_t>(parts[p].size());
      if (!removed_in[p]) continue;
      int64_t keep = c - removed_in[p];
      int64_t want = std::min(c, (keep + round_to - 1) / round_to * round_to);
      std::vector<size_t> gone;
      for (size_t u : parts[p])
        if (remove[u]) gone.push_back(u);
      std::sort(gone.begin(), gone.end(), [&](size_t a, size_t b) { return byScore(b, a); });
      for (int64_t i = 0; i < want - keep; ++i)
        remove[gone[static_cast<size_t>(i)]] = false;
    }
  }

  std::vector<bool> removed_roots(static_cast<size_t>(deps.numIds()), false);
  int64_t removed_units = 0;
  for (size_t u = 0; u < units; ++u)
    if (remove[u]) {
      removed_roots[static_cast<size_t>(unit_root[u])] = true;
      ++removed_units;
    }

  // Groups for the report, in order of their first layer.
  std::map<size_t, PruneGroup> groups;
  std::map<size_t, std::string> group_block;
  for (size_t s = 0; s < sources.size(); ++s)
    groups[groupRoot(s)].members.push_back(nodeLabel(*sources[s].node));
  for (size_t u = 0; u < units; ++u) {
    PruneGroup& pg = groups[unit_group[u]];
    pg.channels += 1;
    pg.removed += remove[u];
    if (blocked[u] && !group_block.count(unit_group[u]))
      group_block[unit_group[u]] = deps.blockReason(unit_root[u]);
  }
  for (auto& [gr, pg] : groups) {
    auto b = group_block.find(gr);
    if (pg.removed == 0) {
      if (b != group_block.end()) {
        pg.status = "kept: " + b->second;
        for (size_t s = 0; s < sources.size(); ++s)
          if (groupRoot(s) == gr) skips.add(*sources[s].node, generic(b->second));
      } else if (group_overridden[gr] && group_ratio[gr] == 0) {
        pg.status = "kept: overridden to ratio 0";
      } else {
        pg.status = "kept: too few channels for the ratio";
      }
    } else {
      pg.status = "pruned";
      if (b != group_block.end()) pg.status += "; some channels kept: " + b->second;
    }
    report.groups.push_back(pg);
  }

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

  ctx.count("groups", static_cast<int64_t>(groups.size()));
  ctx.count("channels-removed", removed_units);
  if (bn_fallback)
    ctx.note(fmt::format("bn-scale: {} group(s) pass through no BatchNormalization; ranked by l1",
                         bn_fallback));
  auto fmtCount = [](int64_t v) {
    return v < 0 ? std::string("?") : fmt::format("{:.3f} M", static_cast<double>(v) / 1e6);
  };
  ctx.note(fmt::format("removed {} of {} channels in {} groups; parameters {} -> {}, MACs {} -> {}",
                       removed_units, units, groups.size(), fmtCount(report.model_params_before),
                       fmtCount(report.model_params_after), fmtCount(report.macs_before),
                       fmtCount(report.macs_after)));
  skips.flush(ctx, report);
  if (!opts_.getString("report").empty()) writePruneReport(report, opts_.getString("report"));
  return changed;
}

}  // namespace mopt
