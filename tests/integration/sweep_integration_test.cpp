// End to end: `vfp synth` writes a tiny cohort, `mpirun -np 2 vfp run` runs a tiny sweep,
// and the table, the results rows and the error paths are checked.
#include "shell.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <sys/file.h>

namespace fs = std::filesystem;

namespace {

using namespace vfp::integration;

/// One tiny cohort and sweep shared by the tests (synth is the slow part).
class TinySweep : public ::testing::Test {
protected:
  static fs::path dir;
  static void SetUpTestSuite() {
    std::string error;
    dir = folder_with_synth_cohort("integration", error);
    ASSERT_FALSE(dir.empty()) << error;
    std::ofstream(dir / "tiny.yaml")
        << tiny_sweep_text("tiny", "max_epochs: 2, patience: 2, batch_size: 8, lr: 0.003",
                           "sweep:\n  grid:\n    train.lr: [3.0e-3, 1.0e-3]\n");
  }
  static std::string in_dir() { return "cd " + dir.string() + " && "; }
};
fs::path TinySweep::dir;

} // namespace

TEST_F(TinySweep, TwoRanksRunEveryTaskAndPrintTheTable) {
  auto out = run(in_dir() + mpirun(2) + " run tiny.yaml");
  ASSERT_EQ(out.code, 0) << out.text;
  const auto rows = rows_of(dir / "results" / "tiny" / "results.jsonl", "train_eval");
  ASSERT_EQ(rows.size(), 4u) << out.text; // 2 configurations × 2 folds
  std::set<std::string> tasks;
  for (const auto& r : rows) {
    EXPECT_EQ(r["status"], "ok");
    EXPECT_EQ(r["rank"], 1); // rank 0 coordinates, rank 1 works
    EXPECT_GE(r["auroc"].get<double>(), 0.0);
    EXPECT_LE(r["auroc"].get<double>(), 1.0);
    EXPECT_EQ(r["n_test"], 20);
    tasks.insert(r["task_id"].get<std::string>());
    EXPECT_TRUE(fs::exists(dir / "results" / "tiny" / "tasks" / r["task_id"].get<std::string>() /
                           "oof.csv"));
  }
  EXPECT_EQ(tasks.size(), 4u);
  // Every row names the build that made it, where and when (docs/reports.md, provenance).
  auto version = run(std::string(VFP_BIN) + " --version").text;
  version = version.substr(4, version.find('\n') - 4); // past "vfp "
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::regex utc(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
  for (const auto& r : rows_of(dir / "results" / "tiny" / "results.jsonl")) {
    ASSERT_TRUE(r.contains("provenance")) << r.dump();
    const auto& p = r["provenance"];
    EXPECT_EQ(p["version"], version) << p.dump();
    EXPECT_EQ(p["host"], host) << p.dump();
    EXPECT_EQ(p["world_size"], 2) << p.dump();
    EXPECT_FALSE(p.value("libtorch", "").empty()) << p.dump();
    EXPECT_TRUE(std::regex_match(p.value("started", ""), utc)) << p.dump();
    EXPECT_TRUE(std::regex_match(p.value("ended", ""), utc)) << p.dump();
    EXPECT_LE(p["started"].get<std::string>(), p["ended"].get<std::string>()) << p.dump();
    if (r["kind"] == "train_eval") {
      EXPECT_EQ(p["device"], "cpu") << p.dump(); // and no CUDA fields on a CPU
    }
    EXPECT_FALSE(p.contains("cuda") || p.contains("device_name")) << p.dump();
  }
  // The table: header, separator, one row per learning rate, each with 2/2 folds.
  const auto table = read(dir / "results" / "tiny" / "report" / "table.md");
  EXPECT_NE(table.find("| train.lr | AUROC (%) | AUPRC (AP, %) | folds |"), std::string::npos);
  EXPECT_NE(table.find("| 3.0e-3 |"), std::string::npos) << table;
  EXPECT_NE(table.find("| 1.0e-3 |"), std::string::npos) << table;
  int full_rows = 0;
  for (size_t p = table.find("| 2/2 |"); p != std::string::npos; p = table.find("| 2/2 |", p + 1))
    ++full_rows;
  EXPECT_EQ(full_rows, 2) << table;
  EXPECT_NE(out.text.find("| 3.0e-3 |"), std::string::npos) << "table printed on stdout";
  EXPECT_NE(out.text.find("[rank 1]"), std::string::npos) << "log lines carry the rank";
  // Once a configuration's folds are done, its cox job pools the out-of-fold predictions: one
  // row per configuration, every subject once, with the survival comparison.
  const auto cox = rows_of(dir / "results" / "tiny" / "results.jsonl", "cox");
  ASSERT_EQ(cox.size(), 2u) << out.text;
  for (const auto& r : cox) {
    EXPECT_EQ(r["status"], "ok") << r.dump();
    EXPECT_EQ(r["subjects"], 40) << r.dump();
    const auto pooled = r["pooled"];
    EXPECT_LE(pooled["auroc_delong_lower"].get<double>(), pooled["auroc"].get<double>());
    EXPECT_GE(pooled["auroc_delong_upper"].get<double>(), pooled["auroc"].get<double>());
    ASSERT_TRUE(r["survival"].is_object()) << r.dump();
    EXPECT_EQ(r["survival"]["events"], 12) << r.dump(); // 30 % of 40
    EXPECT_GT(r["survival"]["c_baseline"].get<double>(), 0.5) << "age carries the planted risk";
    const auto folder =
        dir / "results" / "tiny" / "configurations" / r["config_id"].get<std::string>();
    EXPECT_EQ(nlohmann::json::parse(read(folder / "cox.json"))["task_id"], r["task_id"]);
    const auto oof = read(folder / "oof.csv");
    EXPECT_EQ(std::count(oof.begin(), oof.end(), '\n'), 41); // header + 40 subjects
  }
  // status.json ends with every job done and no rank busy.
  const auto status = nlohmann::json::parse(read(dir / "results" / "tiny" / "status.json"));
  EXPECT_EQ(status["done"], status["total"]) << status.dump();
  EXPECT_EQ(status["failed"], 0);
  EXPECT_TRUE(status["workers"].empty()) << status.dump();

  // Run again: everything is done, nothing is repeated.
  auto again = run(in_dir() + mpirun(2) + " run tiny.yaml");
  ASSERT_EQ(again.code, 0) << again.text;
  EXPECT_NE(again.text.find("0 tasks run, 4 skipped"), std::string::npos) << again.text;
  EXPECT_EQ(rows_of(dir / "results" / "tiny" / "results.jsonl").size(), 4u + 2u);

  // `vfp report` reprints the same table on stdout (where the report page went: stderr).
  auto report = run("{ " + std::string(VFP_BIN) + " report " + (dir / "results" / "tiny").string() +
                    " 2>/dev/null; }");
  ASSERT_EQ(report.code, 0) << report.text;
  EXPECT_EQ(report.text, table);
  // The cox rows give the survival columns; LaTeX for the paper, compared with a baseline.
  EXPECT_NE(table.find("| C-index, apparent (score+age+BMI / age+BMI) | C-index, "
                       "optimism-corrected | HR per SD, adjusted for age, BMI (95 % CI) | Brier | "
                       "calibration intercept / slope |"),
            std::string::npos)
      << table;
  auto latex = run(std::string(VFP_BIN) + " report " + (dir / "results" / "tiny").string() +
                   " --format latex --baseline 1 --sort auroc");
  ASSERT_EQ(latex.code, 0) << latex.text;
  EXPECT_NE(latex.text.find("\\toprule"), std::string::npos) << latex.text;
  EXPECT_NE(latex.text.find("& baseline \\\\"), std::string::npos) << latex.text;
  EXPECT_NE(read(dir / "results" / "tiny" / "report" / "table.tex").find("\\midrule"),
            std::string::npos);
  auto bad = run(std::string(VFP_BIN) + " report " + (dir / "results" / "tiny").string() +
                 " --baseline 9");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.text.find("--baseline 9: the table has 2 rows (0 to 1)"), std::string::npos)
      << bad.text;

  // The sweep file is edited down to one learning rate: its task is done, and the table
  // shows the sweep as it is now; the other configuration's rows stay on file (--all).
  auto narrowed = read(dir / "tiny.yaml");
  narrowed.replace(narrowed.find("[3.0e-3, 1.0e-3]"), 16, "[3.0e-3]");
  std::ofstream(dir / "tiny_narrowed.yaml") << narrowed;
  auto rerun = run(in_dir() + mpirun(2) + " run tiny_narrowed.yaml");
  ASSERT_EQ(rerun.code, 0) << rerun.text;
  EXPECT_NE(rerun.text.find("0 tasks run, 2 skipped"), std::string::npos) << rerun.text;
  EXPECT_NE(rerun.text.find("leaves out 2 rows"), std::string::npos) << rerun.text;
  const auto now = run(std::string(VFP_BIN) + " report " + (dir / "results" / "tiny").string());
  EXPECT_NE(now.text.find("| 3.0e-3 |"), std::string::npos) << now.text;
  EXPECT_EQ(now.text.find("| 1.0e-3 |"), std::string::npos) << now.text;
  EXPECT_NE(now.text.find("leaving out 2 rows"), std::string::npos) << now.text;
  const auto all = run("{ " + std::string(VFP_BIN) + " report --all " +
                       (dir / "results" / "tiny").string() + " 2>/dev/null; }");
  EXPECT_EQ(all.text, table);
  EXPECT_EQ(rows_of(dir / "results" / "tiny" / "results.jsonl").size(), 4u + 2u);

  // A copy whose first row claims another code version: --require-same-version refuses before
  // anything is written; without it the resume warns and the table's footnote names both.
  const auto other = dir / "other_version" / "tiny";
  fs::create_directories(other);
  auto lines = rows_of(dir / "results" / "tiny" / "results.jsonl");
  lines[0]["provenance"]["version"] = "0.0.9 (git 1234567)";
  std::string jsonl;
  for (const auto& r : lines)
    jsonl += r.dump() + "\n";
  std::ofstream(other / "results.jsonl") << jsonl;
  const auto resume = in_dir() + VFP_BIN +
                      " run tiny.yaml --results-root other_version --cache results/cache";
  auto refused = run(resume + " --require-same-version");
  EXPECT_NE(refused.code, 0) << refused.text;
  EXPECT_NE(refused.text.find("another code version than this vfp, " + version +
                              ": 0.0.9 (git 1234567) (1 row)"),
            std::string::npos)
      << refused.text;
  EXPECT_NE(refused.text.find("--require-same-version refuses"), std::string::npos);
  EXPECT_EQ(std::distance(fs::directory_iterator(other), fs::directory_iterator()), 1)
      << "nothing but results.jsonl";
  EXPECT_EQ(read(other / "results.jsonl"), jsonl);
  auto warned = run(resume);
  ASSERT_EQ(warned.code, 0) << warned.text;
  EXPECT_NE(warned.text.find("0 tasks run, 4 skipped"), std::string::npos) << warned.text;
  EXPECT_NE(warned.text.find("another code version"), std::string::npos) << warned.text;
  EXPECT_NE(read(other / "report" / "table.md")
                .find("Rows from 2 code versions: 0.0.9 (git 1234567) (1 row), " + version +
                      " (5 rows)."),
            std::string::npos)
      << read(other / "report" / "table.md");
}

