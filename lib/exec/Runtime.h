// What kernels see: runtime values, the per-node kernel context, dtype mapping, and the kernel
// table. Only the executor's .cpp files include this (it pulls in ATen).
#pragma once

#include "ir/Error.h"
#include "ir/Graph.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mopt::exec {

// ATen 1.13 has no uint16/32/64: those live in the next wider signed type (uint64 in int64,
// bit-for-bit) and the ONNX dtype travels beside the tensor.
at::ScalarType atenType(DType t);  // throws Error(Input) for types ATen cannot hold
DType onnxType(at::ScalarType t);
bool atenCanHold(DType t);

// A runtime value: a numeric tensor, a string tensor, a sequence, or an empty optional.
struct RtValue {
  enum class Kind : uint8_t { None, Tensor, Strings, Sequence };
  Kind kind = Kind::None;
  at::Tensor tensor;               // Kind::Tensor
  DType dtype = DType::Undefined;  // element type for Tensor/Strings (and sequence elements)
  std::vector<int64_t> dims;       // Kind::Strings
  std::shared_ptr<const std::vector<std::string>> strings;  // Kind::Strings
  std::shared_ptr<const std::vector<RtValue>> sequence;     // Kind::Sequence

  static RtValue fromTensor(at::Tensor t, DType dtype = DType::Undefined);
  static RtValue fromStrings(std::vector<int64_t> dims, std::vector<std::string> s);
  static RtValue fromSequence(std::vector<RtValue> items, DType elem);
  bool isTensor() const { return kind == Kind::Tensor; }
};

// IR tensor <-> runtime value. Numeric IR tensors become ATen tensors sharing the bytes when
// they are aligned (copied otherwise); results are copied out.
RtValue toRuntime(const Tensor& t);
Tensor fromRuntime(const RtValue& v);

class KernelContext;
using KernelFn = void (*)(KernelContext&);

// One entry per (domain, op). Kernels are grouped in a few .cpp files, each contributing its
// entries through a register function called when the table is built.
struct KernelEntry {
  const char* domain;  // "" for the default ONNX domain
  const char* op;
  KernelFn fn;
};
using KernelList = std::vector<KernelEntry>;
void addCoreKernels(KernelList& k);    // KernelsCore.cpp: constants, casts, shape, control flow
void addMathKernels(KernelList& k);    // KernelsMath.cpp: elementwise, reductions, matmul
void addTensorKernels(KernelList& k);  // KernelsTensor.cpp: reshape/gather/scatter/slice/pad...
void addNNKernels(KernelList& k);      // KernelsNN.cpp: conv, pool, norm, RNN, resize
void addQuantKernels(KernelList& k);   // KernelsQuant.cpp: Q/DQ, integer matmul/conv, NBits
void addFusedKernels(KernelList& k);   // KernelsFused.cpp: Gelu and the executor's private ops
KernelFn findKernel(const std::string& domain, const std::string& op);

// Runs a subgraph (If/Loop/Scan bodies) with the given values for its inputs; outer-scope values
// it reads come from the calling node's environment.
using SubgraphRunner =
    std::function<std::vector<RtValue>(const Graph& body, const std::vector<RtValue>& inputs)>;

class KernelContext {
 public:
  KernelContext(const Node& node, int64_t opset, std::vector<const RtValue*> inputs,
                std::vector<RtValue>& outputs, SubgraphRunner runner)
      : node_(node),
        opset_(opset),
        inputs_(std::move(inputs)),
        outputs_(outputs),
        runner_(std::move(runner)) {}

  const Node& node() const { return node_; }
  // Version of the node's domain the model imports (e.g. 13 for an opset-13 model).
  int64_t opset() const { return opset_; }

  // Inputs. hasInput is false for omitted optional inputs ("" in ONNX) and past the end.
  size_t numInputs() const { return inputs_.size(); }
  bool hasInput(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  const RtValue& value(size_t i) const;
  const at::Tensor& input(size_t i) const;  // a numeric tensor input (fails otherwise)
  DType inputType(size_t i) const { return value(i).dtype; }
  // Integer values of a (small) 1-D or scalar input, e.g. shapes, axes, pads.
  std::vector<int64_t> inputInts(size_t i) const;
  double inputScalar(size_t i) const;

  // Attributes with defaults.
  bool hasAttr(std::string_view name) const { return node_.attr(name) != nullptr; }
  int64_t attrInt(std::string_view name, int64_t fallback) const {
    return node_.intAttr(name, fallback);
  }
  float attrFloat(std::string_view name, float fallback) const {
    return node_.floatAttr(name, fallback);
  }
  std::string attrString(std::string_view name, const std::string& fallback) const {
    return node_.stringAttr(name, fallback);
  }
  std::vector<int64_t> attrInts(std::string_view name) const { return node_.intsAttr(name); }
  std::vector<float> attrFloats(std::string_view name) const;
  const Attribute* attr(std::string_view name) const { return node_.attr(name); }

  // Outputs. wantsOutput is false for outputs the model does not produce ("" in ONNX).
  size_t numOutputs() const { return outputs_.size(); }
  bool wantsOutput(size_t i) const { return i < outputs_.size() && node_.output(i) != nullptr; }
  // The ONNX dtype defaults to the one matching the tensor's ATen type.
  void setOutput(size_t i, at::Tensor t, DType dtype = DType::Undefined);
  void setOutputValue(size_t i, RtValue v);

  std::vector<RtValue> runSubgraph(const Graph& body, const std::vector<RtValue>& inputs) const {
    return runner_(body, inputs);
  }

  // Fails this node with a message; the executor adds the node's name and op.
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw Error(ErrorKind::Input, fmt::format(f, std::forward<Args>(args)...));
  }

 private:
  const Node& node_;
  int64_t opset_;
  std::vector<const RtValue*> inputs_;
  std::vector<RtValue>& outputs_;
  SubgraphRunner runner_;
};

// Helpers many kernels need.
// Normalizes a possibly negative axis against `rank` (fails when out of range).
int64_t normalizeAxis(const KernelContext& ctx, int64_t axis, int64_t rank);
// ONNX multidirectional broadcasting is ATen's broadcasting; this checks shapes are compatible
// and fails with a readable message otherwise.
void checkBroadcastable(const KernelContext& ctx, const at::Tensor& a, const at::Tensor& b);

}  // namespace mopt::exec
