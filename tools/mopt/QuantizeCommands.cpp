// `mopt quantize` / `mopt calibrate` flag handling. The quantize flags are generated from the
// options of the passes the modes run, so every pass option is a flag of the same name.
#include "QuantizeCommands.h"

#include "PassCommand.h"

#include "ir/Error.h"
#include "passes/Registry.h"

#include <fmt/format.h>

#include <iostream>

namespace mopt {

QuantizeCommands::QuantizeCommands(CLI::App& app) {
  quantize_ =
      app.add_subcommand("quantize", "Quantize a model (dynamic, static, weight-only, fp16, bf16)");
  quantize_->add_option("input", q_.input, "input model (ONNX or TorchScript)")->required();
  quantize_->add_option("-o,--output", q_.output, "output model (.onnx, or .pt for TorchScript)");
  quantize_->add_option("--mode", q_.mode, "dynamic | static | weight-only | fp16 | bf16")
      ->required();
  quantize_->add_flag(
      "!--no-preprocess", q_.preprocess,
      "skip Identity removal, BatchNorm folding and the opset-13 floor before quantizing");
  quantize_->add_flag("--dry-run", q_.dry_run, "print the pipeline that would run and stop");
  quantize_->add_flag("--analyze", q_.analyze,
                      "static mode: report each node's quantization error (SQNR, cosine, "
                      "accuracy with --eval-labels) instead of quantizing; table to stdout or "
                      "--report FILE; writes no model");
  quantize_->add_flag("--in-place", q_.in_place, "allow the output to replace the input");
  quantize_->add_flag("--fsync", q_.fsync, "flush the output to disk before renaming it");
  quantize_->add_option("--external-data", q_external_, "auto, always or never")
      ->expected(0, 1)
      ->default_str("always");
  auto* g = quantize_->add_option_group(
      "pass options", "options of the mode's pass (mopt passes lists which apply to which)");
  for (const auto& [name, help] : quantizeOptionHelp())
    g->add_option("--" + name, q_values_[name], help)
        ->expected(0, 1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);

  calibrate_ = app.add_subcommand(
      "calibrate", "Collect activation statistics for quantize-static (or merge shards of them)");
  calibrate_->add_option("model", c_.model, "model (preprocessed as mopt quantize does)");
  calibrate_->add_option("--data", c_.data, ".npz/.npy file or folder of calibration samples");
  calibrate_->add_option("-o,--output", c_.output, "statistics file (JSON)")->required();
  calibrate_->add_option("--map", c_map_, "INPUT=ARRAY,...: feed an array under another name");
  calibrate_->add_option("--samples", c_.samples, "use at most this many samples (default: all)");
  calibrate_->add_option("--batch", c_.batch, "samples per run (default 1)");
  calibrate_->add_option("--shard", c_shard_, "K/N: this job's share of the samples (0-based)");
  calibrate_->add_option("--threads", c_.threads, "executor threads (default 1)");
  calibrate_->add_flag("!--no-preprocess", c_.preprocess, "calibrate the model exactly as given");
  calibrate_->add_option("--merge", c_merge_, "merge these statistics files into -o")
      ->expected(1, -1);
}

bool QuantizeCommands::run(const LoadOptions& load) {
  if (*quantize_) {
    const PassRegistry& reg = passRegistry();
    auto mode = quantizeModes().find(q_.mode);
    const PassEntry* pass = mode == quantizeModes().end() ? nullptr : reg.find(mode->second);
    q_.options = passOptionsFromFlags(quantize_, q_values_, pass ? pass->info : nullptr);
    q_.load = load;
    if (quantize_->count("--external-data")) {
      auto m = parseExternalDataMode(q_external_.empty() ? "always" : q_external_);
      if (!m)
        fail(ErrorKind::Usage, "--external-data must be auto, always or never, not '{}'",
             q_external_);
      q_.external_data = m;
    }
    if (q_.output.empty() && !q_.dry_run && !q_.analyze)
      fail(ErrorKind::Usage, "mopt quantize needs -o OUTPUT");
    RunResult r = quantizeModel(q_);
    if (q_.dry_run) {
      std::cout << "pipeline: " << r.canonical << "\n";
      return true;
    }
    std::cerr << passStatsTable(r.stats);
    if (q_.analyze) return true;
    std::cerr << fmt::format(
        "wrote {} ({} bytes{})\n", r.output, r.saved.model_bytes,
        r.saved.data_file.empty()
            ? ""
            : fmt::format(", {} bytes in {}", r.saved.external_bytes, r.saved.data_file));
    return true;
  }
  if (*calibrate_) {
    if (!c_merge_.empty()) {
      if (!c_.model.empty() || !c_.data.empty())
        fail(ErrorKind::Usage,
             "mopt calibrate --merge takes statistics files only (no model or --data)");
      StatsSet s = mergeCalibration(c_merge_);
      s.save(c_.output);
      std::cerr << fmt::format("merged {} files: {} samples, {} tensors -> {}\n", c_merge_.size(),
                               s.samples, s.tensors.size(), c_.output);
      return true;
    }
    if (c_.model.empty() || c_.data.empty())
      fail(ErrorKind::Usage, "mopt calibrate needs MODEL and --data");
    for (const auto& item : splitCommaList(c_map_)) {
      auto eq = item.find('=');
      if (eq == std::string::npos)
        fail(ErrorKind::Usage, "--map entry '{}' must be INPUT=ARRAY", item);
      c_.map.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    }
    if (!c_shard_.empty()) {
      auto slash = c_shard_.find('/');
      try {
        if (slash == std::string::npos) throw std::invalid_argument("no slash");
        c_.shard = std::stoll(c_shard_.substr(0, slash));
        c_.shards = std::stoll(c_shard_.substr(slash + 1));
      } catch (const std::exception&) {
        fail(ErrorKind::Usage, "--shard must be K/N, not '{}'", c_shard_);
      }
    }
    c_.load = load;
    StatsSet s = calibrateModel(c_);
    std::cerr << fmt::format("calibrated {} samples, {} tensors -> {}\n", s.samples,
                             s.tensors.size(), c_.output);
    return true;
  }
  return false;
}

}  // namespace mopt
