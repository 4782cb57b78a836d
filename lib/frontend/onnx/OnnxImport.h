// Internal: conversion between the ONNX wire structs and the IR (used by ModelIO.cpp and tests).
#pragma once

#include "frontend/onnx/Onnx.h"
#include "frontend/onnx/Wire.h"
#include "ir/Graph.h"

#include <map>
#include <memory>
#include <string>

namespace mopt {

// Maps external-data locations to files inside the model's folder and nowhere else.
class ExternalDataResolver {
 public:
  // `base_dir` empty: the model came from memory and may not use external data.
  ExternalDataResolver(std::string source, std::string base_dir);
  std::shared_ptr<const Buffer> resolve(const onnx_wire::PTensor& t, uint64_t expected_bytes);
  bool used() const { return used_; }

 private:
  std::string source_, base_dir_, base_real_;
  std::map<std::string, std::shared_ptr<const MappedFile>> files_;
  bool used_ = false;
};

// `limits` null: nothing is limited (re-importing a model already in memory).
Model importOnnx(onnx_wire::PModel& pm, const std::string& source, ExternalDataResolver& ext,
                 const OnnxLoadOptions* limits = nullptr);
Tensor importOnnxTensor(onnx_wire::PTensor& t, const std::string& source, ExternalDataResolver& ext,
                        const OnnxLoadOptions* limits = nullptr);

// Receives tensors that go to the external data file; returns where each one was put.
class ExternalDataSink {
 public:
  virtual ~ExternalDataSink() = default;
  virtual uint64_t threshold() const = 0;
  // Appends the tensor's bytes; returns their offset in the data file.
  virtual uint64_t append(const Tensor& t) = 0;
  virtual const std::string& location() const = 0;
};

// `sink` null: every tensor inline.
onnx_wire::PModel exportOnnx(const Model& m, ExternalDataSink* sink);
onnx_wire::PTensor exportOnnxTensor(const Tensor& t, const std::string& name,
                                    ExternalDataSink* sink);

}  // namespace mopt
