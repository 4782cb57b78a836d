// IR -> TorchScript: a module whose forward() is generated TorchScript over the model's weights.
//
// Every live node becomes a few straight-line statements over ATen builtins (`torch.<op>`), one
// local per IR value. Values are tensors throughout, shape arithmetic included (int64 tensors, as
// in ONNX); they become List[int] only where an ATen op needs a list, so dynamic batch and
// sequence sizes keep working. Constant inputs that an op needs as a list (axes, perms, pads)
// are written as literals. Weights are registered in first-use order: floating-point ones as
// parameters, the rest as buffers, so int8/uint8 and packed 4-bit weights keep their size and are
// dequantized inside forward(). The source is compiled here with Module::define, so a bug in the
// generator fails the export instead of the user's torch.jit.load, and the file is written
// beside its destination and renamed into place.
#include "exec/Trainable.h"
#include "frontend/torchscript/TorchScriptImpl.h"

#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "passes/common/Constants.h"
#include "support/File.h"

#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/csrc/jit/frontend/sugared_value.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace mopt {
namespace {

// --- dtypes and literals -------------------------------------------------------------------------

struct DTypeEntry {
  DType dtype;
  at::ScalarType scalar;
  const char* name;  // torch.<name>
};
constexpr DTypeEntry kDTypes[] = {
    {DType::F32, at::kFloat, "float32"}, {DType::F64, at::kDouble, "float64"},
    {DType::F16, at::kHalf, "float16"},  {DType::BF16, at::kBFloat16, "bfloat16"},
    {DType::I8, at::kChar, "int8"},      {DType::U8, at::kByte, "uint8"},
    {DType::I16, at::kShort, "int16"},   {DType::I32, at::kInt, "int32"},
    {DType::I64, at::kLong, "int64"},    {DType::Bool, at::kBool, "bool"},
};

const DTypeEntry* findDType(DType t) {
  for (const DTypeEntry& e : kDTypes)
    if (e.dtype == t) return &e;
  return nullptr;
}

bool isFloat(DType t) {
  return t == DType::F32 || t == DType::F64 || t == DType::F16 || t == DType::BF16;
}

std::string intLit(int64_t v) {
  // -2^63 has no literal form: the lexer reads the minus as an operator on an overflowing 2^63.
  if (v == std::numeric_limits<int64_t>::min()) return "(-9223372036854775807 - 1)";
  return std::to_string(v);
}

std::string floatLit(double v) {
  if (std::isnan(v)) return "float(\"nan\")";
  if (std::isinf(v)) return v > 0 ? "float(\"inf\")" : "float(\"-inf\")";
  // Shortest text that reads back as the same double, hence as the same float32 too.
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string boolLit(bool b) {
  return b ? "True" : "False";
}

std::string intList(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + intLit(v[i]);
  return s + "]";
}

std::string exprList(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + v[i];
  return s + "]";
}

// call("torch.add", a, b) -> "torch.add(a, b)"
template <typename... Args>
std::string call(std::string_view fn, const Args&... args) {
  std::string s(fn);
  s += '(';
  bool first = true;
  ((s += first ? "" : ", ", s += std::string_view(args), first = false), ...);
  return s + ')';
}

std::string dtypeExpr(DType t) {
  const DTypeEntry* e = findDType(t);
  // Every dtype reaching here passed a findDType check where it entered (input, constant, Cast).
  if (!e) fail(ErrorKind::Internal, "TorchScript export: no torch dtype for {}", dtypeName(t));
  return std::string("torch.") + e->name;
}

// One element of a numeric tensor as a TorchScript literal of the tensor's kind.
std::string elementLit(const Tensor& t, int64_t i) {
  if (t.dtype() == DType::Bool) return boolLit(elementAsInt(t, i) != 0);
  if (isFloat(t.dtype())) return floatLit(elementAsDouble(t, i));
  return intLit(elementAsInt(t, i));
}

std::string nestedLit(const Tensor& t, size_t dim, int64_t& next) {
  if (dim == t.dims().size()) return elementLit(t, next++);
  std::string s = "[";
  for (int64_t i = 0; i < t.dims()[dim]; ++i)
    s += (i ? ", " : "") + nestedLit(t, dim + 1, next);
  return s + "]";
}

// torch.tensor(...) rebuilding a small constant exactly (integers as they are, floats through
// their shortest round-trip text).
std::string tensorLit(const Tensor& t) {
  if (t.numel() == 0)
    return call("torch.zeros", intList(t.dims()), "dtype=" + dtypeExpr(t.dtype()));
  int64_t next = 0;
  return call("torch.tensor", nestedLit(t, 0, next), "dtype=" + dtypeExpr(t.dtype()));
}

// IR tensor -> ATen tensor. Aligned bytes are shared, not copied (a 2 GB model is not
// duplicated); the IR outlives the module, which only reads them while saving.
at::Tensor toAten(const Tensor& t) {
  const DTypeEntry* e = findDType(t.dtype());
  auto options = at::TensorOptions().dtype(e->scalar);
  size_t item = at::elementSize(e->scalar);
  if (t.numel() == 0 || !t.raw()) return at::empty(t.dims(), options);
  if (reinterpret_cast<uintptr_t>(t.raw()) % item == 0)
    return at::from_blob(const_cast<uint8_t*>(t.raw()), t.dims(), options);
  at::Tensor out = at::empty(t.dims(), options);
  std::memcpy(out.data_ptr(), t.raw(), t.byteSize());
  return out;
}

bool startsWithDigit(const std::string& s) {
  return !s.empty() && s[0] >= '0' && s[0] <= '9';
}

// A Python identifier from an ONNX name: runs of other characters become one '_'.
std::string sanitize(std::string_view name) {
  std::string s;
  for (char ch : name) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (ok)
      s += ch;
    else if (!s.empty() && s.back() != '_')
      s += '_';
  }
  while (!s.empty() && s.back() == '_')
    s.pop_back();
  return s;
}

// Names a local must not take: Python keywords, and the globals forward() refers to (a local
// named `torch` or `int` would shadow them).
const std::unordered_set<std::string>& reservedNames() {
  static const std::unordered_set<std::string> names = {
      "False", "None",     "True",     "and",    "as",   "assert", "async",  "await",    "break",
      "class", "continue", "def",      "del",    "elif", "else",   "except", "finally",  "for",
      "from",  "global",   "if",       "import", "in",   "is",     "lambda", "nonlocal", "not",
      "or",    "pass",     "raise",    "return", "try",  "while",  "with",   "yield",    "self",
      "torch", "float",    "int",      "bool",   "len",  "range",  "max",    "min",      "List",
      "Tuple", "Tensor",   "Optional", "inf",    "nan"};
  return names;
}

std::string jsonString(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<int>(static_cast<unsigned char>(ch)));
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// --- helper methods the generated forward() may call ---------------------------------------------

// Emitted once each, only when used, in this order (so the source is deterministic).
enum class Helper {
  Ints,
  Floats,
  ReshapeShape,
  ExpandShape,
  TorchPads,
  SamePads,
  SliceBack,
  Slice,
  DimsFrom,
  PerAxis,
  WrapIndex,
  DynamicQuantize,
  UnpackUint4,
  Count
};

const char* helperSource(Helper h) {
  switch (h) {
    case Helper::Ints:
      return R"(
def _ints(self, t: Tensor) -> List[int]:
    out: List[int] = t.to(torch.int64).reshape([-1]).tolist()
    return out
)";
    case Helper::Floats:
      return R"(
def _floats(self, t: Tensor) -> List[float]:
    out: List[float] = t.to(torch.float64).reshape([-1]).tolist()
    return out
)";
    case Helper::ReshapeShape:  // ONNX Reshape: 0 copies the input's dimension
      return R"(
def _reshape_shape(self, x: Tensor, shape: List[int]) -> List[int]:
    out: List[int] = []
    for i in range(len(shape)):
        if shape[i] == 0:
            out.append(x.size(i))
        else:
            out.append(shape[i])
    return out
)";
    case Helper::ExpandShape:  // ONNX Expand broadcasts both ways; torch's expand only one way
      return R"(
def _expand_shape(self, a: List[int], b: List[int]) -> List[int]:
    n = max(len(a), len(b))
    out: List[int] = []
    for i in range(n):
        da = 1
        db = 1
        if i >= n - len(a):
            da = a[i - n + len(a)]
        if i >= n - len(b):
            db = b[i - n + len(b)]
        if da == 1:
            out.append(db)
        else:
            out.append(da)
    return out
)";
    case Helper::TorchPads:  // ONNX [b0, b1, .., e0, e1, ..] -> torch [b_last, e_last, .., b0, e0]
      return R"(
def _torch_pads(self, pads: List[int]) -> List[int]:
    r = len(pads) // 2
    out: List[int] = []
    for j in range(r):
        out.append(pads[r - 1 - j])
        out.append(pads[2 * r - 1 - j])
    while len(out) > 2 and out[-1] == 0 and out[-2] == 0:
        out = out[:-2]
    return out
)";
    case Helper::SamePads:  // auto_pad SAME_UPPER / SAME_LOWER as explicit torch pads
      return R"(
def _same_pads(self, size: List[int], kernel: List[int], strides: List[int], dilations: List[int], upper: bool) -> List[int]:
    n = len(kernel)
    out: List[int] = []
    for j in range(n):
        i = n - 1 - j
        d = size[len(size) - n + i]
        o = (d + strides[i] - 1) // strides[i]
        total = max(0, (o - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - d)
        if upper:
            out.append(total // 2)
            out.append(total - total // 2)
        else:
            out.append(total - total // 2)
            out.append(total // 2)
    return out
)";
    case Helper::SliceBack:  // ONNX Slice with a negative step (torch.slice takes only positive)
      return R"(
def _slice_back(self, x: Tensor, dim: int, start: int, end: int, step: int) -> Tensor:
    n = x.size(dim)
    if n == 0:
        return x
    if start < 0:
        start += n
    if end < 0:
        end += n
    start = max(0, min(start, n - 1))
    end = max(-1, min(end, n - 1))
    return torch.index_select(x, dim, torch.arange(start, end, step, dtype=torch.int64))
)";
    case Helper::Slice:
      return R"(
def _slice(self, x: Tensor, dim: int, start: int, end: int, step: int) -> Tensor:
    if step > 0:
        return torch.slice(x, dim, start, end, step)
    return self._slice_back(x, dim, start, end, step)
)";
    case Helper::DimsFrom:
      return R"(
def _dims_from(self, x: Tensor, start: int) -> List[int]:
    return [i for i in range(start, x.dim())]
)";
    case Helper::PerAxis:  // a 1-D per-channel parameter shaped to broadcast along `axis`
      return R"(
def _per_axis(self, p: Tensor, axis: int, rank: int) -> Tensor:
    shape: List[int] = [1] * rank
    if axis < 0:
        axis += rank
    shape[axis] = -1
    return p.reshape(shape)
)";
    case Helper::WrapIndex:  // ONNX indices may count from the end
      return R"(
def _wrap_index(self, i: Tensor, n: int) -> Tensor:
    return torch.where(torch.lt(i, 0), torch.add(i, n), i)
)";
    case Helper::DynamicQuantize:  // ONNX DynamicQuantizeLinear, in ONNX Runtime's float order
      return R"(
def _dynamic_quantize(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    lo = torch.clamp(torch.min(x), None, 0.0)
    hi = torch.clamp(torch.max(x), 0.0, None)
    scale = torch.div(torch.sub(hi, lo), 255.0)
    scale = torch.where(torch.eq(hi, lo), torch.ones_like(scale), scale)
    zp = torch.round(torch.clamp(torch.neg(torch.div(lo, scale)), 0.0, 255.0))
    y = torch.clamp(torch.add(torch.round(torch.div(x, scale)), zp), 0.0, 255.0)
    return y.to(torch.uint8), scale, zp.to(torch.uint8)
)";
    case Helper::UnpackUint4:  // two 4-bit codes per byte, low nibble first
      return R"(
def _unpack_uint4(self, b: Tensor) -> Tensor:
    return torch.stack([torch.bitwise_and(b, 15), torch.bitwise_right_shift(b, 4)], -1).flatten(-2)
)";
    case Helper::Count:
      break;
  }
  return "";
}

// --- TorchScript name resolution -----------------------------------------------------------------

// `torch.<x>` is an ATen builtin, as with the default resolver, except the dtype names
// (torch.float32, ...), which become the ScalarType numbers TorchScript passes for them.
struct TorchNamespace : torch::jit::BuiltinModule {
  TorchNamespace() : BuiltinModule("aten") {}
  std::shared_ptr<torch::jit::SugaredValue> attr(const torch::jit::SourceRange& loc,
                                                 torch::jit::GraphFunction& fn,
                                                 const std::string& field) override {
    for (const DTypeEntry& e : kDTypes)
      if (field == e.name)
        return std::make_shared<torch::jit::SimpleValue>(
            fn.graph()->insertConstant(static_cast<int64_t>(e.scalar), loc));
    return BuiltinModule::attr(loc, fn, field);
  }
};

struct ExportResolver : torch::jit::Resolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(const std::string& name,
                                                         torch::jit::GraphFunction&,
                                                         const torch::jit::SourceRange&) override {
    if (name == "torch") return std::make_shared<TorchNamespace>();
    return nullptr;
  }
  c10::TypePtr resolveType(const std::string&, const torch::jit::SourceRange&) override {
    return nullptr;
  }
};

