// Fuzz target: .npz bytes -> parseNpz (zip directory, zip64, deflate, each member's .npy).
#include "FuzzCheck.h"

#include "data/Npy.h"
#include "ir/Error.h"

#include <cstddef>
#include <cstdint>

using namespace mopt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  NamedTensors arrays;
  try {
    arrays = parseNpz(Buffer::copyOf(data, size), "fuzz.npz");
  } catch (const Error&) {
    return 0;
  }
  // Read every byte each array claims (a view past the input shows up under ASan).
  unsigned sum = 0;
  for (const auto& [name, t] : arrays) {
    sum += static_cast<unsigned>(name.size());
    for (uint64_t i = 0; i < t.byteSize(); ++i)
      sum += t.raw()[i];
    for (const auto& s : t.strings())
      sum += static_cast<unsigned>(s.size());
  }
  (void)sum;
  return 0;
}
