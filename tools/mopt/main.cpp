// The mopt command line: parses flags into a request and makes one library call per command.
#include "driver/Driver.h"
#include "driver/Inspect.h"
#include "ir/Error.h"
#include "ir/Printer.h"
#include "passes/Registry.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

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
  convert->add_flag("--fsync", conv.save.fsync, "flush the output to disk before renaming it");

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

  // passes
  bool passes_json = false, passes_md = false;
  auto* passes = app.add_subcommand("passes", "List the passes and their options");
  passes->add_flag("--json", passes_json, "machine-readable output");
  passes->add_flag("--markdown", passes_md, "the pass reference (docs/passes.md)");

  // print
  std::string print_model;
  auto* print = app.add_subcommand("print", "Print a model's IR as text");
  print->add_option("model", print_model, "ONNX model")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : static_cast<int>(ErrorKind::Usage);
  }

  try {
    if (*inspect) {
      InspectReport r = inspectModel(loadModel(inspect_model), inspect_model);
      std::cout << (inspect_json ? inspectJson(r) + "\n" : inspectText(r));
    } else if (*convert) {
      if (convert->count("--opset")) conv.opset = conv_opset;
      if (convert->count("--external-data"))
        conv.save.external_data =
            *externalDataFlag(conv_external.empty() ? "always" : conv_external);
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
      if (runc->count("--external-data"))
        run.external_data = externalDataFlag(run_external.empty() ? "always" : run_external);
      RunResult r = runPipeline(run);
      if (run.dry_run) {
        std::cout << "input:    " << (r.input.empty() ? "-" : r.input) << "\n"
                  << "output:   " << (r.output.empty() ? "-" : r.output) << "\n"
                  << "pipeline: " << r.canonical << "\n";
      } else {
        std::cerr << passStatsTable(r.stats);
        std::cerr << fmt::format(
            "wrote {} ({} bytes{})\n", r.output, r.saved.model_bytes,
            r.saved.data_file.empty()
                ? ""
                : fmt::format(", {} bytes in {}", r.saved.external_bytes, r.saved.data_file));
      }
    } else if (*passes) {
      const auto& reg = passRegistry();
      std::cout << (passes_json ? passesJson(reg) + "\n"
                    : passes_md ? passesMarkdown(reg)
                                : passesText(reg));
    } else if (*print) {
      std::cout << printModel(loadModel(print_model));
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
