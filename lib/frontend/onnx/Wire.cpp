// Protobuf wire-format reader and writer for the ONNX messages in Wire.h.
#include "frontend/onnx/Wire.h"

#include "ir/Error.h"

#include <algorithm>
#include <cstring>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ONNX raw data is little-endian");

namespace mopt::onnx_wire {

namespace {

enum WireType { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

struct Ctx {
  const std::shared_ptr<const Buffer>* buffer;
  const std::string* source;
  ParseLimits limits;
  int64_t nodes = 0;  // NodeProtos seen so far, subgraphs and functions included
};

class Reader {
 public:
  Reader(Ctx& ctx, const uint8_t* begin, const uint8_t* end, int depth, const char* message)
      : ctx_(ctx), p_(begin), end_(end), depth_(depth), message_(message) {
    if (depth_ > ctx_.limits.max_depth)
      overLimit(fmt::format("messages nest deeper than {} levels (--max-nesting)",
                            ctx_.limits.max_depth));
  }

  bool more() const { return p_ < end_; }
  const uint8_t* pos() const { return p_; }

  [[noreturn]] void error(const std::string& what) const {
    uint64_t offset = static_cast<uint64_t>(p_ - (*ctx_.buffer)->data());
    failInput("{}: malformed ONNX protobuf at byte {} (in {}): {}", *ctx_.source, offset, message_,
              what);
  }

  // Well-formed, but more than the caller allows (ParseLimits).
  [[noreturn]] void overLimit(const std::string& what) const {
    failInput("{}: {}", *ctx_.source, what);
  }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) error("truncated varint");
      uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    error("varint longer than 10 bytes");
  }

  void tag(uint32_t& field, int& wire) {
    uint64_t t = varint();
    field = static_cast<uint32_t>(t >> 3);
    wire = static_cast<int>(t & 7);
    if (field == 0 || t >> 32) error("invalid field tag");
  }

  uint32_t fixed32() {
    if (end_ - p_ < 4) error("truncated fixed32");
    uint32_t v;
    std::memcpy(&v, p_, 4);
    p_ += 4;
    return v;
  }

  uint64_t fixed64() {
    if (end_ - p_ < 8) error("truncated fixed64");
    uint64_t v;
    std::memcpy(&v, p_, 8);
    p_ += 8;
    return v;
  }

  // A length-delimited payload: [begin, begin + size).
  std::pair<const uint8_t*, uint64_t> lengthDelimited() {
    uint64_t n = varint();
    if (n > static_cast<uint64_t>(end_ - p_))
      error(
          fmt::format("length {} runs past the end of the message ({} bytes left)", n, end_ - p_));
    const uint8_t* b = p_;
    p_ += n;
    return {b, n};
  }

  std::string string() {
    auto [b, n] = lengthDelimited();
    if (n > ctx_.limits.max_string_bytes)
      overLimit(
          fmt::format("a string of {} bytes is longer than the limit of {} (--max-string-bytes)", n,
                      ctx_.limits.max_string_bytes));
    return std::string(reinterpret_cast<const char*>(b), n);
  }

  // Counts one more NodeProto against the model-wide limit.
  void countNode() {
    if (++ctx_.nodes > ctx_.limits.max_nodes)
      overLimit(
          fmt::format("the model has more than {} nodes (--max-nodes)", ctx_.limits.max_nodes));
  }

  void checkStringElements(size_t have) {
    if (static_cast<int64_t>(have) >= ctx_.limits.max_string_elements)
      overLimit(fmt::format("a tensor has more than {} strings (--max-string-elements)",
                            ctx_.limits.max_string_elements));
  }

  Reader sub(const char* message) {
    auto [b, n] = lengthDelimited();
    return Reader(ctx_, b, b + n, depth_ + 1, message);
  }

  Bytes bytes() {
    auto [b, n] = lengthDelimited();
    Bytes out;
    out.buffer = Buffer::slice(*ctx_.buffer, static_cast<uint64_t>(b - (*ctx_.buffer)->data()), n);
    out.data = out.buffer->data();
    out.size = n;
    return out;
  }

  void skip(int wire) {
    switch (wire) {
      case kVarint:
        varint();
        return;
      case kFixed64:
        fixed64();
        return;
      case kLen:
        lengthDelimited();
        return;
      case kFixed32:
        fixed32();
        return;
      default:
        error(fmt::format("unsupported wire type {}", wire));
    }
  }

