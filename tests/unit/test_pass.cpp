// Pass options, the pipeline parser and the pass manager.
#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "ir/Verifier.h"
#include "pass/PassManager.h"
#include "passes/Registry.h"

#include <catch2/catch.hpp>

using namespace mopt;

namespace {

std::string pipelineError(const std::string& text) {
  try {
    parsePipeline(text, passRegistry());
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Usage);
    return e.what();
  }
  FAIL("pipeline '" + text + "' parsed");
  return "";
}

// A pass that breaks the IR: the verifier must catch it and name it.
class BreakingPass : public Pass {
 public:
  bool run(Model& m, PassContext&) override {
    Node* n = m.graph->appendNode("Relu");
    Graph other;
    Value* stray = other.addInput("stray", Type::tensor(DType::F32));
    n->addInput(stray);
    n->setInput(0, nullptr);  // Relu needs its input
    n->addOutput("broken");
    return true;
  }
};
const PassInfo kBreakingInfo{"break-things", "test", "breaks the IR", "", {}};

Model trivialModel() {
  Model m;
  m.opset_imports = {{"", 17}};
  Value* x = m.graph->addInput("x", Type::tensor(DType::F32, Shape{Dim::known(2)}));
  Node* id = m.graph->appendNode("Identity");
  id->addInput(x);
  Value* y = id->addOutput("y");
  y->setType(x->type());
  m.graph->addOutput(y);
  return m;
}

}  // namespace

TEST_CASE("pipelines parse into canonical text with every option spelled out", "[pipeline]") {
  Pipeline p =
      parsePipeline(" dce , convert-opset{ target = 13 },fold-bn-into-conv{}", passRegistry());
  CHECK(p.canonical() == "dce,convert-opset{target=13,only-upgrade=false},fold-bn-into-conv");
  CHECK(parsePipeline(p.canonical(), passRegistry()).canonical() == p.canonical());
}

TEST_CASE("pipeline errors point at the column and suggest the nearest name", "[pipeline]") {
  std::string e = pipelineError("dce,fold-bn-into-conv,dcee");
  CHECK(e.find("column 23: unknown pass 'dcee'; did you mean 'dce'?") != std::string::npos);
  CHECK(e.find("\n  dce,fold-bn-into-conv,dcee\n                        ^") != std::string::npos);
  CHECK(pipelineError("convert-opset{targt=13}")
            .find("unknown option 'targt'; did you mean 'target'?") != std::string::npos);
  CHECK(pipelineError("convert-opset{target=abc}").find("must be an integer, got 'abc'") !=
        std::string::npos);
  CHECK(pipelineError("convert-opset").find("needs option 'target'") != std::string::npos);
  CHECK(pipelineError("dce,").find("expected a pass name after ','") != std::string::npos);
  CHECK(pipelineError("dce{x=1}").find("this pass takes no options") != std::string::npos);
  CHECK(pipelineError("convert-opset{target=1,target=2}").find("given twice") != std::string::npos);
  CHECK(pipelineError("").find("empty") != std::string::npos);
}

TEST_CASE("option values are typed", "[pipeline]") {
  std::vector<OptionSpec> specs = {{"flag", OptionType::Bool, "false", "", {}, false},
                                   {"ratio", OptionType::Float, "0.5", "", {}, false},
                                   {"mode", OptionType::Enum, "a", "", {"a", "b"}, false},
                                   {"names", OptionType::StringList, "", "", {}, false}};
  OptionValues v(&specs);
  v.set("flag", RawOptionValue::scalar("yes"));
  v.set("names", RawOptionValue{true, {"x,y", "z"}});
  v.finish("t");
  CHECK(v.getBool("flag"));
  CHECK(v.getFloat("ratio") == 0.5);
  CHECK(v.getString("mode") == "a");
  CHECK(v.getList("names") == std::vector<std::string>{"x,y", "z"});
  CHECK(v.canonical() == "flag=true,ratio=0.5,mode=a,names=[\"x,y\",z]");
  CHECK_THROWS_WITH(v.set("mode", RawOptionValue::scalar("c")), Catch::Contains("one of a|b"));
  CHECK_THROWS_WITH(v.set("ratio", RawOptionValue::scalar("nan")), Catch::Contains("a number"));
  CHECK_THROWS_WITH(v.set("flag", RawOptionValue{true, {"x"}}), Catch::Contains("not a list"));
}

TEST_CASE("every registered pass runs on a trivial graph and leaves it valid", "[pipeline]") {
  for (const auto& e : passRegistry().entries()) {
    INFO(e.info->name);
    std::vector<std::pair<std::string, RawOptionValue>> opts;
    for (const auto& o : e.info->options)
      if (o.required)
        opts.emplace_back(o.name, RawOptionValue::scalar(o.name == "target" ? "13" : "1"));
    Pipeline p;
    p.passes.push_back(makeInvocation(passRegistry(), e.info->name, opts));
    Model m = trivialModel();
    PassManagerOptions pmo;
    pmo.schemas = &onnxSchemas();
    if (e.info->name == "distill" || e.info->name == "distill-export") {
      // Needs a teacher model and training data: on their absence it must say so, not crash.
      CHECK_THROWS_WITH(PassManager(pmo).run(p, m), Catch::Contains("teacher"));
      continue;
    }
    CHECK_NOTHROW(PassManager(pmo).run(p, m));
    VerifyOptions vo;
    vo.schemas = &onnxSchemas();
    CHECK(verifyModel(m, vo).empty());
  }
}

TEST_CASE("verify-each names the pass that broke the model", "[pipeline]") {
  PassRegistry reg({PassEntry{&kBreakingInfo, [](const OptionValues&) -> std::unique_ptr<Pass> {
                                return std::make_unique<BreakingPass>();
                              }}});
  Pipeline p = parsePipeline("break-things", reg);
  Model m = trivialModel();
  PassManagerOptions pmo;
  pmo.schemas = &onnxSchemas();
  try {
    PassManager(pmo).run(p, m);
    FAIL("the broken IR went unnoticed");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Pass);
    CHECK(std::string(e.what()).find("pass 'break-things' broke the model") != std::string::npos);
  }
}
