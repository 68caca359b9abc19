// The CT foundation encoders' sizes as config keys: model.vit.* (CT-CLIP's CTViT, named as its
// constructor's arguments) and model.segresnet.init_filters (VISTA3D). They reach the
// configuration, enter its id only when set (so every older id stays), leave it alone for
// another architecture, and sizes the model cannot take are errors at config time.
#include "config/config.h"
#include "sweep/sweep.h"
#include "yaml_files.h"

#include <gtest/gtest.h>

#include <string>

namespace {

using vfp::testing::write_yaml;

/// A 3D CT-CLIP configuration with 16³ cubes (48 mm at 3 mm) and the given model lines.
std::string ctclip(const std::string& model_lines) {
  return R"(name: t
cohort: {dir: cohort}
preprocess: {output: 3d, spacing_mm: 3.0, patch_mm: 48}
model:
  arch: ctclip_vit
  dims: 3
)" + model_lines;
}

vfp::sweep::Configuration only(const std::string& file, const std::string& text) {
  auto sweep = vfp::sweep::load(write_yaml(file, text));
  EXPECT_EQ(sweep.configurations.size(), 1u);
  return sweep.configurations.at(0);
}

} // namespace

TEST(EncoderSizeKeys, VitSizesReachTheConfigurationAndItsJsonUnderCtVitsNames) {
  const auto c = only("vit.yaml", ctclip(R"(  vit: {patch_size: 4, temporal_patch_size: 2, dim: 24,
        spatial_depth: 1, temporal_depth: 3, heads: 3, dim_head: 5}
)"));
  const auto& v = c.config.model.vit;
  EXPECT_EQ(v.patch_size, 4);
  EXPECT_EQ(v.temporal_patch_size, 2);
  EXPECT_EQ(v.dim, 24);
  EXPECT_EQ(v.spatial_depth, 1);
  EXPECT_EQ(v.temporal_depth, 3);
  EXPECT_EQ(v.heads, 3);
  EXPECT_EQ(v.dim_head, 5);
  const auto model = vfp::config::to_json(c.config).at("model");
  EXPECT_EQ(model.at("vit.patch_size"), 4);
  EXPECT_EQ(model.at("vit.dim_head"), 5);
}

TEST(EncoderSizeKeys, SizesEnterTheIdOnlyWhenTheyDifferFromTheDefaults) {
  const auto plain = only("plain.yaml", ctclip(""));
  // Every key at its default: the JSON and the id of the file without them.
  const auto defaults = only("defaults.yaml", ctclip(R"(  vit: {patch_size: 8, temporal_patch_size: 4, dim: 64,
        spatial_depth: 2, temporal_depth: 2, heads: 4, dim_head: 16}
)"));
  EXPECT_EQ(defaults.id, plain.id);
  EXPECT_FALSE(vfp::config::to_json(plain.config).at("model").contains("vit.dim"));
  const auto wider = only("wider.yaml", ctclip("  vit: {dim: 128}\n"));
  EXPECT_NE(wider.id, plain.id);
  const auto vista = only("vista.yaml", R"(name: t
cohort: {dir: cohort}
preprocess: {output: 3d}
model: {arch: vista3d_segresnet, dims: 3, segresnet: {init_filters: 8}}
)");
  EXPECT_EQ(vista.config.model.segresnet.init_filters, 8);
  EXPECT_EQ(vfp::config::to_json(vista.config).at("model").at("segresnet.init_filters"), 8);
}

