// Training access to the executor (LibTorch plugin only): the same graph walk and kernels as
// inference, with autograd on and chosen initializers as trainable parameters.
#pragma once

#include "data/Npy.h"
#include "ir/Graph.h"

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

namespace mopt::exec {

struct ExecCore;

class TrainableModel {
 public:
  struct Parameter {
    std::string name;   // the initializer's name
    at::Tensor tensor;  // float32, requires_grad
  };
  // `features`: intermediate values forward() returns after the outputs. The model is cloned
  // and run unfused, so every value keeps its name and every weight its identity.
  TrainableModel(const Model& m, const std::vector<std::string>& features);
  ~TrainableModel();
  std::vector<Parameter>& parameters() { return params_; }
  // Graph outputs in order, then the features; with autograd history back to the parameters.
  std::vector<at::Tensor> forward(const NamedTensors& feeds);
  // Writes the parameters' current values into `m`'s initializers of the same names.
  void store(Model& m) const;

 private:
  std::unique_ptr<ExecCore> core_;
  std::vector<Parameter> params_;
  std::vector<std::string> features_;
};

// Which initializers are trainable: weights and biases of Conv/ConvTranspose/Gemm/MatMul,
// scales and biases of normalizations, PRelu slopes, and constant float operands of Add/Sub/Mul
// (biases and scales split off by exporters). Running statistics, shapes, axes and resize
// scales are not.
bool isTrainableUse(const Node& n, size_t input);

// The distillation loop (exec/Distill.cpp), behind TorchBackend::distill.
}  // namespace mopt::exec

#include "exec/Distill.h"

namespace mopt::exec {
DistillStats distillStudent(Model& student, const DistillConfig& cfg, const DistillEpoch& epochs);

}  // namespace mopt::exec
