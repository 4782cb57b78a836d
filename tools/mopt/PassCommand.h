// Subcommands that front one pass (`mopt distill`, `mopt distill-export`): every option of the
// pass is a flag of the same name, so the command line, pipeline files and docs agree.
#pragma once

#include "driver/Driver.h"
#include "pass/Pass.h"

#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <vector>

namespace mopt {

// "a,b,,c" -> {a, b, c}.
std::vector<std::string> splitCommaList(const std::string& s);

// The pass options given as flags on `cmd` (values as typed; lists split on commas; a bare
// boolean flag means true), in the form QuantizeRequest/RunRequest pipelines take.
std::vector<std::pair<std::string, std::vector<std::string>>> passOptionsFromFlags(
    const CLI::App* cmd, const std::map<std::string, std::vector<std::string>>& values,
    const PassInfo* pass);
// Pipeline text for `pass` with those options (values quoted as pipeline text needs).
std::string passInvocation(
    const PassInfo& pass,
    const std::vector<std::pair<std::string, std::vector<std::string>>>& options);

class PassCommand {
 public:
  // `writes_model`: false for passes whose product is not the model (distill-export): -o is
  // then optional.
  PassCommand(CLI::App& app, const std::string& name, const std::string& help,
              const std::string& pass, bool writes_model);
  CLI::App* command() const { return cmd_; }
  bool run(const LoadOptions& load);  // false when this command was not given

 private:
  CLI::App* cmd_ = nullptr;
  std::string pass_;
  bool writes_model_;
  RunRequest req_;
  std::string external_;
  std::map<std::string, std::vector<std::string>> values_;
};

}  // namespace mopt
