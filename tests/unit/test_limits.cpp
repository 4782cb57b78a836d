// What an ONNX file may declare is limited (OnnxLoadOptions, the --max-* flags): each limit stops
// the load with one error that names the flag, before anything is allocated for the excess.
#include "frontend/onnx/Onnx.h"
#include "frontend/onnx/OnnxImport.h"
#include "frontend/onnx/Wire.h"
#include "ir/Error.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace mopt;

namespace {

// Relu(x + w0 + w1) on a [4] input, one float initializer of 16 bytes each, a name of 40 chars,
// and a Constant holding a string tensor of 5 elements.
Model smallModel() {
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* x = g.addInput("x", Type::tensor(DType::F32, Shape{Dim::known(4)}));
  Value* w0 =
      g.addInitializer("w0", Tensor::fromVector(DType::F32, {4}, std::vector<float>{1, 2, 3, 4}));
  Value* w1 = g.addInitializer(std::string(40, 'w'),
                               Tensor::fromVector(DType::F32, {4}, std::vector<float>{0, 0, 0, 1}));
  Node* a0 = g.appendNode("Add");
  a0->addInput(x);
  a0->addInput(w0);
  Node* a1 = g.appendNode("Add");
  a1->addInput(a0->addOutput("s0"));
  a1->addInput(w1);
  Node* r = g.appendNode("Relu");
  r->addInput(a1->addOutput("s1"));
  Value* y = r->addOutput("y");
  y->setType(Type::tensor(DType::F32, Shape{Dim::known(4)}));
  g.addOutput(y);
  Node* c = g.appendNode("Constant");
  c->setAttr(Attribute::makeTensor("value", Tensor::fromStrings({5}, {"a", "b", "c", "d", "e"})));
  Value* labels = c->addOutput("labels");
  labels->setType(Type::tensor(DType::String, Shape{Dim::known(5)}));
  g.addOutput(labels);
  return m;
}

Model load(const std::string& bytes, const OnnxLoadOptions& opts) {
  return loadOnnxBytes(Buffer::copyOf(bytes.data(), bytes.size()), "m.onnx", "", opts);
}

}  // namespace

TEST_CASE("declared sizes, counts and nesting are limited; the error names the flag", "[limits]") {
  const std::string bytes = serializeOnnx(smallModel());
  REQUIRE_NOTHROW(load(bytes, {}));  // the defaults let a real model through

  OnnxLoadOptions o;
  o.max_tensor_bytes = 15;
  CHECK_THROWS_WITH(load(bytes, o), Catch::Contains("m.onnx") && Catch::Contains("w0") &&
                                        Catch::Contains("--max-tensor-bytes"));
  o = {};
  o.max_total_bytes = 24;  // each tensor fits, both together do not
  CHECK_THROWS_WITH(load(bytes, o), Catch::Contains("--max-total-bytes"));
  o = {};
  o.max_nodes = 3;
  CHECK_THROWS_WITH(load(bytes, o), Catch::Contains("more than 3 nodes (--max-nodes)"));
  o = {};
  o.max_string_bytes = 39;
  CHECK_THROWS_WITH(load(bytes, o), Catch::Contains("--max-string-bytes"));
  o = {};
  o.max_string_elements = 4;
  CHECK_THROWS_WITH(load(bytes, o), Catch::Contains("--max-string-elements"));
  o = {};
  o.max_nesting = 2;  // model -> graph -> node -> attribute -> tensor is deeper
  CHECK_THROWS_WITH(load(bytes, o), Catch::Contains("--max-nesting"));

  // Exactly at each limit still loads: the limits are inclusive.
  o = {};
  o.max_tensor_bytes = 16;
  o.max_total_bytes = 32;
  o.max_nodes = 4;
  o.max_string_bytes = 40;
  o.max_string_elements = 5;
  CHECK_NOTHROW(load(bytes, o));
}

TEST_CASE("a declared shape is checked before its data is looked for", "[limits]") {
  using onnx_wire::PTensor;
  ExternalDataResolver ext("m.onnx", "");
  OnnxLoadOptions defaults;
  PTensor huge;  // 2^62 floats and no data at all: refused by size, nothing allocated
  huge.data_type = static_cast<int32_t>(DType::F32);
  huge.dims = {int64_t{1} << 31, int64_t{1} << 31};
  CHECK_THROWS_WITH(importOnnxTensor(huge, "m.onnx", ext, &defaults),
                    Catch::Contains("--max-tensor-bytes"));
  PTensor wraps;  // the element count itself overflows int64
  wraps.data_type = static_cast<int32_t>(DType::F32);
  wraps.dims = {int64_t{1} << 40, int64_t{1} << 40};
  CHECK_THROWS_WITH(importOnnxTensor(wraps, "m.onnx", ext, &defaults),
                    Catch::Contains("product overflows"));
  PTensor negative;
  negative.data_type = static_cast<int32_t>(DType::F32);
  negative.dims = {4, -1};
  CHECK_THROWS_WITH(importOnnxTensor(negative, "m.onnx", ext, &defaults),
                    Catch::Contains("negative dimension"));
}
