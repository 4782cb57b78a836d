// Quantization arithmetic; see QuantMath.h.
#include "passes/quantize/QuantMath.h"

#include "ir/Error.h"
#include "ir/TensorUtil.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

namespace mopt {

QRange quantRange(DType qtype, bool symmetric, bool reduce_range) {
  switch (qtype) {
    case DType::U8:
      return reduce_range ? QRange{0, 127} : QRange{0, 255};
    case DType::I8:
      if (reduce_range) return {-64, 64};
      return symmetric ? QRange{-127, 127} : QRange{-128, 127};
    case DType::U16:
      return {0, 65535};
    case DType::I16:
      return symmetric ? QRange{-32767, 32767} : QRange{-32768, 32767};
    case DType::U4:
      return {0, 15};
    case DType::I4:
      return symmetric ? QRange{-7, 7} : QRange{-8, 7};
    default:
      fail(ErrorKind::Internal, "{} is not a quantized type", dtypeName(qtype));
  }
}

QParams computeQParams(float rmin, float rmax, QRange range, bool symmetric) {
  rmin = std::min(rmin, 0.0f);
  rmax = std::max(rmax, 0.0f);
  QParams p;
  if (symmetric) {
    float absmax = std::max(std::fabs(rmin), std::fabs(rmax));
    float span = static_cast<float>(range.qmax - range.qmin);
    p.scale = absmax > 0 ? 2 * absmax / span : 1.0f;
    p.zero_point = (range.qmin + range.qmax + 1) / 2;  // 0 for signed, 128 for uint8
    if (range.qmin < 0) p.zero_point = 0;
    return p;
  }
  float span = rmax - rmin;
  p.scale = span > 0 ? span / static_cast<float>(range.qmax - range.qmin) : 1.0f;
  float zp = static_cast<float>(range.qmin) - rmin / p.scale;
  p.zero_point =
      static_cast<int32_t>(std::nearbyint(std::clamp(zp, float(range.qmin), float(range.qmax))));
  return p;
}

int32_t quantizeValue(float x, QParams p, QRange range) {
  float q = std::nearbyint(x / p.scale) + static_cast<float>(p.zero_point);
  return static_cast<int32_t>(std::clamp(q, float(range.qmin), float(range.qmax)));
}

std::vector<float> floatsOf(const Tensor& t) {
  if (t.dtype() == DType::F32) {
    std::vector<float> out(static_cast<size_t>(t.numel()));
    if (!out.empty()) std::memcpy(out.data(), t.raw(), out.size() * 4);
    return out;
  }
  std::vector<double> d = toDoubles(t);
  return std::vector<float>(d.begin(), d.end());
}

namespace {

// Writes `count` codes into a new tensor of `qtype` (1 byte for 8-bit types, 2 for 16-bit).
template <typename Q>
Tensor codesTensor(DType qtype, const std::vector<int64_t>& dims, int64_t count,
                   const std::function<int32_t(int64_t)>& code) {
  auto buf = Buffer::allocate(static_cast<uint64_t>(count) * sizeof(Q));
  Q* out = reinterpret_cast<Q*>(buf->mutableData());
  for (int64_t i = 0; i < count; ++i)
    out[i] = static_cast<Q>(code(i));
  return Tensor(qtype, dims, std::move(buf));
}

// Round half to even for |v| < 2^22 under the default rounding mode, without a libm call:
// adding 1.5 * 2^23 pushes the fraction out of the mantissa, which the FPU rounds to even.
// (IEEE arithmetic: without -ffast-math the compiler may not fold (v + m) - m to v.)
inline float roundHalfEven(float v) {
  constexpr float kMagic = 12582912.0f;
  return (v + kMagic) - kMagic;
}

// Quantizes x laid out as [outer, channels, inner] with one QParams per channel. The hot loop of
// weight quantization (350 M weights in well under a second): no per-element indirection.
template <typename Q>
Tensor quantizeChannels(DType qtype, const std::vector<int64_t>& dims, const float* x,
                        int64_t outer, int64_t inner, const std::vector<QParams>& params,
                        QRange range) {
  auto channels = static_cast<int64_t>(params.size());
  auto buf = Buffer::allocate(static_cast<uint64_t>(outer * channels * inner) * sizeof(Q));
  Q* out = reinterpret_cast<Q*>(buf->mutableData());
  const float lo = static_cast<float>(range.qmin), hi = static_cast<float>(range.qmax);
  if (inner == 1 && channels > 1) {
    // Channels innermost: per-channel scale and zero point as arrays, one vectorizable row loop.
    std::vector<float> scale(static_cast<size_t>(channels)), zp(static_cast<size_t>(channels)),
        qlo(static_cast<size_t>(channels)), qhi(static_cast<size_t>(channels));
    for (size_t c = 0; c < params.size(); ++c) {
      scale[c] = params[c].scale;
      zp[c] = static_cast<float>(params[c].zero_point);
      qlo[c] = lo - zp[c] - 1;
      qhi[c] = hi - zp[c] + 1;
    }
    const float* __restrict sp = scale.data();
    const float* __restrict zpp = zp.data();
    const float* __restrict lop = qlo.data();
    const float* __restrict hip = qhi.data();
    for (int64_t o = 0; o < outer; ++o) {
      const float* __restrict row = x + o * channels;
      Q* __restrict dst = out + o * channels;
      for (int64_t c = 0; c < channels; ++c) {
        float q = roundHalfEven(std::clamp(row[c] / sp[c], lop[c], hip[c])) + zpp[c];
        dst[c] = static_cast<Q>(static_cast<int32_t>(std::clamp(q, lo, hi)));
      }
    }
    return Tensor(qtype, dims, std::move(buf));
  }
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c) {
      const QParams& p = params[static_cast<size_t>(c)];
      const float zp = static_cast<float>(p.zero_point);
      // Clamped before rounding so roundHalfEven's precondition holds; clamping a value already
      // outside the range cannot change the saturated result.
      const float qlo = lo - zp - 1, qhi = hi - zp + 1;
      int64_t base = (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        // Divides (as QuantizeLinear does): x * (1/scale) can differ in the last bit.
        float q = roundHalfEven(std::clamp(x[base + i] / p.scale, qlo, qhi)) + zp;
        out[base + i] = static_cast<Q>(std::clamp(q, lo, hi));
      }
    }
  return Tensor(qtype, dims, std::move(buf));
}

}  // namespace