// --- the generator -------------------------------------------------------------------------------

// How forward() refers to an IR value, and what is known about it.
struct Slot {
  std::string expr;
  DType dtype = DType::Undefined;
  int rank = -1;  // -1: unknown
};

class NodeCtx;
using Handler = void (*)(NodeCtx&);

class ScriptWriter {
 public:
  ScriptWriter(const Model& model, const std::string& path, const TorchScriptExportOptions& opts,
               torch::jit::Module& module)
      : model_(model), g_(*model.graph), path_(path), opts_(opts), module_(module) {}

  // The whole source: used helpers, then forward().
  std::string generate();

  const std::string& path() const { return path_; }
  const TorchScriptExportOptions& options() const { return opts_; }

  // The slot of an input value; initializers and Constant outputs get theirs on first use.
  // `user` (may be null: a graph output) is the node named in error messages.
  const Slot& slot(const Value* v, const Node* user);
  // The dtype and rank of a value without binding it: asking about a constant that ends up
  // written as a literal must not register it as a weight.
  Slot peek(const Value* v) const;
  void bind(const Value* v, std::string expr, DType dtype, int rank);
  bool isLive(const Value* v) const { return v && (v->isGraphOutput() || live_values_.count(v)); }
  std::string local(std::string_view hint);
  void emit(std::string stmt) { body_.push_back("    " + std::move(stmt) + "\n"); }
  void use(Helper h) { helpers_.insert(h); }
  // Registers a weight (parameter if floating point, else buffer); returns `self.<name>`.
  // Float tensors become parameters when `trainable` (gradients can flow), buffers otherwise.
  std::string registerTensor(std::string_view hint, const at::Tensor& t, bool trainable = true);
  [[noreturn]] void failAt(const Node* n, const std::string& msg) const {
    if (!n) failInput("{}: cannot export to TorchScript: {}", path_, msg);
    failInput("{}: cannot export {} to TorchScript: {}", path_, n->describe(), msg);
  }

 private:
  void markLive();
  const Slot& bindConstant(const Value* v, const Tensor& t, const Node* user);

  const Model& model_;
  const Graph& g_;
  const std::string& path_;
  const TorchScriptExportOptions& opts_;
  torch::jit::Module& module_;
  std::unordered_map<const Value*, Slot> slots_;
  std::unordered_set<const Value*> live_values_;
  std::unordered_set<const Node*> live_nodes_;
  std::unordered_set<std::string> locals_, attrs_;
  std::vector<std::string> body_;
  std::set<Helper> helpers_;
};

// What a handler sees: its node, inputs as TorchScript expressions, and ways to bind outputs.
class NodeCtx {
 public:
  NodeCtx(ScriptWriter& w, const Node& n, int64_t opset, const char* fn)
      : w_(w), n_(n), opset_(opset), fn_(fn) {}

  const Node& node() const { return n_; }
  int64_t opset() const { return opset_; }
  const char* fn() const { return fn_; }  // the torch function of table-driven ops
  ScriptWriter& writer() { return w_; }

  bool has(size_t i) const { return n_.input(i) != nullptr; }
  size_t numInputs() const { return n_.numInputs(); }
  std::string in(size_t i) { return slotOf(i).expr; }
  DType dtype(size_t i) {
    if (!has(i)) fail("input {} is missing", i);
    return w_.peek(n_.input(i)).dtype;
  }
  int rank(size_t i) const { return has(i) ? w_.peek(n_.input(i)).rank : -1; }
  std::optional<Tensor> constant(size_t i) const {
    return has(i) ? constantValue(n_.input(i)) : std::nullopt;
  }
  std::optional<std::vector<int64_t>> constInts(size_t i) const {
    auto t = constant(i);
    if (!t || !isInteger(t->dtype())) return std::nullopt;
    std::vector<int64_t> out(static_cast<size_t>(t->numel()));
    for (int64_t k = 0; k < t->numel(); ++k)
      out[static_cast<size_t>(k)] = elementAsInt(*t, k);
    return out;
  }
  std::vector<int64_t> requireInts(size_t i, std::string_view what) const {
    auto v = constInts(i);
    if (!v) fail("{} (input {}) must be a constant", what, i);
    return *v;
  }
  // A List[int] expression for an integer input: a literal when constant.
  std::string ints(size_t i) {
    if (auto v = constInts(i)) return intList(*v);
    w_.use(Helper::Ints);
    return call("self._ints", in(i));
  }
  // A one-element integer input as an int expression.
  std::string intScalar(size_t i) {
    if (auto v = constInts(i); v && v->size() == 1) return intLit((*v)[0]);
    return call("int", in(i));
  }
  // The number a constant one-element input holds, as a literal usable as a Scalar argument,
  // when that cannot change the result's shape (`other_rank`: the rank it broadcasts against).
  std::optional<std::string> scalarLit(size_t i, int other_rank) const {
    auto t = constant(i);
    if (!t || t->numel() != 1 || t->dtype() == DType::Bool || !findDType(t->dtype()))
      return std::nullopt;
    int r = static_cast<int>(t->dims().size());
    if (r > 0 && (other_rank < 0 || other_rank < r)) return std::nullopt;
    return elementLit(*t, 0);
  }

  // True when input i is a constant whose every element is 0 (a zero point that changes nothing).
  bool isZero(size_t i) const {
    auto t = constant(i);
    if (!t || !isNumeric(t->dtype())) return false;
    for (int64_t k = 0; k < t->numel(); ++k)
      if (elementAsDouble(*t, k) != 0.0) return false;
    return true;
  }

  int64_t attrInt(std::string_view name, int64_t fallback) const {
    return n_.intAttr(name, fallback);
  }
  float attrFloat(std::string_view name, float fallback) const {
    return n_.floatAttr(name, fallback);
  }
  std::string attrString(std::string_view name, const std::string& fallback) const {
    return n_.stringAttr(name, fallback);
  }
  bool hasAttr(std::string_view name) const { return n_.attr(name) != nullptr; }
  std::vector<int64_t> attrInts(std::string_view name) const { return n_.intsAttr(name); }
  std::vector<int64_t> attrInts(std::string_view name, size_t n, int64_t fill) const {
    auto v = n_.intsAttr(name);
    if (v.empty()) v.assign(n, fill);
    if (v.size() != n) fail("attribute {} has {} values, expected {}", name, v.size(), n);
    return v;
  }

  size_t numOutputs() const { return n_.numOutputs(); }
  bool wants(size_t i) const { return w_.isLive(n_.output(i)); }
  // `out_i = expr`
  void set(size_t i, const std::string& expr, DType dtype, int rank) {
    const Value* v = n_.output(i);
    if (!w_.isLive(v)) return;
    std::string name = w_.local(v->name());
    w_.emit(name + " = " + expr);
    w_.bind(v, name, dtype, rank);
  }
  // `out_0, out_1, ... = expr` for ops returning a tuple or list.
  void setAll(const std::string& expr, const std::vector<DType>& dtypes,
              const std::vector<int>& ranks) {
    std::vector<std::string> names;
    for (size_t i = 0; i < dtypes.size(); ++i) {
      const Value* v = n_.output(i);
      std::string name = w_.local(v ? v->name() : "unused");
      names.push_back(name);
      if (w_.isLive(v)) w_.bind(v, name, dtypes[i], ranks[i]);
    }
    std::string lhs;
    for (size_t i = 0; i < names.size(); ++i)
      lhs += (i ? ", " : "") + names[i];
    if (names.size() == 1) lhs += ",";
    w_.emit(lhs + " = " + expr);
  }
  // Output i is `expr` itself (no statement): Identity, a no-op Cast.
  void alias(size_t i, const std::string& expr, DType dtype, int rank) {
    if (w_.isLive(n_.output(i))) w_.bind(n_.output(i), expr, dtype, rank);
  }
  // `tmp = expr`, for intermediate results a statement refers to more than once.
  std::string temp(const std::string& expr) {
    const Value* v = n_.output(0);
    std::string name = w_.local((v ? v->name() : std::string("tmp")) + "_t");
    w_.emit(name + " = " + expr);
    return name;
  }
  void use(Helper h) { w_.use(h); }

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    w_.failAt(&n_, fmt::format(f, std::forward<Args>(args)...));
  }

 private:
  const Slot& slotOf(size_t i) {
    if (!has(i)) fail("input {} is missing", i);
    return w_.slot(n_.input(i), &n_);
  }

  ScriptWriter& w_;
  const Node& n_;
  int64_t opset_;
  const char* fn_;
};

std::string ScriptWriter::local(std::string_view hint) {
  std::string base = sanitize(hint);
  if (base.empty()) base = "v";
  if (startsWithDigit(base) || reservedNames().count(base)) base = "v_" + base;
  std::string name = base;
  for (int k = 1; locals_.count(name); ++k)
    name = fmt::format("{}_{}", base, k);
  locals_.insert(name);
  return name;
}

std::string ScriptWriter::registerTensor(std::string_view hint, const at::Tensor& t,
                                         bool trainable) {
  std::string base = "p_" + sanitize(hint);
  std::string name = base;
  for (int k = 1; attrs_.count(name) || module_.hasattr(name); ++k)
    name = fmt::format("{}_{}", base, k);
  attrs_.insert(name);
  if (trainable && c10::isFloatingType(t.scalar_type()))
    module_.register_parameter(name, t, /*is_buffer=*/false);
  else
    module_.register_buffer(name, t);
  return "self." + name;
}

void ScriptWriter::bind(const Value* v, std::string expr, DType dtype, int rank) {
  // What the handler could not tell, the IR's own type annotation may.
  const Type& ty = v->type();
  if (dtype == DType::Undefined && ty.isTensor()) dtype = ty.elemType();
  if (rank < 0 && ty.isTensor() && ty.shape()) rank = static_cast<int>(ty.shape()->size());
  slots_[v] = Slot{std::move(expr), dtype, rank};
}

const Slot& ScriptWriter::bindConstant(const Value* v, const Tensor& t, const Node* user) {
  if (!findDType(t.dtype()))
    failAt(user, fmt::format("constant '{}' has type {}, which TorchScript cannot hold", v->name(),
                             dtypeName(t.dtype())));
  int rank = static_cast<int>(t.dims().size());
  // Initializers are the model's weights: always registered. Small Constant tensors read
  // better as literals; big ones are registered too.
  if (v->isInitializer() || t.numel() > 16) {
    // Weights are parameters (a training loop finds them in .parameters()); running statistics,
    // shapes and other constants are buffers, which autograd leaves alone.
    bool trainable = false;
    for (const Use& u : v->uses())
      trainable = trainable || exec::isTrainableUse(*u.user, u.index);
    bind(v, registerTensor(v->name(), toAten(t), trainable), t.dtype(), rank);
  } else {
    std::string name = local(v->name());
    emit(name + " = " + tensorLit(t));
    bind(v, name, t.dtype(), rank);
  }
  return slots_[v];
}

Slot ScriptWriter::peek(const Value* v) const {
  if (auto it = slots_.find(v); it != slots_.end()) return it->second;
  std::optional<Tensor> t;
  if (v->isInitializer())
    t = v->initializer();
  else if (const Node* p = v->producer(); p && p->is("Constant"))
    t = constantNodeValue(*p);
  if (t) return Slot{{}, t->dtype(), static_cast<int>(t->dims().size())};
  return Slot{};
}

const Slot& ScriptWriter::slot(const Value* v, const Node* user) {
  auto it = slots_.find(v);
  if (it != slots_.end()) return it->second;
  if (v->isInitializer()) return bindConstant(v, v->initializer(), user);
  if (const Node* p = v->producer(); p && p->is("Constant")) {
    auto t = constantNodeValue(*p);
    if (!t) failAt(p, "the Constant has no tensor value");
    return bindConstant(v, *t, user);
  }
  if (v->sparseInitializer())
    failAt(user, fmt::format("sparse initializer '{}' is not supported", v->name()));
  fail(ErrorKind::Internal, "{}: TorchScript export: value '{}' used by {} has no definition",
       path_, v->name(), user ? user->describe() : "a graph output");
}

void ScriptWriter::markLive() {
  for (const Value* v : g_.outputs())
    live_values_.insert(v);
  std::vector<const Node*> nodes;
  for (const Node* n : g_.nodes())
    nodes.push_back(n);
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    const Node* n = *it;
    bool live = false;
    for (const Value* o : n->outputs())
      live = live || (o && live_values_.count(o));
    if (!live) continue;
    live_nodes_.insert(n);
    for (const Value* i : n->inputs())
      if (i) live_values_.insert(i);
  }
}

// --- op handlers ---------------------------------------------------------------------------------

int broadcastRank(int a, int b) {
  return a < 0 || b < 0 ? -1 : std::max(a, b);
}

int64_t normAxis(NodeCtx& c, int64_t axis, int rank) {
  if (axis >= 0) return axis;
  if (rank < 0) c.fail("a negative axis ({}) needs the input's rank, which is unknown", axis);
  return axis + rank;
}

void unaryOp(NodeCtx& c) {
  c.set(0, call(c.fn(), c.in(0)), c.dtype(0), c.rank(0));
}

