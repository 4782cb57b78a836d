// Pruning: magnitude selection, N:M masks, and the structured pass's dependency groups on small
// hand-built graphs (numerics against ONNX Runtime are in tests/e2e/prune.sh).
#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "ir/Verifier.h"
#include "pass/PassManager.h"
#include "passes/Registry.h"
#include "passes/common/Constants.h"
#include "passes/prune/PruneMath.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

using namespace mopt;

namespace {

std::vector<PassStats> runPipeline(Model& m, const std::string& text) {
  PassManagerOptions pmo;
  pmo.schemas = &onnxSchemas();
  return PassManager(pmo).run(parsePipeline(text, passRegistry()), m);
}

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v)
    x = d(rng);
  return v;
}

Tensor f32(std::vector<int64_t> dims, const std::vector<float>& v) {
  return Tensor::fromVector(DType::F32, std::move(dims), v);
}

Node* op(Graph& g, const std::string& type, std::vector<Value*> ins, const std::string& out,
         size_t outputs = 1) {
  Node* n = g.appendNode(type);
  n->setName(out);
  for (Value* v : ins)
    n->addInput(v);
  for (size_t i = 0; i < outputs; ++i)
    n->addOutput(outputs == 1 ? out : out + "_" + std::to_string(i));
  return n;
}

Node* find(const Model& m, const std::string& name) {
  for (Node* n : m.graph->nodes())
    if (n->name() == name) return n;
  FAIL("no node " + name);
  return nullptr;
}

Tensor weightOf(const Model& m, const std::string& node, size_t input = 1) {
  auto t = constantValue(find(m, node)->input(input));
  REQUIRE(t);
  return *t;
}

// The k smallest |x| in order, the slow and obvious way: the reference for the selection.
std::vector<float> referenceZeroSmallest(std::vector<float> v, int64_t k) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](size_t a, size_t b) { return std::fabs(v[a]) < std::fabs(v[b]); });
  for (int64_t i = 0; i < k; ++i)
    v[idx[static_cast<size_t>(i)]] = 0.0f;
  return v;
}

std::vector<float> floats(const Tensor& t) {
  const float* p = t.data<float>();
  return std::vector<float>(p, p + t.numel());
}

