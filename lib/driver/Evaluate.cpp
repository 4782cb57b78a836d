// exec/compare/eval: feeding models, comparing outputs, measuring accuracy and latency.
#include "driver/Evaluate.h"

#include "exec/Executor.h"
#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "support/Strings.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <unordered_map>

namespace mopt {

std::vector<std::pair<std::string, std::string>> parseMap(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (!text.empty() && start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string pair = text.substr(start, comma - start);
    auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size())
      fail(ErrorKind::Usage, "--map entries look like INPUT=ARRAY, got '{}'", pair);
    out.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    start = comma + 1;
  }
  return out;
}

namespace {

Tensor randomTensor(DType dt, const std::vector<int64_t>& dims, std::mt19937_64& rng) {
  int64_t n = checkedNumel(dims);
  std::vector<double> v(static_cast<size_t>(n));
  if (isFloatingPoint(dt)) {
    std::normal_distribution<double> d(0.0, 1.0);
    for (auto& x : v)
      x = d(rng);
  } else if (dt == DType::Bool) {
    std::uniform_int_distribution<int> d(0, 1);
    for (auto& x : v)
      x = d(rng);
  } else {
    // Small non-negative integers: valid indices and token ids for most models.
    std::uniform_int_distribution<int> d(0, 15);
    for (auto& x : v)
      x = d(rng);
  }
  return fromDoubles(dt, dims, v);
}

}  // namespace

NamedTensors makeFeeds(const Model& m, const FeedOptions& opts) {
  NamedTensors feeds;
  std::vector<const Value*> inputs;
  for (const Value* v : m.graph->inputs())
    if (!v->isInitializer()) inputs.push_back(v);
  if (!opts.npz.empty()) {
    NamedTensors data = loadNpz(opts.npz);
    std::vector<std::string> names;
    for (const auto& [n, t] : data)
      names.push_back(n);
    for (const Value* v : inputs) {
      std::string key = v->name();
      for (const auto& [in, arr] : opts.map)
        if (in == v->name()) key = arr;
      auto it =
          std::find_if(data.begin(), data.end(), [&](const auto& p) { return p.first == key; });
      if (it == data.end())
        failInput("{}: no array for input '{}' (arrays: {}; use --map {}=ARRAY)", opts.npz,
                  v->name(), join(names, ", "), v->name());
      feeds.emplace_back(v->name(), it->second);
    }
    return feeds;
  }
  std::mt19937_64 rng(opts.seed);
  for (const Value* v : inputs) {
    const InputSpec* spec = nullptr;
    for (const auto& s : opts.shapes)
      if (s.name == v->name() || (s.name.empty() && inputs.size() == 1)) spec = &s;
    DType dt = v->type().isTensor() && v->type().elemType() != DType::Undefined
                   ? v->type().elemType()
                   : DType::F32;
    std::vector<int64_t> dims;
    if (spec) {
      for (const auto& d : spec->dims) {
        char* end = nullptr;
        long long x = std::strtoll(d.c_str(), &end, 10);
        dims.push_back(*end == '\0' && x >= 0 ? x : std::max<int64_t>(opts.random_batch, 1));
      }
    } else if (v->type().isTensor() && v->type().shape()) {
      for (const Dim& d : *v->type().shape())
        dims.push_back(d.isKnown() ? d.value : std::max<int64_t>(opts.random_batch, 1));
    } else {
      failInput("input '{}' has no known shape; give one with --input-shape {}=...", v->name(),
                v->name());
    }
    feeds.emplace_back(v->name(), randomTensor(dt, dims, rng));
  }
  return feeds;
}

namespace {

OutputComparison compareTensors(const std::string& name, const Tensor& a, const Tensor& b) {
  OutputComparison c;
  c.name = name;
  c.shape = a.dims();
  if (a.dims() != b.dims() || !isNumeric(a.dtype()) || !isNumeric(b.dtype())) {
    c.shapes_match = a.dims() == b.dims();
    c.max_abs = INFINITY;
    c.cosine = 0;
    return c;
  }
  std::vector<double> x = toDoubles(a), y = toDoubles(b);
  double sum_abs = 0, dot = 0, nx = 0, ny = 0, ref_max = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double d = std::fabs(x[i] - y[i]);
    if (std::isnan(d)) d = (std::isnan(x[i]) && std::isnan(y[i])) ? 0 : INFINITY;
    c.max_abs = std::max(c.max_abs, d);
    sum_abs += d;
    dot += x[i] * y[i];
    nx += x[i] * x[i];
    ny += y[i] * y[i];
    ref_max = std::max(ref_max, std::fabs(y[i]));
  }
  c.mean_abs = x.empty() ? 0 : sum_abs / static_cast<double>(x.size());
  c.max_rel = c.max_abs / std::max(ref_max, 1e-12);
  c.cosine = (nx == 0 && ny == 0) ? 1.0 : dot / std::sqrt(std::max(nx * ny, 1e-300));
  if (a.dims().size() == 2 && a.dims()[1] > 1 && isFloatingPoint(a.dtype())) {
    int64_t rows = a.dims()[0], cols = a.dims()[1], same = 0;
    for (int64_t r = 0; r < rows; ++r) {
      auto argmax = [&](const std::vector<double>& v) {
        return std::max_element(v.begin() + r * cols, v.begin() + (r + 1) * cols) -
               (v.begin() + r * cols);
      };
      same += argmax(x) == argmax(y);
    }
    c.top1_agreement = rows ? static_cast<double>(same) / static_cast<double>(rows) : 1.0;
  }
  return c;
}

}  // namespace

