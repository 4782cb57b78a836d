// The cleanup passes and convert-opset on small hand-built graphs.
#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "ir/Verifier.h"
#include "pass/PassManager.h"
#include "passes/Registry.h"
#include "passes/cleanup/FoldBatchNorm.h"
#include "passes/convert/OpsetAdapters.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

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

Node* op(Graph& g, const std::string& type, std::vector<Value*> ins, const std::string& out) {
  Node* n = g.appendNode(type);
  for (Value* v : ins)
    n->addInput(v);
  n->addOutput(out);
  return n;
}

std::vector<double> randoms(size_t n, unsigned seed, double lo = -1, double hi = 1) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<double> v(n);
  for (auto& x : v)
    x = d(gen);
  return v;
}

// Direct 2-D convolution (stride 1, no padding), [N=1]: the reference for the BN fold.
std::vector<double> conv2d(const std::vector<double>& x, int c, int h, int w,
                           const std::vector<double>& wt, int m, int k, int group,
                           const std::vector<double>& bias) {
  int oh = h - k + 1, ow = w - k + 1, cg = c / group, mg = m / group;
  std::vector<double> y(static_cast<size_t>(m * oh * ow));
  for (int o = 0; o < m; ++o)
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j) {
        double s = bias[static_cast<size_t>(o)];
        int g = o / mg;
        for (int ci = 0; ci < cg; ++ci)
          for (int a = 0; a < k; ++a)
            for (int b = 0; b < k; ++b)
              s += x[static_cast<size_t>(((g * cg + ci) * h + i + a) * w + j + b)] *
                   wt[static_cast<size_t>(((o * cg + ci) * k + a) * k + b)];
        y[static_cast<size_t>((o * oh + i) * ow + j)] = s;
      }
  return y;
}

// Direct 1-D transposed convolution (stride 1): W is [C, M/group, K].
std::vector<double> convTranspose1d(const std::vector<double>& x, int c, int len,
                                    const std::vector<double>& wt, int m, int k, int group,
                                    const std::vector<double>& bias) {
  int olen = len + k - 1, cg = c / group, mg = m / group;
  std::vector<double> y(static_cast<size_t>(m * olen));
  for (int o = 0; o < m; ++o)
    for (int t = 0; t < olen; ++t)
      y[static_cast<size_t>(o * olen + t)] = bias[static_cast<size_t>(o)];
  for (int ci = 0; ci < c; ++ci)
    for (int j = 0; j < mg; ++j)
      for (int t = 0; t < len; ++t)
        for (int a = 0; a < k; ++a) {
          int o = (ci / cg) * mg + j;
          y[static_cast<size_t>(o * olen + t + a)] +=
              x[static_cast<size_t>(ci * len + t)] * wt[static_cast<size_t>((ci * mg + j) * k + a)];
        }
  return y;
}

}  // namespace

TEST_CASE("batch-norm fold math matches conv followed by batch norm", "[passes][fold-bn]") {
  BatchNormParams bn{randoms(4, 1, 0.5, 2), randoms(4, 2), randoms(4, 3), randoms(4, 4, 0.1, 3),
                     1e-3};
  auto applyBn = [&](std::vector<double> y, int per_channel) {
    for (size_t i = 0; i < y.size(); ++i) {
      size_t c = i / static_cast<size_t>(per_channel);
      y[i] = (y[i] - bn.mean[c]) / std::sqrt(bn.var[c] + bn.epsilon) * bn.scale[c] + bn.shift[c];
    }
    return y;
  };
  for (int group : {1, 2}) {
    INFO("Conv group " << group);
    std::vector<double> x = randoms(4 * 5 * 5, 10), w = randoms(4 * (4 / group) * 9, 11),
                        b = randoms(4, 12);
    std::vector<double> expected = applyBn(conv2d(x, 4, 5, 5, w, 4, 3, group, b), 9);
    foldBatchNormIntoWeights(w, {4, 4 / group, 3, 3}, b, bn, false, group);
    std::vector<double> got = conv2d(x, 4, 5, 5, w, 4, 3, group, b);
    for (size_t i = 0; i < got.size(); ++i)
      REQUIRE(got[i] == Approx(expected[i]).epsilon(1e-12));
  }
  for (int group : {1, 2}) {
    INFO("ConvTranspose group " << group);
    std::vector<double> x = randoms(2 * 6, 20), w = randoms(2 * (4 / group) * 3, 21),
                        b = randoms(4, 22);
    std::vector<double> expected = applyBn(convTranspose1d(x, 2, 6, w, 4, 3, group, b), 8);
    foldBatchNormIntoWeights(w, {2, 4 / group, 3}, b, bn, true, group);
    std::vector<double> got = convTranspose1d(x, 2, 6, w, 4, 3, group, b);
    for (size_t i = 0; i < got.size(); ++i)
      REQUIRE(got[i] == Approx(expected[i]).epsilon(1e-12));
  }
}

