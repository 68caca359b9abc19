// Private to lib/models: the encoder path of CT-CLIP's 3D vision transformer (CTViT, Hamamci
// et al. 2024, after lucidrains' Phenaki ViT): a linear embedding of temporal_patch_size ×
// patch_size × patch_size patches, `spatial_depth` transformer layers attending within each
// slab of slices (with a continuous 2D position bias), `temporal_depth` layers along depth, each
// layer a depthwise-convolution position generator (PEG), cosine-similarity attention and a
// GEGLU feed-forward. Parameters are named as CT-CLIP's `visual_transformer.*` keys, so that
// their checkpoint loads after a prefix strip; the mean over all tokens feeds our Head.
#pragma once

#include "models/layers.h"

#include <array>

namespace vfp::models {

/// CT-CLIP's bias-free layer norm: a learnt scale `gamma` and a zero buffer `beta` (kept so
/// that their keys load).
class BiasFreeLayerNormImpl : public torch::nn::Module {
public:
  explicit BiasFreeLayerNormImpl(std::int64_t dim);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor gamma, beta;
};
TORCH_MODULE(BiasFreeLayerNorm);

/// [b, c, D, H, W] → [b, D/pt, H/p, W/p, dim]: patches flattened as (c, pt, p, p), then
/// LayerNorm → Linear → LayerNorm, named `1`, `2`, `3` as CTViT's `to_patch_emb` Sequential
/// (whose `0` is the parameter-free Rearrange).
class PatchEmbeddingImpl : public torch::nn::Module {
public:
  PatchEmbeddingImpl(std::int64_t channels, const ModelSpec::Vit& v);
  torch::Tensor forward(const torch::Tensor& x);

private:
  std::int64_t patch_, depth_patch_;
  torch::nn::LayerNorm norm_in_{nullptr}, norm_out_{nullptr};
  torch::nn::Linear linear_{nullptr};
};
TORCH_MODULE(PatchEmbedding);

/// Attention bias [heads, h·w, h·w] from the signed log distance between patch positions,
/// through an MLP (`net.0.0`, `net.1.0`, `net.2`), as CTViT's ContinuousPositionBias.
class ContinuousPositionBiasImpl : public torch::nn::Module {
public:
  ContinuousPositionBiasImpl(std::int64_t dim, std::int64_t heads);
  torch::Tensor forward(std::int64_t h, std::int64_t w, const torch::Device& device);

private:
  torch::nn::Linear in_{nullptr}, hidden_{nullptr}, out_{nullptr};
};
TORCH_MODULE(ContinuousPositionBias);

/// The shape [b, t, h, w] of the token grid, which the PEG convolution needs.
using TokenGrid = std::array<std::int64_t, 4>;

class CtLayerImpl;

/// One transformer: its layers (`layers.<i>.0` PEG, `.1` attention, `.3` feed-forward, as the
/// ModuleList [PEG, Attention, None, FeedForward] of CT-CLIP) and `norm_out`.
class CtTransformerImpl : public torch::nn::Module {
public:
  CtTransformerImpl(const ModelSpec::Vit& v, int depth);
  /// x: [batch, tokens, dim]; attn_bias: [heads, tokens, tokens] or undefined.
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& attn_bias, const TokenGrid& grid);
  std::size_t size() const { return layers_.size(); }
  std::shared_ptr<torch::nn::Module> layer(std::size_t i) const;
  std::shared_ptr<torch::nn::Module> norm_out() const { return norm_out_.ptr(); }

private:
  std::vector<std::shared_ptr<CtLayerImpl>> layers_;
  BiasFreeLayerNorm norm_out_{nullptr};
};
TORCH_MODULE(CtTransformer);

class CtVitImpl : public HeadedClassifier {
public:
  explicit CtVitImpl(const ModelSpec& spec);
  torch::Tensor features(torch::Tensor x) override;
  std::vector<LayerGroup> layer_groups() override;
  /// The encoded tokens [b, t, h, w, dim] (CTViT.encode, before its vector quantiser).
  torch::Tensor encode(const torch::Tensor& x);

private:
  PatchEmbedding to_patch_emb_{nullptr};
  ContinuousPositionBias spatial_rel_pos_bias_{nullptr};
  CtTransformer spatial_{nullptr}, temporal_{nullptr};
};

} // namespace vfp::models
