// convert-float16 / convert-bfloat16 on small hand-built graphs (the pass manager verifies every
// result against the ONNX schemas, so a wrongly typed edge fails the test).
#include "data/Npy.h"
#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "ir/Printer.h"
#include "ir/TensorUtil.h"
#include "pass/PassManager.h"
#include "passes/Registry.h"
#include "passes/quantize/ConvertFloat16.h"
#include "passes/quantize/OrtCpuSupport.h"

#include <catch2/catch.hpp>

#include <unistd.h>
#include <cstdio>
#include <string>

using namespace mopt;

namespace {

std::vector<PassStats> runPipeline(Model& m, const std::string& text) {
  PassManagerOptions pmo;
  pmo.schemas = &onnxSchemas();
  return PassManager(pmo).run(parsePipeline(text, passRegistry()), m);
}

Value* f32Input(Graph& g, const std::string& name, std::vector<int64_t> dims) {
  return g.addInput(name, Type::tensor(DType::F32, shapeOf(dims)));
}

Node* op(Graph& g, const std::string& type, std::vector<Value*> ins, const std::string& out,
         const std::string& name = "") {
  Node* n = g.appendNode(type);
  n->setName(name.empty() ? out : name);
  for (Value* v : ins)
    n->addInput(v);
  n->addOutput(out);
  return n;
}

void output(Graph& g, Value* v, std::vector<int64_t> dims) {
  v->setType(Type::tensor(DType::F32, shapeOf(dims)));
  g.addOutput(v);
}

Node* findNode(const Graph& g, const std::string& name) {
  for (Node* n : g.nodes())
    if (n->name() == name) return n;
  return nullptr;
}

std::vector<Node*> nodesOf(const Graph& g, const std::string& op) {
  std::vector<Node*> out;
  for (Node* n : g.nodes())
    if (n->opType() == op) out.push_back(n);
  return out;
}

int64_t counter(const PassStats& s, const std::string& key) {
  auto it = s.counters.find(key);
  return it == s.counters.end() ? 0 : it->second;
}

bool noteContains(const PassStats& s, const std::string& text) {
  for (const auto& n : s.notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

// x -> Relu -> Softmax -> Add(w) -> y
Model mixedModel() {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* x = f32Input(g, "x", {2, 4});
  Value* w = g.addInitializer("w", fromDoubles(DType::F32, {4}, {0.5, -1, 2, 0.25}));
  Node* relu = op(g, "Relu", {x}, "r");
  Node* sm = op(g, "Softmax", {relu->output(0)}, "s");
  Node* add = op(g, "Add", {sm->output(0), w}, "y");
  output(g, add->output(0), {2, 4});
  return m;
}

}  // namespace

TEST_CASE("convert-float16 inserts Casts where a blocked node meets converted ones",
          "[passes][float16]") {
  Model m = mixedModel();
  Graph& g = *m.graph;
  auto stats = runPipeline(m, "convert-float16{block-ops=[Softmax]}");
  const PassStats& s = stats[0];
  CHECK(s.changed);
  CHECK(counter(s, "nodes-converted") == 2);
  CHECK(counter(s, "nodes-kept-float32") == 1);
  CHECK(counter(s, "casts-inserted") == 2);
  CHECK(noteContains(s, "blocked by block-ops"));
  // The interface became float16 (keep-io-types=false), names unchanged.
  CHECK(g.inputs()[0]->name() == "x");
  CHECK(g.inputs()[0]->type().elemType() == DType::F16);
  CHECK(g.outputs()[0]->name() == "y");
  CHECK(g.outputs()[0]->type().elemType() == DType::F16);
  // Relu(f16) -> Cast(to f32) -> Softmax -> Cast(to f16) -> Add(f16 weight).
  Node* sm = findNode(g, "s");
  REQUIRE(sm);
  Node* before = sm->input(0)->producer();
  REQUIRE(before);
  CHECK(before->opType() == "Cast");
  CHECK(before->intAttr("to", 0) == static_cast<int64_t>(DType::F32));
  CHECK(before->input(0)->producer() == findNode(g, "r"));
  Node* add = findNode(g, "y");
  REQUIRE(add);
  Node* after = add->input(0)->producer();
  REQUIRE(after);
  CHECK(after->opType() == "Cast");
  CHECK(after->intAttr("to", 0) == static_cast<int64_t>(DType::F16));
  CHECK(after->input(0) == sm->output(0));
  REQUIRE(add->input(1)->isInitializer());
  CHECK(add->input(1)->name() == "w");
  CHECK(add->input(1)->initializer().dtype() == DType::F16);
  CHECK(halfToFloat(add->input(1)->initializer().data<uint16_t>()[1]) == -1.0f);
  // Nothing left to convert: a second run adds no Casts.
  auto again = runPipeline(m, "convert-float16{block-ops=[Softmax]}");
  CHECK(counter(again[0], "casts-inserted") == 0);
  CHECK(counter(again[0], "nodes-converted") == 0);
}

TEST_CASE("convert-float16 keeps a shared weight in both types when one reader is blocked",
          "[passes][float16]") {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* x = f32Input(g, "x", {2, 3});
  Value* w = g.addInitializer("w", fromDoubles(DType::F32, {3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}));
  Node* a = op(g, "MatMul", {x, w}, "a", "mm_keep");
  Node* b = op(g, "MatMul", {x, w}, "b", "mm_convert");
  output(g, a->output(0), {2, 3});
  output(g, b->output(0), {2, 3});
  auto stats = runPipeline(m, "convert-float16{block-nodes=[mm_keep],keep-io-types=true}");
  CHECK(counter(stats[0], "weights-duplicated") == 1);
  // The blocked node still reads the float32 original, unchanged.
  Node* keep = findNode(g, "mm_keep");
  Node* conv = findNode(g, "mm_convert");
  REQUIRE(keep);
  REQUIRE(conv);
  CHECK(keep->input(1) == w);
  CHECK(w->initializer().dtype() == DType::F32);
  CHECK(toDoubles(w->initializer()) == std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  // The converted node reads a float16 copy.
  Value* w16 = conv->input(1);
  REQUIRE(w16->isInitializer());
  CHECK(w16 != w);
  CHECK(w16->name() == "w_fp16");
  CHECK(w16->initializer().dtype() == DType::F16);
  CHECK(toDoubles(w16->initializer()) == std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(noteContains(stats[0], "blocked by block-nodes"));
}

TEST_CASE("block-nodes takes regular expressions", "[passes][float16]") {
  Model m = mixedModel();
  auto stats = runPipeline(m, "convert-float16{block-nodes=[\"re:[rs]\"]}");
  CHECK(counter(stats[0], "nodes-converted") == 1);  // only the Add
  CHECK(counter(stats[0], "nodes-kept-float32") == 2);
  Model bad = mixedModel();
  CHECK_THROWS_AS(runPipeline(bad, "convert-float16{block-nodes=[\"re:(\"]}"), Error);
}

TEST_CASE("a weight beyond float16's range keeps its readers in float32", "[passes][float16]") {
  auto build = [] {
    Model m;
    m.opset_imports = {{"", 17}};
    Graph& g = *m.graph;
    Value* x = f32Input(g, "x", {3});
    Value* big = g.addInitializer("big", fromDoubles(DType::F32, {3}, {1, -70000, 2}));
    Value* ok = g.addInitializer("ok", fromDoubles(DType::F32, {3}, {1, 2, 3}));
    Node* mul = op(g, "Mul", {x, big}, "m");
    Node* add = op(g, "Add", {mul->output(0), ok}, "y");
    output(g, add->output(0), {3});
    return m;
  };
  Model m = build();
  Graph& g = *m.graph;
  auto stats = runPipeline(m, "convert-float16");
  CHECK(counter(stats[0], "nodes-converted") == 1);
  CHECK(counter(stats[0], "nodes-kept-float32") == 1);
  CHECK(noteContains(stats[0], "weight 'big' has values beyond float16's range"));
  Node* mul = findNode(g, "m");
  REQUIRE(mul);
  CHECK(mul->input(1)->initializer().dtype() == DType::F32);
  CHECK(toDoubles(mul->input(1)->initializer())[1] == -70000);
  // The float16 input reaches the float32 Mul through a Cast.
  REQUIRE(mul->input(0)->producer());
  CHECK(mul->input(0)->producer()->opType() == "Cast");
  CHECK(findNode(g, "y")->input(1)->initializer().dtype() == DType::F16);

  // bfloat16 has float32's range: everything converts.
  Model b = build();
  auto bs = runPipeline(b, "convert-bfloat16{runtime=any}");
  CHECK(counter(bs[0], "nodes-converted") == 2);
  CHECK(counter(bs[0], "nodes-kept-float32") == 0);
  CHECK(findNode(*b.graph, "m")->input(1)->initializer().dtype() == DType::BF16);
}

TEST_CASE("keep-io-types keeps the interface names and float32 types", "[passes][float16]") {
  Model m = mixedModel();
  Graph& g = *m.graph;
  auto stats = runPipeline(m, "convert-float16{keep-io-types=true}");
  CHECK(counter(stats[0], "nodes-converted") == 3);
  CHECK(counter(stats[0], "casts-inserted") == 2);
  REQUIRE(g.inputs().size() == 1);
  REQUIRE(g.outputs().size() == 1);
  Value* x = g.inputs()[0];
  Value* y = g.outputs()[0];
  CHECK(x->name() == "x");
  CHECK(x->type() == Type::tensor(DType::F32, shapeOf({2, 4})));
  CHECK(y->name() == "y");
  CHECK(y->type() == Type::tensor(DType::F32, shapeOf({2, 4})));
  // A Cast right after the input, and the output is a Cast of the converted Add.
  REQUIRE(x->uses().size() == 1);
  Node* in_cast = x->uses()[0].user;
  CHECK(in_cast->opType() == "Cast");
  CHECK(in_cast->intAttr("to", 0) == static_cast<int64_t>(DType::F16));
  CHECK(in_cast->output(0)->name() == "x_fp16");
  Node* out_cast = y->producer();
  REQUIRE(out_cast);
  CHECK(out_cast->opType() == "Cast");
  CHECK(out_cast->intAttr("to", 0) == static_cast<int64_t>(DType::F32));
  CHECK(out_cast->input(0)->producer()->opType() == "Add");
  CHECK(out_cast->input(0)->name() == "y_fp16");
  CHECK(nodesOf(g, "Cast").size() == 2);
}

TEST_CASE("only the inputs bound to the float type variable are converted", "[passes][float16]") {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* x = f32Input(g, "x", {1, 1, 2, 2});
  Value* roi = g.addInitializer("roi", Tensor::fromVector(DType::F32, {0}, std::vector<float>{}));
  Value* scales = g.addInitializer("scales", fromDoubles(DType::F32, {4}, {1, 1, 2, 2}));
  Node* rs = op(g, "Resize", {x, roi, scales}, "r");
  Value* sc = g.addInitializer("gamma", fromDoubles(DType::F32, {4}, {1, 1, 1, 1}));
  Value* bias = g.addInitializer("beta", fromDoubles(DType::F32, {4}, {0, 0, 0, 0}));
  Node* ln = op(g, "LayerNormalization", {rs->output(0), sc, bias}, "y");
  output(g, ln->output(0), {1, 1, 4, 4});
  auto stats = runPipeline(m, "convert-float16{runtime=any}");
  CHECK(counter(stats[0], "nodes-converted") == 2);
  CHECK(scales->initializer().dtype() == DType::F32);  // Resize's scales: tensor(float)
  CHECK(roi->initializer().dtype() == DType::F32);     // roi: its own type variable T2
  CHECK(sc->initializer().dtype() == DType::F16);      // LayerNormalization: scale and bias are T
  CHECK(bias->initializer().dtype() == DType::F16);
  CHECK(counter(stats[0], "casts-inserted") == 0);
}

TEST_CASE("a Cast to float32 feeding converted nodes casts to float16 instead",
          "[passes][float16]") {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* ids = g.addInput("ids", Type::tensor(DType::I64, shapeOf({3})));
  Node* cast = op(g, "Cast", {ids}, "f");
  cast->setAttr(Attribute::makeInt("to", 1));
  Node* sig = op(g, "Sigmoid", {cast->output(0)}, "y");
  output(g, sig->output(0), {3});
  auto stats = runPipeline(m, "convert-float16{keep-io-types=true}");
  CHECK(counter(stats[0], "casts-retargeted") == 1);
  CHECK(cast->intAttr("to", 0) == static_cast<int64_t>(DType::F16));
  CHECK(g.inputs()[0]->type().elemType() == DType::I64);  // integers are untouched
  CHECK(counter(stats[0], "casts-inserted") == 1);        // only the one before the output
  CHECK(sig->input(0) == cast->output(0));
}

TEST_CASE("nodes with subgraphs stay float32 and read float32 values", "[passes][float16]") {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* x = f32Input(g, "x", {2});
  Value* c = g.addInput("c", Type::tensor(DType::Bool, Shape{}));
  Node* relu = op(g, "Relu", {x}, "r");
  Node* iff = g.appendNode("If");
  iff->setName("if");
  iff->addInput(c);
  for (const char* name : {"then_branch", "else_branch"}) {
    auto body = std::make_unique<Graph>(name);
    Node* n = op(*body, "Neg", {relu->output(0)}, std::string(name) + "_out");
    n->output(0)->setType(Type::tensor(DType::F32, shapeOf({2})));
    body->addOutput(n->output(0));
    iff->setAttr(Attribute::makeGraph(name, std::move(body)));
  }
  Value* z = iff->addOutput("z");
  Node* abs = op(g, "Abs", {z}, "y");
  output(g, abs->output(0), {2});
  auto stats = runPipeline(m, "convert-float16{keep-io-types=true}");
  CHECK(noteContains(stats[0], "subgraphs"));
  CHECK(counter(stats[0], "nodes-converted") == 2);  // Relu and Abs
  // The branches read the Relu's value through a Cast back to float32.
  for (Graph* body : iff->subgraphs()) {
    Node* neg = *body->nodes().begin();
    REQUIRE(neg->input(0)->producer());
    CHECK(neg->input(0)->producer()->opType() == "Cast");
    CHECK(neg->input(0)->producer()->intAttr("to", 0) == static_cast<int64_t>(DType::F32));
  }
}

TEST_CASE("runtime=ort-cpu keeps what ONNX Runtime's CPU provider cannot run",
          "[passes][float16]") {
  // Measured: no bfloat16 Relu, a float16 one (behind ORT's own Casts), bfloat16 Reshape-14.
  CHECK(ortCpuSupport(DType::BF16, "Relu", 14) == OrtCpuSupport::None);
  CHECK(ortCpuSupport(DType::F16, "Relu", 14) == OrtCpuSupport::ViaFloat32);
  CHECK(ortCpuSupport(DType::BF16, "Reshape", 14) == OrtCpuSupport::Native);
  CHECK(ortCpuSupport(DType::F16, "MeanVarianceNormalization", 13) == OrtCpuSupport::None);

  Model a = mixedModel();
  auto sa = runPipeline(a, "convert-bfloat16{keep-io-types=true}");
  CHECK(counter(sa[0], "nodes-converted") == 0);
  CHECK(noteContains(sa[0], "cannot run Relu-14 in bfloat16"));
  CHECK_FALSE(sa[0].changed);
  Model b = mixedModel();
  auto sb = runPipeline(b, "convert-bfloat16{keep-io-types=true,runtime=any}");
  CHECK(counter(sb[0], "nodes-converted") == 3);
}

TEST_CASE("convert-float16 is deterministic", "[passes][float16]") {
  Model a = mixedModel(), b = mixedModel();
  runPipeline(a, "convert-float16{block-ops=[Softmax],keep-io-types=true}");
  runPipeline(b, "convert-float16{block-ops=[Softmax],keep-io-types=true}");
  CHECK(printModel(a) == printModel(b));
}

TEST_CASE("calib-data is checked against the graph inputs first", "[passes][float16]") {
  std::string dir = "/tmp/mopt_unit_f16_" + std::to_string(::getpid());
  std::string path = dir + ".npz";
  auto expectError = [&](const NamedTensors& arrays, const std::string& text) {
    saveNpz(path, arrays);
    Model m = mixedModel();
    std::string before = printModel(m);
    try {
      runPipeline(m, "convert-float16{calib-data=\"" + path + "\"}");
      FAIL("no error for " << text);
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::Input);
      std::string msg = e.what();
      INFO(msg);
      CHECK(msg.find(path) != std::string::npos);
      CHECK(msg.find(text) != std::string::npos);
    }
    CHECK(printModel(m) == before);  // no work done
  };
  auto f32 = [](std::vector<int64_t> dims) {
    return Tensor::fromVector(DType::F32, dims,
                              std::vector<float>(static_cast<size_t>(checkedNumel(dims)), 1.0f));
  };
  expectError({{"other", f32({5, 4})}}, "no array 'x'");
  expectError({{"x", fromDoubles(DType::F64, {5, 4}, std::vector<double>(20, 1))}},
              "array 'x' is double");
  expectError({{"x", f32({5, 4, 1, 1})}}, "array 'x' has rank 4");
  expectError({{"x", f32({5, 3})}}, "array 'x' has shape [5,3]");
  std::remove(path.c_str());
}

TEST_CASE("a graph input with a default value converts the default along with its type",
          "[passes][float16]") {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* x = f32Input(g, "x", {2});
  Value* bias = g.addInitializer("bias", fromDoubles(DType::F32, {2}, {0.5, 1.5}));
  g.markInput(bias);
  Node* add = op(g, "Add", {x, bias}, "y");
  output(g, add->output(0), {2});
  runPipeline(m, "convert-float16");
  CHECK(bias->isGraphInput());
  CHECK(bias->type().elemType() == DType::F16);
  CHECK(bias->initializer().dtype() == DType::F16);
  CHECK(toDoubles(bias->initializer()) == std::vector<double>{0.5, 1.5});
}
