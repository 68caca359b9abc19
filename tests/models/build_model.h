// The classifier a test needs, by architecture, dims and channels (the rest: ModelSpec's
// defaults).
#pragma once

#include "models/models.h"

#include <memory>
#include <string>

namespace vfp::models::testing {

inline std::shared_ptr<Classifier> build(const std::string& arch, int dims, int in = 1,
                                         int outputs = 1, double dropout = ModelSpec{}.dropout) {
  ModelSpec spec;
  spec.arch = arch;
  spec.dims = dims;
  spec.in_channels = in;
  spec.outputs = outputs;
  spec.dropout = dropout;
  return make_model(spec);
}

} // namespace vfp::models::testing
