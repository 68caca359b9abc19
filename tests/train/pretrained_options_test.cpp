// The config's pretrained section is what the trainer takes; models::pretrained_options is the
// one place its strings become the loader's enums.
#include "config/sections.h"
#include "models/models.h"

#include <gtest/gtest.h>

#include <stdexcept>

TEST(PretrainedOptions, TheConfigSectionMapsOntoTheLoadersTerms) {
  vfp::config::PretrainedConfig c;
  auto p = vfp::models::pretrained_options(c); // the defaults
  EXPECT_EQ(p.inflation, vfp::models::Inflation::kMean);
  EXPECT_EQ(p.channels, vfp::models::ChannelRule::kSum);
  EXPECT_EQ(p.mode, vfp::models::LoadMode::kStrict);
  EXPECT_FALSE(p.keep_head);
  c.file = "w.safetensors";
  c.key_map = "merlin.keymap";
  c.prefix = "online.backbone.";
  c.inflation = "centre";
  c.channels = "mean";
  c.strict = false;
  c.keep_head = true;
  p = vfp::models::pretrained_options(c);
  EXPECT_EQ(p.file, "w.safetensors");
  EXPECT_EQ(p.key_map, "merlin.keymap");
  EXPECT_EQ(p.prefix, "online.backbone.");
  EXPECT_EQ(p.inflation, vfp::models::Inflation::kCentre);
  EXPECT_EQ(p.channels, vfp::models::ChannelRule::kMean);
  EXPECT_EQ(p.mode, vfp::models::LoadMode::kNonStrict);
  EXPECT_TRUE(p.keep_head);
}

TEST(PretrainedOptions, AChoiceTheSchemaWouldRefuseIsAProgrammingError) {
  vfp::config::PretrainedConfig c;
  c.inflation = "zero";
  EXPECT_THROW(vfp::models::pretrained_options(c), std::logic_error);
  c = {};
  c.channels = "rgb";
  EXPECT_THROW(vfp::models::pretrained_options(c), std::logic_error);
}