// x[N,4,6,6] -> Conv a (8) -> BN -> Relu -+-> Add -> Relu -> Concat(Conv b1 (6), Conv b2 (10))
//            -> Conv c (8) -> BN ---------+     -> depthwise Conv (group 16) -> Relu
//            -> MaxPool 2 -> Flatten -> Gemm fc1 (12) -> Relu -> Gemm fc2 (3) -> y
Model residualNet() {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* x = g.addInput("x", Type::tensor(DType::F32, Shape{Dim::symbol("N"), Dim::known(4),
                                                            Dim::known(6), Dim::known(6)}));
  uint32_t seed = 10;
  auto conv = [&](const std::string& name, Value* in, int64_t cin, int64_t cout, int64_t k,
                  int64_t group = 1) {
    Value* w = g.addInitializer(
        name + ".w", f32({cout, cin / group, k, k},
                         gaussian(static_cast<size_t>(cout * cin / group * k * k), seed++)));
    Value* b =
        g.addInitializer(name + ".b", f32({cout}, gaussian(static_cast<size_t>(cout), seed++)));
    Node* n = op(g, "Conv", {in, w, b}, name);
    n->setAttr(Attribute::makeInts("pads", {k / 2, k / 2, k / 2, k / 2}));
    if (group > 1) n->setAttr(Attribute::makeInt("group", group));
    return n->output(0);
  };
  auto bn = [&](const std::string& name, Value* in, int64_t c) {
    std::vector<Value*> ins = {in};
    for (const char* p : {"scale", "bias", "mean", "var"}) {
      std::vector<float> v = gaussian(static_cast<size_t>(c), seed++, 0.1f);
      if (std::string(p) == "scale" || std::string(p) == "var")
        for (auto& e : v)
          e = 1.0f + std::fabs(e);
      ins.push_back(g.addInitializer(name + "." + p, f32({c}, v)));
    }
    return op(g, "BatchNormalization", ins, name)->output(0);
  };
  Value* a = bn("bn_a", conv("a", x, 4, 8, 3), 8);
  Value* ra = op(g, "Relu", {a}, "relu_a")->output(0);
  Value* c = bn("bn_c", conv("c", x, 4, 8, 1), 8);
  Value* sum = op(g, "Add", {ra, c}, "add")->output(0);
  Value* rs = op(g, "Relu", {sum}, "relu_sum")->output(0);
  Value* cat =
      op(g, "Concat", {conv("b1", rs, 8, 6, 1), conv("b2", rs, 8, 10, 3)}, "cat")->output(0);
  g.nodeVector().back()->setAttr(Attribute::makeInt("axis", 1));
  Value* dw = op(g, "Relu", {conv("dw", cat, 16, 16, 3, 16)}, "relu_dw")->output(0);
  Node* pool = op(g, "MaxPool", {dw}, "pool");
  pool->setAttr(Attribute::makeInts("kernel_shape", {2, 2}));
  pool->setAttr(Attribute::makeInts("strides", {2, 2}));
  Value* flat = op(g, "Flatten", {pool->output(0)}, "flat")->output(0);
  auto gemm = [&](const std::string& name, Value* in, int64_t k, int64_t n) {
    Value* w =
        g.addInitializer(name + ".w", f32({n, k}, gaussian(static_cast<size_t>(n * k), seed++)));
    Value* b = g.addInitializer(name + ".b", f32({n}, gaussian(static_cast<size_t>(n), seed++)));
    Node* node = op(g, "Gemm", {in, w, b}, name);
    node->setAttr(Attribute::makeInt("transB", 1));
    return node->output(0);
  };
  Value* h = op(g, "Relu", {gemm("fc1", flat, 16 * 9, 12)}, "relu_fc1")->output(0);
  Value* y = gemm("fc2", h, 12, 3);
  y->setType(Type::tensor(DType::F32, Shape{Dim::symbol("N"), Dim::known(3)}));
  g.addOutput(y);
  return m;
}

std::string outputShapes(const Model& m) {
  std::string s;
  for (const Value* v : m.graph->outputs())
    s += v->name() + v->type().str() + ";";
  return s;
}

}  // namespace

TEST_CASE("magnitude selection zeroes exactly the k smallest, ties in model order", "[prune]") {
  // Values on a coarse grid: many ties at the threshold.
  std::vector<float> a = gaussian(1000, 1), b = gaussian(777, 2);
  for (auto* v : {&a, &b})
    for (auto& x : *v)
      x = std::round(x * 8) / 8;
  Tensor ta = f32({1000}, a), tb = f32({777}, b);
  for (int64_t k : {0, 1, 500, 888, 1776, 1777}) {
    INFO("k=" << k);
    SmallestZeroed z = zeroSmallest({&ta, &tb}, k);
    std::vector<float> all = a;
    all.insert(all.end(), b.begin(), b.end());
    std::vector<float> ref = referenceZeroSmallest(all, k);
    std::vector<float> got = floats(z.tensors[0]), gb = floats(z.tensors[1]);
    got.insert(got.end(), gb.begin(), gb.end());
    CHECK(got == ref);
    int64_t zeros = std::count(ref.begin(), ref.end(), 0.0f);
    CHECK(z.zeros_after[0] + z.zeros_after[1] == zeros);
    CHECK_FALSE(z.sampled);
  }
}