TEST_CASE("fold-bn-into-conv rewrites the graph and keeps output names", "[passes][fold-bn]") {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* x = f32Input(g, "x", {1, 2, 4, 4});
  Value* w = g.addInitializer("w", fromDoubles(DType::F32, {3, 2, 1, 1}, randoms(6, 1)));
  Node* conv = op(g, "Conv", {x, w}, "c");
  std::vector<Value*> p;
  for (const char* n : {"s", "b", "m", "v"})
    p.push_back(g.addInitializer(n, fromDoubles(DType::F32, {3}, randoms(3, 2, 0.5, 1.5))));
  Node* bn = op(g, "BatchNormalization", {conv->output(0), p[0], p[1], p[2], p[3]}, "out");
  bn->output(0)->setType(Type::tensor(DType::F32, shapeOf({1, 3, 4, 4})));
  g.addOutput(bn->output(0));

  auto stats = runPipeline(m, "fold-bn-into-conv");
  CHECK(stats[0].counters.at("batchnorms-folded") == 1);
  REQUIRE(g.numNodes() == 1);
  Node* only = *g.nodes().begin();
  CHECK(only->opType() == "Conv");
  CHECK(only->output(0)->name() == "out");
  CHECK(g.outputs()[0] == only->output(0));
  CHECK(g.initializers().size() == 2);  // folded weight and bias; BN parameters are gone
  // Nothing left to fold: a second run changes nothing.
  CHECK_FALSE(runPipeline(m, "fold-bn-into-conv")[0].changed);
}

TEST_CASE("fold-bn-into-conv leaves a BN whose conv output has another reader",
          "[passes][fold-bn]") {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* x = f32Input(g, "x", {1, 1, 2, 2});
  Value* w = g.addInitializer("w", fromDoubles(DType::F32, {1, 1, 1, 1}, {2}));
  Node* conv = op(g, "Conv", {x, w}, "c");
  std::vector<Value*> p;
  for (const char* n : {"s", "b", "m", "v"})
    p.push_back(g.addInitializer(n, fromDoubles(DType::F32, {1}, {1})));
  Node* bn = op(g, "BatchNormalization", {conv->output(0), p[0], p[1], p[2], p[3]}, "out");
  bn->output(0)->setType(Type::tensor(DType::F32, shapeOf({1, 1, 2, 2})));
  g.addOutput(bn->output(0));
  conv->output(0)->setType(Type::tensor(DType::F32, shapeOf({1, 1, 2, 2})));
  g.addOutput(conv->output(0));
  auto stats = runPipeline(m, "fold-bn-into-conv");
  CHECK_FALSE(stats[0].changed);
  REQUIRE(stats[0].notes.size() == 1);
  CHECK(stats[0].notes[0].find("other readers") != std::string::npos);
}

TEST_CASE("dce removes dead chains, dead nodes in subgraphs and unused initializers",
          "[passes][dce]") {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* x = f32Input(g, "x", {2});
  Value* unused_w = g.addInitializer("unused", fromDoubles(DType::F32, {2}, {1, 2}));
  Node* a = op(g, "Relu", {x}, "a");
  op(g, "Neg", {a->output(0)}, "dead1");  // dead chain: Relu feeds only dead Neg...
  Node* live = op(g, "Abs", {x}, "live");
  live->output(0)->setType(Type::tensor(DType::F32, shapeOf({2})));
  g.addOutput(live->output(0));
  (void)unused_w;
  // An If whose then-branch computes something it never returns.
  Value* c = g.addInput("c", Type::tensor(DType::Bool, Shape{}));
  Node* iff = g.appendNode("If");
  iff->addInput(c);
  for (const char* name : {"then_branch", "else_branch"}) {
    auto body = std::make_unique<Graph>(name);
    op(*body, "Sigmoid", {x}, std::string(name) + "_dead");
    Node* ret = op(*body, "Identity", {x}, std::string(name) + "_out");
    body->addOutput(ret->output(0));
    iff->setAttr(Attribute::makeGraph(name, std::move(body)));
  }
  Value* z = iff->addOutput("z");
  z->setType(Type::tensor(DType::F32, shapeOf({2})));
  g.addOutput(z);

  auto stats = runPipeline(m, "dce");
  CHECK(stats[0].counters.at("nodes-removed") == 4);  // Relu, Neg, and one Sigmoid per branch
  CHECK(stats[0].counters.at("initializers-removed") == 1);
  CHECK(g.numNodes() == 2);
  CHECK(g.inputs().size() == 2);  // graph inputs are never removed, even if unused
  CHECK_FALSE(runPipeline(m, "dce")[0].changed);
}

