// Calibration data: discovery, validation and batching of .npz/.npy files.
#include "passes/quantize/CalibData.h"

#include "ir/Error.h"
#include "ir/TensorUtil.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <functional>

namespace mopt {

namespace fs = std::filesystem;

namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string dimsText(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i)
    s += (i ? "," : "") + (d[i] < 0 ? std::string("?") : std::to_string(d[i]));
  return s + "]";
}

}  // namespace

CalibrationData::CalibrationData(const std::string& path, const Graph& g, CalibDataOptions opts)
    : path_(path), opts_(std::move(opts)) {
  if (opts_.batch < 1) failInput("calibration batch size must be at least 1, not {}", opts_.batch);
  for (const Value* v : g.inputs()) {
    if (v->isInitializer()) continue;
    Input in;
    in.name = in.array = v->name();
    for (const auto& [input, array] : opts_.map)
      if (input == v->name()) in.array = array;
    in.dtype = v->type().isTensor() ? v->type().elemType() : DType::Undefined;
    if (v->type().isTensor() && v->type().shape())
      for (const Dim& d : *v->type().shape())
        in.dims.push_back(d.isKnown() ? d.value : -1);
    else
      in.dims = {-2};  // rank unknown: only the dtype is checked
    inputs_.push_back(std::move(in));
  }
  for (const auto& pair : opts_.map) {
    const std::string& input = pair.first;  // (clang 14 cannot capture structured bindings)
    if (std::none_of(inputs_.begin(), inputs_.end(),
                     [&](const Input& i) { return i.name == input; }))
      failInput("{}: the model has no input '{}' to map to array '{}'", path, input, pair.second);
  }

  std::error_code ec;
  std::vector<std::string> paths;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path, ec)) {
      std::string p = e.path().string();
      if (e.is_regular_file() && (endsWith(p, ".npz") || endsWith(p, ".npy"))) paths.push_back(p);
    }
    std::sort(paths.begin(), paths.end());
    if (paths.empty()) failInput("{}: the folder holds no .npz or .npy files", path);
  } else if (fs::exists(path, ec)) {
    paths.push_back(path);
  } else {
    failInput("{}: no such file or folder", path);
  }
  for (const auto& p : paths) {
    File f{p, 0};
    f.samples = check(p, load(f));
    files_.push_back(f);
    total_ += f.samples;
  }
  if (total_ == 0) failInput("{}: holds no samples", path);
  if (opts_.first_sample < 0 || opts_.first_sample >= total_)
    failInput("{}: cannot start at sample {} of {}", path, opts_.first_sample, total_);
  total_ -= opts_.first_sample;
  if (opts_.max_samples > 0) total_ = std::min(total_, opts_.max_samples);
}

NamedTensors CalibrationData::load(const File& f) const {
  if (endsWith(f.path, ".npy")) {
    if (inputs_.size() != 1)
      failInput("{}: a .npy file holds one array, but the model has {} inputs (use an .npz)",
                f.path, inputs_.size());
    return {{inputs_[0].array, loadNpy(f.path)}};
  }
  return loadNpz(f.path);
}