  // Skips an unknown field and appends its raw bytes (tag included) to `unknown`.
  void keepUnknown(const uint8_t* field_start, int wire, std::string& unknown) {
    skip(wire);
    unknown.append(reinterpret_cast<const char*>(field_start),
                   static_cast<size_t>(p_ - field_start));
  }

  void expect(int wire, int want, uint32_t field) {
    if (wire != want)
      error(fmt::format("field {} has wire type {}, expected {}", field, wire, want));
  }

  int depth() const { return depth_; }

  template <typename T, typename Decode>
  void repeated(int wire, int scalar_wire, uint32_t field, std::vector<T>& out, Decode decode) {
    if (wire == kLen) {  // packed
      auto [b, n] = lengthDelimited();
      // Exact reservation for the usual single packed field: large typed data (float_data,
      // int64_data) takes its final size, bounded by the payload, not up to twice that. (Only
      // when empty: reserving for every chunk of a field split in many would be quadratic.)
      if (out.empty())
        out.reserve(scalar_wire == kFixed32   ? n / 4
                    : scalar_wire == kFixed64 ? n / 8
                                              : static_cast<uint64_t>(std::count_if(
                                                    b, b + n, [](uint8_t c) { return c < 0x80; })));
      Reader r(ctx_, b, b + n, depth_, message_);
      while (r.more())
        out.push_back(decode(r));
      return;
    }
    expect(wire, scalar_wire, field);
    out.push_back(decode(*this));
  }