TEST_CASE("eliminate-identity keeps graph output names", "[passes][identity]") {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* x = f32Input(g, "x", {2});
  Node* r = op(g, "Relu", {x}, "r");
  Node* id1 = op(g, "Identity", {r->output(0)}, "mid");
  Node* n = op(g, "Neg", {id1->output(0)}, "n");
  Node* id2 = op(g, "Identity", {n->output(0)}, "final");  // the graph output
  id2->output(0)->setType(Type::tensor(DType::F32, shapeOf({2})));
  g.addOutput(id2->output(0));
  Node* id3 = op(g, "Identity", {x}, "passthrough");  // input -> output: must stay
  id3->output(0)->setType(Type::tensor(DType::F32, shapeOf({2})));
  g.addOutput(id3->output(0));

  auto stats = runPipeline(m, "eliminate-identity");
  CHECK(stats[0].counters.at("identities-removed") == 2);
  CHECK(stats[0].counters.at("identities-kept") == 1);
  CHECK(g.outputs()[0]->name() == "final");
  CHECK(g.outputs()[0]->producer()->opType() == "Neg");
  CHECK(g.outputs()[1]->name() == "passthrough");
}

TEST_CASE("convert-opset moves attributes to inputs and back", "[passes][opset]") {
  Model m;
  m.opset_imports = {{"", 12}};
  Graph& g = *m.graph;
  Value* x = f32Input(g, "x", {1, 3, 1});
  Node* sq = op(g, "Squeeze", {x}, "s");
  sq->setAttr(Attribute::makeInts("axes", {2}));
  sq->output(0)->setType(Type::tensor(DType::F32, shapeOf({1, 3})));
  Node* sm = op(g, "Softmax", {sq->output(0)}, "y");
  sm->setAttr(Attribute::makeInt("axis", 1));
  sm->output(0)->setType(Type::tensor(DType::F32, shapeOf({1, 3})));
  g.addOutput(sm->output(0));

  runPipeline(m, "convert-opset{target=13}");
  CHECK(m.opset("") == 13);
  CHECK(sq->attr("axes") == nullptr);
  REQUIRE(sq->numInputs() == 2);
  CHECK(sq->input(1)->initializer().dims() == std::vector<int64_t>{1});
  CHECK(sm->intAttr("axis", 0) == -1);  // axis 1 of a rank-2 input is the last axis: same meaning

  runPipeline(m, "convert-opset{target=11}");
  CHECK(m.opset("") == 11);
  CHECK(sq->intsAttr("axes") == std::vector<int64_t>{2});
  CHECK(sq->numInputs() == 1);
}

TEST_CASE("convert-opset rewrites Softmax on a middle axis and reports what blocks it",
          "[passes][opset]") {
  Model m;
  m.opset_imports = {{"", 13}};
  Graph& g = *m.graph;
  Value* x = f32Input(g, "x", {2, 3, 4});
  Node* sm = op(g, "Softmax", {x}, "y");
  sm->setAttr(Attribute::makeInt("axis", 1));
  sm->output(0)->setType(Type::tensor(DType::F32, shapeOf({2, 3, 4})));
  g.addOutput(sm->output(0));
  runPipeline(m, "convert-opset{target=12}");
  // Opset 12 flattens at axis: Transpose -> Softmax(last) -> Transpose keeps opset-13 meaning.
  std::vector<std::string> ops;
  for (Node* n : g.nodes())
    ops.push_back(n->opType());
  CHECK(ops == std::vector<std::string>{"Transpose", "Softmax", "Transpose"});
  CHECK(g.outputs()[0]->name() == "y");

  Model ln;
  ln.opset_imports = {{"", 17}};
  Value* in = ln.graph->addInput("in", Type::tensor(DType::F32));  // rank unknown
  Value* scale = ln.graph->addInitializer("scale", fromDoubles(DType::F32, {4}, {1, 1, 1, 1}));
  Node* n = op(*ln.graph, "LayerNormalization", {in, scale}, "out");
  n->setAttr(Attribute::makeInt("axis", 1));  // a positive axis: the trailing dims depend on rank
  n->output(0)->setType(Type::tensor(DType::F32));
  ln.graph->addOutput(n->output(0));
  try {
    runPipeline(ln, "convert-opset{target=16}");
    FAIL("converted without knowing the rank");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Pass);
    CHECK(std::string(e.what()).find("LayerNormalization") != std::string::npos);
    CHECK(std::string(e.what()).find("input rank") != std::string::npos);
  }
}

