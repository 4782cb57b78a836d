// quantize-static: options, calibration (or saved statistics), then the QDQ rewrite.
#include "passes/quantize/QuantizeStatic.h"

#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "passes/quantize/Calibrate.h"
#include "passes/quantize/QuantCommon.h"
#include "passes/quantize/Sensitivity.h"
#include "passes/quantize/StaticPlan.h"

#include <fmt/format.h>

#include <memory>

namespace mopt {

namespace {

std::string defaultOps() {
  std::string s;
  for (const auto& op : staticQuantizableOps())
    s += (s.empty() ? "" : ",") + op;
  return s;
}

DType activationType(const std::string& s) {
  if (s == "uint8") return DType::U8;
  if (s == "int8") return DType::I8;
  if (s == "uint16") return DType::U16;
  return DType::I16;
}

}  // namespace

// The options quantize-static and quantization-sensitivity share: selection, calibration, types.
static std::vector<OptionSpec> staticOptions() {
  auto o = selectionOptions(defaultOps(), "op types to quantize");
  o.push_back({"calib-data",
               OptionType::String,
               "",
               ".npz/.npy file or folder of calibration samples",
               {},
               false});
  o.push_back({"calib-map",
               OptionType::StringList,
               "",
               "INPUT=ARRAY pairs: feed graph input INPUT from array ARRAY",
               {},
               false});
  o.push_back(
      {"calib-samples", OptionType::Int, "0", "use at most this many samples (0: all)", {}, false});
  o.push_back({"calib-batch",
               OptionType::Int,
               "1",
               "samples per calibration run (free batch dim only)",
               {},
               false});
  o.push_back({"method",
               OptionType::Enum,
               "minmax",
               "how ranges are chosen from the statistics",
               {"minmax", "percentile", "entropy", "mse"},
               false});
  o.push_back({"percentile",
               OptionType::Float,
               "99.999",
               "percentile method: share of values kept",
               {},
               false});
  o.push_back({"load-calibration",
               OptionType::String,
               "",
               "statistics file from mopt calibrate or save-calibration (instead of calib-data)",
               {},
               false});
  o.push_back({"save-calibration",
               OptionType::String,
               "",
               "write the collected statistics here",
               {},
               false});
  o.push_back({"format",
               OptionType::Enum,
               "qdq",
               "qdq: QuantizeLinear/DequantizeLinear pairs (ONNX Runtime fuses them); qoperator: "
               "QLinearConv/QLinearMatMul",
               {"qdq", "qoperator"},
               false});
  o.push_back({"activation-type",
               OptionType::Enum,
               "uint8",
               "activation type",
               {"uint8", "int8", "uint16", "int16"},
               false});
  o.push_back({"weight-type", OptionType::Enum, "int8", "weight type", {"int8", "uint8"}, false});
  o.push_back(
      {"per-channel", OptionType::Bool, "true", "one weight scale per output channel", {}, false});
  o.push_back({"symmetric-activations",
               OptionType::Bool,
               "false",
               "activation ranges centred on zero",
               {},
               false});
  o.push_back(
      {"symmetric-weights", OptionType::Bool, "true", "weight ranges centred on zero", {}, false});
  o.push_back(
      {"reduce-range", OptionType::Bool, "false", "7-bit weights (CPUs without VNNI)", {}, false});
  o.push_back({"fold-activations",
               OptionType::Bool,
               "true",
               "fold Relu/Clip(0,x) after quantized ops into their output range",
               {},
               false});
  o.push_back({"overrides",
               OptionType::StringList,
               "",
               "per-tensor: NAME=float, NAME=int8|uint8|int16|uint16, NAME=range:LO:HI",
               {},
               false});
  o.push_back({"threads", OptionType::Int, "1", "executor threads for calibration", {}, false});
  o.push_back({"show-ranges",
               OptionType::Bool,
               "false",
               "report each quantized tensor's range, scale and zero point",
               {},
               false});
  return o;
}

// Where quality is measured (sensitivity, auto-exclude).
static void addEvaluationOptions(std::vector<OptionSpec>& o) {
  o.push_back({"eval-data",
               OptionType::String,
               "",
               "samples to measure quality on (default: calib-data)",
               {},
               false});
  o.push_back({"eval-map",
               OptionType::StringList,
               "",
               "INPUT=ARRAY pairs for eval-data (default: calib-map)",
               {},
               false});
  o.push_back({"eval-samples",
               OptionType::Int,
               "32",
               "use at most this many evaluation samples",
               {},
               false});
  o.push_back({"eval-labels",
               OptionType::String,
               "",
               "array of eval-data with one integer class per sample: report top-1 accuracy",
               {},
               false});
  o.push_back({"report",
               OptionType::String,
               "",
               "write the sensitivity table here (.json, .md, text, or - for standard output)",
               {},
               false});
}

const PassInfo& QuantizeStaticPass::info() {
  static const PassInfo i{
      "quantize-static", "quantize",
      "int8 activations and weights, ranges calibrated on data (QDQ or QOperator)",
      "Quantizes activations with ranges measured on calibration data, and weights, following ONNX "
      "Runtime's QDQ conventions so that its integer kernels really run: every quantized tensor is "
      "read through QuantizeLinear -> DequantizeLinear; Conv/ConvTranspose/Gemm/MatMul get int8 "
      "per-channel weights and int32 biases (scale s_x * s_w); Add, Mul, Concat and average "
      "pooling "
      "get their own output ranges; shape-only ops (MaxPool, Reshape, Flatten, Transpose, Squeeze, "
      "Unsqueeze, Slice, Gather, Split, Resize, ...) share their input's parameters; Relu and "
      "Clip(0, x) after a quantized op fold into its output range. Everything else (Softmax, "
      "LayerNormalization, Gelu, ...) stays float, reading the dequantized values. "
      "format=qoperator "
      "then rewrites Conv/MatMul units as QLinearConv/QLinearMatMul and runs shape-only ops on the "
      "quantized data. Calibration runs the float model on calib-data (.npz/.npy, or a folder of "
      "them; one array per graph input, samples along axis 0; everything is checked before any "
      "work) in one streaming pass: exact min/max and a 4096-bin histogram per tensor, whose range "
      "grows by doubling, so memory stays fixed and shards merge exactly (mopt calibrate --merge). "
      "Methods: minmax, percentile (two-sided; |x| when symmetric), entropy (KL divergence, as "
      "TensorRT), mse (range minimising the expected squared error over the histogram). "
      "save-calibration / load-calibration write and read the statistics (JSON). overrides: "
      "NAME=float keeps a tensor float, NAME=int16 (uint8, int8, uint16) changes its type, "
      "NAME=range:LO:HI fixes its range. Needs opset >= 13 for per-channel weights.",
      [] {
        auto o = staticOptions();
        addEvaluationOptions(o);
        o.push_back(
            {"auto-exclude",
             OptionType::String,
             "",
             "keep the most sensitive nodes in float until a target holds: min-cosine=0.99, "
             "min-sqnr=30 or max-drop=0.5 (accuracy points, with eval-labels)",
             {},
             false});
        return o;
      }()};
  return i;
}

namespace {

std::vector<std::pair<std::string, std::string>> parsePairs(const std::vector<std::string>& items,
                                                            const std::string& option) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& m : items) {
    auto eq = m.find('=');
    if (eq == std::string::npos)
      fail(ErrorKind::Usage, "{} entry '{}' must be INPUT=ARRAY", option, m);
    out.emplace_back(m.substr(0, eq), m.substr(eq + 1));
  }
  return out;
}

