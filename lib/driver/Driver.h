// The library behind each CLI subcommand: one request struct in, one result out.
#pragma once

#include "driver/Gates.h"
#include "driver/PipelineSpec.h"
#include "frontend/torchscript/TorchScript.h"
#include "pass/PassManager.h"

#include <optional>
#include <ostream>
#include <set>
#include <string>

namespace mopt {

enum class ModelFormat { Onnx, TorchScript, Unknown };
// Decided by content, not by extension: TorchScript files are zip archives.
ModelFormat detectFormat(const std::string& path);
// The format to write: `to` ("onnx", "torchscript") or else the extension (.onnx; .pt, .pth, .ts).
ModelFormat outputFormat(const std::string& path, const std::string& to);

struct LoadOptions {
  OnnxLoadOptions onnx;                  // limits on what an ONNX file may declare
  TorchScriptImportOptions torchscript;  // input shapes etc. for TorchScript files
  std::string sample_npz;  // alternatively: TorchScript input names/dtypes/shapes from a sample
  // INPUT=ARRAY pairs (--map), in forward()'s argument order: only these arrays of the sample
  // describe the inputs, under the input's name. Empty: every array of the sample, in file order.
  std::vector<std::pair<std::string, std::string>> sample_map;
};
Model loadModel(const std::string& path, const LoadOptions& opts = {});

struct SaveOptions {
  std::string to;  // "onnx" | "torchscript" | "" (from the extension)
  OnnxSaveOptions onnx;
  TorchScriptExportOptions torchscript;
};
// Writes ONNX or TorchScript; returns the ONNX save result (empty for TorchScript).
OnnxSaveResult saveModel(const Model& m, const std::string& path, const SaveOptions& opts);

// Refuses to write over the input (or its external data) unless `in_place`.
void checkOutputPath(const std::string& input, const std::string& output, bool in_place);

struct ConvertRequest {
  std::string input, output;
  std::optional<int64_t> opset;
  SaveOptions save;
  LoadOptions load;
  bool in_place = false;
};
struct ConvertResult {
  OnnxSaveResult saved;
  double load_seconds = 0, save_seconds = 0;
};
ConvertResult convertModel(const ConvertRequest& req);

struct RunRequest {
  std::string spec_path;      // a pipeline file, or
  std::string pipeline_text;  // -p 'dce,...'
  std::string input, output;  // override the file's input/output
  bool dry_run = false, in_place = false, verify_each = true, fsync = false;
  std::set<std::string> print_ir_after;
  std::optional<ExternalDataMode> external_data;
  std::ostream* ir_out = nullptr;
  LoadOptions load;  // how to read the input model
  // false: run the passes for what they write themselves (reports, exports); no model output.
  bool write_output = true;
  int threads = 1;           // PassContext::threads: executor threads for calibration etc.
  bool keep_failed = false;  // write the model even when a gate fails
  std::string report_json, report_markdown, report_svg;  // override the file's `report:`
};
struct RunResult {
  std::string input, output, canonical;
  std::vector<PassStats> stats;
  OnnxSaveResult saved;
  std::vector<GateResult> gates;
  bool gates_passed = true;
  bool written = false;
  std::string output_sha256;
};

// The exit code of a run whose gates failed (docs/cli.md).
constexpr int kGateFailedExitCode = 4;

// `mopt run --input-glob`: the pipeline over every matching model, outputs into `output_dir`
// under their own names. A failing model does not stop the others.
struct BatchItem {
  std::string input, output, message, output_sha256;
  int code = 0;
  double seconds = 0;
};
std::vector<BatchItem> runBatch(const RunRequest& req, const std::string& glob_pattern,
                                const std::string& output_dir);
std::string batchSummary(const std::vector<BatchItem>& items);
RunResult runPipeline(const RunRequest& req);
std::string passStatsTable(const std::vector<PassStats>& stats);

// `mopt passes` in three forms; docs/passes.md is the Markdown one.
std::string passesText(const PassRegistry& r);
std::string passesJson(const PassRegistry& r);
std::string passesMarkdown(const PassRegistry& r);

}  // namespace mopt
