// Loading pipeline files with yaml-cpp (which also reads JSON), with positions in every error.
#include "driver/PipelineSpec.h"

#include "ir/Error.h"
#include "support/File.h"
#include "support/Strings.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

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
    static const std::vector<std::string> kKeys = {"version", "input", "output", "data",
                                                   "passes",  "gates", "report", "output_options"};
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
    if (root["data"]) dataSets(root["data"], spec);
    if (!root["passes"]) error(root, "the pipeline file has no 'passes' list");
    passes(root["passes"], spec);
    if (root["gates"]) gates(root["gates"], spec);
    if (root["report"]) report(root["report"], spec);
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

  void unknownKey(const YAML::Node& at, const std::string& key,
                  const std::vector<std::string>& keys, const std::string& what) {
    std::string hint = nearestName(key, keys);
    error(at, "unknown " + what + " '" + key + "'" +
                  (hint.empty() ? " (" + what + "s: " + join(keys, ", ") + ")"
                                : "; did you mean '" + hint + "'?"));
  }

  double number(const YAML::Node& n, const std::string& what) {
    std::string v = scalar(n, what);
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    // A NaN or infinite limit would make its gate meaningless (every comparison false).
    if (v.empty() || *end || !std::isfinite(d))
      error(n, "'" + what + "' must be a finite number, got '" + v + "'");
    return d;
  }

  // A positive count. Parsed as an integer: a double cast to int64 is undefined past 2^63
  // (found by fuzz_pipeline_file).
  int64_t count(const YAML::Node& n, const std::string& what) {
    std::string v = scalar(n, what);
    char* end = nullptr;
    errno = 0;
    long long c = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end || errno == ERANGE || c < 1 || c > (int64_t{1} << 40))
      error(n, "'" + what + "' must be a whole number from 1 to 2^40, got '" + v + "'");
    return c;
  }

  void dataSets(const YAML::Node& n, PipelineSpec& spec) {
    if (!n.IsMap()) error(n, "'data' must map names to data sets");
    static const std::vector<std::string> kKeys = {"path", "map", "labels"};
    for (const auto& kv : n) {
      std::string name = kv.first.Scalar();
      DataSetSpec d;
      if (kv.second.IsScalar()) {
        d.path = resolve(kv.second.Scalar());
      } else if (kv.second.IsMap()) {
        for (const auto& f : kv.second) {
          std::string key = f.first.Scalar();
          if (key == "path") {
            d.path = resolve(scalar(f.second, "path"));
          } else if (key == "labels") {
            d.labels = scalar(f.second, "labels");
          } else if (key == "map") {
            if (!f.second.IsMap()) error(f.second, "'map' must map graph inputs to array names");
            for (const auto& m : f.second)
              d.map.emplace_back(m.first.Scalar(), scalar(m.second, "map"));
          } else {
            unknownKey(f.first, key, kKeys, "data-set key");
          }
        }
      } else {
        error(kv.second,
              "data set '" + name + "' must be a path or a mapping with path, map, labels");
      }
      if (d.path.empty()) error(kv.second, "data set '" + name + "' has no path");
      spec.data[name] = std::move(d);
    }
  }

  // "@name" option values: the data set's path; its map and labels fill the pass's matching
  // options (X-data -> X-map, X-labels; data -> data-map, labels) unless given.
  void resolveDataRefs(const std::string& pass,
                       std::vector<std::pair<std::string, RawOptionValue>>& options,
                       const YAML::Node& at, const PipelineSpec& spec) {
    const PassEntry* e = reg_.find(pass);
    std::vector<std::pair<std::string, RawOptionValue>> added;
    for (auto& [key, value] : options) {
      if (value.is_list || value.items.empty() || value.items[0].rfind("@", 0) != 0) continue;
      std::string name = value.items[0].substr(1);
      auto it = spec.data.find(name);
      if (it == spec.data.end()) {
        std::vector<std::string> names;
        for (const auto& [n, d] : spec.data)
          names.push_back(n);
        std::string hint = nearestName(name, names);
        error(at, "pass '" + pass + "': option '" + key + "' names data set '" + name +
                      "', which the 'data' "
                      "section does not define" +
                      (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
      }
      value.items[0] = it->second.path;
      std::string prefix = key == "data" ? "data"
                           : key.size() > 5 && key.compare(key.size() - 5, 5, "-data") == 0
                               ? key.substr(0, key.size() - 5)
                               : "";
      if (prefix.empty() || !e) continue;
      auto has = [&](const std::string& opt) {
        bool declared = false;
        for (const auto& o : e->info->options)
          declared = declared || o.name == opt;
        bool given = false;
        for (const auto& [k, v] : options)
          given = given || k == opt;
        for (const auto& [k, v] : added)
          given = given || k == opt;
        return declared && !given;
      };
      std::string map_opt = prefix + "-map";
      if (!it->second.map.empty() && has(map_opt)) {
        RawOptionValue m;
        m.is_list = true;
        for (const auto& [in, arr] : it->second.map)
          m.items.push_back(in + "=" + arr);
        added.emplace_back(map_opt, m);
      }
      std::string labels_opt = key == "data" ? "labels" : prefix + "-labels";
      if (!it->second.labels.empty() && has(labels_opt))
        added.emplace_back(labels_opt, RawOptionValue::scalar(it->second.labels));
    }
    options.insert(options.end(), added.begin(), added.end());
  }

  void gates(const YAML::Node& n, PipelineSpec& spec) {
    if (!n.IsMap()) error(n, "'gates' must be a mapping");
    static const std::vector<std::string> kKeys = {
        "data",       "samples",        "max-accuracy-drop",
        "min-cosine", "max-size-ratio", "max-latency-ratio"};
    GateSpec g;
    for (const auto& kv : n) {
      std::string key = kv.first.Scalar();
      if (key == "data") {
        g.data = scalar(kv.second, key);
        if (!spec.data.count(g.data))
          error(kv.second, "gates: data set '" + g.data + "' is not defined in 'data'");
      } else if (key == "samples") {
        g.samples = count(kv.second, key);
      } else if (key == "max-accuracy-drop") {
        g.max_accuracy_drop = number(kv.second, key);
      } else if (key == "min-cosine") {
        g.min_cosine = number(kv.second, key);
      } else if (key == "max-size-ratio") {
        g.max_size_ratio = number(kv.second, key);
      } else if (key == "max-latency-ratio") {
        g.max_latency_ratio = number(kv.second, key);
      } else {
        unknownKey(kv.first, key, kKeys, "gate");
      }
    }
    bool needs_data = g.max_accuracy_drop || g.min_cosine || g.max_latency_ratio;
    if (needs_data && g.data.empty())
      error(n, "gates: accuracy, cosine and latency gates need 'data: NAME'");
    if (g.max_accuracy_drop && spec.data.at(g.data).labels.empty())
      error(n, "gates: max-accuracy-drop needs a data set with labels");
    spec.gates = g;
  }

  void report(const YAML::Node& n, PipelineSpec& spec) {
    if (!n.IsMap()) error(n, "'report' must be a mapping with json, markdown and/or svg paths");
    static const std::vector<std::string> kKeys = {"json", "markdown", "svg"};
    for (const auto& kv : n) {
      std::string key = kv.first.Scalar();
      std::string path = resolve(scalar(kv.second, key));
      if (key == "json")
        spec.report.json = path;
      else if (key == "markdown")
        spec.report.markdown = path;
      else if (key == "svg")
        spec.report.svg = path;
      else
        unknownKey(kv.first, key, kKeys, "report key");
    }
  }

  void passes(const YAML::Node& list, PipelineSpec& spec) {
    Pipeline& pipeline = spec.pipeline;
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
      resolveDataRefs(name, options, at, spec);
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
