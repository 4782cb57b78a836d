// Flag handling shared by the commands that front passes.
#include "PassCommand.h"

#include "ir/Error.h"
#include "passes/Registry.h"

#include <fmt/format.h>

#include <iostream>

namespace mopt {

std::vector<std::string> splitCommaList(const std::string& s) {
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

std::vector<std::pair<std::string, std::vector<std::string>>> passOptionsFromFlags(
    const CLI::App* cmd, const std::map<std::string, std::vector<std::string>>& values,
    const PassInfo* pass) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& [name, given] : values) {
    if (cmd->count("--" + name) == 0) continue;
    const OptionSpec* spec = nullptr;
    if (pass)
      for (const auto& o : pass->options)
        if (o.name == name) spec = &o;
    const bool list = spec && spec->type == OptionType::StringList;
    std::vector<std::string> v;
    for (const auto& x : given) {
      if (list) {
        for (const auto& item : splitCommaList(x))
          v.push_back(item);
      } else {
        v.push_back(x.empty() ? "true" : x);  // a bare --flag sets a bool option
      }
    }
    if (v.empty() && !list) v.push_back("true");
    if (!list && v.size() > 1) v = {v.back()};
    out.emplace_back(name, v);
  }
  return out;
}

std::string passInvocation(
    const PassInfo& pass,
    const std::vector<std::pair<std::string, std::vector<std::string>>>& options) {
  std::string opts;
  for (const auto& [name, values] : options) {
    const OptionSpec* spec = nullptr;
    for (const auto& o : pass.options)
      if (o.name == name) spec = &o;
    if (!spec) fail(ErrorKind::Usage, "--{} is not an option of {}", name, pass.name);
    std::string v;
    if (spec->type == OptionType::StringList) {
      for (const auto& x : values)
        v += (v.empty() ? "" : ",") + quotePipelineValue(x);
      v = "[" + v + "]";
    } else {
      v = quotePipelineValue(values.at(0));
    }
    opts += (opts.empty() ? "" : ",") + name + "=" + v;
  }
  return pass.name + (opts.empty() ? "" : "{" + opts + "}");
}

PassCommand::PassCommand(CLI::App& app, const std::string& name, const std::string& help,
                         const std::string& pass, bool writes_model)
    : pass_(pass), writes_model_(writes_model) {
  cmd_ = app.add_subcommand(name, help);
  cmd_->add_option("input", req_.input, "input model (ONNX or TorchScript)")->required();
  cmd_->add_option(
      "-o,--output", req_.output,
      writes_model ? "output model (.onnx, or .pt for TorchScript)" : "also write the model here");
  cmd_->add_flag("--dry-run", req_.dry_run, "print the pipeline that would run and stop");
  cmd_->add_flag("--in-place", req_.in_place, "allow the output to replace the input");
  cmd_->add_flag("--fsync", req_.fsync, "flush the output to disk before renaming it");
  cmd_->add_option("--external-data", external_, "auto, always or never")
      ->expected(0, 1)
      ->default_str("always");
  const PassEntry* e = passRegistry().find(pass);
  if (!e) return;
  auto* g = cmd_->add_option_group("pass options", "options of " + pass + " (docs/passes.md)");
  for (const auto& o : e->info->options)
    g->add_option("--" + o.name, values_[o.name], o.help + (o.required ? " (required)" : ""))
        ->expected(0, 1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

bool PassCommand::run(const LoadOptions& load) {
  if (!*cmd_) return false;
  const PassEntry* e = passRegistry().find(pass_);
  if (!e) fail(ErrorKind::Usage, "this build has no pass '{}'", pass_);
  req_.pipeline_text = passInvocation(*e->info, passOptionsFromFlags(cmd_, values_, e->info));
  req_.load = load;
  if (cmd_->count("--external-data")) {
    auto m = parseExternalDataMode(external_.empty() ? "always" : external_);
    if (!m)
      fail(ErrorKind::Usage, "--external-data must be auto, always or never, not '{}'", external_);
    req_.external_data = m;
  }
  if (req_.output.empty() && writes_model_ && !req_.dry_run)
    fail(ErrorKind::Usage, "mopt {} needs -o OUTPUT", cmd_->get_name());
  req_.write_output = !req_.output.empty();
  RunResult r = runPipeline(req_);
  if (req_.dry_run) {
    std::cout << "pipeline: " << r.canonical << "\n";
    return true;
  }
  std::cerr << passStatsTable(r.stats);
  if (req_.write_output)
    std::cerr << fmt::format(
        "wrote {} ({} bytes{})\n", r.output, r.saved.model_bytes,
        r.saved.data_file.empty()
            ? ""
            : fmt::format(", {} bytes in {}", r.saved.external_bytes, r.saved.data_file));
  return true;
}

}  // namespace mopt
