// Channel dependencies for structured pruning: which output channels of which layers must be
// removed together, and every tensor, weight, attribute and shape constant a removal touches.
//
// The idea is Torch-Pruning's DepGraph, worked out on the IR instead of on eager modules. Every
// tracked tensor carries, along its channel axis, one id per position. A prunable layer (Conv,
// ConvTranspose, Gemm, MatMul with a constant weight) creates fresh ids for its output channels;
// ops that tie positions together unite ids (Add/Mul of two branches, BatchNormalization and
// other per-channel ops pass them through, a depthwise Conv repeats them), Concat appends them,
// Split cuts them, Flatten and Reshape repeat or thin them. The ids form a union-find: each
// class is a unit that goes as a whole. Whatever cannot follow a removal (a graph output, an op
// mopt does not understand, a normalization over the channels, a grouped Conv) blocks the ids it
// reads, with the reason, and a blocked unit is never removed.
#pragma once

#include "ir/Graph.h"
#include "passes/quantize/Selection.h"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace mopt {

// A layer whose output channels may be removed.
struct ChannelSource {
  Node* node = nullptr;
  int64_t channels = 0;
  int32_t first = 0;  // its channels are ids first .. first + channels - 1
};

// A weight slice whose magnitude says how important the channels at its positions are.
struct ImportanceTerm {
  enum class Kind { Weight, BnScale };
  Kind kind = Kind::Weight;
  Tensor tensor;
  int64_t axis = 0;          // positions run along this axis of `tensor`
  std::vector<int32_t> ids;  // channel id of each position
};

class ChannelDeps {
 public:
  // Analyses the main graph (shapes must be inferred). `select` and `min_size` (weight
  // elements) decide which layers are sources; the others still have their input channels
  // sliced.
  ChannelDeps(Model& m, const NodeSelection& select, int64_t min_size);

  int32_t find(int32_t id) const;
  // Why the unit of `id` cannot be removed ("" when it can).
  const std::string& blockReason(int32_t id) const;
  const std::vector<ChannelSource>& sources() const { return sources_; }
  // Layers that could have been sources but are not, and why.
  const std::vector<std::pair<Node*, std::string>>& rejected() const { return rejected_; }
  const std::vector<ImportanceTerm>& importance() const { return terms_; }
  // The ids of each Split output that cuts a tracked axis: each part must keep at least one
  // channel (and rounds on its own), so the pruning decision treats it as its own partition.
  const std::vector<std::vector<int32_t>>& splitParts() const { return split_parts_; }
  int32_t numIds() const { return static_cast<int32_t>(parent_.size()); }

  // Removes every channel whose unit (root id) is marked in `removed` (indexed by root id):
  // slices weights into new initializers, updates group counts, shape constants, split sizes and
  // the shapes of every tracked value. Returns how many tensors were rewritten.
  int64_t apply(const std::vector<bool>& removed);

 private:
  struct Track {
    int64_t axis = 0;
    std::vector<int32_t> ids;
  };
  // A constant input of `node` to slice along `axis`, by the kept positions of `by`'s track
  // (only its first `period` positions when set: a grouped Conv's weight holds one group's input
  // channels, and the groups are tied so that they all keep the same ones).
  struct Slice {
    Node* node;
    size_t input;
    int64_t axis;
    const Value* by;
    int64_t period = 0;
  };
  // Element `index` of the int64 constant input `input` of `node` becomes the kept length of
  // `by`'s track.
  struct ShapeEdit {
    Node* node;
    size_t input;
    int64_t index;
    const Value* by;
  };

  int32_t fresh(int64_t count, const std::string& blocked = "");
  void unite(int32_t a, int32_t b);
  void block(const std::vector<int32_t>& ids, const std::string& why);
  void blockValue(const Value* v, const std::string& why);
  Track* track(const Value* v);
  void setTrack(const Value* v, int64_t axis, std::vector<int32_t> ids);
  std::vector<int64_t> keptPositions(const Value* v, const std::vector<bool>& removed) const;

  void visit(Node* n);
  bool layer(Node* n);  // Conv, ConvTranspose, Gemm, MatMul with a constant weight
  bool conv(Node* n);
  bool gemmOrMatMul(Node* n);
  void passThrough(Node* n, const Value* in, int64_t out_axis);
  bool perChannel(Node* n);  // BatchNormalization, InstanceNormalization
  bool broadcast(Node* n);
  bool concat(Node* n);
  bool split(Node* n);
  bool flatten(Node* n);
  bool reshape(Node* n);
  bool axisMoving(Node* n);  // Transpose, Squeeze, Unsqueeze, Reduce*, Gather, Softmax, ...
  bool shapeOf(Node* n);

  Model& model_;
  Graph& graph_;
  const NodeSelection& select_;
  int64_t min_size_ = 0;
  int64_t opset_ = 0;
  mutable std::vector<int32_t> parent_;
  std::vector<std::string> reason_;  // per id; meaningful at roots
  std::vector<ChannelSource> sources_;
  std::vector<std::pair<Node*, std::string>> rejected_;
  std::vector<ImportanceTerm> terms_;
  std::unordered_map<const Value*, Track> tracks_;
  std::vector<const Value*> tracked_order_;  // deterministic iteration
  std::vector<Slice> slices_;
  std::vector<std::pair<Node*, const Value*>> group_edits_;  // depthwise: group = kept of value
  std::vector<ShapeEdit> shape_edits_;
  std::vector<Node*> split_edits_;
  std::vector<std::vector<int32_t>> split_parts_;
};

}  // namespace mopt
