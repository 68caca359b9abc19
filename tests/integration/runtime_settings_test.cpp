// End to end: runtime settings (train.threads, train.loader_threads, train.save_model,
// train.device, preprocess.compression) changed on a finished sweep rerun nothing, and results
// that vfp 0.1 filed under ids that hashed them are resumed under those ids.
//
// The ids of the sweep below (configuration, its two fold tasks with their seeds, its cox job)
// are what vfp 0.1 printed with `vfp sweep legacy.yaml --json` (build of 2 Dec 2026), once as
// written (train.threads at its default) and once with train.threads: 2. Cohort paths count
// relative to the sweep file, so they are the same on every machine.
#include "shell.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace fs = std::filesystem;

namespace {

using namespace vfp::integration;

/// The sweep: one configuration, 2 folds, 1 epoch; `train_extra` appended to its train:.
std::string sweep_text(const std::string& train_extra, const std::string& preprocess_extra = "") {
  return "name: legacy\ncohort: {dir: cohort}\npreprocess: {patch_mm: 31, slab_mm: 15, "
         "spacing_mm: 1.5" +
         preprocess_extra +
         "}\ncv: {folds: 2, seed: 5}\nmodel: {width: 4}\ntrain: {max_epochs: 1, patience: 1, "
         "batch_size: 8, lr: 0.003" +
         train_extra + "}\ncox: {bootstrap: 0}\n";
}

/// Its ids: as vfp 0.1 gave them at the defaults (and this vfp whatever the runtime settings) …
const std::vector<std::pair<std::string, std::string>> kIds = {
    {"config", "b745e6e664907e6f"},    {"fold0", "c6030bc30378e525"},
    {"fold1", "3342191bd6ec727f"},     {"cox", "f9c8d9a155b25aa1"},
    {"seed0", "12365035457203832391"}, {"seed1", "16749164559987502458"}};
/// … and as vfp 0.1 gave them with train.threads: 2.
const std::vector<std::pair<std::string, std::string>> kThreads2Ids = {
    {"config", "185005c302c2ae8d"},   {"fold0", "7680c01e8d7d447a"},
    {"fold1", "00ef247f2fc9528b"},    {"cox", "fa26cb7d48f316d0"},
    {"seed0", "5987357240158921795"}, {"seed1", "12549988950130011140"}};

std::string trimmed_output(const Output& out) {
  auto text = out.text;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.pop_back();
  return text;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

/// Makes `sweep_dir` what vfp 0.1 would have written with train.threads: 2: every id (and
/// seed) in file contents and in file names swapped for the 0.1 one.
void file_under_threads2_ids(const fs::path& sweep_dir) {
  std::vector<fs::path> paths;
  for (const auto& e : fs::recursive_directory_iterator(sweep_dir))
    paths.push_back(e.path());
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) { // deepest first
    if (fs::is_regular_file(*it)) {
      auto text = read(*it);
      for (std::size_t i = 0; i < kIds.size(); ++i)
        text = replace_all(text, kIds[i].second, kThreads2Ids[i].second);
      std::ofstream(*it, std::ios::trunc) << text;
    }
    auto name = it->filename().string();
    for (std::size_t i = 0; i < kIds.size(); ++i)
      name = replace_all(name, kIds[i].second, kThreads2Ids[i].second);
    if (name != it->filename().string())
      fs::rename(*it, it->parent_path() / name);
  }
}

/// Runs `vfp run legacy.yaml` in `dir` (alone, or under `launcher`) with the sweep `text`.
Output run_sweep(const fs::path& dir, const std::string& text,
                 const std::string& launcher = VFP_BIN) {
  std::ofstream(dir / "legacy.yaml") << text;
  return run("cd " + dir.string() + " && " + launcher + " run legacy.yaml");
}

} // namespace

