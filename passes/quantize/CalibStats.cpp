// Calibration statistics: streaming histograms, the four range-selection methods, JSON files.
#include "passes/quantize/CalibStats.h"

#include "ir/Error.h"
#include "support/File.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace mopt {

namespace {

// Sums bins pairwise so the histogram covers [-2R, 2R).
void doubleRange(std::vector<uint64_t>& h) {
  std::vector<uint64_t> out(h.size(), 0);
  const size_t quarter = h.size() / 4;
  for (size_t i = 0; i < h.size(); ++i)
    out[quarter + i / 2] += h[i];
  h.swap(out);
}

int exponentFor(double absmax) {
  int e = 0;
  std::frexp(absmax, &e);  // absmax = m * 2^e, m in [0.5, 1): absmax <= 2^e
  return e;
}

}  // namespace

double TensorStats::range() const {
  return std::ldexp(1.0, exponent);
}

void TensorStats::add(const float* x, int64_t n) {
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  int64_t finite = 0;
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i];
    if (!std::isfinite(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    ++finite;
  }
  nonfinite += n - finite;
  if (finite == 0) return;
  if (count == 0) {
    min = lo;
    max = hi;
  } else {
    min = std::min<double>(min, lo);
    max = std::max<double>(max, hi);
  }
  count += finite;
  double absmax = std::max(std::fabs(static_cast<double>(lo)), std::fabs(static_cast<double>(hi)));
  if (hist.empty()) {
    hist.assign(kCalibBins, 0);
    exponent = absmax > 0 ? exponentFor(absmax) : -126;
  }
  while (range() < absmax) {
    doubleRange(hist);
    ++exponent;
  }
  const double R = range(), per = static_cast<double>(kCalibBins) / (2 * R);
  const auto last = static_cast<int64_t>(kCalibBins - 1);
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i];
    if (!std::isfinite(v)) continue;
    auto b = static_cast<int64_t>((static_cast<double>(v) + R) * per);
    ++hist[static_cast<size_t>(std::clamp<int64_t>(b, 0, last))];
  }
}

void TensorStats::merge(const TensorStats& o) {
  if (o.count == 0) {
    nonfinite += o.nonfinite;
    return;
  }
  if (count == 0) {
    int64_t nf = nonfinite;
    *this = o;
    nonfinite += nf;
    return;
  }
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  count += o.count;
  nonfinite += o.nonfinite;
  std::vector<uint64_t> other = o.hist;
  int e = o.exponent;
  while (exponent < e) {
    doubleRange(hist);
    ++exponent;
  }
  while (e < exponent) {
    doubleRange(other);
    ++e;
  }
  for (size_t i = 0; i < hist.size(); ++i)
    hist[i] += other[i];
}

CalibMethod parseCalibMethod(const std::string& s) {
  if (s == "minmax") return CalibMethod::MinMax;
  if (s == "percentile") return CalibMethod::Percentile;
  if (s == "entropy") return CalibMethod::Entropy;
  if (s == "mse") return CalibMethod::Mse;
  fail(ErrorKind::Usage, "calibration method must be minmax, percentile, entropy or mse, not '{}'",
       s);
}

namespace {

// |x| histogram: bin k covers [k w, (k+1) w) with w = R / (bins/2).
std::vector<double> foldAbs(const TensorStats& s) {
  const size_t half = s.hist.size() / 2;
  std::vector<double> a(half);
  for (size_t k = 0; k < half; ++k)
    a[k] = static_cast<double>(s.hist[half + k] + s.hist[half - 1 - k]);
  return a;
}

// The |x| below which `fraction` of the values lie.
double absQuantile(const TensorStats& s, double fraction) {
  std::vector<double> a = foldAbs(s);
  const double w = s.range() / static_cast<double>(a.size()),
               target = fraction * static_cast<double>(s.count);
  double cum = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    cum += a[k];
    if (cum >= target) return static_cast<double>(k + 1) * w;
  }
  return s.range();
}

// The signed value below which `fraction` of the values lie (lower or upper bin edge).
double signedQuantile(const TensorStats& s, double fraction, bool upper_edge) {
  const double R = s.range(), w = 2 * R / static_cast<double>(s.hist.size());
  const double target = fraction * static_cast<double>(s.count);
  double cum = 0;
  for (size_t b = 0; b < s.hist.size(); ++b) {
    cum += static_cast<double>(s.hist[b]);
    if (cum >= target) return -R + static_cast<double>(b + (upper_edge ? 1 : 0)) * w;
  }
  return R;
}

