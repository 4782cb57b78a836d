// File-system helpers: atomic output files, file-to-file copies, path pieces.
#pragma once

#include <cstdint>
#include <string>

namespace mopt {

class Buffer;

// Writes to a temporary file beside `path` and renames it over `path` only on commit(), so a
// reader never sees a half-written file. The destructor removes an uncommitted temp file.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, uint64_t size);
  // Appends bytes from a buffer; when the buffer maps a file region the kernel copies
  // file-to-file (copy_file_range) and the pages never enter this process.
  void writeBuffer(const Buffer& buf, uint64_t offset, uint64_t size);
  void padTo(uint64_t alignment);
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // fsync (optional) + rename. After commit the object owns nothing.
  void commit(bool fsync);

 private:
  std::string path_, temp_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

std::string dirName(const std::string& path);  // "." when there is no slash
std::string baseName(const std::string& path);
bool fileExists(const std::string& path);
// True when both paths name the same existing file (same device and inode).
bool sameFile(const std::string& a, const std::string& b);
std::string readTextFile(const std::string& path);  // throws Error(Input)

}  // namespace mopt