namespace {

// The error convert-opset reports for `m` to `target` ("" when it converts).
std::string convertError(Model& m, int target) {
  try {
    runPipeline(m, "convert-opset{target=" + std::to_string(target) + "}");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Pass);
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::vector<std::string> opTypes(const Graph& g) {
  std::vector<std::string> ops;
  for (const Node* n : g.nodes())
    ops.push_back(n->opType());
  return ops;
}

// A one-node model: `type` on float inputs of the given shapes (rank 0 = no shape), one output.
Node* oneNode(Model& m, int64_t opset, const std::string& type,
              const std::vector<std::vector<int64_t>>& shapes, DType dt = DType::F32) {
  m.opset_imports = {{"", opset}};
  Graph& g = *m.graph;
  std::vector<Value*> ins;
  for (size_t i = 0; i < shapes.size(); ++i)
    ins.push_back(g.addInput("in" + std::to_string(i), Type::tensor(dt, shapeOf(shapes[i]))));
  Node* n = op(g, type, ins, "out");
  n->output(0)->setType(Type::tensor(dt));
  g.addOutput(n->output(0));
  return n;
}

// Evaluates a graph of elementwise float ops (constants broadcast as scalars) on `x`.
std::vector<double> evalElementwise(const Graph& g, const std::vector<double>& x) {
  std::map<const Value*, std::vector<double>> vals;
  vals[g.inputs()[0]] = x;
  auto get = [&](const Value* v, size_t i) {
    if (v->isInitializer()) return toDoubles(v->initializer())[0];
    return vals.at(v)[i];
  };
  for (const Node* n : g.nodes()) {
    std::vector<double> out(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      double a = get(n->input(0), i), b = n->numInputs() > 1 ? get(n->input(1), i) : 0;
      if (n->is("Mul"))
        out[i] = a * b;
      else if (n->is("Add"))
        out[i] = a + b;
      else if (n->is("Div"))
        out[i] = a / b;
      else if (n->is("Erf"))
        out[i] = std::erf(a);
      else if (n->is("Tanh"))
        out[i] = std::tanh(a);
      else
        FAIL("unexpected op " << n->opType());
    }
    vals[n->output(0)] = out;
  }
  return vals.at(g.outputs()[0]);
}

}  // namespace

TEST_CASE("convert-opset reaches opset 21 and knows the 18..21 schemas", "[passes][opset]") {
  const OpSchemaOracle& reg = onnxSchemas();
  CHECK(sinceVersion(reg, "Cast", 21) == 21);
  CHECK(sinceVersion(reg, "Cast", 20) == 19);
  CHECK(sinceVersion(reg, "Cast", 18) == 13);
  CHECK(sinceVersion(reg, "Relu", 21) == 14);
  CHECK(sinceVersion(reg, "Gelu", 20) == 20);
  CHECK(sinceVersion(reg, "Gelu", 19) == 0);
  CHECK(sinceVersion(reg, "GroupNormalization", 20) == 18);
  CHECK(sinceVersion(reg, "GroupNormalization", 21) == 21);
  CHECK(sinceVersion(reg, "Relu", 22) == 0);  // past what convert-opset knows
  ConvertOpsetSchemas schemas(reg);
  const OpSignature* sig = nullptr;
  REQUIRE(schemas.lookup("", "DequantizeLinear", 21, &sig) == OpSchemaOracle::Lookup::Found);
  CHECK(sig->since_version == 21);
  REQUIRE(sig->inputs.size() == 3);
  CHECK(sig->inputs[2].option == OpFormal::Option::Optional);
  CHECK(std::count(sig->inputs[0].allowed.begin(), sig->inputs[0].allowed.end(), DType::I4) == 1);
  auto bs = std::find_if(sig->attributes.begin(), sig->attributes.end(),
                         [](const OpAttrSpec& a) { return a.name == "block_size"; });
  REQUIRE(bs != sig->attributes.end());
  CHECK(bs->default_kind == AttrKind::Int);
  CHECK(bs->default_int == 0);
  REQUIRE(schemas.lookup("", "Loop", 21, &sig) == OpSchemaOracle::Lookup::Found);
  CHECK(sig->inputs[2].option == OpFormal::Option::Variadic);
  CHECK_FALSE(sig->inputs[2].homogeneous);
  CHECK(sig->inputs[2].min_arity == 0);
  CHECK(schemas.lookup("", "Gelu", 19, &sig) == OpSchemaOracle::Lookup::UnknownOp);
  CHECK(schemas.lookup("", "Relu", 22, &sig) == OpSchemaOracle::Lookup::NotCovered);

  // A plain model goes 17 -> 21 -> 17 and back to the same graph; the IR version follows.
  Model m;
  Node* relu = oneNode(m, 17, "Relu", {{2, 3}});
  m.ir_version = 8;
  runPipeline(m, "convert-opset{target=21}");
  CHECK(m.opset("") == 21);
  CHECK(m.ir_version == 10);
  runPipeline(m, "convert-opset{target=17}");
  CHECK(m.opset("") == 17);
  CHECK(opTypes(*m.graph) == std::vector<std::string>{"Relu"});
  CHECK(*m.graph->nodes().begin() == relu);
  try {
    runPipeline(m, "convert-opset{target=22}");
    FAIL("converted to opset 22");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Usage);
    CHECK(contains(e.what(), "outside the supported range 7..21"));
  }
}