// KL divergence between the clipped |x| distribution over the first `i` bins (values beyond
// added to the last bin) and the quantization of the first `i` bins into `levels` buckets
// (TensorRT's entropy calibration). The clipped tail is in P but not in Q: that is what makes
// too small a threshold expensive.
double klForThreshold(const std::vector<double>& a, size_t i, size_t levels) {
  std::vector<double> p(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(i));
  for (size_t k = i; k < a.size(); ++k)
    p[i - 1] += a[k];
  std::vector<double> q(i, 0.0);
  for (size_t j = 0; j < levels; ++j) {
    size_t b0 = j * i / levels, b1 = (j + 1) * i / levels;
    double sum = 0;
    size_t nonzero = 0;
    for (size_t k = b0; k < b1; ++k) {
      sum += a[k];
      nonzero += a[k] != 0;
    }
    for (size_t k = b0; k < b1; ++k)
      if (p[k] != 0) q[k] = nonzero ? sum / static_cast<double>(std::max<size_t>(nonzero, 1)) : 0;
  }
  double ps = 0, qs = 0;
  for (size_t k = 0; k < i; ++k) {
    ps += p[k];
    qs += q[k];
  }
  if (ps <= 0 || qs <= 0) return std::numeric_limits<double>::infinity();
  double kl = 0;
  for (size_t k = 0; k < i; ++k) {
    if (p[k] == 0) continue;
    double pk = p[k] / ps, qk = q[k] / qs;
    kl += pk * std::log(pk / std::max(qk, 1e-12));
  }
  return kl;
}

double entropyThreshold(const TensorStats& s, size_t levels) {
  std::vector<double> a = foldAbs(s);
  const double w = s.range() / static_cast<double>(a.size());
  size_t last = a.size();
  while (last > 0 && a[last - 1] == 0)
    --last;
  if (last <= levels) return std::max(std::fabs(s.min), std::fabs(s.max));
  double best = std::numeric_limits<double>::infinity();
  size_t best_i = last;
  for (size_t i = levels; i <= last; ++i) {
    double kl = klForThreshold(a, i, levels);
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return static_cast<double>(best_i) * w;
}

// Expected squared quantization error of the histogram's values (at bin centres) over [lo, hi].
double histogramMse(const TensorStats& s, const std::vector<size_t>& nonzero, float lo, float hi,
                    QRange q, bool symmetric) {
  QParams p = computeQParams(lo, hi, q, symmetric);
  const double R = s.range(), w = 2 * R / static_cast<double>(s.hist.size());
  double err = 0;
  for (size_t b : nonzero) {
    double v = -R + (static_cast<double>(b) + 0.5) * w;
    v = std::clamp(v, s.min, s.max);
    double code =
        std::clamp(std::nearbyint(v / p.scale) + p.zero_point, double(q.qmin), double(q.qmax));
    double d = v - (code - p.zero_point) * p.scale;
    err += static_cast<double>(s.hist[b]) * d * d;
  }
  return err;
}

}  // namespace

std::pair<float, float> calibratedRange(const TensorStats& s, CalibMethod m, double percentile,
                                        QRange q, bool symmetric) {
  if (s.count == 0) return {0.0f, 0.0f};
  double lo = s.min, hi = s.max;
  switch (m) {
    case CalibMethod::MinMax:
      break;
    case CalibMethod::Percentile: {
      if (percentile <= 0 || percentile > 100)
        fail(ErrorKind::Usage, "percentile must be in (0, 100], not {}", percentile);
      double f = percentile / 100.0;
      if (symmetric) {
        double t = absQuantile(s, f);
        lo = std::max(lo, -t);
        hi = std::min(hi, t);
      } else {
        lo = std::max(lo, signedQuantile(s, 1 - f, false));
        hi = std::min(hi, signedQuantile(s, f, true));
      }
      break;
    }
    case CalibMethod::Entropy: {
      // Non-negative data (after ReLU) uses every level on one side; otherwise half of them.
      auto all = static_cast<size_t>(q.qmax - q.qmin + 1);
      size_t levels = s.min >= 0 && !symmetric ? all : all / 2;
      double t = entropyThreshold(s, std::min<size_t>(levels, kCalibBins / 2));
      lo = std::max(lo, -t);
      hi = std::min(hi, t);
      break;
    }
    case CalibMethod::Mse: {
      std::vector<size_t> nonzero;
      for (size_t b = 0; b < s.hist.size(); ++b)
        if (s.hist[b]) nonzero.push_back(b);
      double best = std::numeric_limits<double>::infinity();
      double best_lo = lo, best_hi = hi;
      for (int k = 100; k >= 5; --k) {  // shrink both ends together, 1 % at a time
        float l = static_cast<float>(s.min * k / 100), h = static_cast<float>(s.max * k / 100);
        double e = histogramMse(s, nonzero, l, h, q, symmetric);
        if (e < best) {
          best = e;
          best_lo = l;
          best_hi = h;
        }
      }
      lo = best_lo;
      hi = best_hi;
      break;
    }
  }
  return {static_cast<float>(std::min(lo, 0.0)), static_cast<float>(std::max(hi, 0.0))};
}

