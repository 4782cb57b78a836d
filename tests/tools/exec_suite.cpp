// Runs the ONNX backend node tests through mopt's executor and compares with the expected outputs.
//
//   exec_suite DATA_DIR [--filter SUBSTR] [--json OUT.json] [--expected-failures FILE] [-v]
//
// Tolerance: rtol 1e-3, atol 1e-5 (the ONNX backend defaults: |got - want| <= atol + rtol*|want|;
// NaN equals NaN). Tests on sequences, optionals, strings and training ops are out of scope and
// counted apart. With --expected-failures the exit code is 1 when a test fails that the file does
// not list (a regression) or a listed test passes (the list is stale).
#include "exec/Executor.h"
#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "support/File.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <dirent.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

using namespace mopt;

namespace {

std::vector<std::string> listDir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

const std::set<std::string> kRandomOps = {"RandomNormal",      "RandomUniform", "RandomNormalLike",
                                          "RandomUniformLike", "Multinomial",   "Bernoulli"};

// Why a test is out of scope ("" if it is in scope).
std::string outOfScope(const Model& m) {
  std::string why;
  auto typeWhy = [](const Type& t) -> std::string {
    if (t.kind() == Type::Kind::Sequence) return "sequence";
    if (t.kind() == Type::Kind::Optional) return "optional";
    if (t.kind() == Type::Kind::Map) return "map";
    if (t.isTensor() && t.elemType() == DType::String) return "string";
    return "";
  };
  for (const Value* v : m.graph->inputs())
    if (why.empty()) why = typeWhy(v->type());
  for (const Value* v : m.graph->outputs())
    if (why.empty()) why = typeWhy(v->type());
  forEachGraph(m, [&](const Graph& g) {
    for (const Node* n : g.nodes()) {
      if (!why.empty()) return;
      if (n->domain() == "ai.onnx.preview.training") why = "training";
      // Training-mode Dropout (random masks) and BatchNormalization (batch statistics).
      if (n->is("Dropout") && n->numInputs() > 2 && n->input(2)) why = "training";
      if (n->is("BatchNormalization") && n->intAttr("training_mode", 0)) why = "training";
      if (n->opType().rfind("Sequence", 0) == 0 || n->opType().rfind("Optional", 0) == 0 ||
          n->opType() == "SplitToSequence" || n->opType() == "ConcatFromSequence")
        why = "sequence";
      if (n->opType() == "StringNormalizer" || n->opType() == "RegexFullMatch" ||
          n->opType() == "StringConcat" || n->opType() == "StringSplit")
        why = "string";
    }
  });
  return why;
}

bool hasRandomOps(const Model& m) {
  bool found = false;
  forEachGraph(m, [&](const Graph& g) {
    for (const Node* n : g.nodes())
      if (kRandomOps.count(n->opType())) found = true;
  });
  return found;
}

// The suite stores bfloat16 data as uint16 bit patterns (numpy has no bfloat16).
Tensor asBf16(const Tensor& t) {
  return Tensor(DType::BF16, t.dims(), t.buffer());
}

// "" when `got` matches `want` within tolerance.
std::string compare(const Tensor& got, const Tensor& want_in, bool shape_only) {
  Tensor want =
      got.dtype() == DType::BF16 && want_in.dtype() == DType::U16 ? asBf16(want_in) : want_in;
  if (got.dtype() != want.dtype())
    return fmt::format("dtype {} vs expected {}", dtypeName(got.dtype()), dtypeName(want.dtype()));
  if (got.dims() != want.dims())
    return fmt::format("shape {} vs expected {}", shapeToString(shapeOf(got.dims())),
                       shapeToString(shapeOf(want.dims())));
  if (shape_only) return "";
  if (got.dtype() == DType::String) return got.strings() == want.strings() ? "" : "strings differ";
  if (!isNumeric(got.dtype())) return got.sameValue(want) ? "" : "values differ";
  double worst = 0;
  int64_t bad = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double g = elementAsDouble(got, i), w = elementAsDouble(want, i);
    if (std::isnan(g) && std::isnan(w)) continue;
    if (g == w) continue;  // also equal infinities
    double d = std::fabs(g - w);
    if (!(d <= 1e-5 + 1e-3 * std::fabs(w))) {
      ++bad;
      worst = std::max(worst, std::isnan(d) ? INFINITY : d);
    }
  }
  return bad ? fmt::format("{} of {} values outside tolerance, max abs error {:.3g}", bad,
                           got.numel(), worst)
             : "";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr
        << "usage: exec_suite DATA_DIR [--filter S] [--json OUT] [--expected-failures FILE] [-v]\n";
    return 1;
  }
  std::string data = argv[1], filter, json_out, expected_file;
  bool verbose = false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--filter" && i + 1 < argc)
      filter = argv[++i];
    else if (a == "--json" && i + 1 < argc)
      json_out = argv[++i];
    else if (a == "--expected-failures" && i + 1 < argc)
      expected_file = argv[++i];
    else if (a == "-v")
      verbose = true;
  }
  std::map<std::string, std::string> expected;  // test -> reason
  if (!expected_file.empty()) {
    std::istringstream in(readTextFile(expected_file));
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      auto sp = line.find(' ');
      expected[line.substr(0, sp)] = sp == std::string::npos ? "" : line.substr(sp + 1);
    }
  }

  nlohmann::json results = nlohmann::json::array();
  std::map<std::string, int> counts;
  std::map<std::string, int> scope_counts;
  std::vector<std::string> regressions, stale;
  for (const std::string& name : listDir(data)) {
    if (!filter.empty() && name.find(filter) == std::string::npos) continue;
    std::string dir = data + "/" + name;
    if (!fileExists(dir + "/model.onnx")) continue;
    std::string status, message;
    try {
      Model m = loadOnnx(dir + "/model.onnx");
      std::string scope = outOfScope(m);
      if (!scope.empty()) {
        status = "out_of_scope";
        message = scope;
        ++scope_counts[scope];
      } else {
        auto missing = unsupportedOps(m);
        if (!missing.empty()) {
          status = "unsupported";
          message = fmt::format("no kernel for {}", fmt::join(missing, ", "));
        } else {
          auto exec = makeExecutor(m);
          std::vector<const Value*> inputs;
          for (const Value* v : m.graph->inputs())
            if (!v->isInitializer()) inputs.push_back(v);
          bool random = hasRandomOps(m);
          status = "pass";
          for (const std::string& set : listDir(dir)) {
            if (set.rfind("test_data_set_", 0) != 0) continue;
            NamedTensors feed;
            for (size_t i = 0; i < inputs.size(); ++i) {
              std::string pb = fmt::format("{}/{}/input_{}.pb", dir, set, i);
              if (!fileExists(pb)) continue;
              Tensor t = loadTensorProto(pb);
              if (t.dtype() == DType::U16 && inputs[i]->type().elemType() == DType::BF16)
                t = asBf16(t);
              feed.emplace_back(inputs[i]->name(), t);
            }
            NamedTensors out = exec->run(feed);
            for (size_t i = 0; i < out.size(); ++i) {
              std::string pb = fmt::format("{}/{}/output_{}.pb", dir, set, i);
              if (!fileExists(pb)) continue;
              std::string diff = compare(out[i].second, loadTensorProto(pb), random);
              if (!diff.empty()) {
                status = "mismatch";
                message = fmt::format("{} output {} ('{}'): {}", set, i, out[i].first, diff);
                break;
              }
            }
            if (status != "pass") break;
          }
        }
      }
    } catch (const Error& e) {
      status = "error";
      message = e.what();
    }
    ++counts[status];
    bool failed = status == "mismatch" || status == "error" || status == "unsupported";
    if (!expected_file.empty()) {
      if (failed && !expected.count(name)) regressions.push_back(name + ": " + message);
      if (!failed && status != "out_of_scope" && expected.count(name)) stale.push_back(name);
    }
    if (verbose || (failed && filter.size())) fmt::print("{:<60} {} {}\n", name, status, message);
    results.push_back({{"name", name}, {"status", status}, {"message", message}});
  }
  int in_scope = counts["pass"] + counts["mismatch"] + counts["error"] + counts["unsupported"];
  fmt::print(
      "{}: {} tests; out of scope {} ({}); in scope {}: pass {} ({:.1f}%), mismatch {}, "
      "unsupported {}, error {}\n",
      data, in_scope + counts["out_of_scope"], counts["out_of_scope"],
      [&] {
        std::string s;
        for (const auto& [k, v] : scope_counts)
          s += fmt::format("{}{} {}", s.empty() ? "" : ", ", k, v);
        return s;
      }(),
      in_scope, counts["pass"], in_scope ? 100.0 * counts["pass"] / in_scope : 0.0,
      counts["mismatch"], counts["unsupported"], counts["error"]);
  if (!json_out.empty()) std::ofstream(json_out) << results.dump(1);
  for (const auto& r : regressions)
    fmt::print("REGRESSION {}\n", r);
  for (const auto& s : stale)
    fmt::print("NOW PASSES (remove from the expected-failures list) {}\n", s);
  return regressions.empty() && stale.empty() ? 0 : 1;
}
