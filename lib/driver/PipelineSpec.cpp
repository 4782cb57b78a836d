// Loading pipeline files with yaml-cpp (which also reads JSON), with positions in every error.
#include "driver/PipelineSpec.h"

#include "ir/Error.h"
#include "support/File.h"
#include "support/Strings.h"

#include <yaml-cpp/yaml.h>

namespace mopt {

std::optional<ExternalDataMode> parseExternalDataMode(const std::string& s) {
  if (s == "auto") return ExternalDataMode::Auto;
  if (s == "always" || s == "true" || s == "yes" || s == "on") return ExternalDataMode::Always;
  if (s == "never" || s == "false" || s == "no" || s == "off") return ExternalDataMode::Never;
  return std::nullopt;
}

namespace {

class SpecLoader {
 public:
  SpecLoader(const std::string& path, const PassRegistry& reg) : path_(path), reg_(reg) {}

  PipelineSpec load(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      fail(ErrorKind::Usage, "{}:{}:{}: not valid YAML: {}", path_, e.mark.line + 1,
           e.mark.column + 1, e.msg);
    }
    if (!root.IsMap())
      error(root, "the pipeline file must be a mapping with keys input, output, passes");
    PipelineSpec spec;
    spec.source = path_;
    static const std::vector<std::string> kKeys = {"version", "input", "output", "passes",
                                                   "output_options"};
    for (const auto& kv : root) {
      std::string key = kv.first.Scalar();
      if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
        std::string hint = nearestName(key, kKeys);
        error(kv.first, "unknown key '" + key + "'" +
                            (hint.empty() ? " (keys: " + join(kKeys, ", ") + ")"
                                          : "; did you mean '" + hint + "'?"));
      }
    }
    if (root["version"] && scalar(root["version"], "version") != "1")
      error(root["version"], "unsupported pipeline version (this mopt reads version 1)");
    if (root["input"]) spec.input = resolve(scalar(root["input"], "input"));
    if (root["output"]) spec.output = resolve(scalar(root["output"], "output"));
    if (!root["passes"]) error(root, "the pipeline file has no 'passes' list");
    passes(root["passes"], spec.pipeline);
    if (root["output_options"]) outputOptions(root["output_options"], spec);
    return spec;
  }

 private:
  const std::string& path_;
  const PassRegistry& reg_;

  [[noreturn]] void error(const YAML::Node& at, const std::string& what) {
    YAML::Mark m = at.Mark();
    if (m.is_null()) fail(ErrorKind::Usage, "{}: {}", path_, what);
    fail(ErrorKind::Usage, "{}:{}:{}: {}", path_, m.line + 1, m.column + 1, what);
  }

  std::string scalar(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) error(n, "'" + what + "' must be a single value, not a list or mapping");
    return n.Scalar();
  }

  std::string resolve(const std::string& p) {
    if (p.empty() || p[0] == '/') return p;
    std::string dir = dirName(path_);
    return dir == "." ? p : dir + "/" + p;
  }

  RawOptionValue optionValue(const YAML::Node& n, const std::string& key) {
    if (n.IsScalar()) return RawOptionValue::scalar(n.Scalar());
    if (n.IsSequence()) {
      RawOptionValue v;
      v.is_list = true;
      for (const auto& item : n)
        v.items.push_back(scalar(item, key));
      return v;
    }
    if (n.IsNull()) error(n, "option '" + key + "' has no value");
    error(n, "option '" + key + "' must be a value or a list of values");
  }

  void passes(const YAML::Node& list, Pipeline& pipeline) {
    if (!list.IsSequence()) error(list, "'passes' must be a list");
    if (list.size() == 0) error(list, "'passes' is empty");
    for (const auto& item : list) {
      std::string name;
      std::vector<std::pair<std::string, RawOptionValue>> options;
      YAML::Node at = item;
      YAML::Node option_map;  // the pass's `{options}` mapping, when it has one
      if (item.IsScalar()) {
        name = item.Scalar();
      } else if (item.IsMap() && item.size() == 1) {
        auto kv = *item.begin();
        name = kv.first.Scalar();
        at.reset(kv.first);
        if (!kv.second.IsNull()) {
          if (!kv.second.IsMap())
            error(kv.second, "the options of pass '" + name + "' must be a mapping");
          option_map.reset(kv.second);
          for (const auto& o : option_map)
            options.emplace_back(o.first.Scalar(), optionValue(o.second, o.first.Scalar()));
        }
      } else {
        error(item, "each pass is a name, or a mapping `name: {options}` with one key");
      }
      try {
        pipeline.passes.push_back(makeInvocation(reg_, name, options));
      } catch (const Error& e) {
        // Point at the option when the message names one, else at the pass.
        YAML::Node where = at;
        // Iterate a named node: a range over `item.begin()->second` would outlive the temporary
        // iterator it points into (ASan: stack-use-after-scope).
        if (option_map.IsMap())
          for (const auto& o : option_map)
            if (std::string(e.what()).find("'" + o.first.Scalar() + "'") != std::string::npos)
              where.reset(o.second);  // yaml-cpp: operator= would overwrite the node
        error(where, (name.empty() ? std::string() : "pass '" + name + "': ") + e.what());
      }
    }
  }

  void outputOptions(const YAML::Node& n, PipelineSpec& spec) {
    if (!n.IsMap()) error(n, "'output_options' must be a mapping");
    static const std::vector<std::string> kKeys = {"external_data", "external_data_threshold",
                                                   "opset"};
    for (const auto& kv : n) {
      std::string key = kv.first.Scalar();
      if (key == "external_data") {
        auto mode = parseExternalDataMode(scalar(kv.second, key));
        if (!mode) error(kv.second, "'external_data' must be auto, always or never");
        spec.save.external_data = *mode;
      } else if (key == "external_data_threshold") {
        try {
          spec.save.threshold = std::stoull(scalar(kv.second, key));
        } catch (const std::logic_error&) {
          error(kv.second, "'external_data_threshold' must be a byte count");
        }
      } else if (key == "opset") {
        try {
          spec.pipeline.passes.push_back(makeInvocation(
              reg_, "convert-opset", {{"target", RawOptionValue::scalar(scalar(kv.second, key))}}));
        } catch (const Error& e) {
          error(kv.second, std::string("'opset': ") + e.what());
        }
      } else {
        std::string hint = nearestName(key, kKeys);
        error(kv.first, "unknown output option '" + key + "'" +
                            (hint.empty() ? " (options: " + join(kKeys, ", ") + ")"
                                          : "; did you mean '" + hint + "'?"));
      }
    }
  }
};

}  // namespace

PipelineSpec loadPipelineSpecText(const std::string& text, const std::string& source,
                                  const PassRegistry& registry) {
  return SpecLoader(source, registry).load(text);
}

PipelineSpec loadPipelineSpec(const std::string& path, const PassRegistry& registry) {
  std::string text;
  try {
    text = readTextFile(path);
  } catch (const Error&) {
    fail(ErrorKind::Usage, "{}: cannot open the pipeline file", path);
  }
  return loadPipelineSpecText(text, path, registry);
}

}  // namespace mopt
