#include "models/vit.h"

#include "core/core.h"

namespace vfp::models {
// Named, not anonymous: CtLayerImpl (declared in vit.h) holds these as members.
namespace vit_parts {

torch::Tensor l2norm(const torch::Tensor& t) {
  // F.normalize(t, dim=-1): eps 1e-12 on the norm.
  return t / t.norm(2, {-1}, /*keepdim=*/true).clamp_min(1e-12);
}

/// Position generator: a depthwise 3×3×3 convolution (`dsconv`, with bias) over the token grid,
/// zero-padded causally along t (two before, none after) as CTViT's PEG(causal=True).
class PegImpl : public torch::nn::Module {
public:
  explicit PegImpl(std::int64_t dim) {
    ConvOptions o;
    o.dims = 3;
    o.in = o.out = o.groups = dim;
    o.kernel = {3};
    o.bias = true;
    dsconv_ = register_module("dsconv", Conv(o));
  }
  torch::Tensor forward(const torch::Tensor& x, const TokenGrid& g) {
    // Reshaped, not permuted, to [b, t, h, w, d] as CTViT does: right for the spatial
    // transformer's [(b t), (h w), d] tokens; its temporal transformer's [(b h w), t, d] tokens
    // are read in that same (scrambled) order, which the published weights were trained with.
    auto y = x.reshape({g[0], g[1], g[2], g[3], -1}).permute({0, 4, 1, 2, 3});
    y = dsconv_->forward(torch::constant_pad_nd(y, {1, 1, 1, 1, 2, 0}, 0.0));
    return y.permute({0, 2, 3, 4, 1}).reshape(x.sizes());
  }

private:
  Conv dsconv_{nullptr};
};
TORCH_MODULE(Peg);

/// CTViT's self-attention: queries from the bias-free-layer-normed input but keys and values
/// from the input itself (attention.py takes `kv_input` before `x = self.norm(x)`); queries
/// and keys l2-normalised and scaled per feature (`q_scale`, `k_scale`), logits × 8, no biases
/// on the projections. Their unused `context_norm` and empty `null_kv` (no null key/values in
/// self-attention) are not kept.
class CtAttentionImpl : public torch::nn::Module {
public:
  CtAttentionImpl(std::int64_t dim, std::int64_t dim_head, std::int64_t heads)
      : heads_(heads), dim_head_(dim_head) {
    const auto inner = dim_head * heads;
    norm_ = register_module("norm", BiasFreeLayerNorm(dim));
    to_q_ = register_module("to_q",
                            torch::nn::Linear(torch::nn::LinearOptions(dim, inner).bias(false)));
    to_kv_ = register_module(
        "to_kv", torch::nn::Linear(torch::nn::LinearOptions(dim, 2 * inner).bias(false)));
    q_scale_ = register_parameter("q_scale", torch::ones({dim_head}));
    k_scale_ = register_parameter("k_scale", torch::ones({dim_head}));
    to_out_ = register_module("to_out",
                              torch::nn::Linear(torch::nn::LinearOptions(inner, dim).bias(false)));
  }
  torch::Tensor forward(const torch::Tensor& input, const torch::Tensor& attn_bias) {
    const auto batch = input.size(0), n = input.size(1);
    auto heads = [&](const torch::Tensor& t) {
      return t.reshape({batch, n, heads_, dim_head_}).transpose(1, 2);
    };
    auto kv = to_kv_->forward(input).chunk(2, -1);
    auto q = l2norm(heads(to_q_->forward(norm_->forward(input)))) * q_scale_;
    auto k = l2norm(heads(kv[0])) * k_scale_;
    auto sim = torch::matmul(q, k.transpose(-2, -1)) * 8.0;
    if (attn_bias.defined())
      sim = sim + attn_bias;
    auto out = torch::matmul(sim.softmax(-1), heads(kv[1]));
    return to_out_->forward(out.transpose(1, 2).reshape({batch, n, heads_ * dim_head_}));
  }

private:
  std::int64_t heads_, dim_head_;
  BiasFreeLayerNorm norm_{nullptr};
  torch::nn::Linear to_q_{nullptr}, to_kv_{nullptr}, to_out_{nullptr};
  torch::Tensor q_scale_, k_scale_;
};
TORCH_MODULE(CtAttention);

/// x, gate = chunk(2); GELU(gate) · x.
class GegluImpl : public torch::nn::Module {
public:
  torch::Tensor forward(const torch::Tensor& x) {
    auto parts = x.chunk(2, -1);
    return torch::gelu(parts[1]) * parts[0];
  }
};
TORCH_MODULE(Geglu);

} // namespace vit_parts
using vit_parts::CtAttention;
using vit_parts::Geglu;
using vit_parts::Peg;

/// [PEG, Attention, (no cross-attention), FeedForward] under the names `0`, `1`, `3`; the
/// feed-forward is LayerNorm → Linear(dim, 2·inner) → GEGLU → Dropout → Linear(inner, dim),
/// inner = int(4 · 2/3 · dim), without biases on the linear layers.
class CtLayerImpl : public torch::nn::Module {
public:
  explicit CtLayerImpl(const ModelSpec::Vit& v) {
    const std::int64_t dim = v.dim;
    const auto inner = static_cast<std::int64_t>(4.0 * (2.0 / 3.0) * double(dim));
    peg_ = register_module("0", Peg(dim));
    attention_ = register_module("1", CtAttention(dim, v.dim_head, v.heads));
    ff_ = register_module(
        "3", torch::nn::Sequential(
                 torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})),
                 torch::nn::Linear(torch::nn::LinearOptions(dim, 2 * inner).bias(false)), Geglu(),
                 torch::nn::Dropout(0.0),
                 torch::nn::Linear(torch::nn::LinearOptions(inner, dim).bias(false))));
  }
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& attn_bias, const TokenGrid& grid) {
    x = peg_->forward(x, grid) + x;
    x = attention_->forward(x, attn_bias) + x;
    return ff_->forward(x) + x;
  }

