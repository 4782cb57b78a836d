// Subcommand implementations: load, run passes, save; nothing here parses flags.
#include "driver/Driver.h"

#include "driver/Report.h"
#include "support/Sha256.h"

#include "data/Npy.h"

#include "ir/Error.h"
#include "passes/Registry.h"
#include "support/File.h"
#include "support/Strings.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <glob.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

namespace mopt {

namespace {

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

ModelFormat detectFormat(const std::string& path) {
  auto buf = Buffer::mapFile(path);
  if (buf->size() >= 4 && std::equal(buf->data(), buf->data() + 4, "PK\x03\x04"))
    return ModelFormat::TorchScript;
  return ModelFormat::Onnx;
}

ModelFormat outputFormat(const std::string& path, const std::string& to) {
  if (to == "onnx") return ModelFormat::Onnx;
  if (to == "torchscript" || to == "ts") return ModelFormat::TorchScript;
  if (!to.empty()) fail(ErrorKind::Usage, "--to must be onnx or torchscript, not '{}'", to);
  auto ends = [&path](const char* ext) {
    std::string e(ext);
    return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".pt") || ends(".pth") || ends(".ts") || ends(".torchscript"))
    return ModelFormat::TorchScript;
  return ModelFormat::Onnx;
}

Model loadModel(const std::string& path, const LoadOptions& opts) {
  switch (detectFormat(path)) {
    case ModelFormat::TorchScript: {
      TorchScriptImportOptions ts = opts.torchscript;
      if (!opts.sample_npz.empty()) {
        // Names, dtypes and shapes from a sample, used when nothing better is known (explicit
        // shapes, or those mopt recorded in a file it wrote); the batch dim becomes symbolic.
        NamedTensors arrays = loadNpz(opts.sample_npz);
        auto add = [&](const std::string& name, const Tensor& t) {
          InputSpec spec;
          spec.name = name;
          spec.dtype = t.dtype();
          for (size_t i = 0; i < t.dims().size(); ++i)
            spec.dims.push_back(i == 0 ? std::string("N") : std::to_string(t.dims()[i]));
          ts.sample_inputs.push_back(spec);
        };
        if (opts.sample_map.empty()) {
          for (const auto& [name, t] : arrays)
            add(name, t);
        }
        for (const auto& entry : opts.sample_map) {  // (clang 14 cannot capture a binding)
          const std::string& array = entry.second;
          auto it = std::find_if(arrays.begin(), arrays.end(),
                                 [&](const auto& a) { return a.first == array; });
          if (it == arrays.end())
            failInput("{}: no array '{}' for --map {}={}", opts.sample_npz, array, entry.first,
                      array);
          add(entry.first, it->second);
        }
      }
      return loadTorchScript(path, ts);
    }
    case ModelFormat::Onnx:
    case ModelFormat::Unknown:
      break;
  }
  return loadOnnx(path, opts.onnx);
}

OnnxSaveResult saveModel(const Model& m, const std::string& path, const SaveOptions& opts) {
  if (outputFormat(path, opts.to) == ModelFormat::TorchScript) {
    saveTorchScript(m, path, opts.torchscript);
    OnnxSaveResult r;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) r.model_bytes = static_cast<uint64_t>(st.st_size);
    return r;
  }
  return saveOnnx(m, path, opts.onnx);
}

void checkOutputPath(const std::string& input, const std::string& output, bool in_place) {
  if (output.empty()) fail(ErrorKind::Usage, "no output file given (-o)");
  if (in_place) return;
  if (input == output || sameFile(input, output))
    fail(ErrorKind::Usage, "{}: output would overwrite the input; pass --in-place to allow it",
         output);
}

ConvertResult convertModel(const ConvertRequest& req) {
  checkOutputPath(req.input, req.output, req.in_place);
  ConvertResult r;
  auto t0 = std::chrono::steady_clock::now();
  Model m = loadModel(req.input, req.load);
  if (req.opset) {
    Pipeline p;
    p.passes.push_back(
        makeInvocation(passRegistry(), "convert-opset",
                       {{"target", RawOptionValue::scalar(std::to_string(*req.opset))}}));
    PassManagerOptions pmo;
    pmo.schemas = &onnxSchemas();
    PassManager(pmo).run(p, m);
  }
  r.load_seconds = secondsSince(t0);
  t0 = std::chrono::steady_clock::now();
  r.saved = saveModel(m, req.output, req.save);
  r.save_seconds = secondsSince(t0);
  return r;
}

