// DType tables and the half/bfloat16 conversions.
#include "ir/DType.h"
#include "ir/TensorUtil.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

using namespace mopt;

TEST_CASE("every half value converts to float and back unchanged", "[dtype]") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = halfToFloat(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    REQUIRE(floatToHalf(f) == h);
  }
}

TEST_CASE("float to half rounds to nearest even and saturates to infinity", "[dtype]") {
  CHECK(floatToHalf(1.0f) == 0x3c00);
  CHECK(floatToHalf(65504.0f) == 0x7bff);
  CHECK(floatToHalf(65520.0f) == 0x7c00);  // halfway to the next step rounds up to inf
  CHECK(floatToHalf(1e-8f) == 0);          // below half the smallest subnormal
  CHECK(floatToHalf(5.9604645e-8f) == 1);  // smallest subnormal
  // 1 + 2^-11 is exactly halfway between 1 and 1 + 2^-10: ties go to even (1.0).
  CHECK(floatToHalf(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);
  CHECK(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);
  CHECK(std::isnan(halfToFloat(floatToHalf(NAN))));
}

TEST_CASE("bfloat16 keeps the float exponent and rounds the mantissa", "[dtype]") {
  CHECK(floatToBf16(1.0f) == 0x3f80);
  CHECK(bf16ToFloat(0x3f80) == 1.0f);
  CHECK(bf16ToFloat(floatToBf16(3.14159f)) == Approx(3.140625f));
  CHECK(std::isnan(bf16ToFloat(floatToBf16(NAN))));
}

TEST_CASE("storage sizes, names and parsing", "[dtype]") {
  CHECK(dtypeStorageBytes(DType::I4, 5) == 3);
  CHECK(dtypeStorageBytes(DType::F16, 5) == 10);
  CHECK(dtypeStorageBytes(DType::C128, 2) == 32);
  for (DType t : kAllDTypes) {
    CHECK(parseDType(dtypeName(t)) == t);
    CHECK(parseDType(dtypeOnnxName(t)) == t);
  }
  CHECK_FALSE(parseDType("float128").has_value());
  CHECK_FALSE(dtypeFromOnnx(99).has_value());
}

TEST_CASE("tensor element access decodes packed int4 and float8", "[dtype]") {
  // int4: low nibble first; 0xF is -1 as int4 and 15 as uint4.
  uint8_t bytes[] = {0xF2, 0x07};
  Tensor i4 = Tensor::fromBytes(DType::I4, {3}, bytes, 2);
  CHECK(elementAsInt(i4, 0) == 2);
  CHECK(elementAsInt(i4, 1) == -1);
  CHECK(elementAsInt(i4, 2) == 7);
  Tensor u4 = Tensor::fromBytes(DType::U4, {3}, bytes, 2);
  CHECK(elementAsInt(u4, 1) == 15);
  uint8_t f8[] = {0x38, 0x7f};  // e4m3fn: 1.0, NaN
  Tensor e4 = Tensor::fromBytes(DType::F8E4M3FN, {2}, f8, 2);
  CHECK(elementAsDouble(e4, 0) == 1.0);
  CHECK(std::isnan(elementAsDouble(e4, 1)));
  Tensor back = fromDoubles(DType::I4, {3}, {2, -1, 7});
  CHECK(std::memcmp(back.raw(), bytes, 2) == 0);
}

TEST_CASE("a tensor refuses bytes that do not match its declared size", "[dtype]") {
  uint8_t b[6] = {};
  CHECK_THROWS_WITH(Tensor::fromBytes(DType::F32, {2}, b, 6),
                    Catch::Contains("needs 8 bytes but 6 are present"));
  CHECK_THROWS_WITH(Tensor::fromBytes(DType::F32, {INT64_MAX, 4}, b, 6),
                    Catch::Contains("overflows"));
  CHECK(countZeros(fromDoubles(DType::F32, {4}, {0.0, -0.0, 1.0, 0.0})) == 3);
}
