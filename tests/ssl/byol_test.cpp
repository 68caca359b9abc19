// pretrain_byol end to end: its checkpoint, determinism, and its errors.
#include "core/core.h"
#include "models/models.h"
#include "phantom.h"
#include "ssl/ssl.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <numeric>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using namespace vfp::ssl;
using vfp::ssl::test::smooth_noise;

class Byol : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vfp_byol_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static ByolOptions tiny() {
    ByolOptions o;
    o.model.width = 4;
    o.ssl.projector_hidden = 32;
    o.ssl.projection_dim = 16;
    o.ssl.batch_size = 8;
    o.ssl.epochs = 2;
    o.run.seed = 3;
    o.run.device = "cpu"; // bit-for-bit promises are CPU ones; the CUDA test opts in
    return o;
  }
  /// 20 patches, of which items 0 … 17 train (the last batch has 2). The source reads
  /// pixels_, so a test may change a pixel after the call.
  Patches patches(int depth = 0) {
    pixels_ = smooth_noise(20, depth, 16, 9);
    source_ = std::make_unique<vfp::loader::MemorySource>(pixels_.data(),
                                                          std::int64_t(pixels_.size() / 20));
    Patches p{source_.get(), 20, 1, depth, 16, 16, {}, {}};
    p.items.resize(18);
    std::iota(p.items.begin(), p.items.end(), 0);
    return p;
  }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }

  /// A width-4 fNet (as tiny() trains) with the checkpoint's online backbone loaded, strictly,
  /// as `pretrained.mode: ssl` loads it.
  struct Loaded {
    std::shared_ptr<vfp::models::Classifier> model;
    vfp::models::LoadReport report;
  };
  Loaded load_backbone(const std::string& name, int dims = 2) const {
    vfp::models::ModelSpec spec;
    spec.width = 4;
    spec.dims = dims;
    Loaded out{vfp::models::make_model(spec), {}};
    vfp::models::PretrainedOptions po;
    po.file = file(name);
    po.prefix = "online.backbone.";
    out.report = vfp::models::load_pretrained(*out.model, po);
    return out;
  }

  fs::path dir_;
  std::vector<float> pixels_;
  std::unique_ptr<vfp::loader::MemorySource> source_;
};

TEST_F(Byol, ItsCheckpointLoadsIntoAClassifierThroughTheSslPrefix) {
  std::vector<EpochLog> seen;
  const auto out = pretrain_byol(tiny(), patches(), file("byol.safetensors"),
                                 [&](const EpochLog& e) { seen.push_back(e); });
  ASSERT_EQ(out.history.size(), 2u);
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(out.steps, 2 * 3); // 18 items in batches of 8: 8, 8, 2
  for (const auto& e : out.history) {
    EXPECT_TRUE(std::isfinite(e.loss));
    EXPECT_GE(e.loss, 0.0);
    EXPECT_LE(e.loss, 8.0);
  }
  EXPECT_GT(out.history[1].tau, out.history[0].tau); // the EMA rate anneals towards 1

  const auto meta = vfp::models::read_safetensors_metadata(file("byol.safetensors"));
  EXPECT_EQ(meta.at("format"), "vfp-byol");
  EXPECT_EQ(meta.at("arch"), "fnet");
  EXPECT_EQ(meta.at("dims"), "2");
  EXPECT_EQ(meta.at("steps"), "6");
  EXPECT_EQ(meta.at("seed"), "3");

  const auto [model, report] = load_backbone("byol.safetensors"); // strict: every backbone key
  EXPECT_TRUE(report.complete()) << report.describe();
  const auto weights = vfp::models::read_weights(file("byol.safetensors"));
  std::size_t compared = 0;
  for (const auto& item : vfp::models::state_of(*model)) {
    const auto* stored = weights.find("online.backbone." + item.key());
    if (!stored)
      continue; // the head, left initialised
    EXPECT_TRUE(torch::equal(item.value(), *stored)) << item.key();
    ++compared;
  }
  // The model's own (new) head is counted as loaded too: it keeps its initial values.
  EXPECT_EQ(compared + vfp::models::head_keys(*model).size(), report.loaded);
  EXPECT_EQ(compared, 24u); // fNet: 4 stages × (convolution + 5 batch-norm tensors)
}

TEST_F(Byol, TheSameSeedGivesTheSameCheckpointAndAnotherSeedAnother) {
  auto o = tiny();
  pretrain_byol(o, patches(), file("a.safetensors"));
  pretrain_byol(o, patches(), file("b.safetensors"));
  o.run.seed = 4;
  pretrain_byol(o, patches(), file("c.safetensors"));
  const auto a = vfp::models::read_weights(file("a.safetensors"));
  const auto b = vfp::models::read_weights(file("b.safetensors"));
  const auto c = vfp::models::read_weights(file("c.safetensors"));
  ASSERT_EQ(a.size(), b.size());
  bool any_differs = false;
  for (const auto& item : a) {
    EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
    any_differs = any_differs || !torch::equal(item.value(), c[item.key()]);
  }
  EXPECT_TRUE(any_differs);
}