// Everything before the rewrite: options, the plan, the statistics (calibrated or loaded).
struct StaticSetup {
  StaticConfig cfg;
  NodeSelection select;
  StaticPlan plan;
  StatsSet stats;

  // `analyse`: statistics for every planned tensor, as sensitivity analysis quantizes subsets.
  StaticSetup(Model& model, const OptionValues& o, PassContext& ctx, const std::string& pass,
              bool analyse)
      : select(selectionFrom(o)) {
    cfg.activation_type = activationType(o.getString("activation-type"));
    cfg.weight_type = weightTypeFrom(o);
    cfg.per_channel = o.getBool("per-channel");
    cfg.activation_symmetric = o.getBool("symmetric-activations");
    cfg.weight_symmetric = o.getBool("symmetric-weights");
    cfg.reduce_range = o.getBool("reduce-range");
    cfg.fold_activations = o.getBool("fold-activations");
    cfg.show_ranges = o.getBool("show-ranges");
    cfg.method = parseCalibMethod(o.getString("method"));
    cfg.percentile = o.getFloat("percentile");
    for (const auto& ov : o.getList("overrides"))
      parseOverride(ov, cfg.overrides);
    inferShapesOnnx(model);  // the plan needs every activation's element type
    plan = planStatic(model, cfg, select, ctx);
    if (plan.nodes.empty()) return;  // nothing to quantize: no calibration needed
    const std::string data_path = o.getString("calib-data"),
                      load_path = o.getString("load-calibration");
    if (data_path.empty() == load_path.empty())
      fail(ErrorKind::Usage,
           "{} needs calibration: give calib-data or load-calibration (one of them)", pass);
    if (cfg.per_channel && model.opset("") < 13)
      fail(ErrorKind::Usage,
           "{}: per-channel weights need opset 13 (the model has {}); run "
           "convert-opset{{target=13}} first or set "
           "per-channel=false",
           pass, model.opset(""));
    if (!load_path.empty()) {
      stats = StatsSet::load(load_path);
    } else {
      CalibDataOptions dopts;
      dopts.map = parsePairs(o.getList("calib-map"), "calib-map");
      dopts.max_samples = o.getInt("calib-samples");
      dopts.batch = o.getInt("calib-batch");
      CalibrationData data(data_path, *model.graph, dopts);
      CalibrateOptions copts;
      copts.threads = passThreads(o, ctx);
      stats = collectStats(model, data, analyse ? plan.allStatNames() : plan.statNames(), copts);
      ctx.count("calibration-samples", stats.samples);
    }
    if (!o.getString("save-calibration").empty()) stats.save(o.getString("save-calibration"));
  }
};

