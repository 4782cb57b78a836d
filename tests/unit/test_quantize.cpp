// Quantization arithmetic, calibration statistics and the static QDQ plan on small graphs.
#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "pass/PassManager.h"
#include "passes/Registry.h"
#include "passes/quantize/CalibStats.h"
#include "passes/quantize/Gptq.h"
#include "passes/quantize/QuantCommon.h"
#include "passes/quantize/QuantMath.h"
#include "passes/quantize/Selection.h"
#include "passes/quantize/StaticPlan.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

using namespace mopt;

namespace {

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v)
    x = d(rng);
  return v;
}

Node* op(Graph& g, const std::string& type, std::vector<Value*> ins, const std::string& out) {
  Node* n = g.appendNode(type);
  n->setName(out);
  for (Value* v : ins)
    n->addInput(v);
  n->addOutput(out);
  return n;
}

// x[1,2,4,4] -> Conv(w, b) -> Relu -> MaxPool -> Conv(w2) -> y
Model convNet() {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  Value* x = g.addInput("x", Type::tensor(DType::F32, shapeOf({1, 2, 4, 4})));
  auto w = gaussian(3 * 2 * 9, 1);
  Value* wv = g.addInitializer("w", Tensor::fromVector(DType::F32, {3, 2, 3, 3}, w));
  Value* bv = g.addInitializer(
      "b", Tensor::fromVector(DType::F32, {3}, std::vector<float>{0.5f, -0.25f, 0.1f}));
  Node* c1 = op(g, "Conv", {x, wv, bv}, "c1");
  c1->setAttr(Attribute::makeInts("pads", {1, 1, 1, 1}));
  Node* r = op(g, "Relu", {c1->output(0)}, "r");
  Node* p = op(g, "MaxPool", {r->output(0)}, "p");
  p->setAttr(Attribute::makeInts("kernel_shape", {2, 2}));
  p->setAttr(Attribute::makeInts("strides", {2, 2}));
  auto w2 = gaussian(2 * 3, 2);
  Value* w2v = g.addInitializer("w2", Tensor::fromVector(DType::F32, {2, 3, 1, 1}, w2));
  Node* c2 = op(g, "Conv", {p->output(0), w2v}, "y");
  g.addOutput(c2->output(0));
  return m;
}

StatsSet statsFor(const std::vector<std::string>& names, float lo, float hi) {
  StatsSet s;
  s.samples = 1;
  for (const auto& n : names) {
    std::vector<float> v = {lo, hi, (lo + hi) / 2};
    s.tensors[n].add(v.data(), 3);
  }
  return s;
}

}  // namespace

TEST_CASE("quantization parameters follow ONNX Runtime's conventions", "[quantize]") {
  QParams u8 = computeQParams(-1.0f, 3.0f, quantRange(DType::U8, false, false), false);
  CHECK(u8.scale == Approx(4.0 / 255));
  CHECK(u8.zero_point == 64);  // round(1 / (4/255)) = round(63.75)
  QParams s8 = computeQParams(-2.0f, 1.0f, quantRange(DType::I8, true, false), true);
  CHECK(s8.scale == Approx(4.0 / 254));
  CHECK(s8.zero_point == 0);
  // The range always contains zero, so zero is exactly representable.
  QParams pos = computeQParams(2.0f, 6.0f, quantRange(DType::U8, false, false), false);
  CHECK(pos.zero_point == 0);
  CHECK(pos.scale == Approx(6.0 / 255));
  QParams flat = computeQParams(0.0f, 0.0f, quantRange(DType::U8, false, false), false);
  CHECK(flat.scale == 1.0f);
  // Round half to even and saturate, like QuantizeLinear.
  QRange r = quantRange(DType::U8, false, false);
  CHECK(quantizeValue(2.5f, QParams{1.0f, 0}, r) == 2);
  CHECK(quantizeValue(3.5f, QParams{1.0f, 0}, r) == 4);
  CHECK(quantizeValue(1000.0f, QParams{1.0f, 0}, r) == 255);
  CHECK(quantizeValue(-5.0f, QParams{1.0f, 0}, r) == 0);
  CHECK(quantRange(DType::I8, false, true).qmax == 64);  // reduce_range: 7 bits
}