TEST_CASE("convert-opset moves DFT's axis between attribute (17) and input (20)",
          "[passes][opset]") {
  Model m;
  Node* dft = oneNode(m, 17, "DFT", {{2, 8, 1}});
  dft->setAttr(Attribute::makeInt("axis", 1));
  runPipeline(m, "convert-opset{target=20}");
  CHECK(dft->attr("axis") == nullptr);
  REQUIRE(dft->numInputs() == 3);
  CHECK(dft->input(1) == nullptr);  // no dft_length
  Tensor axis = dft->input(2)->initializer();
  CHECK(axis.dims().empty());  // a scalar
  CHECK(elementAsInt(axis, 0) == 1);
  runPipeline(m, "convert-opset{target=19}");
  CHECK(dft->intAttr("axis", 0) == 1);
  CHECK(dft->numInputs() == 1);

  // Opset 17's default axis is 1, opset 20's is -2: the upgrade spells it out.
  Model d17;
  Node* n17 = oneNode(d17, 17, "DFT", {{2, 8, 4, 1}});
  runPipeline(d17, "convert-opset{target=21}");
  REQUIRE(n17->numInputs() == 3);
  CHECK(elementAsInt(n17->input(2)->initializer(), 0) == 1);

  // Without the axis input opset 20 means -2, which DFT-17 accepts as an attribute.
  Model d20;
  Node* n20 = oneNode(d20, 20, "DFT", {{2, 8, 1}});
  runPipeline(d20, "convert-opset{target=17}");
  CHECK(n20->intAttr("axis", 0) == -2);

  // A computed axis cannot become an attribute.
  Model dyn;
  Node* nd = oneNode(dyn, 20, "DFT", {{2, 8, 1}});
  Value* ax = dyn.graph->addInput("ax", Type::tensor(DType::I64, Shape{}));
  nd->addInput(nullptr);
  nd->addInput(ax);
  std::string err = convertError(dyn, 19);
  CHECK(contains(err, "[DFT"));
  CHECK(contains(err, "axis input must be a constant"));
  CHECK(dyn.opset("") == 20);
  CHECK(nd->numInputs() == 3);  // left as it was
}

