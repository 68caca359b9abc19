// The model registry: parameter counts against torchvision, torchvision's parameter names,
// layer groups, and a forward/backward pass of every architecture in 2D and 3D.
#include "build_model.h"
#include "core/core.h"
#include "models/models.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

namespace {

using vfp::models::ModelSpec;

using vfp::models::testing::build;

struct Reference {
  std::int64_t imagenet_2d; ///< 3 input channels, 1000 outputs
  std::int64_t ct_2d;       ///< 1 input channel, 1 output
  std::int64_t ct_3d;
  std::size_t state_dict; ///< parameters + buffers
};

// Made with Debian's python3-torchvision 0.14.1 (torch 1.13.1), /tmp/ref_counts.py in the
// note of issue 4: sum(p.numel() for p in torchvision.models.<arch>().parameters()); the CT
// variants replace the first convolution's 3 input channels with 1 and the head's 1000
// outputs with 1; 3D multiplies every k×k convolution weight by k (k×k×k kernels). The SE
// variants add timm's SE modules to torchvision's resnet50 / resnext50_32x4d: per block with
// C output channels, 1×1 convolutions C → C/16 → C with bias, 2·C²/16 + C/16 + C parameters
// (2,530,992 over ResNet-50's 16 blocks; timm reports 28.09 M and 27.56 M, which match) and 4
// state-dict entries.
const std::map<std::string, Reference>& references() {
  static const std::map<std::string, Reference> r{
      {"resnet18", {11689512, 11170753, 33160513, 122}},
      {"resnet34", {21797672, 21278913, 63470145, 218}},
      {"resnet50", {25557032, 23503809, 46157121, 320}},
      {"resnet101", {44549160, 42495937, 85203265, 626}},
      {"resnet152", {60192808, 58139585, 117361985, 932}},
      {"se_resnet50", {28088024, 26034801, 48688113, 320 + 64}},
      {"se_resnext50_32x4d", {27559896, 25506673, 28354801, 320 + 64}},
      {"densenet121", {7978856, 6948609, 11243649, 727}},
  };
  return r;
}

} // namespace

TEST(ModelZoo, ParameterCountsMatchTorchvisionIn2DAnd3D) {
  for (const auto& [arch, ref] : references()) {
    EXPECT_EQ(vfp::models::parameter_count(*build(arch, 2, 3, 1000)), ref.imagenet_2d) << arch;
    auto ct = build(arch, 2);
    EXPECT_EQ(vfp::models::parameter_count(*ct), ref.ct_2d) << arch;
    EXPECT_EQ(ct->named_parameters().size() + ct->named_buffers().size(), ref.state_dict) << arch;
  }
  // 3D: the deep ones are large to allocate; two stand for the rule (checked for all by
  // EveryArchitectureTrainsOneStep at a smaller scale through the forward pass).
  for (const char* arch : {"resnet18", "densenet121", "se_resnext50_32x4d"})
    EXPECT_EQ(vfp::models::parameter_count(*build(arch, 3)), references().at(arch).ct_3d) << arch;
}

TEST(ModelZoo, ResNet18For1ChannelCTHas11_17MParametersAsTheStudyReports) {
  EXPECT_EQ(vfp::models::parameter_count(*build("resnet18", 2)), 11170753);
}

TEST(ModelZoo, ParameterNamesAreTorchvisions) {
  auto names = [](const std::shared_ptr<vfp::models::Classifier>& m) {
    std::set<std::string> out;
    for (const auto& p : m->named_parameters())
      out.insert(p.key());
    for (const auto& b : m->named_buffers())
      out.insert(b.key());
    return out;
  };
  const auto resnet = names(build("resnet50", 2));
  for (const char* key :
       {"conv1.weight", "bn1.running_mean", "bn1.num_batches_tracked", "layer1.0.conv3.weight",
        "layer1.0.downsample.0.weight", "layer1.0.downsample.1.running_var", "layer4.2.bn3.bias",
        "fc.weight", "fc.bias"})
    EXPECT_TRUE(resnet.count(key)) << key;
  const auto se = names(build("se_resnext50_32x4d", 2));
  for (const char* key : {"layer3.5.se.fc1.weight", "layer3.5.se.fc2.bias"})
    EXPECT_TRUE(se.count(key)) << key;
  const auto dense = names(build("densenet121", 2));
  for (const char* key :
       {"features.conv0.weight", "features.norm0.running_mean",
        "features.denseblock1.denselayer1.conv1.weight",
        "features.denseblock4.denselayer16.norm2.running_var", "features.transition3.conv.weight",
        "features.norm5.weight", "classifier.weight", "classifier.bias"})
    EXPECT_TRUE(dense.count(key)) << key;
}