TEST_CASE("per-channel weights put each channel's extreme on the last code", "[quantize]") {
  // [K=3, N=2], channels along axis 1 (a MatMul weight).
  Tensor w = Tensor::fromVector(DType::F32, {3, 2},
                                std::vector<float>{1.0f, -0.5f, -2.0f, 0.25f, 0.5f, 0.1f});
  QuantizedTensor q = quantizeWeight(w, DType::I8, 1, true, false);
  REQUIRE(q.scale.dims() == std::vector<int64_t>{2});
  std::vector<double> codes = toDoubles(q.data), scales = toDoubles(q.scale);
  CHECK(scales[0] == Approx(4.0 / 254));
  CHECK(scales[1] == Approx(1.0 / 254));
  CHECK(codes[2] == -127);  // -2.0, column 0's extreme
  CHECK(codes[1] == -127);  // -0.5, column 1's extreme
  CHECK(toDoubles(q.zero_point) == std::vector<double>{0, 0});
  for (size_t i = 0; i < codes.size(); ++i) {
    double s = scales[i % 2], orig = toDoubles(w)[i];
    CHECK(std::fabs(codes[i] * s - orig) <= s / 2 + 1e-7);
  }
}

TEST_CASE(
    "block quantization round-trips within half a step and keeps ONNX Runtime's symmetric scheme",
    "[quantize]") {
  const int64_t K = 80, N = 5, block = 32;  // a partial last block
  std::vector<float> w = gaussian(static_cast<size_t>(K * N), 3);
  for (bool sym : {false, true}) {
    for (int bits : {4, 8}) {
      BlockQuantized q = quantizeBlocks(w.data(), K, N, N, 1, block, bits, sym);
      CHECK(q.blocks == 3);
      CHECK(q.packed.size() == static_cast<size_t>(N * 3 * block * bits / 8));
      CHECK(q.zero_points.empty() == sym);
      std::vector<float> back = dequantizeBlocks(q);
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n) {
          float s = std::fabs(q.scales[static_cast<size_t>(n * q.blocks + k / block)]);
          // Symmetric blocks map the extreme to the most negative code, so the other side ends
          // one code short (+7 for -8): up to a full step of clipping there.
          float bound = sym ? s : s / 2;
          INFO("sym " << sym << " bits " << bits << " k " << k << " n " << n);
          CHECK(std::fabs(back[static_cast<size_t>(k * N + n)] -
                          w[static_cast<size_t>(k * N + n)]) <= bound + 1e-6f);
        }
    }
  }
  // Symmetric 4-bit: the block's largest-magnitude value is exactly -8 * scale.
  std::vector<float> one = {0.1f, -0.7f, 0.3f, 0.2f};
  BlockQuantized q = quantizeBlocks(one.data(), 4, 1, 1, 1, 16, 4, true);
  CHECK(q.scales[0] * -8 == Approx(-0.7f));
  CHECK(dequantizeBlocks(q)[1] == Approx(-0.7f));
  // An embedding table [N, K] (strides 1, K) gives the same blocks as its transpose [K, N].
  std::vector<float> t(static_cast<size_t>(K * N));
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n)
      t[static_cast<size_t>(n * K + k)] = w[static_cast<size_t>(k * N + n)];
  BlockQuantized a = quantizeBlocks(w.data(), K, N, N, 1, block, 4, false);
  BlockQuantized b = quantizeBlocks(t.data(), K, N, 1, K, block, 4, false);
  CHECK(a.packed == b.packed);
  CHECK(a.scales == b.scales);
  CHECK(a.zero_points == b.zero_points);
}

