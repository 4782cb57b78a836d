// The arithmetic of the pruning passes, apart from any graph: magnitude selection over many
// tensors without copying them, N:M group masks, and slicing tensors along an axis.
#pragma once

#include "ir/Tensor.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace mopt {

// Floating-point weight types the pruning passes handle (f32, f16, bf16, f64).
bool isPrunableFloat(DType t);

// |x| as an order-preserving 32-bit key: the float32 bits of |x| (exact for f16/bf16, rounded for
// f64). +0 and -0 both have key 0; NaN sorts above every number.
uint32_t magnitudeKey(DType t, const uint8_t* element);

// Where the k-th smallest magnitude (0-based, counting all spans together) lies: its key, and how
// many elements have a smaller key. Pruning every element below `key` plus the first `k - below`
// elements equal to it (in span order) zeroes exactly k elements.
struct MagnitudeCut {
  uint32_t key = 0;
  int64_t below = 0;
};
// Two counting passes over the data (a histogram of the high 16 key bits, then of the low 16
// bits inside the chosen bucket): O(n) time, 512 KiB of counters, no copy of the weights.
// `zeros` (optional) receives the number of elements with key 0 in each span.
MagnitudeCut kthSmallestMagnitude(const std::vector<const Tensor*>& spans, int64_t k,
                                  std::vector<int64_t>* zeros = nullptr);

// A copy of `w` with every element whose key is below `cut` set to +0, and the first `ties`
// elements whose key equals `cut` too (`ties` is decreased by those used). Float tensors only.
// `zeros` receives the number of zero elements of the result.
Tensor zeroBelow(const Tensor& w, uint32_t cut, int64_t& ties, int64_t& zeros);

// Sets the k smallest-magnitude elements over all `weights` (ties in order) to +0 and returns one
// new tensor per weight, with the zero counts before and after. Above a few million elements the
// threshold is bracketed on a sample (1 M keys read in blocks, a few MB of pages), then a single
// read-and-write pass zeroes what lies below the bracket and collects what lies inside it, and
// the k-th element is picked among those (nth_element): one pass over the data instead of three.
// A bracket that misses (the sample would have to be badly unrepresentative) falls back to the
// exact two-histogram selection; the result is the same either way. `done(i)` is called once
// weight i has been read for the last time in the fast path.
struct SmallestZeroed {
  std::vector<Tensor> tensors;
  std::vector<int64_t> zeros_before, zeros_after;
  bool sampled = false;  // the one-pass path was taken
};
SmallestZeroed zeroSmallest(const std::vector<const Tensor*>& weights, int64_t k,
                            const std::function<void(size_t)>& done = {});

// Within every group of `m` consecutive elements along `axis` (dims[axis] % m == 0), zeroes the
// m - n of smallest magnitude (ties: the later element goes first). `zeros` as above.
Tensor pruneNM(const Tensor& w, int64_t axis, int64_t n, int64_t m, int64_t& zeros);
// True when every group of `m` along `axis` has at least m - n zeros.
bool satisfiesNM(const Tensor& w, int64_t axis, int64_t n, int64_t m);

// Elements equal to zero (either sign) of a float tensor.
int64_t countZeroKeys(const Tensor& t);

// The elements of `t` at indices `keep` (ascending) along `axis`. Any fixed-size element type.
Tensor sliceAxis(const Tensor& t, int64_t axis, const std::vector<int64_t>& keep);

}  // namespace mopt