FloatData::FloatData(const Tensor& t) {
  if (t.dtype() == DType::F32) {
    ptr_ = t.data<float>();
  } else {
    copy_ = floatsOf(t);
    ptr_ = copy_.data();
  }
  size_ = t.numel();
}

Tensor makeQuantTensor(DType qtype, const std::vector<int64_t>& dims,
                       const std::vector<int32_t>& codes) {
  auto at = [&](int64_t i) { return codes[static_cast<size_t>(i)]; };
  auto n = static_cast<int64_t>(codes.size());
  switch (qtype) {
    case DType::U8:
      return codesTensor<uint8_t>(qtype, dims, n, at);
    case DType::I8:
      return codesTensor<int8_t>(qtype, dims, n, at);
    case DType::U16:
      return codesTensor<uint16_t>(qtype, dims, n, at);
    case DType::I16:
      return codesTensor<int16_t>(qtype, dims, n, at);
    case DType::I32:
      return codesTensor<int32_t>(qtype, dims, n, at);
    default:
      fail(ErrorKind::Internal, "makeQuantTensor: unsupported type {}", dtypeName(qtype));
  }
}

QuantizedTensor quantizeWeight(const Tensor& w, DType qtype, int64_t axis, bool symmetric,
                               bool reduce_range) {
  FloatData v(w);
  const auto& dims = w.dims();
  QRange range = quantRange(qtype, symmetric, reduce_range);
  int64_t channels = 1, inner = 1, outer = 1;
  if (axis >= 0) {
    channels = dims.at(static_cast<size_t>(axis));
    for (size_t d = static_cast<size_t>(axis) + 1; d < dims.size(); ++d)
      inner *= dims[d];
    for (size_t d = 0; d < static_cast<size_t>(axis); ++d)
      outer *= dims[d];
  } else {
    inner = v.size();
  }
  // Range per channel, in the order the data lies (rows of a [K, N] matrix stream through the
  // per-column minima when axis is the last one).
  std::vector<float> lo(static_cast<size_t>(channels), 0.0f),
      hi(static_cast<size_t>(channels), 0.0f);
  const float* x = v.data();
  if (inner == 1) {
    // Channels innermost (a MatMul weight per column): whole rows at a time, so the compiler
    // vectorizes across channels.
    float* __restrict lp = lo.data();
    float* __restrict hp = hi.data();
    for (int64_t o = 0; o < outer; ++o) {
      const float* __restrict row = x + o * channels;
      for (int64_t c = 0; c < channels; ++c) {
        lp[c] = std::min(lp[c], row[c]);
        hp[c] = std::max(hp[c], row[c]);
      }
    }
  } else {
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t c = 0; c < channels; ++c) {
        const float* row = x + (o * channels + c) * inner;
        float l = lo[static_cast<size_t>(c)], h = hi[static_cast<size_t>(c)];
        for (int64_t i = 0; i < inner; ++i) {
          l = std::min(l, row[i]);
          h = std::max(h, row[i]);
        }
        lo[static_cast<size_t>(c)] = l;
        hi[static_cast<size_t>(c)] = h;
      }
  }
  std::vector<QParams> params(static_cast<size_t>(channels));
  for (size_t c = 0; c < params.size(); ++c)
    params[c] = computeQParams(lo[c], hi[c], range, symmetric);
  QuantizedTensor out;
  out.axis = axis;
  switch (qtype) {
    case DType::U8:
      out.data = quantizeChannels<uint8_t>(qtype, dims, x, outer, inner, params, range);
      break;
    case DType::I8:
      out.data = quantizeChannels<int8_t>(qtype, dims, x, outer, inner, params, range);
      break;
    case DType::U16:
      out.data = quantizeChannels<uint16_t>(qtype, dims, x, outer, inner, params, range);
      break;
    case DType::I16:
      out.data = quantizeChannels<int16_t>(qtype, dims, x, outer, inner, params, range);
      break;
    default:
      fail(ErrorKind::Internal, "quantizeWeight: unsupported type {}", dtypeName(qtype));
  }
  std::vector<float> scales;
  std::vector<int32_t> zps;
  for (const auto& p : params) {
    scales.push_back(p.scale);
    zps.push_back(p.zero_point);
  }
  std::vector<int64_t> pdims;
  if (axis >= 0) pdims.push_back(channels);
  out.scale = Tensor::fromVector(DType::F32, pdims, scales);
  out.zero_point = makeQuantTensor(qtype, pdims, zps);
  return out;
}

