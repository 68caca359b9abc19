// Seeded stand-ins for published weights (vfp models --save): torchvision's layout, the same
// bytes for the same seed, and loadable into a one-channel CT model as ImageNet weights are.
#include "core/core.h"
#include "models/models.h"
#include "train/train.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

namespace fs = std::filesystem;

fs::path scratch() {
  const auto dir =
      fs::temp_directory_path() / ("vfp_initial_weights_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

std::string bytes_of(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

TEST(InitialWeights, Resnet18HasTorchvisionsImageNetLayoutAndLoadsIntoACtModel) {
  vfp::train::InitialWeights w;
  w.arch = "resnet18";
  w.seed = 7;
  const auto file = scratch() / "resnet18.safetensors";
  // torchvision.models.resnet18().state_dict() has 122 entries (62 parameters, 60 buffers).
  EXPECT_EQ(vfp::train::write_initial_weights(w, file.string()), 122);
  const auto state = vfp::models::read_weights(file);
  ASSERT_EQ(state.size(), 122u);
  EXPECT_EQ(state["conv1.weight"].sizes(), (std::vector<std::int64_t>{64, 3, 7, 7}));
  EXPECT_EQ(state["fc.weight"].sizes(), (std::vector<std::int64_t>{1000, 512}));
  EXPECT_TRUE(state.contains("layer4.1.bn2.running_var"));

  const auto again = scratch() / "resnet18_again.safetensors";
  vfp::train::write_initial_weights(w, again.string());
  EXPECT_EQ(bytes_of(file), bytes_of(again)); // same seed, same bytes
  w.seed = 8;
  vfp::train::write_initial_weights(w, again.string());
  EXPECT_NE(bytes_of(file), bytes_of(again));

  vfp::models::ModelSpec spec; // what a sweep with pretrained.mode: imagenet builds
  spec.arch = "resnet18";
  auto model = vfp::models::make_model(spec);
  vfp::models::PretrainedOptions options;
  options.file = file;
  const auto report = vfp::models::load_pretrained(*model, options); // strict
  EXPECT_TRUE(report.complete()) << report.describe();
  fs::remove_all(scratch());
}

TEST(InitialWeights, APrefixGivesMerlinsCheckpointLayoutForItsKeyMap) {
  vfp::train::InitialWeights w;
  w.arch = "resnet18"; // Merlin's names are torchvision's: a small stand-in for the map
  w.dims = 3;
  w.outputs = 1;
  w.prefix = "encode_image.i3_resnet.";
  const auto file = scratch() / "merlin_like.safetensors";
  vfp::train::write_initial_weights(w, file.string());
  const auto state = vfp::models::read_weights(file);
  EXPECT_TRUE(state.contains("encode_image.i3_resnet.conv1.weight"));
  const auto mapped = vfp::models::apply_key_map(
      vfp::models::read_key_map(fs::path(VFP_SOURCE_DIR) / "lib/models/key_maps/merlin.keymap"),
      state);
  EXPECT_TRUE(mapped.contains("conv1.weight"));
  EXPECT_EQ(mapped.size(), state.size());
  fs::remove_all(scratch());
}

TEST(InitialWeights, AnUnknownArchitectureIsAnInputError) {
  vfp::train::InitialWeights w;
  w.arch = "resnet19";
  EXPECT_THROW(vfp::train::write_initial_weights(w, (scratch() / "x.safetensors").string()),
               vfp::InputError);
  fs::remove_all(scratch());
}

TEST(InitialWeights, EncoderSizesGiveACtClipStandInThatLoadsOnlyAtThoseSizes) {
  vfp::train::InitialWeights w;
  w.arch = "ctclip_vit";
  w.dims = 3;
  w.in_channels = 1;
  w.outputs = 1;
  w.prefix = "visual_transformer.";
  w.sizes = {{"model.vit.dim", "32"}, {"model.vit.spatial_depth", "1"}};
  const auto file = scratch() / "ctclip_like.safetensors";
  vfp::train::write_initial_weights(w, file.string());
  EXPECT_EQ(vfp::models::read_safetensors_metadata(file).at("model.vit.dim"), "32");
  vfp::models::PretrainedOptions options;
  options.file = file;
  options.key_map = fs::path(VFP_SOURCE_DIR) / "lib/models/key_maps/ctclip.keymap";
  vfp::models::ModelSpec spec;
  spec.arch = "ctclip_vit";
  spec.dims = 3;
  spec.vit.dim = 32;
  spec.vit.spatial_depth = 1;
  auto model = vfp::models::make_model(spec);
  EXPECT_TRUE(vfp::models::load_pretrained(*model, options).complete());
  spec.vit.dim = 64; // the default width: every shape differs, a strict load refuses
  model = vfp::models::make_model(spec);
  EXPECT_THROW(vfp::models::load_pretrained(*model, options), vfp::InputError);
  // A size the architecture does not read is refused, naming what it reads.
  w.sizes = {{"model.vit.depth", "4"}};
  try {
    vfp::train::write_initial_weights(w, file.string());
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("size model.vit.depth is not one that ctclip_vit reads "
                                         "(it reads model.vit.dim, model.vit.dim_head"),
              std::string::npos)
        << e.what();
  }
  fs::remove_all(scratch());
}
