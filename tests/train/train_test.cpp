// lib/models and lib/train: the only test file that compiles torch headers.
#include "core/core.h"
#include "metrics/metrics.h"
#include "models/models.h"
#include "train/train.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <limits>
#include <memory>
#include <random>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

/// n subjects, 2 patches each; positives have a brighter disc in the centre.
struct Toy {
  std::vector<float> pixels;
  std::unique_ptr<vfp::loader::MemorySource> source; // over `pixels`; moves with the toy
  vfp::train::FoldData data;
};

Toy make_toy(int subjects, int size, std::uint64_t seed) {
  Toy t;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0F, 0.05F);
  for (int s = 0; s < subjects; ++s) {
    const int label = s % 4 == 0;
    t.data.subject_label.push_back(label);
    for (int v = 0; v < 2; ++v) {
      for (int r = 0; r < size; ++r)
        for (int c = 0; c < size; ++c) {
          const float d = std::hypot(r - size / 2.0F, c - size / 2.0F);
          t.pixels.push_back((d < size / 4.0F ? (label ? 0.7F : 0.4F) : 0.2F) + noise(rng));
        }
      const int p = static_cast<int>(t.data.patch_subject.size());
      t.data.patch_subject.push_back(s);
      (s % 5 == 0 ? t.data.validation : s % 5 == 1 ? t.data.test : t.data.train).push_back(p);
    }
  }
  t.source = std::make_unique<vfp::loader::MemorySource>(t.pixels.data(), size * size);
  t.data.source = t.source.get();
  t.data.height = t.data.width = size;
  return t;
}

vfp::train::TrainOptions quick_options() {
  vfp::train::TrainOptions o;
  o.model.width = 4;
  o.train.lr = 3e-3;
  o.train.batch_size = 16;
  o.train.max_epochs = 8;
  o.train.patience = 8;
  o.run.seed = 11;
  o.run.threads = 1;
  o.run.device = "cpu"; // bit-for-bit determinism is a CPU promise; the Device tests opt in to CUDA
  return o;
}

} // namespace

TEST(Trainer, LearnsASeparableToyTaskAndIsDeterministic) {
  auto toy = make_toy(80, 16, 5);
  // Without augmentation: validation saturates after an epoch or two on this toy, and the
  // point here is learning and determinism (augmentation is pinned in tests/loader).
  auto options = quick_options();
  options.train.augment = false;
  auto a = vfp::train::fit_and_score(options, toy.data);
  std::vector<int> subjects;
  std::vector<double> scores;
  vfp::train::aggregate_by_subject(toy.data.patch_subject, toy.data.test, a.test_scores, "max",
                                   subjects, scores);
  std::vector<int> labels;
  for (int subject : subjects)
    labels.push_back(toy.data.subject_label[subject]);
  EXPECT_GT(a.best_val_auroc, 0.95);
  EXPECT_GT(vfp::metrics::auroc(scores, labels), 0.95); // held-out subjects, patient level
  auto b = vfp::train::fit_and_score(options, toy.data);
  EXPECT_EQ(a.test_scores, b.test_scores);
  EXPECT_EQ(a.best_epoch, b.best_epoch);
}

TEST(Trainer, LoaderThreadsDoNotChangeTheResult) {
  // Batches depend on the task seed alone: 0 (inline) or 3 background loader threads and
  // balanced sampling with full augmentation give the same scores.
  auto toy = make_toy(40, 16, 8);
  auto o = quick_options();
  o.train.max_epochs = 3;
  o.train.sampling = "balanced";
  o.train.loader_threads = 0;
  const auto inline_batches = vfp::train::fit_and_score(o, toy.data);
  o.train.loader_threads = 3;
  const auto threaded = vfp::train::fit_and_score(o, toy.data);
  EXPECT_EQ(inline_batches.test_scores, threaded.test_scores);
  EXPECT_EQ(inline_batches.history.size(), 3u);
  EXPECT_GT(threaded.train_seconds, 0.0);
  EXPECT_GE(threaded.data_wait_seconds, 0.0);
  EXPECT_LE(threaded.data_wait_seconds, threaded.train_seconds);
}

