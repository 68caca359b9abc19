// The CT foundation encoders (Merlin, VISTA3D, CT-CLIP): their published checkpoints' keys,
// written down from their source in tests/models/data/*_checkpoint_keys.txt, map through
// lib/models/key_maps/*.keymap onto ours and load strictly; a forward/backward pass on a tiny
// volume; parameter counts against references computed from their source code by
// tests/models/data/make_encoder_fixtures.py (torch 1.13, torchvision 0.14).
#include "checkpoint_fixture.h"
#include "core/core.h"
#include "models/models.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using vfp::models::ModelSpec;
using vfp::models::StateDict;

const fs::path kSource = VFP_SOURCE_DIR;

using vfp::models::testing::CheckpointKey;

std::vector<CheckpointKey> read_fixture(const std::string& name) {
  return vfp::models::testing::read_checkpoint_fixture(kSource / "tests/models/data" / name).keys;
}

bool integral(const std::string& key) {
  auto ends = [&](const std::string& tail) {
    return key.size() >= tail.size() &&
           key.compare(key.size() - tail.size(), tail.size(), tail) == 0;
  };
  return ends("num_batches_tracked") || ends("position_ids");
}

/// Their checkpoint as a state dict: every key with its shape. The values are a broadcast
/// zero, which costs no memory (the text towers and CT-CLIP's 294,912-wide projection are
/// large); what the key map keeps is filled with random values before loading.
StateDict checkpoint(const std::vector<CheckpointKey>& keys) {
  StateDict state;
  for (const auto& k : keys)
    state.insert(k.key,
                 torch::zeros({}, integral(k.key) ? torch::kLong : torch::kFloat).expand(k.shape));
  return state;
}

vfp::models::KeyMap key_map(const std::string& name) {
  return vfp::models::read_key_map(kSource / "lib/models/key_maps" / name);
}

struct Mapped {
  StateDict state;       ///< their keys renamed to ours, random values
  std::size_t dropped{}; ///< their keys the map dropped
};

/// Applies the encoder's key map to the fixture and fills the kept keys with random values.
Mapped map_fixture(const std::string& fixture, const std::string& map) {
  const auto theirs = checkpoint(read_fixture(fixture));
  const auto renamed = vfp::models::apply_key_map(key_map(map), theirs);
  torch::manual_seed(7);
  Mapped out;
  for (const auto& item : renamed) {
    const auto& v = item.value();
    out.state.insert(item.key(), v.is_floating_point() ? torch::randn(v.sizes())
                                                       : torch::ones(v.sizes(), torch::kLong));
  }
  out.dropped = theirs.size() - renamed.size();
  return out;
}

/// Loads the mapped checkpoint strictly: our head (not in their checkpoint) is added from the
/// model itself, everything else must come from the file. Then every backbone tensor must hold
/// the file's values.
void expect_strict_load(vfp::models::Classifier& model, const Mapped& mapped) {
  StateDict state = mapped.state;
  std::size_t head = 0;
  for (const auto& item : vfp::models::state_of(model))
    if (item.key().rfind("fc.", 0) == 0) {
      state.insert(item.key(), item.value().clone());
      ++head;
    }
  ASSERT_EQ(head, 2u);
  const auto report =
      vfp::models::load_state(model, state, vfp::models::LoadMode::kStrict, "fixture");
  EXPECT_TRUE(report.complete()) << report.describe();
  EXPECT_EQ(report.loaded, mapped.state.size() + head);
  for (const auto& item : vfp::models::state_of(model))
    if (const auto* loaded = mapped.state.find(item.key())) {
      ASSERT_TRUE(torch::equal(item.value(), *loaded)) << item.key();
    }
}

std::shared_ptr<vfp::models::Classifier> build(const std::string& arch, int in = 1,
                                               int outputs = 1) {
  ModelSpec spec;
  spec.arch = arch;
  spec.dims = 3;
  spec.in_channels = in;
  spec.outputs = outputs;
  return vfp::models::make_model(spec);
}

