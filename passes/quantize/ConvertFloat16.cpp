// convert-float16 / convert-bfloat16.
//
// 1. Shape inference gives every value an element type (the types the model declared are put
//    back at the end, so the output gains no value_info it did not have).
// 2. Each node of the main graph gets a plan: the inputs/outputs bound to its op's float type
//    variable (from the ONNX schema), and whether it is converted or kept in float32 (and why).
// 3. Every float32 value then has a home type (what its producer writes) and, per reader, the type
//    that reader needs; one Cast per value bridges the difference. Weights are converted in place
//    when every reader wants the low-precision copy, duplicated when readers disagree.
#include "passes/quantize/ConvertFloat16.h"

#include "data/Npy.h"
#include "exec/Executor.h"
#include "frontend/onnx/Onnx.h"
#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "passes/common/Constants.h"
#include "passes/convert/OpsetAdapters.h"
#include "passes/quantize/OrtCpuSupport.h"
#include "passes/quantize/Selection.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

namespace mopt {

namespace {

constexpr double kHalfMax = 65504.0;

std::vector<OptionSpec> conversionOptions(const std::string& type, bool calibration) {
  std::vector<OptionSpec> o = {
      {"keep-io-types",
       OptionType::Bool,
       "false",
       "graph inputs/outputs stay float32 (Casts right after the inputs and before the outputs; "
       "names unchanged)",
       {},
       false},
      {"block-ops", OptionType::StringList, "", "op types kept in float32", {}, false},
      {"block-nodes",
       OptionType::StringList,
       "",
       "nodes kept in float32: a node name or re:REGEX matched against node names",
       {},
       false},
      {"runtime",
       OptionType::Enum,
       "ort-cpu",
       "ort-cpu: keep in float32 what ONNX Runtime 1.30's CPU provider cannot run in " + type +
           "; any: convert every op whose ONNX schema allows " + type + " (GPU deployment)",
       {"ort-cpu", "any"},
       false}};
  if (calibration) {
    o.push_back({"calib-data",
                 OptionType::String,
                 "",
                 ".npz with one array per graph input (samples along axis 0): nodes whose "
                 "activations exceed float16's range stay float32",
                 {},
                 false});
    o.push_back(
        {"calib-samples", OptionType::Int, "32", "samples of calib-data to run", {}, false});
  }
  return o;
}

FloatConversionOptions parseOptions(const OptionValues& o, DType target) {
  FloatConversionOptions f;
  f.target = target;
  f.keep_io_types = o.getBool("keep-io-types");
  f.block_ops = o.getList("block-ops");
  f.block_nodes = o.getList("block-nodes");
  f.ort_cpu = o.getString("runtime") == "ort-cpu";
  if (target == DType::F16) {
    f.calib_data = o.getString("calib-data");
    f.calib_samples = o.getInt("calib-samples");
  }
  return f;
}

const char* suffixOf(DType t) {
  return t == DType::F16 ? "fp16" : t == DType::BF16 ? "bf16" : "fp32";
}

// Output type set by an attribute (or by the input when the attribute is absent): never converted.
const std::set<std::string, std::less<>> kAttributeTyped = {
    "RandomNormal",  "RandomUniform", "RandomNormalLike", "RandomUniformLike",
    "EyeLike",       "Bernoulli",     "Multinomial",      "BlackmanWindow",
    "HammingWindow", "HannWindow",    "MelWeightMatrix"};

// Data movement (and Cast, whose output type is its own): kept in float32 when every float input
// is float32 anyway, since converting it would only move the Cast from its output to its input.
const std::set<std::string, std::less<>> kDataMovement = {
    "Reshape",        "Flatten",      "Squeeze",      "Unsqueeze", "Transpose",
    "Identity",       "Shape",        "Size",         "Slice",     "Gather",
    "GatherElements", "GatherND",     "Split",        "Concat",    "Expand",
    "Tile",           "DepthToSpace", "SpaceToDepth", "Compress",  "ReverseSequence",
    "Cast",           "CastLike"};

DType elemOf(const Value* v) {
  return v && v->type().isTensor() ? v->type().elemType() : DType::Undefined;
}

bool isTypeVar(const std::string& s) {
  return !s.empty() && s.find('(') == std::string::npos;
}

const OpFormal* formalAt(const std::vector<OpFormal>& fs, size_t i) {
  if (i < fs.size()) return &fs[i];
  if (!fs.empty() && fs.back().option == OpFormal::Option::Variadic) return &fs.back();
  return nullptr;
}

// Largest finite |x| of a float tensor (0 when empty or not float).
double maxFiniteAbs(const Tensor& t) {
  double m = 0;
  if (t.dtype() == DType::F32) {
    const float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      float a = std::fabs(p[i]);
      if (std::isfinite(a) && a > m) m = a;
    }
  } else if (isFloatingPoint(t.dtype())) {
    for (int64_t i = 0; i < t.numel(); ++i) {
      double a = std::fabs(elementAsDouble(t, i));
      if (std::isfinite(a) && a > m) m = a;
    }
  }
  return m;
}

struct NodePlan {
  bool float_node = false;  // reads or writes float32 data of its float type variable
  bool convert = false;
  std::vector<size_t> ins, outs;  // the positions bound to that variable
  std::string why;                // why it stays float32
  OrtCpuSupport ort = OrtCpuSupport::None;
  bool has(size_t input) const { return std::find(ins.begin(), ins.end(), input) != ins.end(); }
  bool writes(size_t output) const {
    return std::find(outs.begin(), outs.end(), output) != outs.end();
  }
};

// The positions of `n` bound to its float type variable (the first type variable holding a
// float32 tensor, inputs before outputs). Returns false when the node has no float32 data there.
// `why` is set when it does but cannot be converted for a schema reason.
bool floatPositions(const Node& n, const OpSignature& sig, DType target, NodePlan& p,
                    std::string& why) {
  struct Slot {
    bool out;
    size_t index;
    std::string var;
    const OpFormal* formal;
    const Value* v;
  };
  std::vector<Slot> slots;
  for (size_t i = 0; i < n.numInputs(); ++i)
    if (const OpFormal* f = formalAt(sig.inputs, i); f && n.input(i))
      slots.push_back({false, i, f->type_var, f, n.input(i)});
  // Cast's output type is its `to` attribute: only its input follows the data.
  if (!n.is("Cast"))
    for (size_t i = 0; i < n.numOutputs(); ++i)
      if (const OpFormal* f = formalAt(sig.outputs, i); f && n.output(i)) {
        std::string var = f->type_var;
        // onnx 1.12 gives GridSample's output its own variable; ONNX Runtime and later ONNX
        // releases bind it to X's.
        if (n.is("GridSample") && i == 0 && !sig.inputs.empty()) var = sig.inputs[0].type_var;
        slots.push_back({true, i, var, f, n.output(i)});
      }
  const Slot* first = nullptr;
  for (const Slot& s : slots)
    if (isTypeVar(s.var) && elemOf(s.v) == DType::F32) {
      first = &s;
      break;
    }
  if (!first) return false;
  for (const Slot& s : slots) {
    if (s.var != first->var) continue;
    DType t = elemOf(s.v);
    if (t == DType::Undefined) {
      why = "the element type of '" + s.v->name() + "' is unknown";
    } else if (t != DType::F32) {
      return false;  // the variable is bound to another type as well: not a float32 node
    }
    (s.out ? p.outs : p.ins).push_back(s.index);
  }
  const auto& allowed = first->formal->allowed;
  if (why.empty() && !allowed.empty() &&
      std::find(allowed.begin(), allowed.end(), target) == allowed.end())
    why = "its schema (" + n.opType() + "-" + std::to_string(sig.since_version) +
          ") does not allow " + std::string(dtypeOnnxName(target));
  return true;
}

// ---------------------------------------------------------------------------------------------
// Calibration data: one array per graph input, samples along axis 0.

struct CalibFeed {
  std::string input;
  Tensor data;
  bool per_sample = false;  // the array has one more dim than the input (no batch dim)
  int64_t batch = 1;        // rows per run (the input's static dim 0, else 1)
};

std::string dimsText(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i)
    s += (i ? "," : "") + std::to_string(d[i]);
  return s + "]";
}