TEST_CASE("calibration histograms do not depend on sample order and merge exactly", "[quantize]") {
  std::vector<float> small = gaussian(1000, 4, 0.1f), big = gaussian(1000, 5, 30.0f);
  TensorStats a, b, c1, c2;
  a.add(small.data(), 1000);  // narrow range first: the histogram doubles ~8 times later
  a.add(big.data(), 1000);
  b.add(big.data(), 1000);
  b.add(small.data(), 1000);
  CHECK(a.exponent == b.exponent);
  CHECK(a.hist == b.hist);
  CHECK(a.min == b.min);
  CHECK(a.max == b.max);
  c1.add(small.data(), 1000);
  c2.add(big.data(), 1000);
  c1.merge(c2);
  CHECK(c1.hist == a.hist);
  CHECK(c1.count == 2000);
  uint64_t total = 0;
  for (uint64_t h : a.hist)
    total += h;
  CHECK(total == 2000);
  // Non-finite values are counted apart and never reach the histogram.
  std::vector<float> odd = {1.0f, NAN, INFINITY, -2.0f};
  TensorStats o;
  o.add(odd.data(), 4);
  CHECK(o.count == 2);
  CHECK(o.nonfinite == 2);
  CHECK(o.min == -2.0);
}

TEST_CASE("range methods: minmax is exact, the others clip outliers", "[quantize]") {
  std::vector<float> v = gaussian(200000, 6);
  v.push_back(40.0f);  // one far outlier
  TensorStats s;
  s.add(v.data(), static_cast<int64_t>(v.size()));
  QRange u8 = quantRange(DType::U8, false, false);
  auto mm = calibratedRange(s, CalibMethod::MinMax, 0, u8, false);
  CHECK(mm.second == 40.0f);
  CHECK(mm.first == static_cast<float>(s.min));
  auto pc = calibratedRange(s, CalibMethod::Percentile, 99.9, u8, false);
  CHECK(pc.second == Approx(3.09).margin(0.05));  // N(0,1)'s 99.9th percentile
  CHECK(pc.first == Approx(-3.09).margin(0.05));
  auto sym =
      calibratedRange(s, CalibMethod::Percentile, 99.9, quantRange(DType::I8, true, false), true);
  // |x|'s 99.9th percentile, to the histogram's resolution (bins of 1/32 here: R = 64)
  CHECK(sym.second == Approx(3.29).margin(0.08));
  auto en = calibratedRange(s, CalibMethod::Entropy, 0, u8, false);
  CHECK(en.second < 10.0f);
  CHECK(en.second > 2.0f);
  auto ms = calibratedRange(s, CalibMethod::Mse, 0, u8, false);
  CHECK(ms.second < 40.0f);
  CHECK(ms.first <= 0.0f);
  CHECK_THROWS_AS(parseCalibMethod("kl"), Error);
}

TEST_CASE("calibration files round-trip exactly and reject what they are not", "[quantize]") {
  StatsSet s;
  s.samples = 7;
  std::vector<float> v = gaussian(500, 7, 2.0f);
  s.tensors["a/b"].add(v.data(), 500);
  s.tensors["c"].add(v.data(), 10);
  std::string text = s.toJson();
  StatsSet back = StatsSet::fromJson(text, "x.json");
  CHECK(back.toJson() == text);
  CHECK(back.tensors.at("a/b").hist == s.tensors.at("a/b").hist);
  CHECK_THROWS_WITH(StatsSet::fromJson("{}", "x.json"),
                    Catch::Contains("x.json: not a mopt calibration file"));
  CHECK_THROWS_WITH(
      StatsSet::fromJson(
          "{\"format\": \"mopt-calibration\", \"version\": 1, \"bins\": 4096, "
          "\"samples\": 1, \"tensors\": {\"t\": {\"count\": 5, \"min\": 0, \"max\": 1, "
          "\"exponent\": 0, \"hist\": [[9999, 5]]}}}",
          "y.json"),
      Catch::Contains("out of range"));
  CHECK_THROWS_WITH(StatsSet::fromJson("not json", "z.json"), Catch::Contains("z.json: malformed"));
}