RunResult runPipeline(const RunRequest& req) {
  const PassRegistry& reg = passRegistry();
  PipelineSpec spec;
  if (!req.spec_path.empty()) {
    if (!req.pipeline_text.empty())
      fail(ErrorKind::Usage, "give either a pipeline file or -p PIPELINE, not both");
    spec = loadPipelineSpec(req.spec_path, reg);
  } else {
    if (req.pipeline_text.empty())
      fail(ErrorKind::Usage, "no pipeline: give a file or -p PIPELINE");
    spec.pipeline = parsePipeline(req.pipeline_text, reg);
  }
  if (!req.input.empty()) spec.input = req.input;
  if (!req.output.empty()) spec.output = req.output;
  if (req.external_data) spec.save.external_data = *req.external_data;
  if (req.fsync) spec.save.fsync = true;

  RunResult r;
  r.input = spec.input;
  r.output = spec.output;
  r.canonical = spec.pipeline.canonical();
  if (req.dry_run) return r;
  if (spec.input.empty())
    fail(ErrorKind::Usage, "no input model (give one, or `input:` in the file)");
  if (req.write_output) checkOutputPath(spec.input, spec.output, req.in_place);

  auto t0 = std::chrono::steady_clock::now();
  RunReport rep;
  rep.input = spec.input;
  rep.output = spec.output;
  rep.pipeline = r.canonical;
  rep.mopt_version = MOPT_VERSION;
  rep.input_sha256 = sha256File(spec.input);
  Model m = loadModel(spec.input, req.load);
  weightTotals(m, rep.weight_bytes_before, rep.parameters_before);
  // The gates compare against the input model: a cheap copy (tensor bytes are shared).
  std::optional<Model> before;
  if (spec.gates) before = cloneModel(m);
  PassManagerOptions pmo;
  pmo.verify_each = req.verify_each;
  pmo.schemas = &onnxSchemas();
  pmo.print_ir_after = req.print_ir_after;
  pmo.ir_out = req.ir_out;
  pmo.threads = std::max(1, req.threads);
  r.stats = PassManager(pmo).run(spec.pipeline, m);
  rep.passes = r.stats;
  // Provenance: what produced this file, so a reader can reproduce it. (Not the thread count
  // or the time: the output does not depend on them.)
  auto setMeta = [&m](const std::string& key, const std::string& value) {
    for (auto& kv : m.metadata_props)
      if (kv.first == key) {
        kv.second = value;
        return;
      }
    m.metadata_props.emplace_back(key, value);
  };
  setMeta("mopt.version", MOPT_VERSION);
  setMeta("mopt.pipeline", r.canonical);
  setMeta("mopt.input_sha256", rep.input_sha256);
  if (spec.gates) {
    const DataSetSpec* data = spec.gates->data.empty() ? nullptr : &spec.data.at(spec.gates->data);
    r.gates = evaluateGates(*before, m, *spec.gates, data, pmo.threads);
    for (const auto& g : r.gates)
      r.gates_passed = r.gates_passed && g.passed;
  }
  rep.gates = r.gates;
  rep.gates_passed = r.gates_passed;
  if (req.write_output && (r.gates_passed || req.keep_failed)) {
    SaveOptions so;  // ONNX, or TorchScript when the output is .pt/.pth/.ts
    so.onnx = spec.save;
    r.saved = saveModel(m, spec.output, so);
    r.written = true;
    rep.written = true;
    rep.output_sha256 = sha256File(spec.output);
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ReportSpec out = spec.report;
  if (!req.report_json.empty()) out.json = req.report_json;
  if (!req.report_markdown.empty()) out.markdown = req.report_markdown;
  if (!req.report_svg.empty()) out.svg = req.report_svg;
  writeReports(rep, out.json, out.markdown, out.svg);
  r.output_sha256 = rep.output_sha256;
  return r;
}

std::vector<BatchItem> runBatch(const RunRequest& req, const std::string& glob_pattern,
                                const std::string& output_dir) {
  if (output_dir.empty()) fail(ErrorKind::Usage, "--input-glob needs --output-dir");
  glob_t g{};
  int rc = ::glob(glob_pattern.c_str(), 0, nullptr, &g);
  std::vector<std::string> inputs;
  if (rc == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i)
      inputs.emplace_back(g.gl_pathv[i]);
  globfree(&g);
  if (inputs.empty()) fail(ErrorKind::Usage, "--input-glob '{}' matches no file", glob_pattern);
  std::sort(inputs.begin(), inputs.end());
  std::error_code ec;
  std::filesystem::create_directories(output_dir, ec);
  if (ec)
    fail(ErrorKind::Usage, "{}: cannot create the output folder: {}", output_dir, ec.message());
  std::vector<BatchItem> items;
  for (const auto& in : inputs) {
    BatchItem item;
    item.input = in;
    item.output = output_dir + "/" + baseName(in);
    RunRequest one = req;
    one.input = in;
    one.output = item.output;
    // Each model gets its own report files, named after it, when the run asks for reports.
    auto stem = [&](const std::string& ext) { return output_dir + "/" + baseName(in) + ext; };
    if (!req.report_json.empty()) one.report_json = stem(".report.json");
    if (!req.report_markdown.empty()) one.report_markdown = stem(".report.md");
    if (!req.report_svg.empty()) one.report_svg = stem(".report.svg");
    auto t0 = std::chrono::steady_clock::now();
    try {
      RunResult res = runPipeline(one);
      item.code = res.gates_passed ? 0 : kGateFailedExitCode;
      item.message = res.gates_passed ? "ok" : "gate failed";
      for (const auto& gr : res.gates)
        if (!gr.passed)
          item.message += fmt::format(": {} {:.4g} (limit {:.4g})", gr.name, gr.value, gr.limit);
      item.output_sha256 = res.output_sha256;
    } catch (const Error& e) {
      item.code = static_cast<int>(e.kind());
      item.message = e.what();
    } catch (const std::exception& e) {
      item.code = static_cast<int>(ErrorKind::Internal);
      item.message = e.what();
    }
    item.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    items.push_back(item);
  }
  return items;
}

std::string batchSummary(const std::vector<BatchItem>& items) {
  std::string out = fmt::format("{:<40} {:>6} {:>8}  {}\n", "model", "exit", "time s", "result");
  int failed = 0;
  for (const auto& i : items) {
    out +=
        fmt::format("{:<40} {:>6} {:>8.2f}  {}\n", baseName(i.input), i.code, i.seconds, i.message);
    failed += i.code != 0;
  }
  out += fmt::format("{} model(s), {} ok, {} failed\n", items.size(),
                     items.size() - static_cast<size_t>(failed), failed);
  return out;
}

std::string passStatsTable(const std::vector<PassStats>& stats) {
  std::string out =
      fmt::format("{:<28} {:>9} {:>8} {:>15}  {}\n", "pass", "time", "changed", "nodes", "details");
  for (const auto& s : stats) {
    std::string details;
    for (const auto& [k, v] : s.counters)
      if (v) details += fmt::format("{}{} {}", details.empty() ? "" : ", ", k, v);
    out += fmt::format("{:<28} {:>8.3f}s {:>8} {:>7} -> {:<5}  {}\n", s.name, s.seconds,
                       s.changed ? "yes" : "no", s.nodes_before, s.nodes_after, details);
    for (const auto& n : s.notes)
      out += "    note: " + n + "\n";
  }
  return out;
}

std::string passesText(const PassRegistry& r) {
  std::string out;
  for (const auto& e : r.entries()) {
    out += fmt::format("{:<24} {}\n", e.info->name, e.info->summary);
    for (const auto& o : e.info->options) {
      std::string type(optionTypeName(o.type));
      if (o.type == OptionType::Enum) type = join(o.choices, "|");
      out += fmt::format("    {:<22} {:<12} {}{}\n", o.name, type, o.help,
                         o.required ? " (required)" : " (default: " + o.default_value + ")");
    }
  }
  return out;
}

std::string passesJson(const PassRegistry& r) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& e : r.entries()) {
    nlohmann::json opts = nlohmann::json::array();
    for (const auto& o : e.info->options)
      opts.push_back({{"name", o.name},
                      {"type", std::string(optionTypeName(o.type))},
                      {"default", o.default_value},
                      {"required", o.required},
                      {"choices", o.choices},
                      {"help", o.help}});
    a.push_back({{"name", e.info->name},
                 {"family", e.info->family},
                 {"summary", e.info->summary},
                 {"description", e.info->description},
                 {"options", opts}});
  }
  return a.dump(2);
}

std::string passesMarkdown(const PassRegistry& r) {
  std::string out =
      "# Pass reference\n\n"
      "Generated from `passes/Passes.def` by `mopt passes --markdown`; a test keeps this file "
      "equal to that output.\n\n";
  for (const auto& e : r.entries()) {
    out += fmt::format("## `{}`\n\n*{}* — {}\n\n{}\n\n", e.info->name, e.info->family,
                       e.info->summary, e.info->description);
    if (e.info->options.empty()) {
      out += "No options.\n\n";
      continue;
    }
    out += "| option | type | default | meaning |\n|---|---|---|---|\n";
    for (const auto& o : e.info->options) {
      std::string type(optionTypeName(o.type));
      if (o.type == OptionType::Enum) type = join(o.choices, " \\| ");
      out += fmt::format("| `{}` | {} | {} | {} |\n", o.name, type,
                         o.required ? "required" : "`" + o.default_value + "`", o.help);
    }
    out += "\n";
  }
  return out;
}

}  // namespace mopt