TEST_F(TinySweep, OneTwoAndThreeRanksGiveTheSameNumbers) {
  // Task seeds come from task ids, not ranks: the rank count changes who runs what, not what
  // comes out (training, and the cox job's bootstrap). A task's numbers also depend on its
  // thread count (float sums split differently), which follows the ranks per node unless set:
  // fixed here, so that every number must match to the bit.
  auto yaml = read(dir / "tiny.yaml");
  yaml.replace(yaml.find("lr: 0.003}"), 10, "lr: 0.003, threads: 1}");
  std::ofstream(dir / "tiny_one_thread.yaml") << yaml;
  auto one = run(in_dir() + VFP_BIN + " run tiny_one_thread.yaml --results-root r1");
  ASSERT_EQ(one.code, 0) << one.text;
  auto by_task = [](const fs::path& f) {
    std::map<std::string, std::string> m;
    for (const auto& r : rows_of(f)) {
      auto numbers = r;
      for (const char* varying : {"rank", "finished", "seconds", "train_seconds", "threads",
                                  "data_wait_share", "overhead_share", "provenance"})
        numbers.erase(varying);
      m[r["task_id"]] = numbers.dump();
    }
    return m;
  };
  const auto alone = by_task(dir / "r1" / "tiny" / "results.jsonl");
  EXPECT_EQ(alone.size(), 4u + 2u); // train_eval and cox rows
  for (int ranks : {2, 3}) {
    const auto root = "r" + std::to_string(ranks) + "x";
    auto out = run(in_dir() + mpirun(ranks) + " run tiny_one_thread.yaml --results-root " + root);
    ASSERT_EQ(out.code, 0) << out.text;
    EXPECT_EQ(by_task(dir / root / "tiny" / "results.jsonl"), alone) << ranks << " ranks";
  }
}

