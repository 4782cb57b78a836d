// The pass manager.
#include "pass/PassManager.h"

#include "ir/Error.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "support/Memory.h"

#include <chrono>

namespace mopt {

int64_t countNodes(const Model& m) {
  int64_t n = 0;
  forEachGraph(m, [&n](const Graph& g) { n += static_cast<int64_t>(g.numNodes()); });
  return n;
}

void weightTotals(const Model& m, int64_t& bytes, int64_t& elements) {
  bytes = elements = 0;
  forEachGraph(m, [&](const Graph& g) {
    for (const Value* v : g.initializers()) {
      bytes += static_cast<int64_t>(v->initializer().byteSize());
      elements += v->initializer().numel();
    }
  });
}

std::vector<PassStats> PassManager::run(const Pipeline& pipeline, Model& model) {
  std::vector<PassStats> all;
  PassContext ctx;
  ctx.schemas = opts_.schemas;
  ctx.threads = opts_.threads;
  for (const PassInvocation& inv : pipeline.passes) {
    const std::string& name = inv.entry->info->name;
    PassStats st;
    st.name = name;
    st.invocation = inv.canonical();
    st.nodes_before = countNodes(model);
    ctx.reset();
    resetPeakRss();
    auto t0 = std::chrono::steady_clock::now();
    try {
      auto pass = inv.entry->create(inv.options);
      st.changed = pass->run(model, ctx);
    } catch (const Error& e) {
      // Bad input found by a pass (a malformed weight, an option out of range) keeps its kind.
      ErrorKind kind =
          e.kind() == ErrorKind::Input || e.kind() == ErrorKind::Usage ? e.kind() : ErrorKind::Pass;
      throw Error(kind, "pass '" + name + "' failed: " + e.what());
    } catch (const std::exception& e) {
      throw Error(ErrorKind::Pass, "pass '" + name + "' failed: " + e.what());
    }
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    st.nodes_after = countNodes(model);
    st.counters = ctx.counters();
    st.notes = ctx.notes();
    st.tables = ctx.tables();
    st.peak_rss_bytes = peakRssBytes();
    weightTotals(model, st.weight_bytes, st.parameters);
    if (st.changed && opts_.verify_each) {
      VerifyOptions vo;
      vo.schemas = opts_.schemas;
      verifyOrThrow(model, vo, ErrorKind::Pass, "pass '" + name + "' broke the model");
    }
    if (opts_.ir_out && (opts_.print_ir_after.count("all") || opts_.print_ir_after.count(name)))
      *opts_.ir_out << "// IR after " << st.invocation << (st.changed ? "" : " (unchanged)") << "\n"
                    << printModel(model);
    all.push_back(std::move(st));
  }
  return all;
}

}  // namespace mopt
