// TorchScript -> IR: load, freeze, inline, then map each aten:: op onto ONNX-semantics IR ops.
//
// Values of the TorchScript graph become "imported values": IR tensors, compile-time constants
// (ints, floats, lists, tensors), or lists of either. Python ints computed at run time (tensor
// sizes in traced graphs) become 0-d int64 IR tensors, so shape arithmetic survives dynamic batch
// and sequence sizes. Control flow whose condition is known at import time (shape checks that
// scripted models keep after freezing) is resolved; anything else is an error naming the op and
// its TorchScript source line.
#include "frontend/torchscript/TorchScriptImpl.h"

#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "ir/Verifier.h"

#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/graph_rewrite_helper.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/remove_dropout.h>
#include <torch/csrc/jit/passes/symbolic_shape_analysis.h>
#include <torch/script.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <set>
#include <unordered_map>

namespace mopt {

namespace {

using JNode = torch::jit::Node;
using JValue = torch::jit::Value;

DType fromScalarType(at::ScalarType t) {
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
    default:
      return DType::Undefined;
  }
}

// What one TorchScript value became.
struct TV {
  enum class Kind { None, Tensor, Const, List };
  Kind kind = Kind::None;
  Value* ir = nullptr;    // Tensor
  c10::IValue c;          // Const (int, float, bool, string, tensor, int list, ...)
  std::vector<TV> items;  // List
  int64_t rank = -1;      // Tensor: -1 when unknown
  DType dtype = DType::Undefined;

  static TV tensor(Value* v, DType dt, int64_t rank) {
    TV t;
    t.kind = Kind::Tensor;
    t.ir = v;
    t.dtype = dt;
    t.rank = rank;
    return t;
  }
  static TV constant(c10::IValue c) {
    TV t;
    t.kind = Kind::Const;
    t.c = std::move(c);
    return t;
  }
  bool isNone() const { return kind == Kind::None || (kind == Kind::Const && c.isNone()); }
};

Tensor toIrTensor(const at::Tensor& t0) {
  at::Tensor t = t0.contiguous().cpu();
  DType dt = fromScalarType(t.scalar_type());
  if (dt == DType::Undefined)
    failInput("a constant tensor has type {}, which mopt cannot hold",
              c10::toString(t.scalar_type()));
  return Tensor::fromBytes(dt, std::vector<int64_t>(t.sizes().begin(), t.sizes().end()),
                           t.data_ptr(), static_cast<uint64_t>(t.nbytes()));
}

class Importer {
 public:
  Importer(std::string path, const TorchScriptImportOptions& opts)
      : path_(std::move(path)), opts_(opts) {}

  Model run() {
    torch::jit::Module module;
    torch::jit::ExtraFilesMap extra{{"mopt.json", ""}};
    try {
      module = torch::jit::load(path_, c10::nullopt, extra);
    } catch (const c10::Error& e) {
      failInput("{}: not a loadable TorchScript file: {}", path_,
                firstLine(e.what_without_backtrace()));
    }
    // Files mopt wrote record their inputs; anything else needs them from the caller.
    if (opts_.inputs.empty()) opts_.inputs = recordedInputs(extra["mopt.json"]);
    output_names_ = recordedOutputs(extra["mopt.json"]);
    const bool from_sample = opts_.inputs.empty() && !opts_.sample_inputs.empty();
    if (opts_.inputs.empty()) opts_.inputs = opts_.sample_inputs;
    if (opts_.inputs.empty())
      failInput(
          "{}: a TorchScript file does not record its input shapes; give them with "
          "--input-shape NAME=d0,d1,... (symbols allowed, e.g. N) or a sample with --inputs",
          path_);
    module.eval();
    torch::jit::Module frozen = torch::jit::freeze(module, c10::nullopt, !opts_.keep_batchnorm);
    std::shared_ptr<torch::jit::Graph> graph = frozen.get_method("forward").graph()->copy();
    torch::jit::Inline(*graph);
    torch::jit::graph_rewrite_helper::replaceConvolutionWithAtenConv(graph);
    torch::jit::removeDropout(graph);
    torch::jit::ConstantPropagation(graph);
    torch::jit::EliminateDeadCode(graph);

    m_.ir_version = 8;
    m_.opset_imports = {{"", opts_.opset}};
    m_.producer_name = "mopt";
    m_.producer_version = "torchscript import";
    g_ = m_.graph.get();
    g_->setName("torchscript");

    // forward(self, ...): the first input is the module itself.
    auto inputs = graph->inputs();
    size_t n_args = inputs.size() - 1;
    if (from_sample && opts_.inputs.size() != n_args) {
      // A sample with other arrays too (labels, ...): take the ones named like forward()'s
      // arguments, in argument order.
      std::vector<InputSpec> named;
      for (size_t i = 0; i < n_args; ++i) {
        std::string arg = cleanName(inputs[i + 1]->debugName());
        for (const auto& s : opts_.inputs)
          if (s.name == arg) named.push_back(s);
      }
      if (named.size() != n_args)
        failInput(
            "{}: forward() takes {} tensor argument(s) but the sample has {} arrays; choose them "
            "with --map ARG=ARRAY,... in argument order",
            path_, n_args, opts_.inputs.size());
      opts_.inputs = named;
    }
    if (opts_.inputs.size() != n_args)
      failInput("{}: forward() takes {} tensor argument(s) but {} input shape(s) were given", path_,
                n_args, opts_.inputs.size());
    static_sizes_ = propagateSizes(graph);
    for (size_t i = 0; i < n_args; ++i) {
      const JValue* jv = inputs[i + 1];
      const InputSpec& spec = opts_.inputs[i];
      std::string name = spec.name.empty() ? cleanName(jv->debugName()) : spec.name;
      Shape shape;
      for (const auto& d : spec.dims) {
        char* end = nullptr;
        long long v = std::strtoll(d.c_str(), &end, 10);
        shape.push_back(*end == '\0' ? Dim::known(v) : Dim::symbol(d));
      }
      Value* v = g_->addInput(name, Type::tensor(spec.dtype, shape));
      env_[jv] = TV::tensor(v, spec.dtype, static_cast<int64_t>(shape.size()));
    }
    block(graph->block());

    auto outputs = graph->outputs();
    std::vector<TV> results;
    for (const JValue* o : outputs) {
      const TV& t = get(o);
      if (t.kind == TV::Kind::List) {
        for (const auto& item : t.items)
          results.push_back(item);
      } else {
        results.push_back(t);
      }
    }
    for (size_t i = 0; i < results.size(); ++i) {
      Value* v = tensorOf(results[i]);
      // A graph output must be produced by a node of its own (not an input or initializer).
      if (!v->producer() || v->isGraphOutput()) v = emit("Identity", {v})->output(0);
      if (output_names_.size() == results.size())
        v->setName(output_names_[i]);
      else
        v->setName(results.size() == 1 ? "output" : fmt::format("output_{}", i));
      v->setType(
          Type::tensor(results[i].dtype == DType::Undefined ? DType::F32 : results[i].dtype));
      g_->addOutput(v);
    }
    removeDeadNodes();
    inferShapesOnnx(m_);
    VerifyOptions vo;
    vo.schemas = &onnxSchemas();
    verifyOrThrow(m_, vo, ErrorKind::Internal,
                  path_ + ": the imported model is invalid (a bug in mopt)");
    m_.source_path = path_;
    return std::move(m_);
  }

 private:
  std::string path_;
  TorchScriptImportOptions opts_;
  Model m_;
  Graph* g_ = nullptr;
  std::unordered_map<const JValue*, TV> env_;
  // Whether the JIT graph's tensor types carry sizes derived from the declared input shapes
  // (propagateSizes), for the few ops that need a static size (adaptive pooling).
  bool static_sizes_ = false;
  std::unordered_map<const void*, Value*> const_cache_;   // tensor constants, by storage
  std::unordered_map<const Value*, Value*> shape_cache_;  // Shape(x) per x
  int counter_ = 0;
  const JNode* current_ = nullptr;
  std::vector<std::string> output_names_;  // recorded by mopt when it wrote the file

  static std::string firstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

  static std::vector<std::string> recordedOutputs(const std::string& json) {
    std::vector<std::string> names;
    if (json.empty()) return names;
    auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("outputs") && j["outputs"].is_array())
      for (const auto& n : j["outputs"])
        if (n.is_string()) names.push_back(n.get<std::string>());
    return names;
  }