private:
  Peg peg_{nullptr};
  CtAttention attention_{nullptr};
  torch::nn::Sequential ff_{nullptr};
};

BiasFreeLayerNormImpl::BiasFreeLayerNormImpl(std::int64_t dim) {
  gamma = register_parameter("gamma", torch::ones({dim}));
  beta = register_buffer("beta", torch::zeros({dim}));
}

torch::Tensor BiasFreeLayerNormImpl::forward(const torch::Tensor& x) {
  return torch::layer_norm(x, {x.size(-1)}, gamma, beta);
}

PatchEmbeddingImpl::PatchEmbeddingImpl(std::int64_t channels, const ModelSpec::Vit& v)
    : patch_(v.patch_size), depth_patch_(v.temporal_patch_size) {
  const std::int64_t in = channels * depth_patch_ * patch_ * patch_;
  norm_in_ = register_module("1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({in})));
  linear_ = register_module("2", torch::nn::Linear(in, v.dim));
  norm_out_ = register_module(
      "3", torch::nn::LayerNorm(torch::nn::LayerNormOptions({std::int64_t(v.dim)})));
}

torch::Tensor PatchEmbeddingImpl::forward(const torch::Tensor& x) {
  const auto b = x.size(0), c = x.size(1), p = patch_, pt = depth_patch_;
  if (x.dim() != 5 || x.size(2) % pt != 0 || x.size(3) % p != 0 || x.size(4) % p != 0)
    throw InputError("ctclip_vit: input " + c10::str(x.sizes()) +
                     " must be [N, C, D, H, W] with D a multiple of model.vit.temporal_patch_size " +
                     std::to_string(pt) + " and H, W multiples of model.vit.patch_size " +
                     std::to_string(p));
  const auto t = x.size(2) / pt, h = x.size(3) / p, w = x.size(4) / p;
  // 'b c (t pt) (h p1) (w p2) -> b t h w (c pt p1 p2)'
  auto y = x.reshape({b, c, t, pt, h, p, w, p})
               .permute({0, 2, 4, 6, 1, 3, 5, 7})
               .reshape({b, t, h, w, c * pt * p * p});
  return norm_out_->forward(linear_->forward(norm_in_->forward(y)));
}

ContinuousPositionBiasImpl::ContinuousPositionBiasImpl(std::int64_t dim, std::int64_t heads) {
  const auto leaky = [] {
    return torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.1));
  };
  in_ = torch::nn::Linear(2, dim);
  hidden_ = torch::nn::Linear(dim, dim);
  out_ = torch::nn::Linear(dim, heads);
  auto net = register_module("net", torch::nn::ModuleList());
  net->push_back(torch::nn::Sequential(in_, leaky()));
  net->push_back(torch::nn::Sequential(hidden_, leaky()));
  net->push_back(out_);
}

