// Training data: validation through CalibrationData, then row gathers from the mapped arrays.
#include "passes/distill/TrainData.h"

#include "ir/Error.h"

#include <cstring>

namespace mopt {

Tensor gatherRows(const Tensor& t, const std::vector<int64_t>& idx) {
  if (t.dims().empty()) fail(ErrorKind::Internal, "gatherRows on a scalar");
  std::vector<int64_t> dims = t.dims();
  const int64_t rows = dims[0];
  const uint64_t row_bytes = rows ? t.byteSize() / static_cast<uint64_t>(rows) : 0;
  dims[0] = static_cast<int64_t>(idx.size());
  auto buf = Buffer::allocate(row_bytes * idx.size());
  for (size_t i = 0; i < idx.size(); ++i) {
    if (idx[i] < 0 || idx[i] >= rows)
      fail(ErrorKind::Internal, "gatherRows: row {} of {}", idx[i], rows);
    std::memcpy(buf->mutableData() + i * row_bytes,
                t.raw() + static_cast<uint64_t>(idx[i]) * row_bytes, row_bytes);
  }
  return Tensor(t.dtype(), dims, std::move(buf));
}

TrainData::TrainData(const std::string& path, const Graph& g,
                     const std::vector<std::pair<std::string, std::string>>& map,
                     const std::string& labels, int64_t max_samples)
    : path_(path) {
  CalibDataOptions o;
  o.map = map;
  if (!labels.empty()) o.extra_arrays.push_back(labels);
  CalibrationData check(path, g, o);  // every check a calibration file gets, before any work
  NamedTensors arrays = path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0
                            ? NamedTensors{}
                            : loadNpz(path);
  if (arrays.empty()) failInput("{}: training data must be an .npz file", path);
  auto find = [&](const std::string& name) -> const Tensor& {
    for (const auto& [n, t] : arrays)
      if (n == name) return t;
    failInput("{}: no array '{}'", path, name);
  };
  for (const Value* v : g.inputs()) {
    if (v->isInitializer()) continue;
    std::string array = v->name();
    for (const auto& [in, arr] : map)
      if (in == v->name()) array = arr;
    const Tensor& t = find(array);
    if (t.dtype() == DType::String) failInput("{}: array '{}' holds strings", path, array);
    inputs_.emplace_back(v->name(), t);
  }
  if (!labels.empty()) labels_ = find(labels);
  samples_ = check.samples();
  if (max_samples > 0) samples_ = std::min(samples_, max_samples);
}

NamedTensors TrainData::inputs(const std::vector<int64_t>& idx) const {
  NamedTensors out;
  for (const auto& [name, t] : inputs_)
    out.emplace_back(name, gatherRows(t, idx));
  return out;
}

std::optional<Tensor> TrainData::labels(const std::vector<int64_t>& idx) const {
  if (!labels_) return std::nullopt;
  return gatherRows(*labels_, idx);
}

}  // namespace mopt