std::vector<CalibFeed> loadCalibration(const std::string& path, const Graph& g, int64_t& samples) {
  NamedTensors arrays = loadNpz(path);
  std::vector<CalibFeed> feeds;
  samples = -1;
  for (const Value* in : g.inputs()) {
    if (in->isInitializer()) continue;
    auto it = std::find_if(arrays.begin(), arrays.end(),
                           [&](const auto& a) { return a.first == in->name(); });
    if (it == arrays.end()) {
      std::string names;
      for (const auto& a : arrays)
        names += (names.empty() ? "'" : ", '") + a.first + "'";
      failInput("{}: no array '{}' for graph input '{}' (the file holds {})", path, in->name(),
                in->name(), names.empty() ? "no arrays" : names);
    }
    const Tensor& a = it->second;
    DType want = elemOf(in);
    if (want != DType::Undefined && a.dtype() != want)
      failInput("{}: array '{}' is {}, but graph input '{}' is {}", path, it->first,
                dtypeOnnxName(a.dtype()), in->name(), dtypeOnnxName(want));
    if (a.dims().empty())
      failInput("{}: array '{}' is a scalar; samples go along axis 0", path, it->first);
    const auto& shape = in->type().shape();
    CalibFeed f{in->name(), a};
    if (shape) {
      size_t rank = shape->size();
      if (a.dims().size() != rank && a.dims().size() != rank + 1)
        failInput(
            "{}: array '{}' has rank {}, but graph input '{}' has rank {} (samples go along "
            "axis 0)",
            path, it->first, a.dims().size(), in->name(), rank);
      f.per_sample = a.dims().size() == rank + 1;
      size_t off = f.per_sample ? 1 : 0;
      for (size_t d = f.per_sample ? 0 : 1; d < rank; ++d) {
        const Dim& dim = (*shape)[d];
        if (dim.isKnown() && dim.value != a.dims()[d + off])
          failInput("{}: array '{}' has shape {}, which does not fit graph input '{}' {} (dim {})",
                    path, it->first, dimsText(a.dims()), in->name(), shapeToString(*shape), d);
      }
      if (!f.per_sample && rank > 0 && (*shape)[0].isKnown()) {
        f.batch = std::max<int64_t>(1, (*shape)[0].value);
        if (a.dims()[0] % f.batch)
          failInput("{}: array '{}' has {} rows, not a multiple of graph input '{}''s batch of {}",
                    path, it->first, a.dims()[0], in->name(), f.batch);
      }
    }
    int64_t n = a.dims()[0] / (f.per_sample ? 1 : f.batch);
    if (samples >= 0 && n != samples)
      failInput("{}: array '{}' holds {} samples, the others {}", path, it->first, n, samples);
    samples = n;
    feeds.push_back(std::move(f));
  }
  if (samples <= 0) failInput("{}: no samples", path);
  return feeds;
}