TEST_CASE("overrides and node selection parse their small languages", "[quantize]") {
  std::map<std::string, StaticConfig::Override> o;
  parseOverride("x=float", o);
  parseOverride("y=int16", o);
  parseOverride("a/b=c=range:-1:2.5", o);  // the last '=' separates the name
  CHECK(o.at("x").keep_float);
  CHECK(*o.at("y").type == DType::I16);
  CHECK(o.at("a/b=c").range->second == 2.5f);
  CHECK_THROWS_AS(parseOverride("z=range:3:1", o), Error);
  CHECK_THROWS_AS(parseOverride("z=int3", o), Error);
  CHECK_THROWS_AS(parseOverride("=float", o), Error);

  Model m = convNet();
  NodeSelection sel({"Conv", "Relu"}, {"re:c[2-9]", "MaxPool"});
  Node* c1 = nullptr;
  for (Node* n : m.graph->nodes())
    if (n->name() == "c1") c1 = n;
  CHECK(sel.includes(*c1));
  NodeSelection sel2({"Conv"}, {"re:c1"});
  CHECK_FALSE(sel2.includes(*c1));
  CHECK(sel2.exclusionReason(*c1) == "excluded by re:c1");
  CHECK_THROWS_AS(NodeSelection({}, {"re:("}), Error);
}

TEST_CASE("the static plan folds Relu, shares MaxPool's parameters and writes full QDQ units",
          "[quantize]") {
  Model m = convNet();
  inferShapesOnnx(m);
  StaticConfig cfg;
  PassContext ctx;
  NodeSelection sel(
      std::vector<std::string>(staticQuantizableOps().begin(), staticQuantizableOps().end()), {});
  StaticPlan plan = planStatic(m, cfg, sel, ctx);
  CHECK(plan.folded.size() == 1);  // the Relu
  CHECK(plan.nodes.size() == 3);   // Conv, MaxPool, Conv
  // x, c1 (with the Relu's statistics), p (sharing c1's), y
  CHECK(plan.tensors.size() == 4);
  std::vector<std::string> stats = plan.statNames();
  CHECK(stats == std::vector<std::string>{"r", "x", "y"});
  const Value* p = nullptr;
  const Value* c1 = nullptr;
  for (const Value* v : plan.tensors) {
    if (v->name() == "p") p = v;
    if (v->name() == "c1") c1 = v;
  }
  REQUIRE(p);
  CHECK(plan.root.at(p) == c1);

  applyStatic(m, plan, statsFor(stats, -1.0f, 2.0f), cfg, ctx);
  int q = 0, dq = 0;
  for (const Node* n : m.graph->nodes()) {
    q += n->is("QuantizeLinear");
    dq += n->is("DequantizeLinear");
    if (n->is("Conv")) {
      // Every Conv input comes from a DequantizeLinear: activation, weight (per channel), bias.
      for (const Value* in : n->inputs()) {
        REQUIRE(in->producer());
        CHECK(in->producer()->is("DequantizeLinear"));
      }
      CHECK(n->input(1)->producer()->intAttr("axis", -1) == 0);
      // The Conv's only reader is its output's QuantizeLinear.
      REQUIRE(n->output(0)->uses().size() == 1);
      CHECK(n->output(0)->uses()[0].user->is("QuantizeLinear"));
    }
    CHECK_FALSE(n->is("Relu"));
  }
  CHECK(q == 4);
  CHECK(dq == 4 + 3);  // activations + two weights + one bias
  for (const Value* v : m.graph->initializers())
    if (v->name().find("b_quantized") != std::string::npos)
      CHECK(v->initializer().dtype() == DType::I32);
  // The interface keeps its names.
  CHECK(m.graph->outputs()[0]->name() == "y");
  CHECK(m.graph->outputs()[0]->producer()->is("DequantizeLinear"));

  // Statistics for another model are refused with a clear message.
  Model m2 = convNet();
  inferShapesOnnx(m2);
  StaticPlan plan2 = planStatic(m2, cfg, sel, ctx);
  CHECK_THROWS_WITH(applyStatic(m2, plan2, statsFor({"x"}, 0, 1), cfg, ctx),
                    Catch::Contains("calibration statistics have no tensor"));
}

