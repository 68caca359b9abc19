// Golden test of the ids of every sweep in sweeps/ (and of its `--smoke` variant where the
// file has a `smoke:` section): configuration ids, outer and inner task ids (with their
// configuration, repeat, fold and inner fold), selection group ids, patch-cache keys, the
// hash of what a pretrain task reads and cox.bootstrap (the cox task's id is the
// configuration id and it). Results folders are keyed by these ids, so a change to
// any of them makes vfp rerun users' finished sweeps; this test makes such a change visible.
//
// What the values are a function of. Each sweep file is copied to the fixed folder
// /tmp/vfp-golden-ids/sweeps/ (held under a lock, removed afterwards) and loaded there with
// sweep::load: configuration ids count cohort paths relative to the sweep file, but other
// inputs are absolute (pretrained.file in the configuration id, the cohort paths in the cache
// key and the pretrain inputs), so only a fixed location gives the same values on every
// machine. Files that the schema requires to exist (pretrained.file) are made there, empty;
// no cohort data is made. The cache key is data::cache_key of each configuration with two
// made-up subjects ("golden-1", "golden-2") whose files are all missing: it pins the
// preprocessing parameters, the preprocessing version and the shape of the key, not the
// fingerprints (size, mtime) of a real cohort's files.
//
// To regenerate tests/data/golden/sweep_ids.json on purpose (a sweep was added or edited, or
// an id change is intended and announced):
//   VFP_UPDATE_GOLDEN=1 build/release/tests/config/config_tests --gtest_filter='GoldenIds.*'
// VFP_GOLDEN_SWEEPS=DIR reads the sweep files from DIR instead of sweeps/ (to check that an
// edited copy fails).
#include "config/config.h"
#include "core/core.h"
#include "data/data.h"
#include "sweep/sweep.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = "/tmp/vfp-golden-ids";

fs::path golden_file() {
  return fs::path(VFP_SOURCE_DIR) / "tests/data/golden/sweep_ids.json";
}

fs::path sweeps_dir() {
  const char* dir = std::getenv("VFP_GOLDEN_SWEEPS");
  return dir && *dir ? fs::path(dir) : fs::path(VFP_SOURCE_DIR) / "sweeps";
}

/// Holds an exclusive lock on <kRoot>.lock: the release and sanitized builds may run this
/// test at the same time, and both need the same fixed folder.
class RootLock {
public:
  RootLock() {
    fd_ = ::open((kRoot.string() + ".lock").c_str(), O_CREAT | O_RDWR, 0666);
    if (fd_ >= 0)
      ::flock(fd_, LOCK_EX);
  }
  ~RootLock() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  RootLock(const RootLock&) = delete;
  RootLock& operator=(const RootLock&) = delete;

private:
  int fd_ = -1;
};

/// Loads `file`, first making (empty) every file under kRoot that the schema says is missing.
vfp::sweep::Sweep load_with_placeholders(const fs::path& file, bool smoke) {
  for (int attempt = 0;; ++attempt) {
    try {
      return vfp::sweep::load(file, {smoke});
    } catch (const vfp::InputError& e) {
      const std::string what = e.what();
      const std::string marker = "no such file: ";
      bool made = false;
      for (auto at = what.find(marker); at != std::string::npos; at = what.find(marker, at)) {
        at += marker.size();
        const fs::path missing = what.substr(at, what.find('\n', at) - at);
        if (attempt >= 64 || missing.string().rfind(kRoot.string() + "/", 0) != 0)
          throw;
        fs::create_directories(missing.parent_path());
        std::ofstream(missing).put('\0');
        made = true;
      }
      if (!made)
        throw;
    }
  }
}

std::string task_text(const vfp::sweep::TrainTask& t) {
  std::string s = t.id + " c" + std::to_string(t.configuration) + " r" + std::to_string(t.repeat) +
                  " f" + std::to_string(t.fold);
  if (t.inner())
    s += " i" + std::to_string(t.inner_fold) + "/" + std::to_string(t.inner_folds);
  return s;
}