TEST_CASE("convert-opset renames GridSample modes at 20 and refuses N-D going down",
          "[passes][opset]") {
  for (auto [old_mode, new_mode] : {std::pair<const char*, const char*>{"bilinear", "linear"},
                                    {"bicubic", "cubic"},
                                    {"nearest", "nearest"}}) {
    INFO(old_mode);
    Model m;
    Node* gs = oneNode(m, 16, "GridSample", {{1, 2, 4, 4}, {1, 3, 3, 2}});
    gs->setAttr(Attribute::makeString("mode", old_mode));
    runPipeline(m, "convert-opset{target=20}");
    CHECK(gs->stringAttr("mode", "") == new_mode);
    runPipeline(m, "convert-opset{target=16}");
    CHECK(gs->stringAttr("mode", "") == old_mode);
  }
  Model d;  // the default mode means the same on both sides and stays implicit
  Node* gd = oneNode(d, 20, "GridSample", {{1, 2, 4, 4}, {1, 3, 3, 2}});
  runPipeline(d, "convert-opset{target=19}");
  CHECK(gd->attr("mode") == nullptr);

  Model v;  // volumetric sampling only exists from opset 20
  Node* g5 = oneNode(v, 20, "GridSample", {{1, 2, 4, 4, 4}, {1, 3, 3, 3, 3}});
  g5->setAttr(Attribute::makeString("mode", "linear"));
  std::string err = convertError(v, 19);
  CHECK(contains(err, "4-D only"));
  CHECK(contains(err, "rank 5"));
  CHECK(g5->stringAttr("mode", "") == "linear");
}

TEST_CASE("convert-opset turns GroupNormalization's per-group scale/bias (18) per-channel (21)",
          "[passes][opset]") {
  Model m;
  Node* gn = oneNode(m, 18, "GroupNormalization", {{2, 6, 3, 3}});
  gn->setAttr(Attribute::makeInt("num_groups", 3));
  gn->addInput(m.graph->addInitializer("scale", fromDoubles(DType::F32, {3}, {1, 2, 3})));
  gn->addInput(m.graph->addInitializer("bias", fromDoubles(DType::F32, {3}, {-1, 0, 1})));
  runPipeline(m, "convert-opset{target=21}");
  CHECK(toDoubles(gn->input(1)->initializer()) == std::vector<double>{1, 1, 2, 2, 3, 3});
  CHECK(toDoubles(gn->input(2)->initializer()) == std::vector<double>{-1, -1, 0, 0, 1, 1});
  CHECK(gn->attr("stash_type") == nullptr);  // float32 input: the default already is float32
  runPipeline(m, "convert-opset{target=18}");
  CHECK(toDoubles(gn->input(1)->initializer()) == std::vector<double>{1, 2, 3});
  CHECK(toDoubles(gn->input(2)->initializer()) == std::vector<double>{-1, 0, 1});

  // Per-channel values that differ inside a group have no per-group form.
  Model c;
  Node* g21 = oneNode(c, 21, "GroupNormalization", {{2, 4, 3}});
  g21->setAttr(Attribute::makeInt("num_groups", 2));
  g21->addInput(c.graph->addInitializer("s", fromDoubles(DType::F32, {4}, {1, 1, 2, 5})));
  g21->addInput(c.graph->addInitializer("b", fromDoubles(DType::F32, {4}, {0, 0, 0, 0})));
  std::string err = convertError(c, 20);
  CHECK(contains(err, "scale differs within group 1"));
  CHECK(toDoubles(g21->input(1)->initializer()).size() == 4);

  // float16 input: opset 18 normalized in float16, so stash_type says so going up and back.
  Model h;
  Node* gh = oneNode(h, 18, "GroupNormalization", {{1, 4, 2}}, DType::F16);
  gh->setAttr(Attribute::makeInt("num_groups", 2));
  gh->addInput(h.graph->addInitializer("s", fromDoubles(DType::F16, {2}, {1, 2})));
  gh->addInput(h.graph->addInitializer("b", fromDoubles(DType::F16, {2}, {0, 1})));
  runPipeline(h, "convert-opset{target=21}");
  CHECK(gh->intAttr("stash_type", 1) == static_cast<int64_t>(DType::F16));
  runPipeline(h, "convert-opset{target=18}");
  CHECK(gh->attr("stash_type") == nullptr);

  // Unknown channel count (scale per group gives only the group count).
  Model u;
  u.opset_imports = {{"", 18}};
  Value* x = u.graph->addInput("x", Type::tensor(DType::F32));
  Node* gu = op(*u.graph, "GroupNormalization",
                {x, u.graph->addInitializer("s", fromDoubles(DType::F32, {2}, {1, 1})),
                 u.graph->addInitializer("b", fromDoubles(DType::F32, {2}, {0, 0}))},
                "y");
  gu->setAttr(Attribute::makeInt("num_groups", 2));
  gu->output(0)->setType(Type::tensor(DType::F32));
  u.graph->addOutput(gu->output(0));
  CHECK(contains(convertError(u, 21), "channel count"));
}

