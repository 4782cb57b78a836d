// Quantization sensitivity analysis and auto-exclusion.
#include "passes/quantize/Sensitivity.h"

#include <iostream>

#include "exec/Executor.h"
#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "passes/quantize/Calibrate.h"
#include "passes/quantize/QuantMath.h"
#include "support/File.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace mopt {

QualityProbe::QualityProbe(const Model& float_model, const CalibrationData& data,
                           const std::string& labels, int threads)
    : threads_(threads) {
  data.forEachBatch([&](const NamedTensors& feeds, int64_t, int64_t count) {
    NamedTensors inputs;
    for (const auto& [name, t] : feeds) {
      if (!labels.empty() && name == labels) {
        for (int64_t i = 0; i < t.numel(); ++i)
          labels_.push_back(elementAsInt(t, i));
      } else {
        inputs.emplace_back(name, t);
      }
    }
    batches_.push_back(std::move(inputs));
    samples_ += count;
  });
  reference_ = run(float_model);
  if (!labels.empty()) float_accuracy_ = measure(float_model).accuracy;
}

std::vector<Tensor> QualityProbe::run(const Model& m) const {
  ExecOptions eo;
  eo.threads = threads_;
  auto exec = makeExecutor(m, eo);
  std::vector<Tensor> out;
  for (const auto& feeds : batches_)
    out.push_back(exec->run(feeds).at(0).second);
  return out;
}

QualityMetrics QualityProbe::measure(const Model& m) const {
  std::vector<Tensor> outs = run(m);
  double dot = 0, ref2 = 0, out2 = 0, err2 = 0;
  int64_t correct = 0, counted = 0;
  size_t label = 0;
  for (size_t b = 0; b < outs.size(); ++b) {
    FloatData ref(reference_[b]), out(outs[b]);
    if (ref.size() != out.size())
      fail(ErrorKind::Internal, "quality probe: output sizes differ ({} vs {})", ref.size(),
           out.size());
    for (int64_t i = 0; i < ref.size(); ++i) {
      double r = ref.data()[i], o = out.data()[i];
      dot += r * o;
      ref2 += r * r;
      out2 += o * o;
      err2 += (r - o) * (r - o);
    }
    if (!labels_.empty()) {
      const auto& dims = outs[b].dims();
      int64_t classes = dims.empty() ? 1 : dims.back();
      int64_t rows = classes ? out.size() / classes : 0;
      for (int64_t r = 0; r < rows && label < labels_.size(); ++r, ++label) {
        const float* row = out.data() + r * classes;
        int64_t best = std::max_element(row, row + classes) - row;
        correct += best == labels_[label];
        ++counted;
      }
    }
  }
  QualityMetrics q;
  q.cosine = ref2 > 0 && out2 > 0 ? dot / std::sqrt(ref2 * out2) : (ref2 == out2 ? 1.0 : 0.0);
  q.sqnr_db = err2 > 0 ? 10 * std::log10(ref2 / err2) : std::numeric_limits<double>::infinity();
  if (counted) q.accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(counted);
  return q;
}

bool QualityTarget::met(const QualityMetrics& m, std::optional<double> float_accuracy) const {
  switch (kind) {
    case Kind::MinCosine:
      return m.cosine >= value;
    case Kind::MinSqnr:
      return m.sqnr_db >= value;
    case Kind::MaxDrop:
      return float_accuracy && m.accuracy && *float_accuracy - *m.accuracy <= value + 1e-9;
  }
  return false;
}

QualityTarget parseQualityTarget(const std::string& text) {
  QualityTarget t;
  t.text = text;
  auto eq = text.find('=');
  std::string key = text.substr(0, eq), value = eq == std::string::npos ? "" : text.substr(eq + 1);
  char* end = nullptr;
  t.value = std::strtod(value.c_str(), &end);
  if (value.empty() || *end)
    fail(ErrorKind::Usage, "auto-exclude target '{}' needs a number after '='", text);
  if (key == "min-cosine")
    t.kind = QualityTarget::Kind::MinCosine;
  else if (key == "min-sqnr")
    t.kind = QualityTarget::Kind::MinSqnr;
  else if (key == "max-drop")
    t.kind = QualityTarget::Kind::MaxDrop;
  else
    fail(ErrorKind::Usage,
         "auto-exclude target '{}' must be min-cosine=X, min-sqnr=DB or max-drop=POINTS", text);
  return t;
}

