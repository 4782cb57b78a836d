// fold-bn-into-conv: pattern matching and graph surgery around foldBatchNormIntoWeights.
#include "passes/cleanup/FoldBatchNorm.h"

#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "passes/common/Constants.h"

#include <algorithm>
#include <cmath>

namespace mopt {

const PassInfo& FoldBatchNormPass::info() {
  static const PassInfo i{
      "fold-bn-into-conv",
      "cleanup",
      "Fold inference BatchNormalization into the preceding Conv",
      "For Conv/ConvTranspose -> BatchNormalization (inference mode, constant statistics, the "
      "conv output read only by the BatchNormalization), scales the conv weights per output "
      "channel and rewrites the bias, then removes the BatchNormalization. Weights shared with "
      "other nodes are copied, never changed in place. Works in f16, bf16, f32 and f64 "
      "(arithmetic in double). Candidates that do not qualify are listed in the report.",
      {}};
  return i;
}

void foldBatchNormIntoWeights(std::vector<double>& weight, const std::vector<int64_t>& wdims,
                              std::vector<double>& bias, const BatchNormParams& bn, bool transposed,
                              int64_t group) {
  const int64_t channels = static_cast<int64_t>(bias.size());
  std::vector<double> k(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    auto i = static_cast<size_t>(c);
    k[i] = bn.scale[i] / std::sqrt(bn.var[i] + bn.epsilon);
    bias[i] = (bias[i] - bn.mean[i]) * k[i] + bn.shift[i];
  }
  int64_t spatial = 1;
  for (size_t d = 2; d < wdims.size(); ++d)
    spatial *= wdims[d];
  if (!transposed) {
    // Conv: output channel is the first weight dimension.
    for (int64_t c = 0; c < wdims[0]; ++c)
      for (int64_t j = 0; j < wdims[1] * spatial; ++j)
        weight[static_cast<size_t>(c * wdims[1] * spatial + j)] *= k[static_cast<size_t>(c)];
    return;
  }
  // ConvTranspose: W[ci, j, ...] feeds output channel (ci / (C/group)) * (M/group) + j.
  const int64_t in_per_group = wdims[0] / group, out_per_group = wdims[1];
  for (int64_t ci = 0; ci < wdims[0]; ++ci)
    for (int64_t j = 0; j < out_per_group; ++j) {
      double kk = k[static_cast<size_t>((ci / in_per_group) * out_per_group + j)];
      for (int64_t s = 0; s < spatial; ++s)
        weight[static_cast<size_t>((ci * out_per_group + j) * spatial + s)] *= kk;
    }
}

namespace {

bool floatType(DType t) {
  return t == DType::F32 || t == DType::F64 || t == DType::F16 || t == DType::BF16;
}

// Why `bn` cannot be folded, or "" when it can (then `conv` is set).
std::string checkCandidate(Node* bn, Node*& conv) {
  Value* y = bn->input(0);
  if (!y || !y->producer()) return "its input is not produced by a node";
  conv = y->producer();
  if (!conv->is("Conv") && !conv->is("ConvTranspose")) return "its input is not a Conv";
  if (conv->owner() != bn->owner()) return "the Conv lives in another graph";
  if (y->uses().size() != 1 || y->isGraphOutput()) return "the Conv output has other readers";
  if (bn->intAttr("training_mode", 0) != 0) return "it runs in training mode";
  for (size_t i = 1; i < bn->numOutputs(); ++i)
    if (bn->output(i) && (bn->output(i)->hasUses() || bn->output(i)->isGraphOutput()))
      return "its running-statistics outputs are used";
  if (bn->numInputs() != 5) return "it does not have 5 inputs";
  if (conv->numInputs() < 2 || !conv->input(1)) return "the Conv has no weight";
  return "";
}

}  // namespace

bool FoldBatchNormPass::run(Model& model, PassContext& ctx) {
  int64_t folded = 0;
  NameScope names(model);
  forEachGraph(model, [&](Graph& g) {
    for (Node* bn : g.nodeVector()) {
      if (!bn->is("BatchNormalization")) continue;
      Node* conv = nullptr;
      std::string why = checkCandidate(bn, conv);
      std::optional<Tensor> w, b, scale, shift, mean, var;
      if (why.empty()) {
        w = constantValue(conv->input(1));
        b = conv->numInputs() > 2 && conv->input(2) ? constantValue(conv->input(2)) : std::nullopt;
        scale = constantValue(bn->input(1));
        shift = constantValue(bn->input(2));
        mean = constantValue(bn->input(3));
        var = constantValue(bn->input(4));
        if (!w)
          why = "the Conv weight is not constant";
        else if (conv->numInputs() > 2 && conv->input(2) && !b)
          why = "the Conv bias is not constant";
        else if (!scale || !shift || !mean || !var)
          why = "its parameters are not constant";
      }
      int64_t channels = 0;
      bool transposed = conv && conv->is("ConvTranspose");
      int64_t group = conv ? conv->intAttr("group", 1) : 1;
      if (why.empty()) {
        DType dt = w->dtype();
        if (!floatType(dt))
          why = "the weight is not floating point";
        else if (w->dims().size() < 3)
          why = "the weight has fewer than 3 dimensions";
        else if (group < 1 || w->dims()[0] % group)
          why = "the group count does not divide the weight";
        else {
          channels = transposed ? w->dims()[1] * group : w->dims()[0];
          for (const auto* t : {&*scale, &*shift, &*mean, &*var})
            if (t->numel() != channels || !floatType(t->dtype()))
              why = "its parameters do not have one float per output channel";
          if (b && (b->numel() != channels || b->dtype() != dt)) why = "the bias does not match";
        }
      }
      if (!why.empty()) {
        ctx.note("kept " + bn->describe() + ": " + why);
        ctx.count("batchnorms-kept");
        continue;
      }

      BatchNormParams p{toDoubles(*scale), toDoubles(*shift), toDoubles(*mean), toDoubles(*var),
                        bn->floatAttr("epsilon", 1e-5f)};
      std::vector<double> weight = toDoubles(*w);
      std::vector<double> bias =
          b ? toDoubles(*b) : std::vector<double>(static_cast<size_t>(channels), 0.0);
      foldBatchNormIntoWeights(weight, w->dims(), bias, p, transposed, group);

      Value* old_w = conv->input(1);
      Value* old_b = conv->numInputs() > 2 ? conv->input(2) : nullptr;
      Value* new_w = g.addInitializer(names.fresh(old_w->name() + "_bnfold"),
                                      fromDoubles(w->dtype(), w->dims(), weight));
      Value* new_b = g.addInitializer(
          names.fresh((old_b ? old_b->name() : old_w->name() + "_bias") + "_bnfold"),
          fromDoubles(w->dtype(), {channels}, bias));
      conv->setInput(1, new_w);
      conv->setInput(2, new_b);

      Value* y = conv->output(0);
      Value* z = bn->output(0);
      z->replaceAllUsesWith(y);
      bool was_output = z->isGraphOutput();
      std::string z_name = z->name();
      Type z_type = z->type();
      for (size_t i = 0; i < g.outputs().size(); ++i)
        if (g.outputs()[i] == z) g.setOutput(i, y);
      std::vector<Value*> unused = {old_w, old_b};
      for (size_t i = 1; i < bn->numInputs(); ++i)
        unused.push_back(bn->input(i));
      // The exporter shares equal tensors, so the same value can appear twice.
      std::sort(unused.begin(), unused.end());
      unused.erase(std::unique(unused.begin(), unused.end()), unused.end());
      g.eraseNode(bn);
      if (was_output) {
        y->setName(z_name);  // the graph keeps its output names
        y->setType(z_type);
      }
      for (Value* old : unused)
        if (old && !old->hasUses() && old->isConstantInitializer() && old->owner() == &g)
          g.removeInitializer(old);
      ++folded;
    }
  });
  ctx.count("batchnorms-folded", folded);
  return folded > 0;
}

}  // namespace mopt