TEST_CASE("convert-opset decomposes Gelu below opset 20", "[passes][opset]") {
  std::vector<double> x = {-3, -1.5, -0.5, 0, 0.25, 1, 2.5};
  for (std::string approx : {"none", "tanh"}) {
    INFO(approx);
    Model m;
    Node* gelu = oneNode(m, 20, "Gelu", {{7}});
    if (approx == "tanh") gelu->setAttr(Attribute::makeString("approximate", "tanh"));
    runPipeline(m, "convert-opset{target=17}");
    auto ops = opTypes(*m.graph);
    CHECK(std::count(ops.begin(), ops.end(), approx == "none" ? "Erf" : "Tanh") == 1);
    CHECK(std::count(ops.begin(), ops.end(), "Gelu") == 0);
    CHECK(m.graph->outputs()[0]->name() == "out");
    std::vector<double> y = evalElementwise(*m.graph, x);
    for (size_t i = 0; i < x.size(); ++i) {
      double v = x[i];
      double expected =
          approx == "none"
              ? 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))
              : 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
      CHECK(y[i] == Approx(expected).epsilon(1e-6).margin(1e-7));
    }
  }
  Model u;  // the constants need the element type
  Node* g = oneNode(u, 20, "Gelu", {{2}}, DType::Undefined);
  (void)g;
  CHECK(contains(convertError(u, 19), "element type"));
}

