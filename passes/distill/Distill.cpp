// distill: batches of the training set, the teacher's outputs for them, and the LibTorch
// plugin's training loop; accuracy before/after on an evaluation set when given.
#include "passes/distill/Distill.h"

#include "exec/Backend.h"
#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "passes/distill/TrainData.h"
#include "passes/quantize/QuantMath.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <random>

namespace mopt {

Model loadModelForPass(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) failInput("{}: cannot open", path);
  char magic[2] = {};
  in.read(magic, 2);
  if (magic[0] == 'P' && magic[1] == 'K') return torchBackend().loadTorchScript(path, {});
  return loadOnnx(path);
}

const PassInfo& DistillPass::info() {
  static const PassInfo i{
      "distill",
      "distill",
      "Fine-tune the model's float weights against a teacher's outputs (knowledge distillation)",
      "Trains the model (the student) with LibTorch autograd through mopt's own kernels: loss = "
      "(1 - hard-weight) * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + hard-weight * "
      "cross-entropy(labels) + feature-weight * MSE of each feature pair. The teacher is another "
      "model file, by default the pipeline's input (the model before pruning). Trainable: weights "
      "and biases of Conv/ConvTranspose/Gemm/MatMul, normalization scales and biases, PRelu "
      "slopes, constant float operands of Add/Sub/Mul. The structure is kept: pruned channels "
      "stay gone and weights that are exactly zero (unstructured or N:M pruning) stay zero. Adam "
      "or SGD with momentum, cosine or constant learning rate, mini-batches shuffled with `seed`; "
      "one thread by default, and the same run gives the same bytes. With eval-data the report "
      "gives top-1 accuracy of teacher, student before and student after.",
      {{"data",
        OptionType::String,
        "",
        ".npz training set: one array per graph input, samples along axis 0",
        {},
        true},
       {"data-map", OptionType::StringList, "", "INPUT=ARRAY pairs for data", {}, false},
       {"labels",
        OptionType::String,
        "",
        "array of data with integer class labels (for hard-weight)",
        {},
        false},
       {"teacher",
        OptionType::String,
        "",
        "teacher model file (default: the pipeline's input model)",
        {},
        false},
       {"epochs", OptionType::Int, "10", "passes over the training set", {}, false},
       {"batch-size", OptionType::Int, "32", "samples per step", {}, false},
       {"lr", OptionType::Float, "0.001", "learning rate", {}, false},
       {"optimizer", OptionType::Enum, "adam", "optimizer", {"adam", "sgd"}, false},
       {"momentum", OptionType::Float, "0.9", "sgd momentum", {}, false},
       {"weight-decay", OptionType::Float, "0", "L2 weight decay", {}, false},
       {"schedule",
        OptionType::Enum,
        "cosine",
        "learning-rate schedule",
        {"cosine", "constant"},
        false},
       {"temperature",
        OptionType::Float,
        "4",
        "softmax temperature of the soft targets",
        {},
        false},
       {"hard-weight",
        OptionType::Float,
        "0",
        "weight of the labels' cross-entropy (0..1)",
        {},
        false},
       {"features",
        OptionType::StringList,
        "",
        "intermediate values to match: NAME (same in both) or STUDENT=TEACHER",
        {},
        false},
       {"feature-weight", OptionType::Float, "1", "weight of each feature MSE", {}, false},
       {"max-samples",
        OptionType::Int,
        "0",
        "use at most this many training samples (0: all)",
        {},
        false},
       {"seed", OptionType::Int, "0", "shuffling and initialisation seed", {}, false},
       {"threads",
        OptionType::Int,
        "1",
        "threads for the teacher and evaluation runs (training itself uses one, so the result does "
        "not depend on this)",
        {},
        false},
       {"eval-data",
        OptionType::String,
        "",
        ".npz to report top-1 accuracy on, before and after",
        {},
        false},
       {"eval-map",
        OptionType::StringList,
        "",
        "INPUT=ARRAY pairs for eval-data (default: data-map)",
        {},
        false},
       {"eval-labels",
        OptionType::String,
        "",
        "labels array of eval-data (default: labels)",
        {},
        false}}};
  return i;
}

namespace {

std::vector<std::pair<std::string, std::string>> pairs(const std::vector<std::string>& items,
                                                       const char* what) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& m : items) {
    auto eq = m.find('=');
    if (eq == std::string::npos)
      fail(ErrorKind::Usage, "{} entry '{}' must be INPUT=ARRAY", what, m);
    out.emplace_back(m.substr(0, eq), m.substr(eq + 1));
  }
  return out;
}

// Top-1 accuracy (percent) of `m` on `data`.
double accuracy(const Model& m, const TrainData& data, int threads) {
  ExecOptions eo;
  eo.threads = threads;
  auto exec = makeExecutor(m, eo);
  int64_t correct = 0;
  for (int64_t start = 0; start < data.size(); start += 64) {
    std::vector<int64_t> idx;
    for (int64_t i = start; i < std::min(data.size(), start + 64); ++i)
      idx.push_back(i);
    NamedTensors out = exec->run(data.inputs(idx));
    FloatData logits(out.at(0).second);
    std::optional<Tensor> y = data.labels(idx);
    const auto classes = static_cast<int64_t>(logits.size() / static_cast<int64_t>(idx.size()));
    for (size_t r = 0; r < idx.size(); ++r) {
      const float* row = logits.data() + static_cast<int64_t>(r) * classes;
      int64_t best = std::max_element(row, row + classes) - row;
      correct += best == elementAsInt(*y, static_cast<int64_t>(r));
    }
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(data.size());
}

}  // namespace