TEST_CASE("the one-pass sampled selection gives the exact selection's result", "[prune]") {
  // Over 4 M elements the threshold is bracketed on a sample; layers of different scales and
  // exact ties must still come out as the exact method gives them.
  std::vector<Tensor> ws;
  std::vector<float> all;
  for (int l = 0; l < 3; ++l) {
    std::vector<float> v = gaussian(1600000, 20 + static_cast<uint32_t>(l), 0.01f * (l + 1));
    for (size_t i = 0; i < v.size(); i += 7)
      v[i] = std::round(v[i] * 1000) / 1000;  // ties
    all.insert(all.end(), v.begin(), v.end());
    ws.push_back(f32({1600, 1000}, v));
  }
  std::vector<const Tensor*> spans = {&ws[0], &ws[1], &ws[2]};
  for (double s : {0.3, 0.5, 0.9}) {
    const int64_t k = static_cast<int64_t>(s * static_cast<double>(all.size()));
    SmallestZeroed z = zeroSmallest(spans, k);
    CHECK(z.sampled);
    MagnitudeCut cut = kthSmallestMagnitude(spans, k);
    int64_t ties = k - cut.below, zeros = 0, total = 0;
    for (size_t i = 0; i < ws.size(); ++i) {
      Tensor exact = zeroBelow(ws[i], cut.key, ties, zeros);
      CHECK(floats(exact) == floats(z.tensors[i]));
      CHECK(z.zeros_after[i] == zeros);
      total += zeros;
    }
    CHECK(total == k);
  }
}

TEST_CASE("N:M keeps the n largest of every group along the axis", "[prune]") {
  // [2, 8, 1, 3]: groups of 4 along axis 1 for each (o, kh, kw).
  std::vector<float> v = gaussian(48, 3);
  Tensor w = f32({2, 8, 1, 3}, v);
  int64_t zeros = 0;
  Tensor p = pruneNM(w, 1, 2, 4, zeros);
  CHECK(zeros == 24);
  CHECK(satisfiesNM(p, 1, 2, 4));
  CHECK_FALSE(satisfiesNM(w, 1, 2, 4));
  const float* in = w.data<float>();
  const float* out = p.data<float>();
  for (int64_t o = 0; o < 2; ++o)
    for (int64_t g = 0; g < 2; ++g)
      for (int64_t s = 0; s < 3; ++s) {
        std::vector<float> mags;
        for (int64_t j = 0; j < 4; ++j)
          mags.push_back(std::fabs(in[(o * 8 + g * 4 + j) * 3 + s]));
        std::sort(mags.begin(), mags.end());
        for (int64_t j = 0; j < 4; ++j) {
          float x = in[(o * 8 + g * 4 + j) * 3 + s], y = out[(o * 8 + g * 4 + j) * 3 + s];
          CHECK(y == (std::fabs(x) >= mags[2] ? x : 0.0f));
        }
      }
  // Ties: the later element goes first.
  Tensor t = f32({4}, {1, 1, 1, 1});
  Tensor tp = pruneNM(t, 0, 2, 4, zeros);
  CHECK(floats(tp) == std::vector<float>{1, 1, 0, 0});
}