TEST(Trainer, UnknownSamplingIsAProgrammingError_TheSchemaRefusesItFirst) {
  auto toy = make_toy(20, 8, 9);
  auto o = quick_options();
  o.train.sampling = "stratified";
  EXPECT_THROW(vfp::train::fit_and_score(o, toy.data), std::logic_error);
}

TEST(Trainer, EarlyStoppingRestoresTheBestEpoch) {
  auto toy = make_toy(40, 16, 6);
  auto o = quick_options();
  o.train.max_epochs = 6;
  o.train.patience = 2;
  auto r = vfp::train::fit_and_score(o, toy.data);
  ASSERT_GE(r.best_epoch, 1);
  double best = -1;
  for (const auto& e : r.history)
    best = std::max(best, e.val_auroc);
  EXPECT_DOUBLE_EQ(r.best_val_auroc, best);
  EXPECT_LE(r.epochs_run, r.best_epoch + o.train.patience);
}

TEST(Trainer, NanLossFailsTheTaskWithAReason) {
  auto toy = make_toy(20, 16, 7);
  std::fill(toy.pixels.begin(), toy.pixels.end(), std::numeric_limits<float>::quiet_NaN());
  try {
    vfp::train::fit_and_score(quick_options(), toy.data);
    FAIL();
  } catch (const vfp::TaskError& e) {
    EXPECT_NE(std::string(e.what()).find("training loss became NaN at epoch 1"), std::string::npos)
        << e.what();
  }
}

