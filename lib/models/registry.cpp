#include "models/models.h"

#include "core/core.h"
#include "models/densenet.h"
#include "models/fnet.h"
#include "models/resnet.h"
#include "models/segresnet.h"
#include "models/vit.h"

#include <algorithm>
#include <functional>

namespace vfp::models {
namespace {

using Builder = std::function<std::shared_ptr<Classifier>(const ModelSpec&)>;

struct Entry {
  Architecture about;
  Builder build;
};

Builder resnet(bool bottleneck, std::vector<int> blocks, std::int64_t groups = 1,
               std::int64_t width_per_group = 64, bool se = false) {
  ResNetDesign d;
  d.bottleneck = bottleneck;
  d.blocks = std::move(blocks);
  d.groups = groups;
  d.width_per_group = width_per_group;
  d.squeeze_excite = se;
  return [d](const ModelSpec& spec) { return std::make_shared<ResNetImpl>(d, spec); };
}

/// Merlin's image encoder: I3D-inflated ResNet-152 whose 1×1 convolutions stay 1×1×1, 3×3
/// ones become 3×3×3 (the block's stride on every axis) and the stem is (3, 7, 7) with stride
/// (1, 2, 2): slices keep full depth resolution until the max-pool.
Builder merlin() {
  ResNetDesign d;
  d.bottleneck = true;
  d.blocks = {3, 8, 36, 3};
  d.stem_kernel = {3, 7, 7};
  d.stem_stride = {1, 2, 2};
  d.stem_padding = {1, 3, 3};
  return [d](const ModelSpec& spec) { return std::make_shared<ResNetImpl>(d, spec); };
}

/// MONAI's 3D networks where their structure differs from torchvision's and timm's (the
/// study trained MONAI's): SENets with a ceil-mode stem pool, SE-ResNet's stride on the
/// first 1×1; ResNets with a stride-1 stem and biased shortcut convolutions. Their
/// checkpoints load through lib/models/key_maps/monai_*.keymap.
Builder monai_senet(std::int64_t groups, std::int64_t width_per_group) {
  ResNetDesign d;
  d.bottleneck = true;
  d.blocks = {3, 4, 6, 3};
  d.groups = groups;
  d.width_per_group = width_per_group;
  d.squeeze_excite = true;
  d.stem_pool_ceil = true;
  d.stride_on_reduce = groups == 1; // SEResNetBottleneck; SEResNeXtBottleneck strides the 3×3
  return [d](const ModelSpec& spec) { return std::make_shared<ResNetImpl>(d, spec); };
}

Builder monai_resnet(bool bottleneck, std::vector<int> blocks) {
  ResNetDesign d;
  d.bottleneck = bottleneck;
  d.blocks = std::move(blocks);
  d.stem_kernel = {7, 7, 7};
  d.stem_stride = {1, 1, 1}; // conv1_t_stride = 1: full resolution until the max-pool
  d.stem_padding = {3, 3, 3};
  d.downsample_bias = true;
  return [d](const ModelSpec& spec) { return std::make_shared<ResNetImpl>(d, spec); };
}

/// The integer sizes an architecture reads from its spec, by config key.
std::vector<std::pair<std::string, int*>> sizes_of(ModelSpec& spec) {
  auto& v = spec.vit;
  if (spec.arch == "ctclip_vit")
    return {{"model.vit.patch_size", &v.patch_size},
            {"model.vit.temporal_patch_size", &v.temporal_patch_size},
            {"model.vit.dim", &v.dim},
            {"model.vit.spatial_depth", &v.spatial_depth},
            {"model.vit.temporal_depth", &v.temporal_depth},
            {"model.vit.heads", &v.heads},
            {"model.vit.dim_head", &v.dim_head}};
  if (spec.arch == "vista3d_segresnet")
    return {{"model.segresnet.init_filters", &spec.segresnet.init_filters}};
  return {};
}

/// Every size the architecture reads must be >= 1: else an InputError naming its config key.
void check_sizes(const ModelSpec& spec) {
  auto copy = spec;
  for (const auto& [key, value] : sizes_of(copy))
    if (*value < 1)
      throw InputError("model '" + spec.arch + "': " + key + " must be >= 1, not " +
                       std::to_string(*value));
}

std::shared_ptr<Classifier> ctclip_vit(const ModelSpec& spec) {
  check_sizes(spec);
  return std::make_shared<CtVitImpl>(spec);
}

std::shared_ptr<Classifier> vista3d_segresnet(const ModelSpec& spec) {
  check_sizes(spec);
  SegResNetDesign design;
  design.init_filters = spec.segresnet.init_filters;
  return std::make_shared<SegResNetEncoderImpl>(design, spec);
}

const std::vector<Entry>& registry() {
  static const std::vector<Entry> entries{
      {{"fnet", "small plain CNN: 4 × (3×3 conv, BN, ReLU, max-pool), width model.width"},
       [](const ModelSpec& s) { return std::make_shared<FNetImpl>(s); }},
      {{"resnet18", "ResNet-18, basic blocks [2, 2, 2, 2]"}, resnet(false, {2, 2, 2, 2})},
      {{"resnet34", "ResNet-34, basic blocks [3, 4, 6, 3]"}, resnet(false, {3, 4, 6, 3})},
      {{"resnet50", "ResNet-50, bottlenecks [3, 4, 6, 3]"}, resnet(true, {3, 4, 6, 3})},
      {{"resnet101", "ResNet-101, bottlenecks [3, 4, 23, 3]"}, resnet(true, {3, 4, 23, 3})},
      {{"resnet152", "ResNet-152, bottlenecks [3, 8, 36, 3]"}, resnet(true, {3, 8, 36, 3})},
      {{"se_resnet50", "SE-ResNet-50: ResNet-50 with squeeze-and-excitation (1/16)"},
       resnet(true, {3, 4, 6, 3}, 1, 64, true)},
      {{"se_resnext50_32x4d", "SE-ResNeXt-50 (32×4d): grouped bottlenecks with SE"},
       resnet(true, {3, 4, 6, 3}, 32, 4, true)},
      {{"densenet121", "DenseNet-121: growth 32, blocks [6, 12, 24, 16]"},
       [](const ModelSpec& s) { return std::make_shared<DenseNetImpl>(DenseNetDesign{}, s); }},
      {{"monai_seresnet50",
        "MONAI's SEResNet50: SE-ResNet-50 with the stride on each stage's first 1×1 and a "
        "ceil-mode stem pool (key map monai_senet.keymap; the study's BYOL backbone)",
        {3}},
       monai_senet(1, 64)},
      {{"monai_seresnext50",
        "MONAI's SEResNext50 (32×4d): se_resnext50_32x4d with a ceil-mode stem pool (key map "
        "monai_senet.keymap)",
        {3}},
       monai_senet(32, 4)},
      {{"monai_resnet18",
        "MONAI's resnet18: stride-1 7³ stem, biased shortcut convolutions (key map "
        "monai_resnet.keymap)",
        {3}},
       monai_resnet(false, {2, 2, 2, 2})},
      {{"monai_resnet50",
        "MONAI's resnet50: stride-1 7³ stem, biased shortcut convolutions (key map "
        "monai_resnet.keymap)",
        {3}},
       monai_resnet(true, {3, 4, 6, 3})},
      {{"merlin_resnet152",
        "Merlin's image encoder: I3D ResNet-152, (3, 7, 7) stem (key map merlin.keymap)",
        {3}},
       merlin()},
      {{"vista3d_segresnet",
        "VISTA3D's SegResNet encoder: blocks [1, 2, 2, 4, 4], 48 → 768 channels "
        "(model.segresnet.init_filters), instance norm (key map vista3d.keymap)"},
       vista3d_segresnet},
      {{"ctclip_vit",
        "CT-CLIP's CTViT encoder: 3D patches, spatial then temporal transformers, sizes "
        "model.vit.* (key map ctclip.keymap)",
        {3}},
       ctclip_vit},
  };
  return entries;
}

} // namespace

const std::vector<Architecture>& architectures() {
  static const std::vector<Architecture> list = [] {
    std::vector<Architecture> out;
    for (const auto& e : registry())
      out.push_back(e.about);
    return out;
  }();
  return list;
}

std::shared_ptr<Classifier> make_model(const ModelSpec& spec) {
  if (spec.in_channels < 1 || spec.outputs < 1)
    throw InputError("model '" + spec.arch + "': in_channels and outputs must be >= 1");
  if (spec.dims != 2 && spec.dims != 3)
    throw InputError("model '" + spec.arch + "': dims must be 2 or 3, not " +
                     std::to_string(spec.dims));
  for (const auto& e : registry()) {
    if (e.about.name != spec.arch)
      continue;
    const auto& dims = e.about.dims;
    if (std::find(dims.begin(), dims.end(), spec.dims) == dims.end()) {
      std::string supported;
      for (int d : dims)
        supported += (supported.empty() ? "" : " or ") + std::to_string(d);
      throw InputError("model '" + spec.arch + "' is built in dims " + supported + " only, not " +
                       std::to_string(spec.dims));
    }
    return e.build(spec);
  }
  std::string known;
  for (const auto& a : architectures())
    known += (known.empty() ? "" : ", ") + a.name;
  throw InputError("unknown model architecture '" + spec.arch + "' (known: " + known + ")");
}

std::int64_t parameter_count(const torch::nn::Module& module) {
  std::int64_t n = 0;
  for (const auto& p : module.parameters())
    if (p.requires_grad())
      n += p.numel();
  return n;
}

std::map<std::string, std::string> size_metadata(const ModelSpec& spec) {
  auto copy = spec;
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : sizes_of(copy))
    out[key] = std::to_string(*value);
  return out;
}

void read_size_metadata(const std::map<std::string, std::string>& metadata,
                        const std::string& source, ModelSpec& spec) {
  for (const auto& [key, value] : sizes_of(spec)) {
    const auto it = metadata.find(key);
    if (it == metadata.end())
      continue;
    std::size_t used = 0;
    try {
      *value = std::stoi(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != it->second.size())
      throw InputError(source + ": metadata " + key + " = '" + shorten_for_message(it->second) +
                       "' is not an integer");
  }
}

std::vector<torch::Tensor> LayerGroup::parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& m : modules)
    for (const auto& p : m->parameters())
      out.push_back(p);
  return out;
}

} // namespace vfp::models