TEST_CASE("prune-magnitude: exact counts per layer or globally, biases and embeddings untouched",
          "[prune]") {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* ids = g.addInput("ids", Type::tensor(DType::I64, shapeOf({2})));
  Value* table = g.addInitializer("table", f32({10, 8}, gaussian(80, 1)));
  Value* emb = op(g, "Gather", {table, ids}, "embed")->output(0);
  Value* w1 = g.addInitializer("w1", f32({8, 6}, gaussian(48, 2)));
  Value* b1 = g.addInitializer("b1", f32({6}, gaussian(6, 3)));
  Value* h = op(g, "MatMul", {emb, w1}, "mm1")->output(0);
  h = op(g, "Add", {h, b1}, "bias1")->output(0);
  // One weight read by two MatMuls (through an Identity, as torch's exporter shares them).
  Value* shared = g.addInitializer("shared", f32({6, 6}, gaussian(36, 4, 10.0f)));
  Value* alias = op(g, "Identity", {shared}, "alias")->output(0);
  h = op(g, "MatMul", {h, shared}, "mm2")->output(0);
  h = op(g, "MatMul", {h, alias}, "mm3")->output(0);
  Value* w4 = g.addInitializer("w4", f32({3, 6}, gaussian(18, 5, 0.01f)));
  Value* b4 = g.addInitializer("b4", f32({3}, gaussian(3, 6)));
  Node* gemm = op(g, "Gemm", {h, w4, b4}, "head");
  gemm->setAttr(Attribute::makeInt("transB", 1));
  gemm->output(0)->setType(Type::tensor(DType::F32, shapeOf({2, 3})));
  g.addOutput(gemm->output(0));
  Model copy = cloneModel(m);

  auto zerosOf = [](const Model& mm, const std::string& name) {
    for (const Value* v : mm.graph->initializers())
      if (v->name() == name) return countZeros(v->initializer());
    FAIL("no initializer " + name);
    return int64_t{0};
  };
  SECTION("per layer") {
    auto st = runPipeline(m, "prune-magnitude{sparsity=0.5}");
    CHECK(zerosOf(m, "w1") == 24);
    CHECK(zerosOf(m, "shared") == 18);  // pruned once, for both readers
    CHECK(zerosOf(m, "w4") == 9);
    CHECK(zerosOf(m, "table") == 0);  // embeddings are not pruned by default
    CHECK(zerosOf(m, "b1") == 0);
    CHECK(zerosOf(m, "b4") == 0);
    CHECK(st[0].counters.at("layers-pruned") == 3);
    CHECK(st[0].counters.at("weights-zeroed") == 24 + 18 + 9);
    CHECK(find(m, "mm3")->input(1) == find(m, "alias")->output(0));  // readers keep their paths
  }
  SECTION("globally: one threshold, small-valued layers lose most") {
    runPipeline(m, "prune-magnitude{sparsity=0.5,scope=global}");
    CHECK(zerosOf(m, "w1") + zerosOf(m, "shared") + zerosOf(m, "w4") == (48 + 36 + 18) / 2);
    CHECK(zerosOf(m, "w4") == 18);    // sigma 0.01: all below the threshold
    CHECK(zerosOf(m, "shared") < 6);  // sigma 10: nearly all above
  }
  SECTION("exclusions, min-size, Gather on request") {
    auto st = runPipeline(m,
                          "prune-magnitude{sparsity=0.5,exclude=[mm1,re:he.*],min-size=20,"
                          "include-ops=[MatMul,Gather]}");
    CHECK(zerosOf(m, "w1") == 0);
    CHECK(zerosOf(m, "w4") == 0);
    CHECK(zerosOf(m, "table") == 40);
    CHECK(zerosOf(m, "shared") == 18);
    bool noted = false;
    for (const auto& n : st[0].notes)
      noted = noted || n.find("excluded by name (mm1)") != std::string::npos;
    CHECK(noted);
  }
  SECTION("a weight also read by a node that is not pruned is left alone") {
    op(g, "Relu", {shared}, "reader");
    auto st = runPipeline(m, "prune-magnitude{sparsity=0.5}");
    CHECK(zerosOf(m, "shared") == 0);
    bool noted = false;
    for (const auto& n : st[0].notes)
      noted = noted || n.find("also read by reader (Relu)") != std::string::npos;
    CHECK(noted);
  }
  SECTION("same input and options, same bytes") {
    runPipeline(m, "prune-magnitude{sparsity=0.7,scope=global}");
    runPipeline(copy, "prune-magnitude{sparsity=0.7,scope=global}");
    CHECK(serializeOnnx(m) == serializeOnnx(copy));
  }
}

