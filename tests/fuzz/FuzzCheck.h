// Shared by the fuzz targets: a property check that reports like a crash (libFuzzer keeps the
// input).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace mopt::fuzz {

// A broken invariant on input the loaders accepted: abort, so libFuzzer saves the input and the
// replay driver fails. Exceptions other than mopt::Error are left to escape for the same reason.
[[noreturn]] inline void invariantFailed(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant failed: %s\n", what.c_str());
  std::abort();
}

inline void check(bool ok, const std::string& what) {
  if (!ok) invariantFailed(what);
}

}  // namespace mopt::fuzz
