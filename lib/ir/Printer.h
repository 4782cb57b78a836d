// A stable, diffable text form of the IR (tests, `mopt print`, --print-ir-after).
#pragma once

#include "ir/Graph.h"

#include <string>

namespace mopt {

struct PrintOptions {
  // Tensors with at most this many elements are printed in full; larger ones as a summary
  // (first values and a content hash), so dumps stay readable and still change when data does.
  int64_t max_inline_elements = 8;
  bool show_doc_strings = false;
};

std::string printModel(const Model& m, const PrintOptions& opts = {});
std::string printGraph(const Graph& g, const PrintOptions& opts = {});
std::string printTensorSummary(const Tensor& t, const PrintOptions& opts = {});

// FNV-1a 64 over the tensor's bytes (or strings): a cheap content fingerprint for dumps.
uint64_t tensorHash(const Tensor& t);

}  // namespace mopt
