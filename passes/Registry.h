// The registry of every pass in mopt, built from passes/Passes.def.
#pragma once

#include "pass/Pass.h"

namespace mopt {

const PassRegistry& passRegistry();

}  // namespace mopt
