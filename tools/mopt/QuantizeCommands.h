// `mopt quantize` and `mopt calibrate`: flags and dispatch (kept out of main.cpp).
#pragma once

#include "driver/Quantize.h"

#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <vector>

namespace mopt {

class QuantizeCommands {
 public:
  explicit QuantizeCommands(CLI::App& app);
  CLI::App* quantize() const { return quantize_; }
  CLI::App* calibrate() const { return calibrate_; }
  // Runs whichever of the two was given; false when neither was.
  bool run(const LoadOptions& load);

 private:
  CLI::App* quantize_ = nullptr;
  CLI::App* calibrate_ = nullptr;
  QuantizeRequest q_;
  std::string q_external_;
  std::map<std::string, std::vector<std::string>> q_values_;  // pass option -> raw flag values
  CalibrateRequest c_;
  std::string c_map_, c_shard_;
  std::vector<std::string> c_merge_;
};

}  // namespace mopt