void StatsSet::merge(const StatsSet& o) {
  samples += o.samples;
  for (const auto& [name, st] : o.tensors)
    tensors[name].merge(st);
}

std::string StatsSet::toJson() const {
  // One line per tensor: compact, yet diffable and greppable.
  std::string out =
      "{\"format\": \"mopt-calibration\", \"version\": 1, \"bins\": " + std::to_string(kCalibBins) +
      ", \"samples\": " + std::to_string(samples) + ",\n \"tensors\": {";
  bool first = true;
  for (const auto& [name, s] : tensors) {  // std::map: sorted, so the file is deterministic
    nlohmann::ordered_json t;
    t["count"] = s.count;
    t["nonfinite"] = s.nonfinite;
    t["min"] = s.min;
    t["max"] = s.max;
    t["exponent"] = s.exponent;
    // Sparse: [bin, count] pairs; most bins of most tensors are empty.
    nlohmann::ordered_json h = nlohmann::ordered_json::array();
    for (size_t b = 0; b < s.hist.size(); ++b)
      if (s.hist[b]) h.push_back({b, s.hist[b]});
    t["hist"] = std::move(h);
    out += (first ? "\n  " : ",\n  ") + nlohmann::json(name).dump() + ": " + t.dump();
    first = false;
  }
  return out + "\n }\n}\n";
}

StatsSet StatsSet::fromJson(const std::string& text, const std::string& source) {
  StatsSet out;
  try {
    auto j = nlohmann::json::parse(text);
    if (!j.is_object() || j.value("format", "") != "mopt-calibration")
      failInput("{}: not a mopt calibration file (no \"format\": \"mopt-calibration\")", source);
    if (j.value("version", 0) != 1)
      failInput("{}: calibration file version {} is not supported", source, j.value("version", 0));
    if (j.value("bins", 0) != kCalibBins)
      failInput("{}: calibration histograms have {} bins, this mopt uses {}", source,
                j.value("bins", 0), kCalibBins);
    out.samples = j.at("samples").get<int64_t>();
    for (const auto& [name, t] : j.at("tensors").items()) {
      TensorStats s;
      s.count = t.at("count").get<int64_t>();
      s.nonfinite = t.value("nonfinite", int64_t{0});
      s.min = t.at("min").get<double>();
      s.max = t.at("max").get<double>();
      s.exponent = t.at("exponent").get<int>();
      if (s.count < 0 || s.min > s.max || s.exponent < -1100 || s.exponent > 1100)
        failInput("{}: tensor '{}' has inconsistent statistics", source, name);
      if (s.count > 0) {
        s.hist.assign(kCalibBins, 0);
        uint64_t total = 0;
        for (const auto& pair : t.at("hist")) {
          auto b = pair.at(0).get<int64_t>();
          auto c = pair.at(1).get<uint64_t>();
          if (b < 0 || b >= kCalibBins)
            failInput("{}: tensor '{}' has a histogram bin {} out of range", source, name, b);
          s.hist[static_cast<size_t>(b)] += c;
          total += c;
        }
        if (total != static_cast<uint64_t>(s.count))
          failInput("{}: tensor '{}' histogram holds {} values but count is {}", source, name,
                    total, s.count);
      }
      out.tensors[name] = std::move(s);
    }
  } catch (const nlohmann::json::exception& e) {
    failInput("{}: malformed calibration file: {}", source, e.what());
  }
  return out;
}

StatsSet StatsSet::load(const std::string& path) {
  return fromJson(readTextFile(path), path);
}

void StatsSet::save(const std::string& path) const {
  std::string text = toJson();
  AtomicFile f(path);
  f.write(text.data(), text.size());
  f.commit(false);
}

}  // namespace mopt
