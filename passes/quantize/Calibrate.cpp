// Calibration runs: the executor captures the requested activations batch by batch.
#include "passes/quantize/Calibrate.h"

#include "exec/Executor.h"
#include "ir/Error.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <set>

namespace mopt {

Progress::Progress(std::string what, int64_t total, bool enabled)
    : what_(std::move(what)), total_(total), enabled_(enabled && isatty(2)) {}

Progress::~Progress() {
  if (enabled_ && last_percent_ >= 0) std::fputs("\n", stderr);
}

void Progress::update(int64_t done) {
  if (!enabled_ || total_ <= 0) return;
  int percent = static_cast<int>(100 * done / total_);
  if (percent == last_percent_) return;
  last_percent_ = percent;
  const int width = 30, filled = percent * width / 100;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(width, ' ');
  std::fputs(fmt::format("\r{} [{}] {}/{} ({}%)", what_, bar, done, total_, percent).c_str(),
             stderr);
  std::fflush(stderr);
}

void forEachActivation(const Model& model, const CalibrationData& data,
                       const std::vector<std::string>& tensors, const CalibrateOptions& opts,
                       const std::function<void(const std::string&, const Tensor&)>& fn) {
  std::set<std::string> inputs;
  for (const Value* v : model.graph->inputs())
    inputs.insert(v->name());
  ExecOptions eo;
  eo.threads = opts.threads;
  for (const auto& t : tensors)
    if (!inputs.count(t)) eo.capture.push_back(t);
  auto exec = makeExecutor(model, eo);
  Progress progress("calibrating", data.samples(), opts.progress);
  data.forEachBatch([&](const NamedTensors& feeds, int64_t first, int64_t count) {
    NamedTensors out = exec->run(feeds);
    for (const auto& name : tensors) {
      const Tensor* t = nullptr;
      for (const NamedTensors* set : {&feeds, static_cast<const NamedTensors*>(&out)})
        for (const auto& [n, v] : *set)
          if (!t && n == name) t = &v;
      if (!t) fail(ErrorKind::Internal, "calibration: tensor '{}' was not captured", name);
      fn(name, *t);
    }
    progress.update(first + count);
  });
}

StatsSet collectStats(const Model& model, const CalibrationData& data,
                      const std::vector<std::string>& tensors, const CalibrateOptions& opts) {
  StatsSet stats;
  for (const auto& t : tensors)
    stats.tensors[t];
  forEachActivation(model, data, tensors, opts, [&](const std::string& name, const Tensor& t) {
    if (t.dtype() != DType::F32 && t.dtype() != DType::F16 && t.dtype() != DType::BF16 &&
        t.dtype() != DType::F64)
      failInput("calibration: tensor '{}' is {}, not floating point", name, dtypeName(t.dtype()));
    FloatData f(t);
    stats.tensors[name].add(f.data(), f.size());
  });
  stats.samples = data.samples();
  return stats;
}

}  // namespace mopt
