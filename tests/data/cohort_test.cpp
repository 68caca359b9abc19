#include "data/data.h"

#include <gtest/gtest.h>

#include <fstream>

namespace fs = std::filesystem;

namespace {
fs::path write_csv(const std::string& text) {
  static int n = 0;
  auto dir = fs::temp_directory_path() / ("vfp_cohort_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto path = dir / ("c" + std::to_string(n++) + ".csv");
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string error_of(const std::string& text, fs::path* where = nullptr) {
  auto path = write_csv(text);
  if (where)
    *where = path;
  try {
    vfp::data::read_cohort(path);
  } catch (const vfp::InputError& e) {
    return e.what();
  }
  return "no error";
}
} // namespace

TEST(Cohort, ReadsRowsWithBomCrlfAndAnyColumnOrder) {
  auto path = write_csv("\xEF\xBB\xBFsite,subject_id,age,bmi,event,time_years\r\n"
                        "A,S1,70.5,25.1,0,10\r\nB,\"S,2\",80,30,1,3.25\r\n");
  auto s = vfp::data::read_cohort(path);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].id, "S,2");
  EXPECT_EQ(s[1].event, 1);
  EXPECT_DOUBLE_EQ(s[1].time_years, 3.25);
  EXPECT_EQ(s[0].site, "A");
  EXPECT_EQ(s[1].line, 3);
}

TEST(Cohort, EmptySpreadsheetRowsAreSkippedAndLineNumbersStayTheFiles) {
  // Spreadsheets export empty rows as bare separators; a bad row after them is still named
  // by its line in the file.
  auto path = write_csv("subject_id,age,bmi,event,time_years\nS1,70,25,0,10\n,,,,\n , ,\n"
                        "S2,71,26,1,2\n,,,,\nS3,x,26,1,2\n");
  std::string message;
  try {
    vfp::data::read_cohort(path);
  } catch (const vfp::InputError& e) {
    message = e.what();
  }
  EXPECT_NE(message.find(path.string() + ":7: column 'age' of subject S3"), std::string::npos)
      << message;
  std::vector<vfp::data::Exclusion> excluded;
  const auto subjects = vfp::data::read_cohort(path, &excluded);
  ASSERT_EQ(subjects.size(), 2u);
  EXPECT_EQ(subjects[1].id, "S2");
  EXPECT_EQ(subjects[1].line, 5);
  ASSERT_EQ(excluded.size(), 1u);
}

TEST(Cohort, MissingColumnIsNamed) {
  fs::path p;
  auto msg = error_of("subject_id,age,event,time_years\nS1,70,0,10\n", &p);
  EXPECT_EQ(msg, p.string() + ":1: missing column 'bmi' (expected "
                              "subject_id,age,bmi,event,time_years[,site])");
}

TEST(Cohort, DuplicateIdNamesTheLine) {
  fs::path p;
  auto msg = error_of("subject_id,age,bmi,event,time_years\nS1,70,25,0,10\nS1,71,25,0,10\n", &p);
  EXPECT_EQ(msg, p.string() + ":3: duplicate subject_id 'S1'");
}

TEST(Cohort, NonNumericAgeNamesRowColumnAndSubject) {
  fs::path p;
  auto msg = error_of("subject_id,age,bmi,event,time_years\nS1,old,25,0,10\n", &p);
  EXPECT_EQ(msg, p.string() + ":2: column 'age' of subject S1: expected a number, got 'old'");
}

TEST(Cohort, EventMustBeZeroOrOne) {
  fs::path p;
  auto msg = error_of("subject_id,age,bmi,event,time_years\nS1,70,25,2,10\n", &p);
  EXPECT_EQ(msg, p.string() + ":2: column 'event' of subject S1: expected 0 or 1, got '2'");
}

TEST(Cohort, NegativeTimeIsRejected) {
  fs::path p;
  auto msg = error_of("subject_id,age,bmi,event,time_years\nS1,70,25,0,-1\n", &p);
  EXPECT_EQ(msg, p.string() +
                     ":2: column 'time_years' of subject S1: value -1 is out of range [0, 200]");
}

