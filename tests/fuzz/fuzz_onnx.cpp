// Fuzz target: ONNX bytes -> parse, import, verify -> serialize -> load again (must round-trip).
#include "FuzzCheck.h"

#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "ir/Printer.h"

#include <cstddef>
#include <cstdint>

using namespace mopt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  OnnxLoadOptions opts;  // the shipped defaults: limits must hold without tuning
  Model m;
  try {
    m = loadOnnxBytes(Buffer::copyOf(data, size), "fuzz.onnx", "", opts);
  } catch (const Error&) {
    return 0;  // rejected with a clear error: the expected outcome for most inputs
  }
  // A model mopt accepted must be written so that mopt (and so every reader) accepts it again,
  // and the second round trip must be byte-identical (docs/cli.md promises both).
  std::string text = printModel(m);
  std::string bytes = serializeOnnx(m);
  Model back;
  try {
    back = loadOnnxBytes(Buffer::copyOf(bytes.data(), bytes.size()), "fuzz.rt.onnx", "", opts);
  } catch (const Error& e) {
    fuzz::invariantFailed(std::string("an accepted model does not load after saving: ") + e.what());
  }
  fuzz::check(serializeOnnx(back) == bytes, "the second round trip is not byte-identical");
  fuzz::check(printModel(back) == text, "the printed IR changes over a round trip");
  return 0;
}
