// Model statistics for `mopt inspect`.
#include "driver/Inspect.h"

#include "ir/TensorUtil.h"
#include "passes/common/Constants.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace mopt {

namespace {

std::string dimsText(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i)
    s += (i ? "," : "") + std::to_string(d[i]);
  return s + "]";
}

std::string humanBytes(uint64_t b) {
  if (b >= (uint64_t{1} << 30)) return fmt::format("{:.2f} GiB", b / double(uint64_t{1} << 30));
  if (b >= (uint64_t{1} << 20)) return fmt::format("{:.2f} MiB", b / double(uint64_t{1} << 20));
  if (b >= 1024) return fmt::format("{:.1f} KiB", b / 1024.0);
  return fmt::format("{} B", b);
}

std::string humanCount(int64_t n) {
  if (n >= 1000000000) return fmt::format("{:.2f} G", n / 1e9);
  if (n >= 1000000) return fmt::format("{:.2f} M", n / 1e6);
  if (n >= 1000) return fmt::format("{:.1f} K", n / 1e3);
  return std::to_string(n);
}

class Collector {
 public:
  Collector(InspectReport& r, const std::string& model_path) : r_(r), model_path_(model_path) {}

  void graph(const Graph& g, const std::string& where) {
    for (const Value* v : g.initializers())
      add(v->initializer(), v->name(), where, "initializer");
    for (const Value* v : g.sparseInitializers()) {
      const SparseTensor& s = *v->sparseInitializer();
      add(s.values, v->name(), where, "sparse_initializer");
    }
    for (const Node* n : g.nodes()) {
      ++r_.nodes;
      std::string op = n->isDefaultDomain() ? n->opType() : n->domain() + "." + n->opType();
      ++r_.ops[op];
      if (n->is("Constant")) {
        if (auto t = constantNodeValue(*n))
          add(*t, n->output(0) ? n->output(0)->name() : n->name(), where, "constant");
      }
      for (const Attribute& a : n->attributes()) {
        std::string sub =
            where + "/" + (n->name().empty() ? n->opType() : n->name()) + "." + a.name;
        if (a.g) {
          ++r_.subgraphs;
          graph(*a.g, sub);
        }
        for (size_t i = 0; i < a.graphs.size(); ++i) {
          ++r_.subgraphs;
          graph(*a.graphs[i], sub + "[" + std::to_string(i) + "]");
        }
      }
    }
  }

 private:
  InspectReport& r_;
  const std::string& model_path_;

  void add(const Tensor& t, const std::string& name, const std::string& where, const char* kind) {
    InspectTensor it;
    it.name = name;
    it.graph = where;
    it.kind = kind;
    it.dtype = t.dtype();
    it.dims = t.dims();
    it.numel = t.numel();
    it.bytes = t.dtype() == DType::String ? 0 : t.byteSize();
    it.zeros = countZeros(t);
    if (t.buffer()) t.buffer()->releasePages();
    it.storage = "inline";
    if (t.buffer() && t.buffer()->file() && t.buffer()->file()->path() != model_path_) {
      it.storage = t.buffer()->file()->path();
      auto f = std::find_if(r_.external_files.begin(), r_.external_files.end(),
                            [&](const auto& e) { return e.path == it.storage; });
      if (f == r_.external_files.end()) {
        r_.external_files.push_back({it.storage, t.buffer()->file()->size(), 0});
        f = std::prev(r_.external_files.end());
      }
      ++f->tensors;
    }
    r_.parameters += it.numel;
    std::string dt(dtypeName(t.dtype()));
    r_.bytes_by_dtype[dt] += it.bytes;
    r_.parameters_by_dtype[dt] += it.numel;
    r_.tensors.push_back(std::move(it));
  }
};

}  // namespace

InspectReport inspectModel(const Model& m, const std::string& path) {
  InspectReport r;
  r.path = path;
  r.format = "onnx";
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) r.file_bytes = static_cast<uint64_t>(st.st_size);
  r.ir_version = m.ir_version;
  r.opsets = m.opset_imports;
  r.producer = m.producer_name + (m.producer_version.empty() ? "" : " " + m.producer_version);
  r.metadata = m.metadata_props;
  for (const Value* v : m.graph->inputs())
    if (!v->isInitializer()) r.inputs.emplace_back(v->name(), v->type().str());
  for (const Value* v : m.graph->outputs())
    r.outputs.emplace_back(v->name(), v->type().str());
  Collector c(r, path);
  c.graph(*m.graph, "main");
  for (const Function& f : m.functions) {
    ++r.functions;
    if (f.body) c.graph(*f.body, "function " + f.domain + "." + f.name);
  }
  return r;
}