TEST_CASE("keeping a node in float keeps what it owns in float", "[quantize]") {
  Model m = convNet();
  inferShapesOnnx(m);
  StaticConfig cfg;
  cfg.excluded_nodes = {0};  // c1 (and the Relu folded into it)
  PassContext ctx;
  NodeSelection sel(
      std::vector<std::string>(staticQuantizableOps().begin(), staticQuantizableOps().end()), {});
  StaticPlan plan = planStatic(m, cfg, sel, ctx);
  // MaxPool only carries quantization along, so with c1 float it stays float too; y's Conv
  // quantizes its own input (p) and output.
  std::set<std::string> names;
  for (const Value* v : plan.tensors)
    names.insert(v->name());
  CHECK(names == std::set<std::string>{"p", "y"});
  CHECK(plan.nodes.size() == 1);
  // One node alone: its outputs and graph inputs, not what other nodes produce.
  StaticConfig one;
  one.only_nodes = std::set<size_t>{3};
  StaticPlan alone = planStatic(m, one, sel, ctx);
  names.clear();
  for (const Value* v : alone.tensors)
    names.insert(v->name());
  CHECK(names == std::set<std::string>{"y"});
}

TEST_CASE("skipped candidates are grouped in the report", "[quantize]") {
  Model m = convNet();
  SkipReport r;
  for (const Node* n : m.graph->nodes())
    if (n->is("Conv")) r.add(*n, "reason A");
  for (const Node* n : m.graph->nodes())
    if (n->is("Relu")) r.add(*n, "reason B");
  PassContext ctx;
  r.flush(ctx);
  REQUIRE(ctx.notes().size() == 2);
  CHECK(ctx.notes()[0] == "kept 2 Conv in float: reason A (c1, y)");
  CHECK(ctx.counters().at("nodes-skipped") == 3);
}

TEST_CASE("GPTQ lowers the layer's output error below round-to-nearest's", "[quantize]") {
  const int64_t K = 64, N = 16, rows = 512;
  // Correlated inputs (a random mixing of few factors): where GPTQ's error feedback pays off.
  std::vector<float> f = gaussian(static_cast<size_t>(rows * 8), 11), mix = gaussian(8 * K, 12);
  std::vector<float> x(static_cast<size_t>(rows * K), 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < 8; ++j)
        x[static_cast<size_t>(r * K + k)] +=
            f[static_cast<size_t>(r * 8 + j)] * mix[static_cast<size_t>(j * K + k)];
  std::vector<float> w = gaussian(static_cast<size_t>(K * N), 13);
  InputHessian h(K);
  h.add(x.data(), rows);
  auto outputError = [&](const BlockQuantized& q) {
    std::vector<float> wq = dequantizeBlocks(q);
    double err = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t n = 0; n < N; ++n) {
        double a = 0, b = 0;
        for (int64_t k = 0; k < K; ++k) {
          a += x[static_cast<size_t>(r * K + k)] * w[static_cast<size_t>(k * N + n)];
          b += x[static_cast<size_t>(r * K + k)] * wq[static_cast<size_t>(k * N + n)];
        }
        err += (a - b) * (a - b);
      }
    return err;
  };
  for (bool sym : {false, true}) {
    double rtn = outputError(quantizeBlocks(w.data(), K, N, N, 1, 32, 4, sym));
    double gptq = outputError(gptqQuantize(w.data(), K, N, h, 32, 4, sym));
    INFO("symmetric " << sym << ": rtn " << rtn << ", gptq " << gptq);
    CHECK(gptq < 0.8 * rtn);
  }
}
