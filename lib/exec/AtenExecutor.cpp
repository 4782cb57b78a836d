// The ATen executor (in the LibTorch plugin): plans each graph once (kernel per node, values to
// free after each node), then interprets it, converting weights once and freeing intermediates
// after their last use. Also the plugin's entry point.
#include "exec/Backend.h"

#include "exec/Fusion.h"
#include "exec/Runtime.h"
#include "exec/Trainable.h"
#include "frontend/onnx/Onnx.h"
#include "frontend/torchscript/TorchScriptImpl.h"
#include "ir/TensorUtil.h"
#include "passes/common/Constants.h"

#include <ATen/Parallel.h>

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace mopt {
namespace exec {

// --- dtypes ------------------------------------------------------------------------------------

bool atenCanHold(DType t) {
  switch (t) {
    case DType::F32:
    case DType::F64:
    case DType::F16:
    case DType::BF16:
    case DType::I8:
    case DType::U8:
    case DType::I16:
    case DType::U16:
    case DType::I32:
    case DType::U32:
    case DType::I64:
    case DType::U64:
    case DType::Bool:
    case DType::C64:
    case DType::C128:
    case DType::I4:
    case DType::U4:
      return true;
    default:
      return false;
  }
}

at::ScalarType atenType(DType t) {
  switch (t) {
    case DType::F32:
      return at::kFloat;
    case DType::F64:
      return at::kDouble;
    case DType::F16:
      return at::kHalf;
    case DType::BF16:
      return at::kBFloat16;
    case DType::I8:
    case DType::I4:
      return at::kChar;
    case DType::U8:
    case DType::U4:
      return at::kByte;
    case DType::I16:
      return at::kShort;
    case DType::U16:
    case DType::I32:
      return at::kInt;
    case DType::U32:
    case DType::I64:
    case DType::U64:
      return at::kLong;
    case DType::Bool:
      return at::kBool;
    case DType::C64:
      return at::kComplexFloat;
    case DType::C128:
      return at::kComplexDouble;
    default:
      failInput("the executor cannot hold {} tensors", dtypeName(t));
  }
}

DType onnxType(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return DType::F32;
    case at::kDouble:
      return DType::F64;
    case at::kHalf:
      return DType::F16;
    case at::kBFloat16:
      return DType::BF16;
    case at::kChar:
      return DType::I8;
    case at::kByte:
      return DType::U8;
    case at::kShort:
      return DType::I16;
    case at::kInt:
      return DType::I32;
    case at::kLong:
      return DType::I64;
    case at::kBool:
      return DType::Bool;
    case at::kComplexFloat:
      return DType::C64;
    case at::kComplexDouble:
      return DType::C128;
    default:
      failInput("no ONNX type for ATen type {}", c10::toString(t));
  }
}

RtValue RtValue::fromTensor(at::Tensor t, DType dtype) {
  RtValue v;
  v.kind = Kind::Tensor;
  v.dtype = dtype == DType::Undefined ? onnxType(t.scalar_type()) : dtype;
  v.tensor = std::move(t);
  return v;
}

RtValue RtValue::fromStrings(std::vector<int64_t> dims, std::vector<std::string> s) {
  RtValue v;
  v.kind = Kind::Strings;
  v.dtype = DType::String;
  v.dims = std::move(dims);
  v.strings = std::make_shared<const std::vector<std::string>>(std::move(s));
  return v;
}

RtValue RtValue::fromSequence(std::vector<RtValue> items, DType elem) {
  RtValue v;
  v.kind = Kind::Sequence;
  v.dtype = elem;
  v.sequence = std::make_shared<const std::vector<RtValue>>(std::move(items));
  return v;
}

RtValue toRuntime(const Tensor& t) {
  if (t.dtype() == DType::String) return RtValue::fromStrings(t.dims(), t.strings());
  if (!atenCanHold(t.dtype()))
    failInput("tensor '{}' has type {}, which the executor cannot hold", t.name(),
              dtypeName(t.dtype()));
  std::vector<int64_t> dims = t.dims();
  auto opts = at::TensorOptions().dtype(atenType(t.dtype()));
  int64_t n = t.numel();
  switch (t.dtype()) {
    case DType::U16: {
      at::Tensor out = at::empty(dims, opts);
      int32_t* dst = out.data_ptr<int32_t>();
      for (int64_t i = 0; i < n; ++i)
        dst[i] = static_cast<int32_t>(elementAsInt(t, i));
      return RtValue::fromTensor(out, t.dtype());
    }
    case DType::U32: {
      at::Tensor out = at::empty(dims, opts);
      int64_t* dst = out.data_ptr<int64_t>();
      for (int64_t i = 0; i < n; ++i)
        dst[i] = elementAsInt(t, i);
      return RtValue::fromTensor(out, t.dtype());
    }
    case DType::I4:
    case DType::U4: {
      at::Tensor out = at::empty(dims, opts);
      auto* dst = static_cast<uint8_t*>(out.data_ptr());
      for (int64_t i = 0; i < n; ++i)
        dst[i] = static_cast<uint8_t>(elementAsInt(t, i));
      return RtValue::fromTensor(out, t.dtype());
    }
    default:
      break;
  }
  size_t elem = static_cast<size_t>(dtypeBits(t.dtype()) / 8);
  if (n == 0) return RtValue::fromTensor(at::empty(dims, opts), t.dtype());
  const uint8_t* p = t.raw();
  if (reinterpret_cast<uintptr_t>(p) % elem == 0) {
    // Zero-copy: the at::Tensor keeps the IR buffer alive. Kernels never write their inputs.
    auto keep = new std::shared_ptr<const Buffer>(t.buffer());
    at::Tensor view = at::from_blob(
        const_cast<uint8_t*>(p), dims, [keep](void*) { delete keep; }, opts);
    return RtValue::fromTensor(view, t.dtype());
  }
  at::Tensor out = at::empty(dims, opts);
  std::memcpy(out.data_ptr(), p, t.byteSize());
  return RtValue::fromTensor(out, t.dtype());
}

Tensor fromRuntime(const RtValue& v) {
  if (v.kind == RtValue::Kind::Strings) return Tensor::fromStrings(v.dims, *v.strings);
  if (v.kind != RtValue::Kind::Tensor) failInput("only tensor values can leave the executor");
  at::Tensor t = v.tensor.contiguous();
  std::vector<int64_t> dims(t.sizes().begin(), t.sizes().end());
  int64_t n = t.numel();
  switch (v.dtype) {
    case DType::U16: {
      std::vector<uint16_t> out(static_cast<size_t>(n));
      const int32_t* src = t.to(at::kInt).data_ptr<int32_t>();
      for (int64_t i = 0; i < n; ++i)
        out[static_cast<size_t>(i)] = static_cast<uint16_t>(src[i]);
      return Tensor::fromVector(DType::U16, dims, out);
    }
    case DType::U32: {
      std::vector<uint32_t> out(static_cast<size_t>(n));
      const int64_t* src = t.to(at::kLong).data_ptr<int64_t>();
      for (int64_t i = 0; i < n; ++i)
        out[static_cast<size_t>(i)] = static_cast<uint32_t>(src[i]);
      return Tensor::fromVector(DType::U32, dims, out);
    }
    case DType::I4:
    case DType::U4: {
      std::vector<double> vals(static_cast<size_t>(n));
      at::Tensor w = t.to(at::kLong);
      const int64_t* src = w.data_ptr<int64_t>();
      for (int64_t i = 0; i < n; ++i)
        vals[static_cast<size_t>(i)] = static_cast<double>(src[i]);
      return fromDoubles(v.dtype, dims, vals);
    }
    default:
      break;
  }
  at::ScalarType want = atenType(v.dtype);
  if (t.scalar_type() != want) t = t.to(want);
  return Tensor::fromBytes(v.dtype, dims, t.data_ptr(), static_cast<uint64_t>(t.nbytes()));
}

// --- kernel context ------------------------------------------------------------------------------

const RtValue& KernelContext::value(size_t i) const {
  if (!hasInput(i)) fail("input {} is missing", i);
  return *inputs_[i];
}

const at::Tensor& KernelContext::input(size_t i) const {
  const RtValue& v = value(i);
  if (!v.isTensor()) fail("input {} is not a numeric tensor", i);
  return v.tensor;
}

std::vector<int64_t> KernelContext::inputInts(size_t i) const {
  at::Tensor t = input(i).to(at::kLong).contiguous().reshape({-1});
  const int64_t* p = t.data_ptr<int64_t>();
  return std::vector<int64_t>(p, p + t.numel());
}

double KernelContext::inputScalar(size_t i) const {
  const at::Tensor& t = input(i);
  if (t.numel() != 1) fail("input {} must hold one value, it has {}", i, t.numel());
  return t.to(at::kDouble).item<double>();
}

std::vector<float> KernelContext::attrFloats(std::string_view name) const {
  const Attribute* a = node_.attr(name);
  return a && a->kind == AttrKind::Floats ? a->floats : std::vector<float>{};
}

void KernelContext::setOutput(size_t i, at::Tensor t, DType dtype) {
  if (i >= outputs_.size()) return;
  outputs_[i] = RtValue::fromTensor(std::move(t), dtype);
}

void KernelContext::setOutputValue(size_t i, RtValue v) {
  if (i < outputs_.size()) outputs_[i] = std::move(v);
}

int64_t normalizeAxis(const KernelContext& ctx, int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<int64_t>(rank, 1))
    ctx.fail("axis {} is out of range for rank {}", axis, rank);
  return a;
}

