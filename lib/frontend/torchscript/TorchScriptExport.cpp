// IR -> TorchScript module (being written; see the exporter task).
#include "frontend/torchscript/TorchScriptImpl.h"

#include "ir/Error.h"

namespace mopt {

void exportTorchScript(const Model&, const std::string& path, const TorchScriptExportOptions&) {
  fail(ErrorKind::Internal, "{}: TorchScript export is not implemented yet", path);
}

}  // namespace mopt
