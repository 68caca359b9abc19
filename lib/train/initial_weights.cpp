// Weight files of seeded, freshly initialised registry models: stand-ins for published
// weights (ImageNet, Merlin) in smoke runs and tests, which never download anything.
#include "train/train.h"

#include "core/core.h"
#include "models/models.h"

#include <torch/torch.h>

namespace vfp::train {

int write_initial_weights(const InitialWeights& w, const std::string& file) {
  models::ModelSpec spec;
  spec.arch = w.arch;
  spec.dims = w.dims;
  spec.in_channels = w.in_channels;
  spec.outputs = w.outputs;
  spec.width = w.width;
  torch::manual_seed(w.seed);
  const auto model = models::make_model(spec);
  models::StateDict state;
  for (const auto& item : models::state_of(*model))
    state.insert(w.prefix + item.key(), item.value());
  models::write_safetensors(file, state,
                            {{"format", "vfp-initial-weights"},
                             {"arch", w.arch},
                             {"dims", std::to_string(w.dims)},
                             {"in_channels", std::to_string(w.in_channels)},
                             {"outputs", std::to_string(w.outputs)},
                             {"seed", std::to_string(w.seed)}});
  return static_cast<int>(state.size());
}

} // namespace vfp::train
