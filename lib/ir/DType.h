// Element types of tensors in the IR, with sizes, names and the fp16/bf16 conversions passes need.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mopt {

// The numbering follows ONNX TensorProto.DataType so a reader of a dump can map them at a glance;
// frontends still translate explicitly and reject values they do not know.
enum class DType : int32_t {
  Undefined = 0,
  F32 = 1,
  U8 = 2,
  I8 = 3,
  U16 = 4,
  I16 = 5,
  I32 = 6,
  I64 = 7,
  String = 8,
  Bool = 9,
  F16 = 10,
  F64 = 11,
  U32 = 12,
  U64 = 13,
  C64 = 14,
  C128 = 15,
  BF16 = 16,
  F8E4M3FN = 17,
  F8E4M3FNUZ = 18,
  F8E5M2 = 19,
  F8E5M2FNUZ = 20,
  U4 = 21,
  I4 = 22,
};

// Every DType except Undefined, in numeric order (for tables and tests).
inline constexpr DType kAllDTypes[] = {
    DType::F32,    DType::U8,         DType::I8,   DType::U16,  DType::I16,      DType::I32,
    DType::I64,    DType::String,     DType::Bool, DType::F16,  DType::F64,      DType::U32,
    DType::U64,    DType::C64,        DType::C128, DType::BF16, DType::F8E4M3FN, DType::F8E4M3FNUZ,
    DType::F8E5M2, DType::F8E5M2FNUZ, DType::U4,   DType::I4};

// Short name used by the printer and the CLI: f32, f16, bf16, i64, u4, str, ...
std::string_view dtypeName(DType t);
// ONNX spelling (float, float16, int64, ...), used in messages that quote the ONNX spec.
std::string_view dtypeOnnxName(DType t);
std::optional<DType> parseDType(std::string_view name);  // accepts both spellings
std::optional<DType> dtypeFromOnnx(int32_t onnx_value);

// Bits per element: 4 for the packed int4 types, 0 for String and Undefined.
int dtypeBits(DType t);
bool isFloatingPoint(DType t);  // f16, bf16, f32, f64 and the float8 family
bool isInteger(DType t);        // signed and unsigned, including int4
bool isSignedInteger(DType t);
// Bytes needed for `numel` elements (int4 packs two per byte, rounding up); UINT64_MAX when the
// product does not fit (no real buffer has that size, so size checks fail cleanly).
uint64_t dtypeStorageBytes(DType t, uint64_t numel);

// IEEE half and bfloat16 conversions; rounding is to nearest even, NaN stays NaN.
float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);
float bf16ToFloat(uint16_t b);
uint16_t floatToBf16(float f);

}  // namespace mopt
