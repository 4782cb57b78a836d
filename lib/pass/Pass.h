// The pass interface: a named transformation of a Model with typed, declared options.
#pragma once

#include "ir/Graph.h"
#include "ir/OpSchema.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace mopt {

enum class OptionType { Bool, Int, Float, String, Enum, StringList };
std::string_view optionTypeName(OptionType t);

// One option of a pass, declared once: drives parsing, `mopt passes`, docs and validation.
struct OptionSpec {
  std::string name;  // kebab-case
  OptionType type = OptionType::String;
  std::string default_value;  // in pipeline-text form; empty + required = must be given
  std::string help;
  std::vector<std::string> choices;  // for Enum
  bool required = false;
};

// An option value as written: a scalar, or a list (`[a,b]` in text, a sequence in YAML).
struct RawOptionValue {
  bool is_list = false;
  std::vector<std::string> items;  // a scalar is items[0]
  static RawOptionValue scalar(std::string s) { return RawOptionValue{false, {std::move(s)}}; }
};

// Quotes a string for pipeline text when it holds characters the parser treats specially.
std::string quotePipelineValue(const std::string& s);

// Parsed option values of one pass invocation, complete (defaults filled in) and typed.
class OptionValues {
 public:
  OptionValues() = default;
  explicit OptionValues(const std::vector<OptionSpec>* specs) : specs_(specs) {}

  // Parses the value of `name`. Throws Error(Usage) on an unknown name (with a suggestion) or a
  // value of the wrong type; the caller adds the location.
  void set(const std::string& name, const RawOptionValue& value);
  // Fills defaults; throws Error(Usage) when a required option is missing.
  void finish(const std::string& pass_name);

  bool getBool(const std::string& name) const;
  int64_t getInt(const std::string& name) const;
  double getFloat(const std::string& name) const;
  const std::string& getString(const std::string& name) const;  // String and Enum
  std::vector<std::string> getList(const std::string& name) const;
  bool isSet(const std::string& name) const;  // given explicitly (not a default)

  // `opt=value,...` for every option in declaration order: what actually runs, nothing hidden.
  std::string canonical() const;

 private:
  const OptionSpec& spec(const std::string& name) const;
  const std::vector<OptionSpec>* specs_ = nullptr;
  std::map<std::string, std::vector<std::string>> values_;  // parsed items per option
  std::map<std::string, bool> explicit_;
};

// A per-layer table a pass contributes to the run report (Markdown/JSON), e.g. channels before
// and after pruning; `chart` names a numeric column the report may draw as an SVG bar chart.
struct ReportTable {
  std::string title;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::string chart;
};

// Written by passes, read by the pass manager's report: counters, remarks and tables.
class PassContext {
 public:
  const OpSchemaOracle* schemas = nullptr;
  // Intra-op threads for passes that run models (calibration, distillation), unless their own
  // `threads` option says otherwise. An execution setting, not part of the pipeline: it is not
  // recorded in the output, which must not depend on it.
  int threads = 1;

  void count(const std::string& key, int64_t delta = 1) { counters_[key] += delta; }
  // A remark for the report, e.g. why a candidate was skipped.
  void note(std::string message) { notes_.push_back(std::move(message)); }
  void table(ReportTable t) { tables_.push_back(std::move(t)); }
  const std::map<std::string, int64_t>& counters() const { return counters_; }
  const std::vector<std::string>& notes() const { return notes_; }
  const std::vector<ReportTable>& tables() const { return tables_; }
  void reset() {
    counters_.clear();
    notes_.clear();
    tables_.clear();
  }

 private:
  std::map<std::string, int64_t> counters_;
  std::vector<std::string> notes_;
  std::vector<ReportTable> tables_;
};

// The thread count a pass with a `threads` option should use.
inline int passThreads(const OptionValues& o, const PassContext& ctx) {
  return o.isSet("threads") ? static_cast<int>(o.getInt("threads")) : ctx.threads;
}

class Pass {
 public:
  virtual ~Pass() = default;
  // Returns whether the model changed. Failures throw Error (never abort on user input).
  virtual bool run(Model& model, PassContext& ctx) = 0;
};

struct PassInfo {
  std::string name;         // kebab-case, e.g. "fold-bn-into-conv"
  std::string family;       // cleanup, convert, quantize, prune, distill
  std::string summary;      // one line
  std::string description;  // a paragraph for docs/passes.md
  std::vector<OptionSpec> options;
};

using PassFactory = std::function<std::unique_ptr<Pass>(const OptionValues&)>;

struct PassEntry {
  const PassInfo* info;
  PassFactory create;
};

// The set of passes a pipeline may name. lib/pass knows no particular pass; passes/ builds the
// one registry from passes/Passes.def.
class PassRegistry {
 public:
  explicit PassRegistry(std::vector<PassEntry> entries) : entries_(std::move(entries)) {}
  const PassEntry* find(const std::string& name) const;
  const std::vector<PassEntry>& entries() const { return entries_; }
  std::vector<std::string> names() const;

 private:
  std::vector<PassEntry> entries_;
};

}  // namespace mopt
