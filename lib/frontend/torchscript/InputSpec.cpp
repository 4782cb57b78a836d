// Parsing --input-shape specifications (core; shared by the TorchScript frontend and random feeds).
#include "frontend/torchscript/TorchScript.h"

#include "ir/Error.h"
#include "support/Strings.h"

namespace mopt {

InputSpec parseInputSpec(const std::string& text) {
  InputSpec s;
  std::string dims = text;
  auto eq = text.find('=');
  if (eq != std::string::npos) {
    s.name = text.substr(0, eq);
    dims = text.substr(eq + 1);
    auto colon = s.name.find(':');
    if (colon != std::string::npos) {
      auto dt = parseDType(s.name.substr(colon + 1));
      if (!dt)
        fail(ErrorKind::Usage, "--input-shape '{}': unknown dtype '{}'", text,
             s.name.substr(colon + 1));
      s.dtype = *dt;
      s.name.resize(colon);
    }
  }
  size_t start = 0;
  while (start <= dims.size()) {
    size_t comma = dims.find(',', start);
    if (comma == std::string::npos) comma = dims.size();
    std::string d = trim(dims.substr(start, comma - start));
    if (d.empty()) fail(ErrorKind::Usage, "--input-shape '{}': empty dimension", text);
    s.dims.push_back(d);
    start = comma + 1;
  }
  return s;
}

}  // namespace mopt
