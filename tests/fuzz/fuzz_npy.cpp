// Fuzz target: .npy bytes -> parseNpy; accepted arrays must survive encodeNpy -> parseNpy.
#include "FuzzCheck.h"

#include "data/Npy.h"
#include "ir/Error.h"

#include <cstddef>
#include <cstdint>

using namespace mopt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Tensor t;
  try {
    t = parseNpy(Buffer::copyOf(data, size), "fuzz.npy");
  } catch (const Error&) {
    return 0;
  }
  // Read every byte the tensor claims (a view past the input shows up under ASan).
  unsigned sum = 0;
  for (uint64_t i = 0; i < t.byteSize(); ++i)
    sum += t.raw()[i];
  for (const auto& s : t.strings())
    sum += static_cast<unsigned>(s.size());
  (void)sum;
  std::string again = encodeNpy(t);
  Tensor back = parseNpy(Buffer::copyOf(again.data(), again.size()), "fuzz.rt.npy");
  // Strings may be re-spelled (bytes become UTF-32, invalid UTF-8 is not preserved).
  if (t.dtype() != DType::String)
    fuzz::check(back.sameValue(t), "an array changes over encodeNpy -> parseNpy");
  else
    fuzz::check(back.dims() == t.dims(), "a string array changes shape over a round trip");
  return 0;
}
