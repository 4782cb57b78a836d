// .npy/.npz reading and writing.
#include "data/Npy.h"
#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "support/Sha256.h"

#include <catch2/catch.hpp>

#include <cstring>

using namespace mopt;

namespace {

std::shared_ptr<const Buffer> buf(const std::string& s) {
  return Buffer::copyOf(s.data(), s.size());
}

// A .npy image with a hand-written header (numpy pads the header to 64 bytes; we need not).
std::string npy(const std::string& header, const std::string& data, int version = 1) {
  std::string out = "\x93NUMPY";
  out += static_cast<char>(version);
  out += '\0';
  uint32_t n = static_cast<uint32_t>(header.size());
  out += static_cast<char>(n & 0xff);
  out += static_cast<char>(n >> 8);
  if (version > 1) out += std::string(2, '\0');
  return out + header + data;
}

}  // namespace

TEST_CASE("npy round trip for every numeric dtype numpy has", "[npy]") {
  for (DType t : {DType::F16, DType::F32, DType::F64, DType::I8, DType::I16, DType::I32, DType::I64,
                  DType::U8, DType::U16, DType::U32, DType::U64, DType::Bool}) {
    Tensor a = fromDoubles(t, {2, 3}, {0, 1, 2, 3, 4, 5});
    Tensor b = parseNpy(buf(encodeNpy(a)), "mem");
    CHECK(b.sameValue(a));
  }
  Tensor s = Tensor::fromStrings({2}, {"héllo", ""});
  CHECK(parseNpy(buf(encodeNpy(s)), "mem").strings() == s.strings());
  CHECK((encodeNpy(Tensor::fromVector(DType::F32, {}, std::vector<float>{1})).size() - 4) % 64 ==
        0);
}

TEST_CASE("npy reads Fortran order, big-endian and version 3 headers", "[npy]") {
  // [[1,2,3],[4,5,6]] stored column-major as big-endian int16.
  std::string data;
  for (int v : {1, 4, 2, 5, 3, 6}) {
    data += static_cast<char>(0);
    data += static_cast<char>(v);
  }
  Tensor t = parseNpy(
      buf(npy("{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }\n", data, 3)), "mem");
  REQUIRE(t.dims() == std::vector<int64_t>{2, 3});
  for (int i = 0; i < 6; ++i)
    CHECK(elementAsInt(t, i) == i + 1);
}

TEST_CASE("malformed npy is a clear input error", "[npy]") {
  CHECK_THROWS_WITH(parseNpy(buf("garbage!!!!"), "x.npy"), Catch::Contains("bad magic"));
  CHECK_THROWS_WITH(parseNpy(buf(npy("{'descr': '<f4', 'shape': (2,), }", "")), "x.npy"),
                    Catch::Contains("lacks one of"));
  CHECK_THROWS_WITH(
      parseNpy(buf(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", "1234")),
               "x.npy"),
      Catch::Contains("truncated"));
  CHECK_THROWS_WITH(
      parseNpy(buf(npy("{'descr': '<x9', 'fortran_order': False, 'shape': (1,), }", "")), "x.npy"),
      Catch::Contains("unsupported .npy dtype"));
  CHECK_THROWS_WITH(
      parseNpy(
          buf(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
                  "")),
          "x.npy"),
      Catch::Contains("does not fit"));
  CHECK_THROWS_WITH(
      parseNpy(
          buf(npy(
              "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }",
              "")),
          "x.npy"),
      Catch::Contains("overflows"));
}

TEST_CASE("npz: our writer, numpy's compressed file, and corruption", "[npy]") {
  std::string path = "/tmp/mopt_test_rt.npz";
  Tensor a = fromDoubles(DType::F32, {3}, {1, 2, 3});
  Tensor b = fromDoubles(DType::I64, {2, 2}, {4, 5, 6, 7});
  saveNpz(path, {{"a", a}, {"b", b}});
  NamedTensors back = loadNpz(path);
  REQUIRE(back.size() == 2);
  CHECK(back[0].first == "a");
  CHECK(back[1].second.sameValue(b));

  // samples/digits_test.npz was written by numpy.savez_compressed (deflate, zip64 extras).
  NamedTensors digits = loadNpz(MOPT_SOURCE_DIR "/samples/digits_test.npz");
  REQUIRE(digits.size() == 3);
  CHECK(digits[0].first == "x");
  CHECK(digits[0].second.dims() == std::vector<int64_t>{450, 64});
  CHECK(digits[2].second.dtype() == DType::I64);

  auto raw = Buffer::mapFile(path);
  std::string bytes(reinterpret_cast<const char*>(raw->data()), raw->size());
  bytes[100] ^= 0x55;  // inside the first member's data
  CHECK_THROWS_WITH(parseNpz(buf(bytes), "bad.npz"), Catch::Contains("CRC"));
  CHECK_THROWS_WITH(parseNpz(buf("PK\x05\x06"), "bad.npz"), Catch::Contains("too short"));
}

TEST_CASE("sha256 matches the FIPS 180-4 test vectors", "[sha256]") {
  CHECK(sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 s;  // a million 'a's, fed in uneven pieces
  std::string chunk(997, 'a');
  size_t left = 1000000;
  while (left) {
    size_t n = std::min(left, chunk.size());
    s.update(chunk.data(), n);
    left -= n;
  }
  CHECK(s.hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