TEST(Cohort, MissingCellCountIsReported) {
  fs::path p;
  auto msg = error_of("subject_id,age,bmi,event,time_years\nS1,70,25,0\n", &p);
  EXPECT_EQ(msg, p.string() + ":2: expected 5 cells, found 4");
}

TEST(Cohort, MissingFileIsNamed) {
  try {
    vfp::data::read_cohort("/nope/cohort.csv");
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_STREQ(e.what(), "cohort table not found: /nope/cohort.csv");
  }
}

TEST(Cohort, QuotedIdWithCommaAndQuoteIsReadAsWritten) {
  const auto path = write_csv("subject_id,age,bmi,event,time_years\n\"S1,\"\"x\"\"\",70,25,1,0\n"
                              "\"=HYPERLINK(\"\"y\"\")\",71,25,0,3\n");
  const auto s = vfp::data::read_cohort(path);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].id, "S1,\"x\"");
  EXPECT_EQ(s[0].time_years, 0.0);         // an event at time 0 is valid
  EXPECT_EQ(s[1].id, "=HYPERLINK(\"y\")"); // read as it is; neutralised only in report tables
}

TEST(Cohort, IdThatIsAPathOrHoldsAControlCharacterIsRefusedNamingTheLine) {
  fs::path p;
  auto msg = error_of(
      "subject_id,age,bmi,event,time_years\nS1,70,25,0,1\n../../outside/x,70,25,0,1\n", &p);
  EXPECT_EQ(msg.rfind(p.string() + ":3: subject_id '../../outside/x' holds a '/'", 0), 0u) << msg;
  msg = error_of("subject_id,age,bmi,event,time_years\n/tmp/x,70,25,0,1\n", &p);
  EXPECT_EQ(msg.rfind(p.string() + ":2: subject_id '/tmp/x' holds a '/'", 0), 0u) << msg;
  msg = error_of("subject_id,age,bmi,event,time_years\n..,70,25,0,1\n", &p);
  EXPECT_EQ(msg.rfind(p.string() + ":2: subject_id '..' is '..'", 0), 0u) << msg;
  msg = error_of("subject_id,age,bmi,event,time_years\nS\x01"
                 "1,70,25,0,1\n",
                 &p);
  EXPECT_EQ(msg.rfind(p.string() + ":2: subject_id 'S\\x011' holds a control character", 0), 0u)
      << msg;
}

TEST(Centroids, ReadsVerseListWithDirectionAndSkipsNaN) {
  auto path = write_csv(R"([{"direction": ["P","I","R"]},
    {"label": 20, "X": 10.5, "Y": 20, "Z": 30},
    {"label": 21, "X": NaN, "Y": 1, "Z": 2},
    {"label": 22, "X": "NaN", "Y": 1, "Z": 2}])");
  auto c = vfp::data::read_verse_centroids(path);
  ASSERT_TRUE(c.axis_codes.has_value());
  EXPECT_EQ((*c.axis_codes)[0], 'P');
  EXPECT_EQ((*c.axis_codes)[2], 'R');
  ASSERT_EQ(c.centroids.size(), 1u);
  EXPECT_EQ(c.centroids[0].label, 20);
  EXPECT_DOUBLE_EQ(c.centroids[0].xyz[0], 10.5);
}

TEST(Centroids, BadAxisCodeIsNamed) {
  auto path = write_csv(R"([{"direction": ["P","I","Q"]}])");
  try {
    vfp::data::read_verse_centroids(path);
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              path.string() + ": entry 0: axis code \"Q\" is not one of L R A P S I");
  }
}

TEST(Cohort, UnclosedQuoteIsSaid) {
  fs::path p;
  auto msg = error_of("subject_id,age,bmi,event,time_years\n\"S1,70,25,0,1\n", &p);
  EXPECT_EQ(msg, p.string() + ":2: expected 5 cells, found 1 (a quote is not closed)");
}