TEST(ModelZoo, LayerGroupsRunStemToHeadAndCoverEveryParameterOnce) {
  for (const auto& a : vfp::models::architectures()) {
    auto model = build(a.name, a.dims.front()); // 2D, or 3D for the 3D-only CT encoders
    const auto groups = model->layer_groups();
    ASSERT_GE(groups.size(), 3u) << a.name;
    EXPECT_EQ(groups.back().name, "head") << a.name;
    std::set<const void*> seen;
    std::size_t grouped = 0;
    for (const auto& g : groups)
      for (const auto& p : g.parameters()) {
        EXPECT_TRUE(seen.insert(p.data_ptr()).second) << a.name << ": twice in " << g.name;
        ++grouped;
      }
    EXPECT_EQ(grouped, model->parameters().size()) << a.name;
  }
}

TEST(ModelZoo, MlpHeadReplacesTheLinearOne) {
  ModelSpec spec;
  spec.arch = "resnet18";
  spec.head_hidden = 256;
  auto model = vfp::models::make_model(spec);
  // 512·256 + 256 + 256·1 + 1 = 131,585 instead of 513.
  EXPECT_EQ(vfp::models::parameter_count(*model), 11170753 - 513 + 131585);
  EXPECT_EQ(model->named_parameters().contains("fc.3.weight"), true);
}

TEST(ModelZoo, FNetFollowsItsLayerFormula) {
  // 2D, width 16: conv weights 9·(1·16 + 16·32 + 32·64 + 64·128) = 96,912, batch norm
  // 2·(16+32+64+128) = 480, head 128 + 1: 97,521. 3D, width 32: 27·(32 + 32·64 + 64·128 +
  // 128·256) = 1,162,080 + 960 + 257 = 1,163,297 (the study: "fNet 3D, 1.17 M").
  EXPECT_EQ(vfp::models::parameter_count(*build("fnet", 2)), 97521);
  ModelSpec spec;
  spec.dims = 3;
  spec.width = 32;
  EXPECT_EQ(vfp::models::parameter_count(*vfp::models::make_model(spec)), 1163297);
}

TEST(ModelZoo, UnknownArchitectureOrDimsIsAnErrorListingTheKnownOnes) {
  try {
    build("resnet999", 2);
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown model architecture 'resnet999' (known: fnet, "
                                         "resnet18,"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(build("resnet18", 4), vfp::InputError);
  EXPECT_THROW(build("resnet18", 2, 0), vfp::InputError);
}

// One forward/backward/step per architecture and dims it supports, on a small input: the
// output has the right shape, every parameter gets a finite gradient, a step changes the
// weights.
class EveryArchitecture : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

static std::vector<std::tuple<std::string, int>> every_architecture_and_dims() {
  std::vector<std::tuple<std::string, int>> out;
  for (const auto& a : vfp::models::architectures())
    for (int dims : a.dims)
      out.emplace_back(a.name, dims);
  return out;
}

TEST_P(EveryArchitecture, TrainsOneStep) {
  const auto& [arch, dims] = GetParam();
  torch::manual_seed(0);
  auto model = build(arch, dims, 2, 3);
  const std::int64_t side = dims == 2 ? 64 : 32;
  auto x = dims == 2 ? torch::randn({2, 2, side, side}) : torch::randn({2, 2, side, side, side});
  {
    // The head sees features(x): in eval mode (no dropout) its linear layer on them is forward.
    model->eval();
    torch::NoGradGuard no_grad;
    const auto features = model->features(x);
    ASSERT_EQ(features.sizes(), (std::vector<std::int64_t>{2, model->feature_dim()}));
    auto head = model->layer_groups().back().modules.front();
    auto* linear = head->as<torch::nn::Linear>();
    ASSERT_NE(linear, nullptr) << "head: " << head->name();
    const auto logits = model->forward(x);
    ASSERT_TRUE(torch::isfinite(logits).all().item<bool>()) << logits;
    EXPECT_TRUE(torch::allclose(linear->forward(features), logits, 1e-5, 1e-6))
        << linear->forward(features) << "\nvs\n"
        << logits;
  }
  model->train();
  auto out = model->forward(x);
  ASSERT_EQ(out.sizes(), (std::vector<std::int64_t>{2, 3}));
  torch::optim::SGD sgd(model->parameters(), 0.01);
  auto before = model->layer_groups().front().parameters().front().clone();
  out.pow(2).mean().backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    ASSERT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
  }
  sgd.step();
  EXPECT_FALSE(torch::equal(before, model->layer_groups().front().parameters().front()));
}

INSTANTIATE_TEST_SUITE_P(ModelZoo, EveryArchitecture,
                         ::testing::ValuesIn(every_architecture_and_dims()), [](const auto& info) {
                           return std::get<0>(info.param) + "_" +
                                  std::to_string(std::get<1>(info.param)) + "d";
                         });
