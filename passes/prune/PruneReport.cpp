// Pruning reports in three formats.
#include "passes/prune/PruneReport.h"

#include "pass/Pass.h"
#include "support/File.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace mopt {

int64_t PruneReport::prunedParams() const {
  int64_t n = 0;
  for (const auto& l : layers)
    n += l.params;
  return n;
}
int64_t PruneReport::zerosBefore() const {
  int64_t n = 0;
  for (const auto& l : layers)
    n += l.zeros_before;
  return n;
}
int64_t PruneReport::zerosAfter() const {
  int64_t n = 0;
  for (const auto& l : layers)
    n += l.zeros_after;
  return n;
}

namespace {

double ratio(int64_t a, int64_t b) {
  return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
}

std::string count(int64_t v) {
  if (v < 0) return "?";
  if (v >= 10'000'000'000) return fmt::format("{:.2f} G", static_cast<double>(v) / 1e9);
  if (v >= 10'000'000) return fmt::format("{:.2f} M", static_cast<double>(v) / 1e6);
  if (v >= 10'000) return fmt::format("{:.1f} k", static_cast<double>(v) / 1e3);
  return std::to_string(v);
}

// Width of the layer column: the longest name, within reason.
size_t nameWidth(const PruneReport& r) {
  size_t w = 5;
  for (const auto& l : r.layers)
    w = std::max(w, l.node.size());
  return std::min<size_t>(w, 60);
}

std::string factor(int64_t before, int64_t after) {
  if (before < 0 || after <= 0) return "-";
  return fmt::format("{:.2f}x", static_cast<double>(before) / static_cast<double>(after));
}

}  // namespace

std::string pruneReportText(const PruneReport& r) {
  std::string out = fmt::format("{} ({})\n", r.pass, r.settings);
  const size_t w = nameWidth(r);
  if (!r.structured) {
    out += fmt::format("{:<{}}  {:<13} {:>12} {:>13} {:>12}\n", "layer", w, "op", "weights",
                       "zeros before", "zeros after");
    for (const auto& l : r.layers)
      out +=
          fmt::format("{:<{}}  {:<13} {:>12} {:>12.2f}% {:>11.2f}%\n", l.node, w, l.op, l.params,
                      100 * ratio(l.zeros_before, l.params), 100 * ratio(l.zeros_after, l.params));
    out += fmt::format(
        "total: {} weights in {} layers, {} zeros ({:.2f}%), before {} ({:.2f}%); model "
        "parameters {}\n",
        r.prunedParams(), r.layers.size(), r.zerosAfter(),
        100 * ratio(r.zerosAfter(), r.prunedParams()), r.zerosBefore(),
        100 * ratio(r.zerosBefore(), r.prunedParams()), r.model_params_after);
  } else {
    out += fmt::format("{:<{}}  {:<13} {:>16}  {:>20}  {:>22}\n", "layer", w, "op", "channels",
                       "parameters", "MACs");
    for (const auto& l : r.layers)
      out += fmt::format("{:<{}}  {:<13} {:>6} -> {:<6}  {:>8} -> {:<8}  {:>9} -> {}\n", l.node, w,
                         l.op, l.channels_before, l.channels_after, count(l.params_before),
                         count(l.params_after), count(l.macs_before), count(l.macs_after));
    out += fmt::format("total: parameters {} -> {} ({}), MACs {} -> {} ({})\n",
                       count(r.model_params_before), count(r.model_params_after),
                       factor(r.model_params_before, r.model_params_after), count(r.macs_before),
                       count(r.macs_after), factor(r.macs_before, r.macs_after));
    for (const auto& g : r.groups) {
      std::string members;
      for (size_t i = 0; i < g.members.size() && i < 4; ++i)
        members += (i ? ", " : "") + g.members[i];
      if (g.members.size() > 4) members += fmt::format(", ... ({} layers)", g.members.size());
      out += fmt::format("group [{}]: {} -> {} channels: {}\n", members, g.channels,
                         g.channels - g.removed, g.status);
    }
  }
  for (const auto& s : r.skipped)
    out += "skipped: " + s + "\n";
  return out;
}

std::string pruneReportJson(const PruneReport& r) {
  nlohmann::ordered_json j;
  j["pass"] = r.pass;
  j["settings"] = r.settings;
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (const auto& l : r.layers) {
    nlohmann::ordered_json o;
    o["node"] = l.node;
    o["op"] = l.op;
    o["weight"] = l.weight;
    if (r.structured) {
      o["channels_before"] = l.channels_before;
      o["channels_after"] = l.channels_after;
      o["params_before"] = l.params_before;
      o["params_after"] = l.params_after;
      o["macs_before"] = l.macs_before;
      o["macs_after"] = l.macs_after;
    } else {
      o["params"] = l.params;
      o["zeros_before"] = l.zeros_before;
      o["zeros_after"] = l.zeros_after;
      o["sparsity"] = ratio(l.zeros_after, l.params);
    }
    layers.push_back(o);
  }
  j["layers"] = layers;
  nlohmann::ordered_json t;
  if (r.structured) {
    t["params_before"] = r.model_params_before;
    t["params_after"] = r.model_params_after;
    t["macs_before"] = r.macs_before;
    t["macs_after"] = r.macs_after;
    nlohmann::ordered_json groups = nlohmann::ordered_json::array();
    for (const auto& g : r.groups) {
      nlohmann::ordered_json o;
      o["members"] = g.members;
      o["channels"] = g.channels;
      o["removed"] = g.removed;
      o["status"] = g.status;
      groups.push_back(o);
    }
    j["groups"] = groups;
  } else {
    t["params"] = r.prunedParams();
    t["zeros_before"] = r.zerosBefore();
    t["zeros_after"] = r.zerosAfter();
    t["sparsity"] = ratio(r.zerosAfter(), r.prunedParams());
    t["model_params"] = r.model_params_after;
  }
  j["total"] = t;
  j["skipped"] = r.skipped;
  return j.dump(1) + "\n";
}

std::string pruneReportMarkdown(const PruneReport& r) {
  std::string out = fmt::format("# {}\n\n`{}`\n\n", r.pass, r.settings);
  if (!r.structured) {
    out += "| layer | op | weights | zeros before | zeros after |\n|---|---|---:|---:|---:|\n";
    for (const auto& l : r.layers)
      out +=
          fmt::format("| `{}` | {} | {} | {:.2f} % | {:.2f} % |\n", l.node, l.op, l.params,
                      100 * ratio(l.zeros_before, l.params), 100 * ratio(l.zeros_after, l.params));
    out += fmt::format("| **total** ({} layers) | | {} | {:.2f} % | {:.2f} % |\n", r.layers.size(),
                       r.prunedParams(), 100 * ratio(r.zerosBefore(), r.prunedParams()),
                       100 * ratio(r.zerosAfter(), r.prunedParams()));
  } else {
    out += "| layer | op | channels | parameters | MACs |\n|---|---|---:|---:|---:|\n";
    for (const auto& l : r.layers)
      out += fmt::format("| `{}` | {} | {} → {} | {} → {} | {} → {} |\n", l.node, l.op,
                         l.channels_before, l.channels_after, count(l.params_before),
                         count(l.params_after), count(l.macs_before), count(l.macs_after));
    out += fmt::format("| **model** | | | {} → {} ({}) | {} → {} ({}) |\n",
                       count(r.model_params_before), count(r.model_params_after),
                       factor(r.model_params_before, r.model_params_after), count(r.macs_before),
                       count(r.macs_after), factor(r.macs_before, r.macs_after));
    if (!r.groups.empty()) {
      out += "\n## Dependency groups\n\n| layers | channels | status |\n|---|---:|---|\n";
      for (const auto& g : r.groups) {
        std::string members;
        for (const auto& m : g.members)
          members += (members.empty() ? "`" : ", `") + m + "`";
        out += fmt::format("| {} | {} → {} | {} |\n", members, g.channels, g.channels - g.removed,
                           g.status);
      }
    }
  }
  if (!r.skipped.empty()) {
    out += "\n## Left alone\n\n";
    for (const auto& s : r.skipped)
      out += "- " + s + "\n";
  }
  return out;
}

ReportTable pruneReportTable(const PruneReport& r) {
  ReportTable t;
  t.title = "sparsity per layer (" + r.settings + ")";
  t.chart = "sparsity %";
  if (!r.structured) {
    t.columns = {"layer", "op", "weights", "zeros before %", "sparsity %"};
    for (const auto& l : r.layers)
      t.rows.push_back({l.node, l.op, std::to_string(l.params),
                        fmt::format("{:.2f}", 100 * ratio(l.zeros_before, l.params)),
                        fmt::format("{:.2f}", 100 * ratio(l.zeros_after, l.params))});
  } else {
    t.columns = {"layer",         "op",           "channels before", "channels after",
                 "params before", "params after", "MACs before",     "MACs after",
                 "sparsity %"};
    for (const auto& l : r.layers)
      t.rows.push_back(
          {l.node, l.op, std::to_string(l.channels_before), std::to_string(l.channels_after),
           std::to_string(l.params_before), std::to_string(l.params_after),
           std::to_string(l.macs_before), std::to_string(l.macs_after),
           fmt::format("{:.2f}", l.channels_before > 0
                                     ? 100 * (1 - ratio(l.channels_after, l.channels_before))
                                     : 0.0)});
  }
  return t;
}

void writePruneReport(const PruneReport& r, const std::string& path) {
  auto ends = [&](const std::string& suffix) {
    return path.size() >= suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  std::string text = ends(".json") ? pruneReportJson(r)
                     : ends(".md") ? pruneReportMarkdown(r)
                                   : pruneReportText(r);
  AtomicFile f(path);
  f.write(text.data(), text.size());
  f.commit(false);
}

}  // namespace mopt
