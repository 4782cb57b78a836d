// Immutable tensor data: shared byte buffers that own memory or map a region of a file.
#pragma once

#include "ir/DType.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mopt {

using Props = std::vector<std::pair<std::string, std::string>>;  // ordered key/value metadata

// A read-only memory map of a whole file. Weights of large models point into these mappings, so
// loading never copies them and writers can copy file-to-file without touching the pages.
class MappedFile {
 public:
  static std::shared_ptr<const MappedFile> open(const std::string& path);  // throws Error(Input)
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }

 private:
  MappedFile() = default;
  std::string path_;
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

class Buffer {
 public:
  // Takes ownership of freshly allocated, zero-initialised memory that the caller fills before
  // sharing the buffer as const.
  static std::shared_ptr<Buffer> allocate(uint64_t size);
  static std::shared_ptr<const Buffer> copyOf(const void* data, uint64_t size);
  // A window of a mapped file; throws Error(Input) if it does not lie inside the file.
  static std::shared_ptr<const Buffer> view(std::shared_ptr<const MappedFile> file, uint64_t offset,
                                            uint64_t size);
  // The whole file, memory-mapped (throws Error(Input) if it cannot be opened).
  static std::shared_ptr<const Buffer> mapFile(const std::string& path);
  // A window of another buffer; keeps the parent alive and inherits its file origin.
  static std::shared_ptr<const Buffer> slice(const std::shared_ptr<const Buffer>& parent,
                                             uint64_t offset, uint64_t size);

  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  const uint8_t* data() const { return data_; }
  uint8_t* mutableData() { return owned_; }
  uint64_t size() const { return size_; }
  // Set when the bytes are a window of a file: lets writers copy file-to-file.
  const MappedFile* file() const { return file_.get(); }
  uint64_t fileOffset() const { return offset_; }
  // For file-backed bytes: tells the kernel this process is done with the pages for now, so a
  // scan over a huge model does not keep it all resident. Harmless otherwise.
  void releasePages() const;

 private:
  Buffer() = default;
  const uint8_t* data_ = nullptr;
  uint8_t* owned_ = nullptr;
  bool mmapped_ = false;
  uint64_t size_ = 0;
  std::shared_ptr<const MappedFile> file_;
  uint64_t offset_ = 0;
  std::shared_ptr<const Buffer> parent_;
};

// dtype + dims + bytes (or strings). Copies are cheap: the data is shared and never mutated.
class Tensor {
 public:
  Tensor() = default;
  // Throws Error(Input) when the buffer size differs from what dtype and dims need.
  Tensor(DType dtype, std::vector<int64_t> dims, std::shared_ptr<const Buffer> data);
  static Tensor fromStrings(std::vector<int64_t> dims, std::vector<std::string> values);
  static Tensor fromBytes(DType dtype, std::vector<int64_t> dims, const void* data, uint64_t size);
  template <typename T>
  static Tensor fromVector(DType dtype, std::vector<int64_t> dims, const std::vector<T>& v) {
    return fromBytes(dtype, std::move(dims), v.data(), v.size() * sizeof(T));
  }

  bool isDefined() const { return dtype_ != DType::Undefined; }
  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& dims() const { return dims_; }
  int64_t numel() const { return numel_; }
  uint64_t byteSize() const;  // 0 for string tensors
  const uint8_t* raw() const { return data_ ? data_->data() : nullptr; }
  template <typename T>
  const T* data() const {
    return reinterpret_cast<const T*>(raw());
  }
  const std::shared_ptr<const Buffer>& buffer() const { return data_; }
  const std::vector<std::string>& strings() const;

  // Carried through for lossless round trips; not part of the value.
  const std::string& name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }
  const std::string& docString() const { return doc_string_; }
  void setDocString(std::string d) { doc_string_ = std::move(d); }
  const Props& metadataProps() const { return metadata_props_; }
  void setMetadataProps(Props p) { metadata_props_ = std::move(p); }

  // Same dtype, dims and bytes/strings (metadata ignored).
  bool sameValue(const Tensor& o) const;

 private:
  DType dtype_ = DType::Undefined;
  std::vector<int64_t> dims_;
  int64_t numel_ = 0;
  std::shared_ptr<const Buffer> data_;
  std::shared_ptr<const std::vector<std::string>> strings_;
  std::string name_, doc_string_;
  Props metadata_props_;
};

// ONNX SparseTensorProto: non-zero values plus their (linear or coordinate) indices.
struct SparseTensor {
  Tensor values;
  Tensor indices;
  std::vector<int64_t> dims;
};

// Product of dims, or -1 if a dim is negative or the product overflows int64.
int64_t checkedNumel(const std::vector<int64_t>& dims);

}  // namespace mopt