// Largest finite |x| of every float32 value of the main graph over the calibration samples.
std::unordered_map<std::string, double> calibrate(const Model& model,
                                                  const std::vector<CalibFeed>& feeds,
                                                  int64_t samples) {
  ExecOptions eo;
  eo.capture = {"*"};
  auto exec = makeExecutor(model, eo);
  std::unordered_map<std::string, double> range;
  for (int64_t s = 0; s < samples; ++s) {
    NamedTensors in;
    for (const CalibFeed& f : feeds) {
      if (f.per_sample) {
        Tensor row = sliceRows(f.data, s, s + 1);
        std::vector<int64_t> dims(row.dims().begin() + 1, row.dims().end());
        in.emplace_back(f.input, Tensor(row.dtype(), dims, row.buffer()));
      } else {
        in.emplace_back(f.input, sliceRows(f.data, s * f.batch, (s + 1) * f.batch));
      }
    }
    for (const auto& [name, t] : exec->run(in))
      if (t.dtype() == DType::F32) {
        double& r = range[name];
        r = std::max(r, maxFiniteAbs(t));
      }
  }
  return range;
}

// ---------------------------------------------------------------------------------------------

// Bytes of float weights (initializers and Constant nodes) in every graph.
int64_t weightBytes(const Model& m) {
  int64_t total = 0;
  forEachGraph(m, [&](const Graph& g) {
    for (const Value* v : g.initializers())
      if (isFloatingPoint(v->initializer().dtype()))
        total += static_cast<int64_t>(v->initializer().byteSize());
    for (const Node* n : g.nodes())
      if (n->is("Constant"))
        if (auto t = constantNodeValue(*n); t && isFloatingPoint(t->dtype()))
          total += static_cast<int64_t>(t->byteSize());
  });
  return total;
}

class Converter {
 public:
  Converter(Model& m, PassContext& ctx, const FloatConversionOptions& o)
      : model_(m),
        g_(*m.graph),
        ctx_(ctx),
        o_(o),
        names_(m),
        blocked_(std::vector<std::string>{}, o.block_nodes) {}

