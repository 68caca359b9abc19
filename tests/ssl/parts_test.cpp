// BYOL's pieces: the EMA schedule, LARS, the two-view augmentation and the target network.
#include "ssl/byol_parts.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>

namespace {

namespace bd = vfp::ssl::detail;
using bd::ByolNet;
using vfp::ssl::ByolOptions;

vfp::models::ModelSpec tiny_fnet(int dims = 2) {
  vfp::models::ModelSpec spec;
  spec.arch = "fnet";
  spec.width = 4;
  spec.dims = dims;
  return spec;
}

TEST(Tau, RisesFromItsBaseToOneAlongACosine) {
  EXPECT_DOUBLE_EQ(bd::tau_at(0.996, 0, 100), 0.996);
  // Half-way, cos(π/2) = 0: tau = 1 − (1 − 0.996)/2.
  EXPECT_NEAR(bd::tau_at(0.996, 50, 100), 0.998, 1e-12);
  // A quarter in: 1 − 0.004·(cos(π/4) + 1)/2 = 0.99658578643762...
  EXPECT_NEAR(bd::tau_at(0.996, 25, 100), 0.99658578643762691, 1e-12);
  EXPECT_DOUBLE_EQ(bd::tau_at(0.996, 100, 100), 1.0);
  double previous = 0;
  for (int k = 0; k <= 100; ++k) {
    const double tau = bd::tau_at(0.9, k, 100);
    EXPECT_GE(tau, previous);
    previous = tau;
  }
}

TEST(Lars, AdaptedTensorsStepByTheTrustRatioAndExcludedOnesLikeSgd) {
  auto w = torch::tensor({3.0f, 4.0f}, torch::requires_grad()); // ‖w‖ = 5
  auto b = torch::tensor({1.0f}, torch::requires_grad());
  bd::Lars lars({w}, {b},
                bd::LarsOptions{/*lr=*/0.5, /*momentum=*/0.9,
                                /*weight_decay=*/0.1, /*eta=*/0.001});
  auto run_step = [&](const torch::Tensor& gw, const torch::Tensor& gb) {
    lars.zero_grad();
    (w * gw).sum().add((b * gb).sum()).backward(); // gradients gw and gb
    lars.step();
  };
  run_step(torch::tensor({0.6f, 0.8f}), torch::tensor({2.0f}));
  // u = g + wd·w = (0.9, 1.2), ‖u‖ = 1.5; trust = 0.001·5/1.5; v = trust·u; w −= 0.5·v.
  const double trust = 0.001 * 5.0 / 1.5;
  const double w0 = 3 - 0.5 * trust * 0.9, w1 = 4 - 0.5 * trust * 1.2;
  EXPECT_NEAR(w[0].item<double>(), w0, 1e-6);
  EXPECT_NEAR(w[1].item<double>(), w1, 1e-6);
  EXPECT_NEAR(b[0].item<double>(), 1 - 0.5 * 2.0, 1e-6); // no decay, no trust ratio
  // Second step: momentum carries the first step's velocity.
  run_step(torch::tensor({0.0f, 1.0f}), torch::tensor({1.0f}));
  const double u0 = 0.1 * w0, u1 = 1.0 + 0.1 * w1;
  const double trust2 = 0.001 * std::hypot(w0, w1) / std::hypot(u0, u1);
  EXPECT_NEAR(w[0].item<double>(), w0 - 0.5 * (0.9 * trust * 0.9 + trust2 * u0), 1e-6);
  EXPECT_NEAR(w[1].item<double>(), w1 - 0.5 * (0.9 * trust * 1.2 + trust2 * u1), 1e-6);
  EXPECT_NEAR(b[0].item<double>(), 0.0 - 0.5 * (0.9 * 2.0 + 1.0), 1e-6);
}

TEST(Decay, SkipsBiasesAndBatchNormParameters) {
  EXPECT_TRUE(bd::decays(torch::zeros({4, 3})));
  EXPECT_TRUE(bd::decays(torch::zeros({4, 3, 3, 3})));
  EXPECT_FALSE(bd::decays(torch::zeros({4})));
}

TEST(Views, WithoutAugmentationAViewIsThePatchItself) {
  auto gen = at::detail::createCPUGenerator(1);
  const auto x = torch::rand({3, 2, 9, 11}, gen);
  ByolOptions o;
  o.ssl.crop_min_scale = 1;
  o.ssl.flips = false;
  o.ssl.brightness = o.ssl.contrast = o.ssl.blur_probability = o.ssl.noise_std = 0;
  auto g = at::detail::createCPUGenerator(7);
  EXPECT_TRUE(torch::allclose(bd::random_view(x, o, g), x, 0, 1e-5));
}

TEST(Views, KeepTheShapeStayInRangeAndFollowTheGenerator) {
  auto gen = at::detail::createCPUGenerator(2);
  for (const auto& shape :
       std::vector<std::vector<std::int64_t>>{{4, 1, 16, 16}, {2, 1, 8, 8, 8}}) {
    const auto x = torch::rand(shape, gen);
    ByolOptions o;
    o.ssl.noise_std = 0; // the rest is clamped to [0, 1]
    auto g1 = at::detail::createCPUGenerator(5), g2 = at::detail::createCPUGenerator(5);
    auto g3 = at::detail::createCPUGenerator(6);
    const auto a = bd::random_view(x, o, g1), b = bd::random_view(x, o, g2);
    const auto c = bd::random_view(x, o, g3);
    EXPECT_EQ(a.sizes(), x.sizes());
    EXPECT_TRUE(torch::equal(a, b)) << "same generator state, same view";
    EXPECT_FALSE(torch::allclose(a, c)) << "another generator state, another view";
    EXPECT_FALSE(torch::allclose(a, x)) << "the default augmentation changes the patch";
    EXPECT_GE(a.min().item<float>(), 0.0f);
    EXPECT_LE(a.max().item<float>(), 1.0f);
  }
}

TEST(Views, AFullSizeFlippedCropMirrorsThePatch) {
  // With crop scale 1 and flips, each view is the patch mirrored along a random set of axes.
  auto gen = at::detail::createCPUGenerator(3);
  const auto x = torch::rand({16, 1, 6, 7}, gen);
  ByolOptions o;
  o.ssl.crop_min_scale = 1;
  o.ssl.brightness = o.ssl.contrast = o.ssl.blur_probability = o.ssl.noise_std = 0;
  auto g = at::detail::createCPUGenerator(11);
  const auto v = bd::random_view(x, o, g);
  int flipped = 0;
  for (int i = 0; i < 16; ++i) {
    bool matched = false;
    for (const auto& dims : std::vector<std::vector<std::int64_t>>{{}, {1}, {2}, {1, 2}}) {
      const auto candidate = dims.empty() ? x[i] : x[i].flip(dims);
      if (torch::allclose(v[i], candidate, 0, 1e-5)) {
        matched = true;
        flipped += dims.empty() ? 0 : 1;
        break;
      }
    }
    EXPECT_TRUE(matched) << "view " << i << " is not a mirror image of its patch";
  }
  EXPECT_GT(flipped, 4);
  EXPECT_LT(flipped, 16);
}

TEST(ByolNet, TheTargetGetsNoGradientAndFollowsTheOnlineNetworkByEma) {
  torch::manual_seed(4);
  ByolNet net(tiny_fnet(), 16, 8);
  net.train();
  // The target starts as a copy of the online network.
  for (const auto& [target, online] : net.ema_pairs())
    ASSERT_TRUE(torch::equal(target, online));
  const auto x = torch::rand({6, 1, 16, 16});
  const auto loss = net.loss(x, x.flip({3}));
  EXPECT_GE(loss.item<double>(), 0.0);
  EXPECT_LE(loss.item<double>(), 8.0);
  loss.backward();
  for (const auto& item : net.named_parameters()) {
    const bool target = item.key().rfind("target.", 0) == 0;
    EXPECT_EQ(item.value().requires_grad(), !target) << item.key();
    if (target) {
      EXPECT_FALSE(item.value().grad().defined()) << item.key();
    }
  }
  // Every trained tensor is an online one; the backbone's unused head is not trained.
  const auto trained = net.trainable_parameters();
  EXPECT_EQ(trained.size(), net.ema_pairs().size() + /*predictor: 2 linear, 1 batch norm*/ 6);
  for (const auto& p : trained)
    EXPECT_TRUE(p.requires_grad());

  {
    torch::NoGradGuard no_grad;
    for (const auto& p : trained)
      p.add_(0.5);
  }
  std::vector<torch::Tensor> before;
  for (const auto& [target, online] : net.ema_pairs())
    before.push_back(target.clone());
  net.update_target(0.9);
  std::size_t k = 0;
  for (const auto& [target, online] : net.ema_pairs()) {
    EXPECT_TRUE(torch::allclose(target, 0.9 * before[k] + 0.1 * online, 1e-5, 1e-6));
    EXPECT_FALSE(torch::equal(target, online));
    ++k;
  }
}

TEST(ByolNet, ItsCheckpointHoldsBothNetworksButNoHead) {
  ByolNet net(tiny_fnet(3), 16, 8);
  const auto state = net.checkpoint_state();
  int online_backbone = 0, target_backbone = 0, projector = 0, predictor = 0;
  for (const auto& item : state) {
    const auto& key = item.key();
    EXPECT_EQ(key.find(".head."), std::string::npos) << key;
    online_backbone += key.rfind("online.backbone.", 0) == 0;
    target_backbone += key.rfind("target.backbone.", 0) == 0;
    projector += key.rfind("online.projector.", 0) == 0;
    predictor += key.rfind("online.predictor.", 0) == 0;
  }
  EXPECT_GT(online_backbone, 0);
  EXPECT_EQ(online_backbone, target_backbone);
  EXPECT_GT(projector, 0);
  EXPECT_GT(predictor, 0);
}

} // namespace
