// Magnitude selection, N:M masks and axis slicing for the pruning passes.
//
// The global threshold of prune-magnitude is a selection problem (the k-th smallest |w| over
// every prunable weight, 85 M of them for a BERT-base encoder), solved as a radix select on the
// magnitude's float bits: |x| as an IEEE bit pattern orders like the number, so one histogram of
// the high 16 bits finds the bucket of the k-th element and a second one of the low 16 bits
// inside that bucket finds its exact key. Two sequential reads of the weights where they lie
// (memory-mapped), no copy and no sort.
#include "passes/prune/PruneMath.h"

#include "ir/Error.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

namespace mopt {

namespace {

// Four lanes of uint32 (GCC/clang vector extensions: SSE2 on x86-64, NEON on arm64). The hot
// loops below are written with them because -O2's cheap vectorizer cost model leaves the
// scalar forms alone.
using U32x4 = uint32_t __attribute__((vector_size(16)));
inline U32x4 load4(const uint32_t* p) {
  U32x4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(uint32_t* p, U32x4 v) {
  std::memcpy(p, &v, sizeof v);
}
inline uint32_t sum4(U32x4 v) {
  return v[0] + v[1] + v[2] + v[3];
}

}  // namespace

bool isPrunableFloat(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::F64;
}

namespace {

uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

size_t elementBytes(DType t) {
  int bits = dtypeBits(t);
  if (bits <= 0 || bits % 8)
    fail(ErrorKind::Internal, "tensor of {} has no byte-sized elements", dtypeName(t));
  return static_cast<size_t>(bits / 8);
}

// Calls fn(key) for every element of a float tensor, the f32 case without any conversion.
template <typename Fn>
void forEachKey(const Tensor& t, Fn&& fn) {
  const uint8_t* p = t.raw();
  const int64_t n = t.numel();
  if (t.dtype() == DType::F32) {
    const auto* u = reinterpret_cast<const uint32_t*>(p);
    for (int64_t i = 0; i < n; ++i)
      fn(u[i] & 0x7fffffffu);
    return;
  }
  const size_t es = elementBytes(t.dtype());
  for (int64_t i = 0; i < n; ++i)
    fn(magnitudeKey(t.dtype(), p + static_cast<size_t>(i) * es));
}

}  // namespace

uint32_t magnitudeKey(DType t, const uint8_t* e) {
  switch (t) {
    case DType::F32: {
      uint32_t u;
      std::memcpy(&u, e, 4);
      return u & 0x7fffffffu;
    }
    case DType::F16: {
      uint16_t h;
      std::memcpy(&h, e, 2);
      return floatBits(halfToFloat(static_cast<uint16_t>(h & 0x7fffu)));
    }
    case DType::BF16: {
      uint16_t b;
      std::memcpy(&b, e, 2);
      return static_cast<uint32_t>(b & 0x7fffu) << 16;
    }
    case DType::F64: {
      double d;
      std::memcpy(&d, e, 8);
      return floatBits(static_cast<float>(d < 0 ? -d : d)) & 0x7fffffffu;
    }
    default:
      fail(ErrorKind::Internal, "magnitudeKey: {} is not a float type", dtypeName(t));
  }
}

MagnitudeCut kthSmallestMagnitude(const std::vector<const Tensor*>& spans, int64_t k,
                                  std::vector<int64_t>* zeros) {
  int64_t n = 0;
  for (const Tensor* t : spans)
    n += t->numel();
  if (zeros) zeros->assign(spans.size(), 0);
  if (k >= n) {
    // Everything goes: a key above every magnitude (keys never exceed 0x7fffffff).
    if (zeros)
      for (size_t s = 0; s < spans.size(); ++s)
        forEachKey(*spans[s], [&](uint32_t key) { (*zeros)[s] += key == 0; });
    return {0x80000000u, n};
  }
  if (k < 0) k = 0;

  // Pass 1: high 16 bits, over four interleaved uint32 tables (runs of similar values do not
  // serialise on one counter) flushed to 64-bit totals every 2^30 elements.
  std::vector<int64_t> high(65536, 0);
  std::vector<std::array<uint32_t, 4>> sub(65536, {0, 0, 0, 0});
  int64_t pending = 0;
  auto flush = [&] {
    for (size_t b = 0; b < 65536; ++b) {
      high[b] += int64_t{sub[b][0]} + sub[b][1] + sub[b][2] + sub[b][3];
      sub[b] = {0, 0, 0, 0};
    }
    pending = 0;
  };
  for (size_t s = 0; s < spans.size(); ++s) {
    const Tensor& t = *spans[s];
    int64_t z = 0;
    if (t.dtype() == DType::F32) {
      const auto* u = reinterpret_cast<const uint32_t*>(t.raw());
      const int64_t m = t.numel();
      int64_t i = 0;
      while (i < m) {
        int64_t end = std::min(m, i + (int64_t{1} << 30) - pending);
        int64_t j = i;
        for (; j + 4 <= end; j += 4) {
          uint32_t a = u[j] & 0x7fffffffu, b = u[j + 1] & 0x7fffffffu;
          uint32_t c = u[j + 2] & 0x7fffffffu, d = u[j + 3] & 0x7fffffffu;
          ++sub[a >> 16][0];
          ++sub[b >> 16][1];
          ++sub[c >> 16][2];
          ++sub[d >> 16][3];
          z += (a == 0) + (b == 0) + (c == 0) + (d == 0);
        }
        for (; j < end; ++j) {
          uint32_t a = u[j] & 0x7fffffffu;
          ++sub[a >> 16][0];
          z += a == 0;
        }
        pending += end - i;
        i = end;
        if (pending >= (int64_t{1} << 30)) flush();
      }
    } else {
      forEachKey(t, [&](uint32_t key) {
        ++sub[key >> 16][0];
        z += key == 0;
        if (++pending >= (int64_t{1} << 30)) flush();
      });
    }
    if (zeros) (*zeros)[s] = z;
  }
  flush();
  uint32_t bucket = 0;
  int64_t below = 0;
  for (; bucket < 65536; ++bucket) {
    if (below + high[bucket] > k) break;
    below += high[bucket];
  }

  // Pass 2: low 16 bits of the keys in that bucket.
  std::vector<int64_t> low(65536, 0);
  for (const Tensor* t : spans)
    forEachKey(*t, [&](uint32_t key) {
      if ((key >> 16) == bucket) ++low[key & 0xffffu];
    });
  uint32_t lo = 0;
  for (; lo < 65536; ++lo) {
    if (below + low[lo] > k) break;
    below += low[lo];
  }
  return {(bucket << 16) | lo, below};
}

Tensor zeroBelow(const Tensor& w, uint32_t cut, int64_t& ties, int64_t& zeros) {
  if (!isPrunableFloat(w.dtype()))
    fail(ErrorKind::Internal, "zeroBelow: {} is not a float type", dtypeName(w.dtype()));
  const uint64_t bytes = w.byteSize();
  auto buf = Buffer::allocate(bytes);
  const int64_t n = w.numel();
  int64_t eq = 0, z = 0;
  if (w.dtype() == DType::F32) {
    const auto* in = reinterpret_cast<const uint32_t*>(w.raw());
    auto* out = reinterpret_cast<uint32_t*>(buf->mutableData());
    const U32x4 mask = {0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu};
    const U32x4 vcut = {cut, cut, cut, cut};
    int64_t i = 0;
    while (i + 4 <= n) {
      // Lane counters are flushed every 2^30 elements so they cannot overflow.
      U32x4 veq = {0, 0, 0, 0}, vz = {0, 0, 0, 0};
      const int64_t end = std::min(n, i + (int64_t{1} << 30)) & ~int64_t{3};
      for (; i + 4 <= end; i += 4) {
        const U32x4 x = load4(in + i);
        const U32x4 key = x & mask;
        const U32x4 drop = reinterpret_cast<U32x4>(key < vcut);
        store4(out + i, x & ~drop);
        veq -= reinterpret_cast<U32x4>(key == vcut);
        vz -= drop | reinterpret_cast<U32x4>(key == 0);
      }
      eq += sum4(veq);
      z += sum4(vz);
    }
    for (; i < n; ++i) {
      uint32_t key = in[i] & 0x7fffffffu;
      bool drop = key < cut;
      out[i] = drop ? 0u : in[i];
      eq += key == cut;
      z += drop || key == 0;
    }
    if (ties > 0 && eq > 0)
      for (int64_t j = 0; j < n && ties > 0; ++j)
        if ((in[j] & 0x7fffffffu) == cut) {
          out[j] = 0;
          --ties;
          z += cut != 0;
        }
  } else {
    const size_t es = elementBytes(w.dtype());
    const uint8_t* in = w.raw();
    uint8_t* out = buf->mutableData();
    std::memcpy(out, in, bytes);
    for (int64_t i = 0; i < n; ++i) {
      uint8_t* e = out + static_cast<size_t>(i) * es;
      uint32_t key = magnitudeKey(w.dtype(), in + static_cast<size_t>(i) * es);
      bool drop = key < cut || (key == cut && ties > 0);
      if (key == cut && ties > 0) --ties;
      if (drop) std::memset(e, 0, es);
      z += drop || key == 0;
    }
  }
  zeros = z;
  return Tensor(w.dtype(), w.dims(), std::move(buf));
}

namespace {

SmallestZeroed exactSmallest(const std::vector<const Tensor*>& weights, int64_t k,
                             const std::function<void(size_t)>& done) {
  SmallestZeroed r;
  MagnitudeCut cut = kthSmallestMagnitude(weights, k, &r.zeros_before);
  int64_t ties = k - cut.below;
  for (size_t i = 0; i < weights.size(); ++i) {
    int64_t z = 0;
    r.tensors.push_back(zeroBelow(*weights[i], cut.key, ties, z));
    r.zeros_after.push_back(z);
    if (done) done(i);
  }
  return r;
}

// An element whose key lies inside the sampled bracket.
struct BandEntry {
  uint32_t key, tensor, index;
  bool operator<(const BandEntry& o) const {
    if (key != o.key) return key < o.key;
    return tensor != o.tensor ? tensor < o.tensor : index < o.index;
  }
};

}  // namespace

SmallestZeroed zeroSmallest(const std::vector<const Tensor*>& weights, int64_t k,
                            const std::function<void(size_t)>& done) {
  constexpr int64_t kBlock = 512, kBlocks = 2048;  // 1 M sampled keys
  int64_t n = 0;
  bool f32 = true;
  for (const Tensor* t : weights) {
    n += t->numel();
    f32 = f32 && t->dtype() == DType::F32 && t->numel() < (int64_t{1} << 32);
  }
  if (!f32 || n < 4 * kBlock * kBlocks || k <= 0 || k >= n) return exactSmallest(weights, k, done);

  // Bracket the k-th key on a sample of whole blocks spread evenly over all weights.
  std::vector<uint32_t> sample;
  sample.reserve(static_cast<size_t>(kBlock * kBlocks));
  size_t t = 0;
  int64_t base = 0;  // index of weights[t]'s first element in the concatenation
  for (int64_t b = 0; b < kBlocks; ++b) {
    int64_t start = (n - kBlock) * b / (kBlocks - 1);
    for (int64_t e = start; e < start + kBlock; ++e) {
      while (e >= base + weights[t]->numel())
        base += weights[t++]->numel();
      sample.push_back(weights[t]->data<uint32_t>()[e - base] & 0x7fffffffu);
    }
  }
  const double q = static_cast<double>(k) / static_cast<double>(n);
  const double s = static_cast<double>(sample.size());
  // Blocks are not independent samples: count an eighth of the keys for the spread.
  const double d = 0.004 + 5 * std::sqrt(q * (1 - q) / (s / 8));
  const int64_t lo = static_cast<int64_t>(std::floor((q - d) * s));
  const int64_t hi = static_cast<int64_t>(std::ceil((q + d) * s));
  auto nth = [&](int64_t i) {
    std::nth_element(sample.begin(), sample.begin() + i, sample.end());
    return sample[static_cast<size_t>(i)];
  };
  const uint32_t t_lo = lo <= 0 ? 0u : nth(lo);
  const uint32_t t_hi = hi >= static_cast<int64_t>(sample.size()) ? 0xffffffffu : nth(hi);
  sample = {};

  // One pass: zero what is below the bracket, collect what is inside it.
  SmallestZeroed r;
  r.sampled = true;
  std::vector<BandEntry> band(static_cast<size_t>(
      std::max<double>(1024, std::min<double>(3 * d * static_cast<double>(n), 1e9))));
  size_t used = 0;
  std::vector<std::shared_ptr<Buffer>> bufs;
  int64_t total_below = 0;
  const U32x4 mask = {0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu};
  const U32x4 vlo = {t_lo, t_lo, t_lo, t_lo}, vhi = {t_hi, t_hi, t_hi, t_hi};
  for (size_t w = 0; w < weights.size(); ++w) {
    const auto* in = weights[w]->data<uint32_t>();
    const int64_t m = weights[w]->numel();
    auto buf = Buffer::allocate(weights[w]->byteSize());
    auto* out = reinterpret_cast<uint32_t*>(buf->mutableData());
    int64_t nb = 0, zb = 0, zband = 0;
    auto collect = [&](int64_t i, uint32_t key) {
      if (used == band.size()) band.resize(band.size() * 2);
      band[used++] = {key, static_cast<uint32_t>(w), static_cast<uint32_t>(i)};
      zband += key == 0;
    };
    int64_t i = 0;
    while (i + 4 <= m) {
      U32x4 vb = {0, 0, 0, 0}, vz = {0, 0, 0, 0};
      const int64_t end = std::min(m, i + (int64_t{1} << 30)) & ~int64_t{3};
      for (; i + 4 <= end; i += 4) {
        const U32x4 x = load4(in + i);
        const U32x4 key = x & mask;
        const U32x4 drop = reinterpret_cast<U32x4>(key < vlo);
        store4(out + i, x & ~drop);
        vb -= drop;
        vz -= reinterpret_cast<U32x4>(key == 0);
        const U32x4 inside = ~drop & reinterpret_cast<U32x4>(key <= vhi);
        if (inside[0] | inside[1] | inside[2] | inside[3])
          for (int j = 0; j < 4; ++j)
            if (inside[j]) collect(i + j, key[j]);
      }
      nb += sum4(vb);
      zb += sum4(vz);
    }
    for (; i < m; ++i) {
      const uint32_t key = in[i] & 0x7fffffffu;
      const bool drop = key < t_lo;
      out[i] = drop ? 0u : in[i];
      nb += drop;
      zb += key == 0;
      if (!drop && key <= t_hi) collect(i, key);
    }
    total_below += nb;
    r.zeros_before.push_back(zb);
    r.zeros_after.push_back(nb + zband);
    bufs.push_back(std::move(buf));
    if (done) done(w);
  }
  band.resize(used);
  const int64_t need = k - total_below;
  if (need < 0 || need > static_cast<int64_t>(band.size()))
    return exactSmallest(weights, k, {});  // the bracket missed: settle it exactly
  if (need > 0) {
    std::nth_element(band.begin(), band.begin() + (need - 1), band.end());
    for (int64_t i = 0; i < need; ++i) {
      const BandEntry& e = band[static_cast<size_t>(i)];
      reinterpret_cast<uint32_t*>(bufs[e.tensor]->mutableData())[e.index] = 0;
      r.zeros_after[e.tensor] += e.key != 0;
    }
  }
  for (size_t w = 0; w < weights.size(); ++w)
    r.tensors.emplace_back(DType::F32, weights[w]->dims(), std::move(bufs[w]));
  return r;
}

namespace {

struct AxisLayout {
  int64_t outer = 1, len = 1, inner = 1;
};
AxisLayout layoutOf(const std::vector<int64_t>& dims, int64_t axis) {
  AxisLayout l;
  for (int64_t d = 0; d < static_cast<int64_t>(dims.size()); ++d) {
    if (d < axis) l.outer *= dims[static_cast<size_t>(d)];
    if (d == axis) l.len = dims[static_cast<size_t>(d)];
    if (d > axis) l.inner *= dims[static_cast<size_t>(d)];
  }
  return l;
}

// Calls fn(indices) with the flat indices of every group of m along `axis`.
template <typename Fn>
void forEachGroup(const std::vector<int64_t>& dims, int64_t axis, int64_t m, Fn&& fn) {
  AxisLayout l = layoutOf(dims, axis);
  std::vector<int64_t> idx(static_cast<size_t>(m));
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t g = 0; g + m <= l.len; g += m)
      for (int64_t i = 0; i < l.inner; ++i) {
        for (int64_t j = 0; j < m; ++j)
          idx[static_cast<size_t>(j)] = ((o * l.len) + g + j) * l.inner + i;
        fn(idx);
      }
}

}  // namespace

int64_t countZeroKeys(const Tensor& t) {
  int64_t z = 0;
  forEachKey(t, [&](uint32_t key) { z += key == 0; });
  return z;
}

Tensor pruneNM(const Tensor& w, int64_t axis, int64_t n, int64_t m, int64_t& zeros) {
  if (!isPrunableFloat(w.dtype()))
    fail(ErrorKind::Internal, "pruneNM: {} is not a float type", dtypeName(w.dtype()));
  const size_t es = elementBytes(w.dtype());
  auto buf = Buffer::allocate(w.byteSize());
  uint8_t* out = buf->mutableData();
  std::memcpy(out, w.raw(), w.byteSize());
  std::vector<std::pair<uint32_t, int64_t>> keyed(static_cast<size_t>(m));
  forEachGroup(w.dims(), axis, m, [&](const std::vector<int64_t>& idx) {
    for (size_t j = 0; j < idx.size(); ++j)
      keyed[j] = {magnitudeKey(w.dtype(), w.raw() + static_cast<size_t>(idx[j]) * es),
                  -static_cast<int64_t>(j)};
    // Smallest magnitude first; among equals the later element (larger j) first. Insertion
    // sort: groups are short.
    for (size_t a = 1; a < keyed.size(); ++a)
      for (size_t b = a; b > 0 && keyed[b] < keyed[b - 1]; --b)
        std::swap(keyed[b], keyed[b - 1]);
    for (int64_t j = 0; j < m - n; ++j)
      std::memset(out + static_cast<size_t>(idx[static_cast<size_t>(-keyed[j].second)]) * es, 0,
                  es);
  });
  Tensor r(w.dtype(), w.dims(), std::move(buf));
  zeros = countZeroKeys(r);
  return r;
}

bool satisfiesNM(const Tensor& w, int64_t axis, int64_t n, int64_t m) {
  const size_t es = elementBytes(w.dtype());
  bool ok = true;
  forEachGroup(w.dims(), axis, m, [&](const std::vector<int64_t>& idx) {
    int64_t z = 0;
    for (int64_t i : idx)
      z += magnitudeKey(w.dtype(), w.raw() + static_cast<size_t>(i) * es) == 0;
    ok = ok && z >= m - n;
  });
  return ok;
}

Tensor sliceAxis(const Tensor& t, int64_t axis, const std::vector<int64_t>& keep) {
  const size_t es = elementBytes(t.dtype());
  AxisLayout l = layoutOf(t.dims(), axis);
  std::vector<int64_t> dims = t.dims();
  dims[static_cast<size_t>(axis)] = static_cast<int64_t>(keep.size());
  const size_t row = static_cast<size_t>(l.inner) * es;
  auto buf = Buffer::allocate(static_cast<uint64_t>(l.outer) * keep.size() * row);
  uint8_t* out = buf->mutableData();
  const uint8_t* in = t.raw();
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t k : keep) {
      if (k < 0 || k >= l.len) fail(ErrorKind::Internal, "sliceAxis: index {} out of range", k);
      std::memcpy(out, in + (static_cast<size_t>(o * l.len + k)) * row, row);
      out += row;
    }
  return Tensor(t.dtype(), std::move(dims), std::move(buf));
}

}  // namespace mopt