TEST_CASE("prune-nm follows each op's reduction axis and skips partial groups", "[prune]") {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* x = g.addInput("x", Type::tensor(DType::F32, shapeOf({1, 3, 5, 5})));
  Value* w0 = g.addInitializer("w0", f32({8, 3, 3, 3}, gaussian(216, 1)));  // C=3: skipped
  Value* y = op(g, "Conv", {x, w0}, "c0")->output(0);
  Value* w1 = g.addInitializer("w1", f32({4, 8, 3, 3}, gaussian(288, 2)));
  y = op(g, "Conv", {y, w1}, "c1")->output(0);
  y = op(g, "Flatten", {y}, "flat")->output(0);
  Value* w2 = g.addInitializer("w2", f32({6, 4}, gaussian(24, 3)));  // Gemm transB: [N, K]
  Node* gemm = op(g, "Gemm", {y, w2}, "fc");
  gemm->setAttr(Attribute::makeInt("transB", 1));
  Value* w3 = g.addInitializer("w3", f32({8, 2}, gaussian(16, 4)));  // MatMul [K, N]
  y = op(g, "Flatten", {gemm->output(0)}, "flat2")->output(0);
  Value* w3in = g.addInitializer("pad6to8", f32({6, 8}, gaussian(48, 5)));
  y = op(g, "MatMul", {y, w3in}, "mm0")->output(0);
  y = op(g, "MatMul", {y, w3}, "mm")->output(0);
  y->setType(Type::tensor(DType::F32, shapeOf({1, 2})));
  g.addOutput(y);
  (void)w0;
  auto st = runPipeline(m, "prune-nm");
  CHECK(satisfiesNM(weightOf(m, "c1"), 1, 2, 4));
  CHECK(satisfiesNM(weightOf(m, "fc"), 1, 2, 4));
  CHECK(satisfiesNM(weightOf(m, "mm"), 0, 2, 4));
  CHECK_FALSE(satisfiesNM(weightOf(m, "mm"), 1, 1, 2));  // not along the other axis by accident
  CHECK(countZeros(weightOf(m, "c0")) == 0);
  CHECK(countZeros(weightOf(m, "mm0")) == 0);  // K=6
  CHECK(st[0].counters.at("layers-pruned") == 3);
  CHECK(st[0].counters.at("layers-skipped") == 2);
  Model bad = cloneModel(m);
  CHECK_THROWS_WITH(runPipeline(bad, "prune-nm{n=4,m=4}"), Catch::Contains("n must be in [1, m)"));
  CHECK_THROWS_WITH(runPipeline(bad, "prune-nm{m=1}"), Catch::Contains("m must be in [2, 64]"));
}

TEST_CASE("prune-structured keeps residual, Concat, depthwise and Flatten->Gemm consistent",
          "[prune]") {
  Model m = residualNet();
  std::string before = outputShapes(m);
  auto st = runPipeline(m, "prune-structured{ratio=0.5}");  // verify-each runs, with schemas
  CHECK(st[0].changed);
  CHECK(outputShapes(m) == before);
  VerifyOptions vo;
  vo.schemas = &onnxSchemas();
  CHECK(verifyModel(m, vo).empty());
  // Residual group {a, c}: identical channel counts, and the BatchNorms follow.
  CHECK(weightOf(m, "a").dims()[0] == 4);
  CHECK(weightOf(m, "c").dims()[0] == 4);
  CHECK(weightOf(m, "bn_a").numel() == 4);
  CHECK(weightOf(m, "bn_c", 4).numel() == 4);
  CHECK(weightOf(m, "b1").dims() == std::vector<int64_t>{3, 4, 1, 1});
  CHECK(weightOf(m, "b2").dims() == std::vector<int64_t>{5, 4, 3, 3});
  // The depthwise conv follows the Concat: 3 + 5 channels, group 8.
  CHECK(weightOf(m, "dw").dims() == std::vector<int64_t>{8, 1, 3, 3});
  CHECK(find(m, "dw")->intAttr("group", 0) == 8);
  // Flatten -> Gemm: 8 channels x 9 positions of input, 6 hidden units.
  CHECK(weightOf(m, "fc1").dims() == std::vector<int64_t>{6, 72});
  CHECK(weightOf(m, "fc2").dims() == std::vector<int64_t>{3, 6});
  CHECK(weightOf(m, "fc2", 2).numel() == 3);  // the head keeps its outputs
  // The rewritten shapes are recorded on the values.
  CHECK(find(m, "flat")->output(0)->type().str() == "f32[N,72]");
  CHECK(st[0].counters.at("groups") == 5);  // {a, c}, b1, b2, fc1, fc2
}