  bool run(const std::unordered_map<std::string, double>& activation_range) {
    range_ = &activation_range;
    plan();
    followFloat32Inputs();
    retargetCasts();
    materialize();
    report();
    return converted_ > 0 || casts_ > 0 || !changed_.empty();
  }

  const std::unordered_map<const Value*, DType>& changedTypes() const { return changed_; }
  // Graph outputs that moved to a Cast's value: new output value -> the value it replaced.
  const std::unordered_map<const Value*, const Value*>& movedOutputs() const {
    return moved_outputs_;
  }

 private:
  // --- step 2: plans -------------------------------------------------------------------------
  void plan() {
    const int64_t opset = model_.opset("");
    for (Node* n : g_.nodes()) {
      if (n->is("Constant")) continue;  // a weight: converted with its readers
      bool touches = false;
      for (const Value* v : n->inputs())
        touches = touches || elemOf(v) == DType::F32;
      for (const Value* v : n->outputs())
        touches = touches || elemOf(v) == DType::F32;
      if (!touches) continue;
      NodePlan p;
      std::string why;
      const OpSignature* sig = nullptr;
      if (!n->subgraphs().empty()) {
        why = "it has subgraphs (If/Loop/Scan stay float32 with everything inside)";
      } else if (!n->isDefaultDomain()) {
        why = "domain '" + n->domain() + "' (" + std::string(dtypeOnnxName(o_.target)) +
              " support unknown)";
      } else if (kAttributeTyped.count(n->opType())) {
        why = "its output type is set by an attribute";
      } else if (!ctx_.schemas) {
        why = "no operator schemas available";
      } else {
        // Opset 18 is one past the registry (onnx 1.12): ops that did not change at 18 have
        // their opset-17 schema; the list of those that did comes from convert-opset.
        int64_t version = opset;
        if (opset == 18 && sinceVersion(*ctx_.schemas, n->opType(), 18) != 18) version = 17;
        auto r = ctx_.schemas->lookup("", n->opType(), version, &sig);
        if (r == OpSchemaOracle::Lookup::NotCovered)
          why = opset == 18 ? n->opType() + "-18 is newer than the schema registry (onnx 1.12)"
                            : "opset " + std::to_string(opset) +
                                  " is newer than the schema registry (onnx 1.12)";
        else if (r != OpSchemaOracle::Lookup::Found)
          why = "ONNX has no schema for it";
      }
      for (const Value* v : n->inputs())
        if (v && v->type().isDefined() && !v->type().isTensor() && why.empty())
          why = "it works on sequences/optionals";
      for (const Value* v : n->outputs())
        if (v && v->type().isDefined() && !v->type().isTensor() && why.empty())
          why = "it works on sequences/optionals";
      if (why.empty()) {
        if (!floatPositions(*n, *sig, o_.target, p, why)) continue;  // no float32 data
        if (why.empty()) why = policyReason(*n, *sig, p);
      }
      p.float_node = true;
      p.convert = why.empty();
      p.why = why;
      plans_[n] = std::move(p);
    }
  }

  // Reasons after the schema: options, the runtime, value ranges.
  std::string policyReason(const Node& n, const OpSignature& sig, NodePlan& p) {
    const std::string tname(dtypeOnnxName(o_.target));
    if (std::find(o_.block_ops.begin(), o_.block_ops.end(), n.opType()) != o_.block_ops.end())
      return "blocked by block-ops";
    if (std::string r = blocked_.exclusionReason(n); !r.empty())
      return "blocked by block-nodes (" + r + ")";
    if (o_.ort_cpu) {
      p.ort = ortCpuSupport(o_.target, n.opType(), sig.since_version);
      if (p.ort == OrtCpuSupport::None)
        return "ONNX Runtime's CPU provider cannot run " + n.opType() + "-" +
               std::to_string(sig.since_version) + " in " + tname;
      if (std::string r = ortCpuNodeLimit(n, o_.target); !r.empty()) return r;
    }
    if (o_.target != DType::F16) return "";
    for (size_t i : p.ins) {
      const Value* v = n.input(i);
      auto it = weight_range_.find(v);
      if (it == weight_range_.end()) {
        auto c = constantValue(v);
        it = weight_range_.emplace(v, c && c->dtype() == DType::F32 ? maxFiniteAbs(*c) : -1).first;
      }
      if (it->second > kHalfMax)
        return fmt::format("weight '{}' has values beyond float16's range (|x| up to {:.6g})",
                           v->name(), it->second);
    }
    auto beyond = [&](const Value* v) -> std::string {
      auto r = range_->find(v->name());
      if (r == range_->end() || r->second <= kHalfMax) return "";
      return fmt::format("activation '{}' reaches |x| = {:.6g} on calib-data (float16 max 65504)",
                         v->name(), r->second);
    };
    for (size_t i : p.ins)
      if (std::string r = beyond(n.input(i)); !r.empty()) return r;
    for (size_t i : p.outs)
      if (std::string r = beyond(n.output(i)); !r.empty()) return r;
    return "";
  }

