// vfp::models — LibTorch architectures behind one registry, in 2D and 3D, with
// torchvision's parameter names in 2D so that published weights load key for key. Only
// torch targets include this header (lib/train's API is torch-free).
#pragma once

#include "config/sections.h"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace vfp::models {

/// What to build: registry name, spatial dims, channels in, outputs, and head/width knobs.
struct ModelSpec {
  std::string arch = "fnet";
  int dims = 2;
  int in_channels = 1;
  int outputs = 1;
  int width = 16;       ///< fNet: channels of the first stage (others ignore it)
  double dropout = 0.2; ///< before the head (and inside an MLP head)
  int head_hidden = 0; ///< 0: a linear head; > 0: Linear(features, head_hidden) → ReLU → Linear
  /// ctclip_vit: CTViT's sizes (the config's model.vit; small defaults, for tests).
  using Vit = config::ModelConfig::Vit;
  Vit vit;
  /// vista3d_segresnet: its first level's channels (model.segresnet).
  using SegResNet = config::ModelConfig::SegResNet;
  SegResNet segresnet;
};

/// The config's model section in the registry's terms (arch, width, dropout, head, encoder
/// sizes); dims, channels and outputs come from the data, not the config.
inline ModelSpec model_spec(const config::ModelConfig& m, int dims, int in_channels,
                            int outputs = 1) {
  ModelSpec spec;
  spec.arch = m.arch;
  spec.width = m.width;
  spec.dropout = m.dropout;
  spec.head_hidden = m.head_hidden;
  spec.vit = m.vit;
  spec.segresnet = m.segresnet;
  spec.dims = dims;
  spec.in_channels = in_channels;
  spec.outputs = outputs;
  return spec;
}

/// Modules that train together: the stem, each stage, the head.
struct LayerGroup {
  std::string name;
  std::vector<std::shared_ptr<torch::nn::Module>> modules;
  std::vector<torch::Tensor> parameters() const;
};

/// A classifier mapping [N, C, spatial...] to logits [N, outputs].
class Classifier : public torch::nn::Module {
public:
  /// Logits for a batch: the head applied to features(x).
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  /// The backbone's globally pooled features [N, feature_dim()], what the head sees (for
  /// self-supervised pretraining and probes).
  virtual torch::Tensor features(torch::Tensor x) = 0;
  virtual std::int64_t feature_dim() const = 0;
  /// Layer groups in order stem → stages → head, for freezing and per-layer rates; every
  /// parameter belongs to exactly one group.
  virtual std::vector<LayerGroup> layer_groups() = 0;
};

/// Builds a model from the registry; throws vfp::InputError for unknown names, dims or sizes.
std::shared_ptr<Classifier> make_model(const ModelSpec& spec);

/// One registry entry.
struct Architecture {
  std::string name;
  std::string description;
  std::vector<int> dims{2, 3}; ///< the spatial dims it builds in (3 only for the CT encoders)
};
/// Every architecture, in listing order.
const std::vector<Architecture>& architectures();

/// Number of trainable parameters.
std::int64_t parameter_count(const torch::nn::Module& module);

/// The sizes of `spec` its architecture reads beyond arch, dims, channels, outputs, width and
/// head (model.vit.* for ctclip_vit, model.segresnet.* for vista3d_segresnet), keyed by their
/// config keys, for a weight file's metadata; empty for the other architectures.
std::map<std::string, std::string> size_metadata(const ModelSpec& spec);
/// Those sizes back into `spec` from a weight file's metadata (`source` names it in errors);
/// an absent key keeps the default, a non-integer one is a vfp::InputError.
void read_size_metadata(const std::map<std::string, std::string>& metadata,
                        const std::string& source, ModelSpec& spec);

// ---- Weights: files, state dicts, key maps (weights.cpp, safetensors.cpp, key_map.cpp) ----

/// Named tensors (parameters and buffers), in order: what a weight file holds.
using StateDict = torch::OrderedDict<std::string, torch::Tensor>;

/// A model's parameters and buffers under their names (tensors shared, not copied).
StateDict state_of(const torch::nn::Module& model);

