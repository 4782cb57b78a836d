// Operator changes between neighbouring opsets (ONNX docs/Changelog.md) and their adapters.
//
// Only changes of meaning or signature need a row here. A schema bump that merely widens the
// accepted element types, or adds an attribute/input whose default keeps the old behaviour, is
// handled by the engine: the node must satisfy the target schema (convert-opset checks it).
#include "passes/convert/OpsetAdapters.h"

#include "ir/Error.h"
#include "ir/TensorUtil.h"
#include "passes/common/Constants.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <sstream>

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
  // A scale with one element (constant, or of static shape) is per-tensor.
  const Value* s = c.node->input(1);
  std::optional<int64_t> numel;
  if (auto scale = constantValue(s)) numel = scale->numel();
  if (!numel && s && s->type().isTensor() && s->type().shape())
    numel = knownNumel(*s->type().shape());
  if (numel != 1) return "per-axis quantization does not exist before opset 13";
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

// --- opsets 19..21 -------------------------------------------------------------------------------

const std::vector<DType> kFloat8 = {DType::F8E4M3FN, DType::F8E4M3FNUZ, DType::F8E5M2,
                                    DType::F8E5M2FNUZ};

std::vector<DType> joined(std::initializer_list<std::vector<DType>> parts) {
  std::vector<DType> out;
  for (const auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Element types an operator version accepts on every input and output where its predecessor
// did not (ONNX Changelog, 19..21). Where a type was added to one formal only and is valid on
// another (QuantizeLinear-19's int32 scale), it is left to the signature check.
const std::map<std::pair<std::string, int>, std::vector<DType>>& typesAdded() {
  static const auto t = [] {
    std::map<std::pair<std::string, int>, std::vector<DType>> m;
    const std::vector<DType> int4 = {DType::I4, DType::U4};
    const std::vector<DType> half = {DType::F16, DType::BF16};
    for (const char* op : {"Cast", "CastLike", "Constant", "Identity", "If", "Loop", "Reshape",
                           "Scan", "Shape", "Size"}) {
      m[{op, 19}] = kFloat8;
      m[{op, 21}] = int4;
    }
    m[{"DequantizeLinear", 19}] = joined({kFloat8, half});
    m[{"QuantizeLinear", 19}] = joined({kFloat8, half});
    m[{"Equal", 19}] = {DType::String};
    m[{"ConstantOfShape", 20}] = joined({kFloat8, {DType::BF16}});
    m[{"IsInf", 20}] = joined({kFloat8, half});
    m[{"IsNaN", 20}] = kFloat8;
    m[{"ReduceMax", 20}] = {DType::Bool};
    m[{"ReduceMin", 20}] = {DType::Bool};
    m[{"ConstantOfShape", 21}] = int4;
    for (const char* op : {"Flatten", "Pad", "Squeeze", "Transpose", "Unsqueeze"})
      m[{op, 21}] = joined({kFloat8, int4});
    m[{"QLinearMatMul", 21}] = joined({kFloat8, half});
    m[{"QuantizeLinear", 21}] = joined({int4, {DType::I16, DType::U16}});
    m[{"DequantizeLinear", 21}] = joined({int4, {DType::I16, DType::U16}});
    return m;
  }();
  return t;
}

DType innermostElemType(const Type& t) {
  if (t.isTensor() || t.kind() == Type::Kind::SparseTensor) return t.elemType();
  if ((t.kind() == Type::Kind::Sequence || t.kind() == Type::Kind::Optional) && t.element())
    return innermostElemType(*t.element());
  return DType::Undefined;
}

// Refuses a node that uses an element type its operator only accepts from the boundary on:
// on an input or output (through sequences/optionals), in a tensor attribute (Constant,
// ConstantOfShape) or as Cast's `to`.
std::string typesAddedDown(AdaptContext& c) {
  int boundary = static_cast<int>(std::max(c.from, c.to));
  auto it = typesAdded().find({c.node->opType(), boundary});
  if (it == typesAdded().end()) return "";
  const auto& added = it->second;
  auto bad = [&](DType d) { return std::find(added.begin(), added.end(), d) != added.end(); };
  auto refuse = [&](DType d, const std::string& where) {
    return fmt::format("element type {} ({}) does not exist for {} before opset {}",
                       dtypeOnnxName(d), where, c.node->opType(), boundary);
  };
  for (const auto* list : {&c.node->inputs(), &c.node->outputs()})
    for (const Value* v : *list)
      if (v && bad(innermostElemType(v->type())))
        return refuse(innermostElemType(v->type()), "'" + v->name() + "'");
  for (const Attribute& a : c.node->attributes()) {
    if (a.kind == AttrKind::Tensor && a.t.isDefined() && bad(a.t.dtype()))
      return refuse(a.t.dtype(), "attribute " + a.name);
    if (a.name == "to" && a.kind == AttrKind::Int && c.node->is("Cast"))
      if (auto d = dtypeFromOnnx(static_cast<int32_t>(a.i)); d && bad(*d))
        return refuse(*d, "attribute to");
  }
  return "";
}

// Cast/CastLike/QuantizeLinear 19 added `saturate`, which only affects float8 results: with
// float8 refused it can go whatever its value.
std::string saturateDown18(AdaptContext& c) {
  std::string r = typesAddedDown(c);
  if (!r.empty()) return r;
  return removeAttrs(c, {"saturate"});
}

std::string averagePoolDown18(AdaptContext& c) {
  for (int64_t d : c.node->intsAttr("dilations"))
    if (d != 1) return "dilations other than 1 do not exist for AveragePool before opset 19";
  return removeAttrs(c, {"dilations"});
}

std::string padDown18(AdaptContext& c) {
  if (c.node->stringAttr("mode", "constant") == "wrap")
    return "mode 'wrap' does not exist before opset 19";
  return "";
}

std::string resizeDown18(AdaptContext& c) {
  if (c.node->stringAttr("coordinate_transformation_mode", "half_pixel") == "half_pixel_symmetric")
    return "coordinate_transformation_mode 'half_pixel_symmetric' does not exist before opset 19";
  return "";
}

// DFT-17's `axis` attribute (default 1) became an optional input (default -2) at 20, so the
// upgrade always spells the axis out.
std::string dftUp20(AdaptContext& c) {
  Node* n = c.node;
  if (c.dry) return "";
  int64_t axis = n->intAttr("axis", 1);
  n->removeAttr("axis");
  if (n->numInputs() > 2) n->truncateInputs(2);
  while (n->numInputs() < 2)
    n->addInput(nullptr);
  n->addInput(c.int64s({axis}, (n->name().empty() ? "DFT" : n->name()) + "_axis", true));
  return "";
}

std::string dftDown19(AdaptContext& c) {
  Node* n = c.node;
  int64_t axis = -2;  // opset 20's default: the last signal axis
  if (hasInput(n, 2)) {
    auto v = constInts(n->input(2));
    if (!v || v->size() != 1) return "the axis input must be a constant to become an attribute";
    axis = (*v)[0];
  }
  if (c.dry) return "";
  n->truncateInputs(std::min<size_t>(n->numInputs(), 2));
  if (n->numInputs() == 2 && !n->input(1)) n->truncateInputs(1);
  n->setAttr(Attribute::makeInt("axis", axis));
  return "";
}

// GridSample-20 renamed bilinear/bicubic to linear/cubic (the defaults agree) and went N-D.
std::string gridSampleUp20(AdaptContext& c) {
  std::string mode = c.node->stringAttr("mode", "");  // absent: the defaults agree
  if (c.dry || (mode != "bilinear" && mode != "bicubic")) return "";
  c.node->setAttr(Attribute::makeString("mode", mode == "bilinear" ? "linear" : "cubic"));
  return "";
}

std::string gridSampleDown19(AdaptContext& c) {
  auto rank = c.rank(c.node->input(0));
  if (!rank) rank = c.rank(c.node->input(1));
  if (!rank) return "GridSample before opset 20 is 4-D only and the input rank is unknown";
  if (*rank != 4)
    return fmt::format("GridSample before opset 20 is 4-D only; the input has rank {}", *rank);
  std::string mode = c.node->stringAttr("mode", "");
  if (c.dry || (mode != "linear" && mode != "cubic")) return "";
  c.node->setAttr(Attribute::makeString("mode", mode == "linear" ? "bilinear" : "bicubic"));
  return "";
}

DType elemTypeOf(const Value* v) {
  return v && v->type().isTensor() ? v->type().elemType() : DType::Undefined;
}

// Gelu (20) below 20: 0.5 * x * (1 + erf(x / sqrt(2))), or with approximate="tanh"
// 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))), as in ONNX's function body.
std::string geluDown19(AdaptContext& c) {
  Node* n = c.node;
  std::string approx = n->stringAttr("approximate", "none");
  if (approx != "none" && approx != "tanh") return "approximate='" + approx + "' is not defined";
  DType dt = elemTypeOf(n->input(0));
  if (dt == DType::Undefined) return "decomposing Gelu needs the input's element type";
  if (c.dry) return "";
  std::string base = n->name().empty() ? "Gelu" : n->name();
  auto k = [&](double v, const char* hint) {
    return c.addConstant(fromDoubles(dt, {}, {v}), base + "_" + hint);
  };
  auto op = [&](const char* type, std::vector<Value*> ins, const char* hint) {
    Node* m = c.newNodeBefore(type, hint);
    for (Value* v : ins)
      m->addInput(v);
    return m->addOutput(c.names.fresh(base + "_" + hint));
  };
  Value* x = n->input(0);
  Value* inner;
  if (approx == "none") {
    inner = op("Erf", {op("Div", {x, k(std::sqrt(2.0), "sqrt2")}, "scaled")}, "erf");
  } else {
    Value* x3 = op("Mul", {op("Mul", {x, x}, "x2"), x}, "x3");
    Value* poly = op("Add", {x, op("Mul", {x3, k(0.044715, "coef")}, "cubic")}, "poly");
    inner = op("Tanh",
               {op("Mul", {poly, k(std::sqrt(2.0 / 3.14159265358979323846), "sqrt2pi")}, "arg")},
               "tanh");
  }
  Value* one_plus = op("Add", {inner, k(1.0, "one")}, "one_plus");
  Value* x_times = op("Mul", {x, one_plus}, "x_times");
  Node* last = c.newNodeBefore("Mul", "out");
  last->addInput(x_times);
  last->addInput(k(0.5, "half"));
  last->addOutput(c.names.fresh(base + "_out"));
  c.replaceNode(last);
  return "";
}

// GroupNormalization-18 takes scale/bias per group ([num_groups]); 21 per channel ([C]) and
// computes its first stage in `stash_type` (default float32) where 18 used the input's type.
struct GroupNormShape {
  int64_t groups = 0, channels = 0;
};

// `per_channel`: scale/bias hold one value per channel (opset 21), which also gives C.
std::string groupNormShape(AdaptContext& c, GroupNormShape& s, bool per_channel) {
  Node* n = c.node;
  if (!n->attr("num_groups")) return "GroupNormalization without num_groups";
  s.groups = n->intAttr("num_groups", 0);
  const auto& type = n->input(0)->type();
  if (type.isTensor() && type.shape() && type.shape()->size() >= 2 && (*type.shape())[1].isKnown())
    s.channels = (*type.shape())[1].value;
  if (s.channels == 0 && per_channel)
    if (auto t = constantValue(n->input(1))) s.channels = t->numel();
  if (s.channels == 0) return "the channel count (dimension 1 of X) is unknown";
  if (s.groups <= 0 || s.channels % s.groups != 0)
    return fmt::format("num_groups={} does not divide the {} channels", s.groups, s.channels);
  return "";
}

std::string groupNormUp21(AdaptContext& c) {
  Node* n = c.node;
  GroupNormShape s;
  std::string r = groupNormShape(c, s, false);
  if (!r.empty()) return r;
  std::optional<Tensor> ts[2] = {constantValue(n->input(1)), constantValue(n->input(2))};
  for (const auto& t : ts) {
    if (!t) return "scale and bias must be constants to become per-channel (opset 21)";
    if (t->numel() != s.groups)
      return fmt::format("scale/bias have {} values for {} groups", t->numel(), s.groups);
  }
  DType dt = elemTypeOf(n->input(0));
  if (c.dry) return "";
  int64_t per = s.channels / s.groups;
  std::string base = n->name().empty() ? "GroupNormalization" : n->name();
  for (int k = 0; k < 2; ++k) {
    std::vector<double> g = toDoubles(*ts[k]), ch;
    for (int64_t i = 0; i < s.channels; ++i)
      ch.push_back(g[static_cast<size_t>(i / per)]);
    n->setInput(static_cast<size_t>(k + 1),
                c.addConstant(fromDoubles(ts[k]->dtype(), {s.channels}, ch),
                              base + (k ? "_bias_per_channel" : "_scale_per_channel")));
  }
  // Opset 18 normalized in X's own type; keep that where it is not float32.
  if (dt != DType::Undefined && dt != DType::F32)
    n->setAttr(Attribute::makeInt("stash_type", static_cast<int64_t>(dt)));
  return "";
}

std::string groupNormDown20(AdaptContext& c) {
  Node* n = c.node;
  GroupNormShape s;
  std::string r = groupNormShape(c, s, true);
  if (!r.empty()) return r;
  DType dt = elemTypeOf(n->input(0));
  int64_t stash = n->intAttr("stash_type", 1);
  bool stash_ok = dt == DType::Undefined
                      ? stash == 1
                      : stash == static_cast<int64_t>(dt) || (stash == 1 && dt == DType::F32);
  if (!stash_ok)
    return fmt::format(
        "stash_type={} with {} input has no equivalent before opset 21 (opset 18 "
        "normalizes in the input's type)",
        stash, dt == DType::Undefined ? "an untyped" : dtypeOnnxName(dt));
  std::optional<Tensor> ts[2] = {constantValue(n->input(1)), constantValue(n->input(2))};
  int64_t per = s.channels / s.groups;
  std::vector<double> grouped[2];
  for (int k = 0; k < 2; ++k) {
    if (!ts[k]) return "scale and bias must be constants to become per-group (before opset 21)";
    if (ts[k]->numel() != s.channels)
      return fmt::format("scale/bias have {} values for {} channels", ts[k]->numel(), s.channels);
    std::vector<double> v = toDoubles(*ts[k]);
    for (int64_t g = 0; g < s.groups; ++g) {
      for (int64_t i = 1; i < per; ++i)
        if (v[static_cast<size_t>(g * per + i)] != v[static_cast<size_t>(g * per)])
          return fmt::format(
              "{} differs within group {}: per-channel values have no per-group "
              "equivalent before opset 21",
              k ? "bias" : "scale", g);
      grouped[k].push_back(v[static_cast<size_t>(g * per)]);
    }
  }
  if (c.dry) return "";
  std::string base = n->name().empty() ? "GroupNormalization" : n->name();
  for (int k = 0; k < 2; ++k)
    n->setInput(static_cast<size_t>(k + 1),
                c.addConstant(fromDoubles(ts[k]->dtype(), {s.groups}, grouped[k]),
                              base + (k ? "_bias_per_group" : "_scale_per_group")));
  n->removeAttr("stash_type");
  return "";
}

std::string blockSizeDown20(AdaptContext& c) {
  int64_t b = c.node->intAttr("block_size", 0);
  if (b != 0)
    return fmt::format("blocked quantization (block_size={}) does not exist before opset 21", b);
  return "";
}

std::string dequantizeDown20(AdaptContext& c) {
  std::string r = typesAddedDown(c);
  if (r.empty()) r = blockSizeDown20(c);
  if (!r.empty()) return r;
  return removeAttrs(c, {"block_size"});
}

// QuantizeLinear-21's output_dtype chooses the result type when there is no zero point; before
// 21 that is the zero point's type (uint8 without one), so a zero zero-point stands in for it.
std::string quantizeDown20(AdaptContext& c) {
  Node* n = c.node;
  std::string r = typesAddedDown(c);
  if (r.empty()) r = blockSizeDown20(c);
  if (!r.empty()) return r;
  int64_t code = n->intAttr("output_dtype", 0);
  std::optional<Tensor> scale;
  DType out = DType::Undefined;
  if (code != 0 && !hasInput(n, 2)) {
    auto d = dtypeFromOnnx(static_cast<int32_t>(code));
    if (!d) return fmt::format("output_dtype={} is not an element type", code);
    out = *d;
    const auto& added = typesAdded().at({"QuantizeLinear", 21});
    if (std::find(added.begin(), added.end(), out) != added.end())
      return fmt::format(
          "element type {} (attribute output_dtype) does not exist for "
          "QuantizeLinear before opset 21",
          dtypeOnnxName(out));
    if (out != DType::U8 && !(scale = constantValue(n->input(1))))
      return "output_dtype without a zero point needs a constant scale (to shape a zero point)";
  }
  if (c.dry) return "";
  if (scale) {
    std::vector<double> zeros(static_cast<size_t>(scale->numel()), 0.0);
    while (n->numInputs() < 2)
      n->addInput(nullptr);
    n->truncateInputs(2);
    n->addInput(c.addConstant(fromDoubles(out, scale->dims(), zeros),
                              (n->name().empty() ? "QuantizeLinear" : n->name()) + "_zero_point"));
  }
  return removeAttrs(c, {"block_size", "output_dtype"});
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
        // 19..21 (ONNX 1.14-1.16)
        {"AveragePool", 19, nullptr, averagePoolDown18},
        {"Cast", 19, nullptr, saturateDown18},
        {"CastLike", 19, nullptr, saturateDown18},
        {"QuantizeLinear", 19, nullptr, saturateDown18},
        {"Pad", 19, nullptr, padDown18},
        {"Resize", 19, nullptr, resizeDown18},
        {"DFT", 20, dftUp20, dftDown19},
        {"GridSample", 20, gridSampleUp20, gridSampleDown19},
        {"Gelu", 20, nullptr, geluDown19},
        {"GroupNormalization", 21, groupNormUp21, groupNormDown20},
        {"QuantizeLinear", 21, nullptr, quantizeDown20},
        {"DequantizeLinear", 21, nullptr, dequantizeDown20},
    };
    // Type-only bumps at 19..21: the types they added must not be in use going down.
    for (const auto& [key, types] : typesAdded())
      if (!findIn(v, key.first.c_str(), key.second))
        v.push_back({key.first.c_str(), key.second, nullptr, typesAddedDown});
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

// --- signatures for opsets 18..21 ------------------------------------------------------------

// One block per operator version: "op NAME SINCE", then "a NAME KIND [=DEFAULT | !]",
// "i[?|*|*h] NAME TYPE [MIN]" / "o..." and "t VAR ELEMTYPE... [+other]" lines.
const char kRecentSchemaText[] =
#include "passes/convert/OpsetSchemas.inc"
    ;

AttrKind attrKindFromText(const std::string& k) {
  static const std::map<std::string, AttrKind> kinds = {{"int", AttrKind::Int},
                                                        {"float", AttrKind::Float},
                                                        {"string", AttrKind::String},
                                                        {"ints", AttrKind::Ints},
                                                        {"floats", AttrKind::Floats},
                                                        {"strings", AttrKind::Strings},
                                                        {"graph", AttrKind::Graph},
                                                        {"graphs", AttrKind::Graphs},
                                                        {"tensor", AttrKind::Tensor},
                                                        {"tensors", AttrKind::Tensors},
                                                        {"type_proto", AttrKind::TypeProto},
                                                        {"sparse_tensor", AttrKind::SparseTensor}};
  auto it = kinds.find(k);
  if (it == kinds.end()) throw Error(ErrorKind::Internal, "OpsetSchemas.inc: attribute kind " + k);
  return it->second;
}

// Operator name -> its signatures introduced at 18..21, oldest first.
using RecentSchemas = std::map<std::string, std::vector<std::unique_ptr<OpSignature>>, std::less<>>;

const RecentSchemas& recentSchemas() {
  static const RecentSchemas table = [] {
    RecentSchemas t;
    std::istringstream in(kRecentSchemaText);
    std::string line;
    OpSignature* sig = nullptr;
    std::map<std::string, std::pair<std::vector<DType>, bool>> vars;  // type var -> types
    auto finish = [&] {
      if (!sig) return;
      for (auto* list : {&sig->inputs, &sig->outputs})
        for (OpFormal& f : *list) {
          if (f.type_var.rfind("tensor(", 0) == 0) {
            if (auto d = parseDType(f.type_var.substr(7, f.type_var.size() - 8))) f.allowed = {*d};
          } else if (auto it = vars.find(f.type_var); it != vars.end()) {
            f.allowed = it->second.first;
          }
          std::sort(f.allowed.begin(), f.allowed.end());
        }
      vars.clear();
    };
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string tag;
      if (!(words >> tag)) continue;
      if (tag == "op") {
        finish();
        auto s = std::make_unique<OpSignature>();
        std::string flag;
        words >> s->op_type >> s->since_version >> flag;
        s->deprecated = flag == "deprecated";
        sig = s.get();
        t[s->op_type].push_back(std::move(s));
      } else if (tag == "a" && sig) {
        OpAttrSpec a;
        std::string kind, rest;
        words >> a.name >> kind;
        a.kind = attrKindFromText(kind);
        std::getline(words, rest);
        rest.erase(0, rest.find_first_not_of(' '));
        if (rest == "!") {
          a.required = true;
        } else if (!rest.empty() && rest[0] == '=') {
          std::string v = rest.substr(1);
          a.default_kind = a.kind;
          if (a.kind == AttrKind::Int) a.default_int = std::stoll(v);
          if (a.kind == AttrKind::Float) a.default_float = std::stof(v);
          if (a.kind == AttrKind::String) a.default_string = v;
        }
        sig->attributes.push_back(std::move(a));
      } else if ((tag[0] == 'i' || tag[0] == 'o') && sig) {
        OpFormal f;
        std::string opt = tag.substr(1);
        words >> f.name >> f.type_var;
        if (opt == "?") f.option = OpFormal::Option::Optional;
        if (opt[0] == '*') {
          f.option = OpFormal::Option::Variadic;
          f.homogeneous = opt != "*h";
          words >> f.min_arity;
        }
        (tag[0] == 'i' ? sig->inputs : sig->outputs).push_back(std::move(f));
      } else if (tag == "t" && sig) {
        std::string var, type;
        words >> var;
        auto& entry = vars[var];
        while (words >> type) {
          if (type == "+other") {
            entry.second = true;
          } else if (auto d = parseDType(type)) {
            entry.first.push_back(*d);
          } else {
            throw Error(ErrorKind::Internal, "OpsetSchemas.inc: element type " + type);
          }
        }
      }
    }
    finish();
    for (auto& [op, list] : t)
      std::sort(list.begin(), list.end(),
                [](const auto& a, const auto& b) { return a->since_version < b->since_version; });
    return t;
  }();
  return table;
}

}  // namespace