TEST_CASE("prune-structured removes the weakest channels of a group, summed over its layers",
          "[prune]") {
  Model m = residualNet();
  // The residual group {a, c}: odd channels are strong in `a` (3x3, 36 weights per channel) and
  // weak in `c` (1x1, 4 weights), even ones the other way round. The group's sum decides: odd
  // channels stay in both layers, although `c` alone would keep the even ones.
  for (const char* name : {"a", "c"}) {
    Value* w = find(m, name)->input(1);
    std::vector<float> v = floats(w->initializer());
    int64_t per = w->initializer().numel() / 8;
    for (int64_t c = 0; c < 8; ++c)
      for (int64_t i = 0; i < per; ++i)
        v[static_cast<size_t>(c * per + i)] =
            name[0] == 'a' ? (c % 2 ? 10.0f : 0.1f) : (c % 2 ? 0.1f : 1.0f);
    w->setInitializer(f32(w->initializer().dims(), v));
  }
  runPipeline(m, "prune-structured{ratio=0.5}");
  for (float x : floats(weightOf(m, "a")))
    CHECK(x == 10.0f);
  for (float x : floats(weightOf(m, "c")))
    CHECK(x == 0.1f);
}

TEST_CASE("prune-structured: global scope, round-to and overrides", "[prune]") {
  SECTION("round-to keeps multiples") {
    Model m = residualNet();
    runPipeline(m, "prune-structured{ratio=0.7,round-to=4}");
    CHECK(weightOf(m, "a").dims()[0] == 4);   // 8 - 5 = 3 -> 4
    CHECK(weightOf(m, "b2").dims()[0] == 4);  // 10 - 7 = 3 -> 4
    CHECK(weightOf(m, "fc1").dims()[0] == 4);
  }
  SECTION("overrides set a group's ratio; 0 keeps it") {
    Model m = residualNet();
    auto st = runPipeline(m, "prune-structured{ratio=0.5,overrides=[\"c=0\",\"re:b[12]=0.2\"]}");
    CHECK(weightOf(m, "a").dims()[0] == 8);  // `c` is in a's group
    CHECK(weightOf(m, "b1").dims()[0] == 5);
    CHECK(weightOf(m, "b2").dims()[0] == 8);
    CHECK(weightOf(m, "fc1").dims()[0] == 6);
  }
  SECTION("global removes the ratio over all channels, at most max-ratio of any partition") {
    Model m = residualNet();
    auto st = runPipeline(m, "prune-structured{ratio=0.5,scope=global,max-ratio=0.6}");
    int64_t left = 0;
    for (const char* n : {"a", "b1", "b2", "fc1"})
      left += weightOf(m, n).dims()[0];
    CHECK(left == (8 + 6 + 10 + 12) / 2);
    for (const char* n : {"a", "b1", "b2", "fc1"}) {
      INFO(n);
      CHECK(weightOf(m, n).dims()[0] >= 3);
    }
  }
  SECTION("random is seeded") {
    Model a = residualNet(), b = residualNet(), c = residualNet();
    runPipeline(a, "prune-structured{importance=random,seed=1}");
    runPipeline(b, "prune-structured{importance=random,seed=1}");
    runPipeline(c, "prune-structured{importance=random,seed=2}");
    CHECK(serializeOnnx(a) == serializeOnnx(b));
    CHECK(serializeOnnx(a) != serializeOnnx(c));
  }
}

