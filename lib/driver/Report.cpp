// Run reports: JSON for machines, Markdown for people, SVG for a glance.
#include "driver/Report.h"

#include "ir/Error.h"
#include "support/File.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace mopt {

namespace {

std::string mib(double bytes) {
  return fmt::format("{:.2f} MiB", bytes / (1024.0 * 1024.0));
}

std::string escapeXml(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

std::string cell(const std::string& s) {
  std::string out;
  for (char c : s)
    out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

}  // namespace

std::string reportJson(const RunReport& r) {
  nlohmann::ordered_json j;
  j["mopt_version"] = r.mopt_version;
  j["input"] = {{"path", r.input},
                {"sha256", r.input_sha256},
                {"weight_bytes", r.weight_bytes_before},
                {"parameters", r.parameters_before}};
  j["output"] = {{"path", r.output}, {"written", r.written}, {"sha256", r.output_sha256}};
  j["pipeline"] = r.pipeline;
  j["seconds"] = r.seconds;
  nlohmann::ordered_json passes = nlohmann::ordered_json::array();
  for (const auto& p : r.passes) {
    nlohmann::ordered_json o;
    o["pass"] = p.name;
    o["invocation"] = p.invocation;
    o["seconds"] = p.seconds;
    o["changed"] = p.changed;
    o["peak_rss_bytes"] = p.peak_rss_bytes;
    o["weight_bytes"] = p.weight_bytes;
    o["parameters"] = p.parameters;
    o["nodes"] = {{"before", p.nodes_before}, {"after", p.nodes_after}};
    o["counters"] = p.counters;
    o["notes"] = p.notes;
    nlohmann::ordered_json tables = nlohmann::ordered_json::array();
    for (const auto& t : p.tables)
      tables.push_back(
          {{"title", t.title}, {"columns", t.columns}, {"rows", t.rows}, {"chart", t.chart}});
    o["tables"] = tables;
    passes.push_back(o);
  }
  j["passes"] = passes;
  nlohmann::ordered_json gates = nlohmann::ordered_json::array();
  for (const auto& g : r.gates)
    gates.push_back({{"gate", g.name},
                     {"value", g.value},
                     {"limit", g.limit},
                     {"passed", g.passed},
                     {"detail", g.detail}});
  j["gates"] = gates;
  j["gates_passed"] = r.gates_passed;
  return j.dump(1) + "\n";
}

std::string reportMarkdown(const RunReport& r) {
  std::string out = "# mopt run report\n\n";
  out += fmt::format("- input: `{}` (sha256 `{}`), {} weights, {} parameters\n", r.input,
                     r.input_sha256, mib(static_cast<double>(r.weight_bytes_before)),
                     r.parameters_before);
  out += fmt::format(
      "- output: `{}` {}\n", r.output,
      r.written ? fmt::format("(sha256 `{}`)", r.output_sha256) : "(not written: a gate failed)");
  out += fmt::format("- pipeline: `{}`\n- mopt {}, {:.2f} s in all\n\n", r.pipeline, r.mopt_version,
                     r.seconds);
  out += "| pass | time s | peak RSS | weights after | parameters after | nodes | counters |\n";
  out += "|---|---|---|---|---|---|---|\n";
  for (const auto& p : r.passes) {
    std::string counters;
    for (const auto& [k, v] : p.counters)
      if (v) counters += fmt::format("{}{} {}", counters.empty() ? "" : ", ", k, v);
    out += fmt::format("| {} | {:.3f} | {} | {} | {} | {} -> {} | {} |\n", p.name, p.seconds,
                       mib(static_cast<double>(p.peak_rss_bytes)),
                       mib(static_cast<double>(p.weight_bytes)), p.parameters, p.nodes_before,
                       p.nodes_after, cell(counters));
  }
  if (!r.gates.empty()) {
    out += fmt::format(
        "\n## Gates: {}\n\n| gate | value | limit | result | detail |\n|---|---|---|---|---|\n",
        r.gates_passed ? "passed" : "FAILED");
    for (const auto& g : r.gates)
      out += fmt::format("| {} | {:.4f} | {:.4f} | {} | {} |\n", g.name, g.value, g.limit,
                         g.passed ? "pass" : "**FAIL**", cell(g.detail));
  }
  for (const auto& p : r.passes) {
    if (p.notes.empty() && p.tables.empty()) continue;
    out += "\n## " + p.name + "\n\n";
    for (const auto& n : p.notes)
      out += "- " + n + "\n";
    for (const auto& t : p.tables) {
      out += "\n**" + t.title + "**\n\n|";
      for (const auto& c : t.columns)
        out += " " + cell(c) + " |";
      out += "\n|";
      for (size_t i = 0; i < t.columns.size(); ++i)
        out += "---|";
      out += "\n";
      for (const auto& row : t.rows) {
        out += "|";
        for (const auto& c : row)
          out += " " + cell(c) + " |";
        out += "\n";
      }
    }
  }
  return out;
}

std::string reportSvg(const RunReport& r) {
  std::string title;
  std::vector<std::pair<std::string, double>> bars;
  for (const auto& p : r.passes) {
    for (const auto& t : p.tables) {
      if (t.chart.empty() || !bars.empty()) continue;
      auto col = std::find(t.columns.begin(), t.columns.end(), t.chart);
      if (col == t.columns.end()) continue;
      auto ci = static_cast<size_t>(col - t.columns.begin());
      for (const auto& row : t.rows)
        if (ci < row.size())
          bars.emplace_back(row.empty() ? "" : row[0], std::strtod(row[ci].c_str(), nullptr));
      title = p.name + ": " + t.title + " (" + t.chart + ")";
    }
  }
  if (bars.empty()) {
    title = "weight size after each pass (MiB)";
    bars.emplace_back("input", static_cast<double>(r.weight_bytes_before) / 1048576.0);
    for (const auto& p : r.passes)
      bars.emplace_back(p.name, static_cast<double>(p.weight_bytes) / 1048576.0);
  }
  const int row_h = 18, label_w = 260, bar_w = 420, top = 36;
  const int height = top + static_cast<int>(bars.size()) * row_h + 16;
  double mx = 0;
  for (const auto& [l, v] : bars)
    mx = std::max(mx, std::fabs(v));
  if (mx <= 0) mx = 1;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" "
      "font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"8\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
      label_w + bar_w + 90, height, escapeXml(title));
  int y = top;
  for (const auto& [label, v] : bars) {
    int w = static_cast<int>(std::lround(std::fabs(v) / mx * bar_w));
    std::string shown =
        label.size() > 40 ? label.substr(0, 18) + "..." + label.substr(label.size() - 19) : label;
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>"
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#4878a8\"/>"
        "<text x=\"{}\" y=\"{}\">{:.4g}</text>\n",
        label_w - 6, y + 12, escapeXml(shown), label_w, y + 2, w, row_h - 4, label_w + w + 4,
        y + 12, v);
    y += row_h;
  }
  return svg + "</svg>\n";
}

void writeReports(const RunReport& r, const std::string& json, const std::string& markdown,
                  const std::string& svg) {
  auto put = [](const std::string& path, const std::string& text) {
    if (path.empty()) return;
    AtomicFile f(path);
    f.write(text.data(), text.size());
    f.commit(false);
  };
  put(json, reportJson(r));
  put(markdown, reportMarkdown(r));
  put(svg, reportSvg(r));
}

}  // namespace mopt
