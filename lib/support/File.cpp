// Atomic output files and path helpers (POSIX).
#include "support/File.h"

#include "ir/Error.h"
#include "ir/Tensor.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace mopt {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
    temp_ = fmt::format("{}.tmp{}.{}", path_, ::getpid(), attempt);
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0 && errno != EEXIST)
      fail(ErrorKind::Input, "{}: cannot create output file: {}", path_, std::strerror(errno));
  }
  if (fd_ < 0) fail(ErrorKind::Input, "{}: cannot create a temporary file beside it", path_);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_.c_str());
  }
}

void AtomicFile::write(const void* data, uint64_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, std::min<uint64_t>(size, uint64_t{1} << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(ErrorKind::Input, "{}: write failed: {}", path_, std::strerror(errno));
    p += n;
    size -= static_cast<uint64_t>(n);
    size_ += static_cast<uint64_t>(n);
  }
}

void AtomicFile::writeBuffer(const Buffer& buf, uint64_t offset, uint64_t size) {
  if (buf.file() && size >= (uint64_t{64} << 10)) {
    loff_t in = static_cast<loff_t>(buf.fileOffset() + offset);
    uint64_t left = size;
    while (left > 0) {
      ssize_t n = ::copy_file_range(buf.file()->fd(), &in, fd_, nullptr,
                                    std::min<uint64_t>(left, uint64_t{1} << 30), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // not supported here (or a short file): finish with plain writes
      left -= static_cast<uint64_t>(n);
      size_ += static_cast<uint64_t>(n);
    }
    if (left == 0) return;
    write(buf.data() + offset + (size - left), left);
    return;
  }
  write(buf.data() + offset, size);
}

void AtomicFile::padTo(uint64_t alignment) {
  static const char zeros[4096] = {};
  while (size_ % alignment)
    write(zeros, std::min<uint64_t>(alignment - size_ % alignment, sizeof zeros));
}

void AtomicFile::commit(bool fsync) {
  if (fsync && ::fsync(fd_) != 0)
    fail(ErrorKind::Input, "{}: fsync failed: {}", path_, std::strerror(errno));
  if (::close(fd_) != 0) {
    fd_ = -1;
    ::unlink(temp_.c_str());
    fail(ErrorKind::Input, "{}: close failed: {}", path_, std::strerror(errno));
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(temp_.c_str());
    fail(ErrorKind::Input, "{}: cannot rename the finished file into place: {}", path_,
         std::strerror(err));
  }
}

std::string dirName(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string baseName(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool fileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool sameFile(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

std::string readTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Input, "{}: cannot open: {}", path, std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace mopt
