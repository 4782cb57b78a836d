// IR mutation primitives, the verifier and the printer.
#include "ir/Graph.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"

#include <catch2/catch.hpp>

using namespace mopt;

namespace {

// x -> Relu -> Neg -> y, with an unused initializer.
Model tinyModel() {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = *m.graph;
  g.setName("tiny");
  Value* x = g.addInput("x", Type::tensor(DType::F32, Shape{Dim::symbol("N"), Dim::known(4)}));
  Node* relu = g.appendNode("Relu");
  relu->addInput(x);
  Value* r = relu->addOutput("r");
  Node* neg = g.appendNode("Neg");
  neg->addInput(r);
  Value* y = neg->addOutput("y");
  y->setType(Type::tensor(DType::F32, Shape{Dim::symbol("N"), Dim::known(4)}));
  g.addOutput(y);
  g.addInitializer("w", Tensor::fromVector(DType::F32, {2}, std::vector<float>{1, 2}));
  return m;
}

bool hasIssue(const Model& m, const std::string& text) {
  for (const auto& i : verifyModel(m))
    if (i.str().find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("a well-formed model verifies", "[ir]") {
  Model m = tinyModel();
  CHECK(verifyModel(m).empty());
}

TEST_CASE("use lists follow setInput, replaceAllUsesWith and eraseNode", "[ir]") {
  Model m = tinyModel();
  Graph& g = *m.graph;
  Value* x = g.inputs()[0];
  Node* relu = *g.nodes().begin();
  Value* r = relu->output(0);
  CHECK(x->uses().size() == 1);
  r->replaceAllUsesWith(x);  // Neg now reads x directly
  CHECK(x->uses().size() == 2);
  CHECK_FALSE(r->hasUses());
  g.eraseNode(relu);
  CHECK(x->uses().size() == 1);
  CHECK(g.numNodes() == 1);
  CHECK(verifyModel(m).empty());
}

TEST_CASE("erasing a node whose output is used is an internal error", "[ir]") {
  Model m = tinyModel();
  Node* relu = *m.graph->nodes().begin();
  CHECK_THROWS_WITH(m.graph->eraseNode(relu), Catch::Contains("still used"));
}

TEST_CASE("destroying a subgraph drops its uses of outer values", "[ir]") {
  Model m = tinyModel();
  Graph& g = *m.graph;
  Value* x = g.inputs()[0];
  Value* cond = g.addInput("c", Type::tensor(DType::Bool, Shape{}));
  Node* iff = g.appendNode("If");
  iff->addInput(cond);
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto body = std::make_unique<Graph>(branch);
    Node* id = body->appendNode("Identity");
    id->addInput(x);  // outer-scope reference
    body->addOutput(id->addOutput(std::string(branch) + "_out"));
    iff->setAttr(Attribute::makeGraph(branch, std::move(body)));
  }
  iff->addOutput("z");
  CHECK(x->uses().size() == 3);
  CHECK(verifyModel(m).empty());
  g.eraseNode(iff);
  CHECK(x->uses().size() == 1);
  CHECK(verifyModel(m).empty());
}

TEST_CASE("the verifier reports undefined values, bad order and duplicate names", "[ir]") {
  SECTION("a node reading a value from a later node") {
    Model m = tinyModel();
    Graph& g = *m.graph;
    Node* neg = *std::next(g.nodes().begin());
    Node* relu = *g.nodes().begin();
    g.moveBefore(neg, relu);
    CHECK(hasIssue(m, "produced by a later node"));
  }
  SECTION("two values with one name") {
    Model m = tinyModel();
    Node* relu = *m.graph->nodes().begin();
    relu->output(0)->setName("y");
    CHECK(hasIssue(m, "defined twice"));
  }
  SECTION("a value of another graph") {
    Model m = tinyModel();
    Graph other;
    Value* stray = other.addInput("stray", Type::tensor(DType::F32));
    Node* neg = *std::next(m.graph->nodes().begin());
    neg->setInput(0, stray);
    CHECK(hasIssue(m, "not defined in this graph or an enclosing one"));
    neg->setInput(0, (*m.graph->nodes().begin())->output(0));
  }
  SECTION("an input without type") {
    Model m = tinyModel();
    m.graph->addInput("untyped", Type());
    CHECK(hasIssue(m, "has no type"));
  }
}

TEST_CASE("the printer is stable and shows what matters", "[ir]") {
  Model m = tinyModel();
  std::string text = printModel(m);
  CHECK(text == printModel(m));
  CHECK(text.find("input %x: f32[N,4]") != std::string::npos);
  CHECK(text.find("init %w = f32[2] {1, 2}") != std::string::npos);
  CHECK(text.find("%y = Neg(%r)") != std::string::npos);
  CHECK(text.find("return %y: f32[N,4]") != std::string::npos);
}

TEST_CASE("NameScope never hands out a taken name", "[ir]") {
  Model m = tinyModel();
  NameScope names(m);
  CHECK(names.fresh("x") == "x_1");
  CHECK(names.fresh("x") == "x_2");
  CHECK(names.fresh("fresh") == "fresh");
}
