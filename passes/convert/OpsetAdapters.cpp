// Operator changes between neighbouring opsets (ONNX docs/Changelog.md) and their adapters.
//
// Only changes of meaning or signature need a row here. A schema bump that merely widens the
// accepted element types, or adds an attribute/input whose default keeps the old behaviour, is
// handled by the engine: the node must satisfy the target schema (convert-opset checks it).
#include "passes/convert/OpsetAdapters.h"

#include "ir/TensorUtil.h"
#include "passes/common/Constants.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace mopt {

// --- AdaptContext --------------------------------------------------------------------------------

Value* AdaptContext::addConstant(const Tensor& t, const std::string& hint) {
  return graph.addInitializer(names.fresh(hint), t);
}

Value* AdaptContext::int64s(const std::vector<int64_t>& v, const std::string& hint, bool scalar) {
  std::vector<int64_t> dims;
  if (!scalar) dims.push_back(static_cast<int64_t>(v.size()));
  return addConstant(Tensor::fromVector(DType::I64, dims, v), hint);
}

std::optional<int64_t> AdaptContext::rank(const Value* v) const {
  if (!v) return std::nullopt;
  if (auto c = constantValue(v)) return static_cast<int64_t>(c->dims().size());
  if (v->type().isTensor() && v->type().shape())
    return static_cast<int64_t>(v->type().shape()->size());
  return std::nullopt;
}

Node* AdaptContext::newNodeBefore(const std::string& op_type, const std::string& name_hint) {
  Node* n = graph.insertNodeBefore(node, op_type);
  std::string base = node->name().empty() ? op_type : node->name();
  n->setName(names.fresh(base + "/" + name_hint));
  return n;
}

void AdaptContext::replaceNode(Node* replacement) {
  std::vector<std::string> out_names;
  std::vector<Type> out_types;
  // Outputs the replacement lacks must be unused (adapters check that before rewriting).
  for (size_t i = 0; i < node->numOutputs(); ++i) {
    Value* old = node->output(i);
    Value* rep = replacement->output(i);
    if (!old || !rep) continue;
    old->replaceAllUsesWith(rep);
    for (size_t k = 0; k < graph.outputs().size(); ++k)
      if (graph.outputs()[k] == old) graph.setOutput(k, rep);
    out_names.push_back(old->name());
    out_types.push_back(old->type());
  }
  std::string name = node->name();
  graph.eraseNode(node);
  size_t j = 0;
  for (size_t i = 0; i < replacement->numOutputs(); ++i) {
    Value* rep = replacement->output(i);
    if (!rep || j >= out_names.size()) continue;
    rep->setName(out_names[j]);
    rep->setType(out_types[j]);
    ++j;
  }
  replacement->setName(name);
  node = replacement;
}