namespace {

// A model with the plan for `cfg` applied (quietly: the caller reports).
Model quantizedCopy(const Model& model, const StaticConfig& cfg, const NodeSelection& select,
                    const StatsSet& stats) {
  Model copy = cloneModel(model);
  PassContext quiet;
  StaticPlan plan = planStatic(copy, cfg, select, quiet);
  if (!plan.nodes.empty()) applyStatic(copy, plan, stats, cfg, quiet);
  return copy;
}

bool isUnit(const Node& n) {
  static const std::set<std::string> units = {"Conv",   "ConvTranspose", "Gemm",
                                              "MatMul", "Add",           "Mul",
                                              "Concat", "AveragePool",   "GlobalAveragePool"};
  return units.count(n.opType()) > 0;
}

}  // namespace

SensitivityReport analyzeSensitivity(const Model& model, const StaticConfig& cfg,
                                     const NodeSelection& select, const StatsSet& stats,
                                     const QualityProbe& probe) {
  SensitivityReport r;
  r.samples = probe.samples();
  r.float_accuracy = probe.floatAccuracy();
  PassContext quiet;
  StaticPlan plan = planStatic(model, cfg, select, quiet);
  std::map<const Node*, size_t> position;
  size_t i = 0;
  for (const Node* n : model.graph->nodes())
    position[n] = i++;
  r.all = probe.measure(quantizedCopy(model, cfg, select, stats));
  std::vector<const Node*> units;
  for (const Node* n : plan.nodes)
    if (isUnit(*n)) units.push_back(n);
  Progress progress("sensitivity", static_cast<int64_t>(units.size()), true);
  int64_t done = 0;
  for (const Node* n : units) {
    StaticConfig one = cfg;
    one.only_nodes = std::set<size_t>{position.at(n)};
    SensitivityRow row;
    row.position = position.at(n);
    row.node = n->name().empty() ? n->output(0)->name() : n->name();
    row.op = n->opType();
    row.alone = probe.measure(quantizedCopy(model, one, select, stats));
    r.rows.push_back(row);
    progress.update(++done);
  }
  std::stable_sort(r.rows.begin(), r.rows.end(),
                   [](const SensitivityRow& a, const SensitivityRow& b) {
                     return a.alone.sqnr_db < b.alone.sqnr_db;
                   });
  return r;
}

std::set<size_t> autoExclude(const Model& model, const StaticConfig& cfg,
                             const NodeSelection& select, const StatsSet& stats,
                             const QualityProbe& probe, const QualityTarget& target,
                             SensitivityReport& report) {
  if (target.kind == QualityTarget::Kind::MaxDrop && !probe.floatAccuracy())
    fail(ErrorKind::Usage, "auto-exclude max-drop needs labels (eval-labels)");
  report.target = target;
  std::set<size_t> excluded;
  QualityMetrics now = report.all;
  // Most sensitive first: each step keeps one more node in float and measures again.
  for (const auto& row : report.rows) {
    if (target.met(now, probe.floatAccuracy())) break;
    excluded.insert(row.position);
    report.kept_float.push_back(row.node);
    StaticConfig c = cfg;
    c.excluded_nodes.insert(excluded.begin(), excluded.end());
    now = probe.measure(quantizedCopy(model, c, select, stats));
    report.steps.push_back(now);
  }
  report.final = now;
  return excluded;
}

namespace {

std::string metricText(const QualityMetrics& m) {
  std::string s = fmt::format("SQNR {:.2f} dB, cosine {:.6f}", m.sqnr_db, m.cosine);
  if (m.accuracy) s += fmt::format(", accuracy {:.2f}%", *m.accuracy);
  return s;
}

nlohmann::ordered_json metricJson(const QualityMetrics& m) {
  nlohmann::ordered_json j;
  j["sqnr_db"] = std::isfinite(m.sqnr_db) ? nlohmann::ordered_json(m.sqnr_db)
                                          : nlohmann::ordered_json(nullptr);
  j["cosine"] = m.cosine;
  if (m.accuracy) j["accuracy"] = *m.accuracy;
  return j;
}

}  // namespace

