// prune-magnitude: zeroes the smallest-magnitude weights of each layer (scope=layer) or of all
// prunable weights together (scope=global). Exactly floor(sparsity * n) elements end up zero
// (elements that were zero already count), ties at the threshold broken in model order, so the
// result is deterministic and the reported sparsity is the real one.
//
// Memory: weights are read where they lie (memory-mapped for large models) and each pruned
// weight is written once into a new buffer; the pages of the original are released as soon as
// it is replaced, so the peak stays near the size of the prunable weights.
#include "passes/prune/PruneMagnitude.h"

#include "ir/Error.h"
#include "passes/prune/PruneCommon.h"
#include "passes/prune/PruneMath.h"

#include <fmt/format.h>

#include <cmath>

namespace mopt {

const PassInfo& PruneMagnitudePass::info() {
  static const PassInfo i{
      "prune-magnitude", "prune",
      "Unstructured pruning: zero the smallest weights, per layer or globally",
      "Sets the smallest-magnitude elements of the constant weights of Conv, ConvTranspose, Gemm "
      "and MatMul to exact zeros; tensors keep their shape (dense storage, same file size unless "
      "compressed). scope=layer zeroes floor(sparsity * n) elements of each weight; scope=global "
      "finds one threshold over all prunable weights together (a two-pass radix select on |w|, "
      "no sort) and zeroes floor(sparsity * total) elements, so layers with many small weights "
      "lose more. Elements already zero count towards the target; ties at the threshold go in "
      "model order. Biases, normalization parameters and embedding tables (Gather) are not "
      "touched unless Gather is added to include-ops. A weight read by several nodes is pruned "
      "once; one also read by a node that is not pruned (or an excluded one) is left alone.",
      [] {
        auto o = pruneCommonOptions("Conv,ConvTranspose,Gemm,MatMul",
                                    "op types whose weights are pruned (Conv, ConvTranspose, Gemm, "
                                    "MatMul; Gather prunes embedding tables)");
        o.insert(o.begin(),
                 {{"sparsity",
                   OptionType::Float,
                   "0.5",
                   "fraction of the weights to set to zero, in [0, 1)",
                   {},
                   false},
                  {"scope",
                   OptionType::Enum,
                   "layer",
                   "layer: each weight to the sparsity; global: one threshold over all of them",
                   {"layer", "global"},
                   false}});
        return o;
      }()};
  return i;
}

namespace {

const std::vector<std::string> kKnownOps = {"Conv", "ConvTranspose", "Gemm", "MatMul", "Gather"};

int64_t targetCount(double fraction, int64_t n) {
  return static_cast<int64_t>(std::floor(fraction * static_cast<double>(n) + 1e-6));
}

}  // namespace

PruneMagnitudePass::PruneMagnitudePass(const OptionValues& o) : opts_(o) {
  checkedFraction(opts_, "sparsity", 0.0, 1.0);
  pruneSelectionFrom(opts_, kKnownOps);
}

bool PruneMagnitudePass::run(Model& model, PassContext& ctx) {
  const double sparsity = checkedFraction(opts_, "sparsity", 0.0, 1.0);
  const bool global = opts_.getString("scope") == "global";
  NodeSelection select = pruneSelectionFrom(opts_, kKnownOps);
  PruneSkips skips;
  PruneReport report;
  report.pass = "prune-magnitude";
  report.settings = fmt::format("sparsity={}, scope={}", sparsity, opts_.getString("scope"));
  std::vector<PrunableWeight> weights =
      collectWeights(model, select, opts_.getInt("min-size"), skips);

  auto addRow = [&](const PrunableWeight& w, Tensor pruned, int64_t zeros_before,
                    int64_t zeros_after) {
    replaceConstant(w.root, std::move(pruned));
    PruneLayer row;
    row.node = w.nodes();
    row.op = w.op();
    row.weight = w.root->name();
    row.params = w.tensor.numel();
    row.zeros_before = zeros_before;
    row.zeros_after = zeros_after;
    report.layers.push_back(row);
  };
  // Pages of each original are released once it has been read for the last time.
  auto release = [&](const std::vector<const Tensor*>& ts) {
    return [ts](size_t i) {
      if (const auto& buf = ts[i]->buffer()) buf->releasePages();
    };
  };
  if (global) {
    std::vector<const Tensor*> spans;
    int64_t total = 0;
    for (const auto& w : weights) {
      spans.push_back(&w.tensor);
      total += w.tensor.numel();
    }
    SmallestZeroed z = zeroSmallest(spans, targetCount(sparsity, total), release(spans));
    for (size_t i = 0; i < weights.size(); ++i)
      addRow(weights[i], std::move(z.tensors[i]), z.zeros_before[i], z.zeros_after[i]);
    ctx.count("sampled-threshold", z.sampled);
  } else {
    for (const auto& w : weights) {
      SmallestZeroed z =
          zeroSmallest({&w.tensor}, targetCount(sparsity, w.tensor.numel()), release({&w.tensor}));
      addRow(w, std::move(z.tensors[0]), z.zeros_before[0], z.zeros_after[0]);
    }
  }
  report.model_params_before = report.model_params_after = floatParams(model);

  ctx.count("layers-pruned", static_cast<int64_t>(report.layers.size()));
  ctx.count("weights-zeroed", report.zerosAfter() - report.zerosBefore());
  if (!report.layers.empty())
    ctx.note(fmt::format("{} weights in {} layers now {:.2f}% zero (were {:.2f}%)",
                         report.prunedParams(), report.layers.size(),
                         100.0 * static_cast<double>(report.zerosAfter()) /
                             static_cast<double>(std::max<int64_t>(report.prunedParams(), 1)),
                         100.0 * static_cast<double>(report.zerosBefore()) /
                             static_cast<double>(std::max<int64_t>(report.prunedParams(), 1))));
  skips.flush(ctx, report);
  ctx.table(pruneReportTable(report));
  if (!opts_.getString("report").empty()) writePruneReport(report, opts_.getString("report"));
  return report.zerosAfter() != report.zerosBefore();
}

}  // namespace mopt
