// Pretrained weights into a classifier: 2D → 3D inflation (both rules), first-layer channel
// adaptation, the load_pretrained pipeline (head replaced, BYOL prefix), export round trip.
#include "build_model.h"
#include "core/core.h"
#include "models/models.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using vfp::models::ModelSpec;

using vfp::models::testing::build;

/// Batch-norm statistics and affine parameters away from their initial 0/1, so that eval
/// mode exercises every buffer.
void randomise_batch_norms(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (auto& item : model.named_parameters())
    if (item.key().find("bn") != std::string::npos || item.key().find("norm") != std::string::npos)
      item.value().uniform_(0.5, 1.5);
  for (auto& item : model.named_buffers()) {
    if (item.key().find("running_mean") != std::string::npos)
      item.value().uniform_(-0.2, 0.2);
    else if (item.key().find("running_var") != std::string::npos)
      item.value().uniform_(0.5, 2.0);
  }
}

fs::path scratch() {
  const auto dir = fs::temp_directory_path() / ("vfp_adapt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

torch::Tensor identical_slices(const torch::Tensor& image, std::int64_t depth) {
  return image.unsqueeze(2)
      .expand({image.size(0), image.size(1), depth, image.size(2), image.size(3)})
      .contiguous();
}

} // namespace

TEST(Inflation, MeanRuleGivesThe2DOutputOnIdenticalSlicesAwayFromTheBorders) {
  torch::manual_seed(1);
  auto w2 = torch::randn({4, 2, 3, 3});
  vfp::models::StateDict state;
  state.insert("w", w2);
  struct Holder : torch::nn::Module {
    Holder() { register_parameter("w", torch::zeros({4, 2, 3, 3, 3})); }
  } target;
  const auto w3 = vfp::models::inflate_to_3d(state, target, vfp::models::Inflation::kMean)["w"];
  ASSERT_EQ(w3.sizes(), (std::vector<std::int64_t>{4, 2, 3, 3, 3}));
  auto image = torch::randn({1, 2, 16, 16});
  auto out2 = torch::conv2d(image, w2, {}, 1, 1);
  auto out3 = torch::conv3d(identical_slices(image, 6), w3, {}, 1, 1);
  for (std::int64_t d = 1; d < 5; ++d)
    EXPECT_LT(max_abs_diff(out3.select(2, d), out2), 1e-5) << "slice " << d;
  // At the borders zero padding sees only 2 of 3 slices: the I3D rule's known border effect.
  EXPECT_GT(max_abs_diff(out3.select(2, 0), out2), 1e-3);
}

TEST(Inflation, CentreRuleMakesA3DResNetGiveThe2DOutputOnIdenticalSlices) {
  torch::manual_seed(2);
  auto model2 = build("resnet18", 2);
  randomise_batch_norms(*model2);
  model2->eval();
  auto model3 = build("resnet18", 3);
  model3->eval();
  auto state = vfp::models::inflate_to_3d(vfp::models::state_of(*model2), *model3,
                                          vfp::models::Inflation::kCentre);
  const auto report =
      vfp::models::load_state(*model3, state, vfp::models::LoadMode::kStrict, "inflated");
  EXPECT_TRUE(report.complete()) << report.describe();
  auto image = torch::randn({2, 1, 64, 64});
  torch::NoGradGuard no_grad;
  const auto out2 = model2->forward(image);
  const auto out3 = model3->forward(identical_slices(image, 8));
  EXPECT_LT(max_abs_diff(out3, out2), 1e-4) << out2 << out3;
  // The kernel sits in the centre slice only.
  const auto stem = model3->named_parameters()["conv1.weight"];
  EXPECT_EQ(stem.select(2, 3).abs().sum().item<double>(),
            model2->named_parameters()["conv1.weight"].abs().sum().item<double>());
  EXPECT_EQ(stem.select(2, 0).abs().sum().item<double>(), 0.0);
}

TEST(Inflation, KernelThatDiffersInPlaneIsAnErrorNamingTheKey) {
  vfp::models::StateDict state;
  state.insert("conv1.weight", torch::zeros({64, 1, 5, 5}));
  auto model3 = build("resnet18", 3);
  try {
    vfp::models::inflate_to_3d(state, *model3, vfp::models::Inflation::kMean);
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'conv1.weight'"), std::string::npos) << e.what();
  }
}

TEST(ChannelAdaptation, SummedRgbKernelOnOneChannelEqualsTheRgbModelOnAGreyImage) {
  torch::manual_seed(3);
  auto rgb = build("resnet18", 2, 3, 5);
  randomise_batch_norms(*rgb);
  rgb->eval();
  auto grey = build("resnet18", 2, 1, 5);
  grey->eval();
  auto state = vfp::models::adapt_input_channels(vfp::models::state_of(*rgb), "conv1.weight", 1,
                                                 vfp::models::ChannelRule::kSum);
  vfp::models::load_state(*grey, state, vfp::models::LoadMode::kStrict, "adapted");
  auto image = torch::randn({2, 1, 64, 64});
  torch::NoGradGuard no_grad;
  EXPECT_LT(max_abs_diff(grey->forward(image), rgb->forward(image.expand({2, 3, 64, 64}))), 1e-4);

  const auto mean = vfp::models::adapt_input_channels(vfp::models::state_of(*rgb), "conv1.weight",
                                                      1, vfp::models::ChannelRule::kMean);
  EXPECT_TRUE(
      torch::allclose(mean["conv1.weight"], rgb->named_parameters()["conv1.weight"].mean(1, true)));
  // One → three channels: replicated, and divided by three under the mean rule.
  const auto three =
      vfp::models::adapt_input_channels(mean, "conv1.weight", 3, vfp::models::ChannelRule::kMean);
  EXPECT_TRUE(torch::allclose(three["conv1.weight"].sum(1, true), mean["conv1.weight"]));
  EXPECT_THROW(
      vfp::models::adapt_input_channels(three, "conv1.weight", 2, vfp::models::ChannelRule::kSum),
      vfp::InputError);
  EXPECT_THROW(
      vfp::models::adapt_input_channels(three, "nope.weight", 1, vfp::models::ChannelRule::kSum),
      vfp::InputError);
}

TEST(Pretrained, ImageNetLayoutFileLoadsInto3DOneChannelModelWithANewHead) {
  torch::manual_seed(4);
  auto imagenet = build("resnet18", 2, 3, 1000);
  randomise_batch_norms(*imagenet);
  const auto file = scratch() / "imagenet_resnet18.safetensors";
  vfp::models::write_safetensors(file, vfp::models::state_of(*imagenet));

  auto model = build("resnet18", 3, 1, 1);
  const auto head_before = model->named_parameters()["fc.weight"].clone();
  vfp::models::PretrainedOptions options;
  options.file = file;
  options.inflation = vfp::models::Inflation::kCentre;
  const auto report = vfp::models::load_pretrained(*model, options);
  EXPECT_TRUE(report.complete()) << report.describe();
  EXPECT_TRUE(torch::equal(model->named_parameters()["fc.weight"], head_before));
  EXPECT_TRUE(torch::allclose(model->named_parameters()["layer4.1.conv2.weight"].select(2, 1),
                              imagenet->named_parameters()["layer4.1.conv2.weight"]));
  EXPECT_TRUE(torch::allclose(model->named_parameters()["conv1.weight"].select(2, 3),
                              imagenet->named_parameters()["conv1.weight"].sum(1, true)));
  EXPECT_TRUE(torch::equal(model->named_buffers()["layer2.0.bn1.running_var"],
                           imagenet->named_buffers()["layer2.0.bn1.running_var"]));
}

TEST(Pretrained, ByolBackboneUnderAPrefixLoadsAndItsProjectorIsIgnored) {
  torch::manual_seed(5);
  auto ssl = build("densenet121", 2, 1, 1);
  vfp::models::StateDict file_state;
  for (const auto& item : vfp::models::state_of(*ssl))
    if (item.key().rfind("classifier", 0) != 0)
      file_state.insert("online.backbone." + item.key(), item.value());
  file_state.insert("online.projector.0.weight", torch::randn({256, 1024}));
  file_state.insert("target.backbone.features.conv0.weight", torch::randn({64, 1, 7, 7}));
  const auto file = scratch() / "byol.safetensors";
  vfp::models::write_safetensors(file, file_state, {{"format", "vfp-byol"}});

  ModelSpec spec;
  spec.arch = "densenet121";
  spec.head_hidden = 64;
  auto model = vfp::models::make_model(spec);
  vfp::models::PretrainedOptions options;
  options.file = file;
  options.prefix = "online.backbone.";
  const auto report = vfp::models::load_pretrained(*model, options);
  EXPECT_TRUE(report.complete()) << report.describe();
  EXPECT_TRUE(
      torch::equal(model->named_parameters()["features.denseblock3.denselayer7.conv2.weight"],
                   ssl->named_parameters()["features.denseblock3.denselayer7.conv2.weight"]));

  options.prefix = "momentum.";
  EXPECT_THROW(vfp::models::load_pretrained(*model, options), vfp::InputError);
}

TEST(Pretrained, MissingBackboneKeyFailsStrictlyNamingFileAndKeyAndLeavesTheModel) {
  torch::manual_seed(6);
  auto source = build("resnet18", 2);
  auto state = vfp::models::state_of(*source);
  vfp::models::StateDict partial;
  for (const auto& item : state)
    if (item.key() != "layer3.1.bn2.weight")
      partial.insert(item.key(), item.value());
  const auto file = scratch() / "partial.safetensors";
  vfp::models::write_safetensors(file, partial);

  auto model = build("resnet18", 2);
  const auto before = model->named_parameters()["conv1.weight"].clone();
  vfp::models::PretrainedOptions options;
  options.file = file;
  try {
    vfp::models::load_pretrained(*model, options);
    FAIL();
  } catch (const vfp::InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("partial.safetensors"), std::string::npos) << what;
    EXPECT_NE(what.find("layer3.1.bn2.weight"), std::string::npos) << what;
  }
  EXPECT_TRUE(torch::equal(model->named_parameters()["conv1.weight"], before));

  options.mode = vfp::models::LoadMode::kNonStrict;
  const auto report = vfp::models::load_pretrained(*model, options);
  EXPECT_EQ(report.missing, std::vector<std::string>{"layer3.1.bn2.weight"});
  EXPECT_TRUE(torch::equal(model->named_parameters()["conv1.weight"],
                           source->named_parameters()["conv1.weight"]));
}

