// Reading and writing ONNX models (the frontend's public face; no protobuf types leak out).
#pragma once

#include "ir/Graph.h"
#include "ir/OpSchema.h"

#include <cstdint>
#include <memory>
#include <string>

namespace mopt {

// Limits on what a model file may declare. Exceeding one is Error(Input): one line naming the
// file, the limit and the `mopt` flag that raises it. Independently of these, every declared size
// is checked against the bytes actually present before anything is allocated for it.
struct OnnxLoadOptions {
  bool verify = true;                               // structural + schema verification
  int max_nesting = 64;                             // nested messages (--max-nesting)
  int64_t max_nodes = int64_t{1} << 22;             // nodes, subgraphs and functions included
  uint64_t max_tensor_bytes = uint64_t{16} << 30;   // data of one tensor (dtype x dims)
  uint64_t max_total_bytes = uint64_t{1} << 40;     // data of all tensors together
  uint64_t max_string_bytes = uint64_t{256} << 20;  // one string (names, attributes, elements)
  int64_t max_string_elements = int64_t{1} << 24;   // elements of one string tensor
};

// Loads a model file; weights (inline raw_data and external data) stay memory-mapped.
// Throws Error(Input) with a one-line message naming the file and the problem.
Model loadOnnx(const std::string& path, const OnnxLoadOptions& opts = {});
// Parses in-memory bytes. `base_dir` resolves external data ("" forbids external data).
Model loadOnnxBytes(const std::shared_ptr<const Buffer>& bytes, const std::string& source,
                    const std::string& base_dir, const OnnxLoadOptions& opts = {});

enum class ExternalDataMode {
  Auto,    // keep the input's layout; switch to external data when the file would pass 2 GB
  Always,  // every tensor of at least `threshold` bytes goes to the data file
  Never,   // everything inline (fails if that passes protobuf's 2 GB limit)
};

struct OnnxSaveOptions {
  ExternalDataMode external_data = ExternalDataMode::Auto;
  uint64_t threshold = 1024;  // smaller tensors always stay inline
  // Largest file written inline in Auto mode. protobuf cannot parse messages >= 2 GiB.
  uint64_t inline_limit = (uint64_t{2} << 30) - (uint64_t{64} << 20);
  std::string data_file;  // name of the data file beside the model; default "<model file>.data"
  // fsync before the atomic rename: survives a power cut, costs ~1 s per GB here. Off by
  // default like onnx.save and torch.save; the rename alone already keeps readers from ever
  // seeing a half-written file.
  bool fsync = false;
};

struct OnnxSaveResult {
  uint64_t model_bytes = 0;
  uint64_t external_bytes = 0;
  std::string data_file;  // empty when everything is inline
};

// Writes atomically: temp files beside the targets, renamed only when complete.
OnnxSaveResult saveOnnx(const Model& m, const std::string& path, const OnnxSaveOptions& opts = {});
// Serializes inline (tests, hashing). Throws if the result would not be a valid protobuf.
std::string serializeOnnx(const Model& m);

// A bare TensorProto file (the ONNX test suite's input_N.pb / output_N.pb).
Tensor loadTensorProto(const std::string& path);

// A deep copy of the graph structure sharing the (immutable) tensor bytes: cheap even for big
// models. Used where a transformation must not touch the caller's model.
Model cloneModel(const Model& m);

// Runs ONNX's shape inference (with data propagation) and fills in value types the model does
// not state; symbolic dims the model has are kept. Values without a result stay as they were.
struct ShapeInferenceResult {
  int64_t updated = 0;  // values whose type got more specific
  int64_t values = 0;   // node outputs in the model, subgraphs included
  int64_t typed = 0;    // of those, how many now have a type (and a shape, for tensors)
  std::vector<std::string> notes;
};
ShapeInferenceResult inferShapesOnnx(Model& m);

// Operator signatures from the ONNX schema registry linked into mopt (onnx 1.12: opsets <= 17).
const OpSchemaOracle& onnxSchemas();
// Highest opset version the registry knows for `domain` (0 if none).
int64_t onnxRegistryMaxOpset(const std::string& domain);

}  // namespace mopt