void identityOp(NodeCtx& c) {
  c.alias(0, c.in(0), c.dtype(0), c.rank(0));
}

// Add, Sub, Mul, Div, Pow, comparisons, logical and bitwise ops (multidirectional broadcast).
void binaryOp(NodeCtx& c) {
  const std::string& op = c.node().opType();
  bool commutative = op == "Add" || op == "Mul" || op == "Equal" || op == "And" || op == "Or" ||
                     op == "Xor" || op == "BitwiseAnd" || op == "BitwiseOr" || op == "BitwiseXor";
  bool scalar_ok = op != "And" && op != "Or" && op != "Xor";
  DType dt = c.dtype(0);
  int rank = broadcastRank(c.rank(0), c.rank(1));
  std::string a, b;
  std::optional<std::string> lit1 = scalar_ok ? c.scalarLit(1, c.rank(0)) : std::nullopt;
  std::optional<std::string> lit0 =
      scalar_ok && commutative && !lit1 ? c.scalarLit(0, c.rank(1)) : std::nullopt;
  if (lit1) {
    a = c.in(0);
    b = *lit1;
  } else if (lit0) {
    a = c.in(1);
    b = *lit0;
    dt = c.dtype(1);
  } else {
    a = c.in(0);
    b = c.in(1);
  }
  std::string e = call(c.fn(), a, b);
  if (op == "Div" && !isFloat(dt)) e = call(c.fn(), a, b, "rounding_mode=\"trunc\"");
  bool logical = std::string_view(c.fn()).find("logical") != std::string_view::npos;
  bool compare = op == "Equal" || op == "Less" || op == "Greater" || op == "LessOrEqual" ||
                 op == "GreaterOrEqual";
  // torch promotes pow(int, float) to float; ONNX keeps the base's type.
  if (op == "Pow" && c.dtype(1) != dt) e += ".to(" + dtypeExpr(dt) + ")";
  c.set(0, e, logical || compare ? DType::Bool : dt, rank);
}

// Max, Min, Sum, Mean: any number of broadcast inputs.
void variadicOp(NodeCtx& c) {
  const std::string& op = c.node().opType();
  const char* fn = op == "Max" ? "torch.maximum" : op == "Min" ? "torch.minimum" : "torch.add";
  std::string e = c.in(0);
  int rank = c.rank(0);
  for (size_t i = 1; i < c.numInputs(); ++i) {
    e = call(fn, e, c.in(i));
    rank = broadcastRank(rank, c.rank(i));
  }
  if (op == "Mean") e = call("torch.div", e, floatLit(static_cast<double>(c.numInputs())));
  if (c.numInputs() == 1 && op != "Mean")
    c.alias(0, e, c.dtype(0), rank);
  else
    c.set(0, e, c.dtype(0), rank);
}

void modOp(NodeCtx& c) {
  const char* fn = c.attrInt("fmod", 0) ? "torch.fmod" : "torch.remainder";
  c.set(0, call(fn, c.in(0), c.in(1)), c.dtype(0), broadcastRank(c.rank(0), c.rank(1)));
}

void whereOp(NodeCtx& c) {
  int rank = broadcastRank(c.rank(0), broadcastRank(c.rank(1), c.rank(2)));
  c.set(0, call("torch.where", c.in(0), c.in(1), c.in(2)), c.dtype(1), rank);
}

void clipOp(NodeCtx& c) {
  std::string x = c.in(0);
  std::string lo = "None", hi = "None";
  if (c.opset() < 11) {
    if (c.hasAttr("min")) lo = floatLit(c.attrFloat("min", 0));
    if (c.hasAttr("max")) hi = floatLit(c.attrFloat("max", 0));
  } else {
    auto l = c.has(1) ? c.scalarLit(1, 0) : std::nullopt;
    auto h = c.has(2) ? c.scalarLit(2, 0) : std::nullopt;
    bool dynamic = (c.has(1) && !l) || (c.has(2) && !h);
    if (dynamic) {  // torch.clamp takes either two Scalars or two Tensors
      if (c.has(1)) lo = c.in(1);
      if (c.has(2)) hi = c.in(2);
    } else {
      if (l) lo = *l;
      if (h) hi = *h;
    }
  }
  if (lo == "None" && hi == "None") return c.alias(0, x, c.dtype(0), c.rank(0));
  c.set(0, call("torch.clamp", x, lo, hi), c.dtype(0), c.rank(0));
}

void castOp(NodeCtx& c) {
  DType to = c.node().is("CastLike") ? c.dtype(1) : static_cast<DType>(c.attrInt("to", 0));
  if (!findDType(to)) c.fail("cast to {} has no TorchScript equivalent", dtypeName(to));
  if (to == c.dtype(0)) return c.alias(0, c.in(0), to, c.rank(0));
  c.set(0, c.in(0) + ".to(" + dtypeExpr(to) + ")", to, c.rank(0));
}

void dropoutOp(NodeCtx& c) {
  c.alias(0, c.in(0), c.dtype(0), c.rank(0));
  if (c.wants(1))
    c.set(1, call("torch.ones_like", c.in(0), "dtype=torch.bool"), DType::Bool, c.rank(0));
}

void leakyReluOp(NodeCtx& c) {
  c.set(0, call("torch.leaky_relu", c.in(0), floatLit(c.attrFloat("alpha", 0.01f))), c.dtype(0),
        c.rank(0));
}

void eluOp(NodeCtx& c) {
  c.set(0, call("torch.elu", c.in(0), floatLit(c.attrFloat("alpha", 1.0f))), c.dtype(0), c.rank(0));
}

void seluOp(NodeCtx& c) {
  std::string alpha = floatLit(c.attrFloat("alpha", 1.67326319217681884765625f));
  std::string gamma = floatLit(c.attrFloat("gamma", 1.05070102214813232421875f));
  c.set(0, call("torch.elu", c.in(0), alpha, gamma), c.dtype(0), c.rank(0));
}

void celuOp(NodeCtx& c) {
  c.set(0, call("torch.celu", c.in(0), floatLit(c.attrFloat("alpha", 1.0f))), c.dtype(0),
        c.rank(0));
}

void hardSigmoidOp(NodeCtx& c) {
  std::string lin =
      call("torch.add", call("torch.mul", c.in(0), floatLit(c.attrFloat("alpha", 0.2f))),
           floatLit(c.attrFloat("beta", 0.5f)));
  c.set(0, call("torch.clamp", lin, "0.0", "1.0"), c.dtype(0), c.rank(0));
}

void thresholdedReluOp(NodeCtx& c) {
  c.set(0, call("torch.threshold", c.in(0), floatLit(c.attrFloat("alpha", 1.0f)), "0.0"),
        c.dtype(0), c.rank(0));
}

void softsignOp(NodeCtx& c) {
  std::string x = c.in(0);
  c.set(0, call("torch.div", x, call("torch.add", call("torch.abs", x), "1.0")), c.dtype(0),
        c.rank(0));
}

void preluOp(NodeCtx& c) {
  std::string x = c.in(0);
  c.set(0, call("torch.where", call("torch.lt", x, "0.0"), call("torch.mul", x, c.in(1)), x),
        c.dtype(0), broadcastRank(c.rank(0), c.rank(1)));
}

void geluOp(NodeCtx& c) {
  std::string approx = c.attrString("approximate", "none");
  if (approx != "none" && approx != "tanh") c.fail("unknown approximate='{}'", approx);
  c.set(0, call("torch.gelu", c.in(0), "approximate=\"" + approx + "\""), c.dtype(0), c.rank(0));
}

// com.microsoft FastGelu: tanh-approximated GELU of x (+ bias).
void fastGeluOp(NodeCtx& c) {
  std::string x = c.has(1) ? call("torch.add", c.in(0), c.in(1)) : c.in(0);
  c.set(0, call("torch.gelu", x, "approximate=\"tanh\""), c.dtype(0), c.rank(0));
}

void isInfOp(NodeCtx& c) {
  bool pos = c.attrInt("detect_positive", 1), neg = c.attrInt("detect_negative", 1);
  std::string x = c.in(0);
  std::string e = pos && neg ? call("torch.isinf", x)
                  : pos      ? call("torch.isposinf", x)
                  : neg      ? call("torch.isneginf", x)
                             : call("torch.zeros_like", x, "dtype=torch.bool");
  c.set(0, e, DType::Bool, c.rank(0));
}

void shapeOp(NodeCtx& c) {
  std::string x = c.in(0);
  std::string dims = x + ".size()";
  int64_t start = c.attrInt("start", 0);
  bool has_end = c.hasAttr("end");
  if (start != 0 || has_end)
    dims += "[" + intLit(start) + ":" + (has_end ? intLit(c.attrInt("end", 0)) : "") + "]";
  c.set(0, call("torch.tensor", dims, "dtype=torch.int64"), DType::I64, 1);
}

void sizeOp(NodeCtx& c) {
  c.set(0, call("torch.tensor", c.in(0) + ".numel()", "dtype=torch.int64"), DType::I64, 0);
}

void gatherOp(NodeCtx& c) {
  int rank = c.rank(0);
  int64_t axis = normAxis(c, c.attrInt("axis", 0), rank);
  std::string data = c.in(0);
  auto k = c.constant(1);
  if (k && k->dims().empty() && isInteger(k->dtype())) {  // a scalar index drops the axis
    c.set(0, call("torch.select", data, intLit(axis), intLit(elementAsInt(*k, 0))), c.dtype(0),
          rank < 0 ? -1 : rank - 1);
    return;
  }
  std::string idx = c.in(1);
  if (c.dtype(1) != DType::I64) idx += ".to(torch.int64)";
  std::string prefix;
  for (int64_t i = 0; i < axis; ++i)
    prefix += ":, ";
  int idx_rank = c.rank(1);
  int out_rank = rank < 0 || idx_rank < 0 ? -1 : rank - 1 + idx_rank;
  // Advanced indexing takes negative indices as ONNX does.
  c.set(0, data + "[" + prefix + idx + "]", c.dtype(0), out_rank);
}

void gatherElementsOp(NodeCtx& c) {
  int rank = c.rank(0);
  int64_t axis = normAxis(c, c.attrInt("axis", 0), rank);
  std::string data = c.in(0);
  std::string idx = c.in(1);
  if (c.dtype(1) != DType::I64) idx += ".to(torch.int64)";
  c.use(Helper::WrapIndex);
  idx = call("self._wrap_index", idx, data + ".size(" + intLit(axis) + ")");
  c.set(0, call("torch.gather", data, intLit(axis), idx), c.dtype(0), c.rank(1));
}

void gatherNDOp(NodeCtx& c) {
  if (c.attrInt("batch_dims", 0) != 0) c.fail("batch_dims != 0 is not supported");
  std::string idx = c.in(1);
  if (c.dtype(1) != DType::I64) idx += ".to(torch.int64)";
  // data[idx[..., 0], idx[..., 1], ...]: one index tensor per indexed dimension
  int64_t k = -1;
  if (auto t = c.constant(1); t && !t->dims().empty())
    k = t->dims().back();
  else if (auto dims = c.node().input(1)->type().shape();
           dims && !dims->empty() && dims->back().isKnown())
    k = dims->back().value;
  if (k < 0) c.fail("the last dimension of the indices must be known");
  std::vector<std::string> parts;
  for (int64_t i = 0; i < k; ++i)
    parts.push_back(call("torch.select", idx, "-1", intLit(i)));
  std::string e = c.in(0) + "[";
  for (size_t i = 0; i < parts.size(); ++i)
    e += (i ? ", " : "") + parts[i];
  e += "]";
  int out_rank =
      c.rank(0) < 0 || c.rank(1) < 0 ? -1 : c.rank(1) - 1 + c.rank(0) - static_cast<int>(k);
  c.set(0, e, c.dtype(0), out_rank);
}

void scatterElementsOp(NodeCtx& c) {
  int rank = c.rank(0);
  int64_t axis = normAxis(c, c.attrInt("axis", 0), rank);
  std::string data = c.in(0);
  std::string idx = c.in(1);
  if (c.dtype(1) != DType::I64) idx += ".to(torch.int64)";
  c.use(Helper::WrapIndex);
  idx = call("self._wrap_index", idx, data + ".size(" + intLit(axis) + ")");
  std::string red = c.attrString("reduction", "none");
  std::string e;
  if (red == "none")
    e = call("torch.scatter", data, intLit(axis), idx, c.in(2));
  else if (red == "add")
    e = call("torch.scatter_add", data, intLit(axis), idx, c.in(2));
  else if (red == "mul" || red == "max" || red == "min")
    e = call("torch.scatter_reduce", data, intLit(axis), idx, c.in(2),
             "\"" +
                 std::string(red == "mul"   ? "prod"
                             : red == "max" ? "amax"
                                            : "amin") +
                 "\"");
  else
    c.fail("reduction '{}' is not supported", red);
  c.set(0, e, c.dtype(0), rank);
}

void unsqueezeOp(NodeCtx& c) {
  std::vector<int64_t> axes = c.opset() >= 13 ? c.requireInts(1, "axes") : c.attrInts("axes");
  int rank = c.rank(0);
  int out_rank = rank < 0 ? -1 : rank + static_cast<int>(axes.size());
  for (int64_t& a : axes)
    a = normAxis(c, a, out_rank);
  std::sort(axes.begin(), axes.end());
  std::string e = c.in(0);
  for (int64_t a : axes)
    e = call("torch.unsqueeze", e, intLit(a));
  c.set(0, e, c.dtype(0), out_rank);
}

