// Internal (plugin only): the TorchScript importer and exporter entry points behind Backend.
#pragma once

#include "frontend/torchscript/TorchScript.h"

namespace mopt {

Model importTorchScript(const std::string& path, const TorchScriptImportOptions& opts);
void exportTorchScript(const Model& model, const std::string& path,
                       const TorchScriptExportOptions& opts);

}  // namespace mopt