std::string inspectText(const InspectReport& r, size_t top) {
  std::string out;
  auto line = [&out](const std::string& s) { out += s + "\n"; };
  std::string opsets;
  for (const auto& o : r.opsets)
    opsets += fmt::format("{}{} {}", opsets.empty() ? "" : ", ",
                          o.domain.empty() ? "ai.onnx" : o.domain, o.version);
  line(fmt::format("{}  ({}, {})", r.path, r.format, humanBytes(r.file_bytes)));
  line(fmt::format("  ir_version {}   opsets: {}   producer: {}", r.ir_version, opsets,
                   r.producer.empty() ? "-" : r.producer));
  for (const auto& [k, v] : r.metadata)
    line(fmt::format("  metadata {} = {}", k, v));
  line("inputs:");
  for (const auto& [n, t] : r.inputs)
    line(fmt::format("  {:<32} {}", n, t));
  line("outputs:");
  for (const auto& [n, t] : r.outputs)
    line(fmt::format("  {:<32} {}", n, t));
  line(fmt::format("nodes: {} ({} subgraphs, {} functions)", r.nodes, r.subgraphs, r.functions));
  std::vector<std::pair<std::string, int64_t>> ops(r.ops.begin(), r.ops.end());
  std::stable_sort(ops.begin(), ops.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string hist;
  for (const auto& [op, n] : ops)
    hist += fmt::format("{}{} {}", hist.empty() ? "" : ", ", op, n);
  line("  " + hist);
  uint64_t total_bytes = 0;
  for (const auto& [dt, b] : r.bytes_by_dtype)
    total_bytes += b;
  int64_t zeros = 0;
  for (const auto& t : r.tensors)
    zeros += t.zeros;
  line(fmt::format("parameters: {} ({}) in {} tensors, {} of weights, {:.1f}% zeros",
                   humanCount(r.parameters), r.parameters, r.tensors.size(),
                   humanBytes(total_bytes), r.parameters ? 100.0 * zeros / r.parameters : 0.0));
  for (const auto& [dt, b] : r.bytes_by_dtype)
    line(fmt::format("  {:<6} {:>12} elements {:>12}", dt, r.parameters_by_dtype.at(dt),
                     humanBytes(b)));
  std::vector<const InspectTensor*> largest;
  for (const auto& t : r.tensors)
    largest.push_back(&t);
  std::stable_sort(largest.begin(), largest.end(),
                   [](auto* a, auto* b) { return a->bytes > b->bytes; });
  if (!largest.empty()) line(fmt::format("largest tensors:"));
  for (size_t i = 0; i < std::min(top, largest.size()); ++i) {
    const auto* t = largest[i];
    line(fmt::format("  {:<40} {:<5} {:<20} {:>10}  zeros {:5.1f}%{}", t->name, dtypeName(t->dtype),
                     dimsText(t->dims), humanBytes(t->bytes),
                     t->numel ? 100.0 * t->zeros / t->numel : 0.0,
                     t->storage == "inline" ? "" : "  (external)"));
  }
  for (const auto& f : r.external_files)
    line(fmt::format("external data: {} ({}, {} tensors)", f.path, humanBytes(f.bytes), f.tensors));
  return out;
}

std::string inspectJson(const InspectReport& r) {
  using nlohmann::json;
  json j;
  j["path"] = r.path;
  j["format"] = r.format;
  j["file_bytes"] = r.file_bytes;
  j["ir_version"] = r.ir_version;
  j["opsets"] = json::object();
  for (const auto& o : r.opsets)
    j["opsets"][o.domain.empty() ? "ai.onnx" : o.domain] = o.version;
  j["producer"] = r.producer;
  j["metadata"] = json::object();
  for (const auto& [k, v] : r.metadata)
    j["metadata"][k] = v;
  auto io = [](const std::vector<std::pair<std::string, std::string>>& list) {
    json a = json::array();
    for (const auto& [n, t] : list)
      a.push_back({{"name", n}, {"type", t}});
    return a;
  };
  j["inputs"] = io(r.inputs);
  j["outputs"] = io(r.outputs);
  j["nodes"] = r.nodes;
  j["subgraphs"] = r.subgraphs;
  j["functions"] = r.functions;
  j["ops"] = r.ops;
  j["parameters"] = r.parameters;
  j["parameters_by_dtype"] = r.parameters_by_dtype;
  j["bytes_by_dtype"] = r.bytes_by_dtype;
  json tensors = json::array();
  for (const auto& t : r.tensors)
    tensors.push_back({{"name", t.name},
                       {"graph", t.graph},
                       {"kind", t.kind},
                       {"dtype", std::string(dtypeName(t.dtype))},
                       {"shape", t.dims},
                       {"elements", t.numel},
                       {"bytes", t.bytes},
                       {"zeros", t.zeros},
                       {"zero_fraction", t.numel ? double(t.zeros) / double(t.numel) : 0.0},
                       {"storage", t.storage}});
  j["tensors"] = tensors;
  json ext = json::array();
  for (const auto& f : r.external_files)
    ext.push_back({{"path", f.path}, {"bytes", f.bytes}, {"tensors", f.tensors}});
  j["external_data"] = ext;
  return j.dump(2);
}

}  // namespace mopt
