// SHA-256 for provenance and manifests: hashes of input models and data sets.
#pragma once

#include <cstddef>
#include <string>

namespace mopt {

// Incremental SHA-256 over OpenSSL's libcrypto, which uses the CPU's SHA extensions where there
// are some (1.8 GB/s here against 0.2 GB/s for a portable C++ loop): a run hashes its input and
// output models, which can be gigabytes.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  std::string hex();  // finishes; the object is spent afterwards

 private:
  void* ctx_;  // EVP_MD_CTX, kept out of this header
};

// Hex digest of a file's bytes; throws Error(Input) naming the file when it cannot be read.
std::string sha256File(const std::string& path);
std::string sha256Hex(const std::string& bytes);

}  // namespace mopt
