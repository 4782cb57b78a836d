// Loading the LibTorch plugin on demand, and the forwarding functions of Executor.h.
#include "exec/Backend.h"

#include "ir/Error.h"
#include "support/File.h"

#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <vector>

namespace mopt {

const TorchBackend& torchBackend() {
  static const TorchBackend* backend = nullptr;
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    using Entry = const TorchBackend* (*)();
    // Already in the process (a test linked it), else beside the executable, else MOPT_TORCH_LIB.
    void* handle = ::dlopen("libmopt_torch.so", RTLD_NOW | RTLD_NOLOAD);
    std::string tried;
    if (!handle) {
      // Beside the executable, or one folder up (test binaries live in build/tests/).
      char exe[PATH_MAX] = {};
      ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
      std::string dir = n > 0 ? dirName(std::string(exe, static_cast<size_t>(n))) : ".";
      std::vector<std::string> candidates = {dir + "/libmopt_torch.so",
                                             dir + "/../libmopt_torch.so"};
      if (const char* env = std::getenv("MOPT_TORCH_LIB"))
        candidates.insert(candidates.begin(), env);
      for (const auto& path : candidates) {
        if (!fileExists(path)) continue;
        tried = path;
        handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
        break;
      }
      if (tried.empty()) tried = candidates.front();
    }
    if (!handle) {
      error = fmt::format("cannot load the LibTorch plugin {}: {}", tried, ::dlerror());
      return;
    }
    auto entry = reinterpret_cast<Entry>(::dlsym(handle, "mopt_torch_backend"));
    if (!entry) {
      error = "the LibTorch plugin has no entry point mopt_torch_backend";
      return;
    }
    backend = entry();
  });
  if (!backend) throw Error(ErrorKind::Internal, error);
  return *backend;
}

std::unique_ptr<Executor> makeExecutor(const Model& model, ExecOptions opts) {
  return torchBackend().makeExecutor(model, std::move(opts));
}

std::vector<std::string> unsupportedOps(const Model& model) {
  return torchBackend().unsupportedOps(model);
}

std::vector<std::string> supportedOps() {
  return torchBackend().supportedOps();
}

std::vector<Tensor> evaluateNode(const Node& node, int64_t opset,
                                 const std::vector<std::optional<Tensor>>& inputs) {
  return torchBackend().evaluateNode(node, opset, inputs);
}

bool canEvaluate(const Node& node) {
  return torchBackend().canEvaluate(node);
}

Model loadTorchScript(const std::string& path, const TorchScriptImportOptions& opts) {
  return torchBackend().loadTorchScript(path, opts);
}

void saveTorchScript(const Model& model, const std::string& path,
                     const TorchScriptExportOptions& opts) {
  torchBackend().saveTorchScript(model, path, opts);
}

}  // namespace mopt
