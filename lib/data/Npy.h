// NumPy .npy / .npz files <-> IR tensors (calibration and evaluation data, test vectors).
#pragma once

#include "ir/Tensor.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mopt {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Limits on what a data file may declare (Error(Input) naming the file when exceeded). Declared
// sizes are also always checked against the bytes present (or, for deflate members, against what
// their compressed bytes can possibly inflate to) before anything is allocated.
struct NpyLimits {
  uint64_t max_array_bytes = uint64_t{16} << 30;  // one array's data
  uint64_t max_total_bytes = uint64_t{64} << 30;  // all members of an .npz, inflated
  int64_t max_strings = int64_t{1} << 24;         // elements of one string array
};

// The limits every read uses unless given others: the CLI raises them with its --max-array-bytes,
// --max-archive-bytes and --max-array-strings flags before it reads anything.
NpyLimits& defaultNpyLimits();

// Parses a .npy image: format versions 1-3, either byte order, C or Fortran order, every numeric
// dtype numpy writes plus unicode/bytes strings. Little-endian C-order data stays a view of
// `bytes`. Throws Error(Input) naming `source` on a malformed header or truncated data.
Tensor parseNpy(const std::shared_ptr<const Buffer>& bytes, const std::string& source,
                const NpyLimits& limits = defaultNpyLimits());
Tensor loadNpy(const std::string& path, const NpyLimits& limits = defaultNpyLimits());

// .npy image of a tensor (version 1.0, little-endian, C order; 2.0 if the header needs it).
std::string encodeNpy(const Tensor& t);
void saveNpy(const std::string& path, const Tensor& t);

// .npz: a zip of .npy members, stored or deflate-compressed, zip64 included. Names drop ".npy".
NamedTensors parseNpz(const std::shared_ptr<const Buffer>& bytes, const std::string& source,
                      const NpyLimits& limits = defaultNpyLimits());
NamedTensors loadNpz(const std::string& path, const NpyLimits& limits = defaultNpyLimits());
// Writes an uncompressed .npz (atomically).
void saveNpz(const std::string& path, const NamedTensors& arrays);

}  // namespace mopt