/// CT-CLIP's published CTViT sizes (scripts/run_zero_shot.py).
ModelSpec ctclip_published(int in = 1, int outputs = 1) {
  ModelSpec spec;
  spec.arch = "ctclip_vit";
  spec.dims = 3;
  spec.in_channels = in;
  spec.outputs = outputs;
  spec.vit.patch_size = 20;
  spec.vit.temporal_patch_size = 10;
  spec.vit.dim = 512;
  spec.vit.spatial_depth = 4;
  spec.vit.temporal_depth = 4;
  spec.vit.heads = 8;
  spec.vit.dim_head = 32;
  return spec;
}

/// Forward on a tiny batch, backward, one SGD step: output [2, outputs], finite gradients on
/// every parameter, and the first layer moved.
void expect_trains_one_step(vfp::models::Classifier& model, const torch::Tensor& x) {
  model.train();
  auto out = model.forward(x);
  ASSERT_EQ(out.sizes(), (std::vector<std::int64_t>{x.size(0), 3}));
  ASSERT_TRUE(torch::isfinite(out).all().item<bool>());
  torch::optim::SGD sgd(model.parameters(), 0.01);
  const auto before = model.layer_groups().front().parameters().front().clone();
  out.pow(2).mean().backward();
  for (const auto& p : model.named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    ASSERT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
  }
  sgd.step();
  EXPECT_FALSE(torch::equal(before, model.layer_groups().front().parameters().front()));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const vfp::InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

} // namespace

// ---- Merlin: I3D ResNet-152 (github.com/StanfordMIMI/Merlin, merlin/models/i3res.py) ----

TEST(MerlinEncoder, CheckpointKeysMapOntoOursAndLoadStrictly) {
  const auto mapped = map_fixture("merlin_checkpoint_keys.txt", "merlin.keymap");
  // 1,209 keys: 930 of the image encoder (torchvision's ResNet-152 less fc), 4 of its two
  // heads, 272 of Clinical-Longformer, 2 of linear_layer, logit_scale.
  EXPECT_EQ(mapped.state.size(), 930u);
  EXPECT_EQ(mapped.dropped, 1209u - 930u);
  auto model = build("merlin_resnet152", 3); // their conv1 sees the slice replicated 3 times
  expect_strict_load(*model, mapped);
}

TEST(MerlinEncoder, ParameterCountIsResNet152InflatedAsMerlinDoes) {
  // make_encoder_fixtures.py: Merlin's I3ResNet over torchvision's resnet152, without its two
  // heads, has 117,366,208 parameters (3 input channels); plus our 2048 → 1 head: 117,368,257.
  // With one channel: 117,349,441, i.e. our 3D ResNet-152 (117,361,985, 7×7×7 stem) less
  // 64 · (343 − 147) = 12,544 for the (3, 7, 7) stem.
  EXPECT_EQ(vfp::models::parameter_count(*build("merlin_resnet152", 3)), 117368257);
  auto model = build("merlin_resnet152");
  EXPECT_EQ(vfp::models::parameter_count(*model), 117349441);
  const auto params = model->named_parameters();
  EXPECT_EQ(params["conv1.weight"].sizes(), (std::vector<std::int64_t>{64, 1, 3, 7, 7}));
  EXPECT_EQ(params["layer3.0.conv2.weight"].sizes(),
            (std::vector<std::int64_t>{256, 256, 3, 3, 3}));
  EXPECT_EQ(params["layer3.0.downsample.0.weight"].sizes(),
            (std::vector<std::int64_t>{1024, 512, 1, 1, 1}));
}

TEST(MerlinEncoder, TrainsOneStepOnATinyVolume) {
  torch::manual_seed(0);
  auto model = build("merlin_resnet152", 1, 3);
  // Depth 16 → 16 (stem stride 1) → 8 → 4 → 2 → 1; in-plane 32 → 16 → 8 → 4 → 2 → 1.
  expect_trains_one_step(*model, torch::randn({2, 1, 16, 32, 32}));
}

TEST(MerlinEncoder, Is3DOnly) {
  EXPECT_EQ(error_of([] {
              ModelSpec spec;
              spec.arch = "merlin_resnet152";
              vfp::models::make_model(spec);
            }),
            "model 'merlin_resnet152' is built in dims 3 only, not 2");
}

// ---- VISTA3D: SegResNetDS2's encoder (Project-MONAI/MONAI, monai/networks/nets/) ----