/// Everything the golden file pins about one expanded sweep.
nlohmann::json ids_of(const vfp::sweep::Sweep& sweep) {
  std::vector<vfp::data::Subject> subjects(2);
  subjects[0].id = "golden-1";
  subjects[1].id = "golden-2";
  nlohmann::json configurations = nlohmann::json::array();
  for (const auto& c : sweep.configurations) {
    // cox.bootstrap: with the configuration id, what the cox task's id is made of.
    nlohmann::json entry = {{"id", c.id},
                            {"cache_key", vfp::data::cache_key(c.config, subjects)},
                            {"cox_bootstrap", c.config.cox.bootstrap}};
    if (c.config.runs_pretraining())
      entry["pretrain_inputs"] = vfp::stable_id(vfp::config::pretrain_json(c.config).dump());
    configurations.push_back(entry);
  }
  nlohmann::json tasks = nlohmann::json::array();
  for (const auto& t : sweep.tasks)
    tasks.push_back(task_text(t));
  nlohmann::json inner = nlohmann::json::array();
  for (const auto& t : sweep.inner_tasks)
    inner.push_back(task_text(t));
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : sweep.groups)
    groups.push_back(g.id);
  return {{"name", sweep.name},
          {"smoke", sweep.smoke},
          {"counts",
           {{"configurations", sweep.configurations.size()},
            {"tasks", sweep.tasks.size()},
            {"inner_tasks", sweep.inner_tasks.size()},
            {"groups", sweep.groups.size()}}},
          {"configurations", configurations},
          {"tasks", tasks},
          {"inner_tasks", inner},
          {"groups", groups}};
}

/// The ids of every sweep file (and smoke variant), keyed "<file>" and "<file> --smoke".
nlohmann::json current_ids() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(sweeps_dir()))
    if (e.path().extension() == ".yaml")
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  RootLock lock;
  std::error_code ec;
  fs::remove_all(kRoot, ec);
  fs::create_directories(kRoot / "sweeps");
  nlohmann::json all = nlohmann::json::object();
  for (const auto& source : files) {
    const auto name = source.filename().string();
    const auto copy = kRoot / "sweeps" / name;
    fs::copy_file(source, copy, fs::copy_options::overwrite_existing);
    all[name] = ids_of(load_with_placeholders(copy, false));
    if (vfp::config::load_yaml_file(copy)["smoke"])
      all[name + " --smoke"] = ids_of(load_with_placeholders(copy, true));
  }
  fs::remove_all(kRoot, ec);
  return all;
}

/// "path: golden X, now Y" lines for every difference (the first `limit` of them).
void differences(const nlohmann::json& golden, const nlohmann::json& now, const std::string& path,
                 std::vector<std::string>& out, std::size_t limit = 30) {
  if (out.size() >= limit)
    return;
  if (golden.type() == now.type() && (golden.is_object() || golden.is_array())) {
    if (golden.is_object()) {
      for (const auto& [key, value] : golden.items())
        differences(value, now.contains(key) ? now[key] : nlohmann::json("(absent)"),
                    path + "/" + key, out, limit);
      for (const auto& [key, value] : now.items())
        if (!golden.contains(key) && out.size() < limit)
          out.push_back(path + "/" + key + ": not in the golden file");
    } else {
      const auto n = std::max(golden.size(), now.size());
      for (std::size_t i = 0; i < n; ++i)
        differences(i < golden.size() ? golden[i] : nlohmann::json("(absent)"),
                    i < now.size() ? now[i] : nlohmann::json("(absent)"),
                    path + "/" + std::to_string(i), out, limit);
    }
    return;
  }
  if (golden != now)
    out.push_back(path + ": golden " + golden.dump() + ", now " + now.dump());
}

} // namespace

TEST(GoldenIds, EverySweepKeepsItsConfigurationTaskAndCacheIds) {
  const auto now = current_ids();
  ASSERT_FALSE(now.empty()) << "no *.yaml in " << sweeps_dir();
  if (const char* update = std::getenv("VFP_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    fs::create_directories(golden_file().parent_path());
    vfp::write_file_atomically(golden_file(), now.dump(1) + "\n");
    GTEST_SKIP() << "wrote " << golden_file();
  }
  ASSERT_TRUE(fs::exists(golden_file()))
      << golden_file() << " is missing: run once with VFP_UPDATE_GOLDEN=1 to write it";
  const auto golden = nlohmann::json::parse(vfp::read_text_file(golden_file()));
  for (const auto& [sweep, ids] : golden.items()) {
    std::vector<std::string> diff;
    differences(ids, now.contains(sweep) ? now[sweep] : nlohmann::json("(absent)"), "", diff);
    std::ostringstream lines;
    for (const auto& d : diff)
      lines << "\n  " << d;
    EXPECT_TRUE(diff.empty())
        << "sweeps/" << sweep << ": ids differ from " << golden_file() << ":" << lines.str()
        << "\nAn id change makes vfp rerun users' finished sweeps (their results, caches and "
           "checkpoints are found by these ids). If the change is intended, announce it and "
           "regenerate with VFP_UPDATE_GOLDEN=1 (see this test's header comment).";
  }
  for (const auto& [sweep, ids] : now.items())
    EXPECT_TRUE(golden.contains(sweep)) << "sweeps/" << sweep << " is not in " << golden_file()
                                        << ": regenerate with VFP_UPDATE_GOLDEN=1 to pin its ids";
}
