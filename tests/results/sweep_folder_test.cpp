// results::SweepFolder names every file of results/<sweep>/, keeps hostile ids and planted
// links from leading reads or writes elsewhere; the out-of-fold prediction files round-trip
// through their one writer and reader.
#include "results/results.h"

#include "core/core.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>

namespace fs = std::filesystem;
using namespace vfp::results;

namespace {

fs::path fresh_folder(const std::string& name) {
  const auto dir =
      fs::temp_directory_path() / ("vfp_sweep_folder_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

std::string input_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const vfp::InputError& e) {
    return e.what();
  } catch (const vfp::IoError& e) {
    return std::string("IoError: ") + e.what();
  }
  return "no error";
}

} // namespace

TEST(SweepFolder, NamesTheFilesOfTheLayoutThatOlderRunsWrote) {
  // These names are on disk in every sweep run so far: changing one orphans old results.
  const SweepFolder sweep(fs::path("/r/demo"));
  EXPECT_EQ(sweep.results(), "/r/demo/results.jsonl");
  EXPECT_EQ(sweep.run_lock(), "/r/demo/run.lock");
  EXPECT_EQ(sweep.status(), "/r/demo/status.json");
  EXPECT_EQ(sweep.current_configurations(), "/r/demo/configurations.json");
  EXPECT_EQ(sweep.slurm_jobs(), "/r/demo/slurm/jobs.jsonl");
  EXPECT_EQ(sweep.name(), "demo");
  EXPECT_EQ(SweepFolder(fs::path("/r/demo/")).name(), "demo");
  const auto t = sweep.task("t1");
  EXPECT_EQ(t.predictions, "/r/demo/tasks/t1/oof.csv");
  EXPECT_EQ(t.model, "/r/demo/tasks/t1/model.safetensors");
  EXPECT_EQ(t.config, "/r/demo/tasks/t1/config.json");
  EXPECT_EQ(t.checkpoint, "/r/demo/tasks/t1/checkpoint.pt");
  EXPECT_EQ(sweep.pretrain("p").weights, "/r/demo/pretrain/p/byol.safetensors");
  EXPECT_EQ(sweep.configuration("c").analysis, "/r/demo/configurations/c/cox.json");
  EXPECT_EQ(sweep.selection("g").analysis, "/r/demo/selections/g/selection.json");
  EXPECT_EQ(sweep.selection("g").predictions, "/r/demo/selections/g/oof.csv");
  EXPECT_FALSE(fs::exists("/r/demo")) << "asking for a path made nothing";
}

TEST(SweepFolder, AnIdThatIsNotOnePathComponentIsRefusedByName) {
  const SweepFolder sweep(fresh_folder("ids"));
  for (const std::string id : {"../x", "a/b", "..", ".", ""}) {
    const auto message = input_error_of([&] { sweep.configuration(id); });
    EXPECT_NE(message.find("configuration"), std::string::npos) << id << ": " << message;
    EXPECT_NE(input_error_of([&] { sweep.task(id, true); }), "no error") << id;
  }
  EXPECT_FALSE(fs::exists(sweep.root() / "x"));
}

TEST(SweepFolder, APlantedLinkInATaskFolderIsRefusedBeforeAnythingIsWritten) {
  const auto root = fresh_folder("link");
  const SweepFolder sweep(root);
  const auto files = sweep.task("t1", true);
  ASSERT_TRUE(fs::is_directory(files.folder));
  fs::create_symlink("/etc/passwd", files.predictions);
  const auto message = input_error_of([&] { sweep.task("t1", true); });
  EXPECT_NE(message.find("IoError"), std::string::npos) << message;
  EXPECT_NE(message.find("oof.csv"), std::string::npos) << message;
  fs::remove(files.predictions);
  fs::create_directories(root / "elsewhere");
  fs::create_symlink(root / "elsewhere", root / "tasks" / "t2");
  EXPECT_NE(input_error_of([&] { sweep.task_folders(); }).find("IoError"), std::string::npos);
  fs::remove_all(root);
}

TEST(SweepFolder, TaskFoldersListsTheTasksOnDiskInNameOrder) {
  const auto root = fresh_folder("list");
  const SweepFolder sweep(root);
  sweep.task("b", true);
  sweep.task("a", true);
  vfp::write_file_atomically(root / "tasks" / "not-a-folder", "x");
  const auto found = sweep.task_folders();
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].folder.filename(), "a");
  EXPECT_EQ(found[1].folder.filename(), "b");
  EXPECT_TRUE(SweepFolder(root / "none").task_folders().empty());
  fs::remove_all(root);
}

