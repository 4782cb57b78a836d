// The IR: Model, Graph, Node, Value, Attribute and model-local Function.
//
// Ownership: a Graph owns its Nodes and Values; a Node owns its Attributes, and an attribute owns
// the subgraphs (If/Loop/Scan bodies) it holds. Everything else holds raw, non-owning pointers.
// Nodes are kept in topological order. A Value has at most one producer and a list of uses; a use
// can come from a node in a nested subgraph (outer-scope reference). Mutate only through the
// methods below so use lists stay right.
#pragma once

#include "ir/Tensor.h"
#include "ir/Type.h"

#include <cstdint>
#include <functional>
#include <iterator>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace mopt {

class Graph;
class Node;

enum class AttrKind : uint8_t {
  Undefined,
  Float,
  Int,
  String,
  Tensor,
  Graph,
  SparseTensor,
  TypeProto,
  Floats,
  Ints,
  Strings,
  Tensors,
  Graphs,
  SparseTensors,
  TypeProtos,
};
std::string_view attrKindName(AttrKind k);

// A node attribute. Only the field matching `kind` is meaningful.
struct Attribute {
  std::string name;
  AttrKind kind = AttrKind::Undefined;
  std::string doc_string;
  std::string ref_attr_name;   // inside a function body: takes the caller's attribute of that name
  std::string unknown_fields;  // serialized fields mopt does not model, written back as they were

  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::unique_ptr<Graph> g;
  SparseTensor sparse;
  Type tp;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::unique_ptr<Graph>> graphs;
  std::vector<SparseTensor> sparse_tensors;
  std::vector<Type> type_protos;

  Attribute();
  ~Attribute();
  Attribute(Attribute&&) noexcept;
  Attribute& operator=(Attribute&&) noexcept;

  static Attribute makeInt(std::string name, int64_t v);
  static Attribute makeFloat(std::string name, float v);
  static Attribute makeString(std::string name, std::string v);
  static Attribute makeInts(std::string name, std::vector<int64_t> v);
  static Attribute makeFloats(std::string name, std::vector<float> v);
  static Attribute makeStrings(std::string name, std::vector<std::string> v);
  static Attribute makeTensor(std::string name, Tensor v);
  static Attribute makeGraph(std::string name, std::unique_ptr<Graph> g);
};

struct Use {
  Node* user;
  size_t index;  // which input of `user`
  bool operator==(const Use& o) const { return user == o.user && index == o.index; }
};

class Value {
 public:
  const std::string& name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }
  const Type& type() const { return type_; }
  void setType(Type t) { type_ = std::move(t); }

  Graph* owner() const { return owner_; }
  Node* producer() const { return producer_; }
  size_t producerIndex() const { return producer_index_; }
  const std::vector<Use>& uses() const { return uses_; }
  bool hasUses() const { return !uses_.empty(); }

  bool isGraphInput() const { return is_input_; }
  bool isGraphOutput() const { return output_refs_ > 0; }
  bool isInitializer() const { return initializer_.isDefined(); }
  const Tensor& initializer() const { return initializer_; }
  // Replaces the constant data of an initializer value (its type follows the tensor).
  void setInitializer(Tensor t);
  const SparseTensor* sparseInitializer() const { return sparse_ ? sparse_.get() : nullptr; }
  // A constant known at compile time: an initializer that is not also an overridable input.
  bool isConstantInitializer() const { return isInitializer() && !is_input_; }

  // ONNX ValueInfoProto extras, kept for lossless round trips.
  const std::string& docString() const { return doc_string_; }
  void setDocString(std::string d) { doc_string_ = std::move(d); }
  const Props& metadataProps() const { return metadata_props_; }
  void setMetadataProps(Props p) { metadata_props_ = std::move(p); }

  // Points every node use (including uses inside subgraphs) at `other`. Graph outputs are left
  // alone: they are names the caller sees, see Graph::setOutput.
  void replaceAllUsesWith(Value* other);

 private:
  friend class Graph;
  friend class Node;
  explicit Value(Graph* owner, std::string name) : name_(std::move(name)), owner_(owner) {}

  std::string name_;
  Type type_;
  Graph* owner_;
  Node* producer_ = nullptr;
  size_t producer_index_ = 0;
  std::vector<Use> uses_;
  bool is_input_ = false;
  int output_refs_ = 0;
  Tensor initializer_;
  std::unique_ptr<SparseTensor> sparse_;
  std::string doc_string_;
  Props metadata_props_;
  std::list<std::unique_ptr<Value>>::iterator self_;
};