/// Reads a weight file, recognised by content: safetensors (F32, F16, BF16, F64 and integer
/// tensors; floating point ones come back as float32) or a PyTorch `torch.save` zip archive
/// holding a state dict (at top level or under "state_dict", "model" or "module"). Tensors
/// are on the CPU. Throws vfp::InputError naming the file (and the key, for a bad tensor).
StateDict read_weights(const std::filesystem::path& file);

/// Writes a safetensors file atomically (float32 as F32, int64 as I64, ...), with optional
/// string metadata (`__metadata__`), so that Python's safetensors and vfp read it alike.
void write_safetensors(const std::filesystem::path& file, const StateDict& state,
                       const std::map<std::string, std::string>& metadata = {});

/// String metadata of a safetensors file (empty when it has none).
std::map<std::string, std::string> read_safetensors_metadata(const std::filesystem::path& file);

/// Saves a torch archive (a training or BYOL checkpoint) to `file`. Unlike
/// OutputArchive::save_to(path), a write that fails (disk full) is an IoError naming the file
/// and the cause: torch's own writer then throws from a destructor and aborts the process.
void save_archive(torch::serialize::OutputArchive& archive, const std::filesystem::path& file);

/// What load_state() did: keys it copied, and the ones it could not, by name.
struct LoadReport {
  std::size_t loaded = 0;
  std::vector<std::string> missing;    ///< in the model, not in the file
  std::vector<std::string> unexpected; ///< in the file, not in the model
  std::vector<std::string> mismatched; ///< "key: file [64, 3, 7, 7] vs model [64, 1, 7, 7]"
  /// Batch-norm step counters absent from files saved before PyTorch 0.4.1 (torchvision's
  /// original ImageNet weights): reset to 0, as PyTorch's own loader does; not an error.
  std::vector<std::string> defaulted;
  bool complete() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  /// One paragraph naming every key that did not load.
  std::string describe() const;
};

/// Strict: every key must match in name and shape, else vfp::InputError listing the
/// missing, unexpected and mismatched keys (with `source`, e.g. the file) and the model is
/// left unchanged. Non-strict: copies what matches and reports the rest.
enum class LoadMode { kStrict, kNonStrict };
LoadReport load_state(torch::nn::Module& model, const StateDict& state, LoadMode mode,
                      const std::string& source);

/// Renames a checkpoint's keys onto ours. A key-map file holds one rule per line,
/// `<regex> => <replacement>` (ECMAScript regex matching the whole key, `$1` for groups) or
/// `<regex> => DROP`; `#` starts a comment. The first matching rule wins; keys no rule
/// matches keep their name.
struct KeyRule {
  std::string pattern;
  std::string replacement; ///< empty: drop the key
  int line = 0;
};
struct KeyMap {
  std::filesystem::path file;
  std::vector<KeyRule> rules;
};
/// Reads a key-map file; a malformed line or regex is a vfp::InputError naming file and line.
KeyMap read_key_map(const std::filesystem::path& file);
/// The state dict with keys renamed (or dropped) by the map; two keys renamed onto one name
/// are a vfp::InputError naming both.
StateDict apply_key_map(const KeyMap& map, const StateDict& state);

// ---- Adapting pretrained weights (adapt.cpp) ----

/// 2D → 3D kernels. kMean (I3D): the 2D kernel repeated over depth and divided by the depth,
/// so that away from the depth borders a volume of identical slices gives the 2D output.
/// kCentre (Merlin): the 2D kernel in the centre depth slice, zeros elsewhere, so that every
/// slice sees only itself and identical slices give the 2D output exactly.
enum class Inflation { kMean, kCentre };

/// The state dict with every 4-D convolution weight [out, in, h, w] whose counterpart in
/// `target` (a 3D model) is 5-D [out, in, d, h', w'] inflated to depth d; when h'×w' differs
/// from h×w (a Merlin-style (3, 7, 7) stem keeps 7×7), the kernel must match in-plane.
/// Other tensors pass through. Throws vfp::InputError naming a key that cannot be inflated.
StateDict inflate_to_3d(const StateDict& state, const torch::nn::Module& target, Inflation rule);