CompareResult compareOutputs(const NamedTensors& a, const NamedTensors& b) {
  CompareResult r;
  if (a.size() != b.size()) failInput("the models have {} and {} outputs", a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    r.outputs.push_back(compareTensors(a[i].first, a[i].second, b[i].second));
  return r;
}

CompareResult compareModels(const Model& a, const Model& b, const NamedTensors& feeds,
                            bool per_node, double rel_threshold, int threads) {
  ExecOptions opts;
  opts.threads = threads;
  if (per_node) opts.capture = {"*"};
  size_t outs_a = a.graph->outputs().size(), outs_b = b.graph->outputs().size();
  NamedTensors ra = makeExecutor(a, opts)->run(feeds);
  NamedTensors rb = makeExecutor(b, opts)->run(feeds);
  CompareResult r =
      compareOutputs(NamedTensors(ra.begin(), ra.begin() + static_cast<std::ptrdiff_t>(outs_a)),
                     NamedTensors(rb.begin(), rb.begin() + static_cast<std::ptrdiff_t>(outs_b)));
  if (!per_node) return r;
  std::unordered_map<std::string, const Tensor*> in_b;
  for (size_t i = outs_b; i < rb.size(); ++i)
    in_b[rb[i].first] = &rb[i].second;
  // Captured values come back in execution order, so the first divergence is the earliest.
  for (size_t i = outs_a; i < ra.size(); ++i) {
    auto it = in_b.find(ra[i].first);
    if (it == in_b.end() || it->second->dims() != ra[i].second.dims()) continue;
    if (!isNumeric(ra[i].second.dtype()) || !isNumeric(it->second->dtype())) continue;
    ++r.compared_values;
    OutputComparison c = compareTensors(ra[i].first, *it->second, ra[i].second);
    if (c.max_rel > rel_threshold && !r.first_divergence) {
      NodeDivergence d;
      d.value = ra[i].first;
      d.max_abs = c.max_abs;
      d.rel = c.max_rel;
      forEachGraph(static_cast<const Graph&>(*a.graph), [&](const Graph& g) {
        for (const Node* n : g.nodes())
          for (const Value* v : n->outputs())
            if (v && v->name() == d.value) d.producer = n->describe();
      });
      r.first_divergence = d;
    }
  }
  return r;
}

std::string compareText(const CompareResult& r) {
  std::string out = fmt::format("{:<24} {:>14} {:>12} {:>12} {:>12} {:>10}\n", "output", "max abs",
                                "mean abs", "max rel", "cosine", "top-1");
  for (const auto& c : r.outputs)
    out +=
        fmt::format("{:<24} {:>14.6g} {:>12.6g} {:>12.6g} {:>12.8f} {:>10}\n", c.name, c.max_abs,
                    c.mean_abs, c.max_rel, c.cosine,
                    c.top1_agreement ? fmt::format("{:.4f}", *c.top1_agreement) : std::string("-"));
  if (r.compared_values) {
    if (r.first_divergence)
      out += fmt::format(
          "first divergence: '{}' from {} (max abs {:.6g}, relative {:.6g}) of {} shared values\n",
          r.first_divergence->value, r.first_divergence->producer, r.first_divergence->max_abs,
          r.first_divergence->rel, r.compared_values);
    else
      out += fmt::format("no divergence in {} shared intermediate values\n", r.compared_values);
  }
  return out;
}

std::string compareJson(const CompareResult& r) {
  nlohmann::json j;
  j["outputs"] = nlohmann::json::array();
  for (const auto& c : r.outputs) {
    nlohmann::json o = {{"name", c.name},
                        {"shape", c.shape},
                        {"max_abs", c.max_abs},
                        {"mean_abs", c.mean_abs},
                        {"max_rel", c.max_rel},
                        {"cosine", c.cosine},
                        {"shapes_match", c.shapes_match}};
    if (c.top1_agreement) o["top1_agreement"] = *c.top1_agreement;
    j["outputs"].push_back(o);
  }
  if (r.compared_values) {
    j["compared_values"] = r.compared_values;
    if (r.first_divergence)
      j["first_divergence"] = {{"value", r.first_divergence->value},
                               {"producer", r.first_divergence->producer},
                               {"max_abs", r.first_divergence->max_abs},
                               {"rel", r.first_divergence->rel}};
    else
      j["first_divergence"] = nullptr;
  }
  return j.dump(2);
}

namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double pos = (static_cast<double>(v.size()) - 1) * p;
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

EvalResult evaluateModel(const Model& m, const NamedTensors& data, const EvalOptions& opts) {
  EvalResult r;
  if (data.empty()) failInput("no input data");
  int64_t n = data[0].second.dims().empty() ? 1 : data[0].second.dims()[0];
  for (const auto& [name, t] : data)
    if (t.dims().empty() || t.dims()[0] != n)
      failInput("input '{}' does not have {} samples along axis 0", name, n);
  const Tensor* labels = nullptr;
  NamedTensors feed_all;
  ExecOptions eo;
  eo.threads = opts.threads;
  auto exec = makeExecutor(m, eo);
  std::vector<std::string> names = exec->inputNames();
  for (const auto& [name, t] : data) {
    if (name == opts.labels)
      labels = &t;
    else if (std::find(names.begin(), names.end(), name) != names.end())
      feed_all.emplace_back(name, t);
  }
  if (!opts.labels.empty() && !labels) failInput("the data has no labels array '{}'", opts.labels);
  r.samples = n;
  using clock = std::chrono::steady_clock;
  // Accuracy and throughput: the whole set in batches.
  int64_t correct = 0;
  auto t0 = clock::now();
  for (int64_t b = 0; b < n; b += opts.batch) {
    int64_t e = std::min(n, b + opts.batch);
    NamedTensors feed;
    for (const auto& [name, t] : feed_all)
      feed.emplace_back(name, sliceRows(t, b, e));
    NamedTensors out = exec->run(feed);
    if (labels) {
      const Tensor& logits = out[0].second;
      if (logits.dims().size() != 2 || logits.dims()[0] != e - b)
        failInput("accuracy needs a [N, classes] first output, got {}",
                  shapeToString(shapeOf(logits.dims())));
      int64_t cols = logits.dims()[1];
      std::vector<double> v = toDoubles(logits);
      for (int64_t i = 0; i < e - b; ++i) {
        auto first = v.begin() + i * cols;
        int64_t pred = std::max_element(first, first + cols) - first;
        correct += pred == elementAsInt(*labels, b + i);
      }
    }
  }
  double total = std::chrono::duration<double>(clock::now() - t0).count();
  r.throughput = total > 0 ? static_cast<double>(n) / total : 0;
  if (labels) r.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  // Latency: batch-1 runs after warm-up, cycling through the first samples.
  std::unique_ptr<Executor> profiled;
  if (opts.profile) {
    eo.profile = true;
    profiled = makeExecutor(m, eo);
  }
  Executor& timed = profiled ? *profiled : *exec;
  std::vector<double> ms;
  for (int i = 0; i < opts.warmup + opts.latency_runs; ++i) {
    int64_t s = i % n;
    NamedTensors feed;
    for (const auto& [name, t] : feed_all)
      feed.emplace_back(name, sliceRows(t, s, s + 1));
    auto a = clock::now();
    timed.run(feed);
    if (i >= opts.warmup)
      ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - a).count());
  }
  r.latency_runs = static_cast<int>(ms.size());
  r.p50_ms = percentile(ms, 0.5);
  r.p90_ms = percentile(ms, 0.9);
  double sum = 0;
  for (double x : ms)
    sum += x;
  r.mean_ms = ms.empty() ? 0 : sum / static_cast<double>(ms.size());
  if (profiled) r.profile = profiled->profile();
  return r;
}

