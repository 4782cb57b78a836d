// .npy/.npz reading and writing, with every size checked against the bytes present.
#include "data/Npy.h"

#include "ir/Error.h"
#include "support/File.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <map>

namespace mopt {

NpyLimits& defaultNpyLimits() {
  static NpyLimits limits;
  return limits;
}

namespace {

uint16_t rd16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}
uint32_t rd32(const uint8_t* p) {
  return static_cast<uint32_t>(rd16(p)) | static_cast<uint32_t>(rd16(p + 2)) << 16;
}
uint64_t rd64(const uint8_t* p) {
  return static_cast<uint64_t>(rd32(p)) | static_cast<uint64_t>(rd32(p + 4)) << 32;
}

struct Descr {
  DType dtype = DType::Undefined;
  bool big_endian = false;
  char kind = 0;  // 'U' (UTF-32) or 'S' (bytes) for strings
  uint64_t itemsize = 0;
};

// Minimal reader for the Python dict literal numpy writes as the header.
class HeaderParser {
 public:
  HeaderParser(std::string text, const std::string& source) : s_(std::move(text)), src_(source) {}

  void parse(std::string& descr, bool& fortran, std::vector<int64_t>& shape) {
    bool has_descr = false, has_order = false, has_shape = false;
    skipWs();
    expect('{');
    while (true) {
      skipWs();
      if (peek() == '}') break;
      std::string key = pyString();
      skipWs();
      expect(':');
      skipWs();
      if (key == "descr") {
        if (peek() == '[') bad("structured dtypes are not supported");
        descr = pyString();
        has_descr = true;
      } else if (key == "fortran_order") {
        fortran = pyBool();
        has_order = true;
      } else if (key == "shape") {
        shape = pyTuple();
        has_shape = true;
      } else {
        bad("unexpected key '" + key + "'");
      }
      skipWs();
      if (peek() == ',') ++i_;
    }
    if (!has_descr || !has_order || !has_shape)
      bad("the header lacks one of 'descr', 'fortran_order', 'shape'");
  }

 private:
  std::string s_;
  const std::string& src_;
  size_t i_ = 0;

  [[noreturn]] void bad(const std::string& what) {
    failInput("{}: malformed .npy header: {}", src_, what);
  }
  char peek() { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skipWs() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n'))
      ++i_;
  }
  void expect(char c) {
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++i_;
  }
  std::string pyString() {
    char q = peek();
    if (q != '\'' && q != '"') bad("expected a quoted string");
    ++i_;
    size_t end = s_.find(q, i_);
    if (end == std::string::npos) bad("unterminated string");
    std::string out = s_.substr(i_, end - i_);
    i_ = end + 1;
    return out;
  }
  bool pyBool() {
    if (s_.compare(i_, 4, "True") == 0) {
      i_ += 4;
      return true;
    }
    if (s_.compare(i_, 5, "False") == 0) {
      i_ += 5;
      return false;
    }
    bad("expected True or False");
  }
  std::vector<int64_t> pyTuple() {
    expect('(');
    std::vector<int64_t> out;
    while (true) {
      skipWs();
      if (peek() == ')') {
        ++i_;
        return out;
      }
      if (peek() < '0' || peek() > '9') bad("shape entries must be non-negative integers");
      int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (v > (INT64_MAX - 9) / 10) bad("a dimension does not fit in int64");
        v = v * 10 + (s_[i_++] - '0');
      }
      if (peek() == 'L') ++i_;
      out.push_back(v);
      skipWs();
      if (peek() == ',') ++i_;
    }
  }
};