TEST_CASE("prune-structured keeps what it cannot follow and says why", "[prune]") {
  Model m;
  m.opset_imports = {{"", 17}, {"com.example", 1}};
  Graph& g = *m.graph;
  Value* x = g.addInput("x", Type::tensor(DType::F32, Shape{Dim::symbol("N"), Dim::known(4),
                                                            Dim::known(5), Dim::known(5)}));
  auto conv = [&](const std::string& name, Value* in, int64_t cin, int64_t cout,
                  int64_t group = 1) {
    Value* w = g.addInitializer(
        name + ".w",
        f32({cout, cin / group, 1, 1}, gaussian(static_cast<size_t>(cout * cin / group), 7)));
    Node* n = op(g, "Conv", {in, w}, name);
    if (group > 1) n->setAttr(Attribute::makeInt("group", group));
    return n->output(0);
  };
  // Softmax over the channels.
  Node* sm = op(g, "Softmax", {conv("s", x, 4, 6)}, "softmax");
  sm->setAttr(Attribute::makeInt("axis", 1));
  // A grouped transposed convolution.
  Value* wt = g.addInitializer("g2.w", f32({8, 4, 1, 1}, gaussian(32, 8)));
  Node* ct = op(g, "ConvTranspose", {conv("pre", x, 4, 8), wt}, "g2");
  ct->setAttr(Attribute::makeInt("group", 2));
  Value* gr = ct->output(0);
  // A Reshape that moves channels into the batch: not derivable.
  Value* shape =
      g.addInitializer("shape", Tensor::fromVector(DType::I64, {2}, std::vector<int64_t>{-1, 25}));
  Value* rs = op(g, "Reshape", {conv("r", x, 4, 6), shape}, "reshape")->output(0);
  // An unknown op.
  Value* u = conv("u", x, 4, 6);
  Node* custom = g.appendNode("Mystery", "com.example");
  custom->setName("mystery");
  custom->addInput(u);
  custom->addOutput("mystery_out");
  Value* direct = conv("o", x, 4, 6);
  for (Value* v : {sm->output(0), gr, rs, custom->output(0), direct})
    g.addOutput(v);
  PassManagerOptions pmo;  // no schemas: com.example is unknown to ONNX
  auto st = PassManager(pmo).run(parsePipeline("prune-structured", passRegistry()), m);
  CHECK_FALSE(st[0].changed);
  std::string notes;
  for (const auto& n : st[0].notes)
    notes += n + "\n";
  INFO(notes);
  CHECK(notes.find("left 1 Conv unpruned: Softmax normalizes over them (s)") != std::string::npos);
  CHECK(notes.find("a grouped ConvTranspose needs whole groups (pre)") != std::string::npos);
  CHECK(notes.find("Reshape moves them across other dims (r)") != std::string::npos);
  CHECK(notes.find("an op of domain com.example reads them (u)") != std::string::npos);
  CHECK(notes.find("a graph output keeps its shape (o)") != std::string::npos);
}

TEST_CASE("prune-structured follows Reshape, Transpose and Split", "[prune]") {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* x = g.addInput("x", Type::tensor(DType::F32, Shape{Dim::symbol("N"), Dim::known(3),
                                                            Dim::known(2), Dim::known(2)}));
  Value* w = g.addInitializer("cw", f32({8, 3, 1, 1}, gaussian(24, 1)));
  Value* y = op(g, "Conv", {x, w}, "conv")->output(0);
  // Split into 4 + 4, parts multiplied: the parts' channels pair up.
  Value* sizes =
      g.addInitializer("sizes", Tensor::fromVector(DType::I64, {2}, std::vector<int64_t>{4, 4}));
  Node* sp = op(g, "Split", {y, sizes}, "split", 2);
  sp->setAttr(Attribute::makeInt("axis", 1));
  y = op(g, "Mul", {sp->output(0), sp->output(1)}, "mul")->output(0);
  // NCHW -> NHWC, a MatMul along the channels, back to [N, 16] through a constant shape.
  Node* tr = op(g, "Transpose", {y}, "nhwc");
  tr->setAttr(Attribute::makeInts("perm", {0, 2, 3, 1}));
  Value* w2 = g.addInitializer("mw", f32({4, 4}, gaussian(16, 2)));
  y = op(g, "MatMul", {tr->output(0), w2}, "mm")->output(0);
  Value* shape =
      g.addInitializer("shape", Tensor::fromVector(DType::I64, {2}, std::vector<int64_t>{-1, 16}));
  y = op(g, "Reshape", {y, shape}, "reshape")->output(0);
  Value* w3 = g.addInitializer("hw", f32({16, 2}, gaussian(32, 3)));
  y = op(g, "MatMul", {y, w3}, "head")->output(0);
  y->setType(Type::tensor(DType::F32, Shape{Dim::symbol("N"), Dim::known(2)}));
  g.addOutput(y);
  auto st = runPipeline(m, "prune-structured{ratio=0.5}");
  std::string notes;
  for (const auto& n : st[0].notes)
    notes += n + "\n";
  INFO(notes);
  CHECK(weightOf(m, "conv").dims()[0] == 4);  // 2 pairs of 4 kept: each part keeps 2
  auto split = constantValue(find(m, "split")->input(1));
  REQUIRE(split);
  CHECK(toDoubles(*split) == std::vector<double>{2, 2});
  CHECK(weightOf(m, "mm").dims() == std::vector<int64_t>{2, 2});
  auto target = constantValue(find(m, "reshape")->input(1));
  CHECK(toDoubles(*target) == std::vector<double>{-1, 8});  // [N, 2*2*2]
  CHECK(weightOf(m, "head").dims() == std::vector<int64_t>{8, 2});
}