class Node {
 public:
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& opType() const { return op_type_; }
  void setOpType(std::string op) { op_type_ = std::move(op); }
  // "" for the default ONNX domain ("ai.onnx" is kept as written but means the same).
  const std::string& domain() const { return domain_; }
  void setDomain(std::string d) { domain_ = std::move(d); }
  bool isDefaultDomain() const { return domain_.empty() || domain_ == "ai.onnx"; }
  bool is(std::string_view op_type, std::string_view domain = "") const;
  const std::string& name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }
  const std::string& overload() const { return overload_; }
  void setOverload(std::string o) { overload_ = std::move(o); }
  const std::string& docString() const { return doc_string_; }
  void setDocString(std::string d) { doc_string_ = std::move(d); }
  const Props& metadataProps() const { return metadata_props_; }
  void setMetadataProps(Props p) { metadata_props_ = std::move(p); }
  std::string unknown_fields;  // serialized fields mopt does not model

  Graph* owner() const { return owner_; }

  // Inputs. A null input is an omitted optional input (ONNX name "").
  size_t numInputs() const { return inputs_.size(); }
  Value* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  const std::vector<Value*>& inputs() const { return inputs_; }
  void addInput(Value* v);
  void setInput(size_t i, Value* v);
  // Drops the trailing inputs from `count` on.
  void truncateInputs(size_t count);

  // Outputs. A null output is an optional output the model does not produce (ONNX name "").
  size_t numOutputs() const { return outputs_.size(); }
  Value* output(size_t i) const { return i < outputs_.size() ? outputs_[i] : nullptr; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  Value* addOutput(std::string name);
  void addAbsentOutput() { outputs_.push_back(nullptr); }

  // Attributes keep their order so output is deterministic.
  const std::vector<Attribute>& attributes() const { return attrs_; }
  std::vector<Attribute>& attributes() { return attrs_; }
  const Attribute* attr(std::string_view name) const;
  Attribute* attr(std::string_view name);
  void setAttr(Attribute a);  // replaces an attribute of the same name, else appends
  // Replaces all attributes at once; names must be unique. Linear, where one setAttr per attribute
  // is quadratic (an importer with a file of 100k attributes on one node).
  void setAttrs(std::vector<Attribute> attrs);
  bool removeAttr(std::string_view name);
  int64_t intAttr(std::string_view name, int64_t fallback) const;
  float floatAttr(std::string_view name, float fallback) const;
  std::string stringAttr(std::string_view name, const std::string& fallback) const;
  std::vector<int64_t> intsAttr(std::string_view name) const;

  // Subgraphs owned by this node's attributes, in attribute order.
  std::vector<Graph*> subgraphs() const;

  // Human-readable identity for messages: `name (OpType)` or `OpType #k` when unnamed.
  std::string describe() const;

 private:
  friend class Graph;
  friend class Value;
  Node(Graph* owner, std::string op_type, std::string domain)
      : op_type_(std::move(op_type)), domain_(std::move(domain)), owner_(owner) {}
  void dropInputUses();
  void removeUse(Value* v, size_t index);
  void adoptSubgraphs(Attribute& a);

  std::string op_type_, domain_, name_, overload_, doc_string_;
  Props metadata_props_;
  Graph* owner_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  std::vector<Attribute> attrs_;
  std::list<std::unique_ptr<Node>>::iterator self_;
};

// Iterates a list of unique_ptr<T> as T*.
template <typename T>
class PtrListRange {
 public:
  using List = std::list<std::unique_ptr<T>>;
  class iterator {
   public:
    using iterator_category = std::bidirectional_iterator_tag;
    using value_type = T*;
    using difference_type = std::ptrdiff_t;
    using pointer = T**;
    using reference = T*;
    explicit iterator(typename List::const_iterator it) : it_(it) {}
    T* operator*() const { return it_->get(); }
    iterator& operator++() {
      ++it_;
      return *this;
    }
    iterator& operator--() {
      --it_;
      return *this;
    }
    bool operator==(const iterator& o) const { return it_ == o.it_; }
    bool operator!=(const iterator& o) const { return it_ != o.it_; }

   private:
    typename List::const_iterator it_;
  };
  explicit PtrListRange(const List& l) : list_(l) {}
  iterator begin() const { return iterator(list_.begin()); }
  iterator end() const { return iterator(list_.end()); }
  size_t size() const { return list_.size(); }
  bool empty() const { return list_.empty(); }

 private:
  const List& list_;
};

