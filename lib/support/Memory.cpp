// Peak RSS from /proc/self/status; reset through /proc/self/clear_refs ("5", Linux >= 4.0).
#include "support/Memory.h"

#include <cstdio>
#include <cstring>

namespace mopt {

bool resetPeakRss() {
  FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f) return false;
  bool ok = std::fputs("5", f) >= 0;
  ok = std::fclose(f) == 0 && ok;
  return ok;
}

uint64_t peakRssBytes() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  uint64_t kb = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "VmHWM:", 6) == 0) {
      std::sscanf(line + 6, "%lu", &kb);
      break;
    }
  std::fclose(f);
  return kb * 1024;
}

}  // namespace mopt
