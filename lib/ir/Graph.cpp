// Graph mutation primitives; they keep use lists, producers and output references consistent.
#include "ir/Graph.h"

#include "ir/Error.h"

#include <algorithm>
#include <iterator>

namespace mopt {

std::string_view attrKindName(AttrKind k) {
  switch (k) {
    case AttrKind::Undefined:
      return "undefined";
    case AttrKind::Float:
      return "float";
    case AttrKind::Int:
      return "int";
    case AttrKind::String:
      return "string";
    case AttrKind::Tensor:
      return "tensor";
    case AttrKind::Graph:
      return "graph";
    case AttrKind::SparseTensor:
      return "sparse_tensor";
    case AttrKind::TypeProto:
      return "type_proto";
    case AttrKind::Floats:
      return "floats";
    case AttrKind::Ints:
      return "ints";
    case AttrKind::Strings:
      return "strings";
    case AttrKind::Tensors:
      return "tensors";
    case AttrKind::Graphs:
      return "graphs";
    case AttrKind::SparseTensors:
      return "sparse_tensors";
    case AttrKind::TypeProtos:
      return "type_protos";
  }
  return "?";
}

// --- Attribute ---------------------------------------------------------------------------------

Attribute::Attribute() = default;
Attribute::~Attribute() = default;
Attribute::Attribute(Attribute&&) noexcept = default;
Attribute& Attribute::operator=(Attribute&&) noexcept = default;

Attribute Attribute::makeInt(std::string name, int64_t v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = AttrKind::Int;
  a.i = v;
  return a;
}

Attribute Attribute::makeFloat(std::string name, float v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = AttrKind::Float;
  a.f = v;
  return a;
}

Attribute Attribute::makeString(std::string name, std::string v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = AttrKind::String;
  a.s = std::move(v);
  return a;
}

Attribute Attribute::makeInts(std::string name, std::vector<int64_t> v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = AttrKind::Ints;
  a.ints = std::move(v);
  return a;
}

Attribute Attribute::makeFloats(std::string name, std::vector<float> v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = AttrKind::Floats;
  a.floats = std::move(v);
  return a;
}

Attribute Attribute::makeStrings(std::string name, std::vector<std::string> v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = AttrKind::Strings;
  a.strings = std::move(v);
  return a;
}

Attribute Attribute::makeTensor(std::string name, Tensor v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = AttrKind::Tensor;
  a.t = std::move(v);
  return a;
}

Attribute Attribute::makeGraph(std::string name, std::unique_ptr<Graph> g) {
  Attribute a;
  a.name = std::move(name);
  a.kind = AttrKind::Graph;
  a.g = std::move(g);
  return a;
}

// --- Value -------------------------------------------------------------------------------------

void Value::setInitializer(Tensor t) {
  if (!t.isDefined()) fail(ErrorKind::Internal, "setInitializer: undefined tensor for '{}'", name_);
  if (!initializer_.isDefined() && !sparse_) owner_->initializers_.push_back(this);
  type_ = Type::tensor(t.dtype(), shapeOf(t.dims()));
  initializer_ = std::move(t);
}

void Value::replaceAllUsesWith(Value* other) {
  if (other == this) return;
  std::vector<Use> uses = std::move(uses_);
  uses_.clear();
  for (const Use& u : uses) {
    u.user->inputs_[u.index] = other;
    other->uses_.push_back(u);
  }
}

// --- Node --------------------------------------------------------------------------------------

Node::~Node() = default;

bool Node::is(std::string_view op_type, std::string_view domain) const {
  if (op_type_ != op_type) return false;
  if (domain.empty() || domain == "ai.onnx") return isDefaultDomain();
  return domain_ == domain;
}

void Node::addInput(Value* v) {
  inputs_.push_back(v);
  if (v) v->uses_.push_back(Use{this, inputs_.size() - 1});
}

void Node::removeUse(Value* v, size_t index) {
  // Searched from the back: a graph being destroyed drops its nodes' uses last node first, so the
  // use is the last entry and nothing moves (front first was quadratic: 1.2 s when tearing down
  // one value with 100k readers).
  auto it = std::find(v->uses_.rbegin(), v->uses_.rend(), Use{this, index});
  if (it != v->uses_.rend()) v->uses_.erase(std::next(it).base());
}

void Node::setInput(size_t i, Value* v) {
  if (i >= inputs_.size()) inputs_.resize(i + 1, nullptr);
  if (inputs_[i]) removeUse(inputs_[i], i);
  inputs_[i] = v;
  if (v) v->uses_.push_back(Use{this, i});
}

void Node::truncateInputs(size_t count) {
  while (inputs_.size() > count) {
    if (inputs_.back()) removeUse(inputs_.back(), inputs_.size() - 1);
    inputs_.pop_back();
  }
}

Value* Node::addOutput(std::string name) {
  Value* v = owner_->newValue(std::move(name));
  v->producer_ = this;
  v->producer_index_ = outputs_.size();
  outputs_.push_back(v);
  return v;
}

void Node::dropInputUses() {
  for (size_t i = inputs_.size(); i-- > 0;)
    if (inputs_[i]) removeUse(inputs_[i], i);
  inputs_.clear();
}

const Attribute* Node::attr(std::string_view name) const {
  for (const auto& a : attrs_)
    if (a.name == name) return &a;
  return nullptr;
}

Attribute* Node::attr(std::string_view name) {
  for (auto& a : attrs_)
    if (a.name == name) return &a;
  return nullptr;
}

// Subgraphs point back at the node whose attribute owns them.
void Node::adoptSubgraphs(Attribute& a) {
  if (a.g) a.g->parent_ = this;
  for (auto& g : a.graphs)
    g->parent_ = this;
}

void Node::setAttr(Attribute a) {
  for (auto& existing : attrs_) {
    if (existing.name == a.name) {
      existing = std::move(a);
      adoptSubgraphs(existing);
      return;
    }
  }
  attrs_.push_back(std::move(a));
  adoptSubgraphs(attrs_.back());
}

void Node::setAttrs(std::vector<Attribute> attrs) {
  attrs_ = std::move(attrs);
  for (auto& a : attrs_)
    adoptSubgraphs(a);
}

bool Node::removeAttr(std::string_view name) {
  for (auto it = attrs_.begin(); it != attrs_.end(); ++it) {
    if (it->name == name) {
      attrs_.erase(it);
      return true;
    }
  }
  return false;
}

int64_t Node::intAttr(std::string_view name, int64_t fallback) const {
  const Attribute* a = attr(name);
  return a && a->kind == AttrKind::Int ? a->i : fallback;
}

float Node::floatAttr(std::string_view name, float fallback) const {
  const Attribute* a = attr(name);
  return a && a->kind == AttrKind::Float ? a->f : fallback;
}

std::string Node::stringAttr(std::string_view name, const std::string& fallback) const {
  const Attribute* a = attr(name);
  return a && a->kind == AttrKind::String ? a->s : fallback;
}

std::vector<int64_t> Node::intsAttr(std::string_view name) const {
  const Attribute* a = attr(name);
  return a && a->kind == AttrKind::Ints ? a->ints : std::vector<int64_t>{};
}

std::vector<Graph*> Node::subgraphs() const {
  std::vector<Graph*> out;
  for (const auto& a : attrs_) {
    if (a.g) out.push_back(a.g.get());
    for (const auto& g : a.graphs)
      out.push_back(g.get());
  }
  return out;
}

std::string Node::describe() const {
  if (!name_.empty()) return fmt::format("'{}' ({})", name_, op_type_);
  size_t k = 0;
  for (Node* n : owner_->nodes()) {
    if (n == this) break;
    ++k;
  }
  return fmt::format("{} #{}", op_type_, k);
}

// --- Graph -------------------------------------------------------------------------------------

Graph::Graph(std::string name) : name_(std::move(name)) {}

Graph::~Graph() {
  // Nodes (and the subgraphs they own) drop their uses of values while all values still live;
  // uses of values in enclosing graphs must go too, or those graphs would keep dangling uses.
  for (auto n = nodes_.rbegin(); n != nodes_.rend(); ++n)
    (*n)->dropInputUses();
  while (!nodes_.empty())
    nodes_.pop_back();
}

Value* Graph::newValue(std::string name) {
  values_.push_back(std::unique_ptr<Value>(new Value(this, std::move(name))));
  Value* v = values_.back().get();
  v->self_ = std::prev(values_.end());
  return v;
}

void Graph::eraseValue(Value* v) {
  if (v->hasUses() || v->isGraphOutput() || v->isGraphInput())
    fail(ErrorKind::Internal, "erasing value '{}' that is still referenced", v->name());
  if (v->isInitializer() || v->sparse_) {
    auto& list = v->sparse_ ? sparse_initializers_ : initializers_;
    list.erase(std::find(list.begin(), list.end(), v));
  }
  values_.erase(v->self_);
}

Value* Graph::addInput(std::string name, Type type) {
  Value* v = newValue(std::move(name));
  v->type_ = std::move(type);
  v->is_input_ = true;
  inputs_.push_back(v);
  return v;
}

void Graph::markInput(Value* v) {
  if (v->is_input_) return;
  v->is_input_ = true;
  inputs_.push_back(v);
}

void Graph::removeInput(size_t i) {
  Value* v = inputs_.at(i);
  inputs_.erase(inputs_.begin() + static_cast<std::ptrdiff_t>(i));
  v->is_input_ = false;
}

Value* Graph::addInitializer(std::string name, Tensor t) {
  Value* v = newValue(std::move(name));
  v->setInitializer(std::move(t));
  return v;
}

Value* Graph::addSparseInitializer(std::string name, SparseTensor t) {
  Value* v = newValue(std::move(name));
  v->type_ = Type::sparseTensor(t.values.dtype(), shapeOf(t.dims));
  v->sparse_ = std::make_unique<SparseTensor>(std::move(t));
  sparse_initializers_.push_back(v);
  return v;
}

void Graph::removeInitializer(Value* v) {
  if (v->sparse_) {
    sparse_initializers_.erase(
        std::find(sparse_initializers_.begin(), sparse_initializers_.end(), v));
    v->sparse_.reset();
  } else if (v->initializer_.isDefined()) {
    initializers_.erase(std::find(initializers_.begin(), initializers_.end(), v));
    v->initializer_ = Tensor();
  }
  if (!v->hasUses() && !v->isGraphOutput() && !v->isGraphInput() && !v->producer_) eraseValue(v);
}

void Graph::addOutput(Value* v) {
  outputs_.push_back(v);
  ++v->output_refs_;
}

void Graph::setOutput(size_t i, Value* v) {
  --outputs_.at(i)->output_refs_;
  outputs_[i] = v;
  ++v->output_refs_;
}

void Graph::removeOutput(size_t i) {
  --outputs_.at(i)->output_refs_;
  outputs_.erase(outputs_.begin() + static_cast<std::ptrdiff_t>(i));
}

Node* Graph::insertAt(std::list<std::unique_ptr<Node>>::iterator where, std::string op,
                      std::string dom) {
  auto it =
      nodes_.insert(where, std::unique_ptr<Node>(new Node(this, std::move(op), std::move(dom))));
  (*it)->self_ = it;
  return it->get();
}

Node* Graph::appendNode(std::string op_type, std::string domain) {
  return insertAt(nodes_.end(), std::move(op_type), std::move(domain));
}

Node* Graph::insertNodeBefore(Node* pos, std::string op_type, std::string domain) {
  return insertAt(pos->self_, std::move(op_type), std::move(domain));
}

Node* Graph::insertNodeAfter(Node* pos, std::string op_type, std::string domain) {
  return insertAt(std::next(pos->self_), std::move(op_type), std::move(domain));
}

void Graph::moveBefore(Node* n, Node* pos) {
  nodes_.splice(pos->self_, nodes_, n->self_);
}

void Graph::eraseNode(Node* n) {
  for (Value* out : n->outputs_) {
    if (out && (out->hasUses() || out->isGraphOutput()))
      fail(ErrorKind::Internal, "erasing node {} whose output '{}' is still used", n->describe(),
           out->name());
  }
  n->dropInputUses();
  for (Value* out : n->outputs_) {
    if (!out) continue;
    out->producer_ = nullptr;
    values_.erase(out->self_);
  }
  n->outputs_.clear();
  nodes_.erase(n->self_);
}

std::vector<Node*> Graph::nodeVector() const {
  std::vector<Node*> out;
  out.reserve(nodes_.size());
  for (const auto& n : nodes_)
    out.push_back(n.get());
  return out;
}

// --- Model -------------------------------------------------------------------------------------

Model::Model() : graph(std::make_unique<Graph>()) {}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

static bool isDefaultDomainName(std::string_view d) {
  return d.empty() || d == "ai.onnx";
}

int64_t Model::opset(std::string_view domain) const {
  for (const auto& o : opset_imports) {
    if (o.domain == domain || (isDefaultDomainName(domain) && isDefaultDomainName(o.domain)))
      return o.version;
  }
  return 0;
}

void Model::setOpset(std::string_view domain, int64_t version) {
  for (auto& o : opset_imports) {
    if (o.domain == domain || (isDefaultDomainName(domain) && isDefaultDomainName(o.domain))) {
      o.version = version;
      return;
    }
  }
  opset_imports.push_back(OpsetImport{std::string(domain), version});
}

void forEachGraph(Graph& g, const std::function<void(Graph&)>& fn) {
  fn(g);
  for (Node* n : g.nodes())
    for (Graph* sub : n->subgraphs())
      forEachGraph(*sub, fn);
}

void forEachGraph(const Graph& g, const std::function<void(const Graph&)>& fn) {
  fn(g);
  for (const Node* n : g.nodes())
    for (const Graph* sub : n->subgraphs())
      forEachGraph(*sub, fn);
}

void forEachGraph(Model& m, const std::function<void(Graph&)>& fn) {
  forEachGraph(*m.graph, fn);
  for (auto& f : m.functions)
    if (f.body) forEachGraph(*f.body, fn);
}

void forEachGraph(const Model& m, const std::function<void(const Graph&)>& fn) {
  forEachGraph(static_cast<const Graph&>(*m.graph), fn);
  for (const auto& f : m.functions)
    if (f.body) forEachGraph(static_cast<const Graph&>(*f.body), fn);
}

NameScope::NameScope(const Model& m) {
  forEachGraph(m, [this](const Graph& g) {
    for (const Value* v : g.values())
      taken_.insert(v->name());
    for (const Node* n : g.nodes())
      if (!n->name().empty()) taken_.insert(n->name());
  });
}

std::string NameScope::fresh(std::string_view hint) {
  std::string base(hint.empty() ? "v" : hint);
  std::string name = base;
  for (int k = 1; taken_.count(name); ++k)
    name = fmt::format("{}_{}", base, k);
  taken_.insert(name);
  return name;
}

}  // namespace mopt
