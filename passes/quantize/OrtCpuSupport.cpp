// Measured tables of ONNX Runtime 1.30 CPU float16 / bfloat16 support.
//
// How these were measured (scripts/measure_ort_float16.py, which prints the tables below with
// --cpp): every single-node model of the ONNX backend test data (onnx 1.12; float64/int tests
// retyped to float32) plus a few hand-made nodes for old op versions, converted the way these
// passes convert a node (the inputs/outputs bound to the op's float type variable become float16
// or bfloat16, all other inputs keep their types), stamped with each opset at which the op's
// schema changed (7..17), then loaded and run by onnxruntime-node 1.30.0 (CPU execution provider,
// one thread; scripts/ort_float16_probe.js) next to the float32 model at the same opset. An op
// version is listed when at least one case loads and runs and no valid case fails; whether ORT
// runs it natively was read from ORT's optimized graph of a variant with float16 graph inputs and
// outputs (any Cast in it was inserted by ORT's InsertCastTransformer, which computes the node in
// float32; ORT has no such fallback for bfloat16). Re-run the script after an ORT upgrade.
//
// On x86-64, ORT 1.30 has native float16 CPU kernels only for data movement and a few simple
// ops; everything else runs behind its own Casts (so a float16 model still halves the weights
// on disk, but computes in float32 on CPU). bfloat16 has kernels only for data movement, Cast
// and LayerNormalization.
#include "passes/quantize/OrtCpuSupport.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <sstream>

