// Typed errors: every failure mopt reports carries a kind that maps to a documented exit code.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace mopt {

// The numeric values are the CLI exit codes (docs/cli.md).
enum class ErrorKind {
  Usage = 1,     // bad flags, bad pipeline text, unknown pass or option
  Input = 2,     // malformed or unsupported model / data file
  Pass = 3,      // a pass failed or broke the IR
  Internal = 70  // a bug in mopt (an invariant the code itself should keep)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

template <typename... Args>
[[noreturn]] void fail(ErrorKind kind, fmt::format_string<Args...> f, Args&&... args) {
  throw Error(kind, fmt::format(f, std::forward<Args>(args)...));
}

// Input errors are by far the most common; keep the call sites short.
template <typename... Args>
[[noreturn]] void failInput(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(ErrorKind::Input, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace mopt