Descr parseDescr(const std::string& d, const std::string& source) {
  Descr out;
  if (d.size() < 2) failInput("{}: unsupported .npy dtype '{}'", source, d);
  char order = d[0];
  size_t pos = 1;
  if (order != '<' && order != '>' && order != '|' && order != '=') {
    order = '=';
    pos = 0;
  }
  out.big_endian = order == '>';
  char kind = d[pos];
  uint64_t size = 0;
  for (size_t i = pos + 1; i < d.size(); ++i) {
    if (d[i] < '0' || d[i] > '9' || size > 1000000)
      failInput("{}: unsupported .npy dtype '{}'", source, d);
    size = size * 10 + static_cast<uint64_t>(d[i] - '0');
  }
  out.itemsize = size;
  auto set = [&](DType t) { out.dtype = t; };
  switch (kind) {
    case 'f':
      if (size == 2) set(DType::F16);
      if (size == 4) set(DType::F32);
      if (size == 8) set(DType::F64);
      break;
    case 'i':
      if (size == 1) set(DType::I8);
      if (size == 2) set(DType::I16);
      if (size == 4) set(DType::I32);
      if (size == 8) set(DType::I64);
      break;
    case 'u':
      if (size == 1) set(DType::U8);
      if (size == 2) set(DType::U16);
      if (size == 4) set(DType::U32);
      if (size == 8) set(DType::U64);
      break;
    case 'b':
      if (size == 1) set(DType::Bool);
      break;
    case 'c':
      if (size == 8) set(DType::C64);
      if (size == 16) set(DType::C128);
      break;
    case 'U':
      out.kind = 'U';
      out.itemsize = size * 4;
      set(DType::String);
      break;
    case 'S':
      out.kind = 'S';
      set(DType::String);
      break;
    default:
      break;
  }
  if (out.dtype == DType::Undefined) failInput("{}: unsupported .npy dtype '{}'", source, d);
  return out;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | cp >> 6);
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | cp >> 12);
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | cp >> 18);
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

std::vector<uint32_t> utf8ToCodepoints(const std::string& s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (int k = 1; k < len && i + static_cast<size_t>(k) < s.size(); ++k)
      cp = cp << 6 | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3f);
    out.push_back(cp);
    i += static_cast<size_t>(len);
  }
  return out;
}

