// The operators ONNX Runtime 1.30's CPU execution provider loads and runs in float16 / bfloat16,
// as convert-float16 / convert-bfloat16 write them (runtime=ort-cpu).
#pragma once

#include "ir/DType.h"
#include "ir/Graph.h"

#include <string>
#include <string_view>

namespace mopt {

enum class OrtCpuSupport {
  None,        // the session fails to load or to run: keep the node in float32
  Native,      // ORT has a float16 (bfloat16) kernel
  ViaFloat32,  // loads and runs, but ORT computes the node in float32 behind Casts it inserts
};

// Support for `op` (default domain) at schema version `since_version` in `target` (F16 or BF16).
OrtCpuSupport ortCpuSupport(DType target, std::string_view op, int since_version);

// Why ORT's CPU provider cannot run this particular node in `target` although it runs its op
// (a failure that depends on attributes, e.g. ScatterND with reduction=add), or "".
std::string ortCpuNodeLimit(const Node& n, DType target);

}  // namespace mopt