void checkBroadcastable(const KernelContext& ctx, const at::Tensor& a, const at::Tensor& b) {
  int64_t ra = a.dim(), rb = b.dim();
  for (int64_t i = 1; i <= std::min(ra, rb); ++i) {
    int64_t x = a.size(ra - i), y = b.size(rb - i);
    if (x != y && x != 1 && y != 1)
      ctx.fail("shapes {} and {} do not broadcast", c10::str(a.sizes()), c10::str(b.sizes()));
  }
}

// --- kernel table --------------------------------------------------------------------------------

namespace {

const std::map<std::pair<std::string, std::string>, KernelFn>& kernelTable() {
  static const auto table = [] {
    KernelList list;
    addCoreKernels(list);
    addMathKernels(list);
    addTensorKernels(list);
    addNNKernels(list);
    addQuantKernels(list);
    addFusedKernels(list);
    std::map<std::pair<std::string, std::string>, KernelFn> t;
    for (const auto& e : list)
      t[{e.domain, e.op}] = e.fn;
    return t;
  }();
  return table;
}

std::string normDomain(const std::string& d) {
  return d == "ai.onnx" ? std::string() : d;
}

}  // namespace

KernelFn findKernel(const std::string& domain, const std::string& op) {
  const auto& t = kernelTable();
  auto it = t.find({normDomain(domain), op});
  return it == t.end() ? nullptr : it->second;
}

}  // namespace exec