// Reorders a Fortran-order array of `n` items of `item` bytes into C order.
void fortranToC(const uint8_t* src, uint8_t* dst, const std::vector<int64_t>& dims, size_t item) {
  const size_t rank = dims.size();
  const int64_t n = checkedNumel(dims);
  // idx[d] walks the C-order position; stride[d] is dimension d's step in the Fortran layout.
  std::vector<int64_t> idx(rank, 0), stride(rank, 0);
  int64_t step = 1;
  for (size_t d = 0; d < rank; ++d) {
    stride[d] = step;
    step *= dims[d];
  }
  for (int64_t c = 0; c < n; ++c) {
    int64_t f = 0;
    for (size_t d = 0; d < rank; ++d)
      f += idx[d] * stride[d];
    std::memcpy(dst + static_cast<size_t>(c) * item, src + static_cast<size_t>(f) * item, item);
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace

Tensor parseNpy(const std::shared_ptr<const Buffer>& bytes, const std::string& source,
                const NpyLimits& limits) {
  const uint8_t* p = bytes->data();
  uint64_t size = bytes->size();
  if (size < 10 || std::memcmp(p, "\x93NUMPY", 6) != 0)
    failInput("{}: not a .npy file (bad magic)", source);
  int major = p[6];
  uint64_t header_len, header_start;
  if (major == 1) {
    header_len = rd16(p + 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) failInput("{}: truncated .npy header", source);
    header_len = rd32(p + 8);
    header_start = 12;
  } else {
    failInput("{}: unsupported .npy format version {}.{}", source, major, p[7]);
  }
  if (header_len > size - header_start) failInput("{}: truncated .npy header", source);
  std::string descr;
  bool fortran = false;
  std::vector<int64_t> dims;
  HeaderParser(std::string(reinterpret_cast<const char*>(p + header_start), header_len), source)
      .parse(descr, fortran, dims);
  Descr d = parseDescr(descr, source);
  int64_t numel = checkedNumel(dims);
  if (numel < 0) failInput("{}: .npy shape overflows int64", source);
  uint64_t data_start = header_start + header_len;
  uint64_t avail = size - data_start;
  // numpy never writes 0-byte items; with them no byte count would bound the element count.
  if (d.itemsize == 0) failInput("{}: unsupported .npy dtype '{}' (0-byte items)", source, descr);
  if (d.dtype == DType::String && numel > limits.max_strings)
    failInput("{}: the array has {} strings, more than the limit of {} (--max-array-strings)",
              source, numel, limits.max_strings);
  if (static_cast<uint64_t>(numel) > limits.max_array_bytes / d.itemsize)
    failInput(
        "{}: the array has {} elements of {} bytes, more than the limit of {} bytes "
        "(--max-array-bytes)",
        source, numel, d.itemsize, limits.max_array_bytes);
  if (static_cast<uint64_t>(numel) > avail / d.itemsize)
    failInput("{}: .npy data is truncated: {} elements of {} bytes need {} bytes, {} present",
              source, numel, d.itemsize, static_cast<uint64_t>(numel) * d.itemsize, avail);
  uint64_t nbytes = static_cast<uint64_t>(numel) * d.itemsize;
  const uint8_t* data = p + data_start;

  std::shared_ptr<const Buffer> ordered;  // C-order bytes, file byte order
  if (fortran && dims.size() > 1 && numel > 0) {
    auto buf = Buffer::allocate(nbytes);
    fortranToC(data, buf->mutableData(), dims, d.itemsize);
    ordered = buf;
  } else {
    ordered = Buffer::slice(bytes, data_start, nbytes);
  }

  if (d.dtype == DType::String) {
    std::vector<std::string> strings;
    strings.reserve(static_cast<size_t>(numel));
    const uint8_t* q = ordered->data();
    for (int64_t i = 0; i < numel; ++i, q += d.itemsize) {
      std::string s;
      if (d.kind == 'U') {
        for (uint64_t k = 0; k + 4 <= d.itemsize; k += 4) {
          uint32_t cp = d.big_endian ? (uint32_t{q[k]} << 24 | uint32_t{q[k + 1]} << 16 |
                                        uint32_t{q[k + 2]} << 8 | q[k + 3])
                                     : rd32(q + k);
          if (cp == 0) break;
          appendUtf8(s, cp);
        }
      } else {
        s.assign(reinterpret_cast<const char*>(q), d.itemsize);
        s.erase(std::find(s.begin(), s.end(), '\0'), s.end());
      }
      strings.push_back(std::move(s));
    }
    return Tensor::fromStrings(dims, std::move(strings));
  }

  if (d.big_endian && d.itemsize > 1) {
    auto buf = Buffer::allocate(nbytes);
    uint8_t* out = buf->mutableData();
    // Complex numbers swap each of their two halves.
    uint64_t unit = (d.dtype == DType::C64 || d.dtype == DType::C128) ? d.itemsize / 2 : d.itemsize;
    for (uint64_t i = 0; i < nbytes; i += unit)
      for (uint64_t k = 0; k < unit; ++k)
        out[i + k] = ordered->data()[i + unit - 1 - k];
    ordered = buf;
  }
  return Tensor(d.dtype, dims, ordered);
}

Tensor loadNpy(const std::string& path, const NpyLimits& limits) {
  return parseNpy(Buffer::mapFile(path), path, limits);
}

std::string encodeNpy(const Tensor& t) {
  std::string descr;
  uint64_t string_width = 1;
  switch (t.dtype()) {
    case DType::F16:
      descr = "<f2";
      break;
    case DType::F32:
      descr = "<f4";
      break;
    case DType::F64:
      descr = "<f8";
      break;
    case DType::I8:
      descr = "|i1";
      break;
    case DType::I16:
      descr = "<i2";
      break;
    case DType::I32:
      descr = "<i4";
      break;
    case DType::I64:
      descr = "<i8";
      break;
    case DType::U8:
      descr = "|u1";
      break;
    case DType::U16:
      descr = "<u2";
      break;
    case DType::U32:
      descr = "<u4";
      break;
    case DType::U64:
      descr = "<u8";
      break;
    case DType::Bool:
      descr = "|b1";
      break;
    case DType::C64:
      descr = "<c8";
      break;
    case DType::C128:
      descr = "<c16";
      break;
    case DType::String:
      for (const auto& s : t.strings())
        string_width = std::max<uint64_t>(string_width, utf8ToCodepoints(s).size());
      descr = "<U" + std::to_string(string_width);
      break;
    default:
      fail(ErrorKind::Input, "a {} tensor cannot be stored in .npy (numpy has no such dtype)",
           dtypeName(t.dtype()));
  }
  std::string shape = "(";
  for (size_t i = 0; i < t.dims().size(); ++i)
    shape += std::to_string(t.dims()[i]) + (t.dims().size() == 1      ? ","
                                            : i + 1 < t.dims().size() ? ", "
                                                                      : "");
  shape += ")";
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  bool v2 = header.size() + 11 > 65535;
  size_t prefix = v2 ? 12 : 10;
  size_t total = prefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(v2 ? 2 : 1);
  out += '\0';
  uint32_t hl = static_cast<uint32_t>(header.size());
  out += static_cast<char>(hl & 0xff);
  out += static_cast<char>((hl >> 8) & 0xff);
  if (v2) {
    out += static_cast<char>((hl >> 16) & 0xff);
    out += static_cast<char>((hl >> 24) & 0xff);
  }
  out += header;
  if (t.dtype() == DType::String) {
    for (const auto& s : t.strings()) {
      auto cps = utf8ToCodepoints(s);
      cps.resize(string_width, 0);
      out.append(reinterpret_cast<const char*>(cps.data()), cps.size() * 4);
    }
  } else if (t.byteSize()) {
    out.append(reinterpret_cast<const char*>(t.raw()), t.byteSize());
  }
  return out;
}

void saveNpy(const std::string& path, const Tensor& t) {
  std::string bytes = encodeNpy(t);
  AtomicFile f(path);
  f.write(bytes.data(), bytes.size());
  f.commit(false);
}

NamedTensors parseNpz(const std::shared_ptr<const Buffer>& bytes, const std::string& source,
                      const NpyLimits& limits) {
  const uint8_t* p = bytes->data();
  uint64_t size = bytes->size();
  if (size < 22) failInput("{}: not an .npz file (too short for a zip archive)", source);
  // End of central directory: scan back over a possible archive comment.
  uint64_t eocd = UINT64_MAX;
  for (uint64_t i = size - 22 + 1; i-- > 0 && size - i <= 22 + 65535;) {
    if (rd32(p + i) == 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd == UINT64_MAX) failInput("{}: not an .npz file (no zip directory found)", source);
  uint64_t entries = rd16(p + eocd + 10);
  uint64_t cd_size = rd32(p + eocd + 12);
  uint64_t cd_offset = rd32(p + eocd + 16);
  if ((entries == 0xffff || cd_offset == 0xffffffff || cd_size == 0xffffffff) && eocd >= 20 &&
      rd32(p + eocd - 20) == 0x07064b50) {
    uint64_t z64 = rd64(p + eocd - 20 + 8);
    if (size < 56 || z64 > size - 56 || rd32(p + z64) != 0x06064b50)
      failInput("{}: corrupt zip64 directory record", source);
    entries = rd64(p + z64 + 32);
    cd_size = rd64(p + z64 + 40);
    cd_offset = rd64(p + z64 + 48);
  }
  if (cd_offset > size || cd_size > size - cd_offset)
    failInput("{}: zip directory lies outside the file", source);
  NamedTensors out;
  // [start, end) of every member's local header + data: members must not overlap, or a small
  // archive could inflate the same compressed bytes many times over (a "zip bomb").
  std::map<uint64_t, uint64_t> extents;
  uint64_t total = 0;  // bytes of all members, inflated
  uint64_t pos = cd_offset;
  for (uint64_t e = 0; e < entries; ++e) {
    if (pos + 46 > size || rd32(p + pos) != 0x02014b50)
      failInput("{}: corrupt zip directory entry {}", source, e);
    uint16_t method = rd16(p + pos + 10);
    uint32_t crc = rd32(p + pos + 16);
    uint64_t csize = rd32(p + pos + 20), usize = rd32(p + pos + 24);
    uint64_t name_len = rd16(p + pos + 28), extra_len = rd16(p + pos + 30),
             comment_len = rd16(p + pos + 32);
    uint64_t local = rd32(p + pos + 42);
    if (pos + 46 + name_len + extra_len + comment_len > size)
      failInput("{}: corrupt zip directory entry {}", source, e);
    std::string name(reinterpret_cast<const char*>(p + pos + 46), name_len);
    // zip64 extra field: the 64-bit values replace the 32-bit ones that are saturated.
    const uint8_t* x = p + pos + 46 + name_len;
    for (uint64_t k = 0; k + 4 <= extra_len;) {
      uint16_t id = rd16(x + k), len = rd16(x + k + 2);
      if (k + 4 + len > extra_len) break;
      if (id == 0x0001) {
        const uint8_t* v = x + k + 4;
        uint64_t left = len;
        if (usize == 0xffffffff && left >= 8) {
          usize = rd64(v);
          v += 8;
          left -= 8;
        }
        if (csize == 0xffffffff && left >= 8) {
          csize = rd64(v);
          v += 8;
          left -= 8;
        }
        if (local == 0xffffffff && left >= 8) {
          local = rd64(v);
        }
      }
      k += 4 + len;
    }
    pos += 46 + name_len + extra_len + comment_len;
    if (local > size || size - local < 30 || rd32(p + local) != 0x04034b50)
      failInput("{}: member '{}' has a corrupt local header", source, name);
    uint64_t data = local + 30 + rd16(p + local + 26) + rd16(p + local + 28);
    if (data > size || csize > size - data) failInput("{}: member '{}' is truncated", source, name);
    // Checked before inflating anything: the next extent must start at or after this one's end,
    // and the previous one must end at or before its start.
    auto next = extents.lower_bound(local);
    if ((next != extents.end() && next->first < data + csize) ||
        (next != extents.begin() && std::prev(next)->second > local))
      failInput("{}: zip members overlap (member '{}'; not an archive numpy writes)", source, name);
    extents.emplace(local, data + csize);
    if (usize > limits.max_array_bytes || usize > limits.max_total_bytes - total)
      failInput(
          "{}: member '{}' declares {} bytes, more than the limit of {} per array "
          "(--max-array-bytes) and {} in all (--max-archive-bytes)",
          source, name, usize, limits.max_array_bytes, limits.max_total_bytes);
    total += usize;
    std::shared_ptr<const Buffer> member;
    if (method == 0) {
      if (csize != usize) failInput("{}: stored member '{}' has inconsistent sizes", source, name);
      member = Buffer::slice(bytes, data, csize);
    } else if (method == 8) {
      // Deflate expands at most 1032:1; a larger declared size is a lie, caught before allocating.
      if (usize / 1032 > csize + 1)
        failInput("{}: member '{}' claims to inflate {} bytes to {}, more than deflate can", source,
                  name, csize, usize);
      auto buf = Buffer::allocate(usize);
      z_stream zs{};
      if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) failInput("{}: zlib init failed", source);
      uint64_t in_left = csize, out_done = 0;
      const uint8_t* in = p + data;
      int rc = Z_OK;
      while (rc == Z_OK) {
        uInt in_chunk = static_cast<uInt>(std::min<uint64_t>(in_left, 1u << 30));
        uInt out_chunk = static_cast<uInt>(std::min<uint64_t>(usize - out_done, 1u << 30));
        zs.next_in = const_cast<Bytef*>(in);
        zs.avail_in = in_chunk;
        zs.next_out = buf->mutableData() + out_done;
        zs.avail_out = out_chunk;
        rc = inflate(&zs, Z_NO_FLUSH);
        in += in_chunk - zs.avail_in;
        in_left -= in_chunk - zs.avail_in;
        out_done += out_chunk - zs.avail_out;
        if (rc == Z_OK && zs.avail_out == out_chunk && zs.avail_in == in_chunk) break;  // stuck
      }
      inflateEnd(&zs);
      if (rc != Z_STREAM_END || out_done != usize)
        failInput("{}: member '{}' does not inflate to its declared {} bytes", source, name, usize);
      member = buf;
    } else {
      failInput(
          "{}: member '{}' uses zip compression method {} (only stored and deflate are "
          "supported)",
          source, name, method);
    }
    uLong c = crc32(0L, Z_NULL, 0);
    for (uint64_t off = 0; off < member->size(); off += 1u << 30)
      c = crc32(c, member->data() + off,
                static_cast<uInt>(std::min<uint64_t>(member->size() - off, 1u << 30)));
    if (c != crc) failInput("{}: member '{}' fails its CRC check (corrupt file)", source, name);
    std::string array_name = name;
    if (array_name.size() > 4 && array_name.compare(array_name.size() - 4, 4, ".npy") == 0)
      array_name.resize(array_name.size() - 4);
    out.emplace_back(array_name, parseNpy(member, source + ":" + name, limits));
  }
  return out;
}

NamedTensors loadNpz(const std::string& path, const NpyLimits& limits) {
  return parseNpz(Buffer::mapFile(path), path, limits);
}

void saveNpz(const std::string& path, const NamedTensors& arrays) {
  AtomicFile f(path);
  std::string central;
  auto put16 = [](std::string& s, uint32_t v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>((v >> 8) & 0xff);
  };
  auto put32 = [&](std::string& s, uint32_t v) {
    put16(s, v & 0xffff);
    put16(s, v >> 16);
  };
  for (const auto& [name, tensor] : arrays) {
    std::string body = encodeNpy(tensor);
    if (body.size() >= 0xffffffffu || f.size() >= 0xffffffffu)
      fail(ErrorKind::Input, "{}: array '{}' is too large for a non-zip64 .npz writer", path, name);
    std::string member = name + ".npy";
    uint32_t crc = static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0),
                                               reinterpret_cast<const Bytef*>(body.data()),
                                               static_cast<uInt>(body.size())));
    uint32_t offset = static_cast<uint32_t>(f.size());
    std::string local;
    put32(local, 0x04034b50);
    put16(local, 20);    // version needed
    put16(local, 0);     // flags
    put16(local, 0);     // stored
    put16(local, 0);     // time
    put16(local, 0x21);  // date: 1980-01-01, fixed so output is deterministic
    put32(local, crc);
    put32(local, static_cast<uint32_t>(body.size()));
    put32(local, static_cast<uint32_t>(body.size()));
    put16(local, static_cast<uint32_t>(member.size()));
    put16(local, 0);
    local += member;
    f.write(local.data(), local.size());
    f.write(body.data(), body.size());
    put32(central, 0x02014b50);
    put16(central, 20);
    put16(central, 20);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0x21);
    put32(central, crc);
    put32(central, static_cast<uint32_t>(body.size()));
    put32(central, static_cast<uint32_t>(body.size()));
    put16(central, static_cast<uint32_t>(member.size()));
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put32(central, 0);
    put32(central, offset);
    central += member;
  }
  uint32_t cd_offset = static_cast<uint32_t>(f.size());
  std::string end;
  put32(end, 0x06054b50);
  put16(end, 0);
  put16(end, 0);
  put16(end, static_cast<uint32_t>(arrays.size()));
  put16(end, static_cast<uint32_t>(arrays.size()));
  put32(end, static_cast<uint32_t>(central.size()));
  put32(end, cd_offset);
  put16(end, 0);
  f.write(central.data(), central.size());
  f.write(end.data(), end.size());
  f.commit(false);
}

}  // namespace mopt