void squeezeOp(NodeCtx& c) {
  std::vector<int64_t> axes;
  if (c.opset() >= 13) {
    if (c.has(1)) axes = c.requireInts(1, "axes");
  } else {
    axes = c.attrInts("axes");
  }
  int rank = c.rank(0);
  if (axes.empty()) return c.set(0, call("torch.squeeze", c.in(0)), c.dtype(0), -1);
  bool all_negative = std::all_of(axes.begin(), axes.end(), [](int64_t a) { return a < 0; });
  if (!all_negative || rank >= 0) {
    for (int64_t& a : axes)
      a = normAxis(c, a, rank);
    // Last axis first, so the earlier ones keep their positions.
    std::sort(axes.rbegin(), axes.rend());
  } else {
    // Most negative first: dropping it does not move the dimensions after it.
    std::sort(axes.begin(), axes.end());
  }
  std::string e = c.in(0);
  for (int64_t a : axes)
    e = call("torch.squeeze", e, intLit(a));
  c.set(0, e, c.dtype(0), rank < 0 ? -1 : rank - static_cast<int>(axes.size()));
}

void concatOp(NodeCtx& c) {
  std::vector<std::string> parts;
  int rank = -1;
  for (size_t i = 0; i < c.numInputs(); ++i) {
    parts.push_back(c.in(i));
    rank = std::max(rank, c.rank(i));
  }
  c.set(0, call("torch.cat", exprList(parts), intLit(c.attrInt("axis", 0))), c.dtype(0), rank);
}

void reshapeOp(NodeCtx& c) {
  std::string x = c.in(0);
  bool allowzero = c.attrInt("allowzero", 0) != 0;
  if (auto shape = c.constInts(1)) {
    std::vector<std::string> dims;
    for (size_t i = 0; i < shape->size(); ++i)
      dims.push_back((*shape)[i] == 0 && !allowzero ? x + ".size(" + std::to_string(i) + ")"
                                                    : intLit((*shape)[i]));
    c.set(0, call("torch.reshape", x, exprList(dims)), c.dtype(0), static_cast<int>(shape->size()));
    return;
  }
  std::string shape = c.ints(1);
  if (!allowzero) {
    c.use(Helper::ReshapeShape);
    shape = call("self._reshape_shape", x, shape);
  }
  int rank = -1;
  if (auto s = c.node().input(1)->type().shape(); s && s->size() == 1 && (*s)[0].isKnown())
    rank = static_cast<int>((*s)[0].value);
  c.set(0, call("torch.reshape", x, shape), c.dtype(0), rank);
}

void transposeOp(NodeCtx& c) {
  std::vector<int64_t> perm = c.attrInts("perm");
  int rank = c.rank(0);
  if (perm.empty()) {
    if (rank < 0) c.fail("the default permutation needs the input's rank, which is unknown");
    for (int i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  }
  c.set(0, call("torch.permute", c.in(0), intList(perm)), c.dtype(0),
        static_cast<int>(perm.size()));
}

void flattenOp(NodeCtx& c) {
  int rank = c.rank(0);
  int64_t axis = normAxis(c, c.attrInt("axis", 1), rank);
  std::string x = c.in(0);
  std::string e;
  if (axis == 0)
    e = call("torch.reshape", x, "[1, -1]");
  else if (rank >= 0 && axis == rank)
    e = call("torch.unsqueeze", call("torch.flatten", x), "1");
  else if (axis == 1)
    e = call("torch.flatten", x, "1");
  else
    e = call("torch.flatten", call("torch.flatten", x, intLit(axis)), "0", intLit(axis - 1));
  c.set(0, e, c.dtype(0), 2);
}

void expandOp(NodeCtx& c) {
  std::string x = c.in(0);
  c.use(Helper::ExpandShape);
  int rank = -1;
  if (auto s = c.constInts(1)) rank = broadcastRank(c.rank(0), static_cast<int>(s->size()));
  c.set(0, x + ".expand(" + call("self._expand_shape", x + ".size()", c.ints(1)) + ")", c.dtype(0),
        rank);
}

void constantOfShapeOp(NodeCtx& c) {
  Tensor value = Tensor::fromVector(DType::F32, {1}, std::vector<float>{0.0f});
  if (const Attribute* a = c.node().attr("value"); a && a->kind == AttrKind::Tensor) value = a->t;
  if (!findDType(value.dtype()) || value.numel() != 1)
    c.fail("value must be one element of a TorchScript type");
  int rank = -1;
  if (auto s = c.constInts(0)) rank = static_cast<int>(s->size());
  c.set(0, call("torch.full", c.ints(0), elementLit(value, 0), "dtype=" + dtypeExpr(value.dtype())),
        value.dtype(), rank);
}

void rangeOp(NodeCtx& c) {
  DType dt = c.dtype(0);
  if (!findDType(dt) || dt == DType::Bool) c.fail("unsupported type {}", dtypeName(dt));
  auto scalar = [&](size_t i) {
    if (auto lit = c.scalarLit(i, 0)) return *lit;
    return call(isFloat(dt) ? "float" : "int", c.in(i));
  };
  c.set(0, call("torch.arange", scalar(0), scalar(1), scalar(2), "dtype=" + dtypeExpr(dt)), dt, 1);
}

void sliceOp(NodeCtx& c) {
  std::string x = c.in(0);
  int rank = c.rank(0);
  // Starts/ends/axes/steps: attributes before opset 10, inputs since.
  std::optional<std::vector<int64_t>> starts, ends, axes, steps;
  std::string dyn_starts, dyn_ends, dyn_steps;
  size_t count = 0;
  if (c.opset() < 10) {
    starts = c.attrInts("starts");
    ends = c.attrInts("ends");
    if (c.hasAttr("axes")) axes = c.attrInts("axes");
    count = starts->size();
  } else {
    starts = c.constInts(1);
    ends = c.constInts(2);
    if (c.has(3)) axes = c.requireInts(3, "axes");
    if (c.has(4)) {
      steps = c.constInts(4);
      if (!steps) dyn_steps = c.temp(c.ints(4));
    }
    if (!starts) dyn_starts = c.temp(c.ints(1));
    if (!ends) dyn_ends = c.temp(c.ints(2));
    if (starts)
      count = starts->size();
    else if (ends)
      count = ends->size();
    else if (axes)
      count = axes->size();
    else if (auto s = c.node().input(1)->type().shape(); s && s->size() == 1 && (*s)[0].isKnown())
      count = static_cast<size_t>((*s)[0].value);
    else
      c.fail("the number of sliced axes is unknown (starts, ends and axes are all dynamic)");
  }
  std::string e = x;
  for (size_t i = 0; i < count; ++i) {
    int64_t axis = axes ? (*axes)[i] : static_cast<int64_t>(i);
    std::string start = starts ? intLit((*starts)[i]) : fmt::format("{}[{}]", dyn_starts, i);
    std::string end = ends ? intLit((*ends)[i]) : fmt::format("{}[{}]", dyn_ends, i);
    std::string step = steps               ? intLit((*steps)[i])
                       : dyn_steps.empty() ? "1"
                                           : fmt::format("{}[{}]", dyn_steps, i);
    if (steps && (*steps)[i] == 0) c.fail("a step of 0");
    if (!dyn_steps.empty()) {
      c.use(Helper::Slice);
      c.use(Helper::SliceBack);
      e = call("self._slice", e, intLit(axis), start, end, step);
    } else if (steps && (*steps)[i] < 0) {
      c.use(Helper::SliceBack);
      e = call("self._slice_back", e, intLit(axis), start, end, step);
    } else {
      e = call("torch.slice", e, intLit(axis), start, end, step);
    }
  }
  c.set(0, e, c.dtype(0), rank);
}

void splitOp(NodeCtx& c) {
  std::string x = c.in(0);
  int64_t axis = c.attrInt("axis", 0);
  size_t n = c.numOutputs();
  std::string e;
  if (c.opset() >= 13 && c.has(1))
    e = call("torch.split_with_sizes", x, c.ints(1), intLit(axis));
  else if (c.opset() < 13 && c.hasAttr("split"))
    e = call("torch.split_with_sizes", x, intList(c.attrInts("split")), intLit(axis));
  else  // equal parts (opset 18: the last may be smaller), as torch.chunk cuts them
    e = call("torch.chunk", x, intLit(static_cast<int64_t>(n)), intLit(axis));
  c.setAll(e, std::vector<DType>(n, c.dtype(0)), std::vector<int>(n, c.rank(0)));
}

void tileOp(NodeCtx& c) {
  c.set(0, c.in(0) + ".repeat(" + c.ints(1) + ")", c.dtype(0), c.rank(0));
}

void padOp(NodeCtx& c) {
  std::string mode = c.attrString("mode", "constant");
  std::string torch_mode = mode == "constant"  ? "constant"
                           : mode == "reflect" ? "reflect"
                           : mode == "edge"    ? "replicate"
                           : mode == "wrap"    ? "circular"
                                               : "";
  if (torch_mode.empty()) c.fail("unknown mode '{}'", mode);
  std::string x = c.in(0);
  int rank = c.rank(0);
  std::string value = "None";
  std::optional<std::vector<int64_t>> pads;
  std::string pad_expr;
  if (c.opset() < 11) {
    pads = c.attrInts("pads");
    value = floatLit(c.attrFloat("value", 0.0f));
  } else {
    pads = c.constInts(1);
    if (c.has(2)) {
      auto lit = c.scalarLit(2, 0);
      value = lit ? *lit : call("float", c.in(2));
    }
    if (c.has(3)) {  // opset 18: pads cover only these axes
      if (!pads) c.fail("pads must be constant when axes are given");
      if (rank < 0) c.fail("axes need the input's rank, which is unknown");
      std::vector<int64_t> axes = c.requireInts(3, "axes");
      std::vector<int64_t> full(2 * static_cast<size_t>(rank), 0);
      for (size_t i = 0; i < axes.size(); ++i) {
        int64_t a = normAxis(c, axes[i], rank);
        full[static_cast<size_t>(a)] = (*pads)[i];
        full[static_cast<size_t>(a + rank)] = (*pads)[i + axes.size()];
      }
      pads = full;
    }
  }
  if (pads) {
    size_t r = pads->size() / 2;
    std::vector<int64_t> tp;
    for (size_t j = 0; j < r; ++j) {
      tp.push_back((*pads)[r - 1 - j]);
      tp.push_back((*pads)[2 * r - 1 - j]);
    }
    // reflect/replicate take only the trailing dimensions they pad
    while (tp.size() > 2 && tp[tp.size() - 1] == 0 && tp[tp.size() - 2] == 0)
      tp.resize(tp.size() - 2);
    pad_expr = intList(tp);
  } else {
    c.use(Helper::TorchPads);
    pad_expr = call("self._torch_pads", c.ints(1));
  }
  std::string e = torch_mode == "constant"
                      ? call("torch.pad", x, pad_expr, "\"constant\"", value)
                      : call("torch.pad", x, pad_expr, "\"" + torch_mode + "\"");
  c.set(0, e, c.dtype(0), rank);
}

void softmaxOp(NodeCtx& c) {
  int rank = c.rank(0);
  int64_t axis = c.attrInt("axis", c.opset() >= 13 ? -1 : 1);
  std::string x = c.in(0);
  bool last = axis == -1 || (rank >= 0 && axis == rank - 1);
  if (c.opset() >= 13 || last) {
    c.set(0, call(c.fn(), x, intLit(axis)), c.dtype(0), rank);
    return;
  }
  // Before opset 13 the input is seen as 2-D [prod(dims[:axis]), prod(dims[axis:])].
  std::string flat = call("torch.reshape", x, x + ".size()[:" + intLit(axis) + "] + [-1]");
  c.set(0, call("torch.reshape", call(c.fn(), flat, "-1"), x + ".size()"), c.dtype(0), rank);
}

void matmulOp(NodeCtx& c) {
  int ra = c.rank(0), rb = c.rank(1);
  int rank = ra < 0 || rb < 0 ? -1 : std::max(ra, rb) - (ra == 1) - (rb == 1);
  c.set(0, call("torch.matmul", c.in(0), c.in(1)), c.dtype(0), rank);
}

void gemmOp(NodeCtx& c) {
  float alpha = c.attrFloat("alpha", 1.0f), beta = c.attrFloat("beta", 1.0f);
  bool ta = c.attrInt("transA", 0) != 0, tb = c.attrInt("transB", 0) != 0;
  std::string a = c.in(0), b = c.in(1);
  bool has_c = c.has(2) && beta != 0.0f;
  if (!ta && tb && alpha == 1.0f && (!has_c || (beta == 1.0f && c.rank(2) == 1))) {
    c.set(0, call("torch.linear", a, b, has_c ? c.in(2) : "None"), c.dtype(0), 2);
    return;
  }
  if (ta) a = call("torch.t", a);
  if (tb) b = call("torch.t", b);
  std::string e;
  if (has_c)
    e = call("torch.addmm", c.in(2), a, b, "beta=" + floatLit(beta), "alpha=" + floatLit(alpha));
  else if (alpha != 1.0f)
    e = call("torch.mul", call("torch.mm", a, b), floatLit(alpha));
  else
    e = call("torch.mm", a, b);
  c.set(0, e, c.dtype(0), 2);
}

// Spatial rank of a conv/pool node: from kernel_shape, the weight, or the input.
int spatialRank(NodeCtx& c, bool has_weight) {
  if (c.hasAttr("kernel_shape")) return static_cast<int>(c.attrInts("kernel_shape").size());
  if (has_weight && c.rank(1) >= 3) return c.rank(1) - 2;
  if (c.rank(0) >= 3) return c.rank(0) - 2;
  c.fail("cannot tell the number of spatial dimensions (no kernel_shape, rank unknown)");
}

// torch padding order for explicit ONNX pads: last spatial dim first.
std::vector<int64_t> torchPads(const std::vector<int64_t>& pads) {
  size_t n = pads.size() / 2;
  std::vector<int64_t> out;
  for (size_t j = 0; j < n; ++j) {
    out.push_back(pads[n - 1 - j]);
    out.push_back(pads[2 * n - 1 - j]);
  }
  return out;
}

bool symmetric(const std::vector<int64_t>& pads) {
  size_t n = pads.size() / 2;
  for (size_t i = 0; i < n; ++i)
    if (pads[i] != pads[i + n]) return false;
  return true;
}

// The input after ONNX padding that torch cannot express in the op itself (asymmetric or
// auto_pad SAME), and the symmetric padding left for the op.
struct ConvPadding {
  std::string input;
  std::vector<int64_t> padding;
};

ConvPadding convPadding(NodeCtx& c, int n, const std::string& x, const std::string& kernel,
                        const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations,
                        const std::string& fill, bool force_explicit = false) {
  std::string auto_pad = c.attrString("auto_pad", "NOTSET");
  std::vector<int64_t> zeros(static_cast<size_t>(n), 0);
  if (auto_pad == "VALID") return {x, zeros};
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    c.use(Helper::SamePads);
    std::string pads = call("self._same_pads", x + ".size()", kernel, intList(strides),
                            intList(dilations), boolLit(auto_pad == "SAME_UPPER"));
    return {c.temp(call("torch.constant_pad_nd", x, pads, fill)), zeros};
  }
  if (auto_pad != "NOTSET") c.fail("unknown auto_pad '{}'", auto_pad);
  std::vector<int64_t> pads = c.attrInts("pads", 2 * static_cast<size_t>(n), 0);
  if (symmetric(pads) && !force_explicit)
    return {x, std::vector<int64_t>(pads.begin(), pads.begin() + n)};
  return {c.temp(call("torch.constant_pad_nd", x, intList(torchPads(pads)), fill)), zeros};
}

