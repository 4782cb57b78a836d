// Quantization kernels: QuantizeLinear/DequantizeLinear (per-tensor, per-axis, blocked),
// DynamicQuantizeLinear, integer matmul/conv, QLinear ops and com.microsoft MatMulNBits.
#include "exec/Runtime.h"

namespace mopt::exec {

void addQuantKernels(KernelList& k) {
  (void)k;
}

}  // namespace mopt::exec
