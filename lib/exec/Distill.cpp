// Knowledge-distillation training: the student runs through the executor's kernels with
// autograd; the loss is temperature-scaled KL to the teacher's soft targets (+ optional hard
// labels and feature MSE); Adam or SGD, written out here on ATen tensors.
#include "exec/Distill.h"

#include "exec/Runtime.h"
#include "exec/Trainable.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>

namespace mopt::exec {

namespace {

at::Tensor toAten(const Tensor& t) {
  return toRuntime(t).tensor;
}

// One optimizer state per parameter.
struct Slot {
  at::Tensor m, v;  // Adam moments, or (m only) SGD momentum
  at::Tensor mask;  // 1 where the weight may change, 0 on exact zeros (pruned); undefined: none
};

}  // namespace

DistillStats distillStudent(Model& student, const DistillConfig& cfg, const DistillEpoch& epochs) {
  if (cfg.epochs < 1) failInput("distill: epochs must be at least 1, not {}", cfg.epochs);
  if (cfg.temperature <= 0)
    failInput("distill: temperature must be positive, not {}", cfg.temperature);
  if (cfg.hard_weight < 0 || cfg.hard_weight > 1)
    failInput("distill: hard-weight must be in [0, 1]");
  if (cfg.optimizer != "adam" && cfg.optimizer != "sgd")
    failInput("distill: optimizer must be adam or sgd, not '{}'", cfg.optimizer);
  // One thread, whatever the caller's setting: ATen's multi-threaded kernels split some
  // reductions (weight gradients over the batch) by thread, so the trained bytes would depend
  // on the thread count. Reproducible models matter more here than a 2x on two cores.
  at::set_num_threads(1);
  at::manual_seed(cfg.seed);
  TrainableModel model(student, cfg.student_features);
  auto& params = model.parameters();
  if (params.empty()) failInput("distill: the student has no trainable float weights");
  DistillStats stats;
  std::vector<Slot> slots(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const at::Tensor& p = params[i].tensor;
    stats.parameters += p.numel();
    at::Tensor zeros = p.detach() == 0;
    int64_t nz = zeros.sum().item<int64_t>();
    if (nz > 0) {
      slots[i].mask = (~zeros).to(at::kFloat);
      stats.frozen_zeros += nz;
    }
    slots[i].m = at::zeros_like(p.detach());
    if (cfg.optimizer == "adam") slots[i].v = at::zeros_like(p.detach());
  }

  const double T = cfg.temperature;
  const bool tty = cfg.progress && isatty(2);
  auto t0 = std::chrono::steady_clock::now();
  int64_t step = 0, total_steps = -1;
  for (int64_t epoch = 0; epoch < cfg.epochs; ++epoch) {
    double loss_sum = 0;
    int64_t samples = 0, batches = 0;
    epochs(epoch, [&](const DistillBatch& b) {
      std::vector<at::Tensor> out = model.forward(b.inputs);
      at::Tensor s = out.at(0).to(at::kFloat);
      at::Tensor t = toAten(b.teacher_logits).to(at::kFloat);
      if (s.sizes() != t.sizes())
        failInput("distill: student output {} and teacher output {} differ in shape",
                  c10::str(s.sizes()), c10::str(t.sizes()));
      const int64_t n = s.dim() >= 1 ? s.size(0) : 1;
      s = s.reshape({n, -1});
      t = t.reshape({n, -1});
      // KL(p_t || p_s) on temperature-softened distributions, times T^2 (Hinton et al.).
      at::Tensor log_ps = at::log_softmax(s / T, 1);
      at::Tensor pt = at::softmax(t / T, 1);
      at::Tensor kd =
          (pt * (at::log(pt.clamp_min(1e-12)) - log_ps)).sum() / static_cast<double>(n) * (T * T);
      at::Tensor loss = kd * (1.0 - cfg.hard_weight);
      if (cfg.hard_weight > 0) {
        if (!b.labels) failInput("distill: hard-weight > 0 needs labels");
        at::Tensor y = toAten(*b.labels).to(at::kLong).reshape({n});
        loss = loss + at::nll_loss(at::log_softmax(s, 1), y) * cfg.hard_weight;
      }
      for (size_t f = 0; f < cfg.student_features.size(); ++f) {
        at::Tensor sf = out.at(1 + f).to(at::kFloat);
        at::Tensor tf = toAten(b.teacher_features.at(f)).to(at::kFloat);
        if (sf.sizes() != tf.sizes())
          failInput("distill: feature '{}' has shape {} in the student and {} in the teacher",
                    cfg.student_features[f], c10::str(sf.sizes()), c10::str(tf.sizes()));
        loss = loss + at::mse_loss(sf, tf) * cfg.feature_weight;
      }
      for (auto& p : params)
        if (p.tensor.grad().defined()) p.tensor.mutable_grad().zero_();
      loss.backward();

      // Learning rate for this step: cosine decay needs the step count, known after epoch 0.
      double lr = cfg.lr;
      if (cfg.schedule == "cosine" && total_steps > 0)
        lr = 0.5 * cfg.lr *
             (1 + std::cos(M_PI * static_cast<double>(step) / static_cast<double>(total_steps)));
      {
        at::NoGradGuard no_grad;
        const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
        for (size_t i = 0; i < params.size(); ++i) {
          at::Tensor& p = params[i].tensor;
          at::Tensor g = p.grad();
          if (!g.defined()) continue;
          if (cfg.weight_decay > 0) g = g + p * cfg.weight_decay;
          Slot& sl = slots[i];
          if (cfg.optimizer == "adam") {
            const double t_ = static_cast<double>(step + 1);
            sl.m.mul_(b1).add_(g, 1 - b1);
            sl.v.mul_(b2).addcmul_(g, g, 1 - b2);
            at::Tensor mhat = sl.m / (1 - std::pow(b1, t_));
            at::Tensor vhat = sl.v / (1 - std::pow(b2, t_));
            p.sub_(mhat / (vhat.sqrt() + eps) * lr);
          } else {
            sl.m.mul_(cfg.momentum).add_(g);
            p.sub_(sl.m * lr);
          }
          if (sl.mask.defined()) p.mul_(sl.mask);  // pruned weights stay exactly zero
        }
      }
      const double l = loss.item<double>();
      loss_sum += l * static_cast<double>(n);
      samples += n;
      ++batches;
      ++step;
      if (tty) {
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::fputs(
            fmt::format("\rdistill epoch {}/{}  batch {}  loss {:.4f}  {:.0f} samples/s   ",
                        epoch + 1, cfg.epochs, batches, loss_sum / static_cast<double>(samples),
                        static_cast<double>(stats.samples + samples) / std::max(secs, 1e-9))
                .c_str(),
            stderr);
      }
    });
    if (samples == 0) failInput("distill: the training data produced no batches");
    if (epoch == 0) total_steps = step * cfg.epochs;
    stats.samples += samples;
    stats.epoch_loss.push_back(loss_sum / static_cast<double>(samples));
  }
  if (tty) std::fputs("\n", stderr);
  stats.steps = step;
  stats.first_epoch_loss = stats.epoch_loss.front();
  stats.last_epoch_loss = stats.epoch_loss.back();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  model.store(student);
  return stats;
}

}  // namespace mopt::exec
