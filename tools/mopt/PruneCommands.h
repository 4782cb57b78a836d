// `mopt prune`: flags and dispatch (kept out of main.cpp).
#pragma once

#include "driver/Prune.h"

#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <vector>

namespace mopt {

class PruneCommands {
 public:
  explicit PruneCommands(CLI::App& app);
  CLI::App* prune() const { return prune_; }
  // Runs `mopt prune` when it was given; false otherwise.
  bool run(const LoadOptions& load);

 private:
  CLI::App* prune_ = nullptr;
  PruneRequest req_;
  std::string external_;
  std::vector<std::string> shapes_;
  bool keep_batchnorm_ = false;
  std::map<std::string, std::vector<std::string>> values_;  // pass option -> raw flag values
};

}  // namespace mopt