 private:
  Ctx& ctx_;
  const uint8_t* p_;
  const uint8_t* end_;
  int depth_;
  const char* message_;
};

int64_t decodeInt64(Reader& r) {
  return static_cast<int64_t>(r.varint());
}
int32_t decodeInt32(Reader& r) {
  return static_cast<int32_t>(r.varint());
}
uint64_t decodeUint64(Reader& r) {
  return r.varint();
}
float decodeFloat(Reader& r) {
  uint32_t bits = r.fixed32();
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
double decodeDouble(Reader& r) {
  uint64_t bits = r.fixed64();
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}

void parseStrPair(Reader r, StrPairs& out) {
  std::pair<std::string, std::string> kv;
  std::string ignored;
  while (r.more()) {
    const uint8_t* start = r.pos();
    uint32_t f;
    int w;
    r.tag(f, w);
    if (f == 1 && w == kLen) {
      kv.first = r.string();
    } else if (f == 2 && w == kLen) {
      kv.second = r.string();
    } else {
      r.keepUnknown(start, w, ignored);
    }
  }
  out.push_back(std::move(kv));
}

void parseTensor(Reader r, PTensor& t) {
  while (r.more()) {
    const uint8_t* start = r.pos();
    uint32_t f;
    int w;
    r.tag(f, w);
    switch (f) {
      case 1:
        r.repeated(w, kVarint, f, t.dims, decodeInt64);
        break;
      case 2:
        r.expect(w, kVarint, f);
        t.data_type = decodeInt32(r);
        break;
      case 3: {
        r.expect(w, kLen, f);
        Reader s = r.sub("TensorProto.Segment");
        t.has_segment = true;
        while (s.more()) {
          uint32_t sf;
          int sw;
          s.tag(sf, sw);
          if (sf == 1 && sw == kVarint) {
            t.segment_begin = decodeInt64(s);
          } else if (sf == 2 && sw == kVarint) {
            t.segment_end = decodeInt64(s);
          } else {
            s.skip(sw);
          }
        }
        break;
      }
      case 4:
        r.repeated(w, kFixed32, f, t.float_data, decodeFloat);
        break;
      case 5:
        r.repeated(w, kVarint, f, t.int32_data, decodeInt32);
        break;
      case 6:
        r.expect(w, kLen, f);
        r.checkStringElements(t.string_data.size());
        t.string_data.push_back(r.string());
        break;
      case 7:
        r.repeated(w, kVarint, f, t.int64_data, decodeInt64);
        break;
      case 8:
        r.expect(w, kLen, f);
        t.name = r.string();
        break;
      case 9:
        r.expect(w, kLen, f);
        t.raw_data = r.bytes();
        t.has_raw_data = true;
        break;
      case 10:
        r.repeated(w, kFixed64, f, t.double_data, decodeDouble);
        break;
      case 11:
        r.repeated(w, kVarint, f, t.uint64_data, decodeUint64);
        break;
      case 12:
        r.expect(w, kLen, f);
        t.doc_string = r.string();
        break;
      case 13:
        r.expect(w, kLen, f);
        parseStrPair(r.sub("StringStringEntryProto"), t.external_data);
        break;
      case 14:
        r.expect(w, kVarint, f);
        t.data_location = decodeInt32(r);
        break;
      case 16:
        r.expect(w, kLen, f);
        parseStrPair(r.sub("StringStringEntryProto"), t.metadata_props);
        break;
      default:
        r.keepUnknown(start, w, t.unknown);
    }
  }
}

void parseSparse(Reader r, PSparseTensor& s) {
  while (r.more()) {
    const uint8_t* start = r.pos();
    uint32_t f;
    int w;
    r.tag(f, w);
    if (f == 1 && w == kLen) {
      parseTensor(r.sub("TensorProto"), s.values);
    } else if (f == 2 && w == kLen) {
      parseTensor(r.sub("TensorProto"), s.indices);
    } else if (f == 3) {
      r.repeated(w, kVarint, f, s.dims, decodeInt64);
    } else {
      r.keepUnknown(start, w, s.unknown);
    }
  }
}

void parseShape(Reader r, std::vector<PDim>& dims) {
  while (r.more()) {
    uint32_t f;
    int w;
    r.tag(f, w);
    if (f != 1 || w != kLen) {
      r.skip(w);
      continue;
    }
    Reader d = r.sub("TensorShapeProto.Dimension");
    PDim dim;
    while (d.more()) {
      uint32_t df;
      int dw;
      d.tag(df, dw);
      if (df == 1 && dw == kVarint) {
        dim.has_value = true;
        dim.has_param = false;
        dim.value = decodeInt64(d);
      } else if (df == 2 && dw == kLen) {
        dim.has_param = true;
        dim.has_value = false;
        dim.param = d.string();
      } else if (df == 3 && dw == kLen) {
        dim.denotation = d.string();
      } else {
        d.skip(dw);
      }
    }
    dims.push_back(std::move(dim));
  }
}

void parseType(Reader r, PType& t);

// TypeProto.Tensor / SparseTensor (elem_type + shape), Sequence / Optional (elem), Map.
void parseTypeVariant(Reader r, PType& t) {
  while (r.more()) {
    uint32_t f;
    int w;
    r.tag(f, w);
    bool tensorish = t.kind == 1 || t.kind == 8;
    if (tensorish && f == 1 && w == kVarint) {
      t.elem_type = decodeInt32(r);
    } else if (tensorish && f == 2 && w == kLen) {
      t.has_shape = true;
      t.shape.clear();
      parseShape(r.sub("TensorShapeProto"), t.shape);
    } else if ((t.kind == 4 || t.kind == 9) && f == 1 && w == kLen) {
      t.elem = std::make_unique<PType>();
      parseType(r.sub("TypeProto"), *t.elem);
    } else if (t.kind == 5 && f == 1 && w == kVarint) {
      t.elem_type = decodeInt32(r);
    } else if (t.kind == 5 && f == 2 && w == kLen) {
      t.elem = std::make_unique<PType>();
      parseType(r.sub("TypeProto"), *t.elem);
    } else if (t.kind == 7 && f == 1 && w == kLen) {
      t.opaque_domain = r.string();
    } else if (t.kind == 7 && f == 2 && w == kLen) {
      t.opaque_name = r.string();
    } else {
      r.skip(w);
    }
  }
}

void parseType(Reader r, PType& t) {
  while (r.more()) {
    const uint8_t* start = r.pos();
    uint32_t f;
    int w;
    r.tag(f, w);
    if ((f == 1 || f == 4 || f == 5 || f == 7 || f == 8 || f == 9) && w == kLen) {
      t.kind = static_cast<int>(f);
      parseTypeVariant(r.sub("TypeProto"), t);
    } else if (f == 6 && w == kLen) {
      t.denotation = r.string();
    } else {
      r.keepUnknown(start, w, t.unknown);
    }
  }
}

void parseValueInfo(Reader r, PValueInfo& v) {
  while (r.more()) {
    const uint8_t* start = r.pos();
    uint32_t f;
    int w;
    r.tag(f, w);
    if (f == 1 && w == kLen) {
      v.name = r.string();
    } else if (f == 2 && w == kLen) {
      v.has_type = true;
      parseType(r.sub("TypeProto"), v.type);
    } else if (f == 3 && w == kLen) {
      v.doc_string = r.string();
    } else if (f == 4 && w == kLen) {
      parseStrPair(r.sub("StringStringEntryProto"), v.metadata_props);
    } else {
      r.keepUnknown(start, w, v.unknown);
    }
  }
}

void parseGraph(Reader r, PGraph& g);

void parseAttr(Reader r, PAttr& a) {
  while (r.more()) {
    const uint8_t* start = r.pos();
    uint32_t f;
    int w;
    r.tag(f, w);
    switch (f) {
      case 1:
        r.expect(w, kLen, f);
        a.name = r.string();
        break;
      case 2:
        r.expect(w, kFixed32, f);
        a.f = decodeFloat(r);
        a.has_f = true;
        break;
      case 3:
        r.expect(w, kVarint, f);
        a.i = decodeInt64(r);
        a.has_i = true;
        break;
      case 4:
        r.expect(w, kLen, f);
        a.s = r.string();
        a.has_s = true;
        break;
      case 5:
        r.expect(w, kLen, f);
        if (!a.t) a.t = std::make_unique<PTensor>();  // a repeated singular field merges
        parseTensor(r.sub("TensorProto"), *a.t);
        a.has_t = true;
        break;
      case 6:
        r.expect(w, kLen, f);
        a.g = std::make_unique<PGraph>();
        parseGraph(r.sub("GraphProto"), *a.g);
        a.has_g = true;
        break;
      case 7:
        r.repeated(w, kFixed32, f, a.floats, decodeFloat);
        break;
      case 8:
        r.repeated(w, kVarint, f, a.ints, decodeInt64);
        break;
      case 9:
        r.expect(w, kLen, f);
        a.strings.push_back(r.string());
        break;
      case 10:
        r.expect(w, kLen, f);
        a.tensors.emplace_back();
        parseTensor(r.sub("TensorProto"), a.tensors.back());
        break;
      case 11:
        r.expect(w, kLen, f);
        a.graphs.push_back(std::make_unique<PGraph>());
        parseGraph(r.sub("GraphProto"), *a.graphs.back());
        break;
      case 13:
        r.expect(w, kLen, f);
        a.doc_string = r.string();
        break;
      case 14:
        r.expect(w, kLen, f);
        if (!a.tp) a.tp = std::make_unique<PType>();
        parseType(r.sub("TypeProto"), *a.tp);
        a.has_tp = true;
        break;
      case 15:
        r.expect(w, kLen, f);
        a.type_protos.emplace_back();
        parseType(r.sub("TypeProto"), a.type_protos.back());
        break;
      case 20:
        r.expect(w, kVarint, f);
        a.type = decodeInt32(r);
        break;
      case 21:
        r.expect(w, kLen, f);
        a.ref_attr_name = r.string();
        break;
      case 22:
        r.expect(w, kLen, f);
        if (!a.sparse_tensor) a.sparse_tensor = std::make_unique<PSparseTensor>();
        parseSparse(r.sub("SparseTensorProto"), *a.sparse_tensor);
        a.has_sparse = true;
        break;
      case 23:
        r.expect(w, kLen, f);
        a.sparse_tensors.emplace_back();
        parseSparse(r.sub("SparseTensorProto"), a.sparse_tensors.back());
        break;
      default:
        r.keepUnknown(start, w, a.unknown);
    }
  }
}

void parseNode(Reader r, PNode& n) {
  while (r.more()) {
    const uint8_t* start = r.pos();
    uint32_t f;
    int w;
    r.tag(f, w);
    switch (f) {
      case 1:
        r.expect(w, kLen, f);
        n.input.push_back(r.string());
        break;
      case 2:
        r.expect(w, kLen, f);
        n.output.push_back(r.string());
        break;
      case 3:
        r.expect(w, kLen, f);
        n.name = r.string();
        break;
      case 4:
        r.expect(w, kLen, f);
        n.op_type = r.string();
        break;
      case 5:
        r.expect(w, kLen, f);
        n.attribute.emplace_back();
        parseAttr(r.sub("AttributeProto"), n.attribute.back());
        break;
      case 6:
        r.expect(w, kLen, f);
        n.doc_string = r.string();
        break;
      case 7:
        r.expect(w, kLen, f);
        n.domain = r.string();
        break;
      case 8:
        r.expect(w, kLen, f);
        n.overload = r.string();
        break;
      case 9:
        r.expect(w, kLen, f);
        parseStrPair(r.sub("StringStringEntryProto"), n.metadata_props);
        break;
      default:
        r.keepUnknown(start, w, n.unknown);
    }
  }
}

void parseGraph(Reader r, PGraph& g) {
  while (r.more()) {
    const uint8_t* start = r.pos();
    uint32_t f;
    int w;
    r.tag(f, w);
    switch (f) {
      case 1:
        r.expect(w, kLen, f);
        r.countNode();
        g.node.emplace_back();
        parseNode(r.sub("NodeProto"), g.node.back());
        break;
      case 2:
        r.expect(w, kLen, f);
        g.name = r.string();
        break;
      case 5:
        r.expect(w, kLen, f);
        g.initializer.emplace_back();
        parseTensor(r.sub("TensorProto"), g.initializer.back());
        break;
      case 10:
        r.expect(w, kLen, f);
        g.doc_string = r.string();
        break;
      case 11:
      case 12:
      case 13: {
        r.expect(w, kLen, f);
        auto& list = f == 11 ? g.input : f == 12 ? g.output : g.value_info;
        list.emplace_back();
        parseValueInfo(r.sub("ValueInfoProto"), list.back());
        break;
      }
      case 15:
        r.expect(w, kLen, f);
        g.sparse_initializer.emplace_back();
        parseSparse(r.sub("SparseTensorProto"), g.sparse_initializer.back());
        break;
      case 16:
        r.expect(w, kLen, f);
        parseStrPair(r.sub("StringStringEntryProto"), g.metadata_props);
        break;
      default:
        r.keepUnknown(start, w, g.unknown);
    }
  }
}

void parseOpset(Reader r, std::vector<POpset>& out) {
  POpset o;
  while (r.more()) {
    uint32_t f;
    int w;
    r.tag(f, w);
    if (f == 1 && w == kLen) {
      o.domain = r.string();
    } else if (f == 2 && w == kVarint) {
      o.version = decodeInt64(r);
    } else {
      r.skip(w);
    }
  }
  out.push_back(std::move(o));
}

void parseFunction(Reader r, PFunction& fn) {
  while (r.more()) {
    const uint8_t* start = r.pos();
    uint32_t f;
    int w;
    r.tag(f, w);
    switch (f) {
      case 1:
        r.expect(w, kLen, f);
        fn.name = r.string();
        break;
      case 4:
        r.expect(w, kLen, f);
        fn.input.push_back(r.string());
        break;
      case 5:
        r.expect(w, kLen, f);
        fn.output.push_back(r.string());
        break;
      case 6:
        r.expect(w, kLen, f);
        fn.attribute.push_back(r.string());
        break;
      case 7:
        r.expect(w, kLen, f);
        r.countNode();
        fn.node.emplace_back();
        parseNode(r.sub("NodeProto"), fn.node.back());
        break;
      case 8:
        r.expect(w, kLen, f);
        fn.doc_string = r.string();
        break;
      case 9:
        r.expect(w, kLen, f);
        parseOpset(r.sub("OperatorSetIdProto"), fn.opset_import);
        break;
      case 10:
        r.expect(w, kLen, f);
        fn.domain = r.string();
        break;
      case 11:
        r.expect(w, kLen, f);
        fn.attribute_proto.emplace_back();
        parseAttr(r.sub("AttributeProto"), fn.attribute_proto.back());
        break;
      case 12:
        r.expect(w, kLen, f);
        fn.value_info.emplace_back();
        parseValueInfo(r.sub("ValueInfoProto"), fn.value_info.back());
        break;
      case 13:
        r.expect(w, kLen, f);
        fn.overload = r.string();
        break;
      case 14:
        r.expect(w, kLen, f);
        parseStrPair(r.sub("StringStringEntryProto"), fn.metadata_props);
        break;
      default:
        r.keepUnknown(start, w, fn.unknown);
    }
  }
}

// --- writer ------------------------------------------------------------------------------------

// Small copies are cheaper than bookkeeping; only big byte fields are referenced.
constexpr uint64_t kRefThreshold = 4096;

class W {
 public:
  Chunks c;

  void varint(uint64_t v) {
    uint8_t buf[10];
    size_t n = 0;
    do {
      uint8_t b = v & 0x7f;
      v >>= 7;
      buf[n++] = static_cast<uint8_t>(b | (v ? 0x80 : 0));
    } while (v);
    c.appendOwn(buf, n);
  }
  void tag(uint32_t field, int wire) {
    varint(static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire));
  }
  void i64(uint32_t field, int64_t v) {
    tag(field, kVarint);
    varint(static_cast<uint64_t>(v));
  }
  // int32 fields are sign-extended to 64 bits on the wire, as protobuf does.
  void i32(uint32_t field, int32_t v) { i64(field, v); }
  void str(uint32_t field, const std::string& s) {
    tag(field, kLen);
    varint(s.size());
    c.appendOwn(s.data(), s.size());
  }
  void strIfSet(uint32_t field, const std::string& s) {
    if (!s.empty()) str(field, s);
  }
  void f32(uint32_t field, float v) {
    tag(field, kFixed32);
    c.appendOwn(&v, 4);
  }
  void bytes(uint32_t field, const Bytes& b) {
    tag(field, kLen);
    varint(b.size);
    c.appendRef(b);
  }
  void msg(uint32_t field, W&& sub) {
    tag(field, kLen);
    varint(sub.c.size());
    c.append(std::move(sub.c));
  }
  void raw(const std::string& bytes) { c.appendOwn(bytes.data(), bytes.size()); }

  template <typename T>
  void packedVarint(uint32_t field, const std::vector<T>& v) {
    if (v.empty()) return;
    W body;
    for (T x : v)
      body.varint(static_cast<uint64_t>(static_cast<int64_t>(x)));
    msg(field, std::move(body));
  }
  void packedU64(uint32_t field, const std::vector<uint64_t>& v) {
    if (v.empty()) return;
    W body;
    for (uint64_t x : v)
      body.varint(x);
    msg(field, std::move(body));
  }
  template <typename T>
  void packedFixed(uint32_t field, const std::vector<T>& v) {
    if (v.empty()) return;
    tag(field, kLen);
    varint(v.size() * sizeof(T));
    c.appendOwn(v.data(), v.size() * sizeof(T));
  }
};

void writeStrPairs(W& w, uint32_t field, const StrPairs& props) {
  for (const auto& [k, v] : props) {
    W e;
    e.strIfSet(1, k);
    e.strIfSet(2, v);
    w.msg(field, std::move(e));
  }
}

W writeTensor(const PTensor& t) {
  W w;
  w.packedVarint(1, t.dims);
  w.i32(2, t.data_type);
  if (t.has_segment) {
    W s;
    s.i64(1, t.segment_begin);
    s.i64(2, t.segment_end);
    w.msg(3, std::move(s));
  }
  w.packedFixed(4, t.float_data);
  w.packedVarint(5, t.int32_data);
  for (const auto& s : t.string_data)
    w.str(6, s);
  w.packedVarint(7, t.int64_data);
  w.strIfSet(8, t.name);
  if (t.has_raw_data) w.bytes(9, t.raw_data);
  w.packedFixed(10, t.double_data);
  w.packedU64(11, t.uint64_data);
  w.strIfSet(12, t.doc_string);
  writeStrPairs(w, 13, t.external_data);
  if (t.data_location) w.i32(14, t.data_location);
  writeStrPairs(w, 16, t.metadata_props);
  w.raw(t.unknown);
  return w;
}

W writeSparse(const PSparseTensor& s) {
  W w;
  w.msg(1, writeTensor(s.values));
  w.msg(2, writeTensor(s.indices));
  w.packedVarint(3, s.dims);
  w.raw(s.unknown);
  return w;
}

W writeType(const PType& t);

W writeTypeVariant(const PType& t) {
  W w;
  switch (t.kind) {
    case 1:
    case 8:
      w.i32(1, t.elem_type);
      if (t.has_shape) {
        W shape;
        for (const PDim& d : t.shape) {
          W dim;
          if (d.has_value) dim.i64(1, d.value);
          if (d.has_param) dim.str(2, d.param);
          dim.strIfSet(3, d.denotation);
          shape.msg(1, std::move(dim));
        }
        w.msg(2, std::move(shape));
      }
      break;
    case 4:
    case 9:
      if (t.elem) w.msg(1, writeType(*t.elem));
      break;
    case 5:
      w.i32(1, t.elem_type);
      if (t.elem) w.msg(2, writeType(*t.elem));
      break;
    case 7:
      w.strIfSet(1, t.opaque_domain);
      w.strIfSet(2, t.opaque_name);
      break;
    default:
      break;
  }
  return w;
}

W writeType(const PType& t) {
  W w;
  // The oneof member goes first or after the denotation, by field number.
  if (t.kind && t.kind < 6) w.msg(static_cast<uint32_t>(t.kind), writeTypeVariant(t));
  w.strIfSet(6, t.denotation);
  if (t.kind > 6) w.msg(static_cast<uint32_t>(t.kind), writeTypeVariant(t));
  w.raw(t.unknown);
  return w;
}

W writeValueInfo(const PValueInfo& v) {
  W w;
  w.str(1, v.name);
  if (v.has_type) w.msg(2, writeType(v.type));
  w.strIfSet(3, v.doc_string);
  writeStrPairs(w, 4, v.metadata_props);
  w.raw(v.unknown);
  return w;
}

W writeGraph(const PGraph& g);

W writeAttr(const PAttr& a) {
  W w;
  w.str(1, a.name);
  if (a.has_f) w.f32(2, a.f);
  if (a.has_i) w.i64(3, a.i);
  if (a.has_s) w.str(4, a.s);
  if (a.has_t && a.t) w.msg(5, writeTensor(*a.t));
  if (a.has_g && a.g) w.msg(6, writeGraph(*a.g));
  w.packedFixed(7, a.floats);
  w.packedVarint(8, a.ints);
  for (const auto& s : a.strings)
    w.str(9, s);
  for (const auto& t : a.tensors)
    w.msg(10, writeTensor(t));
  for (const auto& g : a.graphs)
    w.msg(11, writeGraph(*g));
  w.strIfSet(13, a.doc_string);
  if (a.has_tp && a.tp) w.msg(14, writeType(*a.tp));
  for (const auto& t : a.type_protos)
    w.msg(15, writeType(t));
  w.i32(20, a.type);
  w.strIfSet(21, a.ref_attr_name);
  if (a.has_sparse && a.sparse_tensor) w.msg(22, writeSparse(*a.sparse_tensor));
  for (const auto& s : a.sparse_tensors)
    w.msg(23, writeSparse(s));
  w.raw(a.unknown);
  return w;
}

W writeNode(const PNode& n) {
  W w;
  for (const auto& s : n.input)
    w.str(1, s);
  for (const auto& s : n.output)
    w.str(2, s);
  w.strIfSet(3, n.name);
  w.str(4, n.op_type);
  for (const auto& a : n.attribute)
    w.msg(5, writeAttr(a));
  w.strIfSet(6, n.doc_string);
  w.strIfSet(7, n.domain);
  w.strIfSet(8, n.overload);
  writeStrPairs(w, 9, n.metadata_props);
  w.raw(n.unknown);
  return w;
}

W writeGraph(const PGraph& g) {
  W w;
  for (const auto& n : g.node)
    w.msg(1, writeNode(n));
  w.strIfSet(2, g.name);
  for (const auto& t : g.initializer)
    w.msg(5, writeTensor(t));
  w.strIfSet(10, g.doc_string);
  for (const auto& v : g.input)
    w.msg(11, writeValueInfo(v));
  for (const auto& v : g.output)
    w.msg(12, writeValueInfo(v));
  for (const auto& v : g.value_info)
    w.msg(13, writeValueInfo(v));
  for (const auto& s : g.sparse_initializer)
    w.msg(15, writeSparse(s));
  writeStrPairs(w, 16, g.metadata_props);
  w.raw(g.unknown);
  return w;
}

W writeOpset(const POpset& o) {
  W w;
  w.strIfSet(1, o.domain);
  w.i64(2, o.version);
  return w;
}

W writeFunction(const PFunction& f) {
  W w;
  w.str(1, f.name);
  for (const auto& s : f.input)
    w.str(4, s);
  for (const auto& s : f.output)
    w.str(5, s);
  for (const auto& s : f.attribute)
    w.str(6, s);
  for (const auto& n : f.node)
    w.msg(7, writeNode(n));
  w.strIfSet(8, f.doc_string);
  for (const auto& o : f.opset_import)
    w.msg(9, writeOpset(o));
  w.strIfSet(10, f.domain);
  for (const auto& a : f.attribute_proto)
    w.msg(11, writeAttr(a));
  for (const auto& v : f.value_info)
    w.msg(12, writeValueInfo(v));
  w.strIfSet(13, f.overload);
  writeStrPairs(w, 14, f.metadata_props);
  w.raw(f.unknown);
  return w;
}

}  // namespace