// One block's scale and zero point (ONNX Runtime's MatMulNBits conventions).
void blockParams(float lo, float hi, int bits, bool symmetric, float& scale, int32_t& zp) {
  const int32_t levels = (1 << bits) - 1, mid = 1 << (bits - 1);
  if (symmetric) {
    // The value of largest magnitude lands exactly on the most negative code (the scale may be
    // negative), so all 2^bits levels are used: ONNX Runtime's and llama.cpp Q4_0's scheme.
    float extreme = std::fabs(lo) >= std::fabs(hi) ? lo : hi;
    scale = extreme != 0 ? extreme / static_cast<float>(-mid) : 1.0f;
    zp = mid;
  } else {
    scale = hi > lo ? (hi - lo) / static_cast<float>(levels) : 1.0f;
    zp = static_cast<int32_t>(
        std::nearbyint(std::clamp(-lo / scale, 0.0f, static_cast<float>(levels))));
  }
}

BlockQuantized quantizeBlocks(const float* w, int64_t K, int64_t N, int64_t stride_k,
                              int64_t stride_n, int64_t block, int bits, bool symmetric) {
  if (bits != 4 && bits != 8)
    fail(ErrorKind::Usage, "block quantization supports 4 or 8 bits, not {}", bits);
  if (block <= 0 || block * bits % 8)
    fail(ErrorKind::Usage, "block size {} does not fill whole bytes", block);
  BlockQuantized q;
  q.K = K;
  q.N = N;
  q.block = block;
  q.bits = bits;
  q.blocks = (K + block - 1) / block;
  const int64_t blob = block * bits / 8, zp_bytes = (q.blocks * bits + 7) / 8;
  const int32_t levels = (1 << bits) - 1;
  q.packed.assign(static_cast<size_t>(N * q.blocks * blob), 0);
  q.scales.assign(static_cast<size_t>(N * q.blocks), 1.0f);
  if (!symmetric) q.zero_points.assign(static_cast<size_t>(N * zp_bytes), 0);
  // Walk memory in order: rows of a [K, N] MatMul weight hold consecutive n, rows of a [N, K]
  // embedding table consecutive k. Codes of one block go through `codes` ([N, block]).
  const bool n_inner = stride_n == 1 && stride_k != 1;
  std::vector<float> lo(static_cast<size_t>(N)), hi(static_cast<size_t>(N)),
      scale(static_cast<size_t>(N));
  std::vector<int32_t> zp(static_cast<size_t>(N));
  std::vector<uint8_t> codes(static_cast<size_t>(N * block));
  for (int64_t b = 0; b < q.blocks; ++b) {
    const int64_t k0 = b * block, k1 = std::min(K, k0 + block);
    std::fill(lo.begin(), lo.end(), 0.0f);
    std::fill(hi.begin(), hi.end(), 0.0f);
    auto visit = [&](auto&& fn) {
      if (n_inner) {
        for (int64_t k = k0; k < k1; ++k)
          for (int64_t n = 0; n < N; ++n)
            fn(k, n, w[k * stride_k + n]);
      } else {
        for (int64_t n = 0; n < N; ++n)
          for (int64_t k = k0; k < k1; ++k)
            fn(k, n, w[k * stride_k + n * stride_n]);
      }
    };
    visit([&](int64_t, int64_t n, float x) {
      auto i = static_cast<size_t>(n);
      lo[i] = std::min(lo[i], x);
      hi[i] = std::max(hi[i], x);
    });
    for (size_t n = 0; n < lo.size(); ++n)
      blockParams(lo[n], hi[n], bits, symmetric, scale[n], zp[n]);
    if (k1 - k0 < block)  // a last partial block: its padding codes decode to 0
      for (int64_t n = 0; n < N; ++n)
        std::fill_n(codes.begin() + n * block, block,
                    static_cast<uint8_t>(zp[static_cast<size_t>(n)]));
    visit([&](int64_t k, int64_t n, float x) {
      auto i = static_cast<size_t>(n);
      int32_t c = static_cast<int32_t>(std::nearbyint(x / scale[i])) + zp[i];
      codes[static_cast<size_t>(n * block + (k - k0))] =
          static_cast<uint8_t>(std::clamp(c, 0, levels));
    });
    for (int64_t n = 0; n < N; ++n) {
      auto i = static_cast<size_t>(n);
      q.scales[static_cast<size_t>(n * q.blocks + b)] = scale[i];
      if (!symmetric) {
        size_t zi = static_cast<size_t>(n * zp_bytes + (bits == 4 ? b / 2 : b));
        if (bits == 4)
          q.zero_points[zi] |= static_cast<uint8_t>((zp[i] & 0xf) << ((b % 2) * 4));
        else
          q.zero_points[zi] = static_cast<uint8_t>(zp[i]);
      }
      const uint8_t* c = codes.data() + n * block;
      uint8_t* dst = q.packed.data() + (n * q.blocks + b) * blob;
      if (bits == 8) {
        std::memcpy(dst, c, static_cast<size_t>(block));
      } else {
        for (int64_t j = 0; j < blob; ++j)
          dst[j] = static_cast<uint8_t>(c[2 * j] | (c[2 * j + 1] << 4));
      }
    }
  }
  return q;
}

