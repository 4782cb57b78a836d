// The mopt command line: parses flags into a request and makes one library call per command.
#include "PassCommand.h"
#include "PruneCommands.h"
#include "QuantizeCommands.h"
#include "data/Npy.h"
#include "driver/Driver.h"
#include "driver/Evaluate.h"
#include "driver/Inspect.h"
#include "exec/Executor.h"
#include "ir/Error.h"
#include "ir/Printer.h"
#include "passes/Registry.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdint>
#include <iostream>
#include <sstream>

using namespace mopt;

namespace {

std::optional<ExternalDataMode> externalDataFlag(const std::string& value) {
  if (value.empty()) return std::nullopt;
  auto mode = parseExternalDataMode(value);
  if (!mode)
    fail(ErrorKind::Usage, "--external-data must be auto, always or never, not '{}'", value);
  return mode;
}

// Limits on what an input model may declare: one set for whichever command runs, raised with the
// flags addLoadLimitFlags() gives every command that loads models (docs/cli.md).
OnnxLoadOptions load_limits;

void addLoadLimitFlags(CLI::App* cmd) {
  auto* g = cmd->add_option_group("input limits", "what an input model may declare");
  g->add_option("--max-tensor-bytes", load_limits.max_tensor_bytes,
                "data of one tensor, e.g. 32G (default 16G)")
      ->transform(CLI::AsSizeValue(false));
  g->add_option("--max-total-bytes", load_limits.max_total_bytes,
                "data of all tensors together (default 1T)")
      ->transform(CLI::AsSizeValue(false));
  g->add_option("--max-nodes", load_limits.max_nodes,
                "nodes in all graphs and functions (default 4194304)")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  g->add_option("--max-nesting", load_limits.max_nesting,
                "depth of nested messages, a subgraph adds ~4 (default 64, at most 1024)")
      ->check(CLI::Range(1, 1024));
  g->add_option("--max-string-bytes", load_limits.max_string_bytes,
                "one string: a name, attribute or element (default 256M)")
      ->transform(CLI::AsSizeValue(false));
  g->add_option("--max-string-elements", load_limits.max_string_elements,
                "elements of one string tensor (default 16777216)")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  // Data files (.npy/.npz: calibration, evaluation, training, inputs).
  NpyLimits& npy = defaultNpyLimits();
  g->add_option("--max-array-bytes", npy.max_array_bytes,
                "data files: one array's bytes (default 16G)")
      ->transform(CLI::AsSizeValue(false));
  g->add_option("--max-archive-bytes", npy.max_total_bytes,
                "data files: all arrays of one .npz, inflated (default 64G)")
      ->transform(CLI::AsSizeValue(false));
  g->add_option("--max-array-strings", npy.max_strings,
                "data files: elements of one string array (default 16777216)")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
}

// How to read an input model: the limits above; for TorchScript, explicit input shapes, else the
// arrays of a sample .npz.
LoadOptions loadOptions(const std::vector<std::string>& shapes = {}, const std::string& sample = "",
                        const std::string& map = "") {
  LoadOptions o;
  o.onnx = load_limits;
  for (const auto& s : shapes)
    o.torchscript.inputs.push_back(parseInputSpec(s));
  if (o.torchscript.inputs.empty()) {
    o.sample_npz = sample;
    o.sample_map = parseMap(map);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mopt: offline model optimization (quantize, prune, convert, inspect)", "mopt"};
  app.set_version_flag("--version", std::string("mopt ") + MOPT_VERSION);
  app.require_subcommand(1);

  // inspect
  std::string inspect_model;
  bool inspect_json = false;
  auto* inspect = app.add_subcommand("inspect", "Show what is inside a model");
  inspect->add_option("model", inspect_model, "ONNX model")->required();
  inspect->add_flag("--json", inspect_json, "machine-readable output (schema in docs/cli.md)");

  // convert
  ConvertRequest conv;
  std::string conv_external;
  int64_t conv_opset = 0;
  auto* convert = app.add_subcommand("convert", "Convert a model (format, opset, external data)");
  convert->add_option("input", conv.input, "input model")->required();
  convert->add_option("-o,--output", conv.output, "output model")->required();
  convert->add_option("--opset", conv_opset, "target opset of the default ONNX domain");
  convert
      ->add_option("--external-data", conv_external,
                   "auto (keep the input's layout, external above 2 GB), always, never")
      ->expected(0, 1)
      ->default_str("always");
  convert->add_flag("--in-place", conv.in_place, "allow the output to replace the input");
  convert->add_flag("--fsync", conv.save.onnx.fsync, "flush the output to disk before renaming it");
  std::vector<std::string> conv_shapes;
  convert->add_option("--to", conv.save.to, "onnx or torchscript (default: from the extension)");
  convert->add_option("--input-shape", conv_shapes,
                      "TorchScript inputs: NAME[:dtype]=d0,d1,... (N for symbolic)");
  convert->add_option("--inputs", conv.load.sample_npz, "TorchScript inputs from a sample .npz");
  bool conv_dequantize = false;
  convert->add_flag("--dequantize-weights", conv_dequantize,
                    "TorchScript output: store quantized weights as float (bigger file)");
  convert->add_flag("--keep-batchnorm", conv.load.torchscript.keep_batchnorm,
                    "TorchScript: keep BatchNormalization instead of folding it while freezing");

  // run
  RunRequest run;
  std::string run_arg, run_external, print_after;
  auto* runc = app.add_subcommand("run", "Run a pipeline file, or -p PIPELINE on a model");
  runc->add_option("spec_or_model", run_arg, "pipeline file (.yaml/.json), or the model with -p");
  runc->add_option("-p,--pipeline", run.pipeline_text,
                   "textual pipeline, e.g. 'dce,fold-bn-into-conv'");
  runc->add_option("-o,--output", run.output, "output model (overrides the file's)");
  runc->add_option("-i,--input", run.input, "input model (overrides the file's)");
  runc->add_flag("--dry-run", run.dry_run, "print the canonical pipeline and stop");
  runc->add_flag("--in-place", run.in_place, "allow the output to replace the input");
  runc->add_flag("--fsync", run.fsync, "flush the output to disk before renaming it");
  runc->add_flag("!--no-verify-each", run.verify_each, "skip verification after each pass");
  runc->add_option("--print-ir-after", print_after, "dump the IR after PASS (or 'all')");
  runc->add_option("--external-data", run_external, "auto, always or never")
      ->expected(0, 1)
      ->default_str("always");
  runc->add_option(
      "--threads", run.threads,
      "executor threads for calibration, distillation, gates (the output does not depend on it)");
  runc->add_flag("--keep-failed", run.keep_failed, "write the model even when a gate fails");
  std::string run_glob, run_outdir;
  runc->add_option("--input-glob", run_glob,
                   "run the pipeline on every matching model (quote the pattern)");
  runc->add_option("--output-dir", run_outdir,
                   "with --input-glob: where the outputs go, under their own names");
  runc->add_option("--report-json", run.report_json,
                   "write the run report as JSON (overrides the file's)");
  runc->add_option("--report-md", run.report_markdown, "write the run report as Markdown");
  runc->add_option("--report-svg", run.report_svg, "write the report's chart as SVG");

  // exec
  std::string exec_model, exec_inputs, exec_out, exec_map;
  int exec_threads = 1;
  auto* execc =
      app.add_subcommand("exec", "Run a model on named inputs (.npz) and write its outputs");
  execc->add_option("model", exec_model, "model")->required();
  execc->add_option("--inputs", exec_inputs, ".npz with one array per graph input")->required();
  execc->add_option("-o,--output", exec_out, ".npz to write the outputs to")->required();
  execc->add_option("--map", exec_map, "INPUT=ARRAY,...: feed an array under another name");
  execc->add_option("--threads", exec_threads, "intra-op threads (default 1)");
  std::vector<std::string> exec_shapes;
  execc->add_option("--input-shape", exec_shapes, "TorchScript inputs: NAME[:dtype]=d0,d1,...");

  // compare
  std::string cmp_a, cmp_b, cmp_inputs, cmp_map;
  std::vector<std::string> cmp_shapes;
  int64_t cmp_random = 0;
  uint64_t cmp_seed = 0;
  bool cmp_json = false, cmp_per_node = false;
  double cmp_threshold = 1e-3;
  int cmp_threads = 1;
  auto* cmpc =
      app.add_subcommand("compare", "Run two models on the same inputs and compare outputs");
  cmpc->add_option("a", cmp_a, "reference model")->required();
  cmpc->add_option("b", cmp_b, "model to check")->required();
  cmpc->add_option("--inputs", cmp_inputs, ".npz with one array per graph input");
  cmpc->add_option("--random", cmp_random, "random inputs; symbolic dims set to N");
  cmpc->add_option("--seed", cmp_seed, "seed for --random (default 0)");
  cmpc->add_option("--input-shape", cmp_shapes, "NAME=d0,d1,... shapes for random inputs");
  cmpc->add_option("--map", cmp_map, "INPUT=ARRAY,...: feed an array under another name");
  cmpc->add_flag("--per-node", cmp_per_node,
                 "find the first intermediate value where they diverge");
  cmpc->add_option("--threshold", cmp_threshold, "relative error that counts as divergence (1e-3)");
  cmpc->add_flag("--json", cmp_json, "machine-readable output");
  cmpc->add_option("--threads", cmp_threads, "intra-op threads (default 1)");

  // eval
  std::string eval_model, eval_data, eval_map;
  EvalOptions eval_opts;
  bool eval_json = false;
  auto* evalc =
      app.add_subcommand("eval", "Accuracy, latency and throughput of a model on a data set");
  evalc->add_option("model", eval_model, "model")->required();
  evalc->add_option("--data", eval_data, ".npz with inputs (and labels), samples along axis 0")
      ->required();
  evalc->add_option("--labels", eval_opts.labels, "array holding integer class labels");
  evalc->add_option("--map", eval_map, "INPUT=ARRAY,...: feed an array under another name");
  evalc->add_option("--batch", eval_opts.batch, "batch size for the accuracy pass (32)");
  evalc->add_option("--runs", eval_opts.latency_runs, "timed batch-1 runs (50)");
  evalc->add_option("--threads", eval_opts.threads, "intra-op threads (default 1)");
  evalc->add_flag("--json", eval_json, "machine-readable output");
  evalc->add_flag("--profile", eval_opts.profile, "time per op type during the latency runs");
  std::vector<std::string> eval_shapes;
  evalc->add_option("--input-shape", eval_shapes, "TorchScript inputs: NAME[:dtype]=d0,d1,...");

  // passes
  bool passes_json = false, passes_md = false;
  auto* passes = app.add_subcommand("passes", "List the passes and their options");
  passes->add_flag("--json", passes_json, "machine-readable output");
  passes->add_flag("--markdown", passes_md, "the pass reference (docs/passes.md)");

  // print
  std::string print_model;
  auto* print = app.add_subcommand("print", "Print a model's IR as text");
  print->add_option("model", print_model, "ONNX model")->required();

  // quantize, calibrate
  QuantizeCommands quant(app);
  PruneCommands prune(app);
  // distill, distill-export
  PassCommand distill(app, "distill",
                      "Fine-tune a student against a teacher's outputs (knowledge distillation)",
                      "distill", true);
  PassCommand distill_export(
      app, "distill-export",
      "Write a teacher's outputs, the student and a manifest for outside training",
      "distill-export", false);

  for (CLI::App* cmd :
       {inspect, convert, runc, execc, cmpc, evalc, print, quant.quantize(), quant.calibrate()})
    addLoadLimitFlags(cmd);
  addLoadLimitFlags(prune.prune());
  addLoadLimitFlags(distill.command());
  addLoadLimitFlags(distill_export.command());

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : static_cast<int>(ErrorKind::Usage);
  }

  try {
    if (*inspect) {
      InspectReport r = inspectModel(loadModel(inspect_model, loadOptions()), inspect_model);
      std::cout << (inspect_json ? inspectJson(r) + "\n" : inspectText(r));
    } else if (*convert) {
      if (convert->count("--opset")) conv.opset = conv_opset;
      if (convert->count("--external-data"))
        conv.save.onnx.external_data =
            *externalDataFlag(conv_external.empty() ? "always" : conv_external);
      conv.load.onnx = load_limits;
      for (const auto& s : conv_shapes)
        conv.load.torchscript.inputs.push_back(parseInputSpec(s));
      conv.save.torchscript.keep_quantized_weights = !conv_dequantize;
      ConvertResult r = convertModel(conv);
      std::cerr << fmt::format(
          "wrote {} ({} bytes{}) in {:.2f}s load + {:.2f}s save\n", conv.output,
          r.saved.model_bytes,
          r.saved.data_file.empty()
              ? ""
              : fmt::format(", {} bytes in {}", r.saved.external_bytes, r.saved.data_file),
          r.load_seconds, r.save_seconds);
    } else if (*runc) {
      if (!run.pipeline_text.empty()) {
        if (run.input.empty()) run.input = run_arg;
      } else {
        run.spec_path = run_arg;
      }
      if (!print_after.empty()) run.print_ir_after.insert(print_after);
      run.ir_out = &std::cout;
      run.load = loadOptions();
      if (runc->count("--external-data"))
        run.external_data = externalDataFlag(run_external.empty() ? "always" : run_external);
      if (!run_glob.empty()) {
        std::vector<BatchItem> items = runBatch(run, run_glob, run_outdir);
        std::cout << batchSummary(items);
        // The exit code of the first model that failed (0 when none did).
        for (const auto& item : items)
          if (item.code != 0) return item.code;
        return 0;
      }
      RunResult r = runPipeline(run);
      if (run.dry_run) {
        std::cout << "input:    " << (r.input.empty() ? "-" : r.input) << "\n"
                  << "output:   " << (r.output.empty() ? "-" : r.output) << "\n"
                  << "pipeline: " << r.canonical << "\n";
      } else {
        std::cerr << passStatsTable(r.stats);
        for (const auto& g : r.gates)
          std::cerr << fmt::format("gate {:<18} {:>10.4f}  limit {:>10.4f}  {}  ({})\n", g.name,
                                   g.value, g.limit, g.passed ? "pass" : "FAIL", g.detail);
        if (r.written)
          std::cerr << fmt::format(
              "wrote {} ({} bytes{})\n", r.output, r.saved.model_bytes,
              r.saved.data_file.empty()
                  ? ""
                  : fmt::format(", {} bytes in {}", r.saved.external_bytes, r.saved.data_file));
        if (!r.gates_passed) {
          std::cerr << "mopt: error: a gate failed"
                    << (r.written ? " (model written: --keep-failed)" : "; no model written")
                    << "\n";
          return kGateFailedExitCode;
        }
      }
    } else if (*execc) {
      Model m = loadModel(exec_model, loadOptions(exec_shapes, exec_inputs, exec_map));
      FeedOptions fo;
      fo.npz = exec_inputs;
      fo.map = parseMap(exec_map);
      ExecOptions eo;
      eo.threads = exec_threads;
      NamedTensors out = makeExecutor(m, eo)->run(makeFeeds(m, fo));
      saveNpz(exec_out, out);
      for (const auto& [name, t] : out)
        std::cerr << fmt::format("{}: {}{}\n", name, dtypeName(t.dtype()),
                                 shapeToString(shapeOf(t.dims())));
    } else if (*cmpc) {
      Model a = loadModel(cmp_a, loadOptions(cmp_shapes, cmp_inputs, cmp_map));
      Model b = loadModel(cmp_b, loadOptions(cmp_shapes, cmp_inputs, cmp_map));
      FeedOptions fo;
      fo.npz = cmp_inputs;
      fo.map = parseMap(cmp_map);
      fo.random_batch = cmp_random;
      fo.seed = cmp_seed;
      for (const auto& s : cmp_shapes)
        fo.shapes.push_back(parseInputSpec(s));
      if (cmp_inputs.empty() && cmp_random <= 0) fo.random_batch = 1;
      CompareResult r =
          compareModels(a, b, makeFeeds(a, fo), cmp_per_node, cmp_threshold, cmp_threads);
      std::cout << (cmp_json ? compareJson(r) + "\n" : compareText(r));
    } else if (*evalc) {
      Model m = loadModel(eval_model, loadOptions(eval_shapes, eval_data, eval_map));
      NamedTensors data = loadNpz(eval_data);
      for (const auto& [input, array] : parseMap(eval_map)) {
        bool found = false;
        for (const auto& [name, t] : data)
          found = found || name == array;
        if (!found) failInput("{}: no array '{}' for --map {}={}", eval_data, array, input, array);
        for (size_t i = 0; i < data.size(); ++i)
          if (data[i].first == array) data.emplace_back(input, data[i].second);
      }
      EvalResult r = evaluateModel(m, data, eval_opts);
      std::cout << (eval_json ? evalJson(r) + "\n" : evalText(r));
    } else if (*passes) {
      const auto& reg = passRegistry();
      std::cout << (passes_json ? passesJson(reg) + "\n"
                    : passes_md ? passesMarkdown(reg)
                                : passesText(reg));
    } else if (quant.run(loadOptions())) {
      // done
    } else if (prune.run(loadOptions())) {
      // done
    } else if (distill.run(loadOptions()) || distill_export.run(loadOptions())) {
      // done
    } else if (*print) {
      std::cout << printModel(loadModel(print_model, loadOptions()));
    }
  } catch (const Error& e) {
    std::cerr << "mopt: error: " << e.what() << "\n";
    return static_cast<int>(e.kind());
  } catch (const std::exception& e) {
    std::cerr << "mopt: internal error: " << e.what() << "\n";
    return static_cast<int>(ErrorKind::Internal);
  }
  return 0;
}
