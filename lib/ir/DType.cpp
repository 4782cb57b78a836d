// Element-type tables and the half/bfloat16 bit conversions.
#include "ir/DType.h"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace mopt {

namespace {

struct DTypeInfo {
  DType type;
  const char* name;
  const char* onnx;
  int bits;
};

constexpr DTypeInfo kInfo[] = {
    {DType::Undefined, "undef", "undefined", 0},
    {DType::F32, "f32", "float", 32},
    {DType::U8, "u8", "uint8", 8},
    {DType::I8, "i8", "int8", 8},
    {DType::U16, "u16", "uint16", 16},
    {DType::I16, "i16", "int16", 16},
    {DType::I32, "i32", "int32", 32},
    {DType::I64, "i64", "int64", 64},
    {DType::String, "str", "string", 0},
    {DType::Bool, "bool", "bool", 8},
    {DType::F16, "f16", "float16", 16},
    {DType::F64, "f64", "double", 64},
    {DType::U32, "u32", "uint32", 32},
    {DType::U64, "u64", "uint64", 64},
    {DType::C64, "c64", "complex64", 64},
    {DType::C128, "c128", "complex128", 128},
    {DType::BF16, "bf16", "bfloat16", 16},
    {DType::F8E4M3FN, "f8e4m3fn", "float8e4m3fn", 8},
    {DType::F8E4M3FNUZ, "f8e4m3fnuz", "float8e4m3fnuz", 8},
    {DType::F8E5M2, "f8e5m2", "float8e5m2", 8},
    {DType::F8E5M2FNUZ, "f8e5m2fnuz", "float8e5m2fnuz", 8},
    {DType::U4, "u4", "uint4", 4},
    {DType::I4, "i4", "int4", 4},
};

const DTypeInfo& info(DType t) {
  auto i = static_cast<size_t>(t);
  return i < std::size(kInfo) ? kInfo[i] : kInfo[0];
}

}  // namespace

std::string_view dtypeName(DType t) {
  return info(t).name;
}
std::string_view dtypeOnnxName(DType t) {
  return info(t).onnx;
}
int dtypeBits(DType t) {
  return info(t).bits;
}

std::optional<DType> parseDType(std::string_view name) {
  for (const auto& i : kInfo) {
    if (i.type != DType::Undefined && (name == i.name || name == i.onnx)) return i.type;
  }
  if (name == "fp32") return DType::F32;
  if (name == "fp16") return DType::F16;
  if (name == "fp64") return DType::F64;
  return std::nullopt;
}

std::optional<DType> dtypeFromOnnx(int32_t v) {
  if (v < 0 || v >= static_cast<int32_t>(std::size(kInfo))) return std::nullopt;
  return static_cast<DType>(v);
}

bool isFloatingPoint(DType t) {
  switch (t) {
    case DType::F16:
    case DType::BF16:
    case DType::F32:
    case DType::F64:
    case DType::F8E4M3FN:
    case DType::F8E4M3FNUZ:
    case DType::F8E5M2:
    case DType::F8E5M2FNUZ:
      return true;
    default:
      return false;
  }
}

bool isSignedInteger(DType t) {
  return t == DType::I4 || t == DType::I8 || t == DType::I16 || t == DType::I32 || t == DType::I64;
}

bool isInteger(DType t) {
  return isSignedInteger(t) || t == DType::U4 || t == DType::U8 || t == DType::U16 ||
         t == DType::U32 || t == DType::U64;
}

uint64_t dtypeStorageBytes(DType t, uint64_t numel) {
  int bits = dtypeBits(t);
  if (bits == 4) return numel / 2 + numel % 2;
  // Saturate rather than wrap: a declared shape like [2^60] of complex128 must not come out as
  // 0 bytes and match an empty buffer.
  auto width = static_cast<uint64_t>(bits / 8);
  if (width && numel > UINT64_MAX / width) return UINT64_MAX;
  return numel * width;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal half: renormalise into a normal float
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while ((man & 0x400u) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (man & 0x3ffu) << 13;
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | man << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  uint32_t absx = x & 0x7fffffffu;
  if (absx > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((absx >> 13) & 0x3ffu));
  if (absx >= 0x47800000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (absx < 0x38800000u) {
    // Result is a half subnormal (or zero): shift the implicit-one mantissa into place and round.
    if (absx < 0x33000000u) return sign;  // below half of the smallest subnormal
    uint32_t e = absx >> 23;
    uint32_t man = (absx & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - e;  // value = man * 2^(e-150); a half subnormal step is 2^-24
    uint32_t half_man = man >> shift;
    uint32_t rem = man & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half_man & 1u))) ++half_man;
    return static_cast<uint16_t>(sign | half_man);
  }
  uint32_t half = ((absx - 0x38000000u) >> 13);
  uint32_t rem = absx & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;
  return static_cast<uint16_t>(sign | half);
}

float bf16ToFloat(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint16_t floatToBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>((x + rounding) >> 16);
}

}  // namespace mopt