TEST_CASE("convert-opset refuses 19..21 features the target opset lacks", "[passes][opset]") {
  {
    Model m;  // Pad's wrap mode is new at 19
    Node* pad = oneNode(m, 19, "Pad", {{2, 3}});
    pad->setName("pad0");
    pad->addInput(m.graph->addInitializer("pads", fromDoubles(DType::I64, {4}, {1, 1, 1, 1})));
    pad->setAttr(Attribute::makeString("mode", "wrap"));
    std::string err = convertError(m, 18);
    CHECK(contains(err, "at step 19 -> 18"));
    CHECK(contains(err, "[Pad 'pad0' (Pad): mode 'wrap' does not exist before opset 19]"));
    CHECK(m.opset("") == 19);
    pad->setAttr(Attribute::makeString("mode", "reflect"));
    CHECK(convertError(m, 18).empty());
  }
  {
    Model m;  // Resize: antialias exists from 18, half_pixel_symmetric from 19
    Node* rs = oneNode(m, 19, "Resize", {{1, 1, 4, 4}});
    rs->addInput(nullptr);
    rs->addInput(m.graph->addInitializer("scales", fromDoubles(DType::F32, {4}, {1, 1, 2, 2})));
    rs->setAttr(Attribute::makeString("mode", "linear"));
    rs->setAttr(Attribute::makeInt("antialias", 1));
    CHECK(convertError(m, 18).empty());
    CHECK(contains(convertError(m, 17), "antialias has no equivalent before opset 18"));
    runPipeline(m, "convert-opset{target=19}");
    rs->removeAttr("antialias");
    rs->setAttr(Attribute::makeString("coordinate_transformation_mode", "half_pixel_symmetric"));
    CHECK(contains(convertError(m, 18), "'half_pixel_symmetric' does not exist before opset 19"));
  }
  {
    Model m;  // blocked DequantizeLinear (21), int8 weights: only the block size blocks it
    m.opset_imports = {{"", 21}};
    Graph& g = *m.graph;
    Value* w = g.addInitializer("w", fromDoubles(DType::I8, {4, 2}, {1, 2, 3, 4, 5, 6, 7, 8}));
    Value* s = g.addInitializer("s", fromDoubles(DType::F32, {2, 2}, {0.1, 0.2, 0.3, 0.4}));
    Node* dq = op(g, "DequantizeLinear", {w, s}, "wd");
    dq->setName("dq_w");
    dq->setAttr(Attribute::makeInt("axis", 0));
    dq->setAttr(Attribute::makeInt("block_size", 2));
    dq->output(0)->setType(Type::tensor(DType::F32, shapeOf({4, 2})));
    Node* mm = op(g, "MatMul", {f32Input(g, "x", {3, 4}), dq->output(0)}, "y");
    mm->output(0)->setType(Type::tensor(DType::F32, shapeOf({3, 2})));
    g.addOutput(mm->output(0));
    std::string err = convertError(m, 20);
    CHECK(contains(err,
                   "[DequantizeLinear 'dq_w' (DequantizeLinear): blocked quantization "
                   "(block_size=2) does not exist before opset 21]"));
    // int4 weights are refused for their type as well.
    w->setInitializer(fromDoubles(DType::I4, {4, 2}, {1, 2, 3, 4, -5, -6, -7, -8}));
    w->setType(Type::tensor(DType::I4, shapeOf({4, 2})));
    CHECK(contains(convertError(m, 18),
                   "element type int4 ('w') does not exist for "
                   "DequantizeLinear before opset 21"));
    CHECK(m.opset("") == 21);
    CHECK(dq->intAttr("block_size", 0) == 2);
  }
  {
    Model m;  // float8 casts (19); every blocker is reported together
    m.opset_imports = {{"", 19}};
    Graph& g = *m.graph;
    Node* c1 = op(g, "Cast", {f32Input(g, "x", {2})}, "x8");
    c1->setAttr(Attribute::makeInt("to", static_cast<int64_t>(DType::F8E4M3FN)));
    c1->setAttr(Attribute::makeInt("saturate", 0));
    Node* c2 = op(g, "Cast", {c1->output(0)}, "y");
    c2->setAttr(Attribute::makeInt("to", static_cast<int64_t>(DType::F32)));
    c2->output(0)->setType(Type::tensor(DType::F32, shapeOf({2})));
    c1->output(0)->setType(Type::tensor(DType::F8E4M3FN, shapeOf({2})));
    g.addOutput(c2->output(0));
    Node* gelu = op(g, "Gelu", {c2->output(0)}, "z");  // opset 20's Gelu in an opset 19 model
    gelu->output(0)->setType(Type::tensor(DType::F32, shapeOf({2})));
    g.addOutput(gelu->output(0));
    m.opset_imports = {{"", 20}};
    std::string err = convertError(m, 18);
    CHECK(contains(err, "at step 19 -> 18, 2 node(s) block it"));
    CHECK(
        contains(err, "element type float8e4m3fn ('x8') does not exist for Cast before opset 19"));
    // Without float8, saturate (which only affects float8 results) is dropped.
    c1->setAttr(Attribute::makeInt("to", static_cast<int64_t>(DType::F16)));
    c1->output(0)->setType(Type::tensor(DType::F16, shapeOf({2})));
    CHECK(convertError(m, 18).empty());
    CHECK(c1->attr("saturate") == nullptr);
  }
  {
    Model m;  // a new operator at 20 with no decomposition
    oneNode(m, 20, "AffineGrid", {{1, 2, 3}});
    CHECK(contains(convertError(m, 19), "AffineGrid does not exist in opset 19"));
  }
}

TEST_CASE("convert-opset gives QuantizeLinear-21's output_dtype a zero point going down",
          "[passes][opset]") {
  Model m;
  m.opset_imports = {{"", 21}};
  Graph& g = *m.graph;
  Value* s = g.addInitializer("s", fromDoubles(DType::F32, {3}, {0.1, 0.2, 0.3}));
  Node* q = op(g, "QuantizeLinear", {f32Input(g, "x", {2, 3}), s}, "q");
  q->setAttr(Attribute::makeInt("axis", 1));
  q->setAttr(Attribute::makeInt("output_dtype", static_cast<int64_t>(DType::I8)));
  q->output(0)->setType(Type::tensor(DType::I8, shapeOf({2, 3})));
  g.addOutput(q->output(0));
  runPipeline(m, "convert-opset{target=13}");
  CHECK(q->attr("output_dtype") == nullptr);
  REQUIRE(q->numInputs() == 3);
  const Tensor& zp = q->input(2)->initializer();
  CHECK(zp.dtype() == DType::I8);
  CHECK(zp.dims() == std::vector<int64_t>{3});
  CHECK(toDoubles(zp) == std::vector<double>{0, 0, 0});

  q->setAttr(Attribute::makeInt("output_dtype", static_cast<int64_t>(DType::U4)));
  q->truncateInputs(2);
  m.opset_imports = {{"", 21}};
  CHECK(contains(convertError(m, 20), "element type uint4 (attribute output_dtype)"));
}