  const NodePlan* planOf(const Node* n) const {
    auto it = plans_.find(n);
    return it == plans_.end() ? nullptr : &it->second;
  }

  bool isWeight(const Value* v) const {
    if (v->isGraphOutput()) return false;
    if (v->isConstantInitializer()) return true;
    const Node* p = v->producer();
    return p && p->is("Constant") && p->owner() == &g_;
  }

  // The type the producer of `v` writes once converted.
  DType home(const Value* v) const {
    if (v->isGraphInput()) return o_.keep_io_types ? DType::F32 : o_.target;
    if (const Node* p = v->producer()) {
      if (retargeted_.count(p)) return o_.target;
      const NodePlan* pl = planOf(p);
      if (pl && pl->convert && pl->writes(v->producerIndex())) return o_.target;
    }
    return DType::F32;
  }

  DType need(const Use& u) const {
    if (u.user->owner() != &g_) return DType::F32;  // inside a subgraph
    const NodePlan* pl = planOf(u.user);
    return pl && pl->convert && pl->has(u.index) ? o_.target : DType::F32;
  }

  // Data movement whose float inputs are all float32 stays float32: converting it would only
  // move the Cast from its output to its input.
  void followFloat32Inputs() {
    for (Node* n : g_.nodes()) {
      auto it = plans_.find(n);
      if (it == plans_.end() || !it->second.convert || !kDataMovement.count(n->opType())) continue;
      bool any = false, all_f32 = true;
      for (size_t i : it->second.ins) {
        const Value* v = n->input(i);
        if (isWeight(v)) continue;
        any = true;
        all_f32 = all_f32 && home(v) == DType::F32;
      }
      if (any && all_f32) {
        it->second.convert = false;
        it->second.why = "its input is float32 anyway (converting it would only move the Cast)";
      }
    }
  }

  // A Cast to float32 whose readers all want the low-precision type casts to that instead.
  void retargetCasts() {
    for (Node* n : g_.nodes()) {
      if (!n->is("Cast") || n->intAttr("to", 0) != static_cast<int64_t>(DType::F32)) continue;
      Value* y = n->output(0);
      if (!y || y->isGraphOutput() || !y->hasUses()) continue;
      bool all = true;
      for (const Use& u : y->uses())
        all = all && need(u) == o_.target;
      if (!all) continue;
      n->setAttr(Attribute::makeInt("to", static_cast<int64_t>(o_.target)));
      retargeted_.insert(n);
      changed_[y] = o_.target;
      ++retargeted_count_;
    }
  }

  // --- step 3: types, weights and Casts ------------------------------------------------------
  void materialize() {
    first_node_ = g_.numNodes() ? *g_.nodes().begin() : nullptr;
    std::vector<Value*> values(g_.inputs().begin(), g_.inputs().end());
    for (Value* v : g_.initializers())
      if (!v->isGraphInput()) values.push_back(v);
    std::vector<Node*> nodes = g_.nodeVector();
    for (Node* n : nodes)
      for (Value* v : n->outputs())
        if (v) values.push_back(v);
    for (Node* n : nodes) {
      const NodePlan* p = planOf(n);
      if (p && p->convert) {
        ++converted_;
        if (p->ort == OrtCpuSupport::ViaFloat32) ++via_float32_;
        if (n->is("ConstantOfShape")) {
          const Attribute* a = n->attr("value");
          Tensor v = a && a->kind == AttrKind::Tensor
                         ? a->t
                         : Tensor::fromVector(DType::F32, {1}, std::vector<float>{0});
          Tensor c = convertFloatTensor(v, o_.target);
          c.setName(v.name());
          n->setAttr(Attribute::makeTensor("value", c));
        }
      } else if (p) {
        kept_[p->why].push_back(n);
      }
    }
    for (Value* v : values) {
      DType t = v->isInitializer() ? v->initializer().dtype() : elemOf(v);
      if (t != DType::F32) continue;
      if (isWeight(v))
        weight(v);
      else
        bridge(v);
    }
  }