TEST(Pretrained, LinearSqueezeExciteWeightsLoadAsPointwiseConvolutionsAndOtherShapesStayErrors) {
  // MONAI's SE layers are Linear ([out, in]); ours are 1×1×1 convolutions ([out, in, 1, 1, 1]).
  torch::manual_seed(8);
  auto source = build("se_resnet50", 3);
  vfp::models::StateDict linear;
  for (const auto& item : vfp::models::state_of(*source)) {
    const bool se_weight = item.key().find(".se.fc") != std::string::npos &&
                           item.key().size() > 7 &&
                           item.key().compare(item.key().size() - 7, 7, ".weight") == 0;
    linear.insert(item.key(), se_weight ? item.value().flatten(1) : item.value());
  }
  ASSERT_EQ(linear["layer1.0.se.fc1.weight"].sizes(), (std::vector<std::int64_t>{16, 256}));
  const auto file = scratch() / "linear_se.safetensors";
  vfp::models::write_safetensors(file, linear);
  vfp::models::PretrainedOptions options;
  options.file = file;
  options.keep_head = true;
  auto model = build("se_resnet50", 3);
  const auto report = vfp::models::load_pretrained(*model, options);
  EXPECT_TRUE(report.complete()) << report.describe();
  for (const auto& item : vfp::models::state_of(*source))
    ASSERT_TRUE(torch::equal(vfp::models::state_of(*model)[item.key()], item.value()))
        << item.key();

  // Only the pointwise view: a linear weight of another size is still a mismatch, by name.
  linear["layer1.0.se.fc1.weight"] = torch::zeros({16, 128});
  vfp::models::write_safetensors(file, linear);
  try {
    vfp::models::load_pretrained(*build("se_resnet50", 3), options);
    FAIL() << "a [16, 128] weight loaded into [16, 256, 1, 1, 1]";
  } catch (const vfp::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("layer1.0.se.fc1.weight"), std::string::npos) << e.what();
  }
}

