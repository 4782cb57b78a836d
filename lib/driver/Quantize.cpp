// `mopt quantize` / `mopt calibrate`.
#include "driver/Quantize.h"

#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "pass/PassManager.h"
#include "passes/Registry.h"
#include "passes/quantize/Calibrate.h"

#include <set>

namespace mopt {

namespace {

// What every quantization mode runs first. Identity removal and BatchNorm folding make weights
// visible as constants of the ops that read them (as ONNX Runtime's quant_pre_process does);
// opset 13 is the first with per-axis QuantizeLinear/DequantizeLinear.
const char* kPreprocess = "eliminate-identity,fold-bn-into-conv,dce";
const char* kOpsetFloor = "convert-opset{target=13,only-upgrade=true}";
// DequantizeLinear with block_size (blocked weight-only QDQ) exists from opset 21 on.
const char* kOpsetBlockedQdq = "convert-opset{target=21,only-upgrade=true}";

}  // namespace

const std::map<std::string, std::string>& quantizeModes() {
  static const std::map<std::string, std::string> m = {{"dynamic", "quantize-dynamic"},
                                                       {"static", "quantize-static"},
                                                       {"weight-only", "quantize-weight-only"},
                                                       {"fp16", "convert-float16"},
                                                       {"bf16", "convert-bfloat16"}};
  return m;
}

std::map<std::string, std::string> quantizeOptionHelp() {
  std::map<std::string, std::string> help;
  std::map<std::string, std::string> modes;
  const PassRegistry& reg = passRegistry();
  for (const auto& [mode, pass] : quantizeModes()) {
    const PassEntry* e = reg.find(pass);
    if (!e) continue;
    for (const auto& o : e->info->options) {
      std::string& h = help[o.name];
      if (h.empty()) h = o.help;
      std::string& m = modes[o.name];
      m += (m.empty() ? "" : ", ") + mode;
    }
  }
  for (auto& [name, h] : help)
    h += " [" + modes[name] + "]";
  return help;
}

std::string quantizePipelineText(const QuantizeRequest& req) {
  auto it = quantizeModes().find(req.mode);
  if (it == quantizeModes().end())
    fail(ErrorKind::Usage, "--mode must be dynamic, static, weight-only, fp16 or bf16, not '{}'",
         req.mode);
  std::string pass = it->second;
  if (req.analyze) {
    if (req.mode != "static")
      fail(ErrorKind::Usage, "--analyze measures static quantization: use it with --mode static");
    pass = "quantization-sensitivity";
  }
  const PassEntry* e = passRegistry().find(pass);
  if (!e) fail(ErrorKind::Usage, "--mode {}: this build has no pass '{}'", req.mode, pass);
  bool has_report = false, blocked_qdq = false;
  std::string opts;
  for (const auto& [name, values] : req.options) {
    const OptionSpec* spec = nullptr;
    for (const auto& o : e->info->options)
      if (o.name == name) spec = &o;
    if (!spec)
      fail(ErrorKind::Usage, "--{} does not apply to --mode {}{} (pass {})", name, req.mode,
           req.analyze ? " --analyze" : "", pass);
    has_report = has_report || name == "report";
    blocked_qdq = blocked_qdq || (req.mode == "weight-only" && name == "format" &&
                                  values.size() == 1 && values[0] == "qdq");
    std::string v;
    if (spec->type == OptionType::StringList) {
      for (const auto& x : values)
        v += (v.empty() ? "" : ",") + quotePipelineValue(x);
      v = "[" + v + "]";
    } else {
      if (values.size() != 1) fail(ErrorKind::Usage, "--{} takes one value", name);
      v = quotePipelineValue(values[0]);
    }
    opts += (opts.empty() ? "" : ",") + name + "=" + v;
  }
  if (req.analyze && !has_report) opts += std::string(opts.empty() ? "" : ",") + "report=\"-\"";
  std::string text;
  if (req.preprocess && req.mode != "fp16" && req.mode != "bf16") {
    text = kPreprocess;
    if (req.mode == "dynamic" || req.mode == "static") text = std::string(kOpsetFloor) + "," + text;
    text += ",";
  }
  // Not part of preprocessing: without the upgrade the pass cannot write its output at all.
  if (blocked_qdq) text += std::string(kOpsetBlockedQdq) + ",";
  text += pass;
  if (!opts.empty()) text += "{" + opts + "}";
  return text;
}

RunResult quantizeModel(const QuantizeRequest& req) {
  RunRequest run;
  run.pipeline_text = quantizePipelineText(req);
  run.input = req.input;
  run.output = req.output;
  if (req.analyze) {
    if (!req.output.empty())
      fail(ErrorKind::Usage, "--analyze writes a report, not a model: drop -o (or use --report)");
    run.write_output = false;
  }
  run.dry_run = req.dry_run;
  run.in_place = req.in_place;
  run.fsync = req.fsync;
  run.external_data = req.external_data;
  run.load = req.load;
  run.ir_out = req.ir_out;
  return runPipeline(run);
}

StatsSet calibrateModel(const CalibrateRequest& req) {
  if (req.shards < 1 || req.shard < 0 || req.shard >= req.shards)
    fail(ErrorKind::Usage, "--shard must be K/N with 0 <= K < N");
  Model m = loadModel(req.model, req.load);
  if (req.preprocess) {
    Pipeline p = parsePipeline(std::string(kOpsetFloor) + "," + kPreprocess, passRegistry());
    PassManagerOptions pmo;
    pmo.schemas = &onnxSchemas();
    PassManager(pmo).run(p, m);
  }
  inferShapesOnnx(m);
  CalibDataOptions dopts;
  dopts.map = req.map;
  dopts.batch = req.batch;
  CalibrationData probe(req.data, *m.graph, dopts);
  int64_t total = req.samples > 0 ? std::min(req.samples, probe.samples()) : probe.samples();
  dopts.first_sample = total * req.shard / req.shards;
  dopts.max_samples = total * (req.shard + 1) / req.shards - dopts.first_sample;
  if (dopts.max_samples <= 0)
    failInput("{}: shard {}/{} holds no samples ({} in all)", req.data, req.shard, req.shards,
              total);
  CalibrationData data(req.data, *m.graph, dopts);
  // Every float activation of the main graph: whichever tensors a later quantize-static plans
  // (whatever its include/exclude options), their statistics are here.
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const Value* v : m.graph->inputs())
    if (!v->isInitializer() && v->type().isTensor() && v->type().elemType() == DType::F32 &&
        seen.insert(v->name()).second)
      names.push_back(v->name());
  for (const Node* n : m.graph->nodes())
    for (const Value* v : n->outputs())
      if (v && v->type().isTensor() && v->type().elemType() == DType::F32 &&
          seen.insert(v->name()).second)
        names.push_back(v->name());
  CalibrateOptions copts;
  copts.threads = req.threads;
  StatsSet stats = collectStats(m, data, names, copts);
  if (!req.output.empty()) stats.save(req.output);
  return stats;
}

StatsSet mergeCalibration(const std::vector<std::string>& paths) {
  if (paths.empty()) fail(ErrorKind::Usage, "--merge needs statistics files");
  StatsSet all;
  for (const auto& p : paths)
    all.merge(StatsSet::load(p));
  return all;
}

}  // namespace mopt