TEST(Trainer, AnEmptyTestSplitOrOneWithoutPositivesFailsBeforeTraining) {
  auto toy = make_toy(20, 16, 8);
  int epochs = 0;
  const auto count = [&](const vfp::train::EpochLog&) { ++epochs; };
  auto empty = toy.data;
  empty.test.clear();
  try {
    vfp::train::fit_and_score(quick_options(), empty, count);
    FAIL();
  } catch (const vfp::TaskError& e) {
    EXPECT_NE(std::string(e.what()).find("the test split is empty"), std::string::npos) << e.what();
  }
  auto negatives_only = toy.data;
  negatives_only.test.clear();
  for (int p : toy.data.test)
    if (!toy.data.subject_label[toy.data.patch_subject[p]])
      negatives_only.test.push_back(p);
  try {
    vfp::train::fit_and_score(quick_options(), negatives_only, count);
    FAIL();
  } catch (const vfp::TaskError& e) {
    EXPECT_NE(std::string(e.what()).find("the test split has no positive subjects"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(epochs, 0);
}

TEST(Trainer, ValidationWithoutPositivesFailsClearly) {
  auto toy = make_toy(20, 16, 8);
  toy.data.validation.clear();
  for (int p : toy.data.train)
    if (!toy.data.subject_label[toy.data.patch_subject[p]])
      toy.data.validation.push_back(p);
  try {
    vfp::train::fit_and_score(quick_options(), toy.data);
    FAIL();
  } catch (const vfp::TaskError& e) {
    EXPECT_NE(std::string(e.what()).find("the validation split has no positive subjects"),
              std::string::npos)
        << e.what();
  }
}

TEST(Aggregation, MaxMeanAndNoisyOrOverASubjectsPatches) {
  std::vector<int> patch_subject{0, 0, 1, 1};
  std::vector<int> subjects;
  std::vector<double> scores;
  vfp::train::aggregate_by_subject(patch_subject, {0, 1, 2, 3}, {0.2F, 0.6F, 0.5F, 0.1F}, "max",
                                   subjects, scores);
  EXPECT_EQ(subjects, (std::vector<int>{0, 1}));
  EXPECT_NEAR(scores[0], 0.6, 1e-7);
  EXPECT_NEAR(scores[1], 0.5, 1e-7);
  vfp::train::aggregate_by_subject(patch_subject, {0, 1, 2, 3}, {0.2F, 0.6F, 0.5F, 0.1F}, "mean",
                                   subjects, scores);
  EXPECT_NEAR(scores[0], 0.4, 1e-7);
  EXPECT_NEAR(scores[1], 0.3, 1e-7);
  // noisy-or: 1 - (1 - 0.2)(1 - 0.6) = 0.68; 1 - (1 - 0.5)(1 - 0.1) = 0.55
  vfp::train::aggregate_by_subject(patch_subject, {0, 1, 2, 3}, {0.2F, 0.6F, 0.5F, 0.1F},
                                   "noisy_or", subjects, scores);
  EXPECT_NEAR(scores[0], 0.68, 1e-7);
  EXPECT_NEAR(scores[1], 0.55, 1e-7);
  EXPECT_THROW(
      vfp::train::aggregate_by_subject(patch_subject, {0}, {0.2F}, "median", subjects, scores),
      vfp::InputError);
}

TEST(Trainer, EarlyStoppingOnValidationLossKeepsTheEpochWithTheLowestLoss) {
  auto toy = make_toy(80, 16, 9);
  auto options = quick_options();
  options.train.augment = false;
  options.train.stop_on = "loss";
  options.train.patience = 3;
  options.train.max_epochs = 12;
  const auto out = vfp::train::fit_and_score(options, toy.data);
  ASSERT_FALSE(out.history.empty());
  int lowest = 0;
  for (const auto& e : out.history)
    if (lowest == 0 || e.val_loss < out.history[size_t(lowest - 1)].val_loss)
      lowest = e.epoch;
  EXPECT_EQ(out.best_epoch, lowest);
  EXPECT_EQ(out.best_val_auroc, out.history[size_t(lowest - 1)].val_auroc);
  EXPECT_LE(out.epochs_run - out.best_epoch, options.train.patience);
}

TEST(Trainer, CosineScheduleWithWarmUpReportsTheHeadsRatePerEpoch) {
  auto toy = make_toy(40, 16, 3);
  auto options = quick_options();
  options.train.schedule = "cosine";
  options.train.warmup_epochs = 1;
  options.train.max_epochs = 4;
  options.train.patience = 10;
  options.train.lr = 1e-3;
  const auto out = vfp::train::fit_and_score(options, toy.data);
  ASSERT_EQ(out.history.size(), 4u);
  // 24 training subjects × 2 patches / batch 16 = 3 steps per epoch, 12 in all, 3 warm-up.
  EXPECT_DOUBLE_EQ(out.history[0].lr, 1e-3); // end of warm-up
  // the last step (11) is 8 of the cosine's 9 steps in
  EXPECT_NEAR(out.history[3].lr, 1e-3 * 0.5 * (1 + std::cos(M_PI * 8 / 9)), 1e-12);
  EXPECT_GT(out.history[1].lr, out.history[2].lr);
}

TEST(Trainer, Learns3DPatchesWithA3DModelAndSavesItsBestEpoch) {
  // 3D toy: positives have a brighter ball in the centre of a 16³ cube.
  const int side = 16, subjects = 60;
  std::vector<float> pixels;
  vfp::train::FoldData d;
  std::mt19937_64 rng(3);
  std::normal_distribution<float> noise(0.0F, 0.05F);
  for (int s = 0; s < subjects; ++s) {
    const int label = s % 3 == 0;
    d.subject_label.push_back(label);
    for (int z = 0; z < side; ++z)
      for (int r = 0; r < side; ++r)
        for (int c = 0; c < side; ++c) {
          const float dist =
              std::sqrt(float((z - 8) * (z - 8) + (r - 8) * (r - 8) + (c - 8) * (c - 8)));
          pixels.push_back((dist < 3.5F ? (label ? 0.8F : 0.4F) : 0.2F) + noise(rng));
        }
    d.patch_subject.push_back(s);
    (s % 5 == 0 ? d.validation : s % 5 == 1 ? d.test : d.train).push_back(s);
  }
  const vfp::loader::MemorySource source(pixels.data(), side * side * side);
  d.source = &source;
  d.depth = d.height = d.width = side;
  auto options = quick_options();
  options.train.augment = false;
  options.save_model = (std::filesystem::temp_directory_path() /
                        ("vfp_train3d_" + std::to_string(::getpid())) / "model.safetensors")
                           .string();
  std::filesystem::create_directories(std::filesystem::path(options.save_model).parent_path());
  const auto out = vfp::train::fit_and_score(options, d);
  EXPECT_GT(out.best_val_auroc, 0.9);
  ASSERT_EQ(out.test_scores.size(), d.test.size());
  // The saved weights are the best epoch's: loading them reproduces the test scores.
  const auto meta = vfp::models::read_safetensors_metadata(options.save_model);
  EXPECT_EQ(meta.at("dims"), "3");
  EXPECT_EQ(meta.at("best_epoch"), std::to_string(out.best_epoch));
  vfp::models::ModelSpec spec;
  spec.dims = 3;
  spec.width = options.model.width;
  auto model = vfp::models::make_model(spec);
  vfp::models::load_state(*model, vfp::models::read_weights(options.save_model),
                          vfp::models::LoadMode::kStrict, options.save_model);
  model->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::from_blob(pixels.data() + std::size_t(d.test[0]) * side * side * side,
                                  {1, 1, side, side, side});
  EXPECT_NEAR(torch::sigmoid(model->forward(x)).item<float>(), out.test_scores[0], 1e-5);
}

namespace {

struct Interrupted {};

fs::path scratch(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("vfp_train_resume_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

vfp::train::TrainOptions resumable_options() {
  auto options = quick_options();
  options.train.max_epochs = 7;
  options.train.patience = 10;
  options.model.dropout = 0.3;       // the random state must come back too
  options.train.schedule = "cosine"; // and the step count behind the schedule
  options.train.stop_on = "loss";    // keeps improving on the toy: the best epoch comes late
  return options;
}

} // namespace

TEST(Resume, AnInterruptedRunContinuesFromItsCheckpointToTheSameResult) {
  auto toy = make_toy(80, 16, 21);
  auto options = resumable_options();
  const auto whole = vfp::train::fit_and_score(options, toy.data);
  options.run.checkpoint = scratch("interrupted.pt").string();
  EXPECT_THROW(vfp::train::fit_and_score(options, toy.data,
                                         [](const vfp::train::EpochLog& e) {
                                           if (e.epoch == 3)
                                             throw Interrupted{};
                                         }),
               Interrupted);
  ASSERT_TRUE(fs::exists(options.run.checkpoint));
  const auto resumed = vfp::train::fit_and_score(options, toy.data);
  EXPECT_EQ(resumed.resumed_from_epoch, 3);
  EXPECT_EQ(resumed.test_scores, whole.test_scores); // bit for bit
  EXPECT_EQ(resumed.best_epoch, whole.best_epoch);
  ASSERT_EQ(resumed.history.size(), whole.history.size());
  for (size_t k = 0; k < whole.history.size(); ++k) {
    EXPECT_EQ(resumed.history[k].train_loss, whole.history[k].train_loss) << "epoch " << k + 1;
    EXPECT_EQ(resumed.history[k].val_loss, whole.history[k].val_loss) << "epoch " << k + 1;
  }
}

TEST(Resume, ARunKilledMidTrainingResumesToTheUninterruptedResult) {
  // A real SIGKILL at an arbitrary moment (mid-epoch or mid-write): the checkpoint on disk is
  // always a whole one, and resuming from it ends exactly where an uninterrupted run ends.
  auto toy = make_toy(160, 24, 33);
  auto options = resumable_options();
  options.run.checkpoint = scratch("killed.pt").string();
  const pid_t child = ::fork(); // before this process has used torch (no threads to lose)
  ASSERT_GE(child, 0);
  if (child == 0) {
    vfp::train::fit_and_score(options, toy.data);
    ::_exit(0);
  }
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(options.run.checkpoint) && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(5)); // into the next epoch
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child finished before it could be killed";
  const auto resumed = vfp::train::fit_and_score(options, toy.data);
  ASSERT_GE(resumed.resumed_from_epoch, 1);
  ASSERT_LT(resumed.resumed_from_epoch, options.train.max_epochs)
      << "killed too late to test resuming";
  options.run.checkpoint.clear();
  const auto whole = vfp::train::fit_and_score(options, toy.data);
  EXPECT_EQ(resumed.test_scores, whole.test_scores);
  EXPECT_EQ(resumed.best_epoch, whole.best_epoch);
  ASSERT_EQ(resumed.history.size(), whole.history.size());
  for (size_t k = 0; k < whole.history.size(); ++k) // every epoch's loss depends on the
    EXPECT_EQ(resumed.history[k].train_loss, whole.history[k].train_loss) << "epoch " << k + 1;
}

// After the last epoch the task only scores and records (tasks/train_eval.cpp removes the
// file then): no checkpoint is written there, the one before it stays, and a run killed at
// that point redoes the last epoch from it to the same result.
TEST(Resume, TheLastEpochWritesNoCheckpointAndARerunRedoesItToTheSameResult) {
  auto toy = make_toy(80, 16, 21);
  auto options = resumable_options();
  options.train.max_epochs = 4;
  options.run.checkpoint = scratch("last_epoch.pt").string();
  const auto whole = vfp::train::fit_and_score(options, toy.data);
  ASSERT_TRUE(fs::exists(options.run.checkpoint)) << "none after epochs 1-3";
  const auto written = fs::last_write_time(options.run.checkpoint);
  const auto rerun = vfp::train::fit_and_score(options, toy.data);
  EXPECT_EQ(rerun.resumed_from_epoch, 3); // epoch 4's would have left nothing to redo
  EXPECT_EQ(rerun.history.size(), whole.history.size());
  EXPECT_EQ(rerun.test_scores, whole.test_scores); // bit for bit
  EXPECT_EQ(fs::last_write_time(options.run.checkpoint), written)
      << "the rerun's last epoch wrote one";
}

TEST(Resume, TheCheckpointHoldsEveryCudaDevicesGeneratorState) {
  auto toy = make_toy(40, 16, 5);
  auto options = quick_options();
  options.train.max_epochs = 2; // the last epoch writes none: stop after the first
  options.run.checkpoint = scratch("generators.pt").string();
  EXPECT_THROW(vfp::train::fit_and_score(options, toy.data,
                                         [](const vfp::train::EpochLog&) { throw Interrupted{}; }),
               Interrupted);
  torch::serialize::InputArchive archive;
  archive.load_from(options.run.checkpoint);
  torch::Tensor devices;
  ASSERT_TRUE(archive.try_read("rng.cuda.devices", devices, /*is_buffer=*/true));
  const std::size_t visible =
      torch::cuda::is_available() ? static_cast<std::size_t>(torch::cuda::device_count()) : 0;
  ASSERT_EQ(devices.item<std::int64_t>(), std::int64_t(visible));
  for (std::size_t i = 0; i < visible; ++i) {
    torch::Tensor state;
    EXPECT_TRUE(archive.try_read("rng.cuda." + std::to_string(i), state, true)) << i;
  }
}

TEST(Resume, OnCudaADeterministicInterruptedRunEndsBitForBitAsTheUninterruptedOne) {
  if (!torch::cuda::is_available())
    GTEST_SKIP() << "no CUDA device visible: this checks the CUDA generators and "
                    "train.deterministic on a GPU machine";
  auto toy = make_toy(80, 16, 21);
  auto options = resumable_options(); // dropout: draws from the CUDA generator
  options.train.augment = false;
  options.run.device = "cuda";
  options.run.deterministic = true;
  const auto whole = vfp::train::fit_and_score(options, toy.data);
  const auto again = vfp::train::fit_and_score(options, toy.data);
  ASSERT_EQ(again.test_scores, whole.test_scores) << "deterministic mode is not deterministic";
  options.run.checkpoint = scratch("cuda_deterministic.pt").string();
  EXPECT_THROW(vfp::train::fit_and_score(options, toy.data,
                                         [](const vfp::train::EpochLog& e) {
                                           if (e.epoch == 3)
                                             throw Interrupted{};
                                         }),
               Interrupted);
  const auto resumed = vfp::train::fit_and_score(options, toy.data);
  EXPECT_EQ(resumed.resumed_from_epoch, 3);
  EXPECT_EQ(resumed.test_scores, whole.test_scores);
  ASSERT_EQ(resumed.history.size(), whole.history.size());
  for (size_t k = 0; k < whole.history.size(); ++k)
    EXPECT_EQ(resumed.history[k].train_loss, whole.history[k].train_loss) << "epoch " << k + 1;
  vfp::models::use_deterministic_algorithms(false);
}

TEST(Resume, ACheckpointOfAnotherModelIsAnErrorNamingTheFile) {
  auto toy = make_toy(40, 16, 5);
  auto options = quick_options();
  options.train.max_epochs = 2;
  options.run.checkpoint = scratch("other.pt").string();
  EXPECT_THROW(vfp::train::fit_and_score(options, toy.data,
                                         [](const vfp::train::EpochLog&) { throw Interrupted{}; }),
               Interrupted);
  options.model.width = 8; // another model
  try {
    vfp::train::fit_and_score(options, toy.data);
    FAIL() << "no TaskError";
  } catch (const vfp::TaskError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("the training checkpoint " + options.run.checkpoint +
                        " does not fit the model: stage1.0.weight"),
              std::string::npos)
        << what;
  }
}

TEST(Device, AutoTrainsOnCpuWithoutCudaAndAskingForCudaThereFailsTheTaskSayingWhy) {
  auto toy = make_toy(40, 16, 5);
  auto options = quick_options();
  options.train.max_epochs = 1;
  options.run.device = "auto";
  const auto out = vfp::train::fit_and_score(options, toy.data);
  if (torch::cuda::is_available()) { // a CUDA build on a GPU machine: the rank's device
    EXPECT_EQ(out.device.rfind("cuda:", 0), 0u) << out.device;
    return;
  }
  EXPECT_EQ(out.device, "cpu");
  options.run.device = "cuda";
  try {
    vfp::train::fit_and_score(options, toy.data);
    FAIL() << "no TaskError";
  } catch (const vfp::TaskError& e) {
    EXPECT_NE(std::string(e.what()).find("train.device is cuda but no CUDA device is visible"),
              std::string::npos)
        << e.what();
  }
}

TEST(Device, DeterministicModeSetsTorchsSwitchesAndLeavesCpuNumbersAsTheyAre) {
  auto toy = make_toy(40, 16, 5);
  auto options = quick_options();
  options.train.max_epochs = 2;
  const auto fast = vfp::train::fit_and_score(options, toy.data);
  EXPECT_FALSE(at::globalContext().deterministicAlgorithms());
  EXPECT_TRUE(at::globalContext().benchmarkCuDNN()) << "off: cuDNN autotunes";
  options.run.deterministic = true;
  const auto deterministic = vfp::train::fit_and_score(options, toy.data);
  EXPECT_TRUE(at::globalContext().deterministicAlgorithms());
  EXPECT_TRUE(at::globalContext().deterministicCuDNN());
  EXPECT_FALSE(at::globalContext().benchmarkCuDNN());
  EXPECT_STREQ(std::getenv("CUBLAS_WORKSPACE_CONFIG"), ":4096:8");
  EXPECT_EQ(deterministic.test_scores, fast.test_scores);
  vfp::models::use_deterministic_algorithms(false);
}

TEST(Device, OnCudaTheToyTaskIsLearnedUnderBfloat16AndAKilledRunResumes) {
  if (!torch::cuda::is_available())
    GTEST_SKIP() << "no CUDA device visible: this checks the CUDA path on a GPU machine";
  auto toy = make_toy(80, 16, 5);
  auto options = quick_options();
  options.train.augment = false;
  options.run.device = "cuda";
  options.run.amp = true;
  const auto out = vfp::train::fit_and_score(options, toy.data);
  EXPECT_EQ(out.device.rfind("cuda:", 0), 0u) << out.device;
  EXPECT_GT(out.best_val_auroc, 0.95);
  std::vector<int> subjects, labels;
  std::vector<double> scores;
  vfp::train::aggregate_by_subject(toy.data.patch_subject, toy.data.test, out.test_scores, "max",
                                   subjects, scores);
  for (int subject : subjects)
    labels.push_back(toy.data.subject_label[subject]);
  EXPECT_GT(vfp::metrics::auroc(scores, labels), 0.95);
  // A checkpoint written from the GPU is read back onto it (CUDA kernels are not bit-exact,
  // so only the resume itself is pinned here).
  options.run.checkpoint = scratch("cuda.pt").string();
  EXPECT_THROW(vfp::train::fit_and_score(options, toy.data,
                                         [](const vfp::train::EpochLog& e) {
                                           if (e.epoch == 2)
                                             throw Interrupted{};
                                         }),
               Interrupted);
  const auto resumed = vfp::train::fit_and_score(options, toy.data);
  EXPECT_EQ(resumed.resumed_from_epoch, 2);
  EXPECT_EQ(resumed.history.size(), out.history.size());
  EXPECT_GT(resumed.best_val_auroc, 0.95);
}
