// The ONNX frontend: wire format, lossless round trips, typed data, external data and its safety.
#include "frontend/onnx/Onnx.h"
#include "frontend/onnx/OnnxImport.h"
#include "frontend/onnx/Wire.h"
#include "ir/Error.h"
#include "ir/Printer.h"
#include "ir/TensorUtil.h"
#include "support/File.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

using namespace mopt;
using namespace mopt::onnx_wire;

namespace {

std::shared_ptr<const Buffer> bytesOf(const std::string& s) {
  return Buffer::copyOf(s.data(), s.size());
}

Model parse(const std::string& bytes) {
  return loadOnnxBytes(bytesOf(bytes), "mem.onnx", "");
}

std::string tempDir() {
  char tmpl[] = "/tmp/mopt_test_XXXXXX";
  return ::mkdtemp(tmpl);
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// MatMul(x, W) + b inside the then-branch of an If whose weights live in Constant nodes, plus
// IR-10 details: node metadata, overload, a model-local function and an int4 initializer.
Model richModel() {
  Model m;
  m.ir_version = 10;
  m.opset_imports = {{"", 17}, {"custom.domain", 1}};
  m.producer_name = "test";
  m.metadata_props = {{"k", "v"}};
  Graph& g = *m.graph;
  g.setName("main");
  Value* x = g.addInput("x", Type::tensor(DType::F32, Shape{Dim::symbol("N"), Dim::known(3)}));
  Value* cond = g.addInput("cond", Type::tensor(DType::Bool, Shape{}));
  g.addInitializer("packed", Tensor::fromBytes(DType::I4, {3}, "\x21\x03", 2));
  Node* iff = g.appendNode("If");
  iff->setName("branch");
  iff->addInput(cond);
  for (const char* name : {"then_branch", "else_branch"}) {
    auto body = std::make_unique<Graph>(name);
    Node* c = body->appendNode("Constant");
    c->setAttr(Attribute::makeTensor(
        "value", Tensor::fromVector(DType::F32, {3, 2}, std::vector<float>{1, 2, 3, 4, 5, 6})));
    Value* w = c->addOutput(std::string(name) + "_w");
    Node* mm = body->appendNode("MatMul");
    mm->addInput(x);
    mm->addInput(w);
    mm->setMetadataProps({{"origin", name}});
    Value* out = mm->addOutput(std::string(name) + "_y");
    out->setType(Type::tensor(DType::F32, Shape{Dim::symbol("N"), Dim::known(2)}));
    body->addOutput(out);
    iff->setAttr(Attribute::makeGraph(name, std::move(body)));
  }
  Value* y = iff->addOutput("y");
  y->setType(Type::tensor(DType::F32, Shape{Dim::symbol("N"), Dim::known(2)}));
  Node* custom = g.appendNode("Scale", "custom.domain");
  custom->addInput(y);
  custom->setOverload("v2");
  custom->setAttr(Attribute::makeFloat("alpha", 0.5f));
  Value* z = custom->addOutput("z");
  z->setType(Type::tensor(DType::F32, Shape{Dim::symbol("N"), Dim::known(2)}));
  g.addOutput(z);

  Function f;
  f.name = "Scale";
  f.domain = "custom.domain";
  f.overload = "v2";
  f.opset_imports = {{"", 17}};
  f.attribute_names = {"alpha"};
  f.body = std::make_unique<Graph>("Scale");
  Value* fx = f.body->addInput("X", Type());
  Node* mul = f.body->appendNode("Identity");
  mul->addInput(fx);
  f.body->addOutput(mul->addOutput("Y"));
  m.functions.push_back(std::move(f));
  return m;
}

}  // namespace

TEST_CASE("a model with subgraphs, functions and IR-10 fields round-trips losslessly", "[onnx]") {
  Model m = richModel();
  std::string first = serializeOnnx(m);
  Model back = parse(first);
  CHECK(printModel(back) == printModel(m));
  CHECK(back.functions.size() == 1);
  CHECK(back.functions[0].overload == "v2");
  std::string second = serializeOnnx(back);
  CHECK(first == second);
}

TEST_CASE("unknown fields survive a round trip", "[onnx]") {
  Model m = richModel();
  // Field 99, varint 7, appended to the ModelProto and to a node: unknown to every ONNX version.
  m.unknown_fields = std::string("\x98\x06\x07", 3);
  (*m.graph->nodes().begin())->unknown_fields = std::string("\x98\x06\x09", 3);
  Model back = parse(serializeOnnx(m));
  CHECK(back.unknown_fields == m.unknown_fields);
  CHECK((*back.graph->nodes().begin())->unknown_fields == std::string("\x98\x06\x09", 3));
}

TEST_CASE("typed data fields decode to the same bytes as raw_data", "[onnx]") {
  PTensor t;
  t.data_type = static_cast<int32_t>(DType::F16);
  t.dims = {3};
  t.int32_data = {0x3c00, 0x4000, 0xbc00};  // 1, 2, -1 as half bits
  ExternalDataResolver ext("mem", "");
  Tensor h = importOnnxTensor(t, "mem", ext);
  CHECK(elementAsDouble(h, 1) == 2.0);
  CHECK(elementAsDouble(h, 2) == -1.0);

  PTensor i4;
  i4.data_type = static_cast<int32_t>(DType::I4);
  i4.dims = {3};
  i4.int32_data = {0xF2, 0x07};  // packed two per entry
  Tensor packed = importOnnxTensor(i4, "mem", ext);
  CHECK(elementAsInt(packed, 1) == -1);

  PTensor bad;
  bad.data_type = static_cast<int32_t>(DType::F32);
  bad.dims = {4};
  bad.float_data = {1, 2};
  CHECK_THROWS_WITH(importOnnxTensor(bad, "mem", ext),
                    Catch::Contains("needs 4 values in float_data but has 2"));
}

TEST_CASE("malformed protobuf is an input error naming the offset", "[onnx]") {
  std::string good = serializeOnnx(richModel());
  CHECK_THROWS_WITH(parse(""), Catch::Contains("file is empty"));
  CHECK_THROWS_WITH(parse(good.substr(0, good.size() / 2)),
                    Catch::Contains("malformed ONNX protobuf"));
  CHECK_THROWS_WITH(parse(std::string("\x3a\xff\xff\xff\xff\x0f", 6)),
                    Catch::Contains("runs past the end"));
  CHECK_THROWS_WITH(parse(std::string("\x08\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 12)),
                    Catch::Contains("varint longer than 10 bytes"));
  CHECK_THROWS_WITH(parse(std::string("\x0b", 1)), Catch::Contains("wire type 3"));
  // Graph -> node -> attribute -> graph ... nested far deeper than any real model.
  auto wrap = [](char tag, const std::string& payload) {
    std::string out(1, tag);
    for (uint64_t n = payload.size();; n >>= 7) {
      out += static_cast<char>((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
      if (n < 0x80) break;
    }
    return out + payload;
  };
  std::string graph;
  for (int level = 0; level < 40; ++level)
    graph = wrap('\x0a', wrap('\x2a', wrap('\x32', graph)));  // node{attribute{g{...}}}
  CHECK_THROWS_WITH(parse(wrap('\x3a', graph)), Catch::Contains("nest deeper than 64 levels"));
  try {
    parse(good.substr(0, good.size() - 3));
    FAIL("truncated model parsed");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Input);
  }
}

TEST_CASE("external data is written, mapped back and kept on resave", "[onnx][external]") {
  std::string dir = tempDir();
  Model m;
  m.opset_imports = {{"", 17}};
  Value* x =
      m.graph->addInput("x", Type::tensor(DType::F32, Shape{Dim::known(1), Dim::known(512)}));
  std::vector<float> w(512 * 256);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = static_cast<float>(i % 97) * 0.01f;
  Value* wv = m.graph->addInitializer("w", Tensor::fromVector(DType::F32, {512, 256}, w));
  Node* mm = m.graph->appendNode("MatMul");
  mm->addInput(x);
  mm->addInput(wv);
  Value* y = mm->addOutput("y");
  y->setType(Type::tensor(DType::F32, Shape{Dim::known(1), Dim::known(256)}));
  m.graph->addOutput(y);

  OnnxSaveOptions always;
  always.external_data = ExternalDataMode::Always;
  auto saved = saveOnnx(m, dir + "/m.onnx", always);
  CHECK(saved.data_file == "m.onnx.data");
  CHECK(saved.external_bytes >= w.size() * 4);
  Model back = loadOnnx(dir + "/m.onnx");
  CHECK(back.source_external_data);
  const Tensor& t = back.graph->initializers()[0]->initializer();
  REQUIRE(t.buffer()->file() != nullptr);  // mapped, not copied
  CHECK(t.buffer()->fileOffset() % 4096 == 0);
  CHECK(t.sameValue(wv->initializer()));

  // Auto keeps the layout of an external-data input...
  saveOnnx(back, dir + "/again.onnx");
  CHECK(fileExists(dir + "/again.onnx.data"));
  // ...and switches to external data when inline output would pass the limit.
  OnnxSaveOptions small_limit;
  small_limit.inline_limit = 1000;
  auto auto_saved = saveOnnx(m, dir + "/big.onnx", small_limit);
  CHECK(auto_saved.data_file == "big.onnx.data");
  OnnxSaveOptions never = small_limit;
  never.external_data = ExternalDataMode::Never;
  CHECK_THROWS_WITH(saveOnnx(m, dir + "/never.onnx", never), Catch::Contains("2 GB limit"));
  CHECK_FALSE(fileExists(dir + "/never.onnx"));
}

TEST_CASE("external data locations cannot leave the model's folder", "[onnx][external]") {
  std::string dir = tempDir();
  ::mkdir((dir + "/model").c_str(), 0755);
  writeFile(dir + "/secret.bin", std::string(64, 'x'));
  writeFile(dir + "/model/ok.bin", std::string(64, '\0'));
  ::symlink((dir + "/secret.bin").c_str(), (dir + "/model/link.bin").c_str());

  auto modelWith = [](const std::string& location, const std::string& length) {
    PModel pm;
    pm.ir_version = 8;
    pm.opset_import.push_back({"", 17});
    pm.has_graph = true;
    PTensor t;
    t.name = "w";
    t.data_type = 1;
    t.dims = {16};
    t.data_location = 1;
    t.external_data = {{"location", location}, {"offset", "0"}, {"length", length}};
    pm.graph.initializer.push_back(std::move(t));
    PValueInfo out;
    out.name = "w";
    out.has_type = true;
    out.type.kind = 1;
    out.type.elem_type = 1;
    pm.graph.output.push_back(std::move(out));
    return serializeModel(pm).flatten();
  };
  auto load = [&](const std::string& location, const std::string& length = "64") {
    writeFile(dir + "/model/m.onnx", modelWith(location, length));
    return loadOnnx(dir + "/model/m.onnx");
  };
  CHECK_NOTHROW(load("ok.bin"));
  CHECK_THROWS_WITH(load("../secret.bin"), Catch::Contains("escapes the model's folder"));
  CHECK_THROWS_WITH(load("sub/../../secret.bin"), Catch::Contains("escapes the model's folder"));
  CHECK_THROWS_WITH(load(dir + "/secret.bin"), Catch::Contains("absolute path"));
  CHECK_THROWS_WITH(load("link.bin"), Catch::Contains("outside the model's folder"));
  CHECK_THROWS_WITH(load("missing.bin"), Catch::Contains("does not exist"));
  CHECK_THROWS_WITH(load("ok.bin", "32"),
                    Catch::Contains("needs 64 bytes but its external data length is 32"));
  writeFile(dir + "/model/short.bin", std::string(10, '\0'));
  CHECK_THROWS_WITH(load("short.bin"), Catch::Contains("which has only 10 bytes"));
}

TEST_CASE("nodes out of order are sorted; cycles and undefined inputs are errors", "[onnx]") {
  auto model = [](std::vector<std::pair<std::string, std::string>> edges) {
    PModel pm;
    pm.ir_version = 8;
    pm.opset_import.push_back({"", 17});
    pm.has_graph = true;
    auto info = [](const char* name) {
      PValueInfo v;
      v.name = name;
      v.has_type = true;
      v.type.kind = 1;
      v.type.elem_type = 1;
      return v;
    };
    pm.graph.input.push_back(info("x"));
    for (auto& [from, to] : edges) {
      PNode n;
      n.op_type = "Relu";
      n.input = {from};
      n.output = {to};
      pm.graph.node.push_back(std::move(n));
    }
    pm.graph.output.push_back(info("c"));
    return serializeModel(pm).flatten();
  };
  Model sorted = parse(model({{"b", "c"}, {"a", "b"}, {"x", "a"}}));
  CHECK((*sorted.graph->nodes().begin())->input(0)->name() == "x");
  CHECK_THROWS_WITH(parse(model({{"x", "a"}, {"c", "b"}, {"b", "c"}})), Catch::Contains("cycle"));
  CHECK_THROWS_WITH(parse(model({{"x", "a"}, {"nope", "c"}})),
                    Catch::Contains("reads 'nope', which no node, input or initializer defines"));
}

TEST_CASE("sparse initializers, float8 and string tensors round-trip", "[onnx]") {
  Model m;
  m.ir_version = 9;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  SparseTensor sp;
  sp.values = Tensor::fromVector(DType::F32, {2}, std::vector<float>{1.5f, -2});
  sp.values.setName("sp");
  sp.indices = Tensor::fromVector(DType::I64, {2}, std::vector<int64_t>{1, 5});
  sp.dims = {2, 3};
  Value* s = g.addSparseInitializer("sp", sp);
  g.addInitializer("f8", Tensor::fromBytes(DType::F8E4M3FN, {3}, "\x38\x40\xb8", 3));
  Value* str = g.addInitializer("names", Tensor::fromStrings({2}, {"a", "bé"}));
  g.addOutput(s);
  g.addOutput(str);
  std::string bytes = serializeOnnx(m);
  Model back = parse(bytes);
  REQUIRE(back.graph->sparseInitializers().size() == 1);
  const SparseTensor& b = *back.graph->sparseInitializers()[0]->sparseInitializer();
  CHECK(b.values.sameValue(sp.values));
  CHECK(b.indices.sameValue(sp.indices));
  CHECK(b.dims == sp.dims);
  CHECK(elementAsDouble(back.graph->initializers()[0]->initializer(), 1) == 2.0);
  CHECK(back.graph->initializers()[1]->initializer().strings()[1] == "bé");
  CHECK(serializeOnnx(back) == bytes);
}
