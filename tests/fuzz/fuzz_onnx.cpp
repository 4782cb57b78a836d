// Fuzz target: ONNX bytes -> parse, import, verify -> serialize -> load again (must round-trip).
#include "FuzzCheck.h"

#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "ir/Printer.h"

#include <cstddef>
#include <cstdint>

using namespace mopt;

namespace {

// Every tensor the loader accepted must hold exactly the bytes its dtype and dims need (computed
// here without overflow), and all of them must be readable (a view past the input trips ASan).
void checkTensor(const Tensor& t) {
  if (!t.isDefined()) return;
  fuzz::check(t.numel() >= 0, "a tensor has a negative element count");
  if (t.dtype() == DType::String) {
    fuzz::check(t.strings().size() == static_cast<uint64_t>(t.numel()),
                "a string tensor's element count differs from its dims");
    return;
  }
  unsigned __int128 bits = static_cast<unsigned __int128>(t.numel()) * dtypeBits(t.dtype());
  fuzz::check(bits % 8 == 0 || dtypeBits(t.dtype()) == 4, "a tensor of a non-byte element size");
  fuzz::check((bits + 7) / 8 == t.byteSize(), "a tensor's bytes do not match its dtype and dims");
  unsigned sum = 0;
  for (uint64_t i = 0; i < t.byteSize(); ++i)
    sum += t.raw()[i];
  (void)sum;
}

void checkAttribute(const Attribute& a) {
  checkTensor(a.t);
  checkTensor(a.sparse.values);
  checkTensor(a.sparse.indices);
  for (const auto& t : a.tensors)
    checkTensor(t);
  for (const auto& s : a.sparse_tensors) {
    checkTensor(s.values);
    checkTensor(s.indices);
  }
}

void checkTensors(const Model& m) {
  forEachGraph(m, [](const Graph& g) {
    for (const Value* v : g.initializers())
      checkTensor(v->initializer());
    for (const Value* v : g.sparseInitializers()) {
      checkTensor(v->sparseInitializer()->values);
      checkTensor(v->sparseInitializer()->indices);
    }
    for (const Node* n : g.nodes())
      for (const auto& a : n->attributes())
        checkAttribute(a);
  });
  for (const auto& f : m.functions)
    for (const auto& a : f.attribute_defaults)
      checkAttribute(a);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  OnnxLoadOptions opts;  // the shipped defaults: limits must hold without tuning
  Model m;
  try {
    m = loadOnnxBytes(Buffer::copyOf(data, size), "fuzz.onnx", "", opts);
  } catch (const Error&) {
    return 0;  // rejected with a clear error: the expected outcome for most inputs
  }
  checkTensors(m);
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
