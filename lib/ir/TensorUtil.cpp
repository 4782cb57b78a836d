// Element access and dtype conversions for IR tensors.
#include "ir/TensorUtil.h"

#include "ir/Error.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace mopt {

namespace {

template <typename T>
T load(const uint8_t* p, int64_t i) {
  T v;
  std::memcpy(&v, p + static_cast<size_t>(i) * sizeof(T), sizeof(T));
  return v;
}

// Decodes an 8-bit float with `man_bits` mantissa bits and exponent bias `bias`. `fnuz`: no
// negative zero, 0x80 is the only NaN, no infinities. e4m3fn: no infinities, S.1111.111 is NaN.
double decodeF8(uint8_t b, int man_bits, int bias, bool fnuz, bool e4m3fn) {
  int exp_bits = 7 - man_bits;
  if (fnuz && b == 0x80) return std::numeric_limits<double>::quiet_NaN();
  bool neg = b & 0x80;
  int e = (b >> man_bits) & ((1 << exp_bits) - 1);
  int m = b & ((1 << man_bits) - 1);
  double v;
  if (!fnuz && !e4m3fn && e == (1 << exp_bits) - 1) {  // e5m2 follows IEEE
    v = m ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  } else if (e4m3fn && e == 15 && m == 7) {
    v = std::numeric_limits<double>::quiet_NaN();
  } else if (e == 0) {
    v = std::ldexp(m, 1 - bias - man_bits);
  } else {
    v = std::ldexp(1.0 + std::ldexp(m, -man_bits), e - bias);
  }
  return neg ? -v : v;
}

}  // namespace

bool isNumeric(DType t) {
  return t != DType::String && t != DType::Undefined && t != DType::C64 && t != DType::C128;
}

double elementAsDouble(const Tensor& t, int64_t i) {
  const uint8_t* p = t.raw();
  switch (t.dtype()) {
    case DType::F32:
      return load<float>(p, i);
    case DType::F64:
      return load<double>(p, i);
    case DType::F16:
      return halfToFloat(load<uint16_t>(p, i));
    case DType::BF16:
      return bf16ToFloat(load<uint16_t>(p, i));
    case DType::F8E4M3FN:
      return decodeF8(p[i], 3, 7, false, true);
    case DType::F8E4M3FNUZ:
      return decodeF8(p[i], 3, 8, true, false);
    case DType::F8E5M2:
      return decodeF8(p[i], 2, 15, false, false);
    case DType::F8E5M2FNUZ:
      return decodeF8(p[i], 2, 16, true, false);
    case DType::U64:
      return static_cast<double>(load<uint64_t>(p, i));
    default:
      return static_cast<double>(elementAsInt(t, i));
  }
}

int64_t elementAsInt(const Tensor& t, int64_t i) {
  const uint8_t* p = t.raw();
  switch (t.dtype()) {
    case DType::Bool:
    case DType::U8:
      return p[i];
    case DType::I8:
      return static_cast<int8_t>(p[i]);
    case DType::U16:
      return load<uint16_t>(p, i);
    case DType::I16:
      return load<int16_t>(p, i);
    case DType::U32:
      return load<uint32_t>(p, i);
    case DType::I32:
      return load<int32_t>(p, i);
    case DType::I64:
      return load<int64_t>(p, i);
    case DType::U64:
      return static_cast<int64_t>(load<uint64_t>(p, i));
    case DType::U4:
    case DType::I4: {
      uint8_t byte = p[i / 2];
      int nib = (i % 2) ? byte >> 4 : byte & 0xf;
      if (t.dtype() == DType::I4 && nib >= 8) nib -= 16;
      return nib;
    }
    default:
      if (isFloatingPoint(t.dtype())) return static_cast<int64_t>(elementAsDouble(t, i));
      fail(ErrorKind::Internal, "elementAsInt on {} tensor", dtypeName(t.dtype()));
  }
}

std::vector<double> toDoubles(const Tensor& t) {
  if (!isNumeric(t.dtype()))
    fail(ErrorKind::Internal, "toDoubles on {} tensor", dtypeName(t.dtype()));
  std::vector<double> out(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::F32) {
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = load<float>(t.raw(), static_cast<int64_t>(i));
    return out;
  }
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = elementAsDouble(t, static_cast<int64_t>(i));
  return out;
}

