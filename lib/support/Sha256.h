// SHA-256 (FIPS 180-4), for provenance and manifests: hashes of input models and data sets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mopt {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  std::string hex();  // finishes; the object is spent afterwards

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t used_ = 0;
  uint64_t bytes_ = 0;
};

// Hex digest of a file's bytes; throws Error(Input) naming the file when it cannot be read.
std::string sha256File(const std::string& path);
std::string sha256Hex(const std::string& bytes);

}  // namespace mopt