TEST(Export, OwnCheckpointRoundTripsWithItsHeadAndGivesTheSameOutput) {
  torch::manual_seed(7);
  auto model = build("se_resnet50", 2, 2, 3);
  randomise_batch_norms(*model);
  model->eval();
  const auto file = scratch() / "export.safetensors";
  vfp::models::write_safetensors(file, vfp::models::state_of(*model),
                                 {{"arch", "se_resnet50"}, {"dims", "2"}});
  EXPECT_EQ(vfp::models::read_safetensors_metadata(file).at("arch"), "se_resnet50");

  auto copy = build("se_resnet50", 2, 2, 3);
  copy->eval();
  vfp::models::PretrainedOptions options;
  options.file = file;
  options.keep_head = true;
  EXPECT_TRUE(vfp::models::load_pretrained(*copy, options).complete());
  auto x = torch::randn({2, 2, 64, 64});
  torch::NoGradGuard no_grad;
  EXPECT_EQ(max_abs_diff(copy->forward(x), model->forward(x)), 0.0);
}

TEST(Pretrained, HeadKeysAreTheHeadGroupsParameters) {
  EXPECT_EQ(vfp::models::head_keys(*build("resnet50", 2)),
            (std::vector<std::string>{"fc.weight", "fc.bias"}));
  EXPECT_EQ(vfp::models::head_keys(*build("densenet121", 3)),
            (std::vector<std::string>{"classifier.weight", "classifier.bias"}));
}
