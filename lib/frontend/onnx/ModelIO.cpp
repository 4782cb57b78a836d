// Loading and saving ONNX files: memory-mapped input, external data in and out, atomic output.
#include "frontend/onnx/Onnx.h"
#include "frontend/onnx/OnnxImport.h"

#include "ir/Error.h"
#include "ir/Verifier.h"
#include "support/File.h"

namespace mopt {

using namespace onnx_wire;

Model loadOnnxBytes(const std::shared_ptr<const Buffer>& bytes, const std::string& source,
                    const std::string& base_dir, const OnnxLoadOptions& opts) {
  ParseLimits limits;
  limits.max_depth = opts.max_nesting;
  limits.max_nodes = opts.max_nodes;
  limits.max_string_bytes = opts.max_string_bytes;
  limits.max_string_elements = opts.max_string_elements;
  PModel pm = parseModel(bytes, source, limits);
  ExternalDataResolver ext(source, base_dir);
  Model m = importOnnx(pm, source, ext, &opts);
  m.source_path = source;
  m.source_external_data = ext.used();
  if (opts.verify) {
    VerifyOptions vo;
    vo.schemas = &onnxSchemas();
    verifyOrThrow(m, vo, ErrorKind::Input, source + ": invalid model");
  }
  return m;
}

Model loadOnnx(const std::string& path, const OnnxLoadOptions& opts) {
  return loadOnnxBytes(Buffer::mapFile(path), path, dirName(path), opts);
}

namespace {

// Appends tensors to the data file: big ones start on a page boundary so runtimes can map them.
class FileSink : public ExternalDataSink {
 public:
  FileSink(AtomicFile& file, std::string location, uint64_t threshold)
      : file_(file), location_(std::move(location)), threshold_(threshold) {}
  uint64_t threshold() const override { return threshold_; }
  const std::string& location() const override { return location_; }
  uint64_t append(const Tensor& t) override {
    file_.padTo(t.byteSize() >= (uint64_t{64} << 10) ? 4096 : 64);
    uint64_t offset = file_.size();
    file_.writeBuffer(*t.buffer(), 0, t.byteSize());
    return offset;
  }

 private:
  AtomicFile& file_;
  std::string location_;
  uint64_t threshold_;
};

void writeChunks(AtomicFile& out, const Chunks& chunks) {
  for (const auto& c : chunks.chunks()) {
    if (c.ref) {
      out.writeBuffer(*c.keep, static_cast<uint64_t>(c.ref - c.keep->data()), c.ref_size);
    } else {
      out.write(c.own.data(), c.own.size());
    }
  }
}

}  // namespace

OnnxSaveResult saveOnnx(const Model& m, const std::string& path, const OnnxSaveOptions& opts) {
  OnnxSaveResult result;
  bool external = opts.external_data == ExternalDataMode::Always ||
                  (opts.external_data == ExternalDataMode::Auto && m.source_external_data);
  if (!external) {
    Chunks chunks = serializeModel(exportOnnx(m, nullptr));
    if (chunks.size() <= opts.inline_limit) {
      AtomicFile out(path);
      writeChunks(out, chunks);
      out.commit(opts.fsync);
      result.model_bytes = chunks.size();
      return result;
    }
    if (opts.external_data == ExternalDataMode::Never)
      fail(ErrorKind::Input,
           "{}: the model needs {} bytes inline, more than protobuf's 2 GB limit; write it "
           "with external data (--external-data)",
           path, chunks.size());
  }
  std::string location = opts.data_file.empty() ? baseName(path) + ".data" : opts.data_file;
  AtomicFile data(dirName(path) + "/" + location);
  FileSink sink(data, location, opts.threshold);
  Chunks chunks = serializeModel(exportOnnx(m, &sink));
  if (chunks.size() >= (uint64_t{2} << 30))
    fail(ErrorKind::Input, "{}: even with external data the model proto needs {} bytes", path,
         chunks.size());
  AtomicFile out(path);
  writeChunks(out, chunks);
  // Data first: a model file never points at a data file that is not in place yet.
  data.commit(opts.fsync);
  out.commit(opts.fsync);
  result.model_bytes = chunks.size();
  result.external_bytes = data.size();
  result.data_file = location;
  return result;
}

Model cloneModel(const Model& m) {
  PModel p = exportOnnx(m, nullptr);
  ExternalDataResolver ext(m.source_path, "");
  Model c = importOnnx(p, m.source_path.empty() ? "model" : m.source_path, ext);
  c.source_path = m.source_path;
  c.source_external_data = m.source_external_data;
  return c;
}

std::string serializeOnnx(const Model& m) {
  return serializeModel(exportOnnx(m, nullptr)).flatten();
}

Tensor loadTensorProto(const std::string& path) {
  PTensor t = parseTensor(Buffer::mapFile(path), path);
  ExternalDataResolver ext(path, dirName(path));
  OnnxLoadOptions limits;
  return importOnnxTensor(t, path, ext, &limits);
}

}  // namespace mopt