bool DistillPass::run(Model& model, PassContext& ctx) {
  DistillConfig cfg;
  cfg.epochs = opts_.getInt("epochs");
  cfg.lr = opts_.getFloat("lr");
  cfg.optimizer = opts_.getString("optimizer");
  cfg.momentum = opts_.getFloat("momentum");
  cfg.weight_decay = opts_.getFloat("weight-decay");
  cfg.schedule = opts_.getString("schedule");
  cfg.temperature = opts_.getFloat("temperature");
  cfg.hard_weight = opts_.getFloat("hard-weight");
  cfg.feature_weight = opts_.getFloat("feature-weight");
  cfg.seed = static_cast<uint64_t>(opts_.getInt("seed"));
  cfg.threads = passThreads(opts_, ctx);
  const int64_t batch = opts_.getInt("batch-size");
  if (batch < 1) fail(ErrorKind::Usage, "distill: batch-size must be at least 1");
  if (cfg.epochs < 1) fail(ErrorKind::Usage, "distill: epochs must be at least 1");
  if (cfg.hard_weight < 0 || cfg.hard_weight > 1)
    fail(ErrorKind::Usage, "distill: hard-weight must be in [0, 1]");
  if (cfg.hard_weight > 0 && opts_.getString("labels").empty())
    fail(ErrorKind::Usage, "distill: hard-weight > 0 needs labels");
  std::vector<std::string> teacher_features;
  for (const auto& f : opts_.getList("features")) {
    auto eq = f.find('=');
    cfg.student_features.push_back(eq == std::string::npos ? f : f.substr(0, eq));
    teacher_features.push_back(eq == std::string::npos ? f : f.substr(eq + 1));
  }

  // Everything is read and checked before training starts.
  std::string teacher_path = opts_.getString("teacher");
  if (teacher_path.empty()) teacher_path = model.source_path;
  if (teacher_path.empty()) fail(ErrorKind::Usage, "distill: no teacher (give teacher=FILE)");
  Model teacher = loadModelForPass(teacher_path);
  auto data_map = pairs(opts_.getList("data-map"), "data-map");
  TrainData data(opts_.getString("data"), *model.graph, data_map, opts_.getString("labels"),
                 opts_.getInt("max-samples"));
  std::unique_ptr<TrainData> eval;
  if (!opts_.getString("eval-data").empty()) {
    std::string labels = opts_.getString("eval-labels").empty() ? opts_.getString("labels")
                                                                : opts_.getString("eval-labels");
    if (labels.empty()) fail(ErrorKind::Usage, "distill: eval-data needs eval-labels (or labels)");
    auto eval_map =
        opts_.isSet("eval-map") ? pairs(opts_.getList("eval-map"), "eval-map") : data_map;
    eval = std::make_unique<TrainData>(opts_.getString("eval-data"), *model.graph, eval_map, labels,
                                       0);
  }
  ExecOptions teo;
  teo.threads = cfg.threads;
  teo.capture = teacher_features;
  auto teacher_exec = makeExecutor(teacher, teo);
  auto teacherOutputs = [&](const NamedTensors& in) {
    NamedTensors out = teacher_exec->run(in);
    DistillBatch b;
    b.teacher_logits = out.at(0).second;
    for (const auto& name : teacher_features) {
      const Tensor* t = nullptr;
      for (const auto& [n, v] : out)
        if (n == name) t = &v;
      if (!t) failInput("distill: the teacher computes no value '{}'", name);
      b.teacher_features.push_back(*t);
    }
    return b;
  };

  if (eval) {
    ctx.note(fmt::format("top-1 on {}: teacher {:.2f}%, student before {:.2f}%", eval->path(),
                         accuracy(teacher, *eval, cfg.threads),
                         accuracy(model, *eval, cfg.threads)));
  }
  std::mt19937_64 rng(cfg.seed);
  std::vector<int64_t> order(static_cast<size_t>(data.size()));
  DistillEpoch epochs = [&](int64_t, const std::function<void(const DistillBatch&)>& each) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch)) {
      std::vector<int64_t> idx(
          order.begin() + static_cast<std::ptrdiff_t>(start),
          order.begin() + static_cast<std::ptrdiff_t>(
                              std::min(order.size(), start + static_cast<size_t>(batch))));
      DistillBatch b = teacherOutputs(data.inputs(idx));
      b.inputs = data.inputs(idx);
      b.labels = data.labels(idx);
      each(b);
    }
  };
  DistillStats st = torchBackend().distill(model, cfg, epochs);
  ctx.count("epochs", cfg.epochs);
  ctx.count("steps", st.steps);
  ctx.count("samples", data.size());
  ctx.count("parameters-trained", st.parameters);
  ctx.count("zeros-kept", st.frozen_zeros);
  if (!cfg.student_features.empty())
    ctx.count("features-matched", static_cast<int64_t>(cfg.student_features.size()));
  ReportTable loss_table{"training loss per epoch", {"epoch", "loss"}, {}, "loss"};
  for (size_t e = 0; e < st.epoch_loss.size(); ++e)
    loss_table.rows.push_back({std::to_string(e + 1), fmt::format("{:.6f}", st.epoch_loss[e])});
  ctx.table(std::move(loss_table));
  ctx.note(fmt::format("loss {:.4f} (epoch 1) -> {:.4f} (epoch {}) in {:.1f} s",
                       st.first_epoch_loss, st.last_epoch_loss, cfg.epochs, st.seconds));
  if (eval)
    ctx.note(fmt::format("top-1 on {}: student after {:.2f}%", eval->path(),
                         accuracy(model, *eval, cfg.threads)));
  return true;
}

}  // namespace mopt