TEST(EncoderSizeKeys, SizesOfAnEncoderTheConfigurationDoesNotBuildLeaveItsIdAlone) {
  const std::string fnet = "name: t\ncohort: {dir: cohort}\n";
  const auto without = only("fnet.yaml", fnet);
  const auto with = only("fnet_vit.yaml", fnet + "model: {vit: {dim: 512}, segresnet: "
                                                 "{init_filters: 8}}\n");
  EXPECT_EQ(with.id, without.id);
  EXPECT_EQ(with.config.model.vit.dim, vfp::config::ModelConfig{}.vit.dim);
  // The usual sweep: sizes beside an architecture axis reach only the encoder that reads them.
  auto sweep = vfp::sweep::load(write_yaml("axis.yaml", ctclip(R"(  vit: {dim: 32}
sweep:
  grid:
    model.arch: [ctclip_vit, vista3d_segresnet]
)")));
  ASSERT_EQ(sweep.configurations.size(), 2u);
  EXPECT_EQ(sweep.configurations[0].config.model.vit.dim, 32);
  EXPECT_EQ(sweep.configurations[1].config.model.vit.dim, 64);
}

TEST(EncoderSizeKeys, AVitSizeIsASweepAxis) {
  auto sweep = vfp::sweep::load(write_yaml("dims.yaml", ctclip(R"(sweep:
  grid:
    model.vit.dim: [32, 64]
)")));
  ASSERT_EQ(sweep.configurations.size(), 2u);
  EXPECT_EQ(sweep.axes, (std::vector<std::string>{"model.vit.dim"}));
  EXPECT_EQ(sweep.configurations[0].config.model.vit.dim, 32);
  EXPECT_NE(sweep.configurations[0].id, sweep.configurations[1].id);
}

TEST(EncoderSizeKeys, APatchThatDoesNotDivideTheCubeIsAnErrorNamingTheKeyAndLine) {
  // Line 7: the vit mapping; 16-voxel cubes.
  auto e = vfp::testing::sweep_error(ctclip("  vit: {patch_size: 5, temporal_patch_size: 3}\n"));
  EXPECT_NE(e.find("bad.yaml:7:21: model.vit.patch_size: 5 does not divide the patch's edge of 16 "
                   "voxels (preprocess.patch_mm 48 / spacing_mm 3): CTViT cuts the cube into "
                   "temporal_patch_size × patch_size × patch_size patches"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("bad.yaml:7:45: model.vit.temporal_patch_size: 3 does not divide"),
            std::string::npos)
      << e;
  // The defaults (8 and 4) with the default 47 mm patch at 1 mm: named at model.arch.
  e = vfp::testing::sweep_error(
      "name: t\ncohort: {dir: cohort}\npreprocess: {output: 3d}\nmodel: {arch: ctclip_vit, "
      "dims: 3}\n");
  EXPECT_NE(e.find("bad.yaml:4:15: model.vit.patch_size: 8 (the default) does not divide the "
                   "patch's edge of 47 voxels"),
            std::string::npos)
      << e;
  e = vfp::testing::sweep_error("name: t\ncohort: {dir: cohort}\npreprocess: {output: 3d, "
                                "patch_voxels: 24}\nmodel: {arch: ctclip_vit, dims: 3, vit: "
                                "{patch_size: 16}}\n");
  EXPECT_NE(e.find("edge of 24 voxels (preprocess.patch_voxels)"), std::string::npos) << e;
}

TEST(EncoderSizeKeys, ASizeOutOfRangeOrNotAnIntegerIsAnErrorNamingTheKey) {
  auto e = vfp::testing::sweep_error(ctclip("  vit: {heads: 0, dim: wide}\n"));
  EXPECT_NE(e.find("bad.yaml:7:16: model.vit.heads: value 0 is out of range [1, 256]"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("model.vit.dim: expected an integer, got 'wide'"), std::string::npos) << e;
  e = vfp::testing::sweep_error(ctclip("  vit: {depth: 4}\n"));
  EXPECT_NE(e.find("model.vit.depth: unknown key"), std::string::npos) << e;
  e = vfp::testing::sweep_error(
      "name: t\ncohort: {dir: cohort}\nmodel: {segresnet: {init_filters: 0}}\n");
  EXPECT_NE(e.find("model.segresnet.init_filters: value 0 is out of range [1, 256]"),
            std::string::npos)
      << e;
}