namespace mopt {

namespace {

struct Row {
  const char* op;
  const char* versions;  // since_versions, "*" = ORT computes it in float32 behind its own Casts
};

// Measured: float16.
const Row kFloat16[] = {
    {"Abs", "6* 13*"},
    {"Acos", "7*"},
    {"Acosh", "9*"},
    {"Add", "7* 13* 14*"},
    {"ArgMax", "1* 11* 12* 13*"},
    {"ArgMin", "1* 11* 12* 13*"},
    {"Asin", "7*"},
    {"Asinh", "9*"},
    {"Atan", "7*"},
    {"Atanh", "9*"},
    {"AveragePool", "7* 10* 11*"},
    {"BatchNormalization", "7* 9* 14* 15*"},
    {"Cast", "6 9 13"},
    {"CastLike", "15*"},
    {"Ceil", "6* 13*"},
    {"Clip", "6* 11* 12 13"},
    {"Compress", "9 11"},
    {"Concat", "4 11 13"},
    {"ConstantOfShape", "9"},
    {"Conv", "1* 11*"},
    {"ConvTranspose", "1* 11*"},
    {"Cos", "7*"},
    {"Cosh", "9*"},
    {"CumSum", "14*"},
    {"DFT", "17*"},
    {"DepthToSpace", "1* 11* 13*"},
    {"Det", "11*"},
    {"Div", "7* 13* 14*"},
    {"Dropout", "7 10 12* 13*"},
    {"Einsum", "12*"},
    {"Elu", "6*"},
    {"Equal", "11* 13*"},
    {"Erf", "9* 13*"},
    {"Exp", "6* 13*"},
    {"Expand", "8 13"},
    {"Flatten", "1 9 11 13"},
    {"Floor", "6* 13*"},
    {"GRU", "7* 14*"},
    {"Gather", "1 11 13"},
    {"GatherElements", "11 13"},
    {"GatherND", "11 12 13"},
    {"Gemm", "7* 9* 11* 13*"},
    {"GlobalAveragePool", "1*"},
    {"GlobalLpPool", "2*"},
    {"GlobalMaxPool", "1*"},
    {"Greater", "7* 9* 13*"},
    {"GreaterOrEqual", "12* 16*"},
    {"GridSample", "16*"},
    {"HardSigmoid", "6*"},
    {"HardSwish", "14*"},
    {"Hardmax", "1* 11* 13*"},
    {"Identity", "1 13 14 16"},
    {"InstanceNormalization", "6*"},
    {"IsNaN", "9 13"},
    {"LRN", "1* 13*"},
    {"LSTM", "7* 14*"},
    {"LayerNormalization", "17"},
    {"LeakyRelu", "6* 16*"},
    {"Less", "7* 9* 13*"},
    {"LessOrEqual", "12* 16*"},
    {"Log", "6* 13*"},
    {"LogSoftmax", "1* 11* 13*"},
    {"LpNormalization", "1*"},
    {"LpPool", "2* 11*"},
    {"MatMul", "1* 9* 13*"},
    {"Max", "6* 8* 12 13"},
    {"MaxPool", "1* 8* 10* 11* 12*"},
    {"MaxUnpool", "9* 11*"},
    {"Mean", "6* 8* 13*"},
    {"Min", "6* 8* 12 13"},
    {"Mod", "10 13"},
    {"Mul", "7* 13* 14*"},
    {"Neg", "6* 13*"},
    {"NegativeLogLikelihoodLoss", "12* 13*"},
    {"NonZero", "9* 13*"},
    {"OneHot", "9* 11*"},
    {"PRelu", "7* 9* 16*"},
    {"Pad", "2* 11* 13*"},
    {"Pow", "7* 12* 13* 15*"},
    {"RNN", "7* 14*"},
    {"Reciprocal", "6* 13*"},
    {"ReduceL1", "1* 11* 13*"},
    {"ReduceL2", "1* 11* 13*"},
    {"ReduceLogSum", "1* 11* 13*"},
    {"ReduceLogSumExp", "1* 11* 13*"},
    {"ReduceMax", "1* 11* 12* 13*"},
    {"ReduceMean", "1* 11* 13*"},
    {"ReduceMin", "1* 11* 12* 13*"},
    {"ReduceProd", "1* 11* 13*"},
    {"ReduceSum", "1* 11* 13*"},
    {"ReduceSumSquare", "1* 11* 13*"},
    {"Relu", "6* 13* 14*"},
    {"Reshape", "5 13 14"},
    {"Resize", "10* 11* 13*"},
    {"ReverseSequence", "10"},
    {"RoiAlign", "10* 16*"},
    {"Round", "11"},
    {"STFT", "17*"},
    {"Scatter", "9"},
    {"ScatterElements", "11 13 16"},
    {"ScatterND", "11 13 16"},
    {"Selu", "6*"},
    {"Shape", "1 13 15"},
    {"Shrink", "9"},
    {"Sigmoid", "6* 13*"},
    {"Sign", "9 13"},
    {"Sin", "7*"},
    {"Sinh", "9*"},
    {"Size", "1* 13*"},
    {"Slice", "1 10 11 13"},
    {"Softmax", "1* 11* 13*"},
    {"SoftmaxCrossEntropyLoss", "12* 13*"},
    {"Softplus", "1*"},
    {"Softsign", "1*"},
    {"SpaceToDepth", "1* 13*"},
    {"Split", "2 11 13"},
    {"Sqrt", "6* 13*"},
    {"Squeeze", "1 11 13"},
    {"Sub", "7* 13* 14*"},
    {"Sum", "6* 8* 13*"},
    {"Tan", "7*"},
    {"Tanh", "6* 13*"},
    {"ThresholdedRelu", "10*"},
    {"Tile", "6* 13*"},
    {"TopK", "1* 10* 11*"},
    {"Transpose", "1 13"},
    {"Trilu", "14*"},
    {"Unique", "11*"},
    {"Unsqueeze", "1 11 13"},
    {"Upsample", "7* 9*"},
    {"Where", "9* 16*"},
};

// Measured: bfloat16.
const Row kBFloat16[] = {
    {"Cast", "13"},
    {"CastLike", "15"},
    {"Concat", "13"},
    {"Flatten", "13"},
    {"Gather", "13"},
    {"GatherElements", "13"},
    {"GatherND", "13"},
    {"Identity", "13 14 16"},
    {"LayerNormalization", "17"},
    {"Reshape", "13 14"},
    {"ScatterElements", "13 16"},
    {"ScatterND", "13 16"},
    {"Shape", "13 15"},
    {"Sign", "13"},
    {"Slice", "13"},
    {"Split", "13"},
    {"Squeeze", "13"},
    {"Transpose", "13"},
    {"Unsqueeze", "13"},
};

using Table = std::map<std::string, std::map<int, OrtCpuSupport>, std::less<>>;

Table parse(const Row* rows, size_t n) {
  Table t;
  for (size_t i = 0; i < n; ++i) {
    std::istringstream in(rows[i].versions);
    std::string v;
    while (in >> v) {
      bool via = v.back() == '*';
      t[rows[i].op][std::atoi(v.c_str())] = via ? OrtCpuSupport::ViaFloat32 : OrtCpuSupport::Native;
    }
  }
  return t;
}

}  // namespace

OrtCpuSupport ortCpuSupport(DType target, std::string_view op, int since_version) {
  static const Table f16 = parse(kFloat16, std::size(kFloat16));
  static const Table bf16 = parse(kBFloat16, std::size(kBFloat16));
  const Table& t = target == DType::BF16 ? bf16 : f16;
  auto it = t.find(op);
  if (it == t.end()) return OrtCpuSupport::None;
  auto v = it->second.find(since_version);
  return v == it->second.end() ? OrtCpuSupport::None : v->second;
}

std::string ortCpuNodeLimit(const Node& n, DType target) {
  // Measured: ScatterElements-16 and ScatterND-16 load, but fail at run time in float16 and
  // bfloat16 when reduction is add or mul ("MLFloat16 data type is not supported with ScatterND
  // opset 16 when reduction is 'add'").
  if ((n.is("ScatterElements") || n.is("ScatterND")) && n.stringAttr("reduction", "none") != "none")
    return "ONNX Runtime's CPU provider cannot run " + n.opType() +
           " with reduction=" + n.stringAttr("reduction", "none") + " in " +
           std::string(dtypeOnnxName(target));
  return "";
}

}  // namespace mopt