TEST(Vista3dEncoder, CheckpointKeysMapOntoOursAndLoadStrictly) {
  const auto mapped = map_fixture("vista3d_checkpoint_keys.txt", "vista3d.keymap");
  // conv_init + 13 blocks × 6 tensors + 4 downsampling convs; the decoders and heads drop.
  EXPECT_EQ(mapped.state.size(), 1u + 13u * 6u + 4u);
  EXPECT_EQ(mapped.dropped, 259u - 83u);
  expect_strict_load(*build("vista3d_segresnet"), mapped);
}

TEST(Vista3dEncoder, KeyMapAcceptsADistributedDataParallelPrefix) {
  StateDict state;
  state.insert("module.image_encoder.encoder.conv_init.weight", torch::zeros({48, 1, 3, 3, 3}));
  state.insert("module.point_head.mask_tokens.weight", torch::zeros({1, 48}));
  const auto mapped = vfp::models::apply_key_map(key_map("vista3d.keymap"), state);
  ASSERT_EQ(mapped.size(), 1u);
  EXPECT_EQ(mapped.begin()->key(), "conv_init.weight");
}

TEST(Vista3dEncoder, ParameterCountFollowsSegResEncoder) {
  // conv_init 27·48 = 1,296; a level of C channels has blocks × (2 · 27·C² + 4·C) and, but for
  // the last, a downsampling conv 27 · 2C · C: 249,024 + 1,493,760 + 5,973,504 + 39,819,264
  // + 127,414,272 for C = 48 … 768 → 174,951,120 (make_encoder_fixtures.py counts the same on
  // MONAI's SegResEncoder transcribed; whole vista3d132: 217,964,982). Head 768 + 1.
  EXPECT_EQ(vfp::models::parameter_count(*build("vista3d_segresnet")), 174951120 + 769);
}

TEST(Vista3dEncoder, TrainsOneStepOnATinyVolume) {
  torch::manual_seed(0);
  auto model = build("vista3d_segresnet", 1, 3);
  // 16³ → 8³ → 4³ → 2³ → 1³ (the last level is instance-normalised over one voxel).
  expect_trains_one_step(*model, torch::randn({2, 1, 16, 16, 16}));
}

// ---- CT-CLIP: CTViT (ibrahimethemhamamci/CT-CLIP, transformer_maskgit/ctvit.py) ----

TEST(CtClipVit, CheckpointKeysMapOntoOursAndLoadStrictly) {
  const auto mapped = map_fixture("ctclip_checkpoint_keys.txt", "ctclip.keymap");
  // to_patch_emb 6, spatial_rel_pos_bias 6, and per transformer 4 layers × 13 tensors (PEG 2,
  // attention 7, feed-forward 4) + norm_out's gamma and beta; 362 − 120 dropped.
  EXPECT_EQ(mapped.state.size(), 6u + 6u + 2u * (4u * 13u + 2u));
  EXPECT_EQ(mapped.dropped, 362u - 120u);
  auto model = vfp::models::make_model(ctclip_published());
  expect_strict_load(*model, mapped);
}

TEST(CtClipVit, ReproducesCtViTsOutputFromTheSameWeights) {
  // ctclip_golden.pt (make_encoder_fixtures.py): a small CTViT run by a transcription of
  // attention.py/ctvit.py's forward code (PEG, attention with keys from the un-normed input,
  // position bias, GEGLU, the spatial → temporal reshapes), random weights under CT-CLIP's
  // names, a 3-way linear head on the mean token, an input of 3 × 2 × 3 patches.
  auto file = vfp::models::read_weights(kSource / "tests/models/data/ctclip_golden.pt");
  const auto input = file["input"], expected = file["expected"];
  StateDict weights;
  for (const auto& item : file)
    if (item.key() != "input" && item.key() != "expected")
      weights.insert(item.key(), item.value());
  ModelSpec spec;
  spec.arch = "ctclip_vit";
  spec.dims = 3;
  spec.outputs = 3;
  spec.vit.patch_size = 4;
  spec.vit.temporal_patch_size = 2;
  spec.vit.dim = 32;
  spec.vit.heads = 2;
  spec.vit.dim_head = 8;
  auto model = vfp::models::make_model(spec);
  vfp::models::load_state(*model, vfp::models::apply_key_map(key_map("ctclip.keymap"), weights),
                          vfp::models::LoadMode::kStrict, "ctclip_golden.pt");
  model->eval();
  torch::NoGradGuard no_grad;
  const auto out = model->forward(input);
  EXPECT_TRUE(torch::allclose(out, expected, 1e-4, 1e-5)) << out << "\nvs\n" << expected;
}

