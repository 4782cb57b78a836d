// `mopt inspect`: what is inside a model, as text for people and JSON for scripts.
#pragma once

#include "ir/Graph.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mopt {

struct InspectTensor {
  std::string name;
  std::string graph;  // "main", or the path of the subgraph/function holding it
  std::string kind;   // initializer, sparse_initializer, constant
  DType dtype = DType::Undefined;
  std::vector<int64_t> dims;
  int64_t numel = 0;
  uint64_t bytes = 0;
  int64_t zeros = 0;
  std::string storage;  // "inline" or the external data file
};

struct InspectReport {
  std::string path, format;
  uint64_t file_bytes = 0;
  int64_t ir_version = 0;
  std::vector<OpsetImport> opsets;
  std::string producer;
  Props metadata;
  std::vector<std::pair<std::string, std::string>> inputs, outputs;  // name, type
  int64_t nodes = 0, subgraphs = 0, functions = 0;
  std::map<std::string, int64_t> ops;  // op histogram; non-default domains as domain.Op
  int64_t parameters = 0;
  std::map<std::string, uint64_t> bytes_by_dtype;
  std::map<std::string, int64_t> parameters_by_dtype;
  std::vector<InspectTensor> tensors;  // every initializer and Constant, in model order
  struct ExternalFile {
    std::string path;
    uint64_t bytes = 0;
    int64_t tensors = 0;
  };
  std::vector<ExternalFile> external_files;
};

InspectReport inspectModel(const Model& m, const std::string& path);
std::string inspectText(const InspectReport& r, size_t top = 10);
std::string inspectJson(const InspectReport& r);  // schema in docs/cli.md

}  // namespace mopt
