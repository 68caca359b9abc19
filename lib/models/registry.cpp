#include "models/models.h"

#include "core/core.h"
#include "models/fnet.h"

namespace vfp::models {

std::vector<std::string> architectures() {
  return {"fnet"};
}

std::shared_ptr<Classifier> make_model(const ModelSpec& spec) {
  if (spec.in_channels < 1 || spec.outputs < 1)
    throw InputError("model '" + spec.arch + "': in_channels and outputs must be >= 1");
  if (spec.arch == "fnet")
    return std::make_shared<FNetImpl>(spec);
  std::string known;
  for (const auto& a : architectures())
    known += (known.empty() ? "" : ", ") + a;
  throw InputError("unknown model architecture '" + spec.arch + "' (known: " + known + ")");
}

std::int64_t parameter_count(const torch::nn::Module& module) {
  std::int64_t n = 0;
  for (const auto& p : module.parameters())
    if (p.requires_grad())
      n += p.numel();
  return n;
}

} // namespace vfp::models
