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
  const auto known = models::size_metadata(spec);
  for (const auto& [key, value] : w.sizes)
    if (!known.count(key)) {
      std::string list;
      for (const auto& k : known)
        list += (list.empty() ? "" : ", ") + k.first;
      throw InputError("size " + key + " is not one that " + w.arch + " reads" +
                       (list.empty() ? " (it reads none)" : " (it reads " + list + ")"));
    }
  models::read_size_metadata(w.sizes, "size", spec);
  torch::manual_seed(w.seed);
  const auto model = models::make_model(spec);
  models::StateDict state;
  for (const auto& item : models::state_of(*model))
    state.insert(w.prefix + item.key(), item.value());
  auto metadata = models::size_metadata(spec);
  metadata.insert({{"format", "vfp-initial-weights"},
                   {"arch", w.arch},
                   {"dims", std::to_string(w.dims)},
                   {"in_channels", std::to_string(w.in_channels)},
                   {"outputs", std::to_string(w.outputs)},
                   {"seed", std::to_string(w.seed)}});
  models::write_safetensors(file, state, metadata);
  return static_cast<int>(state.size());
}

} // namespace vfp::train
