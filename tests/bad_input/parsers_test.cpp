// The bad-input corpus fed to the parsers in-process: the sweep loader, the cohort and
// centroid readers, image reading and preprocessing, the patch cache reader and the
// safetensors header parser. Torch-free and MPI-free, so that the `asan` build runs it (the
// corpus through the vfp executable is bad_input_test.cpp). Each bad file must give an error
// holding every `expect` string of cases.yaml, not a crash, leak or undefined behaviour.
#include "corpus.h"

#include "config/config.h"
#include "data/data.h"
#include "models/safetensors_header.h"
#include "sweep/sweep.h"
#include "synth/synth.h"

#include <unistd.h>

#include <map>

namespace vfp::bad_input {
namespace {

/// What feeding one case's bad file to its parser gave: the error text, or empty when the
/// parser accepted it.
struct Outcome {
  fs::path file;
  std::string error;
};

class BadInputParsers : public ::testing::TestWithParam<Case> {
public:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("vfp_bad_parsers_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    data::register_image_formats();
    synth::SynthOptions options;
    options.subjects = 3;
    options.event_rate = 0.5;
    options.seed = 3;
    options.out = root_ / "cohort";
    synth::generate_cohort(options);
    for (const auto& s : data::read_cohort(root_ / "cohort/cohort.csv"))
      ids_.push_back(s.id);

    data::PatchSet patches;
    for (const auto& id : ids_)
      data::preprocess_subject(id, image_of(id), centroids_of(id), params(), patches);
    good_cache_ = data::cache_file(root_ / "cache", "00000000deadbeef");
    fs::create_directories(good_cache_.parent_path());
    data::write_cache(good_cache_, patches, "00000000deadbeef", "{}");
  }

  static void TearDownTestSuite() { fs::remove_all(root_); }

protected:
  /// The preprocessing of the corpus' sweeps (tests/bad_input: spacing 3 mm, 48 mm cube).
  static config::PreprocessConfig params() {
    config::PreprocessConfig p;
    p.spacing_mm = 3.0;
    p.patch_mm = 48;
    return p;
  }
  static fs::path image_of(const std::string& id) {
    return root_ / "cohort/images" / (id + ".nii.gz");
  }
  static fs::path centroids_of(const std::string& id) {
    return root_ / "cohort/centroids" / (id + ".json");
  }

  /// Writes the case's bad file in place of a good one and feeds it to its parser.
  static Outcome feed(const Case& c) {
    const auto dir = root_ / ("case_" + slug(c.name));
    const auto bytes = bad_bytes(c, root_ / "cohort", good_cache_, ids_);
    Outcome out;
    try {
      if (c.feed == "sweep") {
        out.file = c.make.empty() ? kBad / c.name : dir / fs::path(c.name).filename();
        if (!c.make.empty())
          place_bad_file(c, out.file, bytes);
        sweep::load(out.file);
      } else if (c.feed == "cohort") {
        out.file = dir / "cohort.csv";
        place_bad_file(c, out.file, bytes);
        data::read_cohort(out.file);
      } else if (c.feed == "centroids" || c.feed == "image") {
        const bool image = c.feed == "image";
        out.file = dir / (ids_[0] + (image ? image_ext(c.name) : ".json"));
        place_bad_file(c, out.file, bytes);
        data::PatchSet patches;
        data::preprocess_subject(ids_[0], image ? out.file : image_of(ids_[0]),
                                 image ? centroids_of(ids_[0]) : out.file, params(), patches);
      } else if (c.feed == "cache") {
        // What `vfp cache verify` does.
        out.file = dir / (c.from.empty() ? fs::path(c.name).filename() : good_cache_.filename());
        write_binary(out.file, bytes);
        for (const auto& entry : data::list_caches(dir))
          if (const auto problem = data::verify_cache(entry); !problem.empty())
            out.error += "CORRUPT  " + problem + "\n"; // vfp cache verify's line
      } else if (c.feed == "weights") {
        out.file = dir / fs::path(c.name).filename();
        write_binary(out.file, bytes);
        std::ifstream in(out.file, std::ios::binary);
        models::safetensors::read_header(out.file, in);
      } else {
        ADD_FAILURE() << c.name << ": unknown feed '" << c.feed << "'";
      }
    } catch (const std::exception& e) {
      out.error = e.what();
    }
    return out;
  }

  static fs::path root_, good_cache_;
  static std::vector<std::string> ids_;
};

fs::path BadInputParsers::root_, BadInputParsers::good_cache_;
std::vector<std::string> BadInputParsers::ids_;

TEST_P(BadInputParsers, RejectWithAnErrorNamingThePlace) {
  const Case& c = GetParam();
  if (!c.in_process)
    GTEST_SKIP() << c.name << ": fed through vfp only (bad_input_tests), see cases.yaml";
  const auto out = feed(c);
  SCOPED_TRACE(c.name + " (" + c.feed + "): " + out.error);
  ASSERT_FALSE(out.error.empty()) << "bad input accepted by the parser";
  for (const auto& e : c.expect) {
    const auto want = replace_ids(replace_all(e, "{file}", out.file.string()), ids_);
    EXPECT_NE(out.error.find(want), std::string::npos) << "expected: " << want;
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadInputParsers, ::testing::ValuesIn(load_cases()),
                         [](const auto& info) { return slug(info.param.name); });

} // namespace
} // namespace vfp::bad_input
