// ONNX protobuf messages as plain structs, with a bounds-checked wire-format reader and a writer
// that references large byte fields instead of copying them.
//
// mopt parses ModelProto itself rather than through libprotobuf so that: raw tensor bytes stay
// views into the memory-mapped file (no copy, no 2 GB limit), fields newer than the system's
// onnx.proto (IR 10: overload, metadata_props, int4 types) are understood, fields nobody knows
// survive as raw bytes, and output is deterministic (fields in number order).
#pragma once

#include "ir/Tensor.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mopt::onnx_wire {

using StrPairs = std::vector<std::pair<std::string, std::string>>;

// A byte range that either lives in a shared Buffer (parsed raw_data, IR tensors) or is empty.
struct Bytes {
  std::shared_ptr<const Buffer> buffer;  // whole buffer owning the bytes
  const uint8_t* data = nullptr;
  uint64_t size = 0;
};

struct PTensor {
  std::vector<int64_t> dims;
  int32_t data_type = 0;
  bool has_segment = false;
  int64_t segment_begin = 0, segment_end = 0;
  std::vector<float> float_data;
  std::vector<int32_t> int32_data;
  std::vector<std::string> string_data;
  std::vector<int64_t> int64_data;
  std::string name;
  Bytes raw_data;
  bool has_raw_data = false;
  std::vector<double> double_data;
  std::vector<uint64_t> uint64_data;
  std::string doc_string;
  StrPairs external_data;
  int32_t data_location = 0;  // 1 = EXTERNAL
  StrPairs metadata_props;
  std::string unknown;
};

struct PSparseTensor {
  PTensor values, indices;
  std::vector<int64_t> dims;
  std::string unknown;
};

struct PDim {
  bool has_value = false, has_param = false;
  int64_t value = 0;
  std::string param, denotation;
};

struct PType {
  // Which member of TypeProto's oneof is set (its field number): 0 none, 1 tensor, 4 sequence,
  // 5 map, 7 opaque, 8 sparse_tensor, 9 optional.
  int kind = 0;
  int32_t elem_type = 0;  // tensor / sparse tensor element, map key
  bool has_shape = false;
  std::vector<PDim> shape;
  std::unique_ptr<PType> elem;  // sequence/optional element, map value
  std::string opaque_domain, opaque_name;
  std::string denotation;
  std::string unknown;  // unknown fields of TypeProto itself
};

struct PValueInfo {
  std::string name;
  bool has_type = false;
  PType type;
  std::string doc_string;
  StrPairs metadata_props;
  std::string unknown;
};

struct PGraph;

struct PAttr {
  std::string name, ref_attr_name, doc_string;
  int32_t type = 0;  // AttributeProto.AttributeType
  bool has_f = false, has_i = false, has_s = false, has_t = false, has_g = false,
       has_sparse = false, has_tp = false;
  float f = 0;
  int64_t i = 0;
  std::string s;
  // The big singular members are allocated only when present: an attribute costs two bytes of
  // input, and a file of empty attributes must not cost kilobytes of memory for each.
  std::unique_ptr<PTensor> t;
  std::unique_ptr<PGraph> g;
  std::unique_ptr<PSparseTensor> sparse_tensor;
  std::unique_ptr<PType> tp;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<PTensor> tensors;
  std::vector<std::unique_ptr<PGraph>> graphs;
  std::vector<PSparseTensor> sparse_tensors;
  std::vector<PType> type_protos;
  std::string unknown;
};

struct PNode {
  std::vector<std::string> input, output;
  std::string name, op_type, domain, overload, doc_string;
  std::vector<PAttr> attribute;
  StrPairs metadata_props;
  std::string unknown;
};

struct PGraph {
  std::vector<PNode> node;
  std::string name, doc_string;
  std::vector<PTensor> initializer;
  std::vector<PSparseTensor> sparse_initializer;
  std::vector<PValueInfo> input, output, value_info;
  StrPairs metadata_props;
  std::string unknown;  // includes quantization_annotation (field 14), kept verbatim
};

struct POpset {
  std::string domain;
  int64_t version = 0;
};

struct PFunction {
  std::string name, domain, overload, doc_string;
  std::vector<std::string> input, output, attribute;
  std::vector<PAttr> attribute_proto;
  std::vector<PNode> node;
  std::vector<POpset> opset_import;
  std::vector<PValueInfo> value_info;
  StrPairs metadata_props;
  std::string unknown;
};

struct PModel {
  int64_t ir_version = 0;
  std::vector<POpset> opset_import;
  std::string producer_name, producer_version, domain, doc_string;
  int64_t model_version = 0;
  bool has_graph = false;
  PGraph graph;
  StrPairs metadata_props;
  std::vector<std::string> training_info;  // serialized TrainingInfoProto, kept verbatim
  std::vector<PFunction> functions;
  std::string unknown;
};

// What a file may declare before parsing stops with Error(Input) (OnnxLoadOptions sets these).
struct ParseLimits {
  int max_depth = 64;  // nested messages (subgraphs nest about 4 levels per graph)
  int64_t max_nodes = int64_t{1} << 22;             // NodeProtos in all graphs and functions
  uint64_t max_string_bytes = uint64_t{256} << 20;  // one string field
  int64_t max_string_elements = int64_t{1} << 24;   // string_data entries of one TensorProto
};

// Parses a ModelProto from `bytes` (the whole buffer). Large raw_data fields become views into
// `bytes`. Throws Error(Input) naming `source` and the offset on malformed input.
PModel parseModel(const std::shared_ptr<const Buffer>& bytes, const std::string& source,
                  const ParseLimits& limits = {});
// A bare TensorProto (the ONNX test suite's input_N.pb files).
PTensor parseTensor(const std::shared_ptr<const Buffer>& bytes, const std::string& source);

// Serialized output as a list of chunks: small fields are copied into owned strings, large byte
// fields are referenced so writing a model never copies its weights in memory.
class Chunks {
 public:
  struct Chunk {
    std::string own;
    const uint8_t* ref = nullptr;
    uint64_t ref_size = 0;
    std::shared_ptr<const Buffer> keep;  // keeps `ref` alive; its file() allows file-to-file copy
  };
  uint64_t size() const { return size_; }
  const std::vector<Chunk>& chunks() const { return chunks_; }
  std::string flatten() const;

  void appendOwn(const void* p, size_t n);
  void appendRef(const Bytes& b);
  void append(Chunks&& other);

 private:
  std::vector<Chunk> chunks_;
  uint64_t size_ = 0;
};

Chunks serializeModel(const PModel& m);
Chunks serializeTensor(const PTensor& t);

}  // namespace mopt::onnx_wire
