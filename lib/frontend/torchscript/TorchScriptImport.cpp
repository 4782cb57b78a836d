// TorchScript -> IR (being written).
#include "frontend/torchscript/TorchScriptImpl.h"

#include "ir/Error.h"

namespace mopt {

Model importTorchScript(const std::string& path, const TorchScriptImportOptions&) {
  fail(ErrorKind::Internal, "{}: TorchScript import is not implemented yet", path);
}

}  // namespace mopt