PModel parseModel(const std::shared_ptr<const Buffer>& bytes, const std::string& source,
                  const ParseLimits& limits) {
  if (bytes->size() == 0) failInput("{}: file is empty", source);
  Ctx ctx{&bytes, &source, limits};
  Reader r(ctx, bytes->data(), bytes->data() + bytes->size(), 0, "ModelProto");
  PModel m;
  while (r.more()) {
    const uint8_t* start = r.pos();
    uint32_t f;
    int w;
    r.tag(f, w);
    switch (f) {
      case 1:
        r.expect(w, kVarint, f);
        m.ir_version = decodeInt64(r);
        break;
      case 2:
        r.expect(w, kLen, f);
        m.producer_name = r.string();
        break;
      case 3:
        r.expect(w, kLen, f);
        m.producer_version = r.string();
        break;
      case 4:
        r.expect(w, kLen, f);
        m.domain = r.string();
        break;
      case 5:
        r.expect(w, kVarint, f);
        m.model_version = decodeInt64(r);
        break;
      case 6:
        r.expect(w, kLen, f);
        m.doc_string = r.string();
        break;
      case 7:
        r.expect(w, kLen, f);
        m.has_graph = true;
        parseGraph(r.sub("GraphProto"), m.graph);
        break;
      case 8:
        r.expect(w, kLen, f);
        parseOpset(r.sub("OperatorSetIdProto"), m.opset_import);
        break;
      case 14:
        r.expect(w, kLen, f);
        parseStrPair(r.sub("StringStringEntryProto"), m.metadata_props);
        break;
      case 20: {
        r.expect(w, kLen, f);
        auto [b, n] = r.lengthDelimited();
        m.training_info.emplace_back(reinterpret_cast<const char*>(b), n);
        break;
      }
      case 25:
        r.expect(w, kLen, f);
        m.functions.emplace_back();
        parseFunction(r.sub("FunctionProto"), m.functions.back());
        break;
      default:
        r.keepUnknown(start, w, m.unknown);
    }
  }
  return m;
}

