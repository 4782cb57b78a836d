// Runs a pipeline over a model: verification after each pass that changed it, per-pass
// statistics, and IR dumps on request.
#pragma once

#include "pass/Pipeline.h"

#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace mopt {

struct PassManagerOptions {
  bool verify_each = true;
  const OpSchemaOracle* schemas = nullptr;  // schema checks in verification, and for passes
  std::set<std::string> print_ir_after;     // pass names, or "all"
  std::ostream* ir_out = nullptr;           // where --print-ir-after goes
  int threads = 1;                          // PassContext::threads
};

struct PassStats {
  std::string name, invocation;
  double seconds = 0;
  bool changed = false;
  int64_t nodes_before = 0, nodes_after = 0;  // including subgraphs
  std::map<std::string, int64_t> counters;
  std::vector<std::string> notes;
  std::vector<ReportTable> tables;
  uint64_t peak_rss_bytes = 0;               // the process's peak while the pass ran
  int64_t weight_bytes = 0, parameters = 0;  // of the model after the pass
};

// Bytes and element count of the model's numeric initializers (subgraphs included).
void weightTotals(const Model& m, int64_t& bytes, int64_t& elements);

// Node count including nested subgraphs and function bodies.
int64_t countNodes(const Model& m);

class PassManager {
 public:
  explicit PassManager(PassManagerOptions opts) : opts_(std::move(opts)) {}
  // Runs every pass in order. A failing pass throws Error(Pass) naming it; a pass that leaves
  // an invalid model throws Error(Pass) "pass 'x' broke the model: ...".
  std::vector<PassStats> run(const Pipeline& pipeline, Model& model);

 private:
  PassManagerOptions opts_;
};

}  // namespace mopt