class Graph {
 public:
  explicit Graph(std::string name = {});
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  const std::string& name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }
  const std::string& docString() const { return doc_string_; }
  void setDocString(std::string d) { doc_string_ = std::move(d); }
  const Props& metadataProps() const { return metadata_props_; }
  void setMetadataProps(Props p) { metadata_props_ = std::move(p); }
  std::string
      unknown_fields;  // serialized fields mopt does not model (e.g. quantization_annotation)

  // The node whose attribute owns this graph (null for a model's main graph or a function body).
  Node* parentNode() const { return parent_; }

  // --- values --------------------------------------------------------------------------------
  Value* addInput(std::string name, Type type);
  // Makes an existing value (usually an initializer) a graph input too: ONNX's overridable default.
  void markInput(Value* v);
  void removeInput(size_t i);  // the value stays; erase it separately when unused
  Value* addInitializer(std::string name, Tensor t);
  Value* addSparseInitializer(std::string name, SparseTensor t);
  // Drops the initializer data; erases the value too when nothing refers to it any more.
  void removeInitializer(Value* v);
  void addOutput(Value* v);
  void setOutput(size_t i, Value* v);
  void removeOutput(size_t i);

  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  // Initializer values in file order (dense, then sparse).
  const std::vector<Value*>& initializers() const { return initializers_; }
  const std::vector<Value*>& sparseInitializers() const { return sparse_initializers_; }
  PtrListRange<Value> values() const { return PtrListRange<Value>(values_); }

  // --- nodes ---------------------------------------------------------------------------------
  // Creates a node with no inputs/outputs at the end (or before `pos`).
  Node* appendNode(std::string op_type, std::string domain = {});
  Node* insertNodeBefore(Node* pos, std::string op_type, std::string domain = {});
  Node* insertNodeAfter(Node* pos, std::string op_type, std::string domain = {});
  // Moves `n` (a node of this graph) right before `pos`.
  void moveBefore(Node* n, Node* pos);
  // Erases a node whose outputs have no uses and are not graph outputs.
  void eraseNode(Node* n);
  PtrListRange<Node> nodes() const { return PtrListRange<Node>(nodes_); }
  // Snapshot for loops that erase or insert while walking.
  std::vector<Node*> nodeVector() const;
  size_t numNodes() const { return nodes_.size(); }

 private:
  friend class Node;
  friend class Value;
  friend struct Attribute;
  Value* newValue(std::string name);
  void eraseValue(Value* v);
  Node* insertAt(std::list<std::unique_ptr<Node>>::iterator where, std::string op, std::string dom);

  std::string name_, doc_string_;
  Props metadata_props_;
  Node* parent_ = nullptr;
  std::list<std::unique_ptr<Node>> nodes_;
  std::list<std::unique_ptr<Value>> values_;
  std::vector<Value*> inputs_, outputs_, initializers_, sparse_initializers_;
};

struct OpsetImport {
  std::string domain;
  int64_t version = 0;
};

// An ONNX model-local function. The body's inputs/outputs are the formal parameters (untyped).
struct Function {
  std::string name, domain, overload, doc_string;
  std::vector<std::string> attribute_names;   // attributes without defaults
  std::vector<Attribute> attribute_defaults;  // attributes with defaults (IR >= 9)
  std::vector<OpsetImport> opset_imports;
  std::unique_ptr<Graph> body;
  Props metadata_props;
  std::string unknown_fields;
};

class Model {
 public:
  Model();
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  int64_t ir_version = 8;
  std::vector<OpsetImport> opset_imports;
  std::string producer_name, producer_version, domain, doc_string;
  int64_t model_version = 0;
  Props metadata_props;
  std::unique_ptr<Graph> graph;
  std::vector<Function> functions;
  std::vector<std::string> training_info;  // serialized TrainingInfoProto, kept as is
  std::string unknown_fields;

  // Where the model came from (set by loaders; writers use it to keep the layout).
  std::string source_path;
  bool source_external_data = false;

  // Opset version imported for `domain` ("" and "ai.onnx" are the same), 0 if none.
  int64_t opset(std::string_view domain) const;
  void setOpset(std::string_view domain, int64_t version);
};

// Visits `g` and every graph nested in its nodes' attributes, parents before children.
void forEachGraph(Graph& g, const std::function<void(Graph&)>& fn);
void forEachGraph(const Graph& g, const std::function<void(const Graph&)>& fn);
// The main graph, its subgraphs and the bodies of model-local functions.
void forEachGraph(Model& m, const std::function<void(Graph&)>& fn);
void forEachGraph(const Model& m, const std::function<void(const Graph&)>& fn);

// Hands out value and node names that are unused anywhere in a model.
class NameScope {
 public:
  explicit NameScope(const Model& m);
  std::string fresh(std::string_view hint);

 private:
  std::unordered_set<std::string> taken_;
};

}  // namespace mopt