using namespace exec;

// --- the executor
// ----------------------------------------------------------------------------------

// In namespace exec, not anonymous: ExecCore is shared with training (exec/Trainable.h).
namespace exec {

struct GraphPlan {
  std::vector<const Node*> nodes;
  std::vector<KernelFn> kernels;
  std::vector<int64_t> opsets;
  std::vector<std::vector<const Value*>> free_after;  // values last used by node k
};

// Values a graph (and its nested graphs) reads that it does not define itself.
void freeValues(const Graph& g, std::unordered_set<const Value*>& out) {
  for (const Node* n : g.nodes()) {
    for (const Value* v : n->inputs())
      if (v && v->owner() != &g) out.insert(v);
    for (const Graph* sub : n->subgraphs()) {
      std::unordered_set<const Value*> inner;
      freeValues(*sub, inner);
      for (const Value* v : inner)
        if (v->owner() != &g) out.insert(v);
    }
  }
  for (const Value* v : g.outputs())
    if (v->owner() != &g) out.insert(v);
}

struct Env {
  const Env* parent = nullptr;
  std::unordered_map<const Value*, RtValue> vals;
  const RtValue* find(const Value* v) const {
    for (const Env* e = this; e; e = e->parent) {
      auto it = e->vals.find(v);
      if (it != e->vals.end()) return &it->second;
    }
    return nullptr;
  }
};

std::vector<std::string> missingKernels(const Model& model) {
  std::set<std::string> missing;
  forEachGraph(static_cast<const Graph&>(*model.graph), [&](const Graph& g) {
    for (const Node* n : g.nodes())
      if (!findKernel(n->domain(), n->opType()))
        missing.insert(n->isDefaultDomain() ? n->opType() : n->domain() + "." + n->opType());
  });
  return {missing.begin(), missing.end()};
}

// The plan and the graph walk, shared by inference (AtenExecutor) and training (TrainableModel).
struct ExecCore {
  // The executor's own copy: fusion rewrites it, the caller's model is never touched. With
  // capture (per-node comparison) the copy stays unfused so every intermediate keeps its name.
  Model owned;
  const Model& model;
  ExecOptions opts;
  std::unordered_map<const Graph*, GraphPlan> plans;
  std::unordered_map<const Value*, RtValue> constants;  // initializers, converted once
  std::unordered_set<std::string> capture;
  bool capture_all = false;
  std::map<std::string, OpProfile> profile;

