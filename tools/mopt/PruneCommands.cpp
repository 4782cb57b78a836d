// `mopt prune` flag handling. The pass-option flags are generated from the options of the passes
// the methods run, so every pass option is a flag of the same name.
#include "PruneCommands.h"

#include "ir/Error.h"
#include "passes/Registry.h"

#include <fmt/format.h>

#include <iostream>

namespace mopt {

namespace {

std::vector<std::string> splitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace

PruneCommands::PruneCommands(CLI::App& app) {
  prune_ = app.add_subcommand(
      "prune", "Prune a model (unstructured magnitude, N:M, or structured channel removal)");
  prune_->add_option("input", req_.input, "input model (ONNX or TorchScript)")->required();
  prune_->add_option("-o,--output", req_.output, "output model (.onnx, or .pt for TorchScript)");
  prune_->add_option("--method", req_.method, "magnitude | nm | structured")->required();
  prune_->add_flag("--dry-run", req_.dry_run, "print the pipeline that would run and stop");
  prune_->add_flag("--in-place", req_.in_place, "allow the output to replace the input");
  prune_->add_flag("--fsync", req_.fsync, "flush the output to disk before renaming it");
  prune_->add_option("--external-data", external_, "auto, always or never")
      ->expected(0, 1)
      ->default_str("always");
  prune_->add_option("--input-shape", shapes_,
                     "TorchScript inputs: NAME[:dtype]=d0,d1,... (N for symbolic)");
  prune_->add_flag("--keep-batchnorm", keep_batchnorm_,
                   "TorchScript: keep BatchNormalization (for --importance bn-scale)");
  auto* g = prune_->add_option_group(
      "pass options", "options of the method's pass (mopt passes lists which apply to which)");
  for (const auto& [name, help] : pruneOptionHelp())
    g->add_option("--" + name, values_[name], help)
        ->expected(0, 1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

bool PruneCommands::run(const LoadOptions& load) {
  if (!*prune_) return false;
  const PassRegistry& reg = passRegistry();
  auto method = pruneMethods().find(req_.method);
  const PassEntry* pass = method == pruneMethods().end() ? nullptr : reg.find(method->second);
  for (const auto& [name, values] : values_) {
    if (prune_->count("--" + name) == 0) continue;
    const OptionSpec* spec = nullptr;
    if (pass)
      for (const auto& o : pass->info->options)
        if (o.name == name) spec = &o;
    const bool list = spec && spec->type == OptionType::StringList;
    std::vector<std::string> v;
    for (const auto& x : values) {
      if (list) {
        for (const auto& item : splitList(x))
          v.push_back(item);
      } else {
        v.push_back(x.empty() ? "true" : x);  // a bare --flag sets a bool option
      }
    }
    if (v.empty() && !list) v.push_back("true");
    if (!list && v.size() > 1) v = {v.back()};
    req_.options.emplace_back(name, v);
  }
  req_.load = load;
  for (const auto& s : shapes_)
    req_.load.torchscript.inputs.push_back(parseInputSpec(s));
  req_.load.torchscript.keep_batchnorm = keep_batchnorm_;
  if (prune_->count("--external-data")) {
    auto m = parseExternalDataMode(external_.empty() ? "always" : external_);
    if (!m)
      fail(ErrorKind::Usage, "--external-data must be auto, always or never, not '{}'", external_);
    req_.external_data = m;
  }
  if (req_.output.empty() && !req_.dry_run) fail(ErrorKind::Usage, "mopt prune needs -o OUTPUT");
  RunResult r = pruneModel(req_);
  if (req_.dry_run) {
    std::cout << "pipeline: " << r.canonical << "\n";
    return true;
  }
  std::cerr << passStatsTable(r.stats);
  std::cerr << fmt::format(
      "wrote {} ({} bytes{})\n", r.output, r.saved.model_bytes,
      r.saved.data_file.empty()
          ? ""
          : fmt::format(", {} bytes in {}", r.saved.external_bytes, r.saved.data_file));
  return true;
}

}  // namespace mopt
