// Channel dependencies: the union-find of channel ids, tracks, and the rewrite that removes
// channels (see ChannelDeps.h; the per-op rules are in ChannelRules.cpp).
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

ChannelDeps::ChannelDeps(Model& m, const NodeSelection& select, int64_t min_size)
    : model_(m), graph_(*m.graph), select_(select), min_size_(min_size), opset_(m.opset("")) {
  for (Node* n : graph_.nodes())
    visit(n);
  // Graph outputs keep their shapes; values read inside subgraphs are out of sight.
  for (const Value* v : graph_.outputs())
    blockValue(v, fmt::format("a graph output keeps its shape [{}]", v->name()));
  for (const Value* v : tracked_order_)
    for (const Use& u : v->uses())
      if (u.user->owner() != &graph_) {
        blockValue(v, fmt::format("a subgraph reads them [{}]", v->name()));
        break;
      }
}

int32_t ChannelDeps::find(int32_t id) const {
  while (parent_[static_cast<size_t>(id)] != id) {
    int32_t p = parent_[static_cast<size_t>(id)];
    parent_[static_cast<size_t>(id)] = parent_[static_cast<size_t>(p)];
    id = p;
  }
  return id;
}

const std::string& ChannelDeps::blockReason(int32_t id) const {
  return reason_[static_cast<size_t>(find(id))];
}

int32_t ChannelDeps::fresh(int64_t count, const std::string& blocked) {
  int32_t first = static_cast<int32_t>(parent_.size());
  if (count < 0 || parent_.size() + static_cast<size_t>(count) > INT32_MAX)
    fail(ErrorKind::Input, "prune-structured: too many channels to track");
  for (int64_t i = 0; i < count; ++i) {
    parent_.push_back(first + static_cast<int32_t>(i));
    reason_.push_back(blocked);
  }
  return first;
}

void ChannelDeps::unite(int32_t a, int32_t b) {
  a = find(a);
  b = find(b);
  if (a == b) return;
  if (b < a) std::swap(a, b);  // the older id stays the root: deterministic
  parent_[static_cast<size_t>(b)] = a;
  if (reason_[static_cast<size_t>(a)].empty())
    reason_[static_cast<size_t>(a)] = reason_[static_cast<size_t>(b)];
}

void ChannelDeps::block(const std::vector<int32_t>& ids, const std::string& why) {
  for (int32_t id : ids) {
    std::string& r = reason_[static_cast<size_t>(find(id))];
    if (r.empty()) r = why;
  }
}

void ChannelDeps::blockValue(const Value* v, const std::string& why) {
  if (Track* t = track(v)) block(t->ids, why);
}

ChannelDeps::Track* ChannelDeps::track(const Value* v) {
  if (!v) return nullptr;
  auto it = tracks_.find(v);
  return it == tracks_.end() ? nullptr : &it->second;
}

void ChannelDeps::setTrack(const Value* v, int64_t axis, std::vector<int32_t> ids) {
  if (!v) return;
  if (!tracks_.count(v)) tracked_order_.push_back(v);
  tracks_[v] = Track{axis, std::move(ids)};
}

std::vector<int64_t> ChannelDeps::keptPositions(const Value* v,
                                                const std::vector<bool>& removed) const {
  std::vector<int64_t> keep;
  auto it = tracks_.find(v);
  if (it == tracks_.end()) return keep;
  const auto& ids = it->second.ids;
  for (size_t p = 0; p < ids.size(); ++p)
    if (!removed[static_cast<size_t>(find(ids[p]))]) keep.push_back(static_cast<int64_t>(p));
  return keep;
}

