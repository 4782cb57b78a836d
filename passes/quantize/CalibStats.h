// Activation statistics for calibration: per tensor, exact min/max and a histogram that is
// collected in one streaming pass with fixed memory and merges exactly across shards.
//
// The histogram spans [-R, R) with R a power of two, in kCalibBins equal bins. When a value
// beyond R arrives, R doubles and neighbouring bins are summed pairwise: no second pass over the
// data, no dependence on the order samples arrive in beyond float rounding of nothing (counts are
// integers), and two shards' histograms merge exactly by bringing both to the larger R.
#pragma once

#include "passes/quantize/QuantMath.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mopt {

constexpr int64_t kCalibBins = 4096;

struct TensorStats {
  int64_t count = 0;  // values seen (finite ones; NaN/Inf are counted in `nonfinite`)
  int64_t nonfinite = 0;
  double min = 0, max = 0;  // meaningful when count > 0
  int exponent = 0;         // R = 2^exponent, meaningful when hist is non-empty
  std::vector<uint64_t> hist;

  void add(const float* x, int64_t n);
  void merge(const TensorStats& o);
  double range() const;  // R
};

enum class CalibMethod { MinMax, Percentile, Entropy, Mse };
CalibMethod parseCalibMethod(const std::string& s);  // Error(Usage) on anything else

// The float range [lo, hi] (always containing 0) a tensor should be quantized over.
std::pair<float, float> calibratedRange(const TensorStats& s, CalibMethod m, double percentile,
                                        QRange q, bool symmetric);

struct StatsSet {
  int64_t samples = 0;
  std::map<std::string, TensorStats> tensors;

  void merge(const StatsSet& o);
  std::string toJson() const;
  // Throws Error(Input) naming `source` on malformed content.
  static StatsSet fromJson(const std::string& text, const std::string& source);
  static StatsSet load(const std::string& path);
  void save(const std::string& path) const;  // atomically
};

}  // namespace mopt
