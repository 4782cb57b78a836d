// Quantization arithmetic shared by the quantization passes: scales and zero points, and
// per-tensor / per-channel / block-wise quantization of weights. Plain C++ over float arrays.
#pragma once

#include "ir/Tensor.h"

#include <cstdint>
#include <vector>

namespace mopt {

// The integer range of a quantized type: [qmin, qmax]. `symmetric` int8 uses [-127, 127] so zero
// is exactly representable and the range is balanced (as ONNX Runtime does); `reduce_range`
// takes one bit off (7-bit) for CPUs whose int8 dot products can overflow 16-bit accumulators.
struct QRange {
  int32_t qmin, qmax;
};
QRange quantRange(DType qtype, bool symmetric, bool reduce_range);

struct QParams {
  float scale = 1;
  int32_t zero_point = 0;
};
// ONNX Runtime's convention: the range always includes 0; symmetric ranges are centred on 0;
// a zero-width range gets scale 1.
QParams computeQParams(float rmin, float rmax, QRange range, bool symmetric);

// Round half to even and saturate, as QuantizeLinear does.
int32_t quantizeValue(float x, QParams p, QRange range);

// A quantized weight: integer data plus scale/zero-point tensors (scalars, or 1-D along `axis`).
struct QuantizedTensor {
  Tensor data;        // qtype, same dims as the float tensor
  Tensor scale;       // f32
  Tensor zero_point;  // qtype
  int64_t axis = -1;  // -1: per tensor
};
// Quantizes a float (f32/f64/f16/bf16) tensor per tensor (axis < 0) or per slice along `axis`.
QuantizedTensor quantizeWeight(const Tensor& w, DType qtype, int64_t axis, bool symmetric,
                               bool reduce_range);

// Block-wise low-bit quantization of a [K, N] matrix along K (ONNX Runtime's MatMulNBits layout):
// B packed [N, K/block, block*bits/8] (low nibble first for 4 bits), scales [N * blocks],
// zero points packed [N, ceil(blocks*bits/8)] (absent when symmetric: the op's default applies).
struct BlockQuantized {
  int64_t K = 0, N = 0, block = 0, bits = 4, blocks = 0;
  std::vector<uint8_t> packed;
  std::vector<float> scales;
  std::vector<uint8_t> zero_points;  // empty when symmetric
};
// Element (k, n) of the float matrix is w[k * stride_k + n * stride_n]: a MatMul weight [K, N]
// has strides (N, 1), an embedding table [N, K] quantized along its rows (1, K). Padding codes of
// a last partial block dequantize to 0.
BlockQuantized quantizeBlocks(const float* w, int64_t K, int64_t N, int64_t stride_k,
                              int64_t stride_n, int64_t block, int bits, bool symmetric);
// One block's scale and zero point from its range (ONNX Runtime's MatMulNBits conventions:
// symmetric maps the largest-magnitude value to the most negative code, zero point 2^(bits-1)).
void blockParams(float lo, float hi, int bits, bool symmetric, float& scale, int32_t& zp);
// Packs codes [K, N] with scales and zero points [N, blocks] into the MatMulNBits layout.
BlockQuantized packBlocks(const std::vector<uint8_t>& codes, const std::vector<float>& scales,
                          const std::vector<int32_t>& zero_points, int64_t K, int64_t N,
                          int64_t block, int bits, bool symmetric);
// Dequantized weights of a BlockQuantized matrix, [K, N] row-major (for checks and GPTQ).
std::vector<float> dequantizeBlocks(const BlockQuantized& q);

// A tensor's values as floats: f32 data is read in place, other float types are converted.
class FloatData {
 public:
  explicit FloatData(const Tensor& t);
  const float* data() const { return ptr_; }
  int64_t size() const { return size_; }

 private:
  const float* ptr_ = nullptr;
  int64_t size_ = 0;
  std::vector<float> copy_;
};

// A tensor of integer codes (u8/i8/u16/i16/i32).
Tensor makeQuantTensor(DType qtype, const std::vector<int64_t>& dims,
                       const std::vector<int32_t>& codes);

// Float values of a floating tensor (f16/bf16/f64 converted).
std::vector<float> floatsOf(const Tensor& t);

}  // namespace mopt
