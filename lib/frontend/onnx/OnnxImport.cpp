// ONNX wire structs -> IR: name resolution across nested scopes, topological ordering, tensor
// data decoding and external-data resolution confined to the model's folder.
#include "frontend/onnx/OnnxImport.h"

#include "ir/Error.h"

#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace mopt {

using namespace onnx_wire;

namespace {

std::string realPath(const std::string& p) {
  char buf[PATH_MAX];
  if (!::realpath(p.c_str(), buf)) return {};
  return buf;
}

bool parseUint(const std::string& s, uint64_t& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

ExternalDataResolver::ExternalDataResolver(std::string source, std::string base_dir)
    : source_(std::move(source)), base_dir_(std::move(base_dir)) {
  if (!base_dir_.empty()) base_real_ = realPath(base_dir_);
}

std::shared_ptr<const Buffer> ExternalDataResolver::resolve(const PTensor& t,
                                                            uint64_t expected_bytes) {
  std::string location;
  uint64_t offset = 0, length = 0;
  bool has_length = false;
  for (const auto& [k, v] : t.external_data) {
    if (k == "location") {
      location = v;
    } else if (k == "offset") {
      if (!parseUint(v, offset))
        failInput("{}: tensor '{}' has an invalid external-data offset '{}'", source_, t.name, v);
    } else if (k == "length") {
      if (!parseUint(v, length))
        failInput("{}: tensor '{}' has an invalid external-data length '{}'", source_, t.name, v);
      has_length = true;
    }
  }
  if (location.empty())
    failInput("{}: tensor '{}' is stored externally but names no location", source_, t.name);
  if (base_real_.empty())
    failInput(
        "{}: tensor '{}' refers to external data '{}', but the model was not read from a "
        "file whose folder could be resolved",
        source_, t.name, location);
  // Reject anything that could leave the model's folder before touching the file system
  // (CVE-2024-27318/27319 were exactly this in ONNX itself).
  if (location[0] == '/' || location[0] == '\\' || location.find(':') != std::string::npos)
    failInput(
        "{}: tensor '{}': external data location '{}' is an absolute path; only paths "
        "inside the model's folder are allowed",
        source_, t.name, location);
  size_t start = 0;
  while (start <= location.size()) {
    size_t end = location.find_first_of("/\\", start);
    if (end == std::string::npos) end = location.size();
    if (location.compare(start, end - start, "..") == 0)
      failInput("{}: tensor '{}': external data location '{}' escapes the model's folder", source_,
                t.name, location);
    start = end + 1;
  }
  std::string path = base_dir_ + "/" + location;
  std::string real = realPath(path);
  if (real.empty())
    failInput("{}: external data file '{}' for tensor '{}' does not exist", source_, location,
              t.name);
  if (real.compare(0, base_real_.size() + 1, base_real_ + "/") != 0)
    failInput(
        "{}: tensor '{}': external data location '{}' resolves outside the model's folder "
        "(through a symlink)",
        source_, t.name, location);
  auto it = files_.find(real);
  if (it == files_.end()) it = files_.emplace(real, MappedFile::open(real)).first;
  const auto& file = it->second;
  if (!has_length) length = expected_bytes;
  if (length != expected_bytes)
    failInput("{}: tensor '{}' needs {} bytes but its external data length is {}", source_, t.name,
              expected_bytes, length);
  if (offset > file->size() || length > file->size() - offset)
    failInput("{}: tensor '{}' reads bytes [{}, {}) of '{}', which has only {} bytes", source_,
              t.name, offset, offset + length, location, file->size());
  used_ = true;
  return Buffer::view(file, offset, length);
}

namespace {

struct Scope {
  const Scope* parent = nullptr;
  std::unordered_map<std::string, Value*> names;
  Value* find(const std::string& n) const {
    for (const Scope* s = this; s; s = s->parent) {
      auto it = s->names.find(n);
      if (it != s->names.end()) return it->second;
    }
    return nullptr;
  }
};

template <typename T>
std::shared_ptr<const Buffer> packValues(const std::vector<T>& src, size_t count,
                                         size_t elem_bytes) {
  auto buf = Buffer::allocate(count * elem_bytes);
  uint8_t* out = buf->mutableData();
  for (size_t i = 0; i < count; ++i) {
    // Narrow each stored value to the element width (int32_data holds int8, f16 bits, ...).
    auto v = src[i];
    std::memcpy(out + i * elem_bytes, &v, elem_bytes);
  }
  return buf;
}

class Importer {
 public:
  Importer(const std::string& source, ExternalDataResolver& ext, const OnnxLoadOptions* limits)
      : source_(source), ext_(ext), limits_(limits) {}

  Model model(PModel& pm) {
    Model m;
    if (!pm.has_graph) failInput("{}: the model has no graph", source_);
    if (pm.ir_version <= 0)
      failInput("{}: ir_version is missing or invalid ({})", source_, pm.ir_version);
    m.ir_version = pm.ir_version;
    for (auto& o : pm.opset_import)
      m.opset_imports.push_back(OpsetImport{o.domain, o.version});
    if (m.opset_imports.empty() && pm.ir_version >= 3)
      failInput("{}: the model imports no operator set (opset_import is empty)", source_);
    m.producer_name = pm.producer_name;
    m.producer_version = pm.producer_version;
    m.domain = pm.domain;
    m.model_version = pm.model_version;
    m.doc_string = pm.doc_string;
    m.metadata_props = pm.metadata_props;
    m.training_info = pm.training_info;
    m.unknown_fields = pm.unknown;
    m.graph = graph(pm.graph, nullptr, "graph '" + pm.graph.name + "'");
    for (auto& pf : pm.functions)
      m.functions.push_back(function(pf));
    return m;
  }

  Tensor tensor(PTensor& t, const std::string& where) {
    auto dtype = dtypeFromOnnx(t.data_type);
    std::string label = t.name.empty() ? where : "tensor '" + t.name + "'";
    if (!dtype || *dtype == DType::Undefined)
      failInput("{}: {} has unsupported data_type {}", source_, label, t.data_type);
    for (int64_t d : t.dims)
      if (d < 0) failInput("{}: {} has a negative dimension {}", source_, label, d);
    int64_t numel = checkedNumel(t.dims);
    if (numel < 0) failInput("{}: {} has dimensions whose product overflows", source_, label);
    if (t.has_segment)
      failInput("{}: {} uses tensor segments, which mopt does not support", source_, label);
    uint64_t n = static_cast<uint64_t>(numel);
    checkLimits(*dtype, n, label);
    Tensor out;
    if (t.data_location == 1 || !t.external_data.empty()) {
      if (*dtype == DType::String)
        failInput("{}: {} is a string tensor stored externally, which ONNX forbids", source_,
                  label);
      out = Tensor(*dtype, t.dims, ext_.resolve(t, dtypeStorageBytes(*dtype, n)));
    } else if (*dtype == DType::String) {
      if (t.string_data.size() != n)
        failInput("{}: {} has {} elements but {} strings are stored", source_, label, n,
                  t.string_data.size());
      out = Tensor::fromStrings(t.dims, std::move(t.string_data));
    } else if (t.has_raw_data) {
      uint64_t want = dtypeStorageBytes(*dtype, n);
      if (t.raw_data.size != want)
        failInput("{}: {} of type {} and shape {} needs {} bytes but raw_data holds {}", source_,
                  label, dtypeOnnxName(*dtype), dimsText(t.dims), want, t.raw_data.size);
      out = Tensor(*dtype, t.dims, t.raw_data.buffer);
    } else {
      out = Tensor(*dtype, t.dims, typedData(t, *dtype, n, label));
    }
    out.setName(t.name);
    out.setDocString(t.doc_string);
    out.setMetadataProps(t.metadata_props);
    return out;
  }

 private:
  const std::string& source_;
  ExternalDataResolver& ext_;
  const OnnxLoadOptions* limits_;
  uint64_t total_bytes_ = 0;  // declared data of every tensor imported so far

  // The declared size against the limits, before any data is resolved or copied.
  void checkLimits(DType dtype, uint64_t n, const std::string& label) {
    if (!limits_) return;
    if (dtype == DType::String) {
      if (n > static_cast<uint64_t>(limits_->max_string_elements))
        failInput("{}: {} declares {} strings, more than the limit of {} (--max-string-elements)",
                  source_, label, n, limits_->max_string_elements);
      return;
    }
    uint64_t bytes = dtypeStorageBytes(dtype, n);
    if (bytes > limits_->max_tensor_bytes)
      failInput(
          "{}: {} declares {} ({} x {}), more than the limit of {} bytes per tensor "
          "(--max-tensor-bytes)",
          source_, label,
          bytes == UINT64_MAX ? std::string("over 2^64 bytes") : std::to_string(bytes) + " bytes",
          n, dtypeOnnxName(dtype), limits_->max_tensor_bytes);
    if (bytes > limits_->max_total_bytes - total_bytes_)  // total_bytes_ <= the limit: no wrap
      failInput(
          "{}: the model's tensors declare more than the limit of {} bytes in all "
          "(--max-total-bytes)",
          source_, limits_->max_total_bytes);
    total_bytes_ += bytes;
  }

  static std::string dimsText(const std::vector<int64_t>& dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i)
      s += (i ? "," : "") + std::to_string(dims[i]);
    return s + "]";
  }

  std::shared_ptr<const Buffer> typedData(const PTensor& t, DType dtype, uint64_t n,
                                          const std::string& label) {
    auto check = [&](size_t have, uint64_t want, const char* field) {
      if (have != want)
        failInput("{}: {} of type {} with {} elements needs {} values in {} but has {}", source_,
                  label, dtypeOnnxName(dtype), n, want, field, have);
    };
    switch (dtype) {
      case DType::F32:
        check(t.float_data.size(), n, "float_data");
        return Buffer::copyOf(t.float_data.data(), n * 4);
      case DType::C64:
        check(t.float_data.size(), 2 * n, "float_data");
        return Buffer::copyOf(t.float_data.data(), n * 8);
      case DType::F64:
        check(t.double_data.size(), n, "double_data");
        return Buffer::copyOf(t.double_data.data(), n * 8);
      case DType::C128:
        check(t.double_data.size(), 2 * n, "double_data");
        return Buffer::copyOf(t.double_data.data(), n * 16);
      case DType::I64:
        check(t.int64_data.size(), n, "int64_data");
        return Buffer::copyOf(t.int64_data.data(), n * 8);
      case DType::U32:
        check(t.uint64_data.size(), n, "uint64_data");
        return packValues(t.uint64_data, n, 4);
      case DType::U64:
        check(t.uint64_data.size(), n, "uint64_data");
        return Buffer::copyOf(t.uint64_data.data(), n * 8);
      case DType::U4:
      case DType::I4: {
        uint64_t bytes = (n + 1) / 2;  // int32_data holds one packed byte (two elements) each
        check(t.int32_data.size(), bytes, "int32_data");
        return packValues(t.int32_data, bytes, 1);
      }
      default: {
        int bits = dtypeBits(dtype);
        if (bits != 8 && bits != 16 && bits != 32)
          failInput("{}: {} has type {} that cannot be stored in typed fields", source_, label,
                    dtypeOnnxName(dtype));
        check(t.int32_data.size(), n, "int32_data");
        return packValues(t.int32_data, n, static_cast<size_t>(bits / 8));
      }
    }
  }

  Type type(const PType& t, const std::string& where) {
    Type out;
    auto elem = [&](int32_t v) {
      auto d = dtypeFromOnnx(v);
      if (!d) failInput("{}: {} declares unknown element type {}", source_, where, v);
      return *d;
    };
    auto shape = [&]() -> std::optional<Shape> {
      if (!t.has_shape) return std::nullopt;
      Shape s;
      for (const PDim& d : t.shape) {
        Dim dim = d.has_value   ? Dim::known(d.value)
                  : d.has_param ? Dim::symbol(d.param)
                                : Dim::unknown();
        dim.denotation = d.denotation;
        s.push_back(std::move(dim));
      }
      return s;
    };
    auto inner = [&]() { return t.elem ? type(*t.elem, where) : Type(); };
    switch (t.kind) {
      case 1:
        out = Type::tensor(elem(t.elem_type), shape());
        break;
      case 8:
        out = Type::sparseTensor(elem(t.elem_type), shape());
        break;
      case 4:
        out = Type::sequence(inner());
        break;
      case 9:
        out = Type::optional(inner());
        break;
      case 5:
        out = Type::map(elem(t.elem_type), inner());
        break;
      case 7:
        out = Type::opaque(t.opaque_domain, t.opaque_name);
        break;
      default:
        break;
    }
    out.setDenotation(t.denotation);
    return out;
  }

  static AttrKind kindOf(const PAttr& a) {
    switch (a.type) {
      case 1:
        return AttrKind::Float;
      case 2:
        return AttrKind::Int;
      case 3:
        return AttrKind::String;
      case 4:
        return AttrKind::Tensor;
      case 5:
        return AttrKind::Graph;
      case 6:
        return AttrKind::Floats;
      case 7:
        return AttrKind::Ints;
      case 8:
        return AttrKind::Strings;
      case 9:
        return AttrKind::Tensors;
      case 10:
        return AttrKind::Graphs;
      case 11:
        return AttrKind::SparseTensor;
      case 12:
        return AttrKind::SparseTensors;
      case 13:
        return AttrKind::TypeProto;
      case 14:
        return AttrKind::TypeProtos;
      default:
        break;
    }
    // IR version 1 had no type field: infer it from the field that is set.
    if (a.has_f) return AttrKind::Float;
    if (a.has_i) return AttrKind::Int;
    if (a.has_s) return AttrKind::String;
    if (a.has_t) return AttrKind::Tensor;
    if (a.has_g) return AttrKind::Graph;
    if (a.has_sparse) return AttrKind::SparseTensor;
    if (a.has_tp) return AttrKind::TypeProto;
    if (!a.floats.empty()) return AttrKind::Floats;
    if (!a.ints.empty()) return AttrKind::Ints;
    if (!a.strings.empty()) return AttrKind::Strings;
    if (!a.tensors.empty()) return AttrKind::Tensors;
    if (!a.graphs.empty()) return AttrKind::Graphs;
    if (!a.sparse_tensors.empty()) return AttrKind::SparseTensors;
    if (!a.type_protos.empty()) return AttrKind::TypeProtos;
    return AttrKind::Undefined;
  }

  SparseTensor sparse(PSparseTensor& s, const std::string& where) {
    SparseTensor out;
    out.values = tensor(s.values, where + " (sparse values)");
    out.indices = tensor(s.indices, where + " (sparse indices)");
    out.dims = s.dims;
    return out;
  }

  Attribute attribute(PAttr& a, const Scope* scope, const std::string& where) {
    Attribute out;
    out.name = a.name;
    out.doc_string = a.doc_string;
    out.ref_attr_name = a.ref_attr_name;
    out.unknown_fields = a.unknown;
    out.kind = kindOf(a);
    std::string at = where + " attribute '" + a.name + "'";
    switch (out.kind) {
      case AttrKind::Float:
        out.f = a.f;
        break;
      case AttrKind::Int:
        out.i = a.i;
        break;
      case AttrKind::String:
        out.s = std::move(a.s);
        break;
      case AttrKind::Tensor:
        if (a.ref_attr_name.empty()) {
          PTensor none;  // the type says tensor but none is set: fails as data_type 0
          out.t = tensor(a.t ? *a.t : none, at);
        }
        break;
      case AttrKind::Graph:
        if (a.g) out.g = graph(*a.g, scope, at);
        break;
      case AttrKind::SparseTensor:
        if (a.ref_attr_name.empty()) {
          PSparseTensor none;
          out.sparse = sparse(a.sparse_tensor ? *a.sparse_tensor : none, at);
        }
        break;
      case AttrKind::TypeProto:
        out.tp = a.tp ? type(*a.tp, at) : Type();
        break;
      case AttrKind::Floats:
        out.floats = std::move(a.floats);
        break;
      case AttrKind::Ints:
        out.ints = std::move(a.ints);
        break;
      case AttrKind::Strings:
        out.strings = std::move(a.strings);
        break;
      case AttrKind::Tensors:
        for (auto& t : a.tensors)
          out.tensors.push_back(tensor(t, at));
        break;
      case AttrKind::Graphs:
        for (auto& g : a.graphs)
          out.graphs.push_back(graph(*g, scope, at));
        break;
      case AttrKind::SparseTensors:
        for (auto& s : a.sparse_tensors)
          out.sparse_tensors.push_back(sparse(s, at));
        break;
      case AttrKind::TypeProtos:
        for (auto& t : a.type_protos)
          out.type_protos.push_back(type(t, at));
        break;
      case AttrKind::Undefined:
        break;
    }
    return out;
  }

  // Names a graph reads from enclosing scopes (used to order nodes that own subgraphs).
  static void freeNames(const PGraph& g, std::unordered_set<std::string>& out) {
    std::unordered_set<std::string> defined;
    for (const auto& v : g.input)
      defined.insert(v.name);
    for (const auto& t : g.initializer)
      defined.insert(t.name);
    for (const auto& s : g.sparse_initializer)
      defined.insert(s.values.name);
    for (const auto& n : g.node)
      for (const auto& o : n.output)
        defined.insert(o);
    std::unordered_set<std::string> used;
    for (const auto& n : g.node) {
      for (const auto& i : n.input)
        if (!i.empty()) used.insert(i);
      for (const auto& a : n.attribute) {
        if (a.g) freeNames(*a.g, used);
        for (const auto& sg : a.graphs)
          freeNames(*sg, used);
      }
    }
    for (const auto& o : g.output)
      used.insert(o.name);
    for (const auto& u : used)
      if (!defined.count(u)) out.insert(u);
  }

  // Node order: the file's order when it is already topological (the common case), otherwise
  // a stable topological sort. A cycle is an error naming a node on it.
  std::vector<size_t> nodeOrder(const std::vector<PNode>& nodes,
                                const std::unordered_map<std::string, size_t>& producer,
                                const std::string& where) {
    size_t n = nodes.size();
    std::vector<std::vector<size_t>> deps(n);
    bool sorted = true;
    for (size_t i = 0; i < n; ++i) {
      std::unordered_set<std::string> reads;
      for (const auto& in : nodes[i].input)
        if (!in.empty()) reads.insert(in);
      for (const auto& a : nodes[i].attribute) {
        if (a.g) freeNames(*a.g, reads);
        for (const auto& sg : a.graphs)
          freeNames(*sg, reads);
      }
      for (const auto& r : reads) {
        auto it = producer.find(r);
        if (it == producer.end()) continue;
        if (it->second == i)
          failInput("{}: {} node {} reads its own output '{}' (a cycle)", source_, where,
                    nodeLabel(nodes[i], i), r);
        deps[i].push_back(it->second);
        if (it->second > i) sorted = false;
      }
    }
    std::vector<size_t> order;
    order.reserve(n);
    if (sorted) {
      for (size_t i = 0; i < n; ++i)
        order.push_back(i);
      return order;
    }
    std::vector<size_t> pending(n);
    std::vector<std::vector<size_t>> users(n);
    for (size_t i = 0; i < n; ++i) {
      std::sort(deps[i].begin(), deps[i].end());
      deps[i].erase(std::unique(deps[i].begin(), deps[i].end()), deps[i].end());
      pending[i] = deps[i].size();
      for (size_t d : deps[i])
        users[d].push_back(i);
    }
    std::priority_queue<size_t, std::vector<size_t>, std::greater<size_t>> ready;
    for (size_t i = 0; i < n; ++i)
      if (!pending[i]) ready.push(i);
    while (!ready.empty()) {
      size_t i = ready.top();
      ready.pop();
      order.push_back(i);
      for (size_t u : users[i])
        if (--pending[u] == 0) ready.push(u);
    }
    if (order.size() != n) {
      for (size_t i = 0; i < n; ++i)
        if (pending[i])
          failInput("{}: {} has a cycle: node {} depends on itself through its inputs", source_,
                    where, nodeLabel(nodes[i], i));
    }
    return order;
  }

  static std::string nodeLabel(const PNode& n, size_t index) {
    return n.name.empty() ? n.op_type + " #" + std::to_string(index)
                          : "'" + n.name + "' (" + n.op_type + ")";
  }

  std::unique_ptr<Graph> graph(PGraph& pg, const Scope* outer, const std::string& where) {
    auto g = std::make_unique<Graph>(pg.name);
    g->setDocString(pg.doc_string);
    g->setMetadataProps(pg.metadata_props);
    g->unknown_fields = pg.unknown;
    Scope scope;
    scope.parent = outer;
    auto define = [&](const std::string& name, Value* v, const char* what) {
      if (name.empty()) failInput("{}: {} has an {} with an empty name", source_, where, what);
      if (!scope.names.emplace(name, v).second)
        failInput("{}: {}: name '{}' is defined twice", source_, where, name);
    };

    for (auto& t : pg.initializer) {
      std::string name = t.name;
      Value* v = g->addInitializer(name, tensor(t, where + " initializer"));
      define(name, v, "initializer");
    }
    for (auto& s : pg.sparse_initializer) {
      std::string name = s.values.name;
      Value* v = g->addSparseInitializer(name, sparse(s, where + " sparse initializer"));
      define(name, v, "sparse initializer");
    }
    for (auto& vi : pg.input) {
      auto it = scope.names.find(vi.name);
      Value* v;
      if (it != scope.names.end() && !it->second->isGraphInput()) {
        v = it->second;  // an initializer listed as input: an overridable default
        g->markInput(v);
        if (vi.has_type) v->setType(type(vi.type, where));
      } else {
        v = g->addInput(vi.name, vi.has_type ? type(vi.type, where) : Type());
        define(vi.name, v, "input");
      }
      v->setDocString(vi.doc_string);
      v->setMetadataProps(vi.metadata_props);
    }

    std::unordered_map<std::string, size_t> producer;
    for (size_t i = 0; i < pg.node.size(); ++i) {
      for (const auto& o : pg.node[i].output) {
        if (o.empty()) continue;
        if (scope.names.count(o))
          failInput("{}: {}: node {} writes '{}', which is already an input or initializer",
                    source_, where, nodeLabel(pg.node[i], i), o);
        if (!producer.emplace(o, i).second)
          failInput("{}: {}: value '{}' is produced by two nodes ({} and {})", source_, where, o,
                    nodeLabel(pg.node[producer[o]], producer[o]), nodeLabel(pg.node[i], i));
      }
    }
    for (size_t i : nodeOrder(pg.node, producer, where)) {
      PNode& pn = pg.node[i];
      if (pn.op_type.empty())
        failInput("{}: {}: node {} has no op_type", source_, where, nodeLabel(pn, i));
      Node* n = g->appendNode(pn.op_type, pn.domain);
      n->setName(pn.name);
      n->setOverload(pn.overload);
      n->setDocString(pn.doc_string);
      n->setMetadataProps(pn.metadata_props);
      n->unknown_fields = pn.unknown;
      std::string nwhere = where + " node " + nodeLabel(pn, i);
      for (const auto& in : pn.input) {
        if (in.empty()) {
          n->addInput(nullptr);
          continue;
        }
        Value* v = scope.find(in);
        if (!v)
          failInput("{}: {} reads '{}', which no node, input or initializer defines", source_,
                    nwhere, in);
        n->addInput(v);
      }
      // A repeated name keeps its first position and its last value (as setAttr would), in
      // linear time: a node may come with a hundred thousand attributes.
      std::vector<Attribute> attrs;
      std::unordered_map<std::string, size_t> attr_index;
      for (auto& a : pn.attribute) {
        Attribute at = attribute(a, &scope, nwhere);
        auto [it, added] = attr_index.emplace(at.name, attrs.size());
        if (added) {
          attrs.push_back(std::move(at));
        } else {
          attrs[it->second] = std::move(at);
        }
      }
      n->setAttrs(std::move(attrs));
      for (const auto& o : pn.output) {
        if (o.empty()) {
          n->addAbsentOutput();
          continue;
        }
        scope.names.emplace(o, n->addOutput(o));
      }
    }

    for (auto& vi : pg.output) {
      Value* v = scope.find(vi.name);
      if (!v)
        failInput("{}: {}: output '{}' is not produced by any node, input or initializer", source_,
                  where, vi.name);
      g->addOutput(v);
      if (vi.has_type && (v->producer() || !v->type().isDefined()) && v->owner() == g.get())
        v->setType(type(vi.type, where));
      if (v->owner() == g.get()) {
        if (!vi.doc_string.empty()) v->setDocString(vi.doc_string);
        if (!vi.metadata_props.empty()) v->setMetadataProps(vi.metadata_props);
      }
    }
    for (auto& vi : pg.value_info) {
      auto it = scope.names.find(vi.name);
      if (it == scope.names.end()) continue;  // describes nothing in this graph: dropped
      Value* v = it->second;
      if (!v->producer() || v->isGraphOutput()) continue;
      if (vi.has_type) v->setType(type(vi.type, where));
      v->setDocString(vi.doc_string);
      v->setMetadataProps(vi.metadata_props);
    }
    return g;
  }

  Function function(PFunction& pf) {
    Function f;
    f.name = pf.name;
    f.domain = pf.domain;
    f.overload = pf.overload;
    f.doc_string = pf.doc_string;
    f.attribute_names = pf.attribute;
    f.metadata_props = pf.metadata_props;
    f.unknown_fields = pf.unknown;
    for (auto& o : pf.opset_import)
      f.opset_imports.push_back(OpsetImport{o.domain, o.version});
    std::string where = "function '" + pf.domain + "." + pf.name + "'";
    for (auto& a : pf.attribute_proto)
      f.attribute_defaults.push_back(attribute(a, nullptr, where));
    // Reuse graph import: a FunctionProto body is a graph with untyped inputs and outputs.
    PGraph body;
    body.name = pf.name;
    for (const auto& in : pf.input) {
      PValueInfo vi;
      vi.name = in;
      body.input.push_back(std::move(vi));
    }
    for (const auto& out : pf.output) {
      PValueInfo vi;
      vi.name = out;
      body.output.push_back(std::move(vi));
    }
    body.node = std::move(pf.node);
    body.value_info = std::move(pf.value_info);
    f.body = graph(body, nullptr, where);
    return f;
  }
};

}  // namespace

Model importOnnx(PModel& pm, const std::string& source, ExternalDataResolver& ext,
                 const OnnxLoadOptions* limits) {
  return Importer(source, ext, limits).model(pm);
}

Tensor importOnnxTensor(PTensor& t, const std::string& source, ExternalDataResolver& ext,
                        const OnnxLoadOptions* limits) {
  return Importer(source, ext, limits).tensor(t, "tensor");
}

}  // namespace mopt
