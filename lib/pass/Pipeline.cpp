// Textual pipeline parser: a small hand-written lexer, with errors that point at a column.
#include "pass/Pipeline.h"

#include "ir/Error.h"
#include "support/Strings.h"

namespace mopt {

std::string PassInvocation::canonical() const {
  std::string opts = options.canonical();
  return opts.empty() ? entry->info->name : entry->info->name + "{" + opts + "}";
}

std::string Pipeline::canonical() const {
  std::vector<std::string> parts;
  for (const auto& p : passes)
    parts.push_back(p.canonical());
  return join(parts, ",");
}

std::string unknownPassMessage(const PassRegistry& registry, const std::string& name) {
  std::string hint = nearestName(name, registry.names());
  return "unknown pass '" + name + "'" +
         (hint.empty() ? " (see `mopt passes`)" : "; did you mean '" + hint + "'?");
}

PassInvocation makeInvocation(const PassRegistry& registry, const std::string& name,
                              const std::vector<std::pair<std::string, RawOptionValue>>& options) {
  const PassEntry* entry = registry.find(name);
  if (!entry) throw Error(ErrorKind::Usage, unknownPassMessage(registry, name));
  PassInvocation inv;
  inv.entry = entry;
  inv.options = OptionValues(&entry->info->options);
  for (const auto& [key, value] : options) {
    if (inv.options.isSet(key))
      fail(ErrorKind::Usage, "option '{}' of pass '{}' is given twice", key, name);
    inv.options.set(key, value);
  }
  inv.options.finish(name);
  return inv;
}

namespace {

class Parser {
 public:
  Parser(const std::string& text, const PassRegistry& reg) : s_(text), reg_(reg) {}

  Pipeline parse() {
    Pipeline p;
    skipWs();
    if (i_ >= s_.size()) error(i_, "the pipeline is empty");
    while (true) {
      p.passes.push_back(invocation());
      skipWs();
      if (i_ >= s_.size()) break;
      if (s_[i_] != ',')
        error(i_, std::string("expected ',' between passes, found '") + s_[i_] + "'");
      ++i_;
      skipWs();
      if (i_ >= s_.size()) error(i_, "expected a pass name after ','");
    }
    return p;
  }

 private:
  const std::string& s_;
  const PassRegistry& reg_;
  size_t i_ = 0;

  [[noreturn]] void error(size_t col, const std::string& what) {
    throw Error(ErrorKind::Usage, fmt::format("pipeline, column {}: {}\n  {}\n  {}^", col + 1, what,
                                              s_, std::string(col, ' ')));
  }

  void skipWs() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n'))
      ++i_;
  }

  static bool special(char c) {
    return c == ',' || c == '{' || c == '}' || c == '[' || c == ']' || c == '=' || c == '"' ||
           c == ' ' || c == '\t' || c == '\n';
  }

  std::string word(const char* what) {
    size_t start = i_;
    while (i_ < s_.size() && !special(s_[i_]))
      ++i_;
    if (i_ == start)
      error(start, std::string("expected ") + what +
                       (start < s_.size() ? std::string(", found '") + s_[start] + "'" : ""));
    return s_.substr(start, i_ - start);
  }

  std::string scalar() {
    if (i_ < s_.size() && s_[i_] == '"') {
      size_t start = i_++;
      std::string out;
      while (i_ < s_.size() && s_[i_] != '"') {
        if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
        out += s_[i_++];
      }
      if (i_ >= s_.size()) error(start, "unterminated quoted value");
      ++i_;
      return out;
    }
    return word("a value");
  }

  RawOptionValue value() {
    RawOptionValue v;
    if (i_ < s_.size() && s_[i_] == '[') {
      ++i_;
      v.is_list = true;
      skipWs();
      if (i_ < s_.size() && s_[i_] == ']') {
        ++i_;
        return v;
      }
      while (true) {
        skipWs();
        v.items.push_back(scalar());
        skipWs();
        if (i_ < s_.size() && s_[i_] == ']') {
          ++i_;
          return v;
        }
        if (i_ >= s_.size() || s_[i_] != ',') error(i_, "expected ',' or ']' in a list");
        ++i_;
      }
    }
    v.items.push_back(scalar());
    return v;
  }

  PassInvocation invocation() {
    size_t name_col = i_;
    std::string name = word("a pass name");
    const PassEntry* entry = reg_.find(name);
    if (!entry) error(name_col, unknownPassMessage(reg_, name));
    PassInvocation inv;
    inv.entry = entry;
    inv.options = OptionValues(&entry->info->options);
    skipWs();
    if (i_ < s_.size() && s_[i_] == '{') {
      ++i_;
      skipWs();
      if (i_ < s_.size() && s_[i_] == '}') {
        ++i_;
      } else {
        while (true) {
          skipWs();
          size_t key_col = i_;
          std::string key = word("an option name");
          skipWs();
          if (i_ >= s_.size() || s_[i_] != '=')
            error(i_, "expected '=' after option '" + key + "'");
          ++i_;
          skipWs();
          size_t value_col = i_;
          RawOptionValue v = value();
          if (inv.options.isSet(key)) error(key_col, "option '" + key + "' is given twice");
          try {
            inv.options.set(key, v);
          } catch (const Error& e) {
            bool unknown_key = std::string(e.what()).rfind("unknown option", 0) == 0;
            error(unknown_key ? key_col : value_col,
                  std::string(e.what()) + " (pass '" + name + "')");
          }
          skipWs();
          if (i_ < s_.size() && s_[i_] == '}') {
            ++i_;
            break;
          }
          if (i_ >= s_.size() || s_[i_] != ',') error(i_, "expected ',' or '}' after an option");
          ++i_;
        }
      }
    }
    try {
      inv.options.finish(name);
    } catch (const Error& e) {
      error(name_col, e.what());
    }
    return inv;
  }
};

}  // namespace

Pipeline parsePipeline(const std::string& text, const PassRegistry& registry) {
  return Parser(text, registry).parse();
}

}  // namespace mopt