// One test, so that ctest synthesizes the cohort (most of its time) once: first runtime
// settings changed on a finished sweep, then the same results filed as vfp 0.1 filed them.
TEST(RuntimeSettings, ChangedOnAFinishedSweepRunNothingAndOldIdsResumeUnderThemselves) {
  // A smaller cohort than folder_with_synth_cohort's (synthesis is most of the time).
  const auto dir =
      fs::temp_directory_path() / ("vfp_runtime_settings_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const auto synth = run(std::string(VFP_BIN) + " synth --subjects 16 --event-rate 0.5 --seed 3 " +
                         "--vertebrae L1-L2 --out " + (dir / "cohort").string());
  ASSERT_EQ(synth.code, 0) << synth.text;
  const auto sweep_dir = dir / "results" / "legacy";
  auto first = run_sweep(dir, sweep_text(", threads: 2"));
  ASSERT_EQ(first.code, 0) << first.text;
  const auto rows = rows_of(sweep_dir / "results.jsonl", "train_eval");
  ASSERT_EQ(rows.size(), 2u) << first.text;
  EXPECT_EQ(rows[0]["config_id"], kIds[0].second) << "train.threads: 2 is not in the id";
  const auto results = read(sweep_dir / "results.jsonl");
  const auto table = read(sweep_dir / "report" / "table.md");
  // config.json records the settings the task ran with.
  const auto config = nlohmann::json::parse(
      read(sweep_dir / "tasks" / rows[0]["task_id"].get<std::string>() / "config.json"));
  EXPECT_EQ(config["config"]["train"]["threads"], 2);

  auto again = run_sweep(dir, sweep_text(", threads: 1, loader_threads: 0, save_model: true, "
                                         "device: cpu, deterministic: true",
                                         ", compression: 1, content_hash: true"));
  ASSERT_EQ(again.code, 0) << again.text;
  EXPECT_NE(again.text.find("0 tasks run, 2 skipped"), std::string::npos) << again.text;
  EXPECT_EQ(read(sweep_dir / "results.jsonl"), results) << "no row added or changed";
  EXPECT_EQ(read(sweep_dir / "report" / "table.md"), table);
  for (const auto& r : rows) // save_model on a finished sweep trains nothing to save
    EXPECT_FALSE(
        fs::exists(sweep_dir / "tasks" / r["task_id"].get<std::string>() / "model.safetensors"));

  // vfp 0.1 ran it with train.threads: 2, so filed it under other ids.
  file_under_threads2_ids(sweep_dir);
  // 0.1 was stopped after fold 0: fold 1 and the pooled cox job are left to do.
  const auto fold1 = kThreads2Ids[2].second;
  std::string kept;
  for (const auto& r : rows_of(sweep_dir / "results.jsonl"))
    if (r["task_id"] != fold1 && r["kind"] != "cox")
      kept += r.dump() + "\n";
  std::ofstream(sweep_dir / "results.jsonl", std::ios::trunc) << kept;
  fs::remove_all(sweep_dir / "tasks" / fold1);
  const auto fold0_log = read(sweep_dir / "tasks" / kThreads2Ids[1].second / "log.txt");

  // Resumed with other runtime settings still (the recorded threads: 2 gives the 0.1 id), on
  // two ranks: the worker must run fold 1 under the 0.1 task id, with its seed.
  auto resumed = run_sweep(dir, sweep_text(", threads: 1, save_model: true"), mpirun(2));
  ASSERT_EQ(resumed.code, 0) << resumed.text;
  EXPECT_NE(resumed.text.find("configuration " + kIds[0].second + " keeps the id " +
                              kThreads2Ids[0].second),
            std::string::npos)
      << resumed.text;
  EXPECT_NE(resumed.text.find(" tasks run, 1 skipped"), std::string::npos) << resumed.text;
  // Every rank logs where it runs: host, CPUs, the CUDA devices it sees.
  const auto host = trimmed_output(run("hostname"));
  for (const std::string rank : {"rank 0 of 2 on ", "rank 1 of 2 on "})
    EXPECT_NE(resumed.text.find(rank + host + " (local rank "), std::string::npos) << rank << "\n"
                                                                                   << resumed.text;
  EXPECT_NE(resumed.text.find("): CPUs "), std::string::npos) << resumed.text;
  const auto now = rows_of(sweep_dir / "results.jsonl", "train_eval");
  ASSERT_EQ(now.size(), 2u) << resumed.text;
  EXPECT_EQ(now[1]["task_id"], fold1);
  EXPECT_EQ(now[1]["config_id"], kThreads2Ids[0].second);
  EXPECT_EQ(now[1]["seed"].dump(), kThreads2Ids[5].second) << "0.1's seed of that task";
  EXPECT_EQ(now[1]["rank"], 1);
  const auto cox = rows_of(sweep_dir / "results.jsonl", "cox");
  ASSERT_EQ(cox.size(), 1u) << resumed.text;
  EXPECT_EQ(cox[0]["task_id"], kThreads2Ids[3].second);
  EXPECT_EQ(cox[0]["subjects"], 16) << "both folds pooled";
  // Nothing on file was renamed or rewritten: a run stopped here loses nothing.
  EXPECT_EQ(read(sweep_dir / "tasks" / kThreads2Ids[1].second / "log.txt"), fold0_log);
  EXPECT_FALSE(fs::exists(sweep_dir / "tasks" / kIds[1].second));
  EXPECT_EQ(nlohmann::json::parse(read(sweep_dir / "configurations.json"))["configurations"],
            nlohmann::json::array({kThreads2Ids[0].second}));

  // The dry run lists the sweep as `vfp run` resumes it: under the 0.1 ids, all done.
  const auto listed =
      run("{ cd " + dir.string() + " && " + VFP_BIN + " sweep legacy.yaml --json 2>/dev/null; }");
  ASSERT_EQ(listed.code, 0) << listed.text;
  const auto json = nlohmann::json::parse(listed.text);
  EXPECT_EQ(json["configurations"][0]["id"], kThreads2Ids[0].second);
  EXPECT_EQ(json["done"], 2);
  auto last = run_sweep(dir, sweep_text(", threads: 4"));
  EXPECT_NE(last.text.find("0 tasks run, 2 skipped"), std::string::npos) << last.text;

  // A worker of a Slurm GPU job (VFP_GPU_JOB=1, as slurm/vfp.sbatch sets it) that sees no GPU
  // stops the job saying so, rather than training on CPU.
  if (resumed.text.find("no CUDA device") != std::string::npos) {
    std::ofstream(dir / "gpujob.yaml")
        << replace_all(sweep_text(""), "name: legacy", "name: gpujob");
    const auto gpu_job =
        run("cd " + dir.string() + " && VFP_GPU_JOB=1 " + mpirun(2) + " run gpujob.yaml");
    EXPECT_NE(gpu_job.code, 0) << gpu_job.text;
    EXPECT_NE(gpu_job.text.find("rank 1 on " + host +
                                " is a worker of a GPU job but sees no CUDA "
                                "device (CUDA_VISIBLE_DEVICES"),
              std::string::npos)
        << gpu_job.text;
    EXPECT_TRUE(rows_of(dir / "results" / "gpujob" / "results.jsonl", "train_eval").empty())
        << "nothing trained on CPU";
  }
  fs::remove_all(dir);
}