template <typename T>
static T saturate(double v) {
  if (std::isnan(v)) return 0;
  double lo = static_cast<double>(std::numeric_limits<T>::lowest());
  double hi = static_cast<double>(std::numeric_limits<T>::max());
  v = std::nearbyint(v);
  if (v <= lo) return std::numeric_limits<T>::lowest();
  if (v >= hi) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

Tensor fromDoubles(DType dtype, std::vector<int64_t> dims, const std::vector<double>& values) {
  int64_t n = checkedNumel(dims);
  if (n < 0 || static_cast<size_t>(n) != values.size())
    fail(ErrorKind::Internal, "fromDoubles: {} values for dims of {} elements", values.size(), n);
  auto buf = Buffer::allocate(dtypeStorageBytes(dtype, static_cast<uint64_t>(n)));
  uint8_t* p = buf->mutableData();
  auto store = [p](auto v, size_t i) { std::memcpy(p + i * sizeof(v), &v, sizeof(v)); };
  for (size_t i = 0; i < values.size(); ++i) {
    double v = values[i];
    switch (dtype) {
      case DType::F32:
        store(static_cast<float>(v), i);
        break;
      case DType::F64:
        store(v, i);
        break;
      case DType::F16:
        store(floatToHalf(static_cast<float>(v)), i);
        break;
      case DType::BF16:
        store(floatToBf16(static_cast<float>(v)), i);
        break;
      case DType::Bool:
        p[i] = v != 0;
        break;
      case DType::U8:
        store(saturate<uint8_t>(v), i);
        break;
      case DType::I8:
        store(saturate<int8_t>(v), i);
        break;
      case DType::U16:
        store(saturate<uint16_t>(v), i);
        break;
      case DType::I16:
        store(saturate<int16_t>(v), i);
        break;
      case DType::U32:
        store(saturate<uint32_t>(v), i);
        break;
      case DType::I32:
        store(saturate<int32_t>(v), i);
        break;
      case DType::I64:
        store(saturate<int64_t>(v), i);
        break;
      case DType::U64:
        store(saturate<uint64_t>(v), i);
        break;
      case DType::U4:
      case DType::I4: {
        int lo = dtype == DType::I4 ? -8 : 0, hi = dtype == DType::I4 ? 7 : 15;
        double r = std::isnan(v) ? 0 : std::nearbyint(v);
        int q = static_cast<int>(r < lo ? lo : r > hi ? hi : r) & 0xf;
        p[i / 2] =
            static_cast<uint8_t>(i % 2 ? (p[i / 2] & 0x0f) | (q << 4) : (p[i / 2] & 0xf0) | q);
        break;
      }
      default:
        fail(ErrorKind::Internal, "fromDoubles: unsupported dtype {}", dtypeName(dtype));
    }
  }
  return Tensor(dtype, std::move(dims), std::move(buf));
}

Tensor sliceRows(const Tensor& t, int64_t begin, int64_t end) {
  if (t.dims().empty() || begin < 0 || end < begin || end > t.dims()[0])
    fail(ErrorKind::Internal, "sliceRows [{}, {}) out of range", begin, end);
  std::vector<int64_t> dims = t.dims();
  int64_t row = dims[0] ? t.numel() / dims[0] : 0;
  dims[0] = end - begin;
  if (t.dtype() == DType::String) {
    const auto& s = t.strings();
    return Tensor::fromStrings(
        dims, std::vector<std::string>(s.begin() + begin * row, s.begin() + end * row));
  }
  if (dtypeBits(t.dtype()) < 8)
    fail(ErrorKind::Internal, "sliceRows on a packed {} tensor", dtypeName(t.dtype()));
  uint64_t bytes = static_cast<uint64_t>(dtypeBits(t.dtype()) / 8) * static_cast<uint64_t>(row);
  return Tensor(t.dtype(), dims,
                Buffer::slice(t.buffer(), static_cast<uint64_t>(begin) * bytes,
                              static_cast<uint64_t>(end - begin) * bytes));
}

int64_t countZeros(const Tensor& t) {
  if (!isNumeric(t.dtype())) return 0;
  int64_t zeros = 0;
  const int64_t n = t.numel();
  if (t.dtype() == DType::F32) {
    const uint8_t* p = t.raw();
    for (int64_t i = 0; i < n; ++i) {
      uint32_t bits;
      std::memcpy(&bits, p + 4 * i, 4);
      zeros += (bits & 0x7fffffffu) == 0;
    }
    return zeros;
  }
  for (int64_t i = 0; i < n; ++i)
    zeros += elementAsDouble(t, i) == 0.0;
  return zeros;
}

}  // namespace mopt