torch::Tensor ContinuousPositionBiasImpl::forward(std::int64_t h, std::int64_t w,
                                                  const torch::Device& device) {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(device);
  // Grid positions in row-major ('ij') order, their pairwise differences, sign · log(|d| + 1).
  auto grid = torch::stack(
      {torch::arange(h, opts).repeat_interleave(w), torch::arange(w, opts).repeat({h})}, 1);
  auto rel = grid.unsqueeze(1) - grid.unsqueeze(0);
  rel = torch::sign(rel) * torch::log(rel.abs() + 1);
  auto x = torch::leaky_relu(in_->forward(rel), 0.1);
  x = torch::leaky_relu(hidden_->forward(x), 0.1);
  return out_->forward(x).permute({2, 0, 1});
}

CtTransformerImpl::CtTransformerImpl(const ModelSpec::Vit& v, int depth) {
  auto layers = register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < depth; ++i) {
    layers_.push_back(std::make_shared<CtLayerImpl>(v));
    layers->push_back(layers_.back());
  }
  norm_out_ = register_module("norm_out", BiasFreeLayerNorm(v.dim));
}

torch::Tensor CtTransformerImpl::forward(torch::Tensor x, const torch::Tensor& attn_bias,
                                         const TokenGrid& grid) {
  for (auto& layer : layers_)
    x = layer->forward(x, attn_bias, grid);
  return norm_out_->forward(x);
}

std::shared_ptr<torch::nn::Module> CtTransformerImpl::layer(std::size_t i) const {
  return layers_[i];
}

CtVitImpl::CtVitImpl(const ModelSpec& spec) {
  VFP_CHECK(spec.dims == 3, "CTViT is 3D");
  const auto& v = spec.vit;
  to_patch_emb_ = register_module("to_patch_emb", PatchEmbedding(spec.in_channels, v));
  spatial_rel_pos_bias_ =
      register_module("spatial_rel_pos_bias", ContinuousPositionBias(v.dim, v.heads));
  spatial_ = register_module("enc_spatial_transformer", CtTransformer(v, v.spatial_depth));
  temporal_ = register_module("enc_temporal_transformer", CtTransformer(v, v.temporal_depth));
  head_ = Head(*this, "fc", v.dim, spec);
}

torch::Tensor CtVitImpl::encode(const torch::Tensor& x) {
  auto tokens = to_patch_emb_->forward(x);
  const auto b = tokens.size(0), t = tokens.size(1), h = tokens.size(2), w = tokens.size(3),
             d = tokens.size(4);
  const TokenGrid grid{b, t, h, w};
  auto bias = spatial_rel_pos_bias_->forward(h, w, x.device());
  auto y = spatial_->forward(tokens.reshape({b * t, h * w, d}), bias, grid);
  y = y.reshape({b, t, h, w, d}).permute({0, 2, 3, 1, 4}).reshape({b * h * w, t, d});
  y = temporal_->forward(y, torch::Tensor(), grid);
  return y.reshape({b, h, w, t, d}).permute({0, 3, 1, 2, 4});
}

torch::Tensor CtVitImpl::features(torch::Tensor x) {
  return encode(x).flatten(1, 3).mean(1);
}

std::vector<LayerGroup> CtVitImpl::layer_groups() {
  std::vector<LayerGroup> groups{{"stem", {to_patch_emb_.ptr(), spatial_rel_pos_bias_.ptr()}}};
  // One group per layer; each transformer's final norm joins its last layer.
  const std::array<std::pair<std::string, CtTransformer>, 2> transformers{
      {{"spatial", spatial_}, {"temporal", temporal_}}};
  for (const auto& [name, transformer] : transformers) {
    for (std::size_t i = 0; i < transformer->size(); ++i)
      groups.push_back({name + std::to_string(i + 1), {transformer->layer(i)}});
    groups.back().modules.push_back(transformer->norm_out());
  }
  groups.push_back(head_group());
  return groups;
}

} // namespace vfp::models