int64_t ChannelDeps::apply(const std::vector<bool>& removed) {
  NameScope names(model_);
  std::map<const Value*, std::vector<int64_t>> kept_cache;
  auto kept = [&](const Value* v) -> const std::vector<int64_t>& {
    auto it = kept_cache.find(v);
    if (it == kept_cache.end()) it = kept_cache.emplace(v, keptPositions(v, removed)).first;
    return it->second;
  };
  auto fullLength = [&](const Value* v) {
    auto it = tracks_.find(v);
    return it == tracks_.end() ? size_t{0} : it->second.ids.size();
  };

  // Slices, grouped per node input in the order first recorded.
  std::vector<std::pair<Node*, size_t>> order;
  std::map<std::pair<Node*, size_t>, std::vector<const Slice*>> per_input;
  for (const Slice& s : slices_) {
    auto key = std::make_pair(s.node, s.input);
    if (!per_input.count(key)) order.push_back(key);
    per_input[key].push_back(&s);
  }
  std::vector<Value*> old;
  std::map<std::pair<const Value*, std::string>, Value*> made;  // (root, slicing) -> new value
  int64_t rewritten = 0;
  for (const auto& key : order) {
    Node* n = key.first;
    Value* in = n->input(key.second);
    Value* root = constantRoot(in);
    if (!root) fail(ErrorKind::Internal, "prune-structured: {} lost its constant", nodeLabel(*n));
    Tensor t = rootTensor(root);
    std::string spec;
    bool changed = false;
    for (const Slice* s : per_input[key]) {
      std::vector<int64_t> keep = kept(s->by);
      size_t full = fullLength(s->by);
      if (s->period > 0) {
        keep.erase(std::lower_bound(keep.begin(), keep.end(), s->period), keep.end());
        full = static_cast<size_t>(s->period);
      }
      if (keep.size() == full) continue;
      if (t.dims()[static_cast<size_t>(s->axis)] != static_cast<int64_t>(full))
        fail(ErrorKind::Internal, "prune-structured: {} input {} has {} along axis {}, not {}",
             nodeLabel(*n), key.second, t.dims()[static_cast<size_t>(s->axis)], s->axis, full);
      t = sliceAxis(t, s->axis, keep);
      changed = true;
      spec += fmt::format("{}:", s->axis);
      for (int64_t k : keep)
        spec += fmt::format("{},", k);
      spec += ";";
    }
    if (!changed) continue;
    auto mk = std::make_pair(static_cast<const Value*>(root), spec);
    auto it = made.find(mk);
    if (it == made.end()) {
      Tensor old_t = rootTensor(root);
      t.setName("");
      t.setDocString(old_t.docString());
      it = made.emplace(mk, graph_.addInitializer(names.fresh(root->name() + "_pruned"), t)).first;
      ++rewritten;
    }
    old.push_back(in);
    n->setInput(key.second, it->second);
  }
  for (const auto& [n, x] : group_edits_)
    n->setAttr(Attribute::makeInt("group", static_cast<int64_t>(kept(x).size())));
  for (const ShapeEdit& e : shape_edits_) {
    const auto& keep = kept(e.by);
    if (keep.size() == fullLength(e.by)) continue;
    Value* in = e.node->input(e.input);
    auto t = constantValue(in);  // an int tensor: the analysis read it
    std::vector<double> v = toDoubles(*t);
    v[static_cast<size_t>(e.index)] = static_cast<double>(keep.size());
    Tensor nt = fromDoubles(t->dtype(), t->dims(), v);
    Value* nv = graph_.addInitializer(names.fresh(in->name() + "_pruned"), nt);
    old.push_back(in);
    e.node->setInput(e.input, nv);
    ++rewritten;
  }
  for (Node* n : split_edits_) {
    std::vector<int64_t> sizes;
    bool changed = false;
    for (const Value* out : n->outputs()) {
      sizes.push_back(static_cast<int64_t>(kept(out).size()));
      changed = changed || kept(out).size() != fullLength(out);
    }
    if (!changed) continue;
    if (opset_ >= 13) {
      Value* nv = graph_.addInitializer(
          names.fresh(nodeLabel(*n) + "_split"),
          Tensor::fromVector(DType::I64, {static_cast<int64_t>(sizes.size())}, sizes));
      if (n->numInputs() > 1 && n->input(1)) {
        old.push_back(n->input(1));
        n->setInput(1, nv);
      } else if (n->numInputs() > 1) {
        n->setInput(1, nv);
      } else {
        n->addInput(nv);
      }
      n->removeAttr("num_outputs");
    } else {
      n->setAttr(Attribute::makeInts("split", sizes));
    }
    ++rewritten;
  }
  for (const Value* cv : tracked_order_) {
    const auto& keep = kept(cv);
    const Track& tr = tracks_.at(cv);
    if (keep.size() == tr.ids.size()) continue;
    auto* v = const_cast<Value*>(cv);
    Type type = v->type();
    if (!type.isTensor() || !type.shape() || tr.axis >= static_cast<int64_t>(type.shape()->size()))
      continue;
    Shape s = *type.shape();
    s[static_cast<size_t>(tr.axis)] = Dim::known(static_cast<int64_t>(keep.size()));
    type.setShape(s);
    v->setType(type);
  }
  dropDeadValues(old);
  return rewritten;
}

}  // namespace mopt
