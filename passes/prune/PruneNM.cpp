// prune-nm: in every group of m consecutive weights along the reduction axis, keeps the n of
// largest magnitude. The groups are the ones NVIDIA's sparse tensor cores (TensorRT, cuSPARSELt)
// require:
//   Conv           W[M, C/g, kH, kW]: for each output channel and kernel position, groups of m
//                  consecutive input channels (axis 1), so C/g must be a multiple of m;
//   ConvTranspose  W[C, M/g, kH, kW]: the same along the input channels (axis 0);
//   MatMul         B[K, N]: for each output column, groups of m consecutive rows (along K);
//                  a constant left operand A[M, K] along its last axis;
//   Gemm           B[K, N] along axis 0, or B[N, K] (transB=1) along axis 1.
#include "passes/prune/PruneNM.h"

#include "ir/Error.h"
#include "passes/prune/PruneCommon.h"
#include "passes/prune/PruneMath.h"

#include <fmt/format.h>

namespace mopt {

const PassInfo& PruneNMPass::info() {
  static const PassInfo i{
      "prune-nm", "prune",
      "N:M sparsity (default 2:4) along the reduction axis, for sparse tensor cores",
      "In every group of m consecutive weights along a layer's reduction axis, zeroes the m - n "
      "of smallest magnitude, so each group has at least m - n zeros. Conv groups run along the "
      "input channels for each output channel and kernel position (W[M, C/g, kH, kW], axis 1; "
      "ConvTranspose axis 0), MatMul B[K, N] along K for each column (a constant left operand "
      "along its last axis), Gemm along K (axis 0, or axis 1 with transB). A weight whose "
      "reduction length is not a multiple of m is left alone (the runtimes that exploit the "
      "pattern need whole groups), as is one whose readers disagree on the axis. Tensors keep "
      "their shape; NVIDIA Ampere and later GPUs run 2:4 weights on sparse tensor cores through "
      "TensorRT (ONNX Runtime's TensorRT provider with trt_sparsity_enable); ONNX Runtime's CPU "
      "kernels do not exploit it.",
      [] {
        auto o = pruneCommonOptions("Conv,ConvTranspose,Gemm,MatMul",
                                    "op types whose weights are pruned (Conv, ConvTranspose, Gemm, "
                                    "MatMul)");
        o.insert(o.begin(), {{"n", OptionType::Int, "2", "weights kept in each group", {}, false},
                             {"m",
                              OptionType::Int,
                              "4",
                              "group length along the reduction axis (2..64)",
                              {},
                              false}});
        return o;
      }()};
  return i;
}

namespace {

const std::vector<std::string> kKnownOps = {"Conv", "ConvTranspose", "Gemm", "MatMul"};

void checkNM(const OptionValues& o) {
  int64_t n = o.getInt("n"), m = o.getInt("m");
  if (m < 2 || m > 64) fail(ErrorKind::Usage, "m must be in [2, 64], not {}", m);
  if (n < 1 || n >= m) fail(ErrorKind::Usage, "n must be in [1, m), not {} (m={})", n, m);
}

// The reduction axis of the weight read by `u`, or -1 (with `why`) when there is none.
int64_t reductionAxis(const WeightUse& u, const Tensor& w, std::string& why) {
  const Node& n = *u.node;
  const int64_t rank = static_cast<int64_t>(w.dims().size());
  if (n.is("Conv") || n.is("ConvTranspose")) {
    if (rank < 3) {
      why = "its weight has fewer than 3 dimensions";
      return -1;
    }
    return n.is("Conv") ? 1 : 0;
  }
  if (n.is("Gemm")) {
    if (rank != 2) {
      why = "its weight is not a matrix";
      return -1;
    }
    return n.intAttr("transB", 0) ? 1 : 0;
  }
  if (n.is("MatMul")) {
    if (rank < 2) {
      why = "its weight is not a matrix";
      return -1;
    }
    return u.input == 1 ? rank - 2 : rank - 1;
  }
  why = "it has no reduction axis";
  return -1;
}

}  // namespace

PruneNMPass::PruneNMPass(const OptionValues& o) : opts_(o) {
  checkNM(opts_);
  pruneSelectionFrom(opts_, kKnownOps);
}

bool PruneNMPass::run(Model& model, PassContext& ctx) {
  checkNM(opts_);
  const int64_t n = opts_.getInt("n"), m = opts_.getInt("m");
  NodeSelection select = pruneSelectionFrom(opts_, kKnownOps);
  PruneSkips skips;
  PruneReport report;
  report.pass = "prune-nm";
  report.settings = fmt::format("n={}, m={}", n, m);
  std::vector<PrunableWeight> weights =
      collectWeights(model, select, opts_.getInt("min-size"), skips);
  for (PrunableWeight& w : weights) {
    std::string why;
    int64_t axis = -1;
    for (const auto& u : w.uses) {
      std::string reason;
      int64_t a = reductionAxis(u, w.tensor, reason);
      if (a < 0) why = reason;
      if (axis >= 0 && a != axis) why = "its readers reduce it along different axes";
      axis = a;
    }
    if (why.empty() && w.tensor.dims()[static_cast<size_t>(axis)] % m != 0)
      why = fmt::format("its reduction axis has {} elements, not a multiple of m={}",
                        w.tensor.dims()[static_cast<size_t>(axis)], m);
    if (!why.empty()) {
      for (const auto& u : w.uses)
        skips.add(*u.node, why);
      continue;
    }
    int64_t zeros_after = 0;
    const int64_t zeros_before = countZeroKeys(w.tensor);
    Tensor pruned = pruneNM(w.tensor, axis, n, m, zeros_after);
    if (!satisfiesNM(pruned, axis, n, m))
      fail(ErrorKind::Internal, "prune-nm: {} does not satisfy {}:{} after pruning", w.root->name(),
           n, m);
    replaceConstant(w.root, std::move(pruned));
    if (const auto& buf = w.tensor.buffer()) buf->releasePages();
    PruneLayer row;
    row.node = w.nodes();
    row.op = w.op();
    row.weight = w.root->name();
    row.params = w.tensor.numel();
    row.zeros_before = zeros_before;
    row.zeros_after = zeros_after;
    report.layers.push_back(row);
  }
  report.model_params_before = report.model_params_after = floatParams(model);
  ctx.count("layers-pruned", static_cast<int64_t>(report.layers.size()));
  ctx.count("weights-zeroed", report.zerosAfter() - report.zerosBefore());
  if (!report.layers.empty())
    ctx.note(fmt::format("{}:{} on {} layers: {} weights, {:.2f}% zero", n, m, report.layers.size(),
                         report.prunedParams(),
                         100.0 * static_cast<double>(report.zerosAfter()) /
                             static_cast<double>(std::max<int64_t>(report.prunedParams(), 1))));
  skips.flush(ctx, report);
  ctx.table(pruneReportTable(report));
  if (!opts_.getString("report").empty()) writePruneReport(report, opts_.getString("report"));
  return report.zerosAfter() != report.zerosBefore();
}

}  // namespace mopt