/// The patches of the one cache file under `cache`, as h5dump prints them.
std::string dump_patches(const fs::path& cache) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(cache))
    files.push_back(e.path());
  if (files.size() != 1)
    return "expected one cache file in " + cache.string() + ", found " +
           std::to_string(files.size());
  const auto text = run("h5dump -d patches -d subject_id -d vertebra " + files[0].string()).text;
  return text.substr(text.find('\n') + 1); // past the line naming the file
}

TEST_F(TinySweep, ThreeRanksSplitPreprocessingIntoTheSameCacheAsOneProcess) {
  auto three = run(in_dir() + mpirun(3) + " run tiny.yaml --results-root r3");
  ASSERT_EQ(three.code, 0) << three.text;
  EXPECT_EQ(rows_of(dir / "r3" / "tiny" / "results.jsonl", "train_eval").size(), 4u);
  // Both workers preprocessed a block of the subjects; the blocks were merged in order.
  EXPECT_NE(three.text.find("starts preprocess_shard preprocess-"), std::string::npos)
      << three.text;
  EXPECT_NE(three.text.find("merged 2 shards"), std::string::npos) << three.text;
  std::set<int> shard_ranks;
  for (size_t p = three.text.find("starts preprocess_shard"); p != std::string::npos;
       p = three.text.find("starts preprocess_shard", p + 1))
    shard_ranks.insert(three.text[three.text.rfind("rank ", p) + 5] - '0');
  EXPECT_EQ(shard_ranks, (std::set<int>{1, 2})) << three.text;

  auto one = run(in_dir() + VFP_BIN + " preprocess tiny.yaml --results-root r1p");
  ASSERT_EQ(one.code, 0) << one.text;
  const auto merged = dump_patches(dir / "r3" / "cache");
  ASSERT_NE(merged.find("DATASET \"patches\""), std::string::npos) << merged;
  EXPECT_EQ(merged, dump_patches(dir / "r1p" / "cache"));
}

