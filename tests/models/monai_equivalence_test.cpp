// The study's 3D networks are MONAI's: a MONAI state dict loads into vfp's model through
// lib/models/key_maps/monai_*.keymap and gives MONAI's logits, in eval and in train mode.
//
// The references (tests/models/data/monai_*.txt) were made by tests/models/monai_reference.py
// with MONAI 1.6.1 and torch 2.15 (CPU, one thread): every state-dict key and shape, the
// logits of two fixed 47³ volumes (63³ for DenseNet121, 31³ for the ResNets), and no weights:
// both sides fill the state dict by the same closed-form rule (the script's docstring), so the
// fixtures stay a few kB. Each fixture notes how far MONAI's own float32 logits are from
// float64's (at most 2.2e-5): 1e-4 is a real test, not a loose one.
#include "build_model.h"
#include "checkpoint_fixture.h"
#include "core/core.h"
#include "models/models.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using vfp::models::StateDict;
using vfp::models::testing::CheckpointFixture;

const fs::path kSource = VFP_SOURCE_DIR;

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::int64_t numel(const std::vector<std::int64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
}

/// tests/models/monai_reference.py's rule for the t-th entry, element by element.
torch::Tensor rule_value(const std::string& key, int t, const std::vector<std::int64_t>& shape) {
  const auto n = numel(shape);
  if (ends_with(key, "num_batches_tracked"))
    return torch::zeros(shape, torch::kLong);
  const auto j = torch::arange(n, torch::kFloat64);
  const auto s = torch::sin(j * 12.9898 + t * 78.233 + 0.5) * 43758.5453;
  const auto u = (s - torch::floor(s)) * 2 - 1;
  torch::Tensor v;
  if (ends_with(key, "running_mean"))
    v = u * 0.1;
  else if (ends_with(key, "running_var"))
    v = (u + 1) * 0.25 + 1;
  else if (ends_with(key, "weight") && shape.size() >= 2)
    v = u * std::sqrt(6 / (static_cast<double>(n) / static_cast<double>(shape[0])));
  else if (ends_with(key, "weight"))
    v = u * 0.2 + 1;
  else if (ends_with(key, "bias"))
    v = u * 0.1;
  else
    ADD_FAILURE() << "no rule for " << key;
  return v.to(torch::kFloat32).reshape(shape);
}

torch::Tensor rule_input(const std::vector<std::int64_t>& shape) {
  const auto i = torch::arange(numel(shape), torch::kFloat64);
  const auto sample = torch::floor(i / static_cast<double>(numel(shape) / shape[0]));
  const auto x = (sample + 1) * (torch::sin(i * 0.011) + torch::sin(i * 0.0007) * 0.5);
  return x.to(torch::kFloat32).reshape(shape);
}

std::vector<std::int64_t> as_shape(const std::vector<double>& values) {
  return {values.begin(), values.end()};
}

struct MonaiNetwork {
  std::string arch;     ///< vfp's registry name
  std::string fixture;  ///< tests/models/data/<fixture>
  std::string key_map;  ///< lib/models/key_maps/<key_map>
  std::string imposter; ///< vfp's look-alike of another layout: same keys, other outputs
};

std::ostream& operator<<(std::ostream& out, const MonaiNetwork& n) {
  return out << n.arch;
}