void convOp(NodeCtx& c) {
  int n = spatialRank(c, true);
  if (n < 1 || n > 3) c.fail("{}-D convolution is not supported", n);
  auto strides = c.attrInts("strides", static_cast<size_t>(n), 1);
  auto dilations = c.attrInts("dilations", static_cast<size_t>(n), 1);
  std::string w = c.in(1);
  std::string kernel =
      c.hasAttr("kernel_shape") ? intList(c.attrInts("kernel_shape")) : w + ".size()[2:]";
  ConvPadding p = convPadding(c, n, c.in(0), kernel, strides, dilations, "0.0");
  std::string fn = fmt::format("torch.conv{}d", n);
  c.set(0,
        call(fn, p.input, w, c.has(2) ? c.in(2) : "None", intList(strides), intList(p.padding),
             intList(dilations), intLit(c.attrInt("group", 1))),
        c.dtype(0), n + 2);
}

void convTransposeOp(NodeCtx& c) {
  int n = spatialRank(c, true);
  if (n < 1 || n > 3) c.fail("{}-D transposed convolution is not supported", n);
  if (c.hasAttr("output_shape")) c.fail("output_shape is not supported; give pads instead");
  std::string auto_pad = c.attrString("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID") c.fail("auto_pad={} is not supported", auto_pad);
  auto strides = c.attrInts("strides", static_cast<size_t>(n), 1);
  auto dilations = c.attrInts("dilations", static_cast<size_t>(n), 1);
  auto out_pad = c.attrInts("output_padding", static_cast<size_t>(n), 0);
  auto pads = auto_pad == "VALID" ? std::vector<int64_t>(2 * static_cast<size_t>(n), 0)
                                  : c.attrInts("pads", 2 * static_cast<size_t>(n), 0);
  std::string fn = fmt::format("torch.conv_transpose{}d", n);
  std::string b = c.has(2) ? c.in(2) : "None";
  std::string group = intLit(c.attrInt("group", 1));
  if (symmetric(pads)) {
    std::vector<int64_t> padding(pads.begin(), pads.begin() + n);
    c.set(0,
          call(fn, c.in(0), c.in(1), b, intList(strides), intList(padding), intList(out_pad), group,
               intList(dilations)),
          c.dtype(0), n + 2);
    return;
  }
  // Asymmetric: no padding in the op, then crop each side (pads remove output for ConvTranspose).
  std::string y = c.temp(call(fn, c.in(0), c.in(1), b, intList(strides),
                              intList(std::vector<int64_t>(static_cast<size_t>(n), 0)),
                              intList(out_pad), group, intList(dilations)));
  for (int i = 0; i < n; ++i) {
    int64_t begin = pads[static_cast<size_t>(i)], end = pads[static_cast<size_t>(i + n)];
    std::string d = intLit(i + 2);
    std::string cropped = call("torch.narrow", y, d, intLit(begin),
                               fmt::format("{}.size({}) - {}", y, d, begin + end));
    if (i + 1 == n) return c.set(0, cropped, c.dtype(0), n + 2);
    y = c.temp(cropped);
  }
}

void maxPoolOp(NodeCtx& c) {
  if (c.wants(1)) c.fail("the Indices output is not supported");
  int n = spatialRank(c, false);
  if (n < 1 || n > 3) c.fail("{}-D pooling is not supported", n);
  auto kernel = c.attrInts("kernel_shape");
  auto strides = c.attrInts("strides", static_cast<size_t>(n), 1);
  auto dilations = c.attrInts("dilations", static_cast<size_t>(n), 1);
  auto pads = c.attrInts("pads", 2 * static_cast<size_t>(n), 0);
  bool too_big = false;  // torch allows at most half the kernel as padding
  for (int i = 0; i < n; ++i)
    too_big = too_big || pads[static_cast<size_t>(i)] > kernel[static_cast<size_t>(i)] / 2;
  ConvPadding p =
      convPadding(c, n, c.in(0), intList(kernel), strides, dilations, "float(\"-inf\")", too_big);
  c.set(0,
        call(fmt::format("torch.max_pool{}d", n), p.input, intList(kernel), intList(strides),
             intList(p.padding), intList(dilations), boolLit(c.attrInt("ceil_mode", 0))),
        c.dtype(0), n + 2);
}

void avgPoolOp(NodeCtx& c) {
  int n = spatialRank(c, false);
  if (n < 1 || n > 3) c.fail("{}-D pooling is not supported", n);
  auto kernel = c.attrInts("kernel_shape");
  auto strides = c.attrInts("strides", static_cast<size_t>(n), 1);
  auto dilations = c.attrInts("dilations", static_cast<size_t>(n), 1);
  for (int64_t d : dilations)
    if (d != 1) c.fail("dilations are not supported");
  bool count_pad = c.attrInt("count_include_pad", 0) != 0;
  std::string ceil = boolLit(c.attrInt("ceil_mode", 0));
  std::string fn = fmt::format("torch.avg_pool{}d", n);
  auto pool = [&](const std::string& in, const std::vector<int64_t>& padding, bool include) {
    return call(fn, in, intList(kernel), intList(strides), intList(padding), ceil,
                boolLit(include));
  };
  std::string x = c.in(0);
  ConvPadding p = convPadding(c, n, x, intList(kernel), strides, dilations, "0.0");
  if (p.input == x || count_pad) {
    c.set(0, pool(p.input, p.padding, count_pad), c.dtype(0), n + 2);
    return;
  }
  // Explicit padding the average must not count: divide by the average of an all-ones input
  // padded the same way (= the fraction of real elements under each window).
  std::string ones = call("torch.ones_like", x);
  ConvPadding q = convPadding(c, n, ones, intList(kernel), strides, dilations, "0.0");
  c.set(0, call("torch.div", pool(p.input, p.padding, true), pool(q.input, q.padding, true)),
        c.dtype(0), n + 2);
}

std::string dimsFrom(NodeCtx& c, int start, int rank, const std::string& x) {
  if (rank >= 0) {
    std::vector<int64_t> dims;
    for (int i = start; i < rank; ++i)
      dims.push_back(i);
    return intList(dims);
  }
  c.use(Helper::DimsFrom);
  return call("self._dims_from", x, intLit(start));
}

void globalPoolOp(NodeCtx& c) {
  std::string x = c.in(0);
  const char* fn = c.node().is("GlobalMaxPool") ? "torch.amax" : "torch.mean";
  c.set(0, call(fn, x, dimsFrom(c, 2, c.rank(0), x), "True"), c.dtype(0), c.rank(0));
}

void batchNormOp(NodeCtx& c) {
  if (c.attrInt("training_mode", 0) != 0 || c.wants(1) || c.wants(2))
    c.fail("training mode is not supported");
  c.set(0,
        call("torch.batch_norm", c.in(0), c.in(1), c.in(2), c.in(3), c.in(4), "False", "0.0",
             floatLit(c.attrFloat("epsilon", 1e-5f)), "False"),
        c.dtype(0), c.rank(0));
}

void instanceNormOp(NodeCtx& c) {
  c.set(0,
        call("torch.instance_norm", c.in(0), c.in(1), c.in(2), "None", "None", "True", "0.0",
             floatLit(c.attrFloat("epsilon", 1e-5f)), "False"),
        c.dtype(0), c.rank(0));
}

void layerNormOp(NodeCtx& c) {
  if (c.wants(1) || c.wants(2)) c.fail("the Mean and InvStdDev outputs are not supported");
  int rank = c.rank(0);
  int64_t axis = c.attrInt("axis", -1);
  std::string x = c.in(0);
  std::string shape = x + ".size()[" + intLit(axis) + ":]";
  if (auto scale = c.constant(1)) {
    int64_t covered = axis < 0 ? -axis : (rank < 0 ? -1 : rank - axis);
    if (covered == static_cast<int64_t>(scale->dims().size())) shape = intList(scale->dims());
  }
  c.set(0,
        call("torch.layer_norm", x, shape, c.in(1), c.has(2) ? c.in(2) : "None",
             floatLit(c.attrFloat("epsilon", 1e-5f))),
        c.dtype(0), rank);
}

void lpNormOp(NodeCtx& c) {
  std::string x = c.in(0);
  int64_t p = c.attrInt("p", 2);
  std::string axis = intList({c.attrInt("axis", -1)});
  std::string norm =
      p == 1 ? call("torch.sum", call("torch.abs", x), axis, "True")
             : call("torch.sqrt", call("torch.sum", call("torch.mul", x, x), axis, "True"));
  c.set(0, call("torch.div", x, norm), c.dtype(0), c.rank(0));
}

void reduceOp(NodeCtx& c) {
  const std::string& op = c.node().opType();
  std::string x = c.in(0);
  DType dt = c.dtype(0);
  int rank = c.rank(0);
  bool keep = c.attrInt("keepdims", 1) != 0;
  bool axes_input = c.opset() >= 18 || (op == "ReduceSum" && c.opset() >= 13);
  std::optional<std::vector<int64_t>> axes;
  std::string axes_expr;
  if (!axes_input) {
    axes = c.attrInts("axes");
  } else if (!c.has(1)) {
    axes = std::vector<int64_t>{};
  } else if (auto v = c.constInts(1)) {
    axes = *v;
  } else {
    if (c.attrInt("noop_with_empty_axes", 0)) c.fail("dynamic axes with noop_with_empty_axes");
    axes_expr = c.ints(1);  // torch reduces every dimension for an empty list, as ONNX does
  }
  int out_rank = -1;
  if (axes) {
    if (axes->empty() && c.attrInt("noop_with_empty_axes", 0)) return c.alias(0, x, dt, rank);
    if (axes->empty()) {
      axes_expr = dimsFrom(c, 0, rank, x);
      out_rank = keep ? rank : 0;
    } else {
      for (int64_t& a : *axes)
        a = normAxis(c, a, rank);
      axes_expr = intList(*axes);
      out_rank = rank < 0 ? -1 : keep ? rank : rank - static_cast<int>(axes->size());
    }
  }
  std::string k = boolLit(keep);
  // torch sums small integer types into int64; ONNX keeps the type.
  std::string dtype_arg = isFloat(dt) ? "" : "dtype=" + dtypeExpr(dt);
  auto sum = [&](const std::string& in) {
    return dtype_arg.empty() ? call("torch.sum", in, axes_expr, k)
                             : call("torch.sum", in, axes_expr, k, dtype_arg);
  };
  std::string e;
  if (op == "ReduceSum") {
    e = sum(x);
  } else if (op == "ReduceMean") {
    if (!isFloat(dt)) c.fail("ReduceMean of {} is not supported", dtypeName(dt));
    e = call("torch.mean", x, axes_expr, k);
  } else if (op == "ReduceMax") {
    e = call("torch.amax", x, axes_expr, k);
  } else if (op == "ReduceMin") {
    e = call("torch.amin", x, axes_expr, k);
  } else if (op == "ReduceL1") {
    e = sum(call("torch.abs", x));
  } else if (op == "ReduceL2") {
    e = call("torch.sqrt", sum(call("torch.mul", x, x)));
  } else if (op == "ReduceSumSquare") {
    e = sum(call("torch.mul", x, x));
  } else if (op == "ReduceLogSum") {
    e = call("torch.log", sum(x));
  } else if (op == "ReduceLogSumExp") {
    e = call("torch.logsumexp", x, axes_expr, k);
  } else if (op == "ReduceProd") {
    if (!axes) c.fail("dynamic axes are not supported for ReduceProd");
    std::vector<int64_t> dims = *axes;
    if (dims.empty()) {
      if (rank < 0) c.fail("reducing every axis needs the input's rank, which is unknown");
      for (int i = 0; i < rank; ++i)
        dims.push_back(i);
    }
    std::sort(dims.rbegin(), dims.rend());  // last first, so the others keep their positions
    e = x;
    for (int64_t d : dims)
      e = dtype_arg.empty() ? call("torch.prod", e, intLit(d), k)
                            : call("torch.prod", e, intLit(d), k, dtype_arg);
  } else {
    c.fail("unknown reduction");
  }
  c.set(0, e, dt, out_rank);
}

