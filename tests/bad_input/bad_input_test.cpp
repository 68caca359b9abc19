// The bad-input corpus (tests/data/bad/, manifest cases.yaml): every malformed file is fed to
// vfp the way a user would feed it, and must give a non-zero exit (not a crash or a hang)
// with an error that names the place (file:line, key, subject id), leaving earlier results
// as they were.
#include "../integration/shell.h"
#include "corpus.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <thread>

namespace vfp::integration {
namespace {

using namespace bad_input;

/// A case made ready to run: the command, the bad file as vfp sees it, the results file
/// that must keep its bytes, and (once run) the output.
struct Prepared {
  std::string command;
  fs::path file;
  fs::path results;
  std::string before;
  Output out;
};

/// Every case runs once, for the whole suite, before the tests look at the outcomes: each
/// vfp start costs seconds (LibTorch and ITK load), so the cases run a few at a time.
class BadInput : public ::testing::TestWithParam<Case> {
public:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("vfp_bad_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    // 8 subjects: enough for 2-fold CV with a validation split (the weights cases train).
    const auto synth =
        run(std::string(VFP_BIN) + " synth --subjects 8 --event-rate 0.5 --seed 3 --out " +
            (root_ / "cohort").string());
    ASSERT_EQ(synth.code, 0) << synth.text;
    std::istringstream lines(read(root_ / "cohort/cohort.csv"));
    std::string line;
    std::getline(lines, line);
    header_ = line;
    while (std::getline(lines, line) && ids_.size() < 3) {
      ids_.push_back(line.substr(0, line.find(',')));
      rows_ += line + "\n";
    }
    // A good cache of the whole cohort: what the cache cases corrupt and the weights cases use.
    const auto cohort = root_ / "cohort";
    write_sweep(root_ / "good", cohort / "cohort.csv", cohort / "images", cohort / "centroids");
    const auto out =
        run(std::string(VFP_BIN) + " preprocess " + (root_ / "good/sweep.yaml").string() +
            " --cache " + (root_ / "cache").string());
    ASSERT_EQ(out.code, 0) << out.text;
    for (const auto& e : fs::directory_iterator(root_ / "cache"))
      if (e.path().extension() == ".h5")
        good_cache_ = e.path();
    ASSERT_FALSE(good_cache_.empty());

    for (const auto& c : load_cases())
      prepared_[c.name] = prepare(c);
    std::vector<Prepared*> queue;
    for (auto& [name, p] : prepared_)
      queue.push_back(&p);
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w)
      workers.emplace_back([&] {
        for (std::size_t i; (i = next++) < queue.size();)
          queue[i]->out = run("timeout 30 " + queue[i]->command);
      });
    for (auto& w : workers)
      w.join();
  }

protected:
  /// A small sweep reading the given cohort table, images and centroid folders.
  static void write_sweep(const fs::path& dir, const fs::path& csv, const fs::path& images,
                          const fs::path& centroids, const fs::path& weights = {},
                          const std::string& images_ext = ".nii.gz") {
    fs::create_directories(dir);
    std::ofstream out(dir / "sweep.yaml");
    out << "name: bad-input\ncohort:\n  csv: " << csv.string()
        << "\n  images: " << (images / ("{id}" + images_ext)).string()
        << "\n  centroids: " << (centroids / "{id}.json").string()
        << "\npreprocess: {spacing_mm: 3.0, patch_mm: 48}\n"
           "cv: {folds: 2, val_fraction: 0.3}\n"
           "model: {arch: fnet, dims: 2, width: 4}\n"
           "train: {batch_size: 8, max_epochs: 1, patience: 1}\n";
    if (!weights.empty())
      out << "pretrained: {file: " << weights.string() << "}\n";
  }

  static std::string replace_ids(const std::string& text) {
    return bad_input::replace_ids(text, ids_);
  }