  static std::vector<InputSpec> recordedInputs(const std::string& json) {
    std::vector<InputSpec> specs;
    if (json.empty()) return specs;
    auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("input_types") || !j.contains("inputs")) return specs;
    for (size_t i = 0; i < j["inputs"].size() && i < j["input_types"].size(); ++i) {
      const auto& t = j["input_types"][i];
      InputSpec s;
      s.name = j["inputs"][i].get<std::string>();
      s.dtype = parseDType(t.value("dtype", "f32")).value_or(DType::F32);
      for (const auto& d : t["shape"])
        s.dims.push_back(d.is_number() ? std::to_string(d.get<int64_t>()) : d.get<std::string>());
      specs.push_back(std::move(s));
    }
    return specs;
  }

  // Checks that were skipped (see ifNode) leave nodes nothing reads.
  void removeDeadNodes() {
    std::vector<Node*> nodes = g_->nodeVector();
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
      bool live = false;
      for (const Value* v : (*it)->outputs())
        live = live || (v && (v->hasUses() || v->isGraphOutput()));
      if (!live) g_->eraseNode(*it);
    }
    for (Value* v : std::vector<Value*>(g_->initializers()))
      if (!v->hasUses() && !v->isGraphOutput()) g_->removeInitializer(v);
  }

  static std::string cleanName(std::string n) {
    auto dot = n.rfind('.');
    if (dot != std::string::npos && dot + 1 < n.size() &&
        std::all_of(n.begin() + static_cast<std::ptrdiff_t>(dot) + 1, n.end(), ::isdigit))
      n.resize(dot);
    return n.empty() ? "input" : n;
  }

  std::string where(const JNode* n) const {
    auto flc = n->sourceRange().file_line_col();
    if (flc) return fmt::format("{}:{}", std::get<0>(*flc), std::get<1>(*flc));
    return "unknown source line";
  }

  [[noreturn]] void unsupported(const JNode* n, const std::string& why = "") {
    failInput("{}: TorchScript op {} is not supported{} (at {})", path_, n->kind().toQualString(),
              why.empty() ? "" : ": " + why, where(n));
  }

  std::string fresh(const std::string& hint) { return fmt::format("{}_{}", hint, counter_++); }

  const TV& get(const JValue* v) {
    auto it = env_.find(v);
    if (it == env_.end())
      failInput("{}: value %{} is used before it is defined", path_, v->debugName());
    return it->second;
  }

  Node* emit(const std::string& op, const std::vector<Value*>& inputs, size_t outputs = 1) {
    Node* n = g_->appendNode(op);
    n->setName(fresh(current_ ? std::string(current_->kind().toUnqualString()) : op));
    for (Value* v : inputs)
      n->addInput(v);
    for (size_t i = 0; i < outputs; ++i)
      n->addOutput(fresh(op + "_out"));
    return n;
  }

  Value* constTensor(const Tensor& t, const std::string& hint) {
    return g_->addInitializer(fresh(hint), t);
  }
  Value* i64(int64_t v) {
    return constTensor(Tensor::fromVector(DType::I64, {}, std::vector<int64_t>{v}), "const");
  }
  Value* i64s(const std::vector<int64_t>& v) {
    return constTensor(Tensor::fromVector(DType::I64, {static_cast<int64_t>(v.size())}, v),
                       "const");
  }
  Value* scalarOf(double v, DType dt) { return constTensor(fromDoublesScalar(dt, v), "const"); }
  static Tensor fromDoublesScalar(DType dt, double v) {
    switch (dt) {
      case DType::F64:
        return Tensor::fromVector(DType::F64, {}, std::vector<double>{v});
      case DType::I64:
        return Tensor::fromVector(DType::I64, {}, std::vector<int64_t>{static_cast<int64_t>(v)});
      case DType::I32:
        return Tensor::fromVector(DType::I32, {}, std::vector<int32_t>{static_cast<int32_t>(v)});
      case DType::Bool:
        return Tensor::fromVector(DType::Bool, {},
                                  std::vector<uint8_t>{static_cast<uint8_t>(v != 0)});
      case DType::F16: {
        uint16_t h = floatToHalf(static_cast<float>(v));
        return Tensor::fromBytes(DType::F16, {}, &h, 2);
      }
      default:
        return Tensor::fromVector(DType::F32, {}, std::vector<float>{static_cast<float>(v)});
    }
  }

  // --- reading imported values -------------------------------------------------------------------

  Value* tensorOf(const TV& t, DType scalar_type = DType::Undefined) {
    if (t.kind == TV::Kind::Tensor) return t.ir;
    if (t.kind == TV::Kind::Const) {
      const c10::IValue& c = t.c;
      if (c.isTensor()) {
        const at::Tensor& at = c.toTensor();
        const void* key = at.unsafeGetTensorImpl();
        auto it = const_cache_.find(key);
        if (it != const_cache_.end()) return it->second;
        Value* v = constTensor(toIrTensor(at), "weight");
        const_cache_[key] = v;
        return v;
      }
      DType dt = scalar_type;
      if (c.isInt())
        return scalarOf(static_cast<double>(c.toInt()), dt == DType::Undefined ? DType::I64 : dt);
      if (c.isDouble()) return scalarOf(c.toDouble(), dt == DType::Undefined ? DType::F32 : dt);
      if (c.isBool())
        return scalarOf(c.toBool() ? 1 : 0, dt == DType::Undefined ? DType::Bool : dt);
      if (c.isIntList()) return i64s(c.toIntVector());
    }
    if (t.kind == TV::Kind::List) return intListValue(t);
    failInput("{}: expected a tensor at {}", path_, current_ ? where(current_) : std::string("?"));
  }

  DType dtypeOf(const TV& t) {
    if (t.kind == TV::Kind::Tensor) return t.dtype;
    if (t.kind == TV::Kind::Const) {
      if (t.c.isTensor()) return fromScalarType(t.c.toTensor().scalar_type());
      if (t.c.isInt()) return DType::I64;
      if (t.c.isDouble()) return DType::F32;
      if (t.c.isBool()) return DType::Bool;
    }
    return DType::Undefined;
  }

  int64_t rankOf(const TV& t) {
    if (t.kind == TV::Kind::Tensor) return t.rank;
    if (t.kind == TV::Kind::Const && t.c.isTensor()) return t.c.toTensor().dim();
    if (t.kind == TV::Kind::Const && (t.c.isInt() || t.c.isDouble() || t.c.isBool())) return 0;
    return -1;
  }

  std::optional<int64_t> constInt(const TV& t) {
    if (t.kind == TV::Kind::Const && t.c.isInt()) return t.c.toInt();
    if (t.kind == TV::Kind::Const && t.c.isBool()) return t.c.toBool();
    if (t.kind == TV::Kind::Const && t.c.isTensor() && t.c.toTensor().numel() == 1 &&
        !at::isFloatingType(t.c.toTensor().scalar_type()))
      return t.c.toTensor().item<int64_t>();
    return std::nullopt;
  }
  std::optional<double> constNumber(const TV& t) {
    if (t.kind != TV::Kind::Const) return std::nullopt;
    if (t.c.isDouble()) return t.c.toDouble();
    if (t.c.isInt()) return static_cast<double>(t.c.toInt());
    if (t.c.isBool()) return t.c.toBool() ? 1.0 : 0.0;
    if (t.c.isTensor() && t.c.toTensor().numel() == 1) return t.c.toTensor().item<double>();
    return std::nullopt;
  }
  std::optional<std::vector<int64_t>> constInts(const TV& t) {
    if (t.kind == TV::Kind::Const && t.c.isIntList()) return t.c.toIntVector();
    if (t.kind == TV::Kind::Const && t.c.isInt()) return std::vector<int64_t>{t.c.toInt()};
    if (t.kind == TV::Kind::List) {
      std::vector<int64_t> out;
      for (const auto& item : t.items) {
        auto v = constInt(item);
        if (!v) return std::nullopt;
        out.push_back(*v);
      }
      return out;
    }
    return std::nullopt;
  }
  int64_t needInt(const JNode* n, size_t i) {
    auto v = constInt(get(n->input(i)));
    if (!v) unsupported(n, fmt::format("argument {} must be a constant int", i));
    return *v;
  }
  std::vector<int64_t> needInts(const JNode* n, size_t i) {
    auto v = constInts(get(n->input(i)));
    if (!v) unsupported(n, fmt::format("argument {} must be a constant int list", i));
    return *v;
  }
  double needNumber(const JNode* n, size_t i) {
    auto v = constNumber(get(n->input(i)));
    if (!v) unsupported(n, fmt::format("argument {} must be a constant number", i));
    return *v;
  }

  // A 1-D int64 IR tensor for an int list (constant entries folded, dynamic ones concatenated).
  Value* intListValue(const TV& t) {
    if (auto c = constInts(t)) return i64s(*c);
    if (t.kind == TV::Kind::Tensor) return t.ir;  // already a 1-D shape tensor
    std::vector<Value*> parts;
    for (const auto& item : t.items) {
      if (auto c = constInt(item)) {
        parts.push_back(i64s({*c}));
        continue;
      }
      Value* scalar = tensorOf(item);
      parts.push_back(unsqueeze(scalar, {0}));
    }
    Node* cat = emit("Concat", parts);
    cat->setAttr(Attribute::makeInt("axis", 0));
    return cat->output(0);
  }

  Value* unsqueeze(Value* x, const std::vector<int64_t>& axes) {
    return emit("Unsqueeze", {x, i64s(axes)})->output(0);
  }

  Value* shapeOf(Value* x) {
    auto it = shape_cache_.find(x);
    if (it != shape_cache_.end()) return it->second;
    Value* s = emit("Shape", {x})->output(0);
    shape_cache_[x] = s;
    return s;
  }

  int64_t normAxis(const JNode* n, int64_t axis, int64_t rank) {
    if (axis >= 0) return axis;
    if (rank < 0) unsupported(n, "a negative dim needs the input's rank, which is unknown here");
    return axis + rank;
  }

  void bind(const JNode* n, size_t i, TV t) { env_[n->output(i)] = std::move(t); }
  void bindTensor(const JNode* n, Value* v, DType dt, int64_t rank) {
    bind(n, 0, TV::tensor(v, dt, rank));
  }

  // --- the walk
  // ------------------------------------------------------------------------------------

  void block(const torch::jit::Block* b) {
    for (const JNode* n : b->nodes())
      node(n);
  }

  void node(const JNode* n) {
    current_ = n;
    std::string k = n->kind().toQualString();
    if (k == "prim::Constant") {
      bind(n, 0, TV::constant(torch::jit::toIValue(n->output()).value_or(c10::IValue())));
      return;
    }
    if (k == "prim::Uninitialized") return bind(n, 0, TV());  // only read on paths not taken
    if (k == "aten::__is__" || k == "aten::__isnot__") {
      // Only `x is None` tests reach here: whether a value is None is known at import time.
      const TV& a = get(n->input(0));
      const TV& b = get(n->input(1));
      bool same;
      if (n->input(0) == n->input(1))
        same = true;
      else if (a.kind == TV::Kind::Tensor && b.kind == TV::Kind::Tensor)
        same = a.ir == b.ir;  // one IR value is one tensor object
      else if (a.isNone() || b.isNone())
        same = a.isNone() && b.isNone();
      else
        unsupported(n, "identity tests other than `is None`");
      return bind(n, 0, TV::constant(c10::IValue(k == "aten::__is__" ? same : !same)));
    }
    if (k == "prim::unchecked_unwrap_optional" || k == "aten::_unwrap_optional")
      return bind(n, 0, get(n->input(0)));
    if (k == "aten::find") {
      const TV& hay = get(n->input(0));
      const TV& needle = get(n->input(1));
      if (hay.kind != TV::Kind::Const || !hay.c.isString() || needle.kind != TV::Kind::Const ||
          !needle.c.isString())
        unsupported(n, "find on strings known only at run time");
      auto pos = hay.c.toStringRef().find(needle.c.toStringRef());
      return bind(n, 0,
                  TV::constant(c10::IValue(pos == std::string::npos ? int64_t{-1}
                                                                    : static_cast<int64_t>(pos))));
    }
    if (k == "prim::ListConstruct" || k == "prim::TupleConstruct") {
      TV t;
      t.kind = TV::Kind::List;
      for (const JValue* v : n->inputs())
        t.items.push_back(get(v));
      if (auto c = constInts(t); c && k == "prim::ListConstruct" && !t.items.empty()) {
        bind(n, 0, TV::constant(c10::IValue(*c)));
        return;
      }
      bind(n, 0, t);
      return;
    }
    if (k == "prim::ListUnpack" || k == "prim::TupleUnpack") {
      const TV& list = get(n->input(0));
      std::vector<TV> items = list.items;
      if (list.kind == TV::Kind::Const && list.c.isIntList())
        for (int64_t v : list.c.toIntVector())
          items.push_back(TV::constant(c10::IValue(v)));
      if (items.size() != n->outputs().size()) unsupported(n, "unpacking a list of unknown length");
      for (size_t i = 0; i < items.size(); ++i)
        bind(n, i, items[i]);
      return;
    }
    if (k == "prim::If") return ifNode(n);
    if (k == "prim::RaiseException" || k == "aten::warn" || k == "prim::Print") return;
    if (k == "prim::dtype") {
      DType dt = dtypeOf(get(n->input(0)));
      return bind(n, 0, TV::constant(c10::IValue(static_cast<int64_t>(toScalarType(n, dt)))));
    }
    if (k == "prim::device" || k == "aten::str")
      return bind(n, 0, TV::constant(c10::IValue(std::string("cpu"))));
    if (k == "aten::format") return bind(n, 0, TV::constant(c10::IValue(std::string("(message)"))));
    if (k == "aten::list") return bind(n, 0, get(n->input(0)));
    // Modules such as nn.TransformerEncoder pick a fused fast path unless autograd is active. The
    // importer answers as if it were, so they take their reference path made of ordinary ops
    // (mathematically the same).
    if (k == "aten::is_autocast_enabled" || k == "aten::is_autocast_cpu_enabled")
      return bind(n, 0, TV::constant(c10::IValue(false)));
    if (k == "aten::__getitem__" || k == "prim::TupleIndex") {
      const TV& list = get(n->input(0));
      int64_t i = needInt(n, 1);
      std::vector<TV> items = list.items;
      if (list.kind == TV::Kind::Const && list.c.isIntList())
        for (int64_t v : list.c.toIntVector())
          items.push_back(TV::constant(c10::IValue(v)));
      if (i < 0) i += static_cast<int64_t>(items.size());
      if (i < 0 || i >= static_cast<int64_t>(items.size()))
        unsupported(n, "an index outside the list");
      return bind(n, 0, items[static_cast<size_t>(i)]);
    }
    if (k == "aten::is_grad_enabled" || k == "prim::requires_grad")
      return bind(n, 0, TV::constant(c10::IValue(true)));
    if (k == "prim::is_cuda" || k == "prim::is_sparse" || k == "prim::is_nested" ||
        k == "prim::is_mkldnn" || k == "prim::is_quantized" || k == "prim::is_meta")
      return bind(n, 0, TV::constant(c10::IValue(false)));
    if (k == "aten::is_floating_point")
      return bind(n, 0, TV::constant(c10::IValue(isFloatingPoint(dtypeOf(get(n->input(0)))))));
    if (k == "aten::append") {
      // Lists are values here; appending rebinds the list (later readers see the longer list).
      TV list = get(n->input(0));
      if (list.kind != TV::Kind::List) {
        TV l;
        l.kind = TV::Kind::List;
        list = l;
      }
      list.items.push_back(get(n->input(1)));
      env_[n->input(0)] = list;
      return bind(n, 0, list);
    }
    if (k == "aten::any" || k == "aten::all") {
      const TV& list = get(n->input(0));
      if (list.kind != TV::Kind::List) unsupported(n, "any/all of a tensor");
      bool any = false, all = true;
      for (const auto& item : list.items) {
        auto v = constInt(item);
        if (!v) unsupported(n, "any/all of values known only at run time");
        any = any || *v;
        all = all && *v;
      }
      return bind(n, 0, TV::constant(c10::IValue(k == "aten::any" ? any : all)));
    }
    if (k == "prim::NumToTensor" || k == "aten::Int" || k == "aten::Float" ||
        k == "aten::contiguous" || k == "aten::detach" || k == "aten::clone" ||
        k == "aten::alias" || k == "prim::unchecked_cast" || k == "aten::ScalarImplicit") {
      bind(n, 0, get(n->input(0)));
      return;
    }
    if (k == "aten::size") return size(n);
    if (k == "aten::len") {
      const TV& list = get(n->input(0));
      if (list.kind == TV::Kind::Const && list.c.isString())
        return bind(n, 0,
                    TV::constant(c10::IValue(static_cast<int64_t>(list.c.toStringRef().size()))));
      if (list.kind == TV::Kind::List)
        return bind(n, 0, TV::constant(c10::IValue(static_cast<int64_t>(list.items.size()))));
      if (auto c = constInts(list))
        return bind(n, 0, TV::constant(c10::IValue(static_cast<int64_t>(c->size()))));
      unsupported(n, "len() of a list of unknown length");
    }
    if (k == "aten::dim") {
      int64_t r = rankOf(get(n->input(0)));
      if (r < 0) unsupported(n, "the rank is unknown");
      return bind(n, 0, TV::constant(c10::IValue(r)));
    }
    if (scalarCompare(n, k)) return;
    tensorOp(n, k);
    // In-place ops: later readers of the input see the result.
    if (!k.empty() && k.back() == '_' && n->inputs().size() > 0 && n->outputs().size() == 1)
      env_[n->input(0)] = get(n->output(0));
  }

  // Comparisons and arithmetic of compile-time constants (shape checks, list lengths).
  bool scalarCompare(const JNode* n, const std::string& k) {
    static const std::set<std::string> ops = {
        "aten::gt",  "aten::lt",      "aten::ge",       "aten::le",     "aten::eq",
        "aten::ne",  "aten::__not__", "aten::__and__",  "aten::__or__", "aten::add",
        "aten::sub", "aten::mul",     "aten::floordiv", "aten::neg"};
    if (!ops.count(k)) return false;
    std::vector<double> vals;
    for (const JValue* v : n->inputs()) {
      const TV& t = get(v);
      if (t.kind != TV::Kind::Const || t.c.isTensor()) return false;
      auto x = constNumber(t);
      if (!x) return false;
      vals.push_back(*x);
    }
    double a = vals.empty() ? 0 : vals[0], b = vals.size() > 1 ? vals[1] : 0;
    bool is_bool = k == "aten::gt" || k == "aten::lt" || k == "aten::ge" || k == "aten::le" ||
                   k == "aten::eq" || k == "aten::ne" || k == "aten::__not__" ||
                   k == "aten::__and__" || k == "aten::__or__";
    double r = 0;
    if (k == "aten::gt")
      r = a > b;
    else if (k == "aten::lt")
      r = a < b;
    else if (k == "aten::ge")
      r = a >= b;
    else if (k == "aten::le")
      r = a <= b;
    else if (k == "aten::eq")
      r = a == b;
    else if (k == "aten::ne")
      r = a != b;
    else if (k == "aten::__not__")
      r = !a;
    else if (k == "aten::__and__")
      r = a && b;
    else if (k == "aten::__or__")
      r = a || b;
    else if (k == "aten::add")
      r = a + b;
    else if (k == "aten::sub")
      r = a - b;
    else if (k == "aten::mul")
      r = a * b;
    else if (k == "aten::floordiv")
      r = std::floor(a / b);
    else if (k == "aten::neg")
      r = -a;
    bool ints = n->output()->type()->kind() == c10::TypeKind::IntType;
    if (is_bool)
      bind(n, 0, TV::constant(c10::IValue(r != 0)));
    else if (ints)
      bind(n, 0, TV::constant(c10::IValue(static_cast<int64_t>(r))));
    else
      bind(n, 0, TV::constant(c10::IValue(r)));
    return true;
  }

  void ifNode(const JNode* n) {
    const TV& cond = get(n->input(0));
    auto c = constInt(cond);
    // An If without results whose condition is only known at run time is an input check that
    // raises (shapes, ranks); the converted model trusts its inputs, as exporters do.
    if (!c && n->outputs().empty()) return;
    if (!c) unsupported(n, "data-dependent control flow");
    const torch::jit::Block* taken = n->blocks()[*c ? 0 : 1];
    block(taken);
    current_ = n;
    auto outs = taken->outputs();
    for (size_t i = 0; i < outs.size(); ++i)
      bind(n, i, get(outs[i]));
  }

  void size(const JNode* n) {
    const TV& x = get(n->input(0));
    Value* xv = tensorOf(x);
    int64_t rank = rankOf(x);
    if (n->inputs().size() == 2) {
      int64_t dim = normAxis(n, needInt(n, 1), rank);
      Node* g = emit("Gather", {shapeOf(xv), i64(dim)});
      g->setAttr(Attribute::makeInt("axis", 0));
      return bindTensor(n, g->output(0), DType::I64, 0);
    }
    if (rank < 0) {
      bind(n, 0, TV::tensor(shapeOf(xv), DType::I64, 1));
      return;
    }
    // A list of per-dimension scalars, so len() and indexing work at import time.
    TV list;
    list.kind = TV::Kind::List;
    for (int64_t d = 0; d < rank; ++d) {
      Node* g = emit("Gather", {shapeOf(xv), i64(d)});
      g->setAttr(Attribute::makeInt("axis", 0));
      list.items.push_back(TV::tensor(g->output(0), DType::I64, 0));
    }
    bind(n, 0, list);
  }

  // Elementwise binary op with numpy broadcasting; scalars take the tensor operand's type.
  void binary(const JNode* n, const std::string& op, bool alpha = false) {
    TV a = get(n->input(0)), b = get(n->input(1));
    DType dt = dtypeOf(a.kind == TV::Kind::Tensor ? a : b);
    if (dt == DType::Undefined) dt = dtypeOf(a);
    bool a_scalar = a.kind == TV::Kind::Const && !a.c.isTensor();
    bool b_scalar = b.kind == TV::Kind::Const && !b.c.isTensor();
    Value* av = tensorOf(a, a_scalar ? dt : DType::Undefined);
    Value* bv = tensorOf(b, b_scalar ? dt : DType::Undefined);
    if (alpha && n->inputs().size() > 2) {
      double al = needNumber(n, 2);
      if (al != 1.0) bv = emit("Mul", {bv, scalarOf(al, dt)})->output(0);
    }
    // A Python-number operand with a tensor of another element type: cast it to match.
    DType bt = dtypeOf(b);
    if (!b_scalar && bt != DType::Undefined && dt != DType::Undefined && bt != dt &&
        b.kind != TV::Kind::Tensor) {
      Node* c = emit("Cast", {bv});
      c->setAttr(Attribute::makeInt("to", static_cast<int64_t>(dt)));
      bv = c->output(0);
    }
    Value* out = emit(op, {av, bv})->output(0);
    bindTensor(n, out, dt, std::max(rankOf(a), rankOf(b)));
  }

  void unary(const JNode* n, const std::string& op) {
    const TV& x = get(n->input(0));
    Value* v = tensorOf(x);
    DType dt = dtypeOf(x);
    static const std::set<std::string> kFloatOnly = {"Sqrt", "Exp", "Log",       "Sigmoid",
                                                     "Tanh", "Erf", "Reciprocal"};
    if (isInteger(dt) && kFloatOnly.count(op)) {
      // math.sqrt(int) and friends give floats (e.g. attention's 1/sqrt(head_dim)).
      Node* c = emit("Cast", {v});
      c->setAttr(Attribute::makeInt("to", static_cast<int64_t>(DType::F32)));
      v = c->output(0);
      dt = DType::F32;
    }
    bindTensor(n, emit(op, {v})->output(0), dt, rankOf(x));
  }

  Value* transposed2d(Value* w) {
    if (w->isConstantInitializer()) {
      const Tensor& t = w->initializer();
      if (t.dims().size() == 2) {
        // Store W^T once instead of transposing at run time.
        at::Tensor a = at::from_blob(const_cast<uint8_t*>(t.raw()), t.dims(),
                                     at::TensorOptions().dtype(at::kFloat));
        if (t.dtype() == DType::F32) return constTensor(toIrTensor(a.t()), w->name() + "_t");
      }
    }
    Node* tr = emit("Transpose", {w});
    tr->setAttr(Attribute::makeInts("perm", {1, 0}));
    return tr->output(0);
  }

  void linear(const JNode* n) {
    const TV& x = get(n->input(0));
    Value* w = tensorOf(get(n->input(1)));
    Value* y = emit("MatMul", {tensorOf(x), transposed2d(w)})->output(0);
    if (n->inputs().size() > 2 && !get(n->input(2)).isNone())
      y = emit("Add", {y, tensorOf(get(n->input(2)))})->output(0);
    bindTensor(n, y, dtypeOf(x), rankOf(x));
  }

  void conv(const JNode* n, bool transposed_op) {
    // aten::conv2d(input, weight, bias, stride, padding, dilation, groups) (also conv1d/3d);
    // aten::conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
    // dilation); aten::_convolution(input, weight, bias, stride, padding, dilation, transposed,
    // output_padding, groups, ...).
    const std::string k = n->kind().toQualString();
    const TV& x = get(n->input(0));
    Value* w = tensorOf(get(n->input(1)));
    int64_t spatial = rankOf(get(n->input(1))) - 2;
    std::vector<int64_t> stride, padding, dilation, output_padding;
    int64_t groups = 1;
    bool transposed = transposed_op;
    if (k == "aten::_convolution") {
      stride = needInts(n, 3);
      padding = needInts(n, 4);
      dilation = needInts(n, 5);
      transposed = needInt(n, 6) != 0;
      output_padding = needInts(n, 7);
      groups = needInt(n, 8);
    } else if (transposed_op) {
      stride = needInts(n, 3);
      padding = needInts(n, 4);
      output_padding = needInts(n, 5);
      groups = needInt(n, 6);
      dilation = needInts(n, 7);
    } else {
      stride = needInts(n, 3);
      const TV& p = get(n->input(4));
      if (p.kind == TV::Kind::Const && p.c.isString())
        unsupported(n, "padding='same'/'valid' strings");
      padding = needInts(n, 4);
      dilation = needInts(n, 5);
      groups = needInt(n, 6);
    }
    auto expand = [spatial](std::vector<int64_t> v) {
      if (v.size() == 1 && spatial > 1) v.assign(static_cast<size_t>(spatial), v[0]);
      return v;
    };
    stride = expand(stride);
    padding = expand(padding);
    dilation = expand(dilation);
    std::vector<Value*> ins = {tensorOf(x), w};
    if (!get(n->input(2)).isNone()) ins.push_back(tensorOf(get(n->input(2))));
    Node* c = emit(transposed ? "ConvTranspose" : "Conv", ins);
    std::vector<int64_t> pads = padding;
    pads.insert(pads.end(), padding.begin(), padding.end());
    c->setAttr(Attribute::makeInts("strides", stride));
    c->setAttr(Attribute::makeInts("pads", pads));
    c->setAttr(Attribute::makeInts("dilations", dilation));
    c->setAttr(Attribute::makeInt("group", groups));
    if (transposed && !output_padding.empty()) {
      output_padding = expand(output_padding);
      if (std::any_of(output_padding.begin(), output_padding.end(),
                      [](int64_t v) { return v != 0; }))
        c->setAttr(Attribute::makeInts("output_padding", output_padding));
    }
    bindTensor(n, c->output(0), dtypeOf(x), rankOf(x));
  }

  void pool(const JNode* n, const std::string& op) {
    // max_pool2d(x, kernel, stride, padding, dilation, ceil_mode); avg_pool2d(x, kernel, stride,
    // padding, ceil_mode, count_include_pad, divisor_override).
    const TV& x = get(n->input(0));
    std::vector<int64_t> kernel = needInts(n, 1), stride = needInts(n, 2), padding = needInts(n, 3);
    size_t spatial = kernel.size();
    if (stride.empty()) stride = kernel;
    if (padding.size() == 1 && spatial > 1) padding.assign(spatial, padding[0]);
    if (stride.size() == 1 && spatial > 1) stride.assign(spatial, stride[0]);
    Node* p = emit(op, {tensorOf(x)});
    std::vector<int64_t> pads = padding;
    pads.insert(pads.end(), padding.begin(), padding.end());
    p->setAttr(Attribute::makeInts("kernel_shape", kernel));
    p->setAttr(Attribute::makeInts("strides", stride));
    p->setAttr(Attribute::makeInts("pads", pads));
    if (op == "MaxPool") {
      std::vector<int64_t> dilation = needInts(n, 4);
      if (dilation.size() == 1 && spatial > 1) dilation.assign(spatial, dilation[0]);
      if (std::any_of(dilation.begin(), dilation.end(), [](int64_t d) { return d != 1; }))
        p->setAttr(Attribute::makeInts("dilations", dilation));
      if (needInt(n, 5)) p->setAttr(Attribute::makeInt("ceil_mode", 1));
    } else {
      if (needInt(n, 4)) p->setAttr(Attribute::makeInt("ceil_mode", 1));
      p->setAttr(Attribute::makeInt("count_include_pad", needInt(n, 5)));
      if (n->inputs().size() > 6 && !get(n->input(6)).isNone()) unsupported(n, "divisor_override");
    }
    bindTensor(n, p->output(0), dtypeOf(x), rankOf(x));
  }

  // When every declared input dim past the first (batch) is a number, types the JIT graph with
  // those sizes (batch 1) and runs LibTorch's symbolic shape analysis. Sizes past the batch dim
  // then hold for any batch. Returns whether that worked; a failure only means no static sizes.
  bool propagateSizes(const std::shared_ptr<torch::jit::Graph>& graph) {
    auto inputs = graph->inputs();
    if (inputs.size() != opts_.inputs.size() + 1) return false;
    std::vector<std::vector<int64_t>> sizes;
    for (const auto& spec : opts_.inputs) {
      std::vector<int64_t> dims;
      for (size_t d = 0; d < spec.dims.size(); ++d) {
        char* end = nullptr;
        long long v = std::strtoll(spec.dims[d].c_str(), &end, 10);
        if (*end != '\0' || spec.dims[d].empty()) {
          if (d != 0) return false;
          v = 1;
        }
        dims.push_back(v);
      }
      if (spec.dtype != DType::F32 && spec.dtype != DType::F64 && spec.dtype != DType::I64 &&
          spec.dtype != DType::I32 && spec.dtype != DType::Bool)
        return false;
      sizes.push_back(dims);
    }
    try {
      for (size_t i = 0; i < sizes.size(); ++i) {
        at::ScalarType st = toScalarType(nullptr, opts_.inputs[i].dtype);
        inputs[i + 1]->setType(c10::TensorType::createContiguous(st, at::kCPU, sizes[i]));
      }
      std::shared_ptr<torch::jit::Graph> g = graph;
      torch::jit::PropagateShapesOnGraph(g);
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }

  static c10::optional<std::vector<int64_t>> staticSizes(const JValue* v) {
    auto tt = v->type()->cast<c10::TensorType>();
    if (!tt) return c10::nullopt;
    return tt->sizes().concrete_sizes();
  }

  void adaptiveAvgPool(const JNode* n) {
    const TV& x = get(n->input(0));
    std::vector<int64_t> out = needInts(n, 1);
    if (std::all_of(out.begin(), out.end(), [](int64_t v) { return v == 1; }))
      return bindTensor(n, emit("GlobalAveragePool", {tensorOf(x)})->output(0), dtypeOf(x),
                        rankOf(x));
    // Other output sizes are an AveragePool whose kernel is input / output size, which needs the
    // input's spatial size: known for a traced module converted at its traced input shape.
    auto in = static_sizes_ ? staticSizes(n->input(0)) : c10::nullopt;
    if (!in || in->size() < out.size())
      unsupported(n,
                  "adaptive pooling to an output size other than 1 needs the input's spatial "
                  "size: give --input-shape with numbers past the batch dim (e.g. N,3,224,224)");
    std::vector<int64_t> spatial(in->end() - static_cast<std::ptrdiff_t>(out.size()), in->end());
    std::vector<int64_t> kernel;
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i] <= 0 || spatial[i] % out[i] != 0)
        unsupported(n, fmt::format("adaptive pooling from {} to {} is not a uniform window",
                                   spatial[i], out[i]));
      kernel.push_back(spatial[i] / out[i]);
    }
    if (std::all_of(kernel.begin(), kernel.end(), [](int64_t k) { return k == 1; }))
      return bindTensor(n, emit("Identity", {tensorOf(x)})->output(0), dtypeOf(x), rankOf(x));
    Node* p = emit("AveragePool", {tensorOf(x)});
    p->setAttr(Attribute::makeInts("kernel_shape", kernel));
    p->setAttr(Attribute::makeInts("strides", kernel));
    bindTensor(n, p->output(0), dtypeOf(x), rankOf(x));
  }

  void flatten(const JNode* n) {
    const TV& x = get(n->input(0));
    int64_t rank = rankOf(x);
    int64_t start = needInt(n, 1), end = needInt(n, 2);
    if (rank >= 0) {
      start = normAxis(n, start, rank);
      end = normAxis(n, end, rank);
    }
    if ((end == -1 || end == rank - 1) && start == 1) {
      Node* f = emit("Flatten", {tensorOf(x)});
      f->setAttr(Attribute::makeInt("axis", 1));
      return bindTensor(n, f->output(0), dtypeOf(x), 2);
    }
    if (rank < 0) unsupported(n, "flatten with these dims needs the input rank");
    // Reshape to [d0..d(start-1), -1, d(end+1)..] with 0 copying the untouched dims.
    std::vector<int64_t> shape;
    for (int64_t d = 0; d < start; ++d)
      shape.push_back(0);
    shape.push_back(-1);
    for (int64_t d = end + 1; d < rank; ++d)
      shape.push_back(0);
    if (end + 1 < rank && start > 0) unsupported(n, "flatten of middle dims");
    Node* r = emit("Reshape", {tensorOf(x), i64s(shape)});
    bindTensor(n, r->output(0), dtypeOf(x), static_cast<int64_t>(shape.size()));
  }

  void reshape(const JNode* n) {
    const TV& x = get(n->input(0));
    const TV& shape = get(n->input(1));
    Value* s = intListValue(shape);
    Node* r = emit("Reshape", {tensorOf(x), s});
    // PyTorch never means "copy this dim" by 0; a dynamic dim may legitimately be 0.
    if (!constInts(shape) && opts_.opset >= 14) r->setAttr(Attribute::makeInt("allowzero", 1));
    int64_t rank = -1;
    if (auto c = constInts(shape))
      rank = static_cast<int64_t>(c->size());
    else if (shape.kind == TV::Kind::List)
      rank = static_cast<int64_t>(shape.items.size());
    bindTensor(n, r->output(0), dtypeOf(x), rank);
  }

  void transpose(const JNode* n) {
    const TV& x = get(n->input(0));
    int64_t rank = rankOf(x);
    if (rank < 0) unsupported(n, "transpose needs the input rank");
    int64_t a = normAxis(n, needInt(n, 1), rank), b = normAxis(n, needInt(n, 2), rank);
    std::vector<int64_t> perm(static_cast<size_t>(rank));
    for (int64_t i = 0; i < rank; ++i)
      perm[static_cast<size_t>(i)] = i;
    std::swap(perm[static_cast<size_t>(a)], perm[static_cast<size_t>(b)]);
    Node* t = emit("Transpose", {tensorOf(x)});
    t->setAttr(Attribute::makeInts("perm", perm));
    bindTensor(n, t->output(0), dtypeOf(x), rank);
  }

  void permute(const JNode* n) {
    const TV& x = get(n->input(0));
    std::vector<int64_t> perm = needInts(n, 1);
    int64_t rank = static_cast<int64_t>(perm.size());
    for (auto& p : perm)
      p = normAxis(n, p, rank);
    Node* t = emit("Transpose", {tensorOf(x)});
    t->setAttr(Attribute::makeInts("perm", perm));
    bindTensor(n, t->output(0), dtypeOf(x), rank);
  }

  void softmax(const JNode* n, const std::string& op) {
    const TV& x = get(n->input(0));
    Node* s = emit(op, {tensorOf(x)});
    s->setAttr(Attribute::makeInt("axis", needInt(n, 1)));
    bindTensor(n, s->output(0), dtypeOf(x), rankOf(x));
  }

  void layerNorm(const JNode* n) {
    const TV& x = get(n->input(0));
    std::vector<int64_t> shape = needInts(n, 1);
    DType dt = dtypeOf(x) == DType::Undefined ? DType::F32 : dtypeOf(x);
    int64_t count = 1;
    for (int64_t d : shape)
      count *= d;
    Value* w = get(n->input(2)).isNone()
                   ? constTensor(fromDoubles(dt, shape,
                                             std::vector<double>(static_cast<size_t>(count), 1.0)),
                                 "ln_ones")
                   : tensorOf(get(n->input(2)));
    std::vector<Value*> ins = {tensorOf(x), w};
    if (!get(n->input(3)).isNone()) ins.push_back(tensorOf(get(n->input(3))));
    Node* ln = emit("LayerNormalization", ins);
    ln->setAttr(Attribute::makeInt("axis", -static_cast<int64_t>(shape.size())));
    ln->setAttr(Attribute::makeFloat("epsilon", static_cast<float>(needNumber(n, 4))));
    bindTensor(n, ln->output(0), dtypeOf(x), rankOf(x));
  }

  void batchNorm(const JNode* n) {
    // batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn)
    const TV& x = get(n->input(0));
    if (needInt(n, 5)) unsupported(n, "batch norm in training mode");
    std::vector<Value*> ins = {tensorOf(x)};
    for (size_t i = 1; i <= 4; ++i) {
      if (get(n->input(i)).isNone())
        unsupported(n, "batch norm without affine parameters or statistics");
      ins.push_back(tensorOf(get(n->input(i))));
    }
    Node* bn = emit("BatchNormalization", ins);
    bn->setAttr(Attribute::makeFloat("epsilon", static_cast<float>(needNumber(n, 7))));
    bindTensor(n, bn->output(0), dtypeOf(x), rankOf(x));
  }

  void gelu(const JNode* n) {
    const TV& x = get(n->input(0));
    DType dt = dtypeOf(x);
    Value* xv = tensorOf(x);
    std::string approx = "none";
    if (n->inputs().size() > 1 && get(n->input(1)).kind == TV::Kind::Const &&
        get(n->input(1)).c.isString())
      approx = get(n->input(1)).c.toStringRef();
    Value* inner;
    if (approx == "tanh") {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      Value* x3 = emit("Mul", {emit("Mul", {xv, xv})->output(0), xv})->output(0);
      Value* s = emit("Add", {xv, emit("Mul", {x3, scalarOf(0.044715, dt)})->output(0)})->output(0);
      inner = emit("Tanh", {emit("Mul", {s, scalarOf(std::sqrt(2.0 / M_PI), dt)})->output(0)})
                  ->output(0);
    } else {
      // 0.5 x (1 + erf(x / sqrt 2))
      inner = emit("Erf", {emit("Div", {xv, scalarOf(std::sqrt(2.0), dt)})->output(0)})->output(0);
    }
    Value* onep = emit("Add", {inner, scalarOf(1.0, dt)})->output(0);
    Value* y = emit("Mul", {emit("Mul", {xv, scalarOf(0.5, dt)})->output(0), onep})->output(0);
    bindTensor(n, y, dt, rankOf(x));
  }

  // Clip with optional bounds (NaN = no bound; a plain double keeps GCC's optional<> warnings
  // away).
  void clamp(const JNode* n, double lo, double hi) {
    const TV& x = get(n->input(0));
    DType dt = dtypeOf(x);
    std::vector<Value*> ins = {tensorOf(x)};
    ins.push_back(std::isnan(lo) ? nullptr : scalarOf(lo, dt));
    if (!std::isnan(hi)) ins.push_back(scalarOf(hi, dt));
    Node* c = emit("Clip", {});
    for (Value* v : ins)
      c->addInput(v);
    bindTensor(n, c->output(0), dt, rankOf(x));
  }

  void chunk(const JNode* n) {
    const TV& x = get(n->input(0));
    int64_t chunks = needInt(n, 1);
    int64_t dim = normAxis(n, needInt(n, 2), rankOf(x));
    // ONNX Split without sizes splits evenly into as many outputs as it has (the divisible case).
    Node* s = emit("Split", {tensorOf(x)}, static_cast<size_t>(chunks));
    s->setAttr(Attribute::makeInt("axis", dim));
    TV list;
    list.kind = TV::Kind::List;
    for (Value* o : s->outputs())
      list.items.push_back(TV::tensor(o, dtypeOf(x), rankOf(x)));
    bind(n, 0, list);
  }

  // split(x, split_size: int | sizes: int[], dim) -> a list of tensors.
  void split(const JNode* n) {
    const TV& x = get(n->input(0));
    int64_t dim = normAxis(n, needInt(n, 2), rankOf(x));
    std::vector<int64_t> sizes = needInts(n, 1);
    Node* s;
    if (sizes.size() == 1 && n->input(1)->type()->kind() == c10::TypeKind::IntType) {
      // A chunk size: the number of pieces is fixed by the graph (ListUnpack) only at run time;
      // take it from the output list type when it is unpacked, else the dim must be static.
      unsupported(n, "split by a chunk size (use explicit sizes)");
    }
    s = emit("Split", {tensorOf(x), i64s(sizes)}, sizes.size());
    s->setAttr(Attribute::makeInt("axis", dim));
    TV list;
    list.kind = TV::Kind::List;
    for (Value* o : s->outputs())
      list.items.push_back(TV::tensor(o, dtypeOf(x), rankOf(x)));
    bind(n, 0, list);
  }

  void cat(const JNode* n, bool stack) {
    const TV& list = get(n->input(0));
    if (list.kind != TV::Kind::List) unsupported(n, "a list of tensors of unknown length");
    int64_t rank = list.items.empty() ? -1 : rankOf(list.items[0]);
    int64_t dim = normAxis(n, needInt(n, 1), stack ? rank + 1 : rank);
    std::vector<Value*> parts;
    for (const auto& item : list.items)
      parts.push_back(stack ? unsqueeze(tensorOf(item), {dim}) : tensorOf(item));
    Node* c = emit("Concat", parts);
    c->setAttr(Attribute::makeInt("axis", dim));
    bindTensor(n, c->output(0), dtypeOf(list.items.at(0)), stack ? rank + 1 : rank);
  }

  void slice(const JNode* n) {
    // slice(self, dim, start, end, step)
    const TV& x = get(n->input(0));
    int64_t dim = needInt(n, 1);
    auto start = constInt(get(n->input(2)));
    auto end = constInt(get(n->input(3)));
    int64_t step = needInt(n, 4);
    Value* s = get(n->input(2)).isNone()
                   ? i64s({0})
                   : (start ? i64s({*start}) : unsqueeze(tensorOf(get(n->input(2))), {0}));
    Value* e = get(n->input(3)).isNone()
                   ? i64s({INT64_MAX})
                   : (end ? i64s({*end}) : unsqueeze(tensorOf(get(n->input(3))), {0}));
    Node* sl = emit("Slice", {tensorOf(x), s, e, i64s({dim}), i64s({step})});
    bindTensor(n, sl->output(0), dtypeOf(x), rankOf(x));
  }

  void select(const JNode* n) {
    // select(self, dim, index): a Gather with a scalar index drops the dim.
    const TV& x = get(n->input(0));
    int64_t dim = normAxis(n, needInt(n, 1), rankOf(x));
    Value* idx = tensorOf(get(n->input(2)), DType::I64);
    Node* g = emit("Gather", {tensorOf(x), idx});
    g->setAttr(Attribute::makeInt("axis", dim));
    bindTensor(n, g->output(0), dtypeOf(x), rankOf(x) < 0 ? -1 : rankOf(x) - 1);
  }

  void reduce(const JNode* n, const std::string& op) {
    // mean(self, dim, keepdim, dtype) / sum(self, dim, keepdim, dtype)
    const TV& x = get(n->input(0));
    std::vector<int64_t> dims = needInts(n, 1);
    bool keep = needInt(n, 2) != 0;
    Node* r;
    if (op == "ReduceSum" || opts_.opset >= 18) {
      r = emit(op, {tensorOf(x), i64s(dims)});
    } else {
      r = emit(op, {tensorOf(x)});
      r->setAttr(Attribute::makeInts("axes", dims));
    }
    r->setAttr(Attribute::makeInt("keepdims", keep));
    int64_t rank = rankOf(x);
    bindTensor(n, r->output(0), dtypeOf(x),
               rank < 0 ? -1 : (keep ? rank : rank - static_cast<int64_t>(dims.size())));
  }

  at::ScalarType toScalarType(const JNode* n, DType dt) {
    switch (dt) {
      case DType::F32:
        return at::kFloat;
      case DType::F64:
        return at::kDouble;
      case DType::F16:
        return at::kHalf;
      case DType::BF16:
        return at::kBFloat16;
      case DType::I8:
        return at::kChar;
      case DType::U8:
        return at::kByte;
      case DType::I16:
        return at::kShort;
      case DType::I32:
        return at::kInt;
      case DType::I64:
        return at::kLong;
      case DType::Bool:
        return at::kBool;
      default:
        unsupported(n, "the dtype of this value is unknown");
    }
  }

  DType scalarTypeArg(const JNode* n, size_t i, DType fallback) {
    const TV& t = get(n->input(i));
    if (t.isNone()) return fallback;
    auto code = constInt(t);
    if (!code) unsupported(n, "a dtype that is not a constant");
    DType dt = fromScalarType(static_cast<at::ScalarType>(*code));
    if (dt == DType::Undefined) unsupported(n, "this dtype");
    return dt;
  }

  void lstmOrGru(const JNode* n, bool is_lstm);

  void tensorOp(const JNode* n, const std::string& k) {
    auto base = [&k](const char* name) { return k == name || k == std::string(name) + "_"; };
    if (base("aten::add")) return binary(n, "Add", true);
    if (base("aten::sub") || k == "aten::rsub") {
      if (k == "aten::rsub") {
        TV a = get(n->input(0)), b = get(n->input(1));
        DType dt = dtypeOf(a);
        Value* y = emit("Sub", {tensorOf(b, dt), tensorOf(a, dt)})->output(0);
        return bindTensor(n, y, dt, rankOf(a));
      }
      return binary(n, "Sub", true);
    }
    if (base("aten::mul")) return binary(n, "Mul");
    if (k == "aten::floordiv" || base("aten::floor_divide")) return floorDivide(n);
    if (base("aten::div")) {
      std::string mode;
      if (n->inputs().size() > 2 && get(n->input(2)).kind == TV::Kind::Const &&
          get(n->input(2)).c.isString())
        mode = get(n->input(2)).c.toStringRef();
      const TV& a = get(n->input(0));
      bool integer = isInteger(dtypeOf(a)) && isInteger(dtypeOf(get(n->input(1))));
      if (mode == "floor") return floorDivide(n);
      if (integer && mode.empty()) {
        // True division of integers gives floats in PyTorch.
        auto toF = [&](Value* v) {
          Node* c = emit("Cast", {v});
          c->setAttr(Attribute::makeInt("to", static_cast<int64_t>(DType::F32)));
          return c->output(0);
        };
        Value* y =
            emit("Div", {toF(tensorOf(a)), toF(tensorOf(get(n->input(1)), DType::I64))})->output(0);
        return bindTensor(n, y, DType::F32, rankOf(a));
      }
      return binary(n, "Div");  // ONNX Div truncates integers, which is mode "trunc"
    }
    if (base("aten::pow")) return binary(n, "Pow");
    if (k == "aten::eq") return compare(n, "Equal");
    if (k == "aten::ne") {
      compare(n, "Equal");
      const TV& e = get(n->output(0));
      return bindTensor(n, emit("Not", {e.ir})->output(0), DType::Bool, e.rank);
    }
    if (k == "aten::gt") return compare(n, "Greater");
    if (k == "aten::lt") return compare(n, "Less");
    if (k == "aten::ge") return compare(n, "GreaterOrEqual");
    if (k == "aten::le") return compare(n, "LessOrEqual");
    if (base("aten::relu")) return unary(n, "Relu");
    if (base("aten::sigmoid")) return unary(n, "Sigmoid");
    if (base("aten::tanh")) return unary(n, "Tanh");
    if (base("aten::exp")) return unary(n, "Exp");
    if (base("aten::log")) return unary(n, "Log");
    if (base("aten::sqrt")) return unary(n, "Sqrt");
    if (base("aten::abs")) return unary(n, "Abs");
    if (base("aten::neg")) return unary(n, "Neg");
    if (base("aten::erf")) return unary(n, "Erf");
    if (base("aten::floor")) return unary(n, "Floor");
    if (base("aten::ceil")) return unary(n, "Ceil");
    if (base("aten::reciprocal")) return unary(n, "Reciprocal");
    if (base("aten::hardswish")) return unary(n, "HardSwish");
    if (base("aten::hardsigmoid")) {
      const TV& x = get(n->input(0));
      Node* h = emit("HardSigmoid", {tensorOf(x)});
      h->setAttr(Attribute::makeFloat("alpha", 1.0f / 6.0f));
      return bindTensor(n, h->output(0), dtypeOf(x), rankOf(x));
    }
    if (base("aten::rsqrt")) {
      const TV& x = get(n->input(0));
      Value* y = emit("Reciprocal", {emit("Sqrt", {tensorOf(x)})->output(0)})->output(0);
      return bindTensor(n, y, dtypeOf(x), rankOf(x));
    }
    if (base("aten::silu")) {
      const TV& x = get(n->input(0));
      Value* xv = tensorOf(x);
      return bindTensor(n, emit("Mul", {xv, emit("Sigmoid", {xv})->output(0)})->output(0),
                        dtypeOf(x), rankOf(x));
    }
    if (base("aten::leaky_relu")) {
      const TV& x = get(n->input(0));
      Node* l = emit("LeakyRelu", {tensorOf(x)});
      l->setAttr(Attribute::makeFloat("alpha", static_cast<float>(needNumber(n, 1))));
      return bindTensor(n, l->output(0), dtypeOf(x), rankOf(x));
    }
    if (base("aten::hardtanh")) return clamp(n, needNumber(n, 1), needNumber(n, 2));
    if (base("aten::relu6")) return clamp(n, 0.0, 6.0);
    if (base("aten::clamp")) {
      double lo = get(n->input(1)).isNone() ? NAN : needNumber(n, 1);
      double hi = get(n->input(2)).isNone() ? NAN : needNumber(n, 2);
      return clamp(n, lo, hi);
    }
    if (k == "aten::gelu") return gelu(n);
    if (k == "aten::linear") return linear(n);
    if (k == "aten::matmul" || k == "aten::bmm" || k == "aten::mm") {
      const TV& a = get(n->input(0));
      const TV& b = get(n->input(1));
      Value* y = emit("MatMul", {tensorOf(a), tensorOf(b)})->output(0);
      return bindTensor(n, y, dtypeOf(a), std::max(rankOf(a), rankOf(b)));
    }
    if (k == "aten::addmm" || k == "aten::baddbmm") {
      // beta * input + alpha * (m1 @ m2)
      const TV& in = get(n->input(0));
      DType dt = dtypeOf(get(n->input(1)));
      Value* prod =
          emit("MatMul", {tensorOf(get(n->input(1))), tensorOf(get(n->input(2)))})->output(0);
      double beta = needNumber(n, 3), alpha = needNumber(n, 4);
      if (alpha != 1.0) prod = emit("Mul", {prod, scalarOf(alpha, dt)})->output(0);
      Value* base_v = tensorOf(in);
      if (beta != 1.0) base_v = emit("Mul", {base_v, scalarOf(beta, dt)})->output(0);
      return bindTensor(n, emit("Add", {base_v, prod})->output(0), dt,
                        std::max<int64_t>(rankOf(get(n->input(1))), rankOf(in)));
    }
    if (k == "aten::t") {
      const TV& x = get(n->input(0));
      Node* t = emit("Transpose", {tensorOf(x)});
      t->setAttr(Attribute::makeInts("perm", {1, 0}));
      return bindTensor(n, t->output(0), dtypeOf(x), 2);
    }
    if (k == "aten::conv1d" || k == "aten::conv2d" || k == "aten::conv3d" ||
        k == "aten::_convolution")
      return conv(n, false);
    if (k == "aten::conv_transpose1d" || k == "aten::conv_transpose2d" ||
        k == "aten::conv_transpose3d")
      return conv(n, true);
    if (k == "aten::max_pool1d" || k == "aten::max_pool2d" || k == "aten::max_pool3d")
      return pool(n, "MaxPool");
    if (k == "aten::avg_pool1d" || k == "aten::avg_pool2d" || k == "aten::avg_pool3d")
      return pool(n, "AveragePool");
    if (k == "aten::adaptive_avg_pool1d" || k == "aten::adaptive_avg_pool2d" ||
        k == "aten::adaptive_avg_pool3d")
      return adaptiveAvgPool(n);
    if (k == "aten::batch_norm") return batchNorm(n);
    if (k == "aten::layer_norm") return layerNorm(n);
    if (k == "aten::flatten") return flatten(n);
    if (k == "aten::view" || k == "aten::reshape") return reshape(n);
    if (k == "aten::transpose") return transpose(n);
    if (k == "aten::permute") return permute(n);
    if (k == "aten::softmax") return softmax(n, "Softmax");
    if (k == "aten::log_softmax") return softmax(n, "LogSoftmax");
    if (k == "aten::chunk") return chunk(n);
    if (k == "aten::split" || k == "aten::split_with_sizes") return split(n);
    if (k == "aten::logical_not") {
      const TV& x = get(n->input(0));
      return bindTensor(n, emit("Not", {tensorOf(x)})->output(0), DType::Bool, rankOf(x));
    }
    if (k == "aten::cat") return cat(n, false);
    if (k == "aten::stack") return cat(n, true);
    if (k == "aten::slice") return slice(n);
    if (k == "aten::select") return select(n);
    if (k == "aten::mean") return reduce(n, "ReduceMean");
    if (k == "aten::sum" && n->inputs().size() >= 3) return reduce(n, "ReduceSum");
    if (k == "aten::embedding") {
      const TV& w = get(n->input(0));
      const TV& idx = get(n->input(1));
      Node* gth = emit("Gather", {tensorOf(w), tensorOf(idx)});
      gth->setAttr(Attribute::makeInt("axis", 0));
      return bindTensor(n, gth->output(0), dtypeOf(w), rankOf(idx) < 0 ? -1 : rankOf(idx) + 1);
    }
    if (k == "aten::unsqueeze") {
      const TV& x = get(n->input(0));
      int64_t dim = normAxis(n, needInt(n, 1), rankOf(x) < 0 ? -1 : rankOf(x) + 1);
      return bindTensor(n, unsqueeze(tensorOf(x), {dim}), dtypeOf(x),
                        rankOf(x) < 0 ? -1 : rankOf(x) + 1);
    }
    if (k == "aten::squeeze") {
      const TV& x = get(n->input(0));
      if (n->inputs().size() < 2)
        return bindTensor(n, emit("Squeeze", {tensorOf(x)})->output(0), dtypeOf(x), -1);
      int64_t dim = normAxis(n, needInt(n, 1), rankOf(x));
      Value* y = emit("Squeeze", {tensorOf(x), i64s({dim})})->output(0);
      return bindTensor(n, y, dtypeOf(x), rankOf(x) < 0 ? -1 : rankOf(x) - 1);
    }
    if (k == "aten::expand") {
      const TV& x = get(n->input(0));
      const TV& sizes = get(n->input(1));
      Value* shape;
      if (auto c = constInts(sizes)) {
        std::vector<int64_t> s = *c;
        for (auto& d : s)
          if (d == -1) d = 1;  // Expand's broadcasting keeps the input's dim where the target is 1
        shape = i64s(s);
      } else {
        shape = intListValue(sizes);
      }
      int64_t rank = sizes.kind == TV::Kind::List
                         ? static_cast<int64_t>(sizes.items.size())
                         : (constInts(sizes) ? static_cast<int64_t>(constInts(sizes)->size()) : -1);
      return bindTensor(n, emit("Expand", {tensorOf(x), shape})->output(0), dtypeOf(x), rank);
    }
    if (k == "aten::zeros_like" || k == "aten::ones_like") {
      const TV& x = get(n->input(0));
      DType dt = scalarTypeArg(n, 1, dtypeOf(x));
      Node* c = emit("ConstantOfShape", {shapeOf(tensorOf(x))});
      c->setAttr(Attribute::makeTensor("value",
                                       fromDoubles(dt, {1}, {k == "aten::ones_like" ? 1.0 : 0.0})));
      return bindTensor(n, c->output(0), dt, rankOf(x));
    }
    if (base("aten::masked_fill")) {
      const TV& x = get(n->input(0));
      DType dt = dtypeOf(x);
      Value* fill = tensorOf(get(n->input(2)), dt);
      Value* y = emit("Where", {tensorOf(get(n->input(1))), fill, tensorOf(x)})->output(0);
      return bindTensor(n, y, dt, rankOf(x));
    }
    if (k == "aten::where" && n->inputs().size() == 3) {
      const TV& a = get(n->input(1));
      DType dt = dtypeOf(a.kind == TV::Kind::Tensor ? a : get(n->input(2)));
      Value* y = emit("Where",
                      {tensorOf(get(n->input(0))), tensorOf(a, dt), tensorOf(get(n->input(2)), dt)})
                     ->output(0);
      return bindTensor(n, y, dt, -1);
    }
    if (k == "aten::arange") return arange(n);
    if (k == "aten::zeros" || k == "aten::ones") {
      // zeros(size, dtype, layout, device, pin_memory)
      DType dt = scalarTypeArg(n, 1, DType::F32);
      const TV& size = get(n->input(0));
      Node* c = emit("ConstantOfShape", {intListValue(size)});
      c->setAttr(
          Attribute::makeTensor("value", fromDoubles(dt, {1}, {k == "aten::ones" ? 1.0 : 0.0})));
      int64_t rank = size.kind == TV::Kind::List
                         ? static_cast<int64_t>(size.items.size())
                         : (constInts(size) ? static_cast<int64_t>(constInts(size)->size()) : -1);
      return bindTensor(n, c->output(0), dt, rank);
    }
    if (k == "aten::to" || k == "aten::type_as") {
      const TV& x = get(n->input(0));
      DType dt = DType::Undefined;
      if (k == "aten::type_as")
        dt = dtypeOf(get(n->input(1)));
      else
        for (size_t i = 1; i < n->inputs().size() && dt == DType::Undefined; ++i) {
          const TV& t = get(n->input(i));
          if (t.kind == TV::Kind::Const && t.c.isInt() &&
              n->input(i)->type()->kind() == c10::TypeKind::IntType)
            dt = fromScalarType(static_cast<at::ScalarType>(t.c.toInt()));
        }
      if (dt == DType::Undefined || dt == dtypeOf(x)) return bind(n, 0, x);
      Node* c = emit("Cast", {tensorOf(x)});
      c->setAttr(Attribute::makeInt("to", static_cast<int64_t>(dt)));
      return bindTensor(n, c->output(0), dt, rankOf(x));
    }
    if (k == "aten::float") {
      const TV& x = get(n->input(0));
      Node* c = emit("Cast", {tensorOf(x)});
      c->setAttr(Attribute::makeInt("to", static_cast<int64_t>(DType::F32)));
      return bindTensor(n, c->output(0), DType::F32, rankOf(x));
    }
    if (k == "aten::dropout" || k == "aten::feature_dropout") return bind(n, 0, get(n->input(0)));
    if (k == "aten::lstm") return lstmOrGru(n, true);
    if (k == "aten::gru") return lstmOrGru(n, false);
    unsupported(n);
  }

  // Floor division, exact through doubles for |values| < 2^53 (ONNX Div truncates integers).
  void floorDivide(const JNode* n) {
    const TV& a = get(n->input(0));
    DType dt = dtypeOf(a) == DType::Undefined ? DType::I64 : dtypeOf(a);
    auto toD = [&](Value* v) {
      Node* c = emit("Cast", {v});
      c->setAttr(Attribute::makeInt("to", static_cast<int64_t>(DType::F64)));
      return c->output(0);
    };
    Value* quotient =
        emit("Div", {toD(tensorOf(a)), toD(tensorOf(get(n->input(1)), dt))})->output(0);
    Node* back = emit("Cast", {emit("Floor", {quotient})->output(0)});
    back->setAttr(Attribute::makeInt("to", static_cast<int64_t>(dt)));
    bindTensor(n, back->output(0), dt, rankOf(a));
  }

  void compare(const JNode* n, const std::string& op) {
    TV a = get(n->input(0)), b = get(n->input(1));
    DType dt = dtypeOf(a.kind == TV::Kind::Tensor ? a : b);
    Value* y = emit(op, {tensorOf(a, dt), tensorOf(b, dt)})->output(0);
    bindTensor(n, y, DType::Bool, std::max(rankOf(a), rankOf(b)));
  }

  void arange(const JNode* n) {
    // arange(end, dtype, layout, device, pin) | (start, end, dtype, ...) | (start, end, step,
    // dtype, ...)
    size_t args = n->inputs().size();
    TV start = TV::constant(c10::IValue(int64_t{0})), end,
       step = TV::constant(c10::IValue(int64_t{1}));
    size_t dtype_at;
    if (args == 5) {
      end = get(n->input(0));
      dtype_at = 1;
    } else if (args == 6) {
      start = get(n->input(0));
      end = get(n->input(1));
      dtype_at = 2;
    } else {
      start = get(n->input(0));
      end = get(n->input(1));
      step = get(n->input(2));
      dtype_at = 3;
    }
    bool floats = (start.kind == TV::Kind::Const && start.c.isDouble()) ||
                  (end.kind == TV::Kind::Const && end.c.isDouble());
    DType dt = scalarTypeArg(n, dtype_at, floats ? DType::F32 : DType::I64);
    auto scalar = [&](const TV& t) {
      Value* v = tensorOf(t, dt);
      if (dtypeOf(t) != dt && t.kind == TV::Kind::Tensor) {
        Node* c = emit("Cast", {v});
        c->setAttr(Attribute::makeInt("to", static_cast<int64_t>(dt)));
        v = c->output(0);
      }
      return v;
    };
    Value* y = emit("Range", {scalar(start), scalar(end), scalar(step)})->output(0);
    bindTensor(n, y, dt, 1);
  }
};