void argOp(NodeCtx& c) {
  const char* fn = c.node().is("ArgMax") ? "torch.argmax" : "torch.argmin";
  int rank = c.rank(0);
  int64_t axis = c.attrInt("axis", 0);
  bool keep = c.attrInt("keepdims", 1) != 0;
  std::string x = c.in(0);
  int out_rank = rank < 0 ? -1 : keep ? rank : rank - 1;
  if (c.attrInt("select_last_index", 0)) {  // torch returns the first of equal values
    std::string flipped =
        call(fn, call("torch.flip", x, intList({axis})), intLit(axis), boolLit(keep));
    c.set(0, call("torch.rsub", flipped, fmt::format("{}.size({}) - 1", x, intLit(axis))),
          DType::I64, out_rank);
    return;
  }
  c.set(0, call(fn, x, intLit(axis), boolLit(keep)), DType::I64, out_rank);
}

void topKOp(NodeCtx& c) {
  std::string k = c.opset() < 10 ? intLit(c.attrInt("k", 0)) : c.intScalar(1);
  std::string e = call("torch.topk", c.in(0), k, intLit(c.attrInt("axis", -1)),
                       boolLit(c.attrInt("largest", 1)), boolLit(c.attrInt("sorted", 1)));
  c.setAll(e, {c.dtype(0), DType::I64}, {c.rank(0), c.rank(0)});
}

void cumSumOp(NodeCtx& c) {
  std::string x = c.in(0);
  std::string axis = c.intScalar(1);
  DType dt = c.dtype(0);
  std::string dtype_arg = "dtype=" + dtypeExpr(dt);
  bool reverse = c.attrInt("reverse", 0) != 0, exclusive = c.attrInt("exclusive", 0) != 0;
  std::string in = reverse ? call("torch.flip", x, "[" + axis + "]") : x;
  std::string e = call("torch.cumsum", in, axis, dtype_arg);
  if (exclusive) e = call("torch.sub", e, in);
  if (reverse) e = call("torch.flip", e, "[" + axis + "]");
  c.set(0, e, dt, c.rank(0));
}

void nonZeroOp(NodeCtx& c) {
  c.set(0, call("torch.transpose", call("torch.nonzero", c.in(0)), "0", "1"), DType::I64, 2);
}

void triluOp(NodeCtx& c) {
  const char* fn = c.attrInt("upper", 1) ? "torch.triu" : "torch.tril";
  c.set(0, call(fn, c.in(0), c.has(1) ? c.intScalar(1) : "0"), c.dtype(0), c.rank(0));
}

void oneHotOp(NodeCtx& c) {
  std::string depth = call("int", c.in(1));
  if (auto lit = c.scalarLit(1, 0)) depth = isFloat(c.dtype(1)) ? call("int", *lit) : *lit;
  std::string idx = c.in(0);
  if (c.dtype(0) != DType::I64) idx += ".to(torch.int64)";
  c.use(Helper::WrapIndex);
  idx = call("self._wrap_index", idx, depth);
  std::string hot = call("torch.eq", call("torch.unsqueeze", idx, "-1"),
                         call("torch.arange", depth, "dtype=torch.int64"));
  std::string vals = c.in(2);
  std::string e = call("torch.where", hot, call("torch.select", vals, "0", "1"),
                       call("torch.select", vals, "0", "0"));
  int rank = c.rank(0) < 0 ? -1 : c.rank(0) + 1;
  int64_t axis = c.attrInt("axis", -1);
  if (axis != -1 && !(rank >= 0 && axis == rank - 1))
    e = call("torch.movedim", e, "-1", intLit(axis));
  c.set(0, e, c.dtype(2), rank);
}

void depthToSpaceOp(NodeCtx& c) {
  std::string x = c.in(0);
  int64_t bs = c.attrInt("blocksize", 0);
  std::string b = intLit(bs);
  if (c.node().is("DepthToSpace") && c.attrString("mode", "DCR") == "CRD") {
    c.set(0, call("torch.pixel_shuffle", x, b), c.dtype(0), 4);
    return;
  }
  auto dim = [&](int i) { return fmt::format("{}.size({})", x, i); };
  std::string e;
  if (c.node().is("DepthToSpace")) {  // DCR: depth is (block_h, block_w, channel)
    std::string ch = fmt::format("{} // {}", dim(1), bs * bs);
    e = call("torch.reshape", x, exprList({dim(0), b, b, ch, dim(2), dim(3)}));
    e = call("torch.permute", e, "[0, 3, 4, 1, 5, 2]");
    e = call("torch.reshape", e,
             exprList({dim(0), ch, fmt::format("{} * {}", dim(2), bs),
                       fmt::format("{} * {}", dim(3), bs)}));
  } else {  // SpaceToDepth: depth becomes (block_h, block_w, channel)
    std::string h = fmt::format("{} // {}", dim(2), bs), w = fmt::format("{} // {}", dim(3), bs);
    e = call("torch.reshape", x, exprList({dim(0), dim(1), h, b, w, b}));
    e = call("torch.permute", e, "[0, 3, 5, 1, 2, 4]");
    e = call("torch.reshape", e, exprList({dim(0), fmt::format("{} * {}", dim(1), bs * bs), h, w}));
  }
  c.set(0, e, c.dtype(0), 4);
}

void einsumOp(NodeCtx& c) {
  std::vector<std::string> ops;
  for (size_t i = 0; i < c.numInputs(); ++i)
    ops.push_back(c.in(i));
  std::string eq = c.attrString("equation", "");
  if (eq.find_first_of("\"\\") != std::string::npos) c.fail("malformed equation");
  c.set(0, call("torch.einsum", "\"" + eq + "\"", exprList(ops)), c.dtype(0), -1);
}

void resizeOp(NodeCtx& c) {
  int rank = c.rank(0);
  std::string x = c.in(0);
  std::string mode = c.attrString("mode", "nearest");
  std::string ctm = c.attrString("coordinate_transformation_mode", "half_pixel");
  std::string nearest = c.attrString("nearest_mode", "round_prefer_floor");
  if (c.opset() < 11) {  // Resize-10: asymmetric coordinates, nearest rounds down
    ctm = "asymmetric";
    nearest = "floor";
  }
  if (c.attrInt("antialias", 0)) c.fail("antialias is not supported");
  if (c.hasAttr("axes")) c.fail("the axes attribute is not supported");
  if (c.attrString("keep_aspect_ratio_policy", "stretch") != "stretch")
    c.fail("keep_aspect_ratio_policy is not supported");
  // sizes win over scales; an empty tensor counts as absent
  size_t scales_at = c.opset() < 11 ? 1 : 2;
  auto absent = [&](size_t i) {
    if (!c.has(i)) return true;
    auto t = c.constant(i);
    return t && t->numel() == 0;
  };
  bool use_sizes = c.opset() >= 11 && !absent(3);
  if (!use_sizes && absent(scales_at)) c.fail("neither scales nor sizes is given");
  size_t which = use_sizes ? 3 : scales_at;
  int n = rank >= 0 ? rank - 2 : -1;
  if (auto t = c.constant(which)) n = static_cast<int>(t->numel()) - 2;
  if (n < 1 || n > 3) c.fail("only 1-D to 3-D spatial resizing is supported");
  std::string sizes = "None", scales = "None";
  if (use_sizes) {
    if (auto v = c.constInts(3))
      sizes = intList(std::vector<int64_t>(v->begin() + 2, v->end()));
    else
      sizes = c.ints(3) + "[2:]";
  } else if (auto t = c.constant(scales_at)) {
    std::vector<std::string> s;
    for (int64_t i = 0; i < t->numel(); ++i) {
      double v = elementAsDouble(*t, i);
      if (i < 2 && v != 1.0) c.fail("scaling the batch or channel dimension is not supported");
      if (i >= 2) s.push_back(floatLit(v));
    }
    scales = exprList(s);
  } else {
    c.use(Helper::Floats);
    scales = call("self._floats", c.in(scales_at)) + "[2:]";
  }
  static const char* kLinear[] = {"", "linear1d", "bilinear2d", "trilinear3d"};
  std::string fn;
  std::vector<std::string> args{x, sizes};
  if (mode == "nearest") {
    if (ctm == "asymmetric" && nearest == "floor")
      fn = fmt::format("torch.upsample_nearest{}d", n);
    else if ((ctm == "half_pixel" || ctm == "pytorch_half_pixel") && nearest == "round_prefer_ceil")
      fn = fmt::format("torch._upsample_nearest_exact{}d", n);
    else
      c.fail("nearest resizing with {} coordinates and {} rounding is not supported", ctm, nearest);
  } else if (mode == "linear" || mode == "cubic") {
    bool align = ctm == "align_corners";
    if (!align && ctm != "half_pixel" && ctm != "pytorch_half_pixel")
      c.fail("{} resizing with {} coordinates is not supported", mode, ctm);
    if (mode == "cubic") {
      if (n != 2) c.fail("cubic resizing is supported in 2-D only");
      if (c.attrFloat("cubic_coeff_a", -0.75f) != -0.75f || c.attrInt("exclude_outside", 0))
        c.fail("cubic resizing supports only cubic_coeff_a=-0.75 without exclude_outside");
      fn = "torch.upsample_bicubic2d";
    } else {
      fn = std::string("torch.upsample_") + kLinear[n];
    }
    args.push_back(boolLit(align));
  } else {
    c.fail("unknown mode '{}'", mode);
  }
  args.push_back(scales);
  std::string e = fn + "(";
  for (size_t i = 0; i < args.size(); ++i)
    e += (i ? ", " : "") + args[i];
  c.set(0, e + ")", c.dtype(0), n + 2);
}

// --- quantization --------------------------------------------------------------------------------

// A per-axis quantization parameter shaped to broadcast against `x` along `axis` (per tensor:
// unchanged).
std::string alongAxis(NodeCtx& c, size_t param, int64_t axis, int x_rank, const std::string& x) {
  std::string p = c.in(param);
  if (c.rank(param) == 0) return p;
  if (auto t = c.constant(param); t && t->numel() == 1) return p;
  if (x_rank >= 0) {
    int64_t a = normAxis(c, axis, x_rank);
    std::vector<int64_t> shape(static_cast<size_t>(x_rank), 1);
    shape[static_cast<size_t>(a)] = -1;
    return call("torch.reshape", p, intList(shape));
  }
  c.use(Helper::PerAxis);
  return call("self._per_axis", p, intLit(axis), x + ".dim()");
}

// Folds a constant DequantizeLinear into a float weight when the options ask for it.
bool foldDequantize(NodeCtx& c, int64_t axis) {
  if (c.writer().options().keep_quantized_weights) return false;
  auto x = c.constant(0), s = c.constant(1);
  auto zp = c.has(2) ? c.constant(2) : std::nullopt;
  if (!x || !s || (c.has(2) && !zp)) return false;
  if (!findDType(x->dtype()) || !findDType(s->dtype()) || (zp && !findDType(zp->dtype())))
    return false;
  at::Tensor xt = toAten(*x).to(at::kInt), st = toAten(*s);
  at::Tensor zt = zp ? toAten(*zp).to(at::kInt) : at::zeros({}, at::kInt);
  int64_t rank = xt.dim();
  if (st.dim() == 1 && st.numel() > 1) {
    int64_t a = axis < 0 ? axis + rank : axis;
    std::vector<int64_t> shape(static_cast<size_t>(rank), 1);
    shape[static_cast<size_t>(a)] = -1;
    st = st.reshape(shape);
    if (zt.dim() == 1) zt = zt.reshape(shape);
  }
  at::Tensor w = (xt - zt).to(st.scalar_type()) * st;
  c.alias(0, c.writer().registerTensor(c.node().output(0)->name(), w), s->dtype(),
          static_cast<int>(rank));
  return true;
}

