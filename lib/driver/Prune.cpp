// `mopt prune`.
#include "driver/Prune.h"

#include "ir/Error.h"
#include "passes/Registry.h"

namespace mopt {

const std::map<std::string, std::string>& pruneMethods() {
  static const std::map<std::string, std::string> m = {
      {"magnitude", "prune-magnitude"}, {"nm", "prune-nm"}, {"structured", "prune-structured"}};
  return m;
}

std::map<std::string, std::string> pruneOptionHelp() {
  std::map<std::string, std::string> help, methods;
  const PassRegistry& reg = passRegistry();
  for (const auto& [method, pass] : pruneMethods()) {
    const PassEntry* e = reg.find(pass);
    if (!e) continue;
    for (const auto& o : e->info->options) {
      std::string& h = help[o.name];
      if (h.empty()) {
        h = o.help;
        std::string choices;
        for (const auto& c : o.choices)
          choices += (choices.empty() ? "" : "|") + c;
        if (!choices.empty()) h += " (" + choices + ")";
      }
      std::string& m = methods[o.name];
      m += (m.empty() ? "" : ", ") + method;
    }
  }
  for (auto& [name, h] : help)
    h += " [" + methods[name] + "]";
  return help;
}

std::string prunePipelineText(const PruneRequest& req) {
  auto it = pruneMethods().find(req.method);
  if (it == pruneMethods().end())
    fail(ErrorKind::Usage, "--method must be magnitude, nm or structured, not '{}'", req.method);
  const PassRegistry& reg = passRegistry();
  const PassEntry* e = reg.find(it->second);
  if (!e)
    fail(ErrorKind::Usage, "--method {}: this build has no pass '{}'", req.method, it->second);
  std::string opts;
  for (const auto& [name, values] : req.options) {
    const OptionSpec* spec = nullptr;
    for (const auto& o : e->info->options)
      if (o.name == name) spec = &o;
    if (!spec)
      fail(ErrorKind::Usage, "--{} does not apply to --method {} (pass {})", name, req.method,
           it->second);
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
  std::string text = it->second;
  if (!opts.empty()) text += "{" + opts + "}";
  // Constructing the pass checks the option values now, before any model is read.
  for (const auto& inv : parsePipeline(text, reg).passes)
    inv.entry->create(inv.options);
  return text;
}

RunResult pruneModel(const PruneRequest& req) {
  RunRequest run;
  run.pipeline_text = prunePipelineText(req);
  run.input = req.input;
  run.output = req.output;
  run.dry_run = req.dry_run;
  run.in_place = req.in_place;
  run.fsync = req.fsync;
  run.external_data = req.external_data;
  run.load = req.load;
  run.ir_out = req.ir_out;
  return runPipeline(run);
}

}  // namespace mopt
