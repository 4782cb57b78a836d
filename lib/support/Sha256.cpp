// SHA-256 through OpenSSL's EVP interface.
#include "support/Sha256.h"

#include "ir/Error.h"

#include <openssl/evp.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <vector>

namespace mopt {

namespace {
EVP_MD_CTX* ctxOf(void* p) {
  return static_cast<EVP_MD_CTX*>(p);
}
// Failures here are resource exhaustion or a broken libcrypto, not bad input.
void check(int ok, const char* what) {
  if (ok != 1) throw std::runtime_error(std::string("libcrypto: ") + what + " failed");
}
}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) throw std::bad_alloc();
  check(EVP_DigestInit_ex(ctxOf(ctx_), EVP_sha256(), nullptr), "SHA-256 init");
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(ctxOf(ctx_));
}

void Sha256::update(const void* data, size_t size) {
  check(EVP_DigestUpdate(ctxOf(ctx_), data, size), "SHA-256 update");
}

std::string Sha256::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  check(EVP_DigestFinal_ex(ctxOf(ctx_), digest, &n), "SHA-256 final");
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += digits[digest[i] >> 4];
    out += digits[digest[i] & 0xf];
  }
  return out;
}

std::string sha256Hex(const std::string& bytes) {
  Sha256 s;
  s.update(bytes.data(), bytes.size());
  return s.hex();
}

std::string sha256File(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) failInput("{}: cannot open to hash", path);
  Sha256 s;
  std::vector<char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0)
    s.update(buf.data(), n);
  if (std::ferror(f.get())) failInput("{}: read error while hashing", path);
  return s.hex();
}

}  // namespace mopt