  void weight(Value* v) {
    bool low = false, full = false;
    for (const Use& u : v->uses())
      (need(u) == o_.target ? low : full) = true;
    if (!low) return;
    Node* k = v->producer();  // a Constant node, or null for an initializer
    Tensor src = k ? *constantNodeValue(*k) : v->initializer();
    Tensor c = convertFloatTensor(src, o_.target);
    c.setName(src.name());
    if (const auto& b = src.buffer()) b->releasePages();  // a huge model need not stay resident
    ++weights_converted_;
    if (!full) {  // every reader wants the converted copy: convert in place
      if (k) {
        for (const char* a : {"value", "value_float", "value_floats"})
          k->removeAttr(a);
        k->setAttr(Attribute::makeTensor("value", c));
      } else {
        v->setInitializer(c);
      }
      changed_[v] = o_.target;
      return;
    }
    // Readers disagree: keep the float32 weight for the float32 readers, add a copy.
    ++weights_duplicated_;
    std::string name = names_.fresh(v->name() + "_" + suffixOf(o_.target));
    Value* copy = nullptr;
    if (k) {
      Node* kc = g_.insertNodeAfter(k, "Constant");
      kc->setName(names_.fresh(k->name().empty() ? name : k->name() + "_" + suffixOf(o_.target)));
      kc->setAttr(Attribute::makeTensor("value", c));
      copy = kc->addOutput(name);
    } else {
      c.setName(name);
      copy = g_.addInitializer(name, c);
    }
    std::vector<Use> uses = v->uses();
    for (const Use& u : uses)
      if (need(u) == o_.target) u.user->setInput(u.index, copy);
  }

  void bridge(Value* v) {
    const DType h = home(v);
    if (h != DType::F32) changed_[v] = h;
    if (h != DType::F32 && v->isInitializer()) {  // an input with a default: convert the default
      Tensor c = convertFloatTensor(v->initializer(), h);
      c.setName(v->initializer().name());
      v->setInitializer(c);
    }
    const DType other = h == DType::F32 ? o_.target : DType::F32;
    const DType out_need = o_.keep_io_types ? DType::F32 : o_.target;
    bool cast_needed = v->isGraphOutput() && out_need != h;
    for (const Use& u : v->uses())
      cast_needed = cast_needed || need(u) != h;
    if (!cast_needed) return;

    Node* c = nullptr;
    if (Node* p = v->producer()) {
      Node*& last = after_[p];
      c = g_.insertNodeAfter(last ? last : p, "Cast");
      last = c;
    } else {
      c = first_node_ ? g_.insertNodeBefore(first_node_, "Cast") : g_.appendNode("Cast");
    }
    c->addInput(v);
    c->setAttr(Attribute::makeInt("to", static_cast<int64_t>(other)));
    Value* cv = c->addOutput(names_.fresh(v->name() + "_" + suffixOf(other)));
    c->setName(names_.fresh(cv->name() + "/Cast"));
    ++casts_;
    std::vector<Use> uses = v->uses();
    for (const Use& u : uses)
      if (u.user != c && need(u) == other) u.user->setInput(u.index, cv);
    if (v->isGraphOutput() && out_need == other) {
      // The graph output keeps its name and takes the Cast's value.
      std::string name = v->name();
      v->setName(names_.fresh(name + "_" + suffixOf(h)));
      cv->setName(name);
      for (size_t i = 0; i < g_.outputs().size(); ++i)
        if (g_.outputs()[i] == v) g_.setOutput(i, cv);
      moved_outputs_[cv] = v;
    }
  }

