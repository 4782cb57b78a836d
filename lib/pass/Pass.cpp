// Typed pass options and the pass registry.
#include "pass/Pass.h"

#include "ir/Error.h"
#include "support/Strings.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace mopt {

std::string_view optionTypeName(OptionType t) {
  switch (t) {
    case OptionType::Bool:
      return "bool";
    case OptionType::Int:
      return "int";
    case OptionType::Float:
      return "float";
    case OptionType::String:
      return "string";
    case OptionType::Enum:
      return "enum";
    case OptionType::StringList:
      return "list";
  }
  return "?";
}

std::string quotePipelineValue(const std::string& s) {
  bool plain = !s.empty();
  for (char c : s)
    if (c == ',' || c == '{' || c == '}' || c == '[' || c == ']' || c == '=' || c == '"' ||
        c == ' ' || c == '\\' || c == '\t' || c == '\n')
      plain = false;
  if (plain) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

namespace {

bool parseBool(const std::string& s, bool& out) {
  if (s == "true" || s == "1" || s == "yes" || s == "on") {
    out = true;
    return true;
  }
  if (s == "false" || s == "0" || s == "no" || s == "off") {
    out = false;
    return true;
  }
  return false;
}

bool parseInt(const std::string& s, int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

bool parseFloat(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(out);
}

// The canonical spelling of one scalar, after checking it against the option's type.
std::string canonicalScalar(const OptionSpec& spec, const std::string& text) {
  auto bad = [&](const char* want) {
    fail(ErrorKind::Usage, "option '{}' must be {}, got '{}'", spec.name, want, text);
  };
  switch (spec.type) {
    case OptionType::Bool: {
      bool b;
      if (!parseBool(text, b)) bad("true or false");
      return b ? "true" : "false";
    }
    case OptionType::Int: {
      int64_t i;
      if (!parseInt(text, i)) bad("an integer");
      return std::to_string(i);
    }
    case OptionType::Float: {
      double d;
      if (!parseFloat(text, d)) bad("a number");
      return fmt::format("{}", d);
    }
    case OptionType::Enum: {
      for (const auto& c : spec.choices)
        if (c == text) return text;
      std::string hint = nearestName(text, spec.choices);
      fail(ErrorKind::Usage, "option '{}' must be one of {}, got '{}'{}", spec.name,
           join(spec.choices, "|"), text, hint.empty() ? "" : "; did you mean '" + hint + "'?");
    }
    case OptionType::String:
    case OptionType::StringList:
      return text;
  }
  return text;
}

}  // namespace

const OptionSpec& OptionValues::spec(const std::string& name) const {
  if (specs_)
    for (const auto& s : *specs_)
      if (s.name == name) return s;
  fail(ErrorKind::Internal, "option '{}' is not declared", name);
}

void OptionValues::set(const std::string& name, const RawOptionValue& value) {
  const OptionSpec* found = nullptr;
  std::vector<std::string> names;
  if (specs_) {
    for (const auto& s : *specs_) {
      names.push_back(s.name);
      if (s.name == name) found = &s;
    }
  }
  if (!found) {
    std::string hint = nearestName(name, names);
    fail(ErrorKind::Usage, "unknown option '{}'{}{}", name,
         hint.empty() ? "" : "; did you mean '" + hint + "'?",
         names.empty()  ? " (this pass takes no options)"
         : hint.empty() ? " (options: " + join(names, ", ") + ")"
                        : "");
  }
  if (value.is_list && found->type != OptionType::StringList)
    fail(ErrorKind::Usage, "option '{}' takes a single {}, not a list", name,
         optionTypeName(found->type));
  std::vector<std::string> items;
  for (const auto& item : value.items)
    items.push_back(canonicalScalar(*found, item));
  if (found->type != OptionType::StringList && items.size() != 1)
    fail(ErrorKind::Usage, "option '{}' needs a value", name);
  values_[name] = std::move(items);
  explicit_[name] = true;
}

void OptionValues::finish(const std::string& pass_name) {
  if (!specs_) return;
  for (const auto& s : *specs_) {
    if (values_.count(s.name)) continue;
    if (s.required)
      fail(ErrorKind::Usage, "pass '{}' needs option '{}' ({})", pass_name, s.name, s.help);
    if (s.type == OptionType::StringList) {
      values_[s.name] = {};
      std::string d = s.default_value;
      size_t start = 0;
      while (!d.empty() && start <= d.size()) {
        size_t comma = d.find(',', start);
        if (comma == std::string::npos) comma = d.size();
        values_[s.name].push_back(d.substr(start, comma - start));
        start = comma + 1;
      }
    } else {
      values_[s.name] = {canonicalScalar(s, s.default_value)};
    }
  }
}

static const std::vector<std::string>& itemsOf(
    const std::map<std::string, std::vector<std::string>>& v, const std::string& name) {
  auto it = v.find(name);
  if (it == v.end() || (it->second.empty()))
    fail(ErrorKind::Internal, "option '{}' has no value (finish() not called?)", name);
  return it->second;
}

bool OptionValues::getBool(const std::string& name) const {
  (void)spec(name);
  return itemsOf(values_, name)[0] == "true";
}

int64_t OptionValues::getInt(const std::string& name) const {
  (void)spec(name);
  int64_t v = 0;
  parseInt(itemsOf(values_, name)[0], v);
  return v;
}

double OptionValues::getFloat(const std::string& name) const {
  (void)spec(name);
  double v = 0;
  parseFloat(itemsOf(values_, name)[0], v);
  return v;
}

const std::string& OptionValues::getString(const std::string& name) const {
  (void)spec(name);
  return itemsOf(values_, name)[0];
}

std::vector<std::string> OptionValues::getList(const std::string& name) const {
  (void)spec(name);
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

bool OptionValues::isSet(const std::string& name) const {
  return explicit_.count(name) > 0;
}

std::string OptionValues::canonical() const {
  std::string out;
  if (!specs_) return out;
  for (const auto& s : *specs_) {
    auto it = values_.find(s.name);
    if (it == values_.end()) continue;
    if (!out.empty()) out += ',';
    out += s.name + "=";
    if (s.type == OptionType::StringList) {
      std::vector<std::string> q;
      for (const auto& item : it->second)
        q.push_back(quotePipelineValue(item));
      out += "[" + join(q, ",") + "]";
    } else {
      out += quotePipelineValue(it->second.empty() ? "" : it->second[0]);
    }
  }
  return out;
}

const PassEntry* PassRegistry::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.info->name == name) return &e;
  return nullptr;
}

std::vector<std::string> PassRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& e : entries_)
    out.push_back(e.info->name);
  return out;
}

}  // namespace mopt