// The evaluation data of a sensitivity analysis, checked before any work.
std::unique_ptr<CalibrationData> evaluationData(const Model& model, const OptionValues& o) {
  std::string path = o.getString("eval-data");
  CalibDataOptions d;
  d.map =
      parsePairs(o.isSet("eval-map") || !o.getString("eval-data").empty() ? o.getList("eval-map")
                                                                          : o.getList("calib-map"),
                 "eval-map");
  if (path.empty()) path = o.getString("calib-data");
  if (path.empty())
    fail(ErrorKind::Usage,
         "sensitivity analysis needs evaluation samples: give eval-data (or calib-data)");
  d.max_samples = o.getInt("eval-samples");
  d.batch = 8;
  if (!o.getString("eval-labels").empty()) d.extra_arrays.push_back(o.getString("eval-labels"));
  return std::make_unique<CalibrationData>(path, *model.graph, d);
}

void tableReport(const SensitivityReport& r, PassContext& ctx) {
  ReportTable t{"quantization sensitivity (each node alone)",
                {"node", "op", "SQNR dB", "cosine"},
                {},
                "SQNR dB"};
  for (const auto& row : r.rows)
    t.rows.push_back({row.node, row.op, fmt::format("{:.2f}", row.alone.sqnr_db),
                      fmt::format("{:.6f}", row.alone.cosine)});
  ctx.table(std::move(t));
}

void noteReport(const SensitivityReport& r, PassContext& ctx, size_t top) {
  ctx.note(fmt::format("all quantized: SQNR {:.2f} dB, cosine {:.6f}{}", r.all.sqnr_db,
                       r.all.cosine,
                       r.all.accuracy ? fmt::format(", accuracy {:.2f}% (float {:.2f}%)",
                                                    *r.all.accuracy, r.float_accuracy.value_or(0))
                                      : ""));
  for (size_t i = 0; i < r.rows.size() && i < top; ++i)
    ctx.note(fmt::format("sensitive #{}: {} ({}) alone: SQNR {:.2f} dB, cosine {:.6f}", i + 1,
                         r.rows[i].node, r.rows[i].op, r.rows[i].alone.sqnr_db,
                         r.rows[i].alone.cosine));
}

// Static quantization plans the main graph only: calibration observes the main graph's values,
// and If/Loop/Scan bodies see per-iteration values it does not record. Say what stays float.
void noteSubgraphNodes(const Model& model, const NodeSelection& select, PassContext& ctx) {
  int64_t n = 0;
  std::string first;
  forEachGraph(*model.graph, [&](const Graph& g) {
    if (&g == model.graph.get()) return;
    for (const Node* node : g.nodes())
      if (select.includes(*node) && (++n == 1))
        first = node->name().empty() ? node->opType() : node->name();
  });
  if (!n) return;
  ctx.count("subgraph-nodes-left-float", n);
  ctx.note(fmt::format(
      "left {} node(s) inside If/Loop/Scan bodies in float (e.g. {}): static quantization "
      "covers the main graph; quantize-dynamic and quantize-weight-only cover bodies too",
      n, first));
}

}  // namespace

