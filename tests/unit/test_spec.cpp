// Pipeline files: schema, relative paths, and errors with file:line:column.
#include "driver/PipelineSpec.h"
#include "ir/Error.h"
#include "passes/Registry.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

using namespace mopt;

namespace {

std::string specError(const std::string& yaml) {
  // One file per process: ctest runs the test cases of this file in parallel processes.
  std::string dir = "/tmp/mopt_test_spec." + std::to_string(::getpid());
  ::mkdir(dir.c_str(), 0755);
  std::string path = dir + "/mopt_test_spec.yaml";
  std::ofstream(path) << yaml;
  std::string message;
  try {
    loadPipelineSpec(path, passRegistry());
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Usage);
    message = e.what();
  }
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
  if (message.empty()) FAIL("spec loaded:\n" + yaml);
  return message;
}

}  // namespace

TEST_CASE("a pipeline file loads with relative paths and output options", "[spec]") {
  std::string path = "/tmp/mopt_spec_dir/p.yaml";
  std::system("mkdir -p /tmp/mopt_spec_dir");
  std::ofstream(path)
      << "version: 1\ninput: in.onnx\noutput: /abs/out.onnx\npasses:\n  - dce\n"
         "  - convert-opset: {target: 13}\noutput_options:\n  external_data: always\n"
         "  external_data_threshold: 4096\n";
  PipelineSpec s = loadPipelineSpec(path, passRegistry());
  CHECK(s.input == "/tmp/mopt_spec_dir/in.onnx");
  CHECK(s.output == "/abs/out.onnx");
  CHECK(s.pipeline.canonical() == "dce,convert-opset{target=13,only-upgrade=false}");
  CHECK(s.save.external_data == ExternalDataMode::Always);
  CHECK(s.save.threshold == 4096);
}

TEST_CASE("JSON pipeline files are accepted", "[spec]") {
  std::string path = "/tmp/mopt_test_spec.json";
  std::ofstream(path)
      << R"({"input": "a.onnx", "output": "b.onnx", "passes": ["dce", {"convert-opset": {"target": 17}}], "output_options": {"opset": 13}})";
  PipelineSpec s = loadPipelineSpec(path, passRegistry());
  CHECK(s.pipeline.canonical() ==
        "dce,convert-opset{target=17,only-upgrade=false},convert-opset{target=13,only-upgrade="
        "false}");
}

TEST_CASE("pipeline file errors carry the position and a suggestion", "[spec]") {
  CHECK(
      specError("passes:\n  - dcee\n")
          .find("mopt_test_spec.yaml:2:5: pass 'dcee': unknown pass 'dcee'; did you mean 'dce'?") !=
      std::string::npos);
  CHECK(specError("passes:\n  - convert-opset: {target: seventeen}\n").find(":2:29:") !=
        std::string::npos);
  CHECK(specError("passes:\n  - convert-opset: {target: seventeen}\n")
            .find("must be an integer, got 'seventeen'") != std::string::npos);
  CHECK(specError("input: [a, b]\npasses: [dce]\n").find(":1:8: 'input' must be a single value") !=
        std::string::npos);
  CHECK(specError("pases: [dce]\n").find("unknown key 'pases'; did you mean 'passes'?") !=
        std::string::npos);
  CHECK(specError("passes: dce\n").find("'passes' must be a list") != std::string::npos);
  CHECK(specError("passes: [dce]\noutput_options: {external_data: maybe}\n")
            .find("auto, always or never") != std::string::npos);
  CHECK(specError("passes: [\n").find("not valid YAML") != std::string::npos);
  CHECK(specError("input: a.onnx\n").find("no 'passes' list") != std::string::npos);
}

TEST_CASE("gate values are finite numbers and sample counts whole numbers", "[spec]") {
  const std::string head = "passes: [dce]\ndata:\n  test: {path: t.npz}\ngates:\n  data: test\n";
  // 4.6e27 once reached a double -> int64 cast (undefined; found by fuzz_pipeline_file).
  CHECK(specError(head + "  samples: 4566666666666666666666666666\n")
            .find("'samples' must be a whole number from 1 to 2^40") != std::string::npos);
  CHECK(specError(head + "  samples: 2.5\n").find("whole number") != std::string::npos);
  CHECK(specError(head + "  samples: 0\n").find("whole number") != std::string::npos);
  CHECK(specError(head + "  min-cosine: nan\n").find("must be a finite number, got 'nan'") !=
        std::string::npos);
  CHECK(specError(head + "  max-size-ratio: inf\n").find("finite number") != std::string::npos);
}