class MonaiEquivalence : public ::testing::TestWithParam<MonaiNetwork> {
protected:
  void SetUp() override {
    fixture_ = vfp::models::testing::read_checkpoint_fixture(kSource / "tests/models/data" /
                                                             GetParam().fixture);
    ASSERT_FALSE(fixture_.keys.empty());
    ASSERT_EQ(fixture_.references.count("input"), 1u);
    dir_ = fs::temp_directory_path() / ("vfp_monai_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    StateDict theirs;
    for (std::size_t t = 0; t < fixture_.keys.size(); ++t)
      theirs.insert(fixture_.keys[t].key,
                    rule_value(fixture_.keys[t].key, static_cast<int>(t), fixture_.keys[t].shape));
    file_ = dir_ / (GetParam().arch + ".safetensors");
    vfp::models::write_safetensors(file_, theirs);
  }

  /// `arch` built as the fixture's network (3D, 1 channel, 3 outputs, no dropout) with the
  /// MONAI file loaded strictly, its head included.
  std::shared_ptr<vfp::models::Classifier> loaded(const std::string& arch) {
    auto model = vfp::models::testing::build(arch, 3, 1, 3, /*dropout=*/0.0);
    vfp::models::PretrainedOptions options;
    options.file = file_;
    options.key_map = kSource / "lib/models/key_maps" / GetParam().key_map;
    options.keep_head = true;
    const auto report = vfp::models::load_pretrained(*model, options);
    EXPECT_TRUE(report.complete()) << report.describe();
    EXPECT_EQ(report.loaded, fixture_.keys.size());
    return model;
  }

  /// The model's logits on the fixture's input, in eval or train mode.
  std::vector<double> logits(vfp::models::Classifier& model, bool train) {
    torch::NoGradGuard no_grad;
    model.train(train);
    const auto out = model.forward(rule_input(as_shape(fixture_.references.at("input"))));
    const auto flat = out.to(torch::kFloat64).contiguous();
    return {flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel()};
  }

  /// max |ours - MONAI's| relative to the largest reference logit (at least 1).
  static double relative_error(const std::vector<double>& ours, const std::vector<double>& ref) {
    EXPECT_EQ(ours.size(), ref.size());
    double worst = 0, scale = 1;
    for (std::size_t i = 0; i < std::min(ours.size(), ref.size()); ++i) {
      worst = std::max(worst, std::abs(ours[i] - ref[i]));
      scale = std::max(scale, std::abs(ref[i]));
    }
    return worst / scale;
  }

  CheckpointFixture fixture_;
  fs::path dir_, file_;
};

TEST_P(MonaiEquivalence, MonaisStateDictLoadsThroughItsKeyMapAndGivesMonaisLogitsInEvalAndTrain) {
  torch::set_num_threads(1);
  auto model = loaded(GetParam().arch);
  std::int64_t monai_parameters = 0;
  for (const auto& k : fixture_.keys)
    if (!ends_with(k.key, "running_mean") && !ends_with(k.key, "running_var") &&
        !ends_with(k.key, "num_batches_tracked"))
      monai_parameters += numel(k.shape);
  EXPECT_EQ(vfp::models::parameter_count(*model), monai_parameters);

  const auto eval = relative_error(logits(*model, false), fixture_.references.at("eval"));
  const auto train = relative_error(logits(*model, true), fixture_.references.at("train"));
  std::cout << "[          ] " << GetParam().arch << " vs MONAI: eval " << eval << ", train "
            << train << "\n";
  EXPECT_LE(eval, 1e-4);
  EXPECT_LE(train, 1e-4);
}

TEST_P(MonaiEquivalence, VfpsLookAlikeOfAnotherLayoutLoadsTheSameKeysButNotMonaisLogits) {
  if (GetParam().imposter.empty())
    GTEST_SKIP() << "no other vfp architecture takes " << GetParam().arch << "'s keys and shapes";
  torch::set_num_threads(1);
  auto model = loaded(GetParam().imposter);
  EXPECT_GT(relative_error(logits(*model, true), fixture_.references.at("train")), 1e-2);
}

INSTANTIATE_TEST_SUITE_P(
    StudyNetworks, MonaiEquivalence,
    ::testing::Values(
        MonaiNetwork{"monai_seresnet50", "monai_seresnet50.txt", "monai_senet.keymap",
                     "se_resnet50"},
        MonaiNetwork{"monai_seresnext50", "monai_seresnext50.txt", "monai_senet.keymap",
                     "se_resnext50_32x4d"},
        MonaiNetwork{"densenet121", "monai_densenet121.txt", "monai_densenet.keymap", ""},
        MonaiNetwork{"monai_resnet18", "monai_resnet18.txt", "monai_resnet.keymap", ""},
        MonaiNetwork{"monai_resnet50", "monai_resnet50.txt", "monai_resnet.keymap", ""}),
    [](const auto& info) { return info.param.arch; });

} // namespace