bool QuantizeStaticPass::run(Model& model, PassContext& ctx) {
  StaticSetup setup(model, opts_, ctx, "quantize-static", !opts_.getString("auto-exclude").empty());
  noteSubgraphNodes(model, setup.select, ctx);
  if (setup.plan.nodes.empty()) {
    ctx.note("nothing to quantize");
    return false;
  }
  const std::string target_text = opts_.getString("auto-exclude");
  if (!target_text.empty()) {
    QualityTarget target = parseQualityTarget(target_text);
    auto data = evaluationData(model, opts_);
    QualityProbe probe(model, *data, opts_.getString("eval-labels"), passThreads(opts_, ctx));
    SensitivityReport report =
        analyzeSensitivity(model, setup.cfg, setup.select, setup.stats, probe);
    std::set<size_t> excluded =
        autoExclude(model, setup.cfg, setup.select, setup.stats, probe, target, report);
    if (!opts_.getString("report").empty())
      writeSensitivityReport(report, opts_.getString("report"));
    tableReport(report, ctx);
    for (const auto& name : report.kept_float)
      ctx.note("auto-exclude kept " + name + " in float");
    ctx.note(fmt::format(
        "auto-exclude {}: {} with {} node(s) in float: SQNR {:.2f} dB, cosine {:.6f}{}",
        target.text, target.met(*report.final, probe.floatAccuracy()) ? "met" : "NOT met",
        excluded.size(), report.final->sqnr_db, report.final->cosine,
        report.final->accuracy ? fmt::format(", accuracy {:.2f}%", *report.final->accuracy) : ""));
    ctx.count("nodes-kept-float", static_cast<int64_t>(excluded.size()));
    if (!target.met(*report.final, probe.floatAccuracy()))
      fail(ErrorKind::Pass,
           "auto-exclude could not reach {} even with every analysed node in float (reached SQNR "
           "{:.2f} dB, "
           "cosine {:.6f})",
           target.text, report.final->sqnr_db, report.final->cosine);
    setup.cfg.excluded_nodes = excluded;
    PassContext quiet;
    setup.plan = planStatic(model, setup.cfg, setup.select, quiet);
  } else if (!opts_.getString("report").empty()) {
    fail(ErrorKind::Usage,
         "quantize-static: report needs auto-exclude (or use quantization-sensitivity)");
  }
  applyStatic(model, setup.plan, setup.stats, setup.cfg, ctx);
  if (opts_.getString("format") == "qoperator") lowerToQOperator(model, ctx);
  return true;
}

const PassInfo& QuantizationSensitivityPass::info() {
  static const PassInfo i{
      "quantization-sensitivity", "quantize",
      "Per-node quantization error (SQNR, cosine, accuracy), as a report; the model is unchanged",
      "Plans static quantization exactly as quantize-static would (same options), calibrates, then "
      "measures on evaluation samples the model with every planned node quantized and, for each "
      "Conv, ConvTranspose, Gemm, MatMul, Add, Mul, Concat and average pool, the model with only "
      "that node quantized: SQNR and cosine of the first output against the float model, and top-1 "
      "accuracy with eval-labels. The table (most sensitive first) goes to `report` (.json, .md or "
      "text) and its head to the pass notes. The model passes through unchanged, so the pass can "
      "sit in front of quantize-static in a pipeline.",
      [] {
        auto o = staticOptions();
        addEvaluationOptions(o);
        return o;
      }()};
  return i;
}

bool QuantizationSensitivityPass::run(Model& model, PassContext& ctx) {
  Model work = cloneModel(model);  // the report must not depend on (or change) what follows
  StaticSetup setup(work, opts_, ctx, "quantization-sensitivity", true);
  if (setup.plan.nodes.empty()) {
    ctx.note("nothing to quantize");
    return false;
  }
  auto data = evaluationData(work, opts_);
  QualityProbe probe(work, *data, opts_.getString("eval-labels"), passThreads(opts_, ctx));
  SensitivityReport report = analyzeSensitivity(work, setup.cfg, setup.select, setup.stats, probe);
  if (!opts_.getString("report").empty()) writeSensitivityReport(report, opts_.getString("report"));
  noteReport(report, ctx, 10);
  tableReport(report, ctx);
  ctx.count("nodes-analysed", static_cast<int64_t>(report.rows.size()));
  return false;
}

}  // namespace mopt