std::string sensitivityText(const SensitivityReport& r) {
  std::string out = fmt::format(
      "quantization sensitivity over {} samples (only one node quantized at a time; "
      "most sensitive first)\n",
      r.samples);
  if (r.float_accuracy) out += fmt::format("float accuracy: {:.2f}%\n", *r.float_accuracy);
  out += "all quantized:  " + metricText(r.all) + "\n";
  out += fmt::format("{:>4}  {:<40} {:<18} {:>10} {:>10}{}\n", "rank", "node", "op", "SQNR dB",
                     "cosine", r.float_accuracy ? "  accuracy" : "");
  int rank = 1;
  for (const auto& row : r.rows) {
    out += fmt::format("{:>4}  {:<40} {:<18} {:>10.2f} {:>10.6f}", rank++, row.node, row.op,
                       row.alone.sqnr_db, row.alone.cosine);
    if (row.alone.accuracy) out += fmt::format("  {:>7.2f}%", *row.alone.accuracy);
    out += "\n";
  }
  if (r.target) {
    out += fmt::format("auto-exclude {}: kept {} node(s) in float, most sensitive first\n",
                       r.target->text, r.kept_float.size());
    for (size_t i = 0; i < r.kept_float.size(); ++i)
      out += fmt::format("  + {:<40} -> {}\n", r.kept_float[i], metricText(r.steps.at(i)));
    if (r.final) out += "result:         " + metricText(*r.final) + "\n";
  }
  return out;
}

std::string sensitivityJson(const SensitivityReport& r) {
  nlohmann::ordered_json j;
  j["samples"] = r.samples;
  if (r.float_accuracy) j["float_accuracy"] = *r.float_accuracy;
  j["all_quantized"] = metricJson(r.all);
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& row : r.rows) {
    nlohmann::ordered_json o;
    o["node"] = row.node;
    o["op"] = row.op;
    o["alone"] = metricJson(row.alone);
    rows.push_back(o);
  }
  j["nodes"] = rows;
  if (r.target) {
    j["target"] = r.target->text;
    nlohmann::ordered_json kept = nlohmann::ordered_json::array();
    for (size_t i = 0; i < r.kept_float.size(); ++i) {
      nlohmann::ordered_json k;
      k["node"] = r.kept_float[i];
      k["after"] = metricJson(r.steps.at(i));
      kept.push_back(k);
    }
    j["kept_float"] = kept;
    if (r.final) j["result"] = metricJson(*r.final);
  }
  return j.dump(1) + "\n";
}

std::string sensitivityMarkdown(const SensitivityReport& r) {
  std::string out = fmt::format(
      "Quantization sensitivity over {} samples: each node quantized alone, most "
      "sensitive first.\n\n",
      r.samples);
  if (r.float_accuracy) out += fmt::format("Float accuracy: {:.2f}%.\n\n", *r.float_accuracy);
  out += "All quantized: " + metricText(r.all) + ".\n\n";
  out += std::string("| rank | node | op | SQNR dB | cosine |") +
         (r.float_accuracy ? " accuracy |" : "") + "\n";
  out += std::string("|---|---|---|---|---|") + (r.float_accuracy ? "---|" : "") + "\n";
  int rank = 1;
  for (const auto& row : r.rows) {
    out += fmt::format("| {} | `{}` | {} | {:.2f} | {:.6f} |", rank++, row.node, row.op,
                       row.alone.sqnr_db, row.alone.cosine);
    if (row.alone.accuracy) out += fmt::format(" {:.2f}% |", *row.alone.accuracy);
    out += "\n";
  }
  if (r.target) {
    out += fmt::format("\nAuto-exclude `{}`: kept {} node(s) in float", r.target->text,
                       r.kept_float.size());
    out += ", most sensitive first; quality after each:\n\n";
    for (size_t i = 0; i < r.kept_float.size(); ++i)
      out += fmt::format("{}. `{}`: {}\n", i + 1, r.kept_float[i], metricText(r.steps.at(i)));
    if (r.final) out += "\nResult: " + metricText(*r.final) + ".";
    out += "\n";
  }
  return out;
}

void writeSensitivityReport(const SensitivityReport& r, const std::string& path) {
  auto ends = [&](const std::string& suffix) {
    return path.size() >= suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  std::string text = ends(".json") ? sensitivityJson(r)
                     : ends(".md") ? sensitivityMarkdown(r)
                                   : sensitivityText(r);
  if (path == "-") {  // standard output (`mopt quantize --analyze` without --report)
    std::cout << text << std::flush;
    return;
  }
  AtomicFile f(path);
  f.write(text.data(), text.size());
  f.commit(false);
}

}  // namespace mopt