TEST_F(TinySweep, ConcurrentPreprocessBuildsOneValidCacheOnce) {
  // Four processes race for the same cache key: one builds, the others wait and reuse it.
  std::string both = in_dir() + "(";
  for (int i = 0; i < 4; ++i)
    both += std::string(VFP_BIN) + " preprocess tiny.yaml --results-root race --threads 1 > race" +
            std::to_string(i) + ".log 2>&1 & ";
  both += "wait)";
  ASSERT_EQ(run(both).code, 0);
  int builds = 0;
  for (int i = 0; i < 4; ++i) {
    const auto log = read(dir / ("race" + std::to_string(i) + ".log"));
    EXPECT_NE(log.find("80 patches"), std::string::npos) << log;
    builds += log.find("preprocessing 40 subjects") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(builds, 1);
  std::vector<fs::path> left;
  for (const auto& e : fs::directory_iterator(dir / "race" / "cache"))
    left.push_back(e.path().filename());
  ASSERT_EQ(left.size(), 1u) << "no temporary or lock file is left behind";
  auto verify =
      run(std::string(VFP_BIN) + " cache verify --cache " + (dir / "race" / "cache").string());
  EXPECT_EQ(verify.code, 0) << verify.text;
  EXPECT_NE(verify.text.find("ok "), std::string::npos) << verify.text;
}

TEST_F(TinySweep, CacheLsVerifyAndGcFindCorruptAndStaleFiles) {
  // Two caches (two preprocessing variants) and a temporary left by a writer that is gone.
  std::ofstream(dir / "narrow.yaml") << "name: narrow\ncohort: {dir: cohort}\n"
                                        "preprocess: {patch_mm: 31, slab_mm: 7, spacing_mm: 1.5}\n";
  ASSERT_EQ(run(in_dir() + VFP_BIN + " preprocess tiny.yaml --results-root cc").code, 0);
  const auto cache = dir / "cc" / "cache";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(cache))
    files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  const auto tiny_file = files[0];
  ASSERT_EQ(run(in_dir() + VFP_BIN + " preprocess narrow.yaml --results-root cc").code, 0);
  fs::path narrow_file;
  for (const auto& e : fs::directory_iterator(cache))
    if (e.path() != tiny_file)
      narrow_file = e.path();
  ASSERT_FALSE(narrow_file.empty());
  const auto orphan = cache / (tiny_file.filename().string() + ".tmp.999999999");
  std::ofstream(orphan) << "half a cache";
  // The lock file of a builder that was killed (nobody holds it), and one a builder holds.
  const auto free_lock = cache / (narrow_file.filename().string() + ".lock");
  const auto held_lock = cache / "patches-0123456789abcdef.h5.lock";
  std::ofstream(free_lock).flush();
  const int holder = ::open(held_lock.c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_EQ(::flock(holder, LOCK_EX), 0);
  const std::string vfp_cache = std::string(VFP_BIN) + " cache --cache " + cache.string() + " ";

  auto ls = run(vfp_cache + "ls");
  ASSERT_EQ(ls.code, 0) << ls.text;
  EXPECT_NE(ls.text.find(tiny_file.filename().string()), std::string::npos) << ls.text;
  EXPECT_NE(ls.text.find(narrow_file.filename().string()), std::string::npos) << ls.text;
  EXPECT_NE(ls.text.find("80x1x"), std::string::npos) << ls.text; // 40 subjects × L1, L2

  // Provenance on the file: parameters, every source's fingerprint, version and time.
  const auto attributes = run("h5dump -A " + narrow_file.string()).text;
  for (const char* what : {"ATTRIBUTE \"provenance\"", "\"slab_mm\":7.0", "S0007.nii.gz",
                           "\"mtime\":", "\"size\":", "ATTRIBUTE \"vfp_version\"",
                           "ATTRIBUTE \"created\"", "DATASET \"origin\"", "DATASET \"spacing\""})
    EXPECT_NE(attributes.find(what), std::string::npos) << what << " in\n" << attributes;

  auto verify = run(vfp_cache + "verify");
  EXPECT_EQ(verify.code, 0) << verify.text;
  // One flipped byte inside the patch data (the chunks fill most of the file).
  {
    std::fstream f(tiny_file, std::ios::in | std::ios::out | std::ios::binary);
    const auto at = static_cast<std::streamoff>(fs::file_size(tiny_file) * 2 / 5);
    f.seekg(at);
    const char c = char(f.get());
    f.seekp(at);
    f.put(char(c ^ 0x5a));
  }
  verify = run(vfp_cache + "verify");
  EXPECT_EQ(verify.code, 1) << verify.text;
  EXPECT_NE(verify.text.find("CORRUPT  cache " + tiny_file.string()), std::string::npos)
      << verify.text;
  EXPECT_NE(verify.text.find("ok       " + narrow_file.string()), std::string::npos) << verify.text;

  // A dry run names all three and removes nothing.
  auto dry = run(vfp_cache + "gc --dry-run --keep " + (dir / "tiny.yaml").string());
  ASSERT_EQ(dry.code, 0) << dry.text;
  EXPECT_NE(dry.text.find("would remove " + tiny_file.string() + " (corrupt"), std::string::npos)
      << dry.text;
  EXPECT_NE(dry.text.find("would remove " + narrow_file.string() + " (not used"), std::string::npos)
      << dry.text;
  EXPECT_NE(dry.text.find("would remove " + orphan.string()), std::string::npos) << dry.text;
  EXPECT_NE(dry.text.find("would remove " + free_lock.string() + " (lock file that no process"),
            std::string::npos)
      << dry.text;
  EXPECT_EQ(dry.text.find(held_lock.string()), std::string::npos) << dry.text;
  EXPECT_TRUE(fs::exists(tiny_file) && fs::exists(narrow_file) && fs::exists(orphan) &&
              fs::exists(free_lock));

  // Keeping what narrow.yaml uses: the corrupt file and the temporary go, narrow's stays.
  auto gc = run(vfp_cache + "gc --keep " + (dir / "narrow.yaml").string());
  EXPECT_EQ(gc.code, 0) << gc.text;
  EXPECT_NE(gc.text.find("freed"), std::string::npos) << gc.text;
  EXPECT_FALSE(fs::exists(tiny_file));
  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_FALSE(fs::exists(free_lock));
  EXPECT_TRUE(fs::exists(held_lock)) << "a held lock was removed:\n" << gc.text;
  EXPECT_TRUE(fs::exists(narrow_file));
  EXPECT_EQ(run(vfp_cache + "verify").code, 0);
  ::close(holder);
}

TEST_F(TinySweep, MissingConfigFileIsAnError) {
  auto out = run(in_dir() + mpirun(2) + " run nope.yaml");
  EXPECT_NE(out.code, 0);
  EXPECT_NE(out.text.find("vfp: error: config file not found: nope.yaml"), std::string::npos)
      << out.text;
}

TEST_F(TinySweep, UnknownKeyIsNamedWithItsLine) {
  std::ofstream(dir / "typo.yaml")
      << "name: typo\ncohort: {dir: cohort}\ntrain:\n  learning_rate: 0.1\n";
  auto out = run(in_dir() + mpirun(2) + " run typo.yaml");
  EXPECT_NE(out.code, 0);
  EXPECT_NE(out.text.find("typo.yaml:4:18: train.learning_rate: unknown key"), std::string::npos)
      << out.text;
}

TEST_F(TinySweep, MissingImageFailsNamingTheSubject) {
  fs::create_directories(dir / "holey");
  fs::copy(dir / "cohort", dir / "holey",
           fs::copy_options::recursive | fs::copy_options::skip_existing);
  fs::remove(dir / "holey" / "images" / "S0007.nii.gz");
  std::ofstream(dir / "holey.yaml") << "name: holey\ncohort: {dir: holey}\ncv: {folds: 2}\n"
                                       "preprocess: {patch_mm: 31, slab_mm: 15}\n";
  auto out = run(in_dir() + mpirun(2) + " run holey.yaml --retries 0");
  EXPECT_NE(out.code, 0);
  EXPECT_NE(out.text.find("subject S0007: image not found: "), std::string::npos) << out.text;
  // Every train task is recorded as failed with the reason; nothing pretends to have run.
  for (const auto& r : rows_of(dir / "results" / "holey" / "results.jsonl", "train_eval")) {
    EXPECT_EQ(r["status"], "failed");
    EXPECT_NE(r["reason"].get<std::string>().find("S0007"), std::string::npos);
  }
}

TEST_F(TinySweep, A3DModelTrainsFromTheExportedWeightsOfA2DRunInflated) {
  std::ofstream(dir / "flat.yaml") << tiny_sweep_text(
      "flat", "max_epochs: 1, patience: 1, batch_size: 8, lr: 0.003, save_model: true");
  auto flat = run(in_dir() + mpirun(2) + " run flat.yaml");
  ASSERT_EQ(flat.code, 0) << flat.text;
  fs::path exported;
  for (const auto& task : fs::directory_iterator(dir / "results" / "flat" / "tasks"))
    if (fs::exists(task.path() / "model.safetensors"))
      exported = task.path() / "model.safetensors";
  ASSERT_FALSE(exported.empty());
  // The header is JSON text: the metadata says how to rebuild the model.
  const auto header = read(exported).substr(8, 2000);
  EXPECT_NE(header.find("\"format\":\"vfp-classifier\""), std::string::npos) << header;
  EXPECT_NE(header.find("\"arch\":\"fnet\""), std::string::npos) << header;

  std::ofstream(dir / "cube.yaml") << "name: cube\ncohort: {dir: cohort}\n"
                                      "preprocess: {patch_mm: 31, spacing_mm: 1.5, output: 3d}\n"
                                      "cv: {folds: 2, seed: 5}\nmodel: {width: 4, dims: 3}\n"
                                      "pretrained: {file: " +
                                          exported.string() +
                                          ", inflation: centre}\n"
                                          "train: {max_epochs: 1, patience: 1, batch_size: 8}\n";
  auto cube = run(in_dir() + mpirun(2) + " run cube.yaml");
  ASSERT_EQ(cube.code, 0) << cube.text;
  const auto rows = rows_of(dir / "results" / "cube" / "results.jsonl", "train_eval");
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& r : rows) {
    EXPECT_EQ(r["status"], "ok") << r.dump();
    const auto log =
        read(dir / "results" / "cube" / "tasks" / r["task_id"].get<std::string>() / "log.txt");
    // fNet: 4 stages × (convolution + 5 batch-norm tensors) + its own head's 2.
    EXPECT_NE(log.find("pretrained weights: 26 tensors from " + exported.string()),
              std::string::npos)
        << log;
  }
}