TEST(Cohort, UnclosedQuoteIsAnErrorEvenWhenBadSubjectsAreExcluded) {
  // The quote swallows every row after it (core::read_csv reads quoted line breaks), so the
  // table cannot be read row by row: excluding would silently drop the rest of the file.
  const auto path = write_csv("subject_id,age,bmi,event,time_years\nS1,70,25,0,1\n"
                              "\"S2,71,25,0,1\nS3,72,25,0,1\n");
  std::vector<vfp::data::Exclusion> excluded;
  try {
    vfp::data::read_cohort(path, &excluded);
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_STREQ(e.what(),
                 (path.string() + ":3: expected 5 cells, found 1 (a quote is not closed)").c_str());
  }
}

TEST(Cohort, QuotedSiteSpanningLinesIsReadAndLaterLinesKeepTheirNumbers) {
  const auto path = write_csv("subject_id,age,bmi,event,time_years,site\n"
                              "S1,70,25,0,1,\"two\nlines\"\nS2,x,25,0,1,A\n");
  std::vector<vfp::data::Exclusion> excluded;
  const auto s = vfp::data::read_cohort(path, &excluded);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].site, "two\nlines");
  ASSERT_EQ(excluded.size(), 1u);
  EXPECT_NE(excluded[0].reason.find(path.string() + ":4: column 'age'"), std::string::npos)
      << excluded[0].reason;
}

// Found by the bad-input corpus: a label beyond int read as another vertebra (4294967316 as
// 20, L1), and a number beyond double escaped as nlohmann's error, without the file.
TEST(Centroids, LabelBeyondIntAndNumberBeyondDoubleNameTheFile) {
  auto wraps = write_csv(R"([{"label": 4294967316, "X": 1, "Y": 2, "Z": 3}])");
  try {
    vfp::data::read_verse_centroids(wraps);
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()), wraps.string() + ": entry 0: 'label' must be an integer "
                                                      "(VerSe: 20 = L1, 21 = L2), got 4294967316");
  }
  auto huge = write_csv(R"([{"label": 20, "X": 1e400, "Y": 2, "Z": 3}])");
  try {
    vfp::data::read_verse_centroids(huge);
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(huge.string() + ": invalid JSON: ", 0), 0u) << e.what();
  }
}

TEST(VertebraNames, FollowVerseNumbering) {
  EXPECT_EQ(vfp::data::vertebra_label("L1"), 20);
  EXPECT_EQ(vfp::data::vertebra_label("L2"), 21);
  EXPECT_EQ(vfp::data::vertebra_label("T12"), 19);
  EXPECT_EQ(vfp::data::vertebra_name(21), "L2");
  EXPECT_THROW(vfp::data::vertebra_label("X9"), vfp::InputError);
}

TEST(Folds, AreStratifiedBalancedAndSeeded) {
  std::vector<int> labels(103, 0);
  for (int i = 0; i < 17; ++i)
    labels[i * 6] = 1;
  auto f = vfp::data::stratified_folds(labels, 4, 7);
  int size[4] = {}, pos[4] = {};
  for (size_t i = 0; i < labels.size(); ++i) {
    ++size[f[i]];
    pos[f[i]] += labels[i];
  }
  for (int k = 0; k < 4; ++k) {
    EXPECT_NEAR(size[k], 103 / 4.0, 1.0);
    EXPECT_NEAR(pos[k], 17 / 4.0, 1.0);
  }
  EXPECT_EQ(f, vfp::data::stratified_folds(labels, 4, 7));
  EXPECT_NE(f, vfp::data::stratified_folds(labels, 4, 8));
}

TEST(Holdout, TakesTheFractionOfEachClass) {
  std::vector<int> labels(100, 0);
  for (int i = 0; i < 20; ++i)
    labels[i] = 1;
  auto held = vfp::data::stratified_holdout(labels, 0.25, 3);
  int n = 0, pos = 0;
  for (size_t i = 0; i < held.size(); ++i)
    if (held[i]) {
      ++n;
      pos += labels[i];
    }
  EXPECT_EQ(n, 25);
  EXPECT_EQ(pos, 5);
}
