// Fuzz target: pipeline text -> parsePipeline with the real registry; the canonical form must
// parse back to itself and every pass must be constructible from its parsed options.
#include "FuzzCheck.h"

#include "ir/Error.h"
#include "pass/Pipeline.h"
#include "passes/Registry.h"

#include <cstddef>
#include <cstdint>

using namespace mopt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const PassRegistry& reg = passRegistry();
  std::string text(reinterpret_cast<const char*>(data), size);
  Pipeline p;
  try {
    p = parsePipeline(text, reg);
  } catch (const Error&) {
    return 0;
  }
  std::string canonical = p.canonical();
  Pipeline back;
  try {
    back = parsePipeline(canonical, reg);
  } catch (const Error& e) {
    fuzz::invariantFailed("the canonical pipeline does not parse: " + canonical + "\n" + e.what());
  }
  fuzz::check(back.canonical() == canonical, "the canonical pipeline is not a fixed point: " +
                                                 canonical + " -> " + back.canonical());
  for (const auto& inv : p.passes) {
    try {
      inv.entry->create(inv.options);
    } catch (const Error&) {
      // A pass may reject a combination of valid option values with a clear error.
    }
  }
  return 0;
}
