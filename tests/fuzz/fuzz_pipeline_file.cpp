// Fuzz target: pipeline file text (YAML or JSON) -> loadPipelineSpecText with the real registry.
#include "FuzzCheck.h"

#include "driver/PipelineSpec.h"
#include "ir/Error.h"
#include "passes/Registry.h"

#include <cstddef>
#include <cstdint>

using namespace mopt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const PassRegistry& reg = passRegistry();
  std::string text(reinterpret_cast<const char*>(data), size);
  PipelineSpec spec;
  try {
    spec = loadPipelineSpecText(text, "fuzz/pipeline.yaml", reg);
  } catch (const Error&) {
    return 0;
  }
  // The file form and the text form must describe the same pipeline.
  std::string canonical = spec.pipeline.canonical();
  Pipeline back;
  try {
    back = parsePipeline(canonical, reg);
  } catch (const Error& e) {
    fuzz::invariantFailed("the canonical pipeline does not parse: " + canonical + "\n" + e.what());
  }
  fuzz::check(back.canonical() == canonical, "the canonical pipeline is not a fixed point: " +
                                                 canonical + " -> " + back.canonical());
  for (const auto& inv : spec.pipeline.passes) {
    try {
      inv.entry->create(inv.options);
    } catch (const Error&) {
    }
  }
  return 0;
}
