// Buffers, file mappings and tensors.
#include "ir/Tensor.h"

#include "ir/Error.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
#define MOPT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MOPT_ASAN 1
#endif
#endif
#ifdef MOPT_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace mopt {

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) failInput("{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    failInput("{}: not a regular file", path);
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->fd_ = fd;
  f->size_ = static_cast<uint64_t>(st.st_size);
  if (f->size_ > 0) {
    void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) failInput("{}: cannot map file: {}", path, std::strerror(errno));
    f->data_ = static_cast<const uint8_t*>(p);
  }
  return f;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  if (fd_ >= 0) ::close(fd_);
}

// Large buffers come straight from mmap: page-aligned and zero-filled lazily, so a buffer that is
// about to be overwritten is not touched twice.
static constexpr uint64_t kMmapThreshold = 1 << 20;

std::shared_ptr<Buffer> Buffer::allocate(uint64_t size) {
  std::shared_ptr<Buffer> b(new Buffer());
  if (size >= kMmapThreshold) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) fail(ErrorKind::Input, "out of memory allocating {} bytes", size);
    b->owned_ = static_cast<uint8_t*>(p);
    b->mmapped_ = true;
  } else {
    // 64-byte alignment lets ATen and SIMD code use the bytes in place.
    uint64_t rounded = (size + 63) / 64 * 64 + 64;
    b->owned_ = static_cast<uint8_t*>(std::aligned_alloc(64, rounded));
    if (!b->owned_) fail(ErrorKind::Input, "out of memory allocating {} bytes", size);
    std::memset(b->owned_, 0, rounded);
#ifdef MOPT_ASAN
    // The padding only rounds the allocation up: reading it means reading past the buffer, which
    // ASan (the fuzz build) should report rather than let pass.
    ASAN_POISON_MEMORY_REGION(b->owned_ + size, rounded - size);
#endif
  }
  b->data_ = b->owned_;
  b->size_ = size;
  return b;
}

std::shared_ptr<const Buffer> Buffer::copyOf(const void* data, uint64_t size) {
  auto b = allocate(size);
  if (size) std::memcpy(b->owned_, data, size);
  return b;
}

std::shared_ptr<const Buffer> Buffer::view(std::shared_ptr<const MappedFile> file, uint64_t offset,
                                           uint64_t size) {
  if (offset > file->size() || size > file->size() - offset)
    failInput("{}: data range [{}, +{}) lies outside the file ({} bytes)", file->path(), offset,
              size, file->size());
  std::shared_ptr<Buffer> b(new Buffer());
  b->data_ = file->data() + offset;
  b->size_ = size;
  b->offset_ = offset;
  b->file_ = std::move(file);
  return b;
}

std::shared_ptr<const Buffer> Buffer::mapFile(const std::string& path) {
  auto file = MappedFile::open(path);
  uint64_t size = file->size();
  return view(std::move(file), 0, size);
}

std::shared_ptr<const Buffer> Buffer::slice(const std::shared_ptr<const Buffer>& parent,
                                            uint64_t offset, uint64_t size) {
  if (offset > parent->size() || size > parent->size() - offset)
    failInput("data range [{}, +{}) lies outside a buffer of {} bytes", offset, size,
              parent->size());
  std::shared_ptr<Buffer> b(new Buffer());
  b->data_ = parent->data() + offset;
  b->size_ = size;
  b->file_ = parent->file_;
  b->offset_ = parent->offset_ + offset;
  b->parent_ = parent;
  return b;
}

void Buffer::releasePages() const {
  if (!file_ || size_ == 0) return;
  uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  uintptr_t begin = reinterpret_cast<uintptr_t>(data_) / page * page;
  uintptr_t end = reinterpret_cast<uintptr_t>(data_) + size_;
  // Pages shared with a neighbouring tensor are dropped too: they simply fault back in.
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

Buffer::~Buffer() {
  if (mmapped_) {
    ::munmap(owned_, size_);
  } else {
    std::free(owned_);
  }
}

int64_t checkedNumel(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) return -1;
    if (d != 0 && n > INT64_MAX / d) return -1;
    n *= d;
  }
  return n;
}

static int64_t numelOrFail(const std::vector<int64_t>& dims) {
  int64_t n = checkedNumel(dims);
  if (n < 0) failInput("tensor dims are negative or their product overflows int64");
  return n;
}

Tensor::Tensor(DType dtype, std::vector<int64_t> dims, std::shared_ptr<const Buffer> data)
    : dtype_(dtype), dims_(std::move(dims)), data_(std::move(data)) {
  if (dtype_ == DType::String || dtype_ == DType::Undefined)
    failInput("tensor of type {} cannot hold raw bytes", dtypeName(dtype_));
  numel_ = numelOrFail(dims_);
  uint64_t want = dtypeStorageBytes(dtype_, static_cast<uint64_t>(numel_));
  uint64_t have = data_ ? data_->size() : 0;
  if (want != have)
    failInput("tensor of type {} with {} elements needs {} bytes but {} are present",
              dtypeName(dtype_), numel_, want, have);
}

Tensor Tensor::fromStrings(std::vector<int64_t> dims, std::vector<std::string> values) {
  Tensor t;
  t.dtype_ = DType::String;
  t.dims_ = std::move(dims);
  t.numel_ = numelOrFail(t.dims_);
  if (static_cast<uint64_t>(t.numel_) != values.size())
    failInput("string tensor with {} elements has {} strings", t.numel_, values.size());
  t.strings_ = std::make_shared<const std::vector<std::string>>(std::move(values));
  return t;
}

Tensor Tensor::fromBytes(DType dtype, std::vector<int64_t> dims, const void* data, uint64_t size) {
  return Tensor(dtype, std::move(dims), Buffer::copyOf(data, size));
}

uint64_t Tensor::byteSize() const {
  return data_ ? data_->size() : 0;
}

const std::vector<std::string>& Tensor::strings() const {
  static const std::vector<std::string> kEmpty;
  return strings_ ? *strings_ : kEmpty;
}

bool Tensor::sameValue(const Tensor& o) const {
  if (dtype_ != o.dtype_ || dims_ != o.dims_) return false;
  if (dtype_ == DType::String) return strings() == o.strings();
  if (byteSize() != o.byteSize()) return false;
  return byteSize() == 0 || std::memcmp(raw(), o.raw(), byteSize()) == 0;
}

}  // namespace mopt
