// Process memory figures for reports: peak resident set size, resettable per phase (Linux).
#pragma once

#include <cstdint>

namespace mopt {

// Resets the kernel's peak-RSS mark to the current RSS (/proc/self/clear_refs), so the next
// peakRssBytes() is the peak of what ran in between. Returns false where not supported.
bool resetPeakRss();
// VmHWM: the peak resident set size since start or the last reset; 0 if unknown.
uint64_t peakRssBytes();

}  // namespace mopt