TEST_CASE("prune-structured keeps a grouped convolution's groups even", "[prune]") {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* x = g.addInput("x", Type::tensor(DType::F32, shapeOf({1, 4, 3, 3})));
  Value* w1 = g.addInitializer("w1", f32({8, 4, 1, 1}, gaussian(32, 1)));
  Value* y = op(g, "Conv", {x, w1}, "pre")->output(0);
  Value* w2 = g.addInitializer("w2", f32({12, 2, 3, 3}, gaussian(216, 2)));  // 4 groups
  Value* b2 = g.addInitializer("b2", f32({12}, gaussian(12, 3)));
  Node* gc = op(g, "Conv", {y, w2, b2}, "grouped");
  gc->setAttr(Attribute::makeInt("group", 4));
  gc->setAttr(Attribute::makeInts("pads", {1, 1, 1, 1}));
  Value* w3 = g.addInitializer("w3", f32({2, 12, 1, 1}, gaussian(24, 4)));
  y = op(g, "Conv", {gc->output(0), w3}, "post")->output(0);
  y->setType(Type::tensor(DType::F32, shapeOf({1, 2, 3, 3})));
  g.addOutput(y);
  runPipeline(m, "prune-structured{ratio=0.5}");
  // pre: input channel j of each group is tied (pairs {0,2,4,6}, {1,3,5,7}): 1 of 2 kept.
  CHECK(weightOf(m, "pre").dims()[0] == 4);
  // grouped: 3 outputs per group, tied across groups: 1 of 3 dropped; still 4 groups.
  CHECK(weightOf(m, "grouped").dims() == std::vector<int64_t>{8, 1, 3, 3});
  CHECK(find(m, "grouped")->intAttr("group", 0) == 4);
  CHECK(weightOf(m, "grouped", 2).numel() == 8);
  CHECK(weightOf(m, "post").dims() == std::vector<int64_t>{2, 8, 1, 1});
}

TEST_CASE("prune options are checked before any work", "[prune]") {
  for (const char* text :
       {"prune-structured{ratio=1.5}", "prune-structured{ratio=-0.1}",
        "prune-magnitude{sparsity=1}", "prune-structured{round-to=0}",
        "prune-structured{overrides=[\"a=2\"]}", "prune-structured{overrides=[noequals]}",
        "prune-structured{include-ops=[Relu]}", "prune-magnitude{min-size=-1}", "prune-nm{n=0}"}) {
    INFO(text);
    Pipeline p = parsePipeline(text, passRegistry());
    try {
      p.passes[0].entry->create(p.passes[0].options);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::Usage);
    }
  }
}