  ExecCore(const Model& m, ExecOptions o) : owned(cloneModel(m)), model(owned), opts(std::move(o)) {
    for (const auto& c : opts.capture) {
      if (c == "*") capture_all = true;
      capture.insert(c);
    }
    std::vector<std::string> missing = missingKernels(m);
    if (!missing.empty())
      failInput("{}: mopt cannot execute operator(s) {}",
                m.source_path.empty() ? "model" : m.source_path, fmt::join(missing, ", "));
    if (opts.capture.empty() && opts.fuse) fuseForExecution(owned);
    forEachGraph(*owned.graph, [this](const Graph& g) { plan(g); });
  }

  int64_t opsetFor(const Node& n) const {
    return model.opset(n.isDefaultDomain() ? std::string_view() : std::string_view(n.domain()));
  }

  void plan(const Graph& g) {
    GraphPlan p;
    std::unordered_map<const Value*, size_t> last;
    size_t k = 0;
    for (const Node* n : g.nodes()) {
      p.nodes.push_back(n);
      KernelFn fn = findKernel(n->domain(), n->opType());
      // Constant nodes are evaluated once here, not on every run.
      if (n->is("Constant") && n->output(0)) {
        if (auto t = constantNodeValue(*n)) {
          constants.emplace(n->output(0), toRuntime(*t));
          fn = nullptr;
        }
      }
      p.kernels.push_back(fn);
      p.opsets.push_back(opsetFor(*n));
      for (const Value* v : n->inputs())
        if (v) last[v] = k;
      for (const Graph* sub : n->subgraphs()) {
        std::unordered_set<const Value*> outer;
        freeValues(*sub, outer);
        for (const Value* v : outer)
          last[v] = k;
      }
      ++k;
    }
    p.free_after.resize(p.nodes.size());
    for (const auto& [v, at] : last) {
      if (v->owner() != &g || v->isGraphOutput() || constants.count(v)) continue;
      if (v->isInitializer() && !v->isGraphInput()) continue;
      p.free_after[at].push_back(v);
    }
    for (const Value* v : g.initializers())
      constants.emplace(v, toRuntime(v->initializer()));
    plans.emplace(&g, std::move(p));
  }

  std::vector<std::string> requiredInputs() const {
    std::vector<std::string> out;
    for (const Value* v : model.graph->inputs())
      if (!v->isInitializer()) out.push_back(v->name());
    return out;
  }