  /// Assembles the case's folder: the bad file in place of a good one, a sweep, and a
  /// results.jsonl written "before" for the commands that run into a results folder.
  static Prepared prepare(const Case& c) {
    Prepared p;
    const auto dir = root_ / ("case_" + slug(c.name));
    fs::create_directories(dir);
    const auto bytes = bad_bytes(c, root_ / "cohort", good_cache_, ids_);
    const auto cohort = root_ / "cohort";
    const std::string vfp = VFP_BIN;
    auto run_into_results = [&] {
      p.results = dir / "results/bad-input/results.jsonl";
      write_binary(p.results, "{\"kind\":\"earlier\",\"status\":\"ok\",\"task_id\":\"x\"}\n");
      p.before = read_binary(p.results);
      return vfp + " run " + (dir / "sweep.yaml").string() + " --retries 0 --results-root " +
             (dir / "results").string() + " --cache " + (root_ / "cache").string();
    };
    if (c.feed == "sweep") {
      // A generated sweep (a FIFO, a 1 MiB value) lives in the case's folder.
      p.file = c.make.empty() ? kBad / c.name : dir / fs::path(c.name).filename();
      if (!c.make.empty())
        place_bad_file(c, p.file, bytes);
      p.command = vfp + " sweep " + p.file.string() + " --dry-run";
    } else if (c.feed == "cohort" || c.feed == "centroids" || c.feed == "image") {
      fs::path csv = dir / "cohort.csv", images = cohort / "images";
      fs::path centroids = cohort / "centroids";
      // An image of another format than .nii.gz: a cohort of the first subject alone.
      const auto ext = c.feed == "image" ? image_ext(c.name) : ".json";
      const bool alone = c.feed == "image" && ext != ".nii.gz";
      std::ofstream(csv) << header_ << "\n"
                         << (alone ? rows_.substr(0, rows_.find('\n') + 1) : rows_);
      if (c.feed == "cohort") {
        p.file = csv;
      } else {
        // The first subject's file is the bad one; the others link to the good cohort's.
        auto& folder = c.feed == "image" ? images : centroids;
        const auto good = folder;
        folder = dir / (c.feed == "image" ? "images" : "centroids");
        fs::create_directories(folder);
        for (std::size_t i = 1; i < ids_.size() && !alone; ++i)
          fs::create_symlink(good / (ids_[i] + ext), folder / (ids_[i] + ext));
        p.file = folder / (ids_[0] + ext);
      }
      place_bad_file(c, p.file, bytes);
      write_sweep(dir, csv, images, centroids, {}, c.feed == "image" ? ext : ".nii.gz");
      p.command = c.via == "run" ? run_into_results()
                                 : vfp + " preprocess " + (dir / "sweep.yaml").string() +
                                       " --cache " + (dir / "cache").string();
    } else if (c.feed == "cache") {
      p.file =
          dir / "cache" / (c.from.empty() ? fs::path(c.name).filename() : good_cache_.filename());
      write_binary(p.file, bytes);
      p.command = vfp + " cache verify --cache " + (dir / "cache").string();
    } else if (c.feed == "weights") {
      p.file = dir / fs::path(c.name).filename();
      write_binary(p.file, bytes);
      write_sweep(dir, cohort / "cohort.csv", cohort / "images", cohort / "centroids", p.file);
      p.command = run_into_results();
    } else {
      ADD_FAILURE() << c.name << ": unknown feed '" << c.feed << "'";
    }
    return p;
  }

  static fs::path root_, good_cache_;
  static std::string header_, rows_;
  static std::vector<std::string> ids_;
  static std::map<std::string, Prepared> prepared_;
};

fs::path BadInput::root_, BadInput::good_cache_;
std::string BadInput::header_, BadInput::rows_;
std::vector<std::string> BadInput::ids_;
std::map<std::string, Prepared> BadInput::prepared_;

TEST_P(BadInput, FailsWithAnErrorNamingThePlace) {
  const Case& c = GetParam();
  ASSERT_TRUE(prepared_.count(c.name));
  const auto& p = prepared_.at(c.name);
  SCOPED_TRACE(c.name + ": " + p.command + "\n" + p.out.text);
  EXPECT_NE(p.out.code, 124) << "hang: killed after 30 s";
  EXPECT_NE(p.out.code, 0) << "bad input accepted";
  EXPECT_LT(p.out.code, 128) << "crash (signal " << p.out.code - 128 << ")";
  EXPECT_NE(p.out.code, -1) << "crash";
  EXPECT_EQ(p.out.text.find("AddressSanitizer"), std::string::npos);
  EXPECT_EQ(p.out.text.find("runtime error:"), std::string::npos);
  for (const auto& e : c.expect) {
    const auto want = replace_ids(replace_all(e, "{file}", p.file.string()));
    EXPECT_NE(p.out.text.find(want), std::string::npos) << "expected: " << want;
  }
  // results.jsonl is append-only: a failed run may add its failed rows, never change a byte
  // that was there.
  if (!p.results.empty()) {
    EXPECT_EQ(read_binary(p.results).substr(0, p.before.size()), p.before)
        << "earlier results changed";
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return slug(info.param.name);
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadInput, ::testing::ValuesIn(load_cases()), case_name);

TEST(BadInputCorpus, EveryFileHasAnExpectation) {
  std::set<std::string> listed;
  for (const auto& c : load_cases())
    if (c.make.empty())
      listed.insert(c.name);
    else if (c.feed == "sweep" && !c.from.empty())
      listed.insert(c.from); // a generated sweep's template
  for (const auto& e : fs::recursive_directory_iterator(kBad)) {
    if (!e.is_regular_file() || e.path().filename() == "cases.yaml")
      continue;
    const auto rel = fs::relative(e.path(), kBad).string();
    EXPECT_TRUE(listed.count(rel)) << rel << " is not listed in tests/data/bad/cases.yaml";
  }
}

} // namespace
} // namespace vfp::integration