TEST_F(TinySweep, SslPretrainingRunsOncePerSettingAndItsBackboneIsWhatTheTasksLoad) {
  std::ofstream(dir / "byol.yaml")
      << tiny_sweep_text(
             "byol", "max_epochs: 1, patience: 1, batch_size: 8, finetune: linear_probe",
             "pretrained: {mode: ssl}\n"
             "ssl: {epochs: 2, batch_size: 16, projector_hidden: 32, projection_dim: 16}\n")
      << R"(sweep:
  grid:
    train.lr: [3.0e-3, 1.0e-3]
    ssl.data: [all, outer_train]
)";
  // The dry run lists the pretrainings: one for ssl.data all (4 tasks), one per fold (2 each).
  auto dry = run(in_dir() + VFP_BIN + " sweep byol.yaml --dry-run");
  ASSERT_EQ(dry.code, 0) << dry.text;
  EXPECT_NE(dry.text.find("for 4 tasks\n"), std::string::npos) << dry.text;
  auto count = [](const std::string& text, const std::string& needle) {
    int n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(count(dry.text, "  pretrain-"), 3) << dry.text;
  auto out = run(in_dir() + mpirun(3) + " run byol.yaml");
  ASSERT_EQ(out.code, 0) << out.text;
  const auto results = dir / "results" / "byol";
  EXPECT_EQ(out.text.find("leaves out"), std::string::npos) << "pretrain rows are no stale rows";
  auto done = run(in_dir() + VFP_BIN + " sweep byol.yaml --dry-run");
  EXPECT_EQ(count(done.text, "tasks  done\n"), 3) << done.text;
  std::map<std::string, nlohmann::json> pretrainings;
  int trained = 0;
  for (const auto& r : rows_of(results / "results.jsonl")) {
    ASSERT_EQ(r["status"], "ok") << r.dump();
    if (r["kind"] == "cox")
      continue;
    if (r["kind"] == "pretrain") {
      EXPECT_EQ(pretrainings.count(r["task_id"]), 0u) << "pretrained twice: " << r.dump();
      pretrainings[r["task_id"]] = r;
      EXPECT_EQ(r["epochs"], 2);
      continue;
    }
    ++trained;
    // The task loaded the backbone of a pretraining of this sweep through the BYOL prefix:
    // fNet's 24 backbone tensors, plus its own new head's 2.
    const auto log = read(results / "tasks" / r["task_id"].get<std::string>() / "log.txt");
    EXPECT_NE(log.find("pretrained weights: 26 tensors from results/byol/pretrain/pretrain-"),
              std::string::npos)
        << log;
  }
  EXPECT_EQ(trained, 8); // 2 lr × 2 data × 2 folds
  // ssl.data all: one pretraining shared by both learning rates and both folds, on all 80
  // patches; outer_train: one per fold, on that fold's training subjects only.
  ASSERT_EQ(pretrainings.size(), 3u);
  int on_all = 0, on_folds = 0;
  for (const auto& [id, r] : pretrainings) {
    EXPECT_TRUE(fs::exists(results / "pretrain" / id / "byol.safetensors")) << id;
    const auto patches = r["patches"].get<int>();
    if (patches == 80)
      ++on_all;
    else if (patches > 20 && patches < 60)
      ++on_folds;
  }
  EXPECT_EQ(on_all, 1);
  EXPECT_EQ(on_folds, 2);

  // Run again: nothing is pretrained or trained twice.
  auto again = run(in_dir() + mpirun(2) + " run byol.yaml");
  ASSERT_EQ(again.code, 0) << again.text;
  EXPECT_EQ(rows_of(results / "results.jsonl").size(), 3u + 8u + 4u); // and 4 cox rows
}