  // Binds the main graph's inputs, checking names, dtypes and static dims.
  void bind(Env& env, const NamedTensors& inputs) const {
    const Graph& g = *model.graph;
    std::unordered_set<std::string> given;
    for (const auto& [name, t] : inputs) {
      const Value* target = nullptr;
      for (const Value* v : g.inputs())
        if (v->name() == name) target = v;
      if (!target)
        failInput("the model has no input named '{}' (inputs: {})", name,
                  fmt::join(requiredInputs(), ", "));
      if (target->type().isTensor() && target->type().elemType() != DType::Undefined &&
          target->type().elemType() != t.dtype())
        failInput("input '{}' must be {}, got {}", name, dtypeName(target->type().elemType()),
                  dtypeName(t.dtype()));
      if (target->type().isTensor() && target->type().shape()) {
        const Shape& s = *target->type().shape();
        bool ok = s.size() == t.dims().size();
        for (size_t i = 0; ok && i < s.size(); ++i)
          if (s[i].isKnown() && s[i].value != t.dims()[i]) ok = false;
        if (!ok)
          failInput("input '{}' must have shape {}, got {}", name, shapeToString(s),
                    shapeToString(shapeOf(t.dims())));
      }
      env.vals[target] = toRuntime(t);
      given.insert(name);
    }
    for (const auto& name : requiredInputs())
      if (!given.count(name)) failInput("input '{}' is missing", name);
  }

  const RtValue& lookup(const Env& env, const Value* v, const Node& n) const {
    if (const RtValue* r = env.find(v)) return *r;
    auto it = constants.find(v);
    if (it != constants.end()) return it->second;
    failInput("node {}: value '{}' has no value at run time", n.describe(), v->name());
  }

  std::vector<RtValue> runGraph(const Graph& g, Env& env,
                                std::vector<std::pair<std::string, RtValue>>* captured) {
    const GraphPlan& p = plans.at(&g);
    for (size_t k = 0; k < p.nodes.size(); ++k) {
      const Node& n = *p.nodes[k];
      if (!p.kernels[k]) continue;  // a Constant, evaluated at planning time
      std::vector<const RtValue*> ins;
      ins.reserve(n.numInputs());
      for (const Value* v : n.inputs())
        ins.push_back(v ? &lookup(env, v, n) : nullptr);
      std::vector<RtValue> outs(n.numOutputs());
      SubgraphRunner runner = [this, &env](const Graph& body, const std::vector<RtValue>& inputs) {
        Env inner;
        inner.parent = &env;
        const auto& formal = body.inputs();
        for (size_t i = 0; i < formal.size() && i < inputs.size(); ++i)
          inner.vals[formal[i]] = inputs[i];
        return runGraph(body, inner, nullptr);
      };
      KernelContext ctx(n, p.opsets[k], std::move(ins), outs, std::move(runner));
      try {
        if (opts.profile) {
          auto t0 = std::chrono::steady_clock::now();
          p.kernels[k](ctx);
          OpProfile& prof = profile[n.opType()];
          prof.op = n.opType();
          ++prof.calls;
          prof.seconds +=
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        } else {
          p.kernels[k](ctx);
        }
      } catch (const Error& e) {
        throw Error(e.kind(), fmt::format("while executing node {}: {}", n.describe(), e.what()));
      } catch (const c10::Error& e) {
        throw Error(ErrorKind::Input, fmt::format("while executing node {}: {}", n.describe(),
                                                  e.what_without_backtrace()));
      } catch (const std::exception& e) {
        throw Error(ErrorKind::Input,
                    fmt::format("while executing node {}: {}", n.describe(), e.what()));
      }
      for (size_t i = 0; i < n.numOutputs(); ++i) {
        const Value* v = n.output(i);
        if (!v) continue;
        if (outs[i].kind == RtValue::Kind::None && !(v->type().kind() == Type::Kind::Optional))
          failInput("node {}: the kernel produced no value for output {} ('{}')", n.describe(), i,
                    v->name());
        if (captured && (capture_all || capture.count(v->name())) &&
            outs[i].kind != RtValue::Kind::None)
          captured->emplace_back(v->name(), outs[i]);
        env.vals[v] = std::move(outs[i]);
      }
      for (const Value* v : p.free_after[k])
        env.vals.erase(v);
    }
    std::vector<RtValue> results;
    for (const Value* v : g.outputs())
      results.push_back(lookup(env, v, **g.nodes().begin()));
    return results;
  }
};

}  // namespace exec

namespace {

class AtenExecutor : public Executor {
 public:
  AtenExecutor(const Model& m, ExecOptions o);
  ~AtenExecutor() override;
  NamedTensors run(const NamedTensors& inputs) override;
  std::vector<std::string> inputNames() const override;
  std::vector<std::string> outputNames() const override;
  std::vector<OpProfile> profile() const override;