int64_t CalibrationData::check(const std::string& file, const NamedTensors& arrays) {
  auto find = [&](const std::string& name) -> const Tensor* {
    for (const auto& [n, t] : arrays)
      if (n == name) return &t;
    return nullptr;
  };
  std::string available;
  for (const auto& [n, t] : arrays)
    available += (available.empty() ? "" : ", ") + n;
  int64_t samples = -1;
  std::string first;
  auto count = [&](const std::string& array, int64_t n) {
    if (samples >= 0 && n != samples)
      failInput("{}: array '{}' has {} samples but '{}' has {}", file, array, n, first, samples);
    samples = n;
    first = array;
  };
  for (auto& in : inputs_) {
    const Tensor* t = find(in.array);
    if (!t)
      failInput("{}: no array '{}' for model input '{}' (arrays: {})", file, in.array, in.name,
                available.empty() ? "none" : available);
    if (in.dtype != DType::Undefined && t->dtype() != in.dtype)
      failInput("{}: array '{}' is {} but model input '{}' is {}", file, in.array,
                dtypeName(t->dtype()), in.name, dtypeName(in.dtype));
    const auto& d = t->dims();
    if (d.empty() && in.dims.empty()) {  // a rank-0 input (an unknown rank is {-2})
      in.constant = true;
      continue;
    }
    if (d.empty())
      failInput(
          "{}: array '{}' is a scalar; samples must lie along axis 0 (a scalar is fed as is only "
          "to a scalar model input)",
          file, in.array);
    if (!in.dims.empty() && in.dims[0] == -2) {
      count(in.array, d[0]);
      continue;
    }
    bool extra = d.size() == in.dims.size() + 1;
    if (d.size() != in.dims.size() && !extra)
      failInput("{}: array '{}' has shape {}, which does not fit model input '{}' of shape {}",
                file, in.array, dimsText(d), in.name, dimsText(in.dims));
    // With one more dim than the model input, axis 0 only counts samples; otherwise it is also the
    // model's batch dim. Every other static dim must match.
    size_t off = extra ? 1 : 0;
    for (size_t i = extra ? 0 : 1; i < in.dims.size(); ++i)
      if (in.dims[i] >= 0 && d[i + off] != in.dims[i])
        failInput("{}: array '{}' has shape {}, but model input '{}' needs {} (dim {})", file,
                  in.array, dimsText(d), in.name, dimsText(in.dims), i);
    if (!extra && !in.dims.empty() && in.dims[0] >= 0 && in.dims[0] != 1 && d[0] % in.dims[0])
      failInput(
          "{}: array '{}' has {} samples, not a multiple of model input '{}''s fixed batch {}",
          file, in.array, d[0], in.name, in.dims[0]);
    count(in.array, d[0]);
    in.per_sample_rank = extra;
  }
  for (const auto& name : opts_.extra_arrays) {
    const Tensor* t = find(name);
    if (!t) failInput("{}: no array '{}' (arrays: {})", file, name, available);
    if (t->dims().empty())
      failInput("{}: array '{}' is a scalar; samples must lie along axis 0", file, name);
    count(name, t->dims()[0]);
  }
  return std::max<int64_t>(samples, 0);
}

void CalibrationData::forEachBatch(
    const std::function<void(const NamedTensors&, int64_t, int64_t)>& fn) const {
  int64_t done = 0;
  int64_t batch = opts_.batch;
  for (const auto& in : inputs_)
    if (!in.constant && (in.per_sample_rank || (!in.dims.empty() && in.dims[0] >= 0)))
      batch = 1;  // no free batch dim
  for (const auto& in : inputs_)
    if (!in.per_sample_rank && !in.dims.empty() && in.dims[0] > 1) batch = in.dims[0];
  int64_t skip = opts_.first_sample;
  for (const File& f : files_) {
    if (done >= total_) break;
    if (skip >= f.samples) {  // the whole file lies before the first sample
      skip -= f.samples;
      continue;
    }
    NamedTensors arrays = load(f);
    int64_t begin = skip;
    skip = 0;
    for (int64_t start = begin; start < f.samples && done < total_;) {
      int64_t n = std::min({batch, f.samples - start, total_ - done});
      NamedTensors feeds;
      for (const auto& in : inputs_) {
        const Tensor* t = nullptr;
        for (const auto& [name, a] : arrays)
          if (name == in.array) t = &a;
        if (in.constant) {
          feeds.emplace_back(in.name, *t);
          continue;
        }
        Tensor rows = sliceRows(*t, start, start + n);
        if (in.per_sample_rank) {  // drop the sample axis
          std::vector<int64_t> dims(rows.dims().begin() + 1, rows.dims().end());
          rows = Tensor(rows.dtype(), dims, rows.buffer());
        }
        feeds.emplace_back(in.name, rows);
      }
      for (const auto& name : opts_.extra_arrays)
        for (const auto& [an, a] : arrays)
          if (an == name) feeds.emplace_back(name, sliceRows(a, start, start + n));
      fn(feeds, done, n);
      start += n;
      done += n;
    }
  }
}

}  // namespace mopt
