// distill-export: runs the teacher chunk by chunk (bounded memory) and writes .npz chunks, the
// student as ONNX and TorchScript, and manifest.json tying them to the data by sha256.
#include "passes/distill/DistillExport.h"

#include "exec/Backend.h"
#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "passes/distill/Distill.h"
#include "passes/distill/TrainData.h"
#include "passes/quantize/QuantMath.h"
#include "support/File.h"
#include "support/Sha256.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>

namespace mopt {

const PassInfo& DistillExportPass::info() {
  static const PassInfo i{
      "distill-export",
      "distill",
      "Write the teacher's outputs on a data set, the student and a manifest for outside training",
      "Runs the teacher (default: the pipeline's input model) over `data` in chunks of `chunk` "
      "samples, so memory stays bounded, and writes out-dir/teacher_NNNNN.npz with `index` (the "
      "samples' positions in the data file), `logits` (the first output), `probs` "
      "(softmax(logits / temperature), when temperature > 0) and each requested feature. The "
      "model at this point of the pipeline is the student: it is written as out-dir/student.onnx "
      "and out-dir/student.pt (TorchScript, float weights as parameters). out-dir/manifest.json "
      "names every file with its sha256, the data set's sha256, the input mapping, the "
      "temperature and the student/teacher feature pairs. docs/distillation.md has a PyTorch "
      "loop that trains the student from these files. The model itself is not changed.",
      {{"out-dir", OptionType::String, "", "folder for the files (created)", {}, true},
       {"data",
        OptionType::String,
        "",
        ".npz data set: one array per graph input, samples along axis 0",
        {},
        true},
       {"data-map", OptionType::StringList, "", "INPUT=ARRAY pairs for data", {}, false},
       {"teacher",
        OptionType::String,
        "",
        "teacher model file (default: the pipeline's input model)",
        {},
        false},
       {"temperature",
        OptionType::Float,
        "0",
        "also write softmax(logits / T) as `probs` (0: no)",
        {},
        false},
       {"features",
        OptionType::StringList,
        "",
        "teacher values to write: NAME (same in both models) or STUDENT=TEACHER",
        {},
        false},
       {"chunk", OptionType::Int, "4096", "samples per output file", {}, false},
       {"max-samples", OptionType::Int, "0", "use at most this many samples (0: all)", {}, false},
       {"threads", OptionType::Int, "1", "teacher threads", {}, false}}};
  return i;
}

namespace {

std::string featureArray(const std::string& name) {
  std::string s = "feature_";
  for (char c : name)
    s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return s;
}

Tensor softmaxRows(const Tensor& logits, double T) {
  FloatData f(logits);
  const int64_t rows = logits.dims().empty() ? 1 : logits.dims()[0];
  const int64_t cols = rows ? f.size() / rows : 0;
  std::vector<float> out(static_cast<size_t>(f.size()));
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = f.data() + r * cols;
    double mx = -INFINITY, sum = 0;
    for (int64_t c = 0; c < cols; ++c)
      mx = std::max(mx, static_cast<double>(x[c]) / T);
    for (int64_t c = 0; c < cols; ++c)
      sum += std::exp(static_cast<double>(x[c]) / T - mx);
    for (int64_t c = 0; c < cols; ++c)
      out[static_cast<size_t>(r * cols + c)] =
          static_cast<float>(std::exp(static_cast<double>(x[c]) / T - mx) / sum);
  }
  return Tensor::fromVector(DType::F32, logits.dims(), out);
}

// Stacks per-batch tensors along axis 0.
Tensor concatRows(const std::vector<Tensor>& parts) {
  std::vector<int64_t> dims = parts.at(0).dims();
  uint64_t bytes = 0;
  int64_t rows = 0;
  for (const auto& p : parts) {
    bytes += p.byteSize();
    rows += p.dims().empty() ? 1 : p.dims()[0];
  }
  if (dims.empty())
    dims = {rows};
  else
    dims[0] = rows;
  auto buf = Buffer::allocate(bytes);
  uint64_t at = 0;
  for (const auto& p : parts) {
    std::memcpy(buf->mutableData() + at, p.raw(), p.byteSize());
    at += p.byteSize();
  }
  return Tensor(parts[0].dtype(), dims, std::move(buf));
}

}  // namespace

