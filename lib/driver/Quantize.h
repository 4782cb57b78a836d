// `mopt quantize` and `mopt calibrate`: the front for the quantization passes. Flags map one to
// one onto the options of the pass a mode selects, so the CLI, pipeline files and docs never
// disagree, and the written model records the exact pipeline that ran.
#pragma once

#include "driver/Driver.h"
#include "passes/quantize/CalibStats.h"

#include <map>
#include <string>
#include <vector>

namespace mopt {

// dynamic, static, weight-only, fp16, bf16 -> the pass each runs.
const std::map<std::string, std::string>& quantizeModes();

// Every option of the passes the modes select (name -> help), for the CLI's flags.
std::map<std::string, std::string> quantizeOptionHelp();

struct QuantizeRequest {
  std::string input, output, mode;
  // Pass options as given on the command line: name -> values (one, or several for lists).
  std::vector<std::pair<std::string, std::vector<std::string>>> options;
  bool preprocess = true;  // fold BatchNorm, drop Identity, opset >= 13 for per-channel QDQ
  bool dry_run = false, in_place = false, fsync = false;
  // Run quantization-sensitivity instead of quantizing (static mode): a per-node report, no
  // model written. Without a `report` option the table goes to standard output.
  bool analyze = false;
  std::optional<ExternalDataMode> external_data;
  LoadOptions load;
  std::ostream* ir_out = nullptr;
};
// The pipeline text a request runs (checked against the pass's options).
std::string quantizePipelineText(const QuantizeRequest& req);
RunResult quantizeModel(const QuantizeRequest& req);

struct CalibrateRequest {
  std::string model, data, output;
  std::vector<std::pair<std::string, std::string>> map;
  int64_t samples = 0, batch = 1;
  int64_t shard = 0, shards = 1;  // this job's part of the samples
  bool preprocess = true;         // the same preprocessing as `mopt quantize`
  int threads = 1;
  LoadOptions load;
};
// Statistics of every float activation of the (preprocessed) model, for
// quantize-static{load-calibration=...}.
StatsSet calibrateModel(const CalibrateRequest& req);
// Merges statistics files (shards of one calibration).
StatsSet mergeCalibration(const std::vector<std::string>& paths);

}  // namespace mopt