  // --- report --------------------------------------------------------------------------------
  void report() {
    const std::string tname(dtypeOnnxName(o_.target));
    ctx_.count("nodes-converted", converted_);
    int64_t kept = 0;
    for (const auto& [why, nodes] : kept_) {
      kept += static_cast<int64_t>(nodes.size());
      std::string list;
      for (size_t i = 0; i < nodes.size() && i < 6; ++i)
        list += (i ? ", " : "") + nodes[i]->describe();
      if (nodes.size() > 6) list += fmt::format(" and {} more", nodes.size() - 6);
      ctx_.note(fmt::format("kept {} node(s) in float32: {}: {}", nodes.size(), why, list));
    }
    ctx_.count("nodes-kept-float32", kept);
    ctx_.count("casts-inserted", casts_);
    if (retargeted_count_) ctx_.count("casts-retargeted", retargeted_count_);
    ctx_.count("weights-converted", weights_converted_);
    if (weights_duplicated_) ctx_.count("weights-duplicated", weights_duplicated_);
    if (!converted_ && kept)
      ctx_.note("no node was converted to " + tname +
                (o_.keep_io_types ? "" : "; only the graph interface changed"));
    if (o_.ort_cpu && converted_)
      ctx_.note(fmt::format(
          "converted {} node(s) to {}; ONNX Runtime's CPU provider has {} kernels for {} of them "
          "and computes the other {} in float32 behind Casts it inserts itself",
          converted_, tname, tname, converted_ - via_float32_, via_float32_));
  }

  Model& model_;
  Graph& g_;
  PassContext& ctx_;
  const FloatConversionOptions& o_;
  NameScope names_;
  NodeSelection blocked_;
  const std::unordered_map<std::string, double>* range_ = nullptr;
  std::unordered_map<const Node*, NodePlan> plans_;
  std::unordered_map<const Value*, double> weight_range_;
  std::set<const Node*> retargeted_;
  std::unordered_map<const Value*, DType> changed_;
  std::unordered_map<const Value*, const Value*> moved_outputs_;
  std::unordered_map<Node*, Node*> after_;
  std::map<std::string, std::vector<Node*>> kept_;
  Node* first_node_ = nullptr;
  int64_t converted_ = 0, via_float32_ = 0, casts_ = 0, retargeted_count_ = 0;
  int64_t weights_converted_ = 0, weights_duplicated_ = 0;
};

}  // namespace

Tensor convertFloatTensor(const Tensor& t, DType target) {
  if (t.dtype() != DType::F32 || (target != DType::F16 && target != DType::BF16))
    fail(ErrorKind::Internal, "convertFloatTensor: {} to {}", dtypeName(t.dtype()),
         dtypeName(target));
  auto buf = Buffer::allocate(static_cast<uint64_t>(t.numel()) * 2);
  auto* out = reinterpret_cast<uint16_t*>(buf->mutableData());
  const float* in = t.data<float>();
  if (target == DType::F16)
    for (int64_t i = 0; i < t.numel(); ++i)
      out[i] = floatToHalf(in[i]);
  else
    for (int64_t i = 0; i < t.numel(); ++i)
      out[i] = floatToBf16(in[i]);
  return Tensor(target, t.dims(), std::move(buf));
}

bool convertFloatPrecision(Model& model, PassContext& ctx, const FloatConversionOptions& o) {
  if (o.target != DType::F16 && o.target != DType::BF16)
    fail(ErrorKind::Internal, "convertFloatPrecision: target must be f16 or bf16");
  if (o.calib_samples <= 0)
    fail(ErrorKind::Usage, "calib-samples must be positive, not {}", o.calib_samples);
  NodeSelection check_patterns({}, o.block_nodes);  // a bad re: pattern fails before any work
  (void)check_patterns;
  Graph& g = *model.graph;

  // Calibration data is checked against the inputs before anything else happens.
  std::vector<CalibFeed> feeds;
  int64_t samples = 0;
  if (!o.calib_data.empty()) {
    feeds = loadCalibration(o.calib_data, g, samples);
    samples = std::min(samples, o.calib_samples);
  }

  // The declared types, put back at the end (with the new element types).
  std::vector<std::pair<Value*, Type>> declared;
  forEachGraph(model, [&](Graph& sg) {
    for (Value* v : sg.values())
      declared.emplace_back(v, v->type());
  });
  inferShapesOnnx(model);

  std::unordered_map<std::string, double> range;
  if (!feeds.empty()) {
    range = calibrate(model, feeds, samples);
    ctx.count("calibration-samples", samples);
  }

  const int64_t before = weightBytes(model);
  Converter conv(model, ctx, o);
  bool changed = conv.run(range);

  const auto& types = conv.changedTypes();
  for (auto& [v, t] : declared) {
    Type restored = t;
    auto it = types.find(v);
    if (it != types.end() && restored.isTensor()) restored.setElemType(it->second);
    v->setType(restored);
  }
  for (const auto& [out, from] : conv.movedOutputs()) {
    // The output's declared type, with the interface's element type.
    auto it = std::find_if(declared.begin(), declared.end(),
                           [&, from = from](const auto& d) { return d.first == from; });
    Type t = it != declared.end() && it->second.isDefined() ? it->second : Type::tensor(DType::F32);
    if (t.isTensor()) t.setElemType(o.keep_io_types ? DType::F32 : o.target);
    const_cast<Value*>(out)->setType(t);
  }
  ctx.count("weight-bytes-before", before);
  ctx.count("weight-bytes-after", weightBytes(model));
  return changed;
}

