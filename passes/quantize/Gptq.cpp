// GPTQ: Hessian accumulation, the inverse-Hessian Cholesky factor, and the column sweep.
#include "passes/quantize/Gptq.h"

#include "ir/Error.h"

#include <algorithm>
#include <cmath>

namespace mopt {

void InputHessian::add(const float* x, int64_t rows) {
  // Symmetric rank-`rows` update of the upper triangle; mirrored when read.
  const auto K = static_cast<size_t>(K_);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * K_;
    for (size_t i = 0; i < K; ++i) {
      const double xi = row[i];
      if (xi == 0) continue;  // ReLU outputs: many zeros
      double* hi = h_.data() + i * K;
      for (size_t j = i; j < K; ++j)
        hi[j] += xi * row[j];
    }
  }
  rows_ += rows;
}

namespace {

// In-place Cholesky H = L L^T (lower, row-major, full matrix). False if not positive definite.
bool cholesky(std::vector<double>& a, size_t n) {
  for (size_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (size_t k = 0; k < j; ++k)
      d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) return false;
    d = std::sqrt(d);
    a[j * n + j] = d;
    for (size_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      const double* ai = a.data() + i * n;
      const double* aj = a.data() + j * n;
      for (size_t k = 0; k < j; ++k)
        s -= ai[k] * aj[k];
      a[i * n + j] = s / d;
    }
    for (size_t k = j + 1; k < n; ++k)
      a[j * n + k] = 0;
  }
  return true;
}

// The upper Cholesky factor U of H^-1 (H^-1 = U^T U), which GPTQ's sweep uses row by row.
std::vector<double> inverseCholeskyUpper(std::vector<double> h, size_t n) {
  if (!cholesky(h, n))
    fail(ErrorKind::Pass, "GPTQ: the input Hessian is not positive definite (raise damp)");
  // L^-1 by forward substitution, then H^-1 = L^-T L^-1.
  std::vector<double> li(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    li[i * n + i] = 1.0 / h[i * n + i];
    for (size_t j = 0; j < i; ++j) {
      double s = 0;
      for (size_t k = j; k < i; ++k)
        s += h[i * n + k] * li[k * n + j];
      li[i * n + j] = -s / h[i * n + i];
    }
  }
  std::vector<double> inv(n * n, 0.0);
  for (size_t k = 0; k < n; ++k)
    for (size_t i = 0; i <= k; ++i) {
      const double lki = li[k * n + i];
      if (lki == 0) continue;
      for (size_t j = 0; j <= i; ++j)
        inv[i * n + j] += lki * li[k * n + j];
    }
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < i; ++j)
      inv[j * n + i] = inv[i * n + j];
  if (!cholesky(inv, n))
    fail(ErrorKind::Pass, "GPTQ: the inverse Hessian is not positive definite (raise damp)");
  // inv now holds L' with H^-1 = L' L'^T; U = L'^T.
  std::vector<double> u(n * n, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i; j < n; ++j)
      u[i * n + j] = inv[j * n + i];
  return u;
}

}  // namespace

BlockQuantized gptqQuantize(const float* w, int64_t K, int64_t N, const InputHessian& hess,
                            int64_t block, int bits, bool symmetric, double damp) {
  if (hess.width() != K)
    fail(ErrorKind::Internal, "GPTQ: Hessian width {} for a weight with K={}", hess.width(), K);
  const auto k_ = static_cast<size_t>(K), n_ = static_cast<size_t>(N);
  // Full symmetric H, dead inputs handled, damped.
  std::vector<double> h(k_ * k_);
  const std::vector<double>& up = hess.matrix();
  double scale = hess.rows() > 0 ? 2.0 / static_cast<double>(hess.rows()) : 1.0;
  for (size_t i = 0; i < k_; ++i)
    for (size_t j = i; j < k_; ++j)
      h[i * k_ + j] = h[j * k_ + i] = up[i * k_ + j] * scale;
  std::vector<float> W(w, w + K * N);  // working copy [K, N], updated as columns are fixed
  double mean_diag = 0;
  for (size_t i = 0; i < k_; ++i) {
    if (h[i * k_ + i] == 0) {  // an input that is always zero: its weights cannot matter
      h[i * k_ + i] = 1;
      std::fill_n(W.begin() + static_cast<std::ptrdiff_t>(i * n_), N, 0.0f);
    }
    mean_diag += h[i * k_ + i];
  }
  mean_diag /= static_cast<double>(K);
  for (size_t i = 0; i < k_; ++i)
    h[i * k_ + i] += damp * mean_diag;
  std::vector<double> U = inverseCholeskyUpper(std::move(h), k_);

  const int64_t blocks = (K + block - 1) / block;
  const int32_t levels = (1 << bits) - 1;
  std::vector<float> scales(static_cast<size_t>(N * blocks), 1.0f);
  std::vector<int32_t> zps(static_cast<size_t>(N * blocks), 0);
  std::vector<uint8_t> codes(k_ * n_);
  std::vector<float> err(static_cast<size_t>(block) * n_);  // this block's scaled errors, [k, n]
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t k0 = b * block, k1 = std::min(K, k0 + block);
    // Block parameters from the weights as they are now (earlier errors already folded in).
    for (int64_t n = 0; n < N; ++n) {
      float lo = 0, hi = 0;
      for (int64_t k = k0; k < k1; ++k) {
        float v = W[static_cast<size_t>(k * N + n)];
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      blockParams(lo, hi, bits, symmetric, scales[static_cast<size_t>(n * blocks + b)],
                  zps[static_cast<size_t>(n * blocks + b)]);
    }
    for (int64_t k = k0; k < k1; ++k) {
      const double d = U[static_cast<size_t>(k) * k_ + static_cast<size_t>(k)];
      float* row = W.data() + k * N;
      float* e = err.data() + (k - k0) * N;
      for (int64_t n = 0; n < N; ++n) {
        const float s = scales[static_cast<size_t>(n * blocks + b)];
        const int32_t zp = zps[static_cast<size_t>(n * blocks + b)];
        int32_t c = std::clamp(static_cast<int32_t>(std::nearbyint(row[n] / s)) + zp, 0, levels);
        codes[static_cast<size_t>(k * N + n)] = static_cast<uint8_t>(c);
        e[n] = static_cast<float>((row[n] - static_cast<float>(c - zp) * s) / d);
      }
      // Within the block: push this column's error onto the block's remaining columns now.
      for (int64_t j = k + 1; j < k1; ++j) {
        const auto u = static_cast<float>(U[static_cast<size_t>(k) * k_ + static_cast<size_t>(j)]);
        if (u == 0) continue;
        float* rj = W.data() + j * N;
        for (int64_t n = 0; n < N; ++n)
          rj[n] -= e[n] * u;
      }
    }
    // The rest of the matrix gets the block's errors in one pass (GPTQ's lazy batch update).
    for (int64_t j = k1; j < K; ++j) {
      float* rj = W.data() + j * N;
      for (int64_t k = k0; k < k1; ++k) {
        const auto u = static_cast<float>(U[static_cast<size_t>(k) * k_ + static_cast<size_t>(j)]);
        if (u == 0) continue;
        const float* e = err.data() + (k - k0) * N;
        for (int64_t n = 0; n < N; ++n)
          rj[n] -= e[n] * u;
      }
    }
  }
  return packBlocks(codes, scales, zps, K, N, block, bits, symmetric);
}

}  // namespace mopt
