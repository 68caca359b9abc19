// The config's encoder sizes build the model they name: models::model_spec (what the trainer
// builds from the config's model section) carries model.vit.* and model.segresnet.* into the
// registry, and the parameter counts follow each encoder's layer formula, which is itself
// pinned to the published encoders' counts (make_encoder_fixtures.py, encoders_test.cpp).
#include "core/core.h"
#include "models/models.h"

#include <gtest/gtest.h>

#include <string>

namespace {

using vfp::config::ModelConfig;

/// CTViT's trainable parameters for one input channel and a linear head to one output, layer
/// by layer as vit.cpp builds them (biases only where CTViT has them).
std::int64_t ctvit_parameters(const ModelConfig::Vit& v) {
  const std::int64_t d = v.dim, in = std::int64_t(v.temporal_patch_size) * v.patch_size * v.patch_size;
  const std::int64_t inner = std::int64_t(v.heads) * v.dim_head;
  const auto ff = static_cast<std::int64_t>(4.0 * (2.0 / 3.0) * double(d));
  const std::int64_t patch_embedding = 2 * in + in * d + d + 2 * d;
  const std::int64_t position_bias = 3 * d + d * d + d + d * v.heads + v.heads;
  const std::int64_t peg = 27 * d + d;
  const std::int64_t attention = d + d * inner + 2 * d * inner + 2 * v.dim_head + inner * d;
  const std::int64_t feed_forward = 2 * d + 2 * ff * d + ff * d;
  const std::int64_t layers = std::int64_t(v.spatial_depth) + v.temporal_depth;
  return patch_embedding + position_bias + layers * (peg + attention + feed_forward) +
         2 * d /* the two norm_out */ + d + 1 /* head */;
}

/// VISTA3D's encoder for one channel and a linear head: conv_init 27·C, per level blocks ·
/// (two 3×3×3 convolutions 54·C² and two affine instance norms 4·C), a stride-2 convolution
/// 27·C·2C between levels, the head on the deepest level's 16·C channels.
std::int64_t segresnet_parameters(std::int64_t c0) {
  const int blocks[] = {1, 2, 2, 4, 4};
  std::int64_t n = 27 * c0, c = c0;
  for (int level = 0; level < 5; ++level) {
    n += blocks[level] * (54 * c * c + 4 * c);
    if (level < 4) {
      n += 54 * c * c;
      c *= 2;
    }
  }
  return n + c + 1;
}

std::int64_t parameters_of(const ModelConfig& m) {
  return vfp::models::parameter_count(*vfp::models::make_model(vfp::models::model_spec(m, 3, 1)));
}

} // namespace

TEST(EncoderSizes, TheFormulasGiveThePublishedEncodersCounts) {
  ModelConfig::Vit ctclip; // CT-CLIP's CTViT (scripts/run_zero_shot.py)
  ctclip.patch_size = 20;
  ctclip.temporal_patch_size = 10;
  ctclip.dim = 512;
  ctclip.spatial_depth = ctclip.temporal_depth = 4;
  ctclip.heads = 8;
  ctclip.dim_head = 32;
  EXPECT_EQ(ctvit_parameters(ctclip), 23421768 + 513); // encoders_test's reference
  EXPECT_EQ(segresnet_parameters(48), 174951889);      // docs/foundation_encoders.md
}

TEST(EncoderSizes, ConfiguredVitSizesBuildTheModelTheyName) {
  ModelConfig m;
  m.arch = "ctclip_vit";
  m.vit.patch_size = 4;
  m.vit.temporal_patch_size = 2;
  m.vit.dim = 24;
  m.vit.spatial_depth = 1;
  m.vit.temporal_depth = 3;
  m.vit.heads = 3;
  m.vit.dim_head = 5;
  auto model = vfp::models::make_model(vfp::models::model_spec(m, 3, 1));
  EXPECT_EQ(vfp::models::parameter_count(*model), ctvit_parameters(m.vit));
  const auto params = model->named_parameters();
  EXPECT_EQ(params["to_patch_emb.2.weight"].sizes(), (std::vector<std::int64_t>{24, 32}));
  EXPECT_TRUE(params.contains("enc_temporal_transformer.layers.2.1.to_q.weight"));
  EXPECT_FALSE(params.contains("enc_spatial_transformer.layers.1.1.to_q.weight"));
  EXPECT_EQ(params["enc_spatial_transformer.layers.0.1.to_q.weight"].sizes(),
            (std::vector<std::int64_t>{15, 24}));
  // 8³ cube: 4 slabs of 2 × 2 patches; features of dim 24.
  EXPECT_EQ(model->features(torch::zeros({1, 1, 8, 8, 8})).sizes(),
            (std::vector<std::int64_t>{1, 24}));
}

TEST(EncoderSizes, SegResNetInitFiltersSetsEveryLevelsWidth) {
  ModelConfig m;
  m.arch = "vista3d_segresnet";
  m.segresnet.init_filters = 4;
  EXPECT_EQ(parameters_of(m), segresnet_parameters(4));
  auto model = vfp::models::make_model(vfp::models::model_spec(m, 3, 1));
  EXPECT_EQ(model->feature_dim(), 64); // 4 · 2⁴
}

TEST(EncoderSizes, AWeightFilesMetadataCarriesTheSizesBack) {
  ModelConfig m;
  m.arch = "ctclip_vit";
  m.vit.dim = 40;
  m.vit.heads = 5;
  const auto spec = vfp::models::model_spec(m, 3, 1);
  const auto metadata = vfp::models::size_metadata(spec);
  EXPECT_EQ(metadata.at("model.vit.dim"), "40");
  EXPECT_EQ(metadata.size(), 7u);
  vfp::models::ModelSpec back;
  back.arch = "ctclip_vit";
  vfp::models::read_size_metadata(metadata, "m.safetensors", back);
  EXPECT_EQ(back.vit.dim, 40);
  EXPECT_EQ(back.vit.heads, 5);
  EXPECT_TRUE(vfp::models::size_metadata(vfp::models::model_spec(ModelConfig{}, 2, 1)).empty());
  try {
    vfp::models::read_size_metadata({{"model.vit.dim", "40x"}}, "m.safetensors", back);
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()), "m.safetensors: metadata model.vit.dim = '40x' is not an integer");
  }
}

TEST(EncoderSizes, ASizeBelowOneIsAnErrorNamingItsConfigKey) {
  ModelConfig m;
  m.arch = "vista3d_segresnet";
  m.segresnet.init_filters = 0;
  try {
    parameters_of(m);
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "model 'vista3d_segresnet': model.segresnet.init_filters must be >= 1, not 0");
  }
}
