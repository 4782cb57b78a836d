// Element access and conversions for tensors of any numeric dtype (used by passes and printers).
#pragma once

#include "ir/Tensor.h"

#include <cstdint>
#include <vector>

namespace mopt {

// Element i as double / int64. Float8 types are decoded; int4 is unpacked (low nibble first).
double elementAsDouble(const Tensor& t, int64_t i);
int64_t elementAsInt(const Tensor& t, int64_t i);
bool isNumeric(DType t);  // everything except string, complex and undefined

std::vector<double> toDoubles(const Tensor& t);
// Converts `values` to `dtype` (rounding to nearest even for floats, saturating for ints).
Tensor fromDoubles(DType dtype, std::vector<int64_t> dims, const std::vector<double>& values);

// Rows [begin, end) along axis 0, sharing the bytes (strings are copied). Not for int4.
Tensor sliceRows(const Tensor& t, int64_t begin, int64_t end);

// Number of elements equal to zero (negative zero counts); 0 for non-numeric tensors.
int64_t countZeros(const Tensor& t);

}  // namespace mopt
