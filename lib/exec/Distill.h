// Recovery fine-tuning of a student model against a teacher's outputs (knowledge distillation),
// run by the LibTorch plugin with autograd through the executor's kernels. Plain header: the
// caller supplies batches (student inputs, teacher outputs, labels) and gets the trained model.
#pragma once

#include "data/Npy.h"
#include "ir/Graph.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mopt {

struct DistillConfig {
  int64_t epochs = 10;
  double lr = 1e-3;
  std::string optimizer = "adam";  // adam | sgd
  double momentum = 0.9;           // sgd
  double weight_decay = 0;
  std::string schedule = "cosine";  // cosine | constant
  double temperature = 4;           // soft targets: softmax(logits / T), loss scaled by T^2
  double hard_weight = 0;           // weight of cross-entropy on labels (0..1); KD gets 1 - it
  double feature_weight = 1;        // weight of each feature-pair MSE
  std::vector<std::string> student_features;  // student values matched to the teacher's
  uint64_t seed = 0;
  int threads = 1;
  bool progress = true;
};

struct DistillBatch {
  NamedTensors inputs;                   // the student's graph inputs
  Tensor teacher_logits;                 // the teacher's first output for these inputs
  std::vector<Tensor> teacher_features;  // in DistillConfig::student_features order
  std::optional<Tensor> labels;          // integer class per sample, when hard_weight > 0
};

// Calls `each` for every batch of one epoch, in the order to train on (shuffled by the caller).
using DistillEpoch =
    std::function<void(int64_t epoch, const std::function<void(const DistillBatch&)>& each)>;

struct DistillStats {
  int64_t steps = 0, samples = 0, parameters = 0;
  int64_t frozen_zeros = 0;  // weights that were exactly zero (pruned) and were kept at zero
  double first_epoch_loss = 0, last_epoch_loss = 0, seconds = 0;
  std::vector<double> epoch_loss;
};

}  // namespace mopt