TEST_F(TinySweep, AKilledTaskResumesFromItsCheckpointToTheSameResult) {
  std::ofstream(dir / "resume.yaml") << R"(name: resume
cohort: {dir: cohort}
preprocess: {patch_mm: 31, slab_mm: 15, spacing_mm: 1.5}
cv: {folds: 2, seed: 5}
model: {width: 4, dropout: 0.3}
train: {max_epochs: 8, patience: 8, batch_size: 8, lr: 0.003, stop_on: loss, schedule: cosine}
)";
  auto whole = run(in_dir() + VFP_BIN + " run resume.yaml --results-root whole");
  ASSERT_EQ(whole.code, 0) << whole.text;
  // SIGKILL the run as soon as a task has written its first checkpoint, as a node failure or
  // SLURM's time limit would, then run the sweep again.
  const auto tasks = dir / "killed" / "resume" / "tasks";
  auto killed = run(in_dir() + VFP_BIN + " run resume.yaml --results-root killed & pid=$!; " +
                    "for i in $(seq 3000); do ls " + tasks.string() +
                    "/*/checkpoint.pt >/dev/null 2>&1 && break; sleep 0.01; done; " +
                    "kill -9 $pid; wait $pid; echo exit $?");
  ASSERT_NE(killed.text.find("exit 137"), std::string::npos) << killed.text;
  auto again = run(in_dir() + VFP_BIN + " run resume.yaml --results-root killed");
  ASSERT_EQ(again.code, 0) << again.text;
  EXPECT_NE(again.text.find("resumed from its checkpoint after epoch"), std::string::npos)
      << again.text;
  auto by_task = [](const fs::path& f) {
    std::map<std::string, std::string> m;
    for (const auto& r : rows_of(f, "train_eval"))
      m[r["task_id"]] = r["auroc"].dump() + " " + r["auprc"].dump() + " " + r["best_epoch"].dump();
    return m;
  };
  const auto resumed = by_task(dir / "killed" / "resume" / "results.jsonl");
  EXPECT_EQ(resumed.size(), 2u);
  EXPECT_EQ(resumed, by_task(dir / "whole" / "resume" / "results.jsonl"));
  int resumed_tasks = 0;
  for (const auto& r : rows_of(dir / "killed" / "resume" / "results.jsonl", "train_eval"))
    resumed_tasks += r["resumed_from_epoch"].get<int>() > 0;
  EXPECT_EQ(resumed_tasks, 1);
  for (const auto& e : fs::directory_iterator(tasks)) // done tasks keep no checkpoint
    EXPECT_FALSE(fs::exists(e.path() / "checkpoint.pt")) << e.path();
}

