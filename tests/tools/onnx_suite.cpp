// Round-trips every model of the ONNX backend test suite through mopt and prepares (then checks)
// an ONNX Runtime comparison of original vs round-tripped outputs.
//
//   onnx_suite prepare DATA_DIR OUT_DIR [--opsets]   import, verify, export twice; .pb test data
//                                                    -> .npy; with --opsets also convert every
//                                                    model to every opset 7..21 (cases id@opN)
//                                                    and from 21 back to its own (id@op21toN)
//   onnx_suite check OUT_DIR              read ORT's result.json; print counts; exit 1 on a loss
#include "data/Npy.h"
#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "pass/PassManager.h"
#include "passes/Registry.h"
#include "passes/convert/OpsetAdapters.h"
#include "support/File.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

using namespace mopt;
using nlohmann::json;

namespace {

std::vector<std::string> listDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Ops whose outputs are random: excluded from the bit-identity requirement.
bool hasRandomOps(const Model& m) {
  static const std::set<std::string> kRandom = {"RandomNormal",     "RandomUniform",
                                                "RandomNormalLike", "RandomUniformLike",
                                                "Multinomial",      "Bernoulli"};
  bool found = false;
  forEachGraph(m, [&](const Graph& g) {
    for (const Node* n : g.nodes())
      if (kRandom.count(n->opType()) || (n->opType() == "Dropout" && n->numInputs() >= 3))
        found = true;
  });
  return found;
}

// Converts `m` (already loaded) to `target`; returns "" and writes `path`, or the reason it failed.
std::string convertTo(const std::string& model_path, int64_t target, const std::string& path) {
  try {
    Model m = loadOnnx(model_path);
    Pipeline p = parsePipeline(fmt::format("convert-opset{{target={}}}", target), passRegistry());
    PassManagerOptions pmo;
    pmo.schemas = &onnxSchemas();
    PassManager(pmo).run(p, m);
    saveOnnx(m, path);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

int prepare(const std::string& data_dir, const std::string& out_dir, bool opsets) {
  ::mkdir(out_dir.c_str(), 0755);
  json manifest = {{"cases", json::array()}};
  json summary = json::array();
  for (std::string suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    for (const std::string& name : listDir(data_dir + "/" + suite)) {
      std::string dir = data_dir + "/" + suite + "/" + name;
      std::string model_path = dir + "/model.onnx";
      if (!fileExists(model_path)) continue;
      std::string id = suite + "/" + name;
      std::string case_dir = out_dir + "/" + suite + "__" + name;
      ::mkdir(case_dir.c_str(), 0755);
      json rec = {{"name", id}, {"suite", suite}};
      try {
        Model m = loadOnnx(model_path);
        rec["imported"] = true;
        std::string rt1 = serializeOnnx(m);
        writeFile(case_dir + "/rt.onnx", rt1);
        Model m2 =
            loadOnnxBytes(Buffer::copyOf(rt1.data(), rt1.size()), case_dir + "/rt.onnx", case_dir);
        std::string rt2 = serializeOnnx(m2);
        rec["exported"] = true;
        rec["second_round_trip_identical"] = rt1 == rt2;
        rec["random"] = hasRandomOps(m);

        // Test data: inputs/outputs of set 0, named by the graph's own input/output names.
        std::string set = dir + "/test_data_set_0";
        std::vector<const Value*> inputs;
        for (const Value* v : m.graph->inputs())
          if (!v->isInitializer()) inputs.push_back(v);
        json c = {{"name", id},
                  {"models", {{"orig", model_path}, {"rt", case_dir + "/rt.onnx"}}},
                  {"inputs", json::object()},
                  {"expected", json::object()}};
        std::string skip;
        auto convert = [&](const std::vector<const Value*>& values, const char* prefix,
                           const char* key) {
          for (size_t k = 0; k < values.size() && skip.empty(); ++k) {
            std::string pb = fmt::format("{}/{}_{}.pb", set, prefix, k);
            if (!fileExists(pb)) {
              skip = "missing " + pb;
              return;
            }
            if (!values[k]->type().isTensor()) {
              skip = "non-tensor " + std::string(prefix) + " '" + values[k]->name() + "'";
              return;
            }
            try {
              Tensor t = loadTensorProto(pb);
              std::string npy = fmt::format("{}/{}_{}.npy", case_dir, prefix, k);
              saveNpy(npy, t);
              c[key][values[k]->name()] = npy;
            } catch (const Error& e) {
              skip = e.what();
            }
          }
        };
        if (!fileExists(set)) skip = "no test data";
        convert(inputs, "input", "inputs");
        std::vector<const Value*> outputs(m.graph->outputs().begin(), m.graph->outputs().end());
        convert(outputs, "output", "expected");
        if (skip.empty()) {
          manifest["cases"].push_back(c);
        } else {
          rec["ort_skipped"] = skip;
        }
        if (opsets) {
          int64_t from = m.opset("");
          json conv = json::object();
          auto attempt = [&](const std::string& source, int64_t t, const std::string& key) {
            std::string path = fmt::format("{}/op{}.onnx", case_dir, key);
            std::string why = convertTo(source, t, path);
            conv[key] = why.empty() ? "converted" : why;
            if (why.empty() && skip.empty()) {
              json v = c;
              v["name"] = fmt::format("{}@op{}", id, key);
              v["models"] = {{"orig", path}};
              v["atol"] = 1e-5;
              manifest["cases"].push_back(v);
            }
            return why.empty();
          };
          bool at_max = false;
          for (int64_t t = 7; t <= kMaxConvertOpset; ++t) {
            if (t == from || from == 0) continue;
            bool ok = attempt(model_path, t, std::to_string(t));
            at_max = t == kMaxConvertOpset && ok;
          }
          // And back down from the newest opset to the model's own: every downgrade step from
          // kMaxConvertOpset on the suite's operators (case id@op21to13 etc.).
          if (at_max && from >= kMinConvertOpset + 1)
            attempt(fmt::format("{}/op{}.onnx", case_dir, kMaxConvertOpset), from,
                    fmt::format("{}to{}", kMaxConvertOpset, from));
          rec["opset_from"] = from;
          rec["conversions"] = conv;
        }
      } catch (const Error& e) {
        rec["error"] = e.what();
      }
      summary.push_back(rec);
    }
  }
  std::ofstream(out_dir + "/manifest.json") << manifest.dump(1);
  std::ofstream(out_dir + "/summary.json") << summary.dump(1);
  size_t ok = 0;
  for (const auto& r : summary)
    ok += r.value("exported", false);
  fmt::print("prepared {} models ({} imported+exported), {} cases for ONNX Runtime\n",
             summary.size(), ok, manifest["cases"].size());
  return 0;
}

int check(const std::string& out_dir) {
  json summary = json::parse(readTextFile(out_dir + "/summary.json"));
  json result = json::parse(readTextFile(out_dir + "/result.json"));
  std::map<std::string, json> by_name;
  for (auto& c : result["cases"])
    by_name[c["name"].get<std::string>()] = c;

  struct Counts {
    int models = 0, imported = 0, exported = 0, identical_rt = 0, ort_cases = 0, orig_match = 0,
        rt_match = 0, rt_identical = 0;
  };
  std::map<std::string, Counts> counts;
  std::vector<std::string> problems;
  for (const auto& r : summary) {
    std::string suite = r["suite"], name = r["name"];
    Counts& c = counts[suite];
    ++c.models;
    if (r.contains("error")) {
      problems.push_back(name + ": " + r["error"].get<std::string>());
      continue;
    }
    c.imported += r.value("imported", false);
    c.exported += r.value("exported", false);
    if (r.value("second_round_trip_identical", false)) {
      ++c.identical_rt;
    } else {
      problems.push_back(name + ": second round trip is not byte-identical to the first");
    }
    auto it = by_name.find(name);
    if (it == by_name.end()) continue;
    ++c.ort_cases;
    const json& res = it->second["results"];
    if (res["orig"].value("status", "") != "match") continue;
    ++c.orig_match;
    bool rt_ok = res["rt"].value("status", "") == "match";
    bool same = it->second.value("identical", false) == true;
    c.rt_match += rt_ok;
    c.rt_identical += same;
    if (!rt_ok)
      problems.push_back(name + ": original matches in ONNX Runtime but the round trip gives " +
                         res["rt"].value("status", "?") + " " + res["rt"].value("message", ""));
    else if (!same && !r.value("random", false))
      problems.push_back(name + ": round-tripped outputs are not bit-identical");
  }
  fmt::print("{:<18} {:>6} {:>8} {:>8} {:>11} {:>9} {:>10} {:>9} {:>12}\n", "suite", "models",
             "imported", "exported", "rt2==rt1", "ort cases", "orig ok", "rt ok", "bit-identical");
  for (const auto& [suite, c] : counts)
    fmt::print("{:<18} {:>6} {:>8} {:>8} {:>11} {:>9} {:>10} {:>9} {:>12}\n", suite, c.models,
               c.imported, c.exported, c.identical_rt, c.ort_cases, c.orig_match, c.rt_match,
               c.rt_identical);
  // Opset conversions: every converted model ONNX Runtime can judge must still match.
  int converted = 0, refused = 0, judged = 0, judged_ok = 0, rescued = 0, rescued_ok = 0,
      no_kernel = 0;
  // The conversions from the newest opset back to the model's own ("21to13"), also counted above.
  int back_converted = 0, back_refused = 0, back_judged = 0, back_ok = 0;
  std::map<std::string, int> refusals;  // by operator, for the report
  for (const auto& r : summary) {
    if (!r.contains("conversions")) continue;
    std::string name = r["name"];
    auto base = by_name.find(name);
    std::string orig_status =
        base == by_name.end() ? "" : base->second["results"]["orig"].value("status", "");
    for (const auto& [target, outcome] : r["conversions"].items()) {
      bool back = target.find("to") != std::string::npos;
      (outcome == "converted" ? back_converted : back_refused) += back;
      if (outcome != "converted") {
        ++refused;
        std::string why = outcome;
        auto at = why.find("block it: [");
        if (at != std::string::npos)
          ++refusals[why.substr(at + 11, why.find(' ', at + 11) - at - 11)];
        continue;
      }
      ++converted;
      auto it = by_name.find(name + "@op" + target);
      if (it == by_name.end()) continue;
      std::string status = it->second["results"]["orig"].value("status", "");
      std::string message = it->second["results"]["orig"].value("message", "");
      if (orig_status == "match") {
        ++judged;
        back_judged += back;
        if (status == "match") {
          ++judged_ok;
          back_ok += back;
        } else if (status == "load_error" &&
                   message.find("Could not find an implementation") != std::string::npos) {
          // A valid model of that opset that ONNX Runtime has no kernel for (e.g. Max-6 on
          // double): a runtime gap, counted but not a conversion error.
          ++no_kernel;
        } else {
          problems.push_back(fmt::format("{} converted to opset {} gives {}: {}", name, target,
                                         status,
                                         it->second["results"]["orig"].value("message", "")));
        }
      } else if (orig_status == "load_error") {
        ++rescued;
        rescued_ok += status == "match";
      }
    }
  }
  if (converted + refused > 0) {
    fmt::print(
        "opset conversions (every model to every opset 7..{}, and from {} back to its own): {} "
        "converted, {} refused with a reason\n  of {} converted models whose original ONNX "
        "Runtime runs correctly, {} match the expected outputs and {} use an op version ONNX "
        "Runtime has no kernel for\n  {} converted models whose original ONNX Runtime cannot "
        "load; {} of them now load and match\n  back from {}: {} converted, {} refused; {} of {} "
        "judged match\n",
        kMaxConvertOpset, kMaxConvertOpset, converted, refused, judged, judged_ok, no_kernel,
        rescued, rescued_ok, kMaxConvertOpset, back_converted, back_refused, back_ok, back_judged);
    std::vector<std::pair<int, std::string>> top;
    for (const auto& [op, n] : refusals)
      top.emplace_back(n, op);
    std::sort(top.rbegin(), top.rend());
    std::string list;
    for (size_t i = 0; i < top.size() && i < 12; ++i)
      list += fmt::format("{}{} {}", i ? ", " : "", top[i].second, top[i].first);
    fmt::print("  refusals by operator: {}\n", list);
  }
  for (const auto& p : problems)
    fmt::print("PROBLEM {}\n", p);
  return problems.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "prepare" && (argc == 4 || argc == 5))
      return prepare(argv[2], argv[3], argc == 5 && std::string(argv[4]) == "--opsets");
    if (mode == "check" && argc == 3) return check(argv[2]);
  } catch (const std::exception& e) {
    std::cerr << "onnx_suite: " << e.what() << "\n";
    return 2;
  }
  std::cerr << "usage: onnx_suite prepare DATA_DIR OUT_DIR [--opsets] | check OUT_DIR\n";
  return 1;
}
