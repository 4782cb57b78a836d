// The cleanup passes and convert-opset on small hand-built graphs.
#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "ir/Verifier.h"
#include "pass/PassManager.h"
#include "passes/Registry.h"
#include "passes/cleanup/FoldBatchNorm.h"

#include <catch2/catch.hpp>

#include <cmath>
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
