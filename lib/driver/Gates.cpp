// Gate evaluation with mopt's executor.
#include "driver/Gates.h"

#include "exec/Executor.h"
#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "pass/PassManager.h"
#include "passes/quantize/CalibData.h"
#include "passes/quantize/QuantMath.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace mopt {

namespace {

struct Outputs {
  std::vector<Tensor> first;  // first output per batch
  int64_t correct = 0, counted = 0;
};

Outputs runAll(const Model& m, const CalibrationData& data, const std::string& labels,
               int threads) {
  ExecOptions eo;
  eo.threads = threads;
  auto exec = makeExecutor(m, eo);
  Outputs o;
  data.forEachBatch([&](const NamedTensors& feeds, int64_t, int64_t count) {
    NamedTensors inputs;
    const Tensor* y = nullptr;
    for (const auto& [n, t] : feeds) {
      if (!labels.empty() && n == labels)
        y = &t;
      else
        inputs.emplace_back(n, t);
    }
    Tensor out = exec->run(inputs).at(0).second;
    o.first.push_back(out);
    if (y) {
      FloatData f(out);
      const int64_t classes = count ? f.size() / count : 0;
      for (int64_t r = 0; r < count; ++r) {
        const float* row = f.data() + r * classes;
        o.correct += (std::max_element(row, row + classes) - row) == elementAsInt(*y, r);
        ++o.counted;
      }
    }
  });
  return o;
}

double p50Latency(const Model& m, const NamedTensors& one, int threads) {
  ExecOptions eo;
  eo.threads = threads;
  auto exec = makeExecutor(m, eo);
  for (int i = 0; i < 3; ++i)
    exec->run(one);
  std::vector<double> ms;
  for (int i = 0; i < 21; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    exec->run(one);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + 10, ms.end());
  return ms[10];
}

}  // namespace

std::vector<GateResult> evaluateGates(const Model& before, const Model& after, const GateSpec& g,
                                      const DataSetSpec* data, int threads) {
  std::vector<GateResult> results;
  if (g.max_size_ratio) {
    int64_t b0, p0, b1, p1;
    weightTotals(before, b0, p0);
    weightTotals(after, b1, p1);
    GateResult r{"max-size-ratio", b0 ? static_cast<double>(b1) / static_cast<double>(b0) : 1.0,
                 *g.max_size_ratio, true, fmt::format("weights {} -> {} bytes", b0, b1)};
    r.passed = r.value <= r.limit;
    results.push_back(r);
  }
  if (!(g.max_accuracy_drop || g.min_cosine || g.max_latency_ratio)) return results;
  if (!data) fail(ErrorKind::Usage, "gates need a data set");
  CalibDataOptions o;
  o.map = data->map;
  o.max_samples = g.samples;
  o.batch = 32;
  if (!data->labels.empty()) o.extra_arrays.push_back(data->labels);
  CalibrationData before_data(data->path, *before.graph, o);
  CalibrationData after_data(data->path, *after.graph, o);
  Outputs a = runAll(before, before_data, data->labels, threads);
  Outputs b = runAll(after, after_data, data->labels, threads);
  if (g.max_accuracy_drop) {
    double acc_a =
        a.counted ? 100.0 * static_cast<double>(a.correct) / static_cast<double>(a.counted) : 0;
    double acc_b =
        b.counted ? 100.0 * static_cast<double>(b.correct) / static_cast<double>(b.counted) : 0;
    GateResult r{"max-accuracy-drop", acc_a - acc_b, *g.max_accuracy_drop, true,
                 fmt::format("top-1 {:.2f}% -> {:.2f}% on {} samples", acc_a, acc_b, a.counted)};
    r.passed = r.value <= r.limit + 1e-9;
    results.push_back(r);
  }
  if (g.min_cosine) {
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.first.size(); ++i) {
      FloatData x(a.first[i]), y(b.first.at(i));
      if (x.size() != y.size())
        fail(ErrorKind::Pass, "gates: the result's first output changed shape");
      for (int64_t k = 0; k < x.size(); ++k) {
        dot += static_cast<double>(x.data()[k]) * y.data()[k];
        na += static_cast<double>(x.data()[k]) * x.data()[k];
        nb += static_cast<double>(y.data()[k]) * y.data()[k];
      }
    }
    double c = na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : (na == nb ? 1.0 : 0.0);
    GateResult r{"min-cosine", c, *g.min_cosine, c >= *g.min_cosine,
                 "first output, all samples together"};
    results.push_back(r);
  }
  if (g.max_latency_ratio) {
    NamedTensors one;
    CalibDataOptions single;
    single.map = data->map;
    single.max_samples = 1;
    CalibrationData first(data->path, *before.graph, single);
    first.forEachBatch([&](const NamedTensors& feeds, int64_t, int64_t) { one = feeds; });
    double la = p50Latency(before, one, threads), lb = p50Latency(after, one, threads);
    GateResult r{"max-latency-ratio", la > 0 ? lb / la : 1.0, *g.max_latency_ratio, true,
                 fmt::format("batch-1 p50 in mopt's executor {:.2f} -> {:.2f} ms", la, lb)};
    r.passed = r.value <= r.limit;
    results.push_back(r);
  }
  return results;
}

}  // namespace mopt
