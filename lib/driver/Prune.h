// `mopt prune`: the front for the pruning passes. Flags map one to one onto the options of the
// pass a method selects, so the CLI, pipeline files and docs never disagree, and the written
// model records the exact pipeline that ran.
#pragma once

#include "driver/Driver.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mopt {

// magnitude, nm, structured -> the pass each runs.
const std::map<std::string, std::string>& pruneMethods();

// Every option of the passes the methods select (name -> help, with the methods it applies to),
// for the CLI's flags.
std::map<std::string, std::string> pruneOptionHelp();

struct PruneRequest {
  std::string input, output, method;
  // Pass options as given on the command line: name -> values (one, or several for lists).
  std::vector<std::pair<std::string, std::vector<std::string>>> options;
  bool dry_run = false, in_place = false, fsync = false;
  std::optional<ExternalDataMode> external_data;
  LoadOptions load;
  std::ostream* ir_out = nullptr;
};
// The pipeline text a request runs. Checks the method, that every option belongs to its pass,
// and the option values (a ratio of 1.5 fails here, before any model is read).
std::string prunePipelineText(const PruneRequest& req);
RunResult pruneModel(const PruneRequest& req);

}  // namespace mopt