namespace {

// --- helpers
// ---------------------------------------------------------------------------------------

std::optional<std::vector<int64_t>> constInts(const Value* v) {
  auto t = constantValue(v);
  if (!t || !isInteger(t->dtype())) return std::nullopt;
  std::vector<int64_t> out;
  for (int64_t i = 0; i < t->numel(); ++i)
    out.push_back(elementAsInt(*t, i));
  return out;
}

std::optional<std::vector<double>> constFloats(const Value* v) {
  auto t = constantValue(v);
  if (!t || !isNumeric(t->dtype())) return std::nullopt;
  return toDoubles(*t);
}

bool hasInput(const Node* n, size_t i) {
  return n->numInputs() > i && n->input(i);
}

// Moves an ints attribute into input `index` (as an int64 tensor); missing attribute = no input.
std::string intsAttrToInput(AdaptContext& c, const char* attr, size_t index) {
  const Attribute* a = c.node->attr(attr);
  if (c.dry || !a) return "";
  Value* v =
      c.int64s(a->ints, (c.node->name().empty() ? c.node->opType() : c.node->name()) + "_" + attr);
  c.node->removeAttr(attr);
  while (c.node->numInputs() < index)
    c.node->addInput(nullptr);
  c.node->setInput(index, v);
  return "";
}

// Moves constant input `index` into an ints attribute; fails when it is not a constant.
std::string inputToIntsAttr(AdaptContext& c, const char* attr, size_t index) {
  if (!hasInput(c.node, index)) return "";
  auto vals = constInts(c.node->input(index));
  if (!vals)
    return fmt::format("input '{}' must be a constant to become attribute '{}'",
                       c.node->input(index)->name(), attr);
  if (c.dry) return "";
  c.node->setAttr(Attribute::makeInts(attr, *vals));
  c.node->truncateInputs(index);
  return "";
}

std::string requireAttrDefault(AdaptContext& c, const char* attr, int64_t def) {
  if (c.node->intAttr(attr, def) != def)
    return fmt::format("attribute {}={} has no equivalent in opset {}", attr,
                       c.node->intAttr(attr, def), c.to);
  if (!c.dry) c.node->removeAttr(attr);
  return "";
}

std::string requireNoInput(AdaptContext& c, size_t index, const char* what) {
  if (hasInput(c.node, index))
    return fmt::format("input '{}' has no equivalent in opset {}", what, c.to);
  if (!c.dry) c.node->truncateInputs(std::min(index, c.node->numInputs()));
  return "";
}

// --- adapters ---------------------------------------------------------------------------------

// Opset 7 made broadcasting numpy-style; opset <= 6 needed broadcast=1 and aligned B at `axis`.
std::string broadcastUp7(AdaptContext& c) {
  Node* n = c.node;
  int64_t broadcast = n->intAttr("broadcast", 0);
  const Attribute* axis_attr = n->attr("axis");
  if (broadcast && axis_attr) {
    auto ra = c.rank(n->input(0)), rb = c.rank(n->input(1));
    if (!ra || !rb) return "broadcast with 'axis' needs the ranks of both inputs";
    int64_t axis = axis_attr->i < 0 ? axis_attr->i + *ra : axis_attr->i;
    int64_t trailing = *ra - axis - *rb;
    if (trailing < 0) return "inconsistent broadcast axis";
    if (!c.dry && trailing > 0) {
      // Give B trailing unit dimensions so numpy broadcasting aligns it at `axis`.
      std::vector<int64_t> axes;
      for (int64_t k = 0; k < trailing; ++k)
        axes.push_back(*rb + k);
      Node* u = c.newNodeBefore("Unsqueeze", "align_b");
      u->addInput(n->input(1));
      u->setAttr(Attribute::makeInts("axes", axes));
      n->setInput(1, u->addOutput(c.names.fresh(n->input(1)->name() + "_aligned")));
    }
  }
  if (!c.dry) {
    n->removeAttr("broadcast");
    n->removeAttr("axis");
  }
  return "";
}

std::string removeAttrs(AdaptContext& c, std::initializer_list<const char*> attrs) {
  if (!c.dry)
    for (const char* a : attrs)
      c.node->removeAttr(a);
  return "";
}

std::string gemmUp7(AdaptContext& c) {
  return removeAttrs(c, {"broadcast"});
}
std::string isTestUp7(AdaptContext& c) {
  return removeAttrs(c, {"is_test"});
}
std::string batchNormUp9(AdaptContext& c) {
  if (c.node->intAttr("spatial", 1) != 1) return "spatial=0 has no equivalent from opset 9 on";
  return removeAttrs(c, {"spatial"});
}

std::string sliceUp10(AdaptContext& c) {
  Node* n = c.node;
  auto starts = n->intsAttr("starts"), ends = n->intsAttr("ends"), axes = n->intsAttr("axes");
  if (c.dry) return "";
  n->removeAttr("starts");
  n->removeAttr("ends");
  n->removeAttr("axes");
  std::string base = n->name().empty() ? "Slice" : n->name();
  n->addInput(c.int64s(starts, base + "_starts"));
  n->addInput(c.int64s(ends, base + "_ends"));
  if (!axes.empty()) n->addInput(c.int64s(axes, base + "_axes"));
  return "";
}

std::string sliceDown9(AdaptContext& c) {
  Node* n = c.node;
  auto starts = constInts(n->input(1)), ends = constInts(n->input(2));
  std::optional<std::vector<int64_t>> axes, steps;
  if (hasInput(n, 3)) axes = constInts(n->input(3));
  if (hasInput(n, 4)) steps = constInts(n->input(4));
  if (!starts || !ends || (hasInput(n, 3) && !axes) || (hasInput(n, 4) && !steps))
    return "starts/ends/axes/steps must be constants";
  if (steps)
    for (int64_t s : *steps)
      if (s != 1) return "steps other than 1 have no equivalent in opset 9";
  if (c.dry) return "";
  n->truncateInputs(1);
  n->setAttr(Attribute::makeInts("starts", *starts));
  n->setAttr(Attribute::makeInts("ends", *ends));
  if (axes) n->setAttr(Attribute::makeInts("axes", *axes));
  return "";
}

std::string topkUp10(AdaptContext& c) {
  if (c.dry) return "";
  int64_t k = c.node->intAttr("k", -1);
  c.node->removeAttr("k");
  c.node->addInput(c.int64s({k}, (c.node->name().empty() ? "TopK" : c.node->name()) + "_k"));
  return "";
}

std::string topkDown9(AdaptContext& c) {
  auto k = constInts(c.node->input(1));
  if (!k || k->size() != 1) return "k must be a constant";
  if (c.node->intAttr("largest", 1) != 1 || c.node->intAttr("sorted", 1) != 1) return "";
  if (c.dry) return "";
  c.node->truncateInputs(1);
  c.node->setAttr(Attribute::makeInt("k", (*k)[0]));
  return "";
}

// Upsample (deprecated at 10) becomes Resize with the same mode; opset 10 Resize has the
// asymmetric coordinate mapping Upsample had.
std::string upsampleUp10(AdaptContext& c) {
  Node* n = c.node;
  if (n->numInputs() < 2) return "Upsample needs its scales input";
  if (c.dry) return "";
  Node* r = c.newNodeBefore("Resize", "resize");
  r->addInput(n->input(0));
  r->addInput(n->input(1));
  r->setAttr(Attribute::makeString("mode", n->stringAttr("mode", "nearest")));
  r->addOutput(c.names.fresh(n->output(0)->name() + "_resized"));
  c.replaceNode(r);
  return "";
}

// Upsample-7 had scales as an attribute; 9 takes them as an input.
std::string upsampleUp9(AdaptContext& c) {
  const Attribute* s = c.node->attr("scales");
  if (!s) return "Upsample-7 without scales";
  if (c.dry) return "";
  std::vector<float> scales = s->floats;
  c.node->removeAttr("scales");
  c.node->addInput(
      c.addConstant(Tensor::fromVector(DType::F32, {static_cast<int64_t>(scales.size())}, scales),
                    (c.node->name().empty() ? "Upsample" : c.node->name()) + "_scales"));
  return "";
}

std::string upsampleDown8(AdaptContext& c) {
  auto scales = constFloats(c.node->input(1));
  if (!scales) return "scales must be a constant";
  if (c.dry) return "";
  std::vector<float> f(scales->begin(), scales->end());
  c.node->truncateInputs(1);
  c.node->setAttr(Attribute::makeFloats("scales", f));
  return "";
}

std::string resizeDown9(AdaptContext& c) {
  Node* n = c.node;
  std::string mode = n->stringAttr("mode", "nearest");
  if (mode != "nearest" && mode != "linear")
    return "mode '" + mode + "' has no Upsample equivalent";
  if (c.dry) return "";
  Node* u = c.newNodeBefore("Upsample", "upsample");
  u->addInput(n->input(0));
  u->addInput(n->input(1));
  u->setAttr(Attribute::makeString("mode", mode));
  u->addOutput(c.names.fresh(n->output(0)->name() + "_up"));
  c.replaceNode(u);
  return "";
}

// Resize-10 maps output to input coordinates asymmetrically and takes the floor for nearest;
// 11 adds roi and makes both explicit attributes.
std::string resizeUp11(AdaptContext& c) {
  Node* n = c.node;
  if (c.dry) return "";
  Value* scales = n->input(1);
  std::string mode = n->stringAttr("mode", "nearest");
  n->setInput(1, c.addConstant(Tensor::fromVector(DType::F32, {0}, std::vector<float>{}),
                               (n->name().empty() ? "Resize" : n->name()) + "_roi"));
  n->addInput(scales);
  n->setAttr(Attribute::makeString("coordinate_transformation_mode", "asymmetric"));
  if (mode == "nearest") n->setAttr(Attribute::makeString("nearest_mode", "floor"));
  return "";
}

std::string resizeDown10(AdaptContext& c) {
  Node* n = c.node;
  std::string mode = n->stringAttr("mode", "nearest");
  if (n->stringAttr("coordinate_transformation_mode", "half_pixel") != "asymmetric")
    return "only coordinate_transformation_mode=asymmetric exists in opset 10";
  if (mode == "cubic") return "cubic mode does not exist in opset 10";
  if (mode == "nearest" && n->stringAttr("nearest_mode", "round_prefer_floor") != "floor")
    return "opset 10 nearest resizing always takes the floor";
  if (hasInput(n, 3)) return "sizes input has no equivalent in opset 10";
  if (!hasInput(n, 2)) return "scales input missing";
  if (c.dry) return "";
  Value* scales = n->input(2);
  n->truncateInputs(1);
  n->addInput(scales);
  for (const char* a : {"coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a",
                        "exclude_outside", "extrapolation_value"})
    n->removeAttr(a);
  return "";
}

std::string resizeDown17(AdaptContext& c) {
  Node* n = c.node;
  if (n->intAttr("antialias", 0) != 0) return "antialias has no equivalent before opset 18";
  if (n->attr("axes")) return "axes has no equivalent before opset 18";
  if (n->stringAttr("keep_aspect_ratio_policy", "stretch") != "stretch")
    return "keep_aspect_ratio_policy has no equivalent before opset 18";
  return removeAttrs(c, {"antialias", "axes", "keep_aspect_ratio_policy"});
}

std::string clipUp11(AdaptContext& c) {
  Node* n = c.node;
  if (c.dry) return "";
  const Attribute* lo = n->attr("min");
  const Attribute* hi = n->attr("max");
  std::string base = n->name().empty() ? "Clip" : n->name();
  // Clip-6 works on float tensors; the bounds take the input's element type.
  DType dt = n->input(0)->type().isTensor() && n->input(0)->type().elemType() != DType::Undefined
                 ? n->input(0)->type().elemType()
                 : DType::F32;
  if (lo) n->addInput(c.addConstant(fromDoubles(dt, {}, {lo->f}), base + "_min"));
  if (hi) {
    if (!lo) n->addInput(nullptr);
    n->addInput(c.addConstant(fromDoubles(dt, {}, {hi->f}), base + "_max"));
  }
  n->removeAttr("min");
  n->removeAttr("max");
  return "";
}

std::string clipDown10(AdaptContext& c) {
  Node* n = c.node;
  std::optional<std::vector<double>> lo, hi;
  if (hasInput(n, 1) && !(lo = constFloats(n->input(1)))) return "min must be a constant";
  if (hasInput(n, 2) && !(hi = constFloats(n->input(2)))) return "max must be a constant";
  if (c.dry) return "";
  n->truncateInputs(1);
  if (lo && !lo->empty()) n->setAttr(Attribute::makeFloat("min", static_cast<float>((*lo)[0])));
  if (hi && !hi->empty()) n->setAttr(Attribute::makeFloat("max", static_cast<float>((*hi)[0])));
  return "";
}

std::string padUp11(AdaptContext& c) {
  Node* n = c.node;
  std::string mode = n->stringAttr("mode", "constant");
  float value = n->floatAttr("value", 0.f);
  DType dt = n->input(0)->type().isTensor() ? n->input(0)->type().elemType() : DType::Undefined;
  if (value != 0.f && dt == DType::Undefined)
    return "a non-zero pad value needs the input's element type";
  if (c.dry) return "";
  std::string base = n->name().empty() ? "Pad" : n->name();
  n->addInput(c.int64s(n->intsAttr("pads"), base + "_pads"));
  if (value != 0.f) n->addInput(c.addConstant(fromDoubles(dt, {}, {value}), base + "_value"));
  n->removeAttr("pads");
  n->removeAttr("value");
  return "";
}

std::string padDown10(AdaptContext& c) {
  Node* n = c.node;
  auto pads = constInts(n->input(1));
  if (!pads) return "pads must be a constant";
  std::optional<std::vector<double>> value;
  if (hasInput(n, 2) && !(value = constFloats(n->input(2))))
    return "constant_value must be a constant";
  if (c.dry) return "";
  n->truncateInputs(1);
  n->setAttr(Attribute::makeInts("pads", *pads));
  if (value && !value->empty())
    n->setAttr(Attribute::makeFloat("value", static_cast<float>((*value)[0])));
  return "";
}

std::string padDown17(AdaptContext& c) {
  return requireNoInput(c, 3, "axes");
}

std::string scatterUp11(AdaptContext& c) {
  if (c.dry) return "";
  Node* n = c.node;
  Node* s = c.newNodeBefore("ScatterElements", "scatter");
  for (Value* v : n->inputs())
    s->addInput(v);
  s->setAttr(Attribute::makeInt("axis", n->intAttr("axis", 0)));
  s->addOutput(c.names.fresh(n->output(0)->name() + "_scattered"));
  c.replaceNode(s);
  return "";
}

std::string axesNonNegativeDown10(AdaptContext& c);

std::string scatterElementsDown10(AdaptContext& c) {
  std::string r = axesNonNegativeDown10(c);
  if (!r.empty() || c.dry) return r;
  Node* n = c.node;
  Node* s = c.newNodeBefore("Scatter", "scatter");
  for (Value* v : n->inputs())
    s->addInput(v);
  s->setAttr(Attribute::makeInt("axis", n->intAttr("axis", 0)));
  s->addOutput(c.names.fresh(n->output(0)->name() + "_scattered"));
  c.replaceNode(s);
  return "";
}

std::string reductionNone(AdaptContext& c) {
  if (c.node->stringAttr("reduction", "none") != "none")
    return "reduction '" + c.node->stringAttr("reduction", "") + "' does not exist in opset " +
           std::to_string(c.to);
  return removeAttrs(c, {"reduction"});
}

std::string reductionNoMinMax(AdaptContext& c) {
  std::string r = c.node->stringAttr("reduction", "none");
  if (r == "min" || r == "max") return "reduction '" + r + "' does not exist before opset 18";
  return "";
}

std::string axesUp(AdaptContext& c) {
  return intsAttrToInput(c, "axes", 1);
}
std::string axesDown(AdaptContext& c) {
  return inputToIntsAttr(c, "axes", 1);
}
std::string splitUp13(AdaptContext& c) {
  return intsAttrToInput(c, "split", 1);
}
std::string splitDown12(AdaptContext& c) {
  return inputToIntsAttr(c, "split", 1);
}
// num_outputs (18) splits evenly like an opset-13 Split without `split` when the size divides.
std::string splitDown17(AdaptContext& c) {
  if (c.node->attr("num_outputs") && hasInput(c.node, 1)) return "";
  return removeAttrs(c, {"num_outputs"});
}

// Softmax, LogSoftmax and Hardmax before 13 flatten the input to 2-D at `axis` (default 1);
// from 13 they work along `axis` alone (default -1). The two agree when axis is the last one.
std::string softmaxUp13(AdaptContext& c) {
  Node* n = c.node;
  int64_t axis = n->intAttr("axis", 1);
  auto rank = c.rank(n->input(0));
  if (rank && (axis == *rank - 1 || axis == -1)) {
    if (!c.dry) n->setAttr(Attribute::makeInt("axis", -1));
    return "";
  }
  if (c.dry) return "";
  // Flatten to [prod(dims[:axis]), prod(dims[axis:])], normalize the last axis, reshape back.
  std::string base = n->name().empty() ? n->opType() : n->name();
  Node* shape = c.newNodeBefore("Shape", "shape");
  shape->addInput(n->input(0));
  Value* shape_v = shape->addOutput(c.names.fresh(base + "_shape"));
  Node* flat = c.newNodeBefore("Flatten", "flatten");
  flat->addInput(n->input(0));
  flat->setAttr(Attribute::makeInt("axis", axis));
  Value* flat_v = flat->addOutput(c.names.fresh(base + "_2d"));
  Node* sm = c.newNodeBefore(n->opType(), "2d");
  sm->addInput(flat_v);
  sm->setAttr(Attribute::makeInt("axis", -1));
  Value* sm_v = sm->addOutput(c.names.fresh(base + "_2d_out"));
  Node* back = c.newNodeBefore("Reshape", "reshape");
  back->addInput(sm_v);
  back->addInput(shape_v);
  back->addOutput(c.names.fresh(base + "_out"));
  c.replaceNode(back);
  return "";
}

std::string softmaxDown12(AdaptContext& c) {
  Node* n = c.node;
  int64_t axis = n->intAttr("axis", -1);
  auto rank = c.rank(n->input(0));
  if (axis == -1 || (rank && axis == *rank - 1)) {
    if (!c.dry) n->setAttr(Attribute::makeInt("axis", -1));
    return "";
  }
  if (!rank)
    return "axis " + std::to_string(axis) + " is not the last one and the input rank is unknown";
  if (c.dry) return "";
  // Move `axis` last, normalize there, move it back.
  int64_t a = axis < 0 ? axis + *rank : axis;
  std::vector<int64_t> perm, inverse(static_cast<size_t>(*rank));
  for (int64_t d = 0; d < *rank; ++d)
    if (d != a) perm.push_back(d);
  perm.push_back(a);
  for (size_t i = 0; i < perm.size(); ++i)
    inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  std::string base = n->name().empty() ? n->opType() : n->name();
  Node* t1 = c.newNodeBefore("Transpose", "to_last");
  t1->addInput(n->input(0));
  t1->setAttr(Attribute::makeInts("perm", perm));
  Value* t1v = t1->addOutput(c.names.fresh(base + "_t"));
  Node* sm = c.newNodeBefore(n->opType(), "last");
  sm->addInput(t1v);
  sm->setAttr(Attribute::makeInt("axis", *rank - 1));
  Value* smv = sm->addOutput(c.names.fresh(base + "_t_out"));
  Node* t2 = c.newNodeBefore("Transpose", "back");
  t2->addInput(smv);
  t2->setAttr(Attribute::makeInts("perm", inverse));
  t2->addOutput(c.names.fresh(base + "_out"));
  c.replaceNode(t2);
  return "";
}

std::string dropoutUp12(AdaptContext& c) {
  if (c.dry) return "";
  const Attribute* r = c.node->attr("ratio");
  if (r) {
    c.node->addInput(
        c.addConstant(Tensor::fromVector(DType::F32, {}, std::vector<float>{r->f}),
                      (c.node->name().empty() ? "Dropout" : c.node->name()) + "_ratio"));
    c.node->removeAttr("ratio");
  }
  return "";
}

std::string dropoutDown11(AdaptContext& c) {
  Node* n = c.node;
  std::optional<std::vector<double>> ratio;
  if (hasInput(n, 1) && !(ratio = constFloats(n->input(1)))) return "ratio must be a constant";
  if (hasInput(n, 2)) {
    auto training = constInts(n->input(2));
    if (!training || (!training->empty() && (*training)[0] != 0))
      return "training_mode must be a constant false";
  }
  if (c.dry) return "";
  n->truncateInputs(1);
  if (ratio && !ratio->empty())
    n->setAttr(Attribute::makeFloat("ratio", static_cast<float>((*ratio)[0])));
  return "";
}

std::string batchNormDown13(AdaptContext& c) {
  if (c.node->intAttr("training_mode", 0) != 0)
    return "training_mode=1 does not exist before opset 14";
  return removeAttrs(c, {"training_mode"});
}

std::string gemmDown10(AdaptContext& c) {
  Node* n = c.node;
  if (hasInput(n, 2)) return "";
  DType dt = n->input(0)->type().isTensor() ? n->input(0)->type().elemType() : DType::Undefined;
  if (dt == DType::Undefined)
    return "Gemm without C needs the input's element type to add a zero C";
  if (c.dry) return "";
  n->addInput(
      c.addConstant(fromDoubles(dt, {}, {0.0}), (n->name().empty() ? "Gemm" : n->name()) + "_c"));
  return "";
}

std::string layoutDown13(AdaptContext& c) {
  return requireAttrDefault(c, "layout", 0);
}
std::string allowZeroDown13(AdaptContext& c) {
  return requireAttrDefault(c, "allowzero", 0);
}
std::string selectLastDown11(AdaptContext& c) {
  return requireAttrDefault(c, "select_last_index", 0);
}
std::string batchDimsDown11(AdaptContext& c) {
  return requireAttrDefault(c, "batch_dims", 0);
}

std::string roiAlignUp16(AdaptContext& c) {
  if (!c.dry)
    c.node->setAttr(Attribute::makeString("coordinate_transformation_mode", "output_half_pixel"));
  return "";
}
std::string roiAlignDown15(AdaptContext& c) {
  if (c.node->stringAttr("coordinate_transformation_mode", "half_pixel") != "output_half_pixel")
    return "only coordinate_transformation_mode=output_half_pixel exists before opset 16";
  return removeAttrs(c, {"coordinate_transformation_mode"});
}

std::string quantAxisDown12(AdaptContext& c) {
  auto scale = constantValue(c.node->input(1));
  if (!scale || scale->numel() != 1) return "per-axis quantization does not exist before opset 13";
  return removeAttrs(c, {"axis"});
}

// LayerNormalization (17) decomposed into the ops the exporters use below 17.
std::string layerNormDown16(AdaptContext& c) {
  Node* n = c.node;
  int64_t axis = n->intAttr("axis", -1);
  auto rank = c.rank(n->input(0));
  // A negative axis names the trailing dimensions directly; a positive one needs the rank.
  if (!rank && axis >= 0) return "decomposing LayerNormalization needs the input rank";
  if (n->intAttr("stash_type", 1) != 1) return "stash_type other than float";
  for (size_t i = 1; i < n->numOutputs(); ++i)
    if (n->output(i) && (n->output(i)->hasUses() || n->output(i)->isGraphOutput()))
      return "its mean/inv_std_dev outputs are used";
  DType dt = n->input(0)->type().isTensor() ? n->input(0)->type().elemType() : DType::F32;
  if (dt == DType::Undefined) dt = DType::F32;
  if (c.dry) return "";
  std::vector<int64_t> axes;
  if (axis < 0) {
    for (int64_t d = axis; d < 0; ++d)
      axes.push_back(d);
  } else {
    for (int64_t d = axis; d < *rank; ++d)
      axes.push_back(d);
  }
  std::string base = n->name().empty() ? "LayerNormalization" : n->name();
  auto op = [&](const char* type, std::vector<Value*> ins, const char* hint) {
    Node* m = c.newNodeBefore(type, hint);
    for (Value* v : ins)
      m->addInput(v);
    m->addOutput(c.names.fresh(base + "_" + hint));
    return m;
  };
  Node* mean = op("ReduceMean", {n->input(0)}, "mean");
  mean->setAttr(Attribute::makeInts("axes", axes));
  Node* centered = op("Sub", {n->input(0), mean->output(0)}, "centered");
  Node* sq = op("Mul", {centered->output(0), centered->output(0)}, "sq");
  Node* var = op("ReduceMean", {sq->output(0)}, "var");
  var->setAttr(Attribute::makeInts("axes", axes));
  Value* eps = c.addConstant(fromDoubles(dt, {}, {n->floatAttr("epsilon", 1e-5f)}), base + "_eps");
  Node* ve = op("Add", {var->output(0), eps}, "var_eps");
  Node* sd = op("Sqrt", {ve->output(0)}, "std");
  Node* norm = op("Div", {centered->output(0), sd->output(0)}, "norm");
  Node* scaled = op("Mul", {norm->output(0), n->input(1)}, "scaled");
  Node* last = scaled;
  if (hasInput(n, 2)) last = op("Add", {scaled->output(0), n->input(2)}, "out");
  // Only output 0 is carried over; the others were checked to be unused.
  c.replaceNode(last);
  return "";
}

// Opset 11 allowed negative axes; below it an axis counts from the front, so it needs the rank.
// Unsqueeze counts relative to its output rank.
std::string axesNonNegativeDown10(AdaptContext& c) {
  Node* n = c.node;
  Attribute* axis = n->attr("axis");
  Attribute* axes = n->attr("axes");
  bool negative = (axis && axis->kind == AttrKind::Int && axis->i < 0);
  if (axes && axes->kind == AttrKind::Ints)
    for (int64_t a : axes->ints)
      negative = negative || a < 0;
  if (!negative) return "";
  auto rank = c.rank(n->input(0));
  if (!rank) return "a negative axis needs the input rank below opset 11";
  int64_t r = *rank;
  if (n->is("Unsqueeze") && axes) r += static_cast<int64_t>(axes->ints.size());
  if (n->is("OneHot")) r += 1;  // OneHot's axis counts in its output, one rank higher
  if (c.dry) return "";
  if (axis && axis->i < 0) axis->i += r;
  if (axes)
    for (int64_t& a : axes->ints)
      if (a < 0) a += r;
  return "";
}

std::string sliceAxesDown10(AdaptContext& c) {
  if (!hasInput(c.node, 3)) return "";
  auto axes = constInts(c.node->input(3));
  if (!axes) return "Slice axes must be a constant below opset 11";
  bool negative = std::any_of(axes->begin(), axes->end(), [](int64_t a) { return a < 0; });
  if (!negative) return "";
  auto rank = c.rank(c.node->input(0));
  if (!rank) return "negative Slice axes need the input rank below opset 11";
  if (c.dry) return "";
  for (int64_t& a : *axes)
    if (a < 0) a += *rank;
  c.node->setInput(3, c.int64s(*axes, c.node->input(3)->name() + "_nonneg"));
  return "";
}

std::string gatherDown10(AdaptContext& c) {
  // Non-constant indices are taken to be non-negative (embedding lookups); constants are checked.
  if (auto idx = constInts(c.node->input(1)))
    for (int64_t i : *idx)
      if (i < 0) return "negative Gather indices do not exist below opset 11";
  return axesNonNegativeDown10(c);
}

std::string topkDown10(AdaptContext& c) {
  if (c.node->intAttr("largest", 1) != 1) return "largest=0 does not exist before opset 11";
  std::string r = axesNonNegativeDown10(c);
  if (!r.empty() || c.dry) return r;
  c.node->removeAttr("largest");
  c.node->removeAttr("sorted");  // a sorted result is a valid unsorted one
  return "";
}

std::string blockAlways(AdaptContext& c) {
  return c.node->opType() + " changed meaning at opset " + std::to_string(std::max(c.from, c.to)) +
         " in a way mopt does not rewrite";
}

std::string convTransposeCheck11(AdaptContext& c) {
  // Opset 11 flipped how SAME_* auto_pad and output_shape split odd padding.
  std::string pad = c.node->stringAttr("auto_pad", "NOTSET");
  if (c.node->attr("output_shape") || pad == "SAME_UPPER" || pad == "SAME_LOWER")
    return "auto_pad SAME_* / output_shape split odd padding differently before opset 11";
  return "";
}

std::string dropoutMaskCheck10(AdaptContext& c) {
  if (c.node->numOutputs() > 1 && c.node->output(1) &&
      (c.node->output(1)->hasUses() || c.node->output(1)->isGraphOutput()))
    return "the mask output changed type at opset 10 and is used";
  return "";
}

std::string constantDown11(AdaptContext& c) {
  if (c.node->attr("sparse_value")) return "sparse_value does not exist before opset 11";
  return "";
}

// value_float(s)/value_int(s)/value_string(s) (12) become the equivalent `value` tensor.
std::string constantDown11From12(AdaptContext& c) {
  Node* n = c.node;
  if (n->attr("value") || n->attr("sparse_value")) return "";
  auto t = constantNodeValue(*n);
  if (!t) return "a Constant without a value";
  if (c.dry) return "";
  for (const char* a :
       {"value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings"})
    n->removeAttr(a);
  n->setAttr(Attribute::makeTensor("value", *t));
  return "";
}

std::string reduceAxesDownNoop(AdaptContext& c) {
  if (c.node->intAttr("noop_with_empty_axes", 0) != 0 && !hasInput(c.node, 1))
    return "noop_with_empty_axes=1 without axes has no equivalent before its opset";
  std::string r = inputToIntsAttr(c, "axes", 1);
  if (!r.empty() || c.dry) return r;
  c.node->removeAttr("noop_with_empty_axes");
  return "";
}

std::string sameShapesDown7(AdaptContext& c) {
  // Opset 8 added numpy broadcasting between the inputs of Sum/Max/Min/Mean.
  const Value* first = c.node->input(0);
  for (const Value* v : c.node->inputs()) {
    if (!v || !first || !v->type().isTensor() || !v->type().shape() || !first->type().shape())
      return "inputs of unknown shape may broadcast, which opset 7 does not allow";
    if (*v->type().shape() != *first->type().shape())
      return "inputs of different shapes broadcast, which opset 7 does not allow";
  }
  return "";
}

std::string splitUp18(AdaptContext& c) {
  // Opset 18 requires num_outputs when the split sizes are not given.
  if (hasInput(c.node, 1) || c.dry) return "";
  c.node->setAttr(Attribute::makeInt("num_outputs", static_cast<int64_t>(c.node->numOutputs())));
  return "";
}

std::string shapeDown14Slice(AdaptContext& c) {
  Node* n = c.node;
  if (!n->attr("start") && !n->attr("end")) return "";
  if (c.dry) return "";
  int64_t start = n->intAttr("start", 0);
  int64_t end = n->intAttr("end", INT64_MAX);
  n->removeAttr("start");
  n->removeAttr("end");
  std::string base = n->name().empty() ? "Shape" : n->name();
  Value* full = n->output(0);
  Node* slice = c.graph.insertNodeAfter(n, "Slice");
  slice->setName(c.names.fresh(base + "/slice"));
  Value* out = slice->addOutput(c.names.fresh(full->name() + "_sliced"));
  full->replaceAllUsesWith(out);
  for (size_t k = 0; k < c.graph.outputs().size(); ++k)
    if (c.graph.outputs()[k] == full) c.graph.setOutput(k, out);
  slice->addInput(full);
  slice->addInput(c.int64s({start}, base + "_start"));
  slice->addInput(c.int64s({end}, base + "_end"));
  slice->addInput(c.int64s({0}, base + "_axes"));
  // The sliced value takes over the name consumers knew.
  std::string name = full->name();
  full->setName(c.names.fresh(name + "_full"));
  out->setName(name);
  out->setType(full->type());
  return "";
}

std::string resizeDown12(AdaptContext& c) {
  // Opset 13 let roi/scales be omitted; before that they must be (possibly empty) tensors.
  Node* n = c.node;
  if (c.dry) return "";
  std::string base = n->name().empty() ? "Resize" : n->name();
  auto empty = [&](const char* hint) {
    return c.addConstant(Tensor::fromVector(DType::F32, {0}, std::vector<float>{}), base + hint);
  };
  if (n->numInputs() > 2 && !hasInput(n, 1)) n->setInput(1, empty("_roi"));
  if (n->numInputs() > 3 && !hasInput(n, 2)) n->setInput(2, empty("_scales"));
  return "";
}

std::string batchNormUp14(AdaptContext& c) {
  size_t extra = 0;
  for (size_t i = 1; i < c.node->numOutputs(); ++i)
    if (c.node->output(i)) ++extra;
  if (extra) return "training-mode BatchNormalization outputs changed at opset 14";
  return "";
}

// --- the table -----------------------------------------------------------------------------------

std::string reduceAxesUp18(AdaptContext& c) {
  return intsAttrToInput(c, "axes", 1);
}

bool findIn(const std::vector<OpsetChange>& v, const char* op, int version) {
  return std::any_of(v.begin(), v.end(), [&](const OpsetChange& c) {
    return std::string(c.op) == op && c.version == version;
  });
}

const std::vector<OpsetChange>& table() {
  static const std::vector<OpsetChange> t = [] {
    std::vector<OpsetChange> v = {
        {"Gemm", 7, gemmUp7, nullptr},
        {"BatchNormalization", 7, isTestUp7, nullptr},
        {"Dropout", 7, isTestUp7, nullptr},
        {"BatchNormalization", 9, batchNormUp9, nullptr},
        {"Upsample", 9, upsampleUp9, upsampleDown8},
        {"Slice", 10, sliceUp10, sliceDown9},
        {"TopK", 10, topkUp10, topkDown9},
        {"Upsample", 10, upsampleUp10, nullptr},
        {"Resize", 10, nullptr, resizeDown9},
        {"Resize", 11, resizeUp11, resizeDown10},
        {"Resize", 18, nullptr, resizeDown17},
        {"Clip", 11, clipUp11, clipDown10},
        {"Pad", 11, padUp11, padDown10},
        {"Pad", 18, nullptr, padDown17},
        {"Scatter", 11, scatterUp11, nullptr},
        {"ScatterElements", 11, nullptr, scatterElementsDown10},
        {"ScatterElements", 16, nullptr, reductionNone},
        {"ScatterND", 16, nullptr, reductionNone},
        {"ScatterElements", 18, nullptr, reductionNoMinMax},
        {"ScatterND", 18, nullptr, reductionNoMinMax},
        {"Split", 13, splitUp13, splitDown12},
        {"Squeeze", 13, axesUp, axesDown},
        {"Unsqueeze", 13, axesUp, axesDown},
        {"ReduceSum", 13, axesUp, reduceAxesDownNoop},
        {"Softmax", 13, softmaxUp13, softmaxDown12},
        {"LogSoftmax", 13, softmaxUp13, softmaxDown12},
        {"Hardmax", 13, softmaxUp13, softmaxDown12},
        {"Dropout", 12, dropoutUp12, dropoutDown11},
        {"Gemm", 11, nullptr, gemmDown10},
        {"GRU", 14, nullptr, layoutDown13},
        {"LSTM", 14, nullptr, layoutDown13},
        {"RNN", 14, nullptr, layoutDown13},
        {"Reshape", 14, nullptr, allowZeroDown13},
        {"ArgMax", 12, nullptr, selectLastDown11},
        {"ArgMin", 12, nullptr, selectLastDown11},
        {"GatherND", 12, nullptr, batchDimsDown11},
        {"RoiAlign", 16, roiAlignUp16, roiAlignDown15},
        {"QuantizeLinear", 13, nullptr, quantAxisDown12},
        {"DequantizeLinear", 13, nullptr, quantAxisDown12},
        {"LayerNormalization", 17, nullptr, layerNormDown16},
        {"Gather", 11, nullptr, gatherDown10},
        {"TopK", 11, nullptr, topkDown10},
        {"Slice", 11, nullptr, sliceAxesDown10},
        {"ConvTranspose", 11, convTransposeCheck11, convTransposeCheck11},
        {"Dropout", 10, dropoutMaskCheck10, dropoutMaskCheck10},
        {"Constant", 11, nullptr, constantDown11},
        {"Constant", 12, nullptr, constantDown11From12},
        {"Split", 18, splitUp18, splitDown17},
        {"Shape", 15, nullptr, shapeDown14Slice},
        {"Resize", 13, nullptr, resizeDown12},
        {"BatchNormalization", 14, batchNormUp14, batchNormDown13},
        {"Scan", 9, blockAlways, blockAlways},
        {"Loop", 11, nullptr, nullptr},
    };
    for (const char* op :
         {"ArgMax",     "ArgMin",     "Compress",  "Concat",     "Flatten",      "Hardmax",
          "LogSoftmax", "Softmax",    "ReduceL1",  "ReduceL2",   "ReduceLogSum", "ReduceLogSumExp",
          "ReduceMax",  "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum",    "ReduceSumSquare",
          "Split",      "Squeeze",    "Unsqueeze", "OneHot"})
      if (!findIn(v, op, 11)) v.push_back({op, 11, nullptr, axesNonNegativeDown10});
    for (const char* op : {"Sum", "Max", "Min", "Mean"})
      v.push_back({op, 8, nullptr, sameShapesDown7});
    for (const char* op :
         {"Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less"})
      v.push_back({op, 7, broadcastUp7, nullptr});
    for (const char* op : {"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
                           "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare"})
      v.push_back({op, 18, reduceAxesUp18, reduceAxesDownNoop});
    return v;
  }();
  return t;
}

// Operators whose schema changed at opset 18, or that first appear there (ONNX 1.13 Changelog);
// the schema registry linked into mopt stops at 17.
const std::set<std::string>& changedAt18() {
  static const std::set<std::string> s = {"ReduceL1",
                                          "ReduceL2",
                                          "ReduceLogSum",
                                          "ReduceLogSumExp",
                                          "ReduceMax",
                                          "ReduceMean",
                                          "ReduceMin",
                                          "ReduceProd",
                                          "ReduceSumSquare",
                                          "Split",
                                          "Pad",
                                          "Resize",
                                          "ScatterElements",
                                          "ScatterND",
                                          "LpPool",
                                          "OptionalHasElement",
                                          "OptionalGetElement",
                                          "BitwiseAnd",
                                          "BitwiseOr",
                                          "BitwiseXor",
                                          "BitwiseNot",
                                          "CenterCropPad",
                                          "Col2Im",
                                          "GroupNormalization",
                                          "Mish"};
  return s;
}

}  // namespace

const OpsetChange* findOpsetChange(const std::string& op, int64_t version) {
  for (const auto& c : table())
    if (c.op == op && c.version == version) return &c;
  return nullptr;
}

int sinceVersion(const OpSchemaOracle& schemas, const std::string& op, int64_t version) {
  if (version >= 18 && changedAt18().count(op)) return 18;
  const OpSignature* sig = nullptr;
  if (schemas.lookup("", op, std::min<int64_t>(version, 17), &sig) != OpSchemaOracle::Lookup::Found)
    return 0;
  return sig->since_version;
}

}  // namespace mopt