TEST(Cli, ModelsListsEveryArchitectureWithItsParameterCount) {
  const std::string vfp = VFP_BIN;
  auto counts = [&](const std::string& flags) {
    auto out = run(vfp + " models --json " + flags);
    EXPECT_EQ(out.code, 0) << out.text;
    std::map<std::string, std::int64_t> m;
    for (const auto& a : nlohmann::json::parse(out.text))
      m[a["name"]] = a.value("parameters", std::int64_t(-1));
    return m;
  };
  // torchvision 0.14 (tests/models/models_test.cpp says how these were made).
  const auto ct = counts("");
  EXPECT_EQ(ct.at("resnet18"), 11170753);
  EXPECT_EQ(ct.at("densenet121"), 6948609);
  EXPECT_EQ(ct.at("fnet"), 97521);
  EXPECT_EQ(counts("--in-channels 3 --outputs 1000").at("resnet50"), 25557032);
  EXPECT_EQ(counts("--dims 3").at("resnet18"), 33160513);
  auto table = run(vfp + " models");
  EXPECT_NE(table.text.find("| resnet18 | 11170753 (11.17 M) |"), std::string::npos) << table.text;
  EXPECT_NE(run(vfp + " models --dims 4").code, 0);
}

TEST(Cli, ConfigAcceptsExactlyTheRegistrysArchitectures) {
  // The config library is torch-free and keeps its own list of names: both must agree.
  auto listed = run(std::string(VFP_BIN) + " models --json");
  ASSERT_EQ(listed.code, 0) << listed.text;
  std::string registry;
  std::vector<std::string> only_3d;
  for (const auto& a : nlohmann::json::parse(listed.text)) {
    registry += (registry.empty() ? "" : ", ") + a["name"].get<std::string>();
    if (a["supported_dims"] == nlohmann::json::array({3}))
      only_3d.push_back(a["name"]);
  }
  EXPECT_EQ(only_3d, (std::vector<std::string>{"monai_seresnet50", "monai_seresnext50",
                                               "monai_resnet18", "monai_resnet50",
                                               "merlin_resnet152", "ctclip_vit"}));
  const auto dir = fs::temp_directory_path() / ("vfp_archs_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const auto& name : only_3d) { // the config's own 3D-only list must agree too
    std::ofstream(dir / "2d.yaml")
        << "name: archs\ncohort: {dir: c}\nmodel: {arch: " << name << ", dims: 2}\n";
    auto refused = run(std::string(VFP_BIN) + " sweep " + (dir / "2d.yaml").string());
    EXPECT_NE(refused.code, 0) << name;
    EXPECT_NE(refused.text.find(name + " is a 3D encoder"), std::string::npos) << refused.text;
  }
  std::ofstream(dir / "bad.yaml") << "name: archs\ncohort: {dir: c}\nmodel: {arch: nonesuch}\n";
  auto bad = run(std::string(VFP_BIN) + " sweep " + (dir / "bad.yaml").string());
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.text.find("'nonesuch' is not one of: " + registry + "\n"), std::string::npos)
      << bad.text << "\nregistry: " << registry;
}

