// quantize-static: options, calibration (or saved statistics), then the QDQ rewrite.
#include "passes/quantize/QuantizeStatic.h"

#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "passes/quantize/Calibrate.h"
#include "passes/quantize/QuantCommon.h"
#include "passes/quantize/StaticPlan.h"

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
        o.push_back({"calib-samples",
                     OptionType::Int,
                     "0",
                     "use at most this many samples (0: all)",
                     {},
                     false});
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
        o.push_back(
            {"load-calibration",
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
        o.push_back(
            {"format",
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
        o.push_back(
            {"weight-type", OptionType::Enum, "int8", "weight type", {"int8", "uint8"}, false});
        o.push_back({"per-channel",
                     OptionType::Bool,
                     "true",
                     "one weight scale per output channel",
                     {},
                     false});
        o.push_back({"symmetric-activations",
                     OptionType::Bool,
                     "false",
                     "activation ranges centred on zero",
                     {},
                     false});
        o.push_back({"symmetric-weights",
                     OptionType::Bool,
                     "true",
                     "weight ranges centred on zero",
                     {},
                     false});
        o.push_back({"reduce-range",
                     OptionType::Bool,
                     "false",
                     "7-bit weights (CPUs without VNNI)",
                     {},
                     false});
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
        o.push_back(
            {"threads", OptionType::Int, "1", "executor threads for calibration", {}, false});
        o.push_back({"show-ranges",
                     OptionType::Bool,
                     "false",
                     "report each quantized tensor's range, scale and zero point",
                     {},
                     false});
        return o;
      }()};
  return i;
}

bool QuantizeStaticPass::run(Model& model, PassContext& ctx) {
  StaticConfig cfg;
  cfg.activation_type = activationType(opts_.getString("activation-type"));
  cfg.weight_type = weightTypeFrom(opts_);
  cfg.per_channel = opts_.getBool("per-channel");
  cfg.activation_symmetric = opts_.getBool("symmetric-activations");
  cfg.weight_symmetric = opts_.getBool("symmetric-weights");
  cfg.reduce_range = opts_.getBool("reduce-range");
  cfg.fold_activations = opts_.getBool("fold-activations");
  cfg.show_ranges = opts_.getBool("show-ranges");
  cfg.method = parseCalibMethod(opts_.getString("method"));
  cfg.percentile = opts_.getFloat("percentile");
  for (const auto& o : opts_.getList("overrides"))
    parseOverride(o, cfg.overrides);
  const std::string data_path = opts_.getString("calib-data"),
                    load_path = opts_.getString("load-calibration");
  if (data_path.empty() == load_path.empty())
    fail(ErrorKind::Usage,
         "quantize-static needs calibration: give calib-data or load-calibration (one of them)");
  if (cfg.per_channel && model.opset("") < 13)
    fail(ErrorKind::Usage,
         "quantize-static: per-channel weights need opset 13 (the model has {}); run "
         "convert-opset{{target=13}} "
         "first or set per-channel=false",
         model.opset(""));

  inferShapesOnnx(model);  // the plan needs every activation's element type
  NodeSelection select = selectionFrom(opts_);
  StaticPlan plan = planStatic(model, cfg, select, ctx);
  if (plan.nodes.empty()) {
    ctx.note("nothing to quantize");
    return false;
  }
  StatsSet stats;
  if (!load_path.empty()) {
    stats = StatsSet::load(load_path);
  } else {
    CalibDataOptions dopts;
    for (const auto& m : opts_.getList("calib-map")) {
      auto eq = m.find('=');
      if (eq == std::string::npos)
        fail(ErrorKind::Usage, "calib-map entry '{}' must be INPUT=ARRAY", m);
      dopts.map.emplace_back(m.substr(0, eq), m.substr(eq + 1));
    }
    dopts.max_samples = opts_.getInt("calib-samples");
    dopts.batch = opts_.getInt("calib-batch");
    CalibrationData data(data_path, *model.graph, dopts);
    CalibrateOptions copts;
    copts.threads = static_cast<int>(opts_.getInt("threads"));
    stats = collectStats(model, data, plan.statNames(), copts);
    ctx.count("calibration-samples", stats.samples);
  }
  if (!opts_.getString("save-calibration").empty()) stats.save(opts_.getString("save-calibration"));
  applyStatic(model, plan, stats, cfg, ctx);
  if (opts_.getString("format") == "qoperator") lowerToQOperator(model, ctx);
  return true;
}

}  // namespace mopt