// aten::lstm(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
// aten::gru (input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
// PyTorch orders gates i,f,g,o (LSTM) and r,z,n (GRU); ONNX orders them i,o,f,c and z,r,h.
void Importer::lstmOrGru(const JNode* n, bool is_lstm) {
  const TV& x = get(n->input(0));
  const TV& hx = get(n->input(1));
  const TV& params = get(n->input(2));
  bool has_biases = needInt(n, 3) != 0;
  int64_t layers = needInt(n, 4);
  bool bidir = needInt(n, 7) != 0;
  bool batch_first = needInt(n, 8) != 0;
  TV params_list = params;
  if (params.kind == TV::Kind::Const && params.c.isTensorList()) {
    params_list = TV();
    params_list.kind = TV::Kind::List;
    for (const at::Tensor& t : params.c.toTensorVector())
      params_list.items.push_back(TV::constant(c10::IValue(t)));
  }
  if (params_list.kind != TV::Kind::List) unsupported(n, "weights that are not a constant list");
  int64_t dirs = bidir ? 2 : 1;
  size_t per_dir = has_biases ? 4 : 2;
  if (params_list.items.size() != static_cast<size_t>(layers * dirs) * per_dir)
    unsupported(n, "an unexpected weight list");
  int gates = is_lstm ? 4 : 3;
  std::vector<int> order = is_lstm ? std::vector<int>{0, 3, 1, 2} : std::vector<int>{1, 0, 2};
  auto reorder = [&](const at::Tensor& w) {
    std::vector<at::Tensor> chunks = w.chunk(gates, 0);
    std::vector<at::Tensor> out;
    for (int g : order)
      out.push_back(chunks[static_cast<size_t>(g)]);
    return at::cat(out, 0);
  };
  auto constTensorOf = [&](const TV& t) -> at::Tensor {
    if (t.kind != TV::Kind::Const || !t.c.isTensor())
      unsupported(n, "weights that are not constants");
    return t.c.toTensor();
  };
  Value* seq = tensorOf(x);
  if (batch_first) {
    Node* t = emit("Transpose", {seq});
    t->setAttr(Attribute::makeInts("perm", {1, 0, 2}));
    seq = t->output(0);
  }
  // Initial states: [layers * dirs, batch, hidden] in both conventions.
  std::vector<Value*> h0, c0;
  if (hx.kind == TV::Kind::List) {
    h0.push_back(tensorOf(hx.items.at(0)));
    if (is_lstm) c0.push_back(tensorOf(hx.items.at(1)));
  } else if (!hx.isNone()) {
    h0.push_back(tensorOf(hx));
  }
  std::vector<Value*> last_h, last_c;
  int64_t hidden = 0;
  for (int64_t l = 0; l < layers; ++l) {
    std::vector<at::Tensor> W, R, B;
    for (int64_t d = 0; d < dirs; ++d) {
      size_t base = static_cast<size_t>((l * dirs + d)) * per_dir;
      at::Tensor w_ih = constTensorOf(params_list.items[base]),
                 w_hh = constTensorOf(params_list.items[base + 1]);
      hidden = w_hh.size(1);
      W.push_back(reorder(w_ih));
      R.push_back(reorder(w_hh));
      if (has_biases) {
        at::Tensor b_ih = reorder(constTensorOf(params_list.items[base + 2]));
        at::Tensor b_hh = reorder(constTensorOf(params_list.items[base + 3]));
        B.push_back(at::cat({b_ih, b_hh}, 0));
      }
    }
    std::vector<Value*> ins = {seq, constTensor(toIrTensor(at::stack(W)), "rnn_W"),
                               constTensor(toIrTensor(at::stack(R)), "rnn_R")};
    ins.push_back(has_biases ? constTensor(toIrTensor(at::stack(B)), "rnn_B") : nullptr);
    ins.push_back(nullptr);  // sequence_lens
    auto layerState = [&](const std::vector<Value*>& s) -> Value* {
      if (s.empty()) return nullptr;
      Node* sl = emit("Slice", {s[0], i64s({l * dirs}), i64s({(l + 1) * dirs}), i64s({0})});
      return sl->output(0);
    };
    ins.push_back(layerState(h0));
    if (is_lstm) ins.push_back(layerState(c0));
    while (!ins.empty() && ins.back() == nullptr)
      ins.pop_back();
    Node* r = emit(is_lstm ? "LSTM" : "GRU", {}, is_lstm ? 3 : 2);
    for (Value* v : ins)
      r->addInput(v);
    r->setAttr(Attribute::makeInt("hidden_size", hidden));
    if (bidir) r->setAttr(Attribute::makeString("direction", "bidirectional"));
    if (!is_lstm) r->setAttr(Attribute::makeInt("linear_before_reset", 1));
    // Y: [seq, dirs, batch, hidden] -> [seq, batch, dirs * hidden] as PyTorch lays it out.
    Node* tr = emit("Transpose", {r->output(0)});
    tr->setAttr(Attribute::makeInts("perm", {0, 2, 1, 3}));
    seq = emit("Reshape", {tr->output(0), i64s({0, 0, -1})})->output(0);
    last_h.push_back(r->output(1));
    if (is_lstm) last_c.push_back(r->output(2));
  }
  Value* y = seq;
  if (batch_first) {
    Node* t = emit("Transpose", {y});
    t->setAttr(Attribute::makeInts("perm", {1, 0, 2}));
    y = t->output(0);
  }
  auto concat = [&](const std::vector<Value*>& parts) {
    if (parts.size() == 1) return parts[0];
    Node* c = emit("Concat", parts);
    c->setAttr(Attribute::makeInt("axis", 0));
    return c->output(0);
  };
  DType dt = dtypeOf(x);
  bind(n, 0, TV::tensor(y, dt, 3));
  bind(n, 1, TV::tensor(concat(last_h), dt, 3));
  if (is_lstm) bind(n, 2, TV::tensor(concat(last_c), dt, 3));
}

}  // namespace

Model importTorchScript(const std::string& path, const TorchScriptImportOptions& opts) {
  try {
    return Importer(path, opts).run();
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    failInput("{}: {}", path, msg.substr(0, msg.find('\n')));
  }
}

}  // namespace mopt