PTensor parseTensor(const std::shared_ptr<const Buffer>& bytes, const std::string& source) {
  Ctx ctx{&bytes, &source, ParseLimits{}};
  Reader r(ctx, bytes->data(), bytes->data() + bytes->size(), 0, "TensorProto");
  PTensor t;
  parseTensor(r, t);
  return t;
}

std::string Chunks::flatten() const {
  std::string out;
  out.reserve(size_);
  for (const Chunk& c : chunks_) {
    if (c.ref) {
      out.append(reinterpret_cast<const char*>(c.ref), c.ref_size);
    } else {
      out += c.own;
    }
  }
  return out;
}

void Chunks::appendOwn(const void* p, size_t n) {
  if (!n) return;
  if (chunks_.empty() || chunks_.back().ref) chunks_.emplace_back();
  chunks_.back().own.append(static_cast<const char*>(p), n);
  size_ += n;
}

void Chunks::appendRef(const Bytes& b) {
  if (b.size < kRefThreshold || !b.buffer) {
    appendOwn(b.data, b.size);
    return;
  }
  Chunk c;
  c.ref = b.data;
  c.ref_size = b.size;
  c.keep = b.buffer;
  chunks_.push_back(std::move(c));
  size_ += b.size;
}

void Chunks::append(Chunks&& other) {
  for (Chunk& c : other.chunks_) {
    if (c.ref) {
      chunks_.push_back(std::move(c));
    } else if (!chunks_.empty() && !chunks_.back().ref) {
      chunks_.back().own += c.own;
    } else {
      chunks_.push_back(std::move(c));
    }
  }
  size_ += other.size_;
  other.chunks_.clear();
  other.size_ = 0;
}

Chunks serializeModel(const PModel& m) {
  W w;
  w.i64(1, m.ir_version);
  w.strIfSet(2, m.producer_name);
  w.strIfSet(3, m.producer_version);
  w.strIfSet(4, m.domain);
  if (m.model_version) w.i64(5, m.model_version);
  w.strIfSet(6, m.doc_string);
  if (m.has_graph) w.msg(7, writeGraph(m.graph));
  for (const auto& o : m.opset_import)
    w.msg(8, writeOpset(o));
  writeStrPairs(w, 14, m.metadata_props);
  for (const auto& t : m.training_info) {
    w.tag(20, kLen);
    w.varint(t.size());
    w.raw(t);
  }
  for (const auto& f : m.functions)
    w.msg(25, writeFunction(f));
  w.raw(m.unknown);
  return std::move(w.c);
}

Chunks serializeTensor(const PTensor& t) {
  return std::move(writeTensor(t).c);
}

}  // namespace mopt::onnx_wire