/// First-layer channel adaptation for the weight `key` ([out, in, k...]) to `channels`
/// inputs: from RGB to one CT channel by summing (kSum: a grey image replicated to three
/// channels gives the RGB model's output) or averaging (kMean); from one channel to C by
/// replicating (divided by C under kMean).
enum class ChannelRule { kSum, kMean };
StateDict adapt_input_channels(const StateDict& state, const std::string& key,
                               std::int64_t channels, ChannelRule rule);

/// How to bring a pretrained file into a classifier (the model config's weights section).
struct PretrainedOptions {
  std::filesystem::path file;
  std::filesystem::path key_map; ///< optional: a checkpoint of a foreign model
  std::string prefix;            ///< only keys under this prefix, stripped ("backbone.")
  bool keep_head = false;        ///< false: the file's head is dropped, ours stays initialised
  Inflation inflation = Inflation::kMean; ///< when the file is 2D and the model 3D
  ChannelRule channels = ChannelRule::kSum;
  LoadMode mode = LoadMode::kStrict; ///< strict over the backbone (the head excluded)
};

/// The config's pretrained section in these terms (`mode` is the task's business: it
/// resolves `file`). Its choices passed the config schema; anything else is a
/// std::logic_error.
inline PretrainedOptions pretrained_options(const config::PretrainedConfig& c) {
  if ((c.inflation != "mean" && c.inflation != "centre") ||
      (c.channels != "sum" && c.channels != "mean"))
    throw std::logic_error("pretrained.inflation '" + c.inflation + "' or channels '" + c.channels +
                           "' passed the config schema");
  PretrainedOptions p;
  p.file = c.file;
  p.key_map = c.key_map;
  p.prefix = c.prefix;
  p.keep_head = c.keep_head;
  p.inflation = c.inflation == "mean" ? Inflation::kMean : Inflation::kCentre;
  p.channels = c.channels == "sum" ? ChannelRule::kSum : ChannelRule::kMean;
  p.mode = c.strict ? LoadMode::kStrict : LoadMode::kNonStrict;
  return p;
}

/// Reads, maps, strips, adapts channels, inflates and loads; returns what loaded.
LoadReport load_pretrained(Classifier& model, const PretrainedOptions& options);

/// Names of the parameters in the model's head group (those a new task re-initialises).
std::vector<std::string> head_keys(Classifier& model);

/// Where to compute: `device` is auto (CUDA when this LibTorch has it and a device is
/// visible), cpu or cuda; the CUDA index is local_rank % the visible devices, so that the
/// ranks of a node spread over its GPUs. cuda without a device is a vfp::TaskError naming
/// `key` (the config key the choice came from).
/// Every visible CUDA device's generator state, in device order (none without CUDA): what a
/// checkpoint keeps beside the CPU generator so that a resumed CUDA run draws as an
/// uninterrupted one would.
std::vector<torch::Tensor> cuda_rng_states();

/// Restores states from cuda_rng_states(). Devices beyond those this process sees are
/// ignored (a requeued job may see fewer GPUs: its rank uses one of those it sees).
void set_cuda_rng_states(const std::vector<torch::Tensor>& states);

/// Every device's state from cuda_rng_states() into a checkpoint archive ("rng.cuda.*"), and
/// back (an archive without them, from an older vfp, restores nothing).
void write_cuda_rng(torch::serialize::OutputArchive& archive);
void read_cuda_rng(torch::serialize::InputArchive& archive);

/// train.deterministic. On: cuDNN's deterministic algorithms, no autotuning, torch's
/// deterministic algorithms (an op that has none raises), and cuBLAS's fixed workspace
/// (CUBLAS_WORKSPACE_CONFIG, unless already set). Off: cuDNN autotunes each layer's algorithm
/// (the patches' shape is fixed, so it pays after the first batch). No effect on CPU numbers.
void use_deterministic_algorithms(bool on);

torch::Device pick_device(const std::string& device, int local_rank,
                          const std::string& key = "train.device");

/// bfloat16 autocast for the scope, on CUDA with `amp`; nothing otherwise. bfloat16 has
/// float32's range, so no loss scaling is needed (unlike float16).
class Autocast {
public:
  Autocast(const torch::Device& device, bool amp);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

private:
  bool on_ = false;
  bool was_enabled_ = false;
};

} // namespace vfp::models