void dequantizeOp(NodeCtx& c) {
  if (c.attrInt("block_size", 0) != 0) c.fail("blocked quantization is not supported");
  int64_t axis = c.attrInt("axis", 1);
  if (foldDequantize(c, axis)) return;
  DType in = c.dtype(0), out = c.dtype(1);
  if (in != DType::I8 && in != DType::U8 && in != DType::I32 && in != DType::I16)
    c.fail("quantized type {} is not supported", dtypeName(in));
  int rank = c.rank(0);
  std::string x = c.in(0);
  // (x - zero_point) is taken in int32, then converted, as ONNX Runtime does.
  std::string q = x + ".to(torch.int32)";
  if (c.has(2) && !c.isZero(2)) {
    auto zp_lit = c.scalarLit(2, 0);
    q = call("torch.sub", q,
             zp_lit ? *zp_lit : alongAxis(c, 2, axis, rank, x) + ".to(torch.int32)");
  }
  auto scale_lit = c.scalarLit(1, 0);
  std::string scale = scale_lit ? *scale_lit : alongAxis(c, 1, axis, rank, x);
  c.set(0, call("torch.mul", q + ".to(" + dtypeExpr(out) + ")", scale), out, rank);
}

void quantizeOp(NodeCtx& c) {
  if (c.attrInt("block_size", 0) != 0) c.fail("blocked quantization is not supported");
  int64_t axis = c.attrInt("axis", 1);
  DType out = c.has(2) ? c.dtype(2) : DType::U8;
  int64_t lo = 0, hi = 0;
  switch (out) {
    case DType::U8:
      lo = 0, hi = 255;
      break;
    case DType::I8:
      lo = -128, hi = 127;
      break;
    case DType::I16:
      lo = -32768, hi = 32767;
      break;
    default:
      c.fail("quantizing to {} is not supported", dtypeName(out));
  }
  int rank = c.rank(0);
  std::string x = c.in(0);
  auto scale_lit = c.scalarLit(1, 0);
  std::string scale = scale_lit ? *scale_lit : alongAxis(c, 1, axis, rank, x);
  // round(x / scale) + zero_point, saturated: ONNX Runtime's order of float operations.
  std::string e = call("torch.round", call("torch.div", x, scale));
  if (c.has(2) && !c.isZero(2)) {
    auto zp_lit = c.scalarLit(2, 0);
    e = call(
        "torch.add", e,
        zp_lit ? *zp_lit : alongAxis(c, 2, axis, rank, x) + ".to(" + dtypeExpr(c.dtype(0)) + ")");
  }
  e = call("torch.clamp", e, floatLit(static_cast<double>(lo)), floatLit(static_cast<double>(hi)));
  c.set(0, e + ".to(" + dtypeExpr(out) + ")", out, rank);
}

void dynamicQuantizeOp(NodeCtx& c) {
  c.use(Helper::DynamicQuantize);
  c.setAll(call("self._dynamic_quantize", c.in(0)), {DType::U8, DType::F32, DType::U8},
           {c.rank(0), 0, 0});
}

// (A - a_zero_point) @ (B - b_zero_point) in float64, where integer sums of products up to 2^53
// are exact, so the int32 result is ONNX's.
std::string integerOperand(NodeCtx& c, size_t x, size_t zp, bool per_row) {
  std::string e = c.in(x) + ".to(torch.float64)";
  if (!c.has(zp) || c.isZero(zp)) return e;
  auto lit = c.scalarLit(zp, 0);
  std::string z = lit ? *lit : c.in(zp) + ".to(torch.float64)";
  if (!lit && per_row && c.rank(zp) == 1) z = call("torch.unsqueeze", z, "-1");
  return call("torch.sub", e, z);
}

void matmulIntegerOp(NodeCtx& c) {
  std::string a = integerOperand(c, 0, 2, true), b = integerOperand(c, 1, 3, false);
  int ra = c.rank(0), rb = c.rank(1);
  int rank = ra < 0 || rb < 0 ? -1 : std::max(ra, rb);
  c.set(0, call("torch.matmul", a, b) + ".to(torch.int32)", DType::I32, rank);
}

void convIntegerOp(NodeCtx& c) {
  int n = spatialRank(c, true);
  if (n < 1 || n > 3) c.fail("{}-D convolution is not supported", n);
  auto strides = c.attrInts("strides", static_cast<size_t>(n), 1);
  auto dilations = c.attrInts("dilations", static_cast<size_t>(n), 1);
  std::string x = integerOperand(c, 0, 2, false);
  std::string w = c.in(1) + ".to(torch.float64)";
  if (c.has(3) && !c.isZero(3)) {
    auto lit = c.scalarLit(3, 0);
    w = call("torch.sub", w,
             lit ? *lit : alongAxis(c, 3, 0, n + 2, c.in(1)) + ".to(torch.float64)");
  }
  // Padding is with the zero point, i.e. with 0 after the subtraction.
  std::string kernel =
      c.hasAttr("kernel_shape") ? intList(c.attrInts("kernel_shape")) : c.in(1) + ".size()[2:]";
  ConvPadding p = convPadding(c, n, c.temp(x), kernel, strides, dilations, "0.0");
  c.set(0,
        call(fmt::format("torch.conv{}d", n), p.input, w, "None", intList(strides),
             intList(p.padding), intList(dilations), intLit(c.attrInt("group", 1))) +
            ".to(torch.int32)",
        DType::I32, n + 2);
}

// Requantizes an exact integer accumulator: round(acc * (sa * sb / sy)) + zy, saturated, in
// ONNX Runtime's float order.
std::string requantize(NodeCtx& c, const std::string& acc, const std::string& scale, size_t zy) {
  DType out = c.dtype(zy);
  int64_t lo = out == DType::I8 ? -128 : 0, hi = out == DType::I8 ? 127 : 255;
  std::string e = call("torch.round", call("torch.mul", acc + ".to(torch.float32)", scale));
  e = call("torch.add", e, c.in(zy) + ".to(torch.float32)");
  e = call("torch.clamp", e, floatLit(static_cast<double>(lo)), floatLit(static_cast<double>(hi)));
  return e + ".to(" + dtypeExpr(out) + ")";
}

void qlinearMatmulOp(NodeCtx& c) {
  // inputs: a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp
  std::string a = integerOperand(c, 0, 2, true), b = integerOperand(c, 3, 5, false);
  std::string sa = c.in(1);
  if (c.rank(1) == 1) sa = call("torch.unsqueeze", sa, "-1");
  std::string scale = call("torch.div", call("torch.mul", sa, c.in(4)), c.in(6));
  int ra = c.rank(0), rb = c.rank(3);
  c.set(0, requantize(c, c.temp(call("torch.matmul", a, b)), scale, 7), c.dtype(7),
        ra < 0 || rb < 0 ? -1 : std::max(ra, rb));
}

void qlinearConvOp(NodeCtx& c) {
  // inputs: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, bias (int32)
  int n = c.hasAttr("kernel_shape") ? static_cast<int>(c.attrInts("kernel_shape").size())
          : c.rank(3) >= 3          ? c.rank(3) - 2
                                    : c.rank(0) - 2;
  if (n < 1 || n > 3) c.fail("{}-D convolution is not supported", n);
  auto strides = c.attrInts("strides", static_cast<size_t>(n), 1);
  auto dilations = c.attrInts("dilations", static_cast<size_t>(n), 1);
  std::string x = integerOperand(c, 0, 2, false);
  std::string w = c.in(3) + ".to(torch.float64)";
  if (c.has(5) && !c.isZero(5)) {
    auto lit = c.scalarLit(5, 0);
    w = call("torch.sub", w,
             lit ? *lit : alongAxis(c, 5, 0, n + 2, c.in(3)) + ".to(torch.float64)");
  }
  std::string bias = c.has(8) ? c.in(8) + ".to(torch.float64)" : "None";
  std::string kernel =
      c.hasAttr("kernel_shape") ? intList(c.attrInts("kernel_shape")) : c.in(3) + ".size()[2:]";
  ConvPadding p = convPadding(c, n, c.temp(x), kernel, strides, dilations, "0.0");
  std::string acc =
      c.temp(call(fmt::format("torch.conv{}d", n), p.input, w, bias, intList(strides),
                  intList(p.padding), intList(dilations), intLit(c.attrInt("group", 1))));
  std::string ws = c.rank(4) == 1 ? alongAxis(c, 4, 1, n + 2, acc) : c.in(4);
  std::string scale = call("torch.div", call("torch.mul", c.in(1), ws), c.in(6));
  c.set(0, requantize(c, acc, scale, 7), c.dtype(7), n + 2);
}

// com.microsoft MatMulNBits: Y = A @ dequant(B)^T (+ bias). B is [N, blocks, block_size*bits/8]
// uint8 codes, low bits first; w = (code - zero_point) * scale per (row, block).
void matmulNBitsOp(NodeCtx& c) {
  int64_t K = c.attrInt("K", 0), N = c.attrInt("N", 0), bits = c.attrInt("bits", 4);
  int64_t block = c.attrInt("block_size", 0);
  if (bits != 4 && bits != 8) c.fail("{}-bit weights are not supported", bits);
  if (K <= 0 || N <= 0 || block <= 0) c.fail("K, N and block_size must be positive");
  if (c.has(4)) c.fail("g_idx is not supported");
  int64_t blocks = (K + block - 1) / block;
  DType dt = c.dtype(0);
  bool has_bias = c.numInputs() > 5 && c.has(5);
  int rank = c.rank(0);

  if (!c.writer().options().keep_quantized_weights) {
    auto b = c.constant(1), s = c.constant(2);
    auto zp = c.has(3) ? c.constant(3) : std::nullopt;
    if (b && s && (!c.has(3) || zp) && findDType(s->dtype()) && (!zp || findDType(zp->dtype()))) {
      auto unpack = [&](at::Tensor t) {
        if (bits == 8) return t;
        return at::stack({at::bitwise_and(t, 15), at::bitwise_right_shift(t, 4)}, -1).flatten(-2);
      };
      at::Tensor q = unpack(toAten(*b).reshape({N, blocks, -1})).to(at::kFloat);
      at::Tensor z = at::full({}, 1 << (bits - 1), at::kFloat);
      if (zp && isFloat(zp->dtype()))
        z = toAten(*zp).to(at::kFloat).reshape({N, blocks, 1});
      else if (zp)
        z = unpack(toAten(*zp).reshape({N, -1}))
                .narrow(1, 0, blocks)
                .to(at::kFloat)
                .reshape({N, blocks, 1});
      at::Tensor w = ((q - z) * toAten(*s).to(at::kFloat).reshape({N, blocks, 1}))
                         .reshape({N, -1})
                         .narrow(1, 0, K)
                         .to(findDType(dt)->scalar)
                         .contiguous();
      std::string wexpr = c.writer().registerTensor(c.node().output(0)->name() + "_weight", w);
      c.set(0, call("torch.linear", c.in(0), wexpr, has_bias ? c.in(5) : "None"), dt, rank);
      return;
    }
  }
  std::string codes = call("torch.reshape", c.in(1), intList({N, blocks, -1}));
  if (bits == 4) {
    c.use(Helper::UnpackUint4);
    codes = call("self._unpack_uint4", codes);
  }
  std::string zp = std::to_string(1 << (bits - 1));
  if (c.has(3)) {
    if (isFloat(c.dtype(3))) {
      zp = call("torch.reshape", c.in(3), intList({N, blocks, 1}));
    } else {
      std::string packed = call("torch.reshape", c.in(3), intList({N, -1}));
      if (bits == 4) packed = call("self._unpack_uint4", packed);
      zp = call("torch.reshape", call("torch.narrow", packed, "1", "0", intLit(blocks)),
                intList({N, blocks, 1})) +
           ".to(" + dtypeExpr(dt) + ")";
    }
  }
  std::string scales = call("torch.reshape", c.in(2), intList({N, blocks, 1}));
  std::string w =
      call("torch.mul", call("torch.sub", codes + ".to(" + dtypeExpr(dt) + ")", zp), scales);
  w = call("torch.reshape", w, intList({N, blocks * block}));
  if (blocks * block != K) w = call("torch.narrow", w, "1", "0", intLit(K));
  std::string wt = c.temp(w);
  c.set(0, call("torch.linear", c.in(0), wt, has_bias ? c.in(5) : "None"), dt, rank);
}

// --- op table ------------------------------------------------------------------------------------

struct OpEntry {
  const char* domain;
  const char* op;
  Handler fn;
  const char* torch_fn;
};