 private:
  std::unique_ptr<ExecCore> impl_;
};

// Debian's LibTorch calls BLAS through the libblas.so.3 alternative, which is OpenBLAS once
// libopenblas0-pthread is installed; its own thread pool ignores at::set_num_threads.
void setBlasThreads(int n) {
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    fn(n);
}

AtenExecutor::AtenExecutor(const Model& model, ExecOptions opts) {
  at::set_num_threads(std::max(1, opts.threads));
  setBlasThreads(std::max(1, opts.threads));
  impl_ = std::make_unique<ExecCore>(model, std::move(opts));
}

AtenExecutor::~AtenExecutor() = default;

NamedTensors AtenExecutor::run(const NamedTensors& inputs) {
  const Graph& g = *impl_->model.graph;
  Env env;
  impl_->bind(env, inputs);
  std::vector<std::pair<std::string, RtValue>> captured;
  bool capturing = impl_->capture_all || !impl_->capture.empty();
  std::vector<RtValue> outs;
  {
    at::NoGradGuard no_grad;
    outs = impl_->runGraph(g, env, capturing ? &captured : nullptr);
  }
  NamedTensors result;
  for (size_t i = 0; i < outs.size(); ++i)
    result.emplace_back(g.outputs()[i]->name(), fromRuntime(outs[i]));
  for (auto& [name, v] : captured)
    if (v.kind == RtValue::Kind::Tensor || v.kind == RtValue::Kind::Strings)
      result.emplace_back(name, fromRuntime(v));
  return result;
}

std::vector<std::string> AtenExecutor::inputNames() const {
  std::vector<std::string> out;
  for (const Value* v : impl_->model.graph->inputs())
    if (!v->isInitializer()) out.push_back(v->name());
  return out;
}

std::vector<OpProfile> AtenExecutor::profile() const {
  std::vector<OpProfile> out;
  for (const auto& [op, p] : impl_->profile)
    out.push_back(p);
  std::sort(out.begin(), out.end(),
            [](const OpProfile& a, const OpProfile& b) { return a.seconds > b.seconds; });
  return out;
}

std::vector<std::string> AtenExecutor::outputNames() const {
  std::vector<std::string> out;
  for (const Value* v : impl_->model.graph->outputs())
    out.push_back(v->name());
  return out;
}

}  // namespace

namespace exec {

bool isTrainableUse(const Node& n, size_t i) {
  if (!n.isDefaultDomain()) return false;
  const std::string& op = n.opType();
  if (op == "Conv" || op == "ConvTranspose" || op == "Gemm") return i == 1 || i == 2;
  if (op == "MatMul" || op == "Add" || op == "Sub" || op == "Mul") return i <= 1;
  if (op == "BatchNormalization" || op == "LayerNormalization" || op == "InstanceNormalization" ||
      op == "GroupNormalization")
    return i == 1 || i == 2;
  if (op == "PRelu") return i == 1;
  return false;
}

TrainableModel::TrainableModel(const Model& m, const std::vector<std::string>& features)
    : features_(features) {
  ExecOptions o;
  o.fuse = false;
  o.capture = features;
  if (o.capture.empty()) o.capture.push_back("");  // unfused, nothing captured: names stay
  core_ = std::make_unique<ExecCore>(m, std::move(o));
  // Each trainable initializer becomes one parameter, however many nodes read it.
  const Graph& g = *core_->model.graph;
  for (const Value* v : g.initializers()) {
    const Tensor& t = v->initializer();
    if (t.dtype() != DType::F32 || v->isGraphInput()) continue;
    bool trainable = false;
    for (const Use& u : v->uses())
      trainable = trainable || isTrainableUse(*u.user, u.index);
    if (!trainable) continue;
    at::Tensor p =
        core_->constants.at(v).tensor.detach().clone().contiguous().set_requires_grad(true);
    core_->constants[v] = RtValue::fromTensor(p, DType::F32);
    params_.push_back({v->name(), p});
  }
}

TrainableModel::~TrainableModel() = default;

std::vector<at::Tensor> TrainableModel::forward(const NamedTensors& feeds) {
  const Graph& g = *core_->model.graph;
  Env env;
  core_->bind(env, feeds);
  std::vector<std::pair<std::string, RtValue>> captured;
  std::vector<RtValue> outs = core_->runGraph(g, env, features_.empty() ? nullptr : &captured);
  std::vector<at::Tensor> result;
  for (const RtValue& v : outs) {
    if (!v.isTensor()) failInput("training needs tensor outputs");
    result.push_back(v.tensor);
  }
  for (const auto& name : features_) {
    const RtValue* found = nullptr;
    for (const auto& [n, v] : captured)
      if (n == name) found = &v;
    if (!found || !found->isTensor())
      failInput("feature '{}' is not a tensor the model computes", name);
    result.push_back(found->tensor);
  }
  return result;
}

void TrainableModel::store(Model& m) const {
  for (const auto& p : params_) {
    Value* target = nullptr;
    for (Value* v : m.graph->initializers())
      if (v->name() == p.name) target = v;
    if (!target) fail(ErrorKind::Internal, "training: the model has no initializer '{}'", p.name);
    at::Tensor t = p.tensor.detach().contiguous();
    target->setInitializer(Tensor::fromBytes(DType::F32, target->initializer().dims(),
                                             t.data_ptr<float>(),
                                             static_cast<uint64_t>(t.numel()) * sizeof(float)));
  }
}

}  // namespace exec