TEST(Cli, EverySubcommandHasHelpAndVersionIsPrinted) {
  auto version = run(std::string(VFP_BIN) + " --version");
  EXPECT_EQ(version.code, 0);
  EXPECT_EQ(version.text.rfind("vfp 0.", 0), 0u) << version.text;
  // The second line: the LibTorch linked, and whether it has CUDA (the 2.x CUDA build says so).
  const std::regex libtorch(R"(vfp 0\.[^\n]*\nLibTorch \d+\.\d+\.\d+[^,\n]*, )"
                            R"((CUDA \d+\.\d+ compiled in|CPU only: no CUDA compiled in)\n)");
  EXPECT_TRUE(std::regex_match(version.text, libtorch)) << version.text;
  for (const char* sub :
       {"synth", "preprocess", "sweep", "run", "report", "cache", "models", "cox"}) {
    auto help = run(std::string(VFP_BIN) + " " + sub + " --help");
    EXPECT_EQ(help.code, 0) << sub;
    EXPECT_NE(help.text.find("Usage"), std::string::npos) << sub << ": " << help.text;
  }
  auto bad = run(std::string(VFP_BIN) + " synth --subjects 0 --out /tmp/x");
  EXPECT_NE(bad.code, 0);
}

TEST(Cli, SynthReportsProgressPerSubjectWrittenWhenAskedToEveryTime) {
  const auto dir = fs::temp_directory_path() / ("vfp_synth_progress_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const auto out = run("VFP_PROGRESS_INTERVAL=0 " + std::string(VFP_BIN) +
                       " synth --subjects 3 --threads 2 --out " + dir.string());
  EXPECT_EQ(out.code, 0) << out.text;
  EXPECT_NE(out.text.find("vfp synth: subjects written: 1/3 (33 %)"), std::string::npos)
      << out.text;
  EXPECT_NE(out.text.find("vfp synth: subjects written: 3/3 done in "), std::string::npos)
      << out.text;
  fs::remove_all(dir);
}