constexpr OpEntry kOps[] = {
    // elementwise
    {"", "Abs", unaryOp, "torch.abs"},
    {"", "Neg", unaryOp, "torch.neg"},
    {"", "Relu", unaryOp, "torch.relu"},
    {"", "Sigmoid", unaryOp, "torch.sigmoid"},
    {"", "Tanh", unaryOp, "torch.tanh"},
    {"", "Exp", unaryOp, "torch.exp"},
    {"", "Log", unaryOp, "torch.log"},
    {"", "Sqrt", unaryOp, "torch.sqrt"},
    {"", "Erf", unaryOp, "torch.erf"},
    {"", "Reciprocal", unaryOp, "torch.reciprocal"},
    {"", "Floor", unaryOp, "torch.floor"},
    {"", "Ceil", unaryOp, "torch.ceil"},
    {"", "Round", unaryOp, "torch.round"},
    {"", "Sign", unaryOp, "torch.sign"},
    {"", "Sin", unaryOp, "torch.sin"},
    {"", "Cos", unaryOp, "torch.cos"},
    {"", "Tan", unaryOp, "torch.tan"},
    {"", "Asin", unaryOp, "torch.asin"},
    {"", "Acos", unaryOp, "torch.acos"},
    {"", "Atan", unaryOp, "torch.atan"},
    {"", "Sinh", unaryOp, "torch.sinh"},
    {"", "Cosh", unaryOp, "torch.cosh"},
    {"", "Asinh", unaryOp, "torch.asinh"},
    {"", "Acosh", unaryOp, "torch.acosh"},
    {"", "Atanh", unaryOp, "torch.atanh"},
    {"", "Softplus", unaryOp, "torch.softplus"},
    {"", "Mish", unaryOp, "torch.mish"},
    {"", "HardSwish", unaryOp, "torch.hardswish"},
    {"", "Not", unaryOp, "torch.logical_not"},
    {"", "BitwiseNot", unaryOp, "torch.bitwise_not"},
    {"", "IsNaN", unaryOp, "torch.isnan"},
    {"", "IsInf", isInfOp, nullptr},
    {"", "LeakyRelu", leakyReluOp, nullptr},
    {"", "Elu", eluOp, nullptr},
    {"", "Selu", seluOp, nullptr},
    {"", "Celu", celuOp, nullptr},
    {"", "HardSigmoid", hardSigmoidOp, nullptr},
    {"", "ThresholdedRelu", thresholdedReluOp, nullptr},
    {"", "Softsign", softsignOp, nullptr},
    {"", "PRelu", preluOp, nullptr},
    {"", "Gelu", geluOp, nullptr},
    {"", "Clip", clipOp, nullptr},
    {"", "Add", binaryOp, "torch.add"},
    {"", "Sub", binaryOp, "torch.sub"},
    {"", "Mul", binaryOp, "torch.mul"},
    {"", "Div", binaryOp, "torch.div"},
    {"", "Pow", binaryOp, "torch.pow"},
    {"", "Equal", binaryOp, "torch.eq"},
    {"", "Less", binaryOp, "torch.lt"},
    {"", "Greater", binaryOp, "torch.gt"},
    {"", "LessOrEqual", binaryOp, "torch.le"},
    {"", "GreaterOrEqual", binaryOp, "torch.ge"},
    {"", "And", binaryOp, "torch.logical_and"},
    {"", "Or", binaryOp, "torch.logical_or"},
    {"", "Xor", binaryOp, "torch.logical_xor"},
    {"", "BitwiseAnd", binaryOp, "torch.bitwise_and"},
    {"", "BitwiseOr", binaryOp, "torch.bitwise_or"},
    {"", "BitwiseXor", binaryOp, "torch.bitwise_xor"},
    {"", "Mod", modOp, nullptr},
    {"", "Max", variadicOp, nullptr},
    {"", "Min", variadicOp, nullptr},
    {"", "Sum", variadicOp, nullptr},
    {"", "Mean", variadicOp, nullptr},
    {"", "Where", whereOp, nullptr},
    // types and shapes
    {"", "Identity", identityOp, nullptr},
    {"", "Dropout", dropoutOp, nullptr},
    {"", "Cast", castOp, nullptr},
    {"", "CastLike", castOp, nullptr},
    {"", "Shape", shapeOp, nullptr},
    {"", "Size", sizeOp, nullptr},
    {"", "Reshape", reshapeOp, nullptr},
    {"", "Flatten", flattenOp, nullptr},
    {"", "Transpose", transposeOp, nullptr},
    {"", "Squeeze", squeezeOp, nullptr},
    {"", "Unsqueeze", unsqueezeOp, nullptr},
    {"", "Concat", concatOp, nullptr},
    {"", "Split", splitOp, nullptr},
    {"", "Slice", sliceOp, nullptr},
    {"", "Gather", gatherOp, nullptr},
    {"", "GatherElements", gatherElementsOp, nullptr},
    {"", "GatherND", gatherNDOp, nullptr},
    {"", "ScatterElements", scatterElementsOp, nullptr},
    {"", "Expand", expandOp, nullptr},
    {"", "Tile", tileOp, nullptr},
    {"", "Pad", padOp, nullptr},
    {"", "ConstantOfShape", constantOfShapeOp, nullptr},
    {"", "Range", rangeOp, nullptr},
    {"", "NonZero", nonZeroOp, nullptr},
    {"", "Trilu", triluOp, nullptr},
    {"", "OneHot", oneHotOp, nullptr},
    {"", "DepthToSpace", depthToSpaceOp, nullptr},
    {"", "SpaceToDepth", depthToSpaceOp, nullptr},
    // reductions and friends
    {"", "ReduceSum", reduceOp, nullptr},
    {"", "ReduceMean", reduceOp, nullptr},
    {"", "ReduceMax", reduceOp, nullptr},
    {"", "ReduceMin", reduceOp, nullptr},
    {"", "ReduceProd", reduceOp, nullptr},
    {"", "ReduceL1", reduceOp, nullptr},
    {"", "ReduceL2", reduceOp, nullptr},
    {"", "ReduceSumSquare", reduceOp, nullptr},
    {"", "ReduceLogSum", reduceOp, nullptr},
    {"", "ReduceLogSumExp", reduceOp, nullptr},
    {"", "ArgMax", argOp, nullptr},
    {"", "ArgMin", argOp, nullptr},
    {"", "TopK", topKOp, nullptr},
    {"", "CumSum", cumSumOp, nullptr},
    {"", "Softmax", softmaxOp, "torch.softmax"},
    {"", "LogSoftmax", softmaxOp, "torch.log_softmax"},
    // linear algebra and NN
    {"", "MatMul", matmulOp, nullptr},
    {"", "Gemm", gemmOp, nullptr},
    {"", "Einsum", einsumOp, nullptr},
    {"", "Conv", convOp, nullptr},
    {"", "ConvTranspose", convTransposeOp, nullptr},
    {"", "MaxPool", maxPoolOp, nullptr},
    {"", "AveragePool", avgPoolOp, nullptr},
    {"", "GlobalAveragePool", globalPoolOp, nullptr},
    {"", "GlobalMaxPool", globalPoolOp, nullptr},
    {"", "BatchNormalization", batchNormOp, nullptr},
    {"", "InstanceNormalization", instanceNormOp, nullptr},
    {"", "LayerNormalization", layerNormOp, nullptr},
    {"", "LpNormalization", lpNormOp, nullptr},
    {"", "Resize", resizeOp, nullptr},
    // quantization
    {"", "QuantizeLinear", quantizeOp, nullptr},
    {"", "DequantizeLinear", dequantizeOp, nullptr},
    {"", "DynamicQuantizeLinear", dynamicQuantizeOp, nullptr},
    {"", "MatMulInteger", matmulIntegerOp, nullptr},
    {"", "ConvInteger", convIntegerOp, nullptr},
    {"", "QLinearMatMul", qlinearMatmulOp, nullptr},
    {"", "QLinearConv", qlinearConvOp, nullptr},
    // ONNX Runtime contrib ops
    {"com.microsoft", "MatMulNBits", matmulNBitsOp, nullptr},
    {"com.microsoft", "Gelu", unaryOp, "torch.gelu"},
    {"com.microsoft", "FastGelu", fastGeluOp, nullptr},
};

const OpEntry* findOp(const Node& n) {
  std::string_view domain = n.isDefaultDomain() ? "" : std::string_view(n.domain());
  for (const OpEntry& e : kOps)
    if (domain == e.domain && n.opType() == e.op) return &e;
  return nullptr;
}

std::string ScriptWriter::generate() {
  markLive();
  std::vector<std::string> args;
  for (const Value* v : g_.inputs()) {
    if (v->isInitializer()) continue;  // an overridable default: a weight, not an argument
    if (!v->type().isTensor() || !findDType(v->type().elemType()))
      failInput("{}: cannot export to TorchScript: input '{}' has type {}", path_, v->name(),
                v->type().str());
    std::string name = local(v->name());
    args.push_back(name + ": Tensor");
    int rank = v->type().shape() ? static_cast<int>(v->type().shape()->size()) : -1;
    bind(v, name, v->type().elemType(), rank);
  }
  for (const Node* n : g_.nodes()) {
    if (!live_nodes_.count(n) || n->is("Constant")) continue;  // constants bind on first use
    if (!n->subgraphs().empty())
      failAt(n, "control flow (subgraphs) is not supported; unroll or fold it first");
    const OpEntry* op = findOp(*n);
    for (const Function& f : model_.functions)
      if (!op && f.name == n->opType() && f.domain == n->domain())
        failAt(n, "model-local functions are not supported; inline them first");
    if (!op)
      failAt(n, fmt::format("op {}{}{} is not supported", n->domain(),
                            n->domain().empty() ? "" : ".", n->opType()));
    std::string_view domain = n->isDefaultDomain() ? "" : std::string_view(n->domain());
    int64_t opset = model_.opset(domain);
    NodeCtx ctx(*this, *n, opset ? opset : 1, op->torch_fn);
    op->fn(ctx);
    for (const Value* o : n->outputs())
      if (isLive(o) && !slots_.count(o))
        fail(ErrorKind::Internal, "{}: TorchScript export of {} left output '{}' unbound", path_,
             n->describe(), o->name());
  }
  std::vector<std::string> results;
  for (const Value* v : g_.outputs())
    results.push_back(slot(v, nullptr).expr);
  if (results.empty())
    failInput("{}: cannot export to TorchScript: the graph has no outputs", path_);

  std::string src;
  for (Helper h : helpers_)
    src += helperSource(h);
  std::string ret_type = "Tensor";
  std::string ret = results[0];
  if (results.size() > 1) {
    ret_type = "Tuple[";
    ret = "(";
    for (size_t i = 0; i < results.size(); ++i) {
      ret_type += (i ? ", " : "") + std::string("Tensor");
      ret += (i ? ", " : "") + results[i];
    }
    ret_type += "]";
    ret += ")";
  }
  src += "\ndef forward(self";
  for (const std::string& a : args)
    src += ", " + a;
  src += ") -> " + ret_type + ":\n";
  for (const std::string& line : body_)
    src += line;
  src += "    return " + ret + "\n";
  return src;
}

// Input and output names of the ONNX graph, with the inputs' dtypes and (possibly symbolic)
// shapes, stored beside the code (extra/mopt.json): tools map forward()'s positional arguments and
// results back to them, and mopt re-imports the file without --input-shape.
std::string metadataJson(const Graph& g) {
  std::string s = "{\"producer\": \"mopt\", \"inputs\": [";
  bool first = true;
  for (const Value* v : g.inputs()) {
    if (v->isInitializer()) continue;
    s += (first ? "" : ", ") + jsonString(v->name());
    first = false;
  }
  s += "], \"input_types\": [";
  first = true;
  for (const Value* v : g.inputs()) {
    if (v->isInitializer()) continue;
    std::string dims;
    if (v->type().isTensor() && v->type().shape()) {
      for (const Dim& d : *v->type().shape()) {
        std::string item = d.kind == Dim::Kind::Value
                               ? std::to_string(d.value)
                               : jsonString(d.kind == Dim::Kind::Param ? d.param : "?");
        dims += (dims.empty() ? "" : ", ") + item;
      }
    }
    s += (first ? "" : ", ") + std::string("{\"dtype\": ") +
         jsonString(std::string(
             dtypeName(v->type().isTensor() ? v->type().elemType() : DType::Undefined))) +
         ", \"shape\": [" + dims + "]}";
    first = false;
  }
  s += "], \"outputs\": [";
  for (size_t i = 0; i < g.outputs().size(); ++i)
    s += (i ? ", " : "") + jsonString(g.outputs()[i]->name());
  return s + "]}\n";
}

}  // namespace

void exportTorchScript(const Model& model, const std::string& path,
                       const TorchScriptExportOptions& opts) {
  if (!model.graph) failInput("{}: cannot export to TorchScript: the model has no graph", path);
  torch::jit::Module module("MoptModule");
  ScriptWriter writer(model, path, opts, module);
  std::string source = writer.generate();
  try {
    module.define(source, std::make_shared<ExportResolver>());
  } catch (const c10::Error& e) {
    // The generator wrote code TorchScript rejects: a bug here, not in the model.
    fail(ErrorKind::Internal, "{}: generated TorchScript does not compile: {}", path,
         e.what_without_backtrace());
  } catch (const std::exception& e) {  // the compiler's own errors (ErrorReport)
    fail(ErrorKind::Internal, "{}: generated TorchScript does not compile: {}", path, e.what());
  }
  AtomicFile out(path);
  torch::jit::ExtraFilesMap extra{{"mopt.json", metadataJson(*model.graph)}};
  try {
    torch::jit::ExportModule(
        module,
        [&out](const void* data, size_t size) -> size_t {
          out.write(data, size);
          return size;
        },
        extra);
  } catch (const c10::Error& e) {
    failInput("{}: cannot save the TorchScript module: {}", path, e.what_without_backtrace());
  }
  out.commit(/*fsync=*/false);
}

}  // namespace mopt