TEST(OutOfFoldFiles, TaskPredictionsRoundTripThroughTheirWriterAndReader) {
  const auto root = fresh_folder("round_trip");
  const SweepFolder sweep(root);
  const std::vector<Prediction> written{{"S1,\"q\"", 1, 3, 0.25, 1, 71.5, 22.25, 0.0},
                                        {"S2", 1, 3, 0.875, 0, 64, 30.5, 7.5}};
  vfp::write_file_atomically(sweep.task("t", true).predictions, predictions_csv(written));
  const auto read = read_predictions(sweep.task("t").predictions);
  ASSERT_EQ(read.size(), written.size());
  for (std::size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(read[i].subject_id, written[i].subject_id);
    EXPECT_EQ(read[i].repeat, written[i].repeat);
    EXPECT_EQ(read[i].fold, written[i].fold);
    EXPECT_EQ(read[i].score, written[i].score);
    EXPECT_EQ(read[i].event, written[i].event);
    EXPECT_EQ(read[i].age, written[i].age);
    EXPECT_EQ(read[i].bmi, written[i].bmi);
    EXPECT_EQ(read[i].time_years, written[i].time_years);
  }
  fs::remove_all(root);
}

TEST(OutOfFoldFiles, PoolingAveragesRepeatsAndKeepsTheFoldOfRepeatZero) {
  const auto root = fresh_folder("pool");
  const SweepFolder sweep(root);
  vfp::write_file_atomically(
      sweep.task("r0", true).predictions,
      predictions_csv({{"A", 0, 2, 0.2, 1, 60, 20, 1.5}, {"B", 0, 1, 0.6, 0, 70, 25, 4}}));
  vfp::write_file_atomically(
      sweep.task("r1", true).predictions,
      predictions_csv({{"B", 1, 0, 0.8, 0, 70, 25, 4}, {"A", 1, 4, 0.4, 1, 60, 20, 1.5}}));
  const auto pooled = pool_predictions(sweep, {"r0", "r1"});
  ASSERT_EQ(pooled.size(), 2u);
  EXPECT_EQ(pooled[0].id, "A"); // subject order
  EXPECT_DOUBLE_EQ(pooled[0].score, 0.3);
  EXPECT_EQ(pooled[0].repeats, 2);
  EXPECT_EQ(pooled[0].fold, 2);
  EXPECT_DOUBLE_EQ(pooled[1].score, 0.7);
  EXPECT_EQ(pooled[1].fold, 1);

  const auto file = sweep.configuration("c", true).predictions;
  vfp::write_file_atomically(file, pooled_csv(pooled));
  const auto back = read_pooled(file);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].id, "B");
  EXPECT_DOUBLE_EQ(back[1].score, 0.7);
  EXPECT_EQ(back[1].fold, 1);
  EXPECT_EQ(back[1].event, 0);
  EXPECT_EQ(back[1].time, 4.0);
  EXPECT_EQ(back[0].age, 60.0);
  fs::remove_all(root);
}

TEST(OutOfFoldFiles, APooledFileWithoutSurvivalColumnsReadsWithTimeUnknown) {
  const auto root = fresh_folder("old_pooled");
  fs::create_directories(root);
  vfp::write_file_atomically(root / "oof.csv", "subject_id,fold,score,event\nA,0,0.5,1\n");
  const auto read = read_pooled(root / "oof.csv");
  ASSERT_EQ(read.size(), 1u);
  EXPECT_TRUE(std::isnan(read[0].time));
  EXPECT_EQ(read[0].event, 1);
  fs::remove_all(root);
}

TEST(OutOfFoldFiles, ABadPooledRowNamesFileLineAndSubject) {
  const auto root = fresh_folder("bad_pooled");
  fs::create_directories(root);
  const auto file = root / "oof.csv";
  vfp::write_file_atomically(
      file,
      "subject_id,fold,score,event,time_years,age,bmi\nA,0,0.5,1,2,60,20\nB,0,0.5,2,2,60,20\n");
  EXPECT_EQ(input_error_of([&] { read_pooled(file); }),
            file.string() + ":3: subject B: event 2 is not 0 or 1");
  vfp::write_file_atomically(file,
                             "subject_id,fold,score,event,time_years,age,bmi\n,0,0.5,1,2,60,20\n");
  EXPECT_EQ(input_error_of([&] { read_pooled(file); }),
            file.string() + ":2: subject : empty subject_id");
  fs::remove_all(root);
}