std::string evalText(const EvalResult& r) {
  std::string out = fmt::format("samples     {}\n", r.samples);
  if (r.accuracy) out += fmt::format("accuracy    {:.4f}\n", *r.accuracy);
  out += fmt::format("latency     p50 {:.3f} ms, p90 {:.3f} ms (batch 1, {} runs)\n", r.p50_ms,
                     r.p90_ms, r.latency_runs);
  out += fmt::format("throughput  {:.1f} samples/s\n", r.throughput);
  if (!r.profile.empty()) {
    double total = 0;
    for (const auto& p : r.profile)
      total += p.seconds;
    out +=
        fmt::format("{:<24} {:>8} {:>12} {:>7}\n", "op (all timed runs)", "calls", "ms", "share");
    for (const auto& p : r.profile)
      out += fmt::format("{:<24} {:>8} {:>12.2f} {:>6.1f}%\n", p.op, p.calls, p.seconds * 1e3,
                         total > 0 ? 100 * p.seconds / total : 0.0);
  }
  return out;
}

std::string evalJson(const EvalResult& r) {
  nlohmann::json j = {{"samples", r.samples},
                      {"p50_ms", r.p50_ms},
                      {"p90_ms", r.p90_ms},
                      {"mean_ms", r.mean_ms},
                      {"latency_runs", r.latency_runs},
                      {"throughput", r.throughput}};
  j["accuracy"] = r.accuracy ? nlohmann::json(*r.accuracy) : nlohmann::json(nullptr);
  return j.dump(2);
}

}  // namespace mopt