OpSchemaOracle::Lookup ConvertOpsetSchemas::lookup(std::string_view domain,
                                                   std::string_view op_type, int64_t version,
                                                   const OpSignature** out) const {
  bool default_domain = domain.empty() || domain == "ai.onnx";
  Lookup r = registry_.lookup(domain, op_type, version, out);
  if (r != Lookup::NotCovered || !default_domain || version > kMaxConvertOpset ||
      version <= kRegistryMaxOpset)
    return r;
  const auto& recent = recentSchemas();
  auto it = recent.find(op_type);
  if (it != recent.end()) {
    const OpSignature* best = nullptr;
    for (const auto& s : it->second)
      if (s->since_version <= version) best = s.get();
    if (best) {
      *out = best;
      return Lookup::Found;
    }
  }
  return registry_.lookup(domain, op_type, kRegistryMaxOpset, out);
}

const OpsetChange* findOpsetChange(const std::string& op, int64_t version) {
  for (const auto& c : table())
    if (c.op == op && c.version == version) return &c;
  return nullptr;
}

int sinceVersion(const OpSchemaOracle& schemas, const std::string& op, int64_t version) {
  const OpSignature* sig = nullptr;
  if (ConvertOpsetSchemas(schemas).lookup("", op, version, &sig) != OpSchemaOracle::Lookup::Found)
    return 0;
  return sig->since_version;
}

}  // namespace mopt