BlockQuantized packBlocks(const std::vector<uint8_t>& codes, const std::vector<float>& scales,
                          const std::vector<int32_t>& zero_points, int64_t K, int64_t N,
                          int64_t block, int bits, bool symmetric) {
  BlockQuantized q;
  q.K = K;
  q.N = N;
  q.block = block;
  q.bits = bits;
  q.blocks = (K + block - 1) / block;
  const int64_t blob = block * bits / 8, zp_bytes = (q.blocks * bits + 7) / 8;
  q.packed.assign(static_cast<size_t>(N * q.blocks * blob), 0);
  q.scales = scales;
  if (!symmetric) q.zero_points.assign(static_cast<size_t>(N * zp_bytes), 0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t b = 0; b < q.blocks; ++b) {
      int32_t zp = zero_points[static_cast<size_t>(n * q.blocks + b)];
      if (!symmetric) {
        size_t zi = static_cast<size_t>(n * zp_bytes + (bits == 4 ? b / 2 : b));
        if (bits == 4)
          q.zero_points[zi] |= static_cast<uint8_t>((zp & 0xf) << ((b % 2) * 4));
        else
          q.zero_points[zi] = static_cast<uint8_t>(zp);
      }
      uint8_t* dst = q.packed.data() + (n * q.blocks + b) * blob;
      for (int64_t i = 0; i < block; ++i) {
        int64_t k = b * block + i;
        auto c = static_cast<uint8_t>(k < K ? codes[static_cast<size_t>(k * N + n)] : zp);
        if (bits == 4)
          dst[i / 2] |= static_cast<uint8_t>((c & 0xf) << ((i % 2) * 4));
        else
          dst[i] = c;
      }
    }
  return q;
}

std::vector<float> dequantizeBlocks(const BlockQuantized& q) {
  std::vector<float> w(static_cast<size_t>(q.K * q.N));
  int64_t blob = q.block * q.bits / 8, zp_bytes = (q.blocks * q.bits + 7) / 8;
  for (int64_t n = 0; n < q.N; ++n)
    for (int64_t b = 0; b < q.blocks; ++b) {
      float scale = q.scales[static_cast<size_t>(n * q.blocks + b)];
      int32_t zp = 1 << (q.bits - 1);
      if (!q.zero_points.empty()) {
        uint8_t byte = q.zero_points[static_cast<size_t>(n * zp_bytes + (q.bits == 4 ? b / 2 : b))];
        zp = q.bits == 4 ? (byte >> ((b % 2) * 4)) & 0xf : byte;
      }
      const uint8_t* src = q.packed.data() + (n * q.blocks + b) * blob;
      for (int64_t k = b * q.block; k < std::min(q.K, (b + 1) * q.block); ++k) {
        int64_t i = k - b * q.block;
        int32_t code = q.bits == 4 ? (src[i / 2] >> ((i % 2) * 4)) & 0xf : src[i];
        w[static_cast<size_t>(k * q.N + n)] = static_cast<float>(code - zp) * scale;
      }
    }
  return w;
}

}  // namespace mopt