namespace {

class AtenBackend : public TorchBackend {
 public:
  std::unique_ptr<Executor> makeExecutor(const Model& model, ExecOptions opts) const override {
    return std::make_unique<AtenExecutor>(model, std::move(opts));
  }
  std::vector<std::string> unsupportedOps(const Model& model) const override {
    return missingKernels(model);
  }
  std::vector<Tensor> evaluateNode(
      const Node& node, int64_t opset,
      const std::vector<std::optional<Tensor>>& inputs) const override {
    KernelFn fn = findKernel(node.domain(), node.opType());
    if (!fn) failInput("no kernel for {}", node.opType());
    std::vector<RtValue> values;
    values.reserve(inputs.size());
    for (const auto& t : inputs)
      values.push_back(t ? toRuntime(*t) : RtValue());
    std::vector<const RtValue*> ins;
    for (size_t i = 0; i < inputs.size(); ++i)
      ins.push_back(inputs[i] ? &values[i] : nullptr);
    std::vector<RtValue> outs(node.numOutputs());
    SubgraphRunner none = [&node](const Graph&,
                                  const std::vector<RtValue>&) -> std::vector<RtValue> {
      failInput("{} has a subgraph; it cannot be evaluated on its own", node.describe());
    };
    KernelContext ctx(node, opset, std::move(ins), outs, none);
    at::NoGradGuard no_grad;
    try {
      fn(ctx);
    } catch (const c10::Error& e) {
      failInput("{}: {}", node.describe(), e.what_without_backtrace());
    }
    std::vector<Tensor> result;
    for (size_t i = 0; i < outs.size(); ++i)
      result.push_back(node.output(i) && outs[i].kind != RtValue::Kind::None ? fromRuntime(outs[i])
                                                                             : Tensor());
    return result;
  }
  Model loadTorchScript(const std::string& path,
                        const TorchScriptImportOptions& opts) const override {
    return importTorchScript(path, opts);
  }
  void saveTorchScript(const Model& model, const std::string& path,
                       const TorchScriptExportOptions& opts) const override {
    exportTorchScript(model, path, opts);
  }
  DistillStats distill(Model& student, const DistillConfig& cfg,
                       const DistillEpoch& epochs) const override {
    return distillStudent(student, cfg, epochs);
  }
  bool canEvaluate(const Node& node) const override {
    return findKernel(node.domain(), node.opType()) != nullptr;
  }
  std::vector<std::string> supportedOps() const override {
    std::vector<std::string> out;
    for (const auto& [key, fn] : kernelTable())
      out.push_back(key.first.empty() ? key.second : key.first + "." + key.second);
    return out;
  }
};

}  // namespace

}  // namespace mopt

extern "C" const mopt::TorchBackend* mopt_torch_backend() {
  static const mopt::AtenBackend backend;
  return &backend;
}