bool DistillExportPass::run(Model& model, PassContext& ctx) {
  const std::string dir = opts_.getString("out-dir");
  const int64_t chunk = opts_.getInt("chunk");
  const double T = opts_.getFloat("temperature");
  if (chunk < 1) fail(ErrorKind::Usage, "distill-export: chunk must be at least 1");
  if (T < 0) fail(ErrorKind::Usage, "distill-export: temperature must not be negative");
  std::vector<std::pair<std::string, std::string>> feature_pairs;
  for (const auto& f : opts_.getList("features")) {
    auto eq = f.find('=');
    feature_pairs.emplace_back(eq == std::string::npos ? f : f.substr(0, eq),
                               eq == std::string::npos ? f : f.substr(eq + 1));
  }
  std::vector<std::pair<std::string, std::string>> map;
  for (const auto& m : opts_.getList("data-map")) {
    auto eq = m.find('=');
    if (eq == std::string::npos)
      fail(ErrorKind::Usage, "data-map entry '{}' must be INPUT=ARRAY", m);
    map.emplace_back(m.substr(0, eq), m.substr(eq + 1));
  }
  std::string teacher_path = opts_.getString("teacher");
  if (teacher_path.empty()) teacher_path = model.source_path;
  if (teacher_path.empty())
    fail(ErrorKind::Usage, "distill-export: no teacher (give teacher=FILE)");
  Model teacher = loadModelForPass(teacher_path);
  TrainData data(opts_.getString("data"), *teacher.graph, map, "", opts_.getInt("max-samples"));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) failInput("{}: cannot create the folder: {}", dir, ec.message());

  ExecOptions eo;
  eo.threads = passThreads(opts_, ctx);
  for (const auto& [s, t] : feature_pairs)
    eo.capture.push_back(t);
  auto exec = makeExecutor(teacher, eo);
  nlohmann::ordered_json chunks = nlohmann::ordered_json::array();
  int64_t files = 0;
  for (int64_t first = 0; first < data.size(); first += chunk) {
    const int64_t count = std::min(chunk, data.size() - first);
    std::vector<Tensor> logits;
    std::vector<std::vector<Tensor>> feats(feature_pairs.size());
    for (int64_t b = first; b < first + count; b += 64) {
      std::vector<int64_t> idx;
      for (int64_t i = b; i < std::min(first + count, b + 64); ++i)
        idx.push_back(i);
      NamedTensors out = exec->run(data.inputs(idx));
      logits.push_back(out.at(0).second);
      for (size_t f = 0; f < feature_pairs.size(); ++f) {
        const Tensor* t = nullptr;
        for (const auto& [n, v] : out)
          if (n == feature_pairs[f].second) t = &v;
        if (!t)
          failInput("distill-export: the teacher computes no value '{}'", feature_pairs[f].second);
        feats[f].push_back(*t);
      }
    }
    NamedTensors arrays;
    std::vector<int64_t> index(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i)
      index[static_cast<size_t>(i)] = first + i;
    arrays.emplace_back("index", Tensor::fromVector(DType::I64, {count}, index));
    Tensor all = concatRows(logits);
    arrays.emplace_back("logits", all);
    if (T > 0) arrays.emplace_back("probs", softmaxRows(all, T));
    for (size_t f = 0; f < feature_pairs.size(); ++f)
      arrays.emplace_back(featureArray(feature_pairs[f].second), concatRows(feats[f]));
    std::string name = fmt::format("teacher_{:05d}.npz", files++);
    saveNpz(dir + "/" + name, arrays);
    chunks.push_back({{"file", name},
                      {"first", first},
                      {"count", count},
                      {"sha256", sha256File(dir + "/" + name)}});
  }

  // The student, as this pipeline has it now.
  OnnxSaveOptions so;
  saveOnnx(model, dir + "/student.onnx", so);
  TorchScriptExportOptions to;
  torchBackend().saveTorchScript(model, dir + "/student.pt", to);

  nlohmann::ordered_json m;
  m["format"] = "mopt-distill";
  m["version"] = 1;
  m["teacher"] = {{"path", teacher_path}, {"sha256", sha256File(teacher_path)}};
  nlohmann::ordered_json inputs = nlohmann::ordered_json::array();
  for (const Value* v : model.graph->inputs()) {
    if (v->isInitializer()) continue;
    std::string array = v->name();
    for (const auto& [in, arr] : map)
      if (in == v->name()) array = arr;
    inputs.push_back({{"input", v->name()}, {"array", array}});
  }
  nlohmann::ordered_json outputs = nlohmann::ordered_json::array();
  for (const Value* v : model.graph->outputs())
    outputs.push_back(v->name());
  m["student"] = {{"onnx", "student.onnx"},
                  {"onnx_sha256", sha256File(dir + "/student.onnx")},
                  {"torchscript", "student.pt"},
                  {"torchscript_sha256", sha256File(dir + "/student.pt")},
                  {"outputs", outputs}};
  m["data"] = {{"path", data.path()},
               {"sha256", sha256File(data.path())},
               {"samples", data.size()},
               {"inputs", inputs}};
  m["temperature"] = T;
  nlohmann::ordered_json fp = nlohmann::ordered_json::array();
  for (const auto& [s, t] : feature_pairs)
    fp.push_back({{"student", s}, {"teacher", t}, {"array", featureArray(t)}});
  m["features"] = fp;
  m["chunks"] = chunks;
  std::string text = m.dump(1) + "\n";
  AtomicFile f(dir + "/manifest.json");
  f.write(text.data(), text.size());
  f.commit(false);
  ctx.count("samples", data.size());
  ctx.count("files", files);
  ctx.note(fmt::format("wrote {} chunk(s), student.onnx, student.pt and manifest.json to {}", files,
                       dir));
  return false;
}

}  // namespace mopt