TEST_F(Byol, ARunInterruptedAfterAnEpochResumesToTheUninterruptedCheckpoint) {
  struct Interrupted {};
  for (const std::string optimizer : {"adamw", "lars"}) {
    auto o = tiny();
    o.ssl.epochs = 4;
    o.ssl.optimizer = optimizer;
    o.ssl.lr = optimizer == "lars" ? 0.5 : 1e-3;
    fs::remove(file("resumed.safetensors"));
    pretrain_byol(o, patches(), file("whole.safetensors"));
    o.run.checkpoint = file("progress.pt");
    try {
      pretrain_byol(o, patches(), file("resumed.safetensors"), [](const EpochLog& e) {
        if (e.epoch == 2)
          throw Interrupted{}; // as a kill would, after the epoch's progress is saved
      });
      FAIL() << "not interrupted";
    } catch (const Interrupted&) {
    }
    ASSERT_TRUE(fs::exists(o.run.checkpoint));
    EXPECT_FALSE(fs::exists(file("resumed.safetensors")));
    std::vector<int> epochs_run;
    const auto out = pretrain_byol(o, patches(), file("resumed.safetensors"),
                                   [&](const EpochLog& e) { epochs_run.push_back(e.epoch); });
    EXPECT_EQ(out.resumed_from_epoch, 2);
    EXPECT_EQ(epochs_run, (std::vector<int>{3, 4}));
    EXPECT_EQ(out.history.size(), 4u);
    EXPECT_EQ(out.steps, 4 * 3);
    EXPECT_FALSE(fs::exists(o.run.checkpoint)) << "removed once the checkpoint is written";
    const auto whole = vfp::models::read_weights(file("whole.safetensors"));
    const auto resumed = vfp::models::read_weights(file("resumed.safetensors"));
    ASSERT_EQ(whole.size(), resumed.size());
    for (const auto& item : whole)
      EXPECT_TRUE(torch::equal(item.value(), resumed[item.key()]))
          << optimizer << " " << item.key();
  }
}

