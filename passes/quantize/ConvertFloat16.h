// convert-float16 / convert-bfloat16: float32 weights and compute to half precision, with Casts
// where a float32 value meets a converted node (or the other way round).
//
// One implementation, two passes. Each node of the main graph is either converted or kept in
// float32; which inputs/outputs of a node are converted comes from its ONNX schema (the ones bound
// to the op's float type variable: Resize's scales stay float32, LayerNormalization's scale and
// bias follow X). With runtime=ort-cpu, ops that ONNX Runtime's CPU provider cannot run in the
// target type are kept (tables measured by scripts/measure_ort_float16.py, OrtCpuSupport.cpp).
#pragma once

#include "ir/DType.h"
#include "pass/Pass.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mopt {

// Options shared by both passes, already parsed.
struct FloatConversionOptions {
  DType target = DType::F16;             // F16 or BF16
  bool keep_io_types = false;            // graph inputs/outputs stay float32
  std::vector<std::string> block_ops;    // op types kept in float32
  std::vector<std::string> block_nodes;  // node names (or re:REGEX) kept in float32
  bool ort_cpu = true;                   // runtime=ort-cpu (else any)
  std::string calib_data;                // .npz: activations beyond float16's range stay float32
  int64_t calib_samples = 32;
};

// The conversion itself (both passes call it). Returns whether the model changed.
bool convertFloatPrecision(Model& model, PassContext& ctx, const FloatConversionOptions& opts);

// float32 tensor -> float16/bfloat16 (round to nearest even; NaN stays NaN).
Tensor convertFloatTensor(const Tensor& t, DType target);

class ConvertFloat16Pass : public Pass {
 public:
  static const PassInfo& info();
  explicit ConvertFloat16Pass(const OptionValues& o) : opts_(o) {}
  bool run(Model& model, PassContext& ctx) override;

 private:
  OptionValues opts_;
};

class ConvertBFloat16Pass : public Pass {
 public:
  static const PassInfo& info();
  explicit ConvertBFloat16Pass(const OptionValues& o) : opts_(o) {}
  bool run(Model& model, PassContext& ctx) override;

 private:
  OptionValues opts_;
};

}  // namespace mopt