const PassInfo& ConvertFloat16Pass::info() {
  static const PassInfo i{
      "convert-float16", "quantize",
      "float32 weights and compute to float16, Casts where float32 remains",
      "Converts float32 weights (initializers and Constant nodes) and the nodes that compute on "
      "them to float16; every node is either converted or kept in float32, and a Cast is inserted "
      "on each edge where a float32 value meets a converted node or the other way round (one per "
      "value, shared by its readers). Integer and bool tensors are untouched. Which inputs and "
      "outputs of a node are converted comes from its ONNX schema: those bound to the op's float "
      "type variable (Resize's scales and BatchNormalization-15's statistics stay float32, "
      "LayerNormalization's scale and bias follow X); an op the schema registry (onnx 1.12, "
      "opsets up to 17, plus the ops that did not change at 18) does not know, or whose schema "
      "does not allow float16, stays float32. A weight read by converted and float32 "
      "nodes is kept once in each type. Existing Casts to float32 whose readers are all converted "
      "cast to float16 instead. Kept in float32: nodes with subgraphs (If/Loop/Scan) and "
      "everything inside them, nodes of non-default domains, ops whose output type is an "
      "attribute (RandomNormal, EyeLike, ...), block-ops and block-nodes, data movement (Reshape, "
      "Transpose, ...) whose input is float32 anyway, nodes reading a weight with a finite value "
      "beyond float16's range (|x| > 65504), and, given calib-data, nodes whose activations on "
      "that data exceed it (the model runs in mopt's executor first; the data is checked against "
      "the inputs before any work). With runtime=ort-cpu (the default) ops ONNX Runtime 1.30's CPU "
      "provider cannot load or run in float16 stay float32 too (a table measured op by op with "
      "scripts/measure_ort_float16.py), so the result always runs there; note that on x86-64 ORT "
      "computes most float16 ops in float32 behind Casts it inserts itself (the file is half the "
      "size, the speed is not better), the report says how many. runtime=any converts every op "
      "the schema allows (GPU deployment). keep-io-types=false (the default) makes float32 graph "
      "inputs and outputs float16; true keeps them float32 with Casts right after the inputs and "
      "before the outputs. Graph input/output names never change. The report lists converted and "
      "kept nodes (grouped by reason), Casts inserted and weight bytes before/after.",
      conversionOptions("float16", true)};
  return i;
}

bool ConvertFloat16Pass::run(Model& model, PassContext& ctx) {
  return convertFloatPrecision(model, ctx, parseOptions(opts_, DType::F16));
}

const PassInfo& ConvertBFloat16Pass::info() {
  static const PassInfo i{
      "convert-bfloat16", "quantize",
      "float32 weights and compute to bfloat16, Casts where float32 remains",
      "convert-float16 with bfloat16 as the target type: the same node plans, Casts, shared-weight "
      "handling, options and report (see convert-float16). bfloat16 has float32's range, so no "
      "value is out of range and there is no calibration. With runtime=ort-cpu (the default) "
      "only what ONNX Runtime 1.30's CPU provider runs in bfloat16 is converted: it has bfloat16 "
      "kernels for data movement, Cast and LayerNormalization only and no float32 fallback, so "
      "on CPU most of the model stays float32; use runtime=any for hardware with bfloat16 "
      "kernels. Note that onnxruntime-node cannot feed or return bfloat16 tensors: use "
      "keep-io-types=true to run the result from Node.js.",
      conversionOptions("bfloat16", false)};
  return i;
}

bool ConvertBFloat16Pass::run(Model& model, PassContext& ctx) {
  return convertFloatPrecision(model, ctx, parseOptions(opts_, DType::BF16));
}

}  // namespace mopt
