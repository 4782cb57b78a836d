// GPTQ (Frantar et al., 2022): block-wise weight quantization that compensates each column's
// rounding error on the columns not yet quantized, weighted by the inverse Hessian of the
// layer's inputs, so the layer's output changes as little as possible on real data.
#pragma once

#include "passes/quantize/QuantMath.h"

#include <cstdint>
#include <vector>

namespace mopt {

// H = 2/n sum x^T x over the rows x (width K) a layer reads.
class InputHessian {
 public:
  explicit InputHessian(int64_t K) : K_(K), h_(static_cast<size_t>(K * K), 0.0) {}
  void add(const float* x, int64_t rows);  // rows of K values
  int64_t width() const { return K_; }
  int64_t rows() const { return rows_; }
  const std::vector<double>& matrix() const { return h_; }  // unscaled sum of x^T x

 private:
  int64_t K_;
  int64_t rows_ = 0;
  std::vector<double> h_;
};

// Quantizes w ([K, N], row-major) like quantizeBlocks (same layout, same scale conventions) but
// with GPTQ's error feedback. `damp` is added to H's diagonal as a fraction of its mean.
// Inputs that never fire (zero diagonal) get zero weights, as in the reference implementation.
BlockQuantized gptqQuantize(const float* w, int64_t K, int64_t N, const InputHessian& h,
                            int64_t block, int bits, bool symmetric, double damp = 0.01);

}  // namespace mopt