TEST(CtClipVit, ParameterCountIsCtClipsEncoderPath) {
  // make_encoder_fixtures.py on CT-CLIP's modules transcribed: to_patch_emb, spatial position
  // bias and the two transformers of CTViT(dim 512, patch 20 × 20 × 10, depths 4 + 4, 8 heads of
  // 32), less the unused context norms: 23,421,768; plus the 512 → 1 head.
  EXPECT_EQ(vfp::models::parameter_count(*vfp::models::make_model(ctclip_published())),
            23421768 + 513);
  // The small defaults (dim 64, patch 8 × 8 × 4, depths 2 + 2, 4 heads of 16), 2 channels,
  // 3 outputs: 243,079 by the same script.
  EXPECT_EQ(vfp::models::parameter_count(*build("ctclip_vit", 2, 3)), 243079);
}

TEST(CtClipVit, TrainsOneStepOnATinyVolume) {
  torch::manual_seed(0);
  auto model = build("ctclip_vit", 1, 3);
  // Depth 16 / 4 = 4 slabs, 32 / 8 = 4 × 4 patches each.
  expect_trains_one_step(*model, torch::randn({2, 1, 16, 32, 32}));
}

TEST(CtClipVit, InputNotDivisibleByThePatchesIsAnError) {
  auto model = build("ctclip_vit");
  EXPECT_EQ(error_of([&] {
              model->forward(torch::zeros({1, 1, 16, 30, 32}));
            }),
            "ctclip_vit: input [1, 1, 16, 30, 32] must be [N, C, D, H, W] with D a multiple of "
            "model.vit.temporal_patch_size 4 and H, W multiples of model.vit.patch_size 8");
  EXPECT_EQ(error_of([] {
              ModelSpec spec;
              spec.arch = "ctclip_vit";
              spec.dims = 3;
              spec.vit.heads = 0;
              vfp::models::make_model(spec);
            }),
            "model 'ctclip_vit': model.vit.heads must be >= 1, not 0");
}

TEST(CtClipVit, LoadsThroughLoadPretrainedWithItsKeyMap) {
  // A small CT-CLIP-like checkpoint: our default-sized encoder's tensors under CT-CLIP's names,
  // with the keys CT-CLIP has and we drop, written as safetensors and loaded as a user would.
  torch::manual_seed(3);
  auto source = build("ctclip_vit");
  StateDict theirs;
  for (const auto& item : vfp::models::state_of(*source))
    if (item.key().rfind("fc.", 0) != 0)
      theirs.insert("visual_transformer." + item.key(), torch::randn(item.value().sizes()));
  theirs.insert("visual_transformer.enc_spatial_transformer.layers.0.1.context_norm.gamma",
                torch::ones({64}));
  theirs.insert("visual_transformer.vq._codebook.embed", torch::randn({1, 16, 64}));
  theirs.insert("to_visual_latent.weight", torch::randn({512, 64}));
  theirs.insert("temperature", torch::ones({}));
  const auto dir = fs::temp_directory_path() / ("vfp_encoders_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  vfp::models::write_safetensors(dir / "ctclip.safetensors", theirs);

  auto model = build("ctclip_vit", 1, 2);
  vfp::models::PretrainedOptions options;
  options.file = dir / "ctclip.safetensors";
  options.key_map = kSource / "lib/models/key_maps/ctclip.keymap";
  const auto report = vfp::models::load_pretrained(*model, options);
  fs::remove_all(dir);
  EXPECT_TRUE(report.complete()) << report.describe();
  const auto params = model->named_parameters();
  EXPECT_TRUE(
      torch::equal(params["enc_temporal_transformer.layers.1.3.4.weight"],
                   theirs["visual_transformer.enc_temporal_transformer.layers.1.3.4.weight"]));
}