TEST_F(Byol, AProgressFileOfAnotherRunIsRefusedNamingIt) {
  struct Interrupted {};
  auto o = tiny();
  o.run.checkpoint = file("progress.pt");
  try {
    pretrain_byol(o, patches(), file("byol.safetensors"),
                  [](const EpochLog&) { throw Interrupted{}; });
  } catch (const Interrupted&) {
  }
  o.run.seed = 4;
  try {
    pretrain_byol(o, patches(), file("byol.safetensors"));
    FAIL() << "resumed another run";
  } catch (const vfp::TaskError& e) {
    EXPECT_NE(std::string(e.what()).find(o.run.checkpoint + " belongs to another pretraining"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(fs::exists(o.run.checkpoint)) << "left for the run it belongs to";
}

TEST_F(Byol, AProgressFileOverOtherPixelsIsRefused_ChecksummedThroughTheSourceOrByIdentity) {
  struct Interrupted {};
  auto o = tiny();
  o.run.checkpoint = file("progress.pt");
  auto interrupt = [](const EpochLog&) { throw Interrupted{}; };
  auto expect_refused = [&](const Patches& p, const std::string& what) {
    try {
      pretrain_byol(o, p, file("byol.safetensors"));
      ADD_FAILURE() << "resumed over other pixels: " << what;
    } catch (const vfp::TaskError& e) {
      EXPECT_NE(std::string(e.what()).find("belongs to another pretraining"), std::string::npos)
          << e.what();
    }
  };
  EXPECT_THROW(pretrain_byol(o, patches(), file("byol.safetensors"), interrupt), Interrupted);
  auto p = patches();
  pixels_[17 * 16 * 16 + 3] += 0.01F; // item 17, the last one trained on
  expect_refused(p, "one pixel changed");
  // With an identity, the pixels are not read: the identity alone names them.
  fs::remove(o.run.checkpoint);
  p = patches();
  p.identity = "cache abc";
  EXPECT_THROW(pretrain_byol(o, p, file("byol.safetensors"), interrupt), Interrupted);
  p.identity = "cache abd";
  expect_refused(p, "another identity");
}

TEST_F(Byol, TrainsA3DBackboneWithLars) {
  auto o = tiny();
  o.ssl.optimizer = "lars";
  o.ssl.lr = 0.5;
  o.ssl.epochs = 1;
  const auto out = pretrain_byol(o, patches(/*depth=*/16), file("byol3d.safetensors"));
  EXPECT_EQ(out.steps, 3);
  const auto meta = vfp::models::read_safetensors_metadata(file("byol3d.safetensors"));
  EXPECT_EQ(meta.at("dims"), "3");
  EXPECT_EQ(meta.at("optimizer"), "lars");
  EXPECT_TRUE(load_backbone("byol3d.safetensors", 3).report.complete());
}

TEST_F(Byol, BadOptionsAreProgrammingErrorsAndBadPatchesInputErrors_NamingWhich) {
  auto expect_error = [&](ByolOptions o, Patches p, const std::string& needle, bool option) {
    try {
      pretrain_byol(o, p, file("x.safetensors"));
      ADD_FAILURE() << "no error for " << needle;
    } catch (const vfp::InputError& e) {
      EXPECT_FALSE(option) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    } catch (const std::logic_error& e) { // the config schema refuses these first
      EXPECT_TRUE(option) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(file("x.safetensors")));
  };
  auto o = tiny();
  o.ssl.optimizer = "sgd";
  expect_error(o, patches(), "optimizer: unknown 'sgd'", true);
  o = tiny();
  o.ssl.batch_size = 1;
  expect_error(o, patches(), "batch_size", true);
  o = tiny();
  o.ssl.schedule = "linear";
  expect_error(o, patches(), "schedule: unknown 'linear'", true);
  o = tiny();
  o.ssl.tau_base = 1.5;
  expect_error(o, patches(), "tau_base: 1.5 is outside [0, 1]", true);
  o = tiny();
  o.ssl.crop_min_scale = 0;
  expect_error(o, patches(), "crop_min_scale", true);
  auto p = patches();
  p.items.push_back(20);
  expect_error(tiny(), p, "item 20 is outside the buffer of 20 patches", false);
  p = patches();
  p.items = {3};
  expect_error(tiny(), p, "at least 2 are needed", false);
}

TEST_F(Byol, AnUnwritableCheckpointFailsBeforeTraining) {
  int epochs = 0;
  const auto missing = (dir_ / "no" / "such" / "folder" / "byol.safetensors").string();
  try {
    pretrain_byol(tiny(), patches(), missing, [&](const EpochLog&) { ++epochs; });
    FAIL() << "no error";
  } catch (const vfp::IoError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  EXPECT_EQ(epochs, 0);
  EXPECT_THROW(pretrain_byol(tiny(), patches(), dir_.string()), vfp::IoError); // a folder
}

TEST_F(Byol, ANanLossFailsNamingTheStepAndLeavesAnOldCheckpointIntact) {
  const auto path = file("byol.safetensors");
  {
    std::ofstream old(path);
    old << "an earlier checkpoint";
  }
  auto p = patches();
  pixels_[5 * 16 * 16 + 7] = std::numeric_limits<float>::quiet_NaN(); // patch 5
  try {
    pretrain_byol(tiny(), p, path);
    FAIL() << "no error";
  } catch (const vfp::TaskError& e) {
    EXPECT_NE(std::string(e.what()).find("BYOL loss became NaN at epoch 1, step"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(vfp::read_text_file(path), "an earlier checkpoint");
}

TEST_F(Byol, OnCudaItPretrainsUnderBfloat16AndResumes) {
  if (!torch::cuda::is_available())
    GTEST_SKIP() << "no CUDA device visible: this checks the CUDA path on a GPU machine";
  struct Interrupted {};
  auto o = tiny();
  o.run.device = "cuda";
  o.ssl.epochs = 3;
  o.run.checkpoint = file("progress.pt");
  EXPECT_THROW(pretrain_byol(o, patches(), file("byol.safetensors"),
                             [](const EpochLog& e) {
                               if (e.epoch == 2)
                                 throw Interrupted{};
                             }),
               Interrupted);
  const auto out = pretrain_byol(o, patches(), file("byol.safetensors"));
  EXPECT_EQ(out.resumed_from_epoch, 2);
  for (const auto& e : out.history)
    EXPECT_TRUE(std::isfinite(e.loss));
  EXPECT_EQ(vfp::models::read_safetensors_metadata(file("byol.safetensors"))
                .at("device")
                .rfind("cuda:", 0),
            0u);
  EXPECT_TRUE(load_backbone("byol.safetensors").report.complete());
}

TEST_F(Byol, AskingForCudaWithoutADeviceFailsSayingWhy) {
  if (torch::cuda::is_available())
    GTEST_SKIP() << "a CUDA device is visible";
  auto o = tiny();
  o.run.device = "cuda";
  EXPECT_THROW(pretrain_byol(o, patches(), file("byol.safetensors")), vfp::TaskError);
}

} // namespace
