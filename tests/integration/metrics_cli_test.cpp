// `vfp metrics` on CSV files: numbers as pROC and scikit-learn, per fold and pooled, the
// comparison of two scores, curve files, and errors that name file, line and column.
#include "shell.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace {

using namespace vfp::integration;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

class MetricsCli : public ScratchDirTest {
protected:
  static Output metrics(const std::string& csv, const std::string& rest) {
    return run(std::string(VFP_BIN) + " metrics --csv " + csv + " " + rest);
  }
  static std::string reference(const std::string& name) {
    return std::string(VFP_SOURCE_DIR) + "/tests/metrics/reference/" + name;
  }
};

// Reference values: scikit-learn 1.2.1 (make_reference.py) and pROC 1.18.0
// (make_reference.R) on tests/metrics/reference/two_scores_random.csv.
TEST_F(MetricsCli, ComparesTwoScoresAsPRocAndScikitLearn) {
  auto out = metrics(reference("two_scores_random.csv"),
                     "--label label --score score_a,score_b --fold fold --bootstrap 500 --json");
  ASSERT_EQ(out.code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  const auto a = j["pooled"]["scores"]["score_a"];
  EXPECT_EQ(j["pooled"]["n"], 300);
  EXPECT_EQ(j["pooled"]["positives"], 137);
  EXPECT_NEAR(a["auroc"].get<double>(), 0.7009538309972684, 1e-12);               // sklearn
  EXPECT_NEAR(a["average_precision"].get<double>(), 0.6423083323248971, 1e-12);   // sklearn
  EXPECT_NEAR(a["auroc_delong"]["lower"].get<double>(), 0.642135324752106, 1e-9); // pROC
  EXPECT_NEAR(a["auroc_delong"]["upper"].get<double>(), 0.759772337242431, 1e-9);
  EXPECT_NEAR(j["pooled"]["scores"]["score_b"]["average_precision"].get<double>(),
              0.5623578994268625, 1e-12);
  const auto d = j["delong"];
  EXPECT_NEAR(d["z"].get<double>(), 4.39077558808967, 1e-8);      // pROC roc.test
  EXPECT_NEAR(d["p"].get<double>(), 1.12947063151242e-05, 1e-12); // pROC roc.test
  EXPECT_NEAR(d["lower"].get<double>(), 0.0453435578537255, 1e-9);
  // Five folds of 60: per-fold numbers, their mean ± SD and the corrected t-test on them.
  ASSERT_EQ(j["folds"].size(), 5u);
  EXPECT_EQ(j["folds"]["3"]["n"], 60);
  double mean = 0;
  for (const auto& [fold, group] : j["folds"].items())
    mean += group["scores"]["score_a"]["auroc"].get<double>() / 5;
  EXPECT_NEAR(j["fold_summary"]["score_a"]["auroc_mean"].get<double>(), mean, 1e-12);
  const auto t = j["corrected_t_test"];
  EXPECT_EQ(t["df"], 4);
  EXPECT_NEAR(t["test_train_ratio"].get<double>(), 0.25, 1e-12);
  EXPECT_GT(t["p"].get<double>(), d["p"].get<double>()) << "folds are a weaker comparison";
  // The pooled bootstrap is stratified by fold, and the same seed gives the same numbers.
  EXPECT_EQ(j["bootstrap"]["kind"], "percentile, stratified by fold and class");
  EXPECT_EQ(metrics(reference("two_scores_random.csv"),
                    "--label label --score score_a,score_b --fold fold --bootstrap 500 --json")
                .text,
            out.text);
}

TEST_F(MetricsCli, PrintsATableAndWritesCurvePoints) {
  const auto curves = (dir_ / "curves").string();
  auto out = metrics(reference("two_scores_ties.csv"),
                     "--label label --score score_a --bootstrap 200 --curves " + curves);
  ASSERT_EQ(out.code, 0) << out.text;
  EXPECT_NE(out.text.find("| pooled (300) | score_a | 0.719 (0.662–0.777) |"), std::string::npos)
      << out.text; // pROC: AUC 0.7192, DeLong 0.6619–0.7765
  const auto roc = lines_of(read(fs::path(curves) / "roc_score_a.csv"));
  ASSERT_GE(roc.size(), 3u);
  EXPECT_EQ(roc.front(), "threshold,fpr,tpr");
  EXPECT_EQ(roc.back().substr(roc.back().find(',')), ",1.000000000,1.000000000");
  const auto pr = lines_of(read(fs::path(curves) / "pr_score_a.csv"));
  EXPECT_EQ(pr[1], "inf,0.000000000,1.000000000");
}

TEST_F(MetricsCli, BadInputIsAnErrorNamingFileLineAndColumn) {
  const auto csv = write("oof.csv", "label,score,fold\n1,0.9,0\n0,0.1,0\n1,0.8,1\n0,0.2,1\n"
                                    "1,0.7,0\n0,0.3,1\n");
  auto expect_error = [&](const std::string& file, const std::string& args,
                          const std::string& message) {
    auto out = metrics(file, args);
    EXPECT_NE(out.code, 0) << args;
    EXPECT_NE(out.text.find(message), std::string::npos) << args << "\n" << out.text;
  };
  expect_error(csv, "--label outcome --score score",
               csv + ": no column 'outcome' (columns: label, score, fold)");
  expect_error(write("bad_cell.csv", "label,score\n1,0.9\n0,n/a\n"), "--label label --score score",
               "bad_cell.csv:3: column score: 'n/a' is not a number");
  expect_error(write("bad_label.csv", "label,score\n1,0.9\n2,0.1\n"), "--label label --score score",
               "bad_label.csv:3: column label: 2.000000 is not a label (1 positive, 0 negative)");
  expect_error(write("one_class.csv", "label,score\n1,0.9\n1,0.1\n1,0.5\n"),
               "--label label --score score",
               "one_class.csv: pooled has 3 positive and 0 negative rows in column label");
  expect_error(csv, "--label label --score score --fold fold",
               csv + ": fold 0 has 2 positive and 1 negative rows in column label");
  expect_error(csv, "--label label --score score,score", "--score names column score twice");
  expect_error(csv, "--label label --score score,fold,label",
               "--score takes one or two columns, got 3");
  expect_error((dir_ / "absent.csv").string(), "--label label --score score", "absent.csv");
}

TEST_F(MetricsCli, ALinkToDevZeroIsRefusedNotReadForEver) {
  const auto link = dir_ / "oof.csv";
  fs::create_symlink("/dev/zero", link);
  auto out = run("timeout 30 " + std::string(VFP_BIN) + " metrics --csv " + link.string() +
                 " --label label --score score");
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_NE(out.text.find("CSV file " + link.string() +
                          " (a link to /dev/zero) is a character device, not a regular file"),
            std::string::npos)
      << out.text;
}

TEST_F(MetricsCli, AScoreColumnNamedLikeAPathWritesNoCurveFile) {
  // Curve files are named after the --score column: one path component inside --curves.
  const auto csv = write("path.csv", "label,../../escape\n1,0.9\n0,0.1\n1,0.8\n0,0.2\n");
  auto out = metrics(csv, "--label label --score ../../escape --curves " + (dir_ / "c").string());
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_NE(out.text.find("--score ../../escape with --curves: curve file 'roc_../../escape.csv' "
                          "holds a '/'"),
            std::string::npos)
      << out.text;
  EXPECT_FALSE(fs::exists(dir_ / "c")) << "refused before anything was written";
}

TEST_F(MetricsCli, ARefusedRowIsNamedByItsLineAfterABlankLine) {
  const auto csv = write("blank.csv", "label,score\n1,0.9\n\n0,0.1\n2,0.5\n");
  auto out = metrics(csv, "--label label --score score");
  EXPECT_NE(out.text.find("blank.csv:5: column label: 2.000000 is not a label"), std::string::npos)
      << out.text;
}

} // namespace

// Issue 23 row 16: a bootstrap that runs for minutes says how far it is on stderr; the interval
// set to 0 (VFP_PROGRESS_INTERVAL) prints every resample, so the test needs no long run. The
// JSON on stdout stays clean.
TEST_F(MetricsCli, ALongBootstrapPrintsProgressOnStderrAndLeavesTheJsonClean) {
  const auto progress = (dir_ / "progress.txt").string();
  auto out =
      run("(VFP_PROGRESS_INTERVAL=0 " + std::string(VFP_BIN) + " metrics --csv " +
          reference("two_scores_random.csv") +
          " --label label --score score_a --fold fold --bootstrap 50 --json 2>" + progress + ")");
  ASSERT_EQ(out.code, 0) << out.text;
  EXPECT_NO_THROW(nlohmann::json::parse(out.text)) << out.text;
  const auto text = read(progress);
  // Pooled and 5 folds, 50 resamples each (AUROC and AP share them).
  EXPECT_NE(text.find("vfp metrics: bootstrap resamples: 1/300 (0 %)"), std::string::npos) << text;
  EXPECT_NE(text.find("vfp metrics: bootstrap resamples: 300/300 done in "), std::string::npos)
      << text;
  // Without the variable a short run prints nothing (the first line waits ~2 s).
  out = run("(" + std::string(VFP_BIN) + " metrics --csv " + reference("two_scores_random.csv") +
            " --label label --score score_a --bootstrap 20 --json 2>" + progress + ")");
  ASSERT_EQ(out.code, 0) << out.text;
  EXPECT_EQ(read(progress).find("bootstrap resamples"), std::string::npos) << read(progress);
}

// Issue 23 row 17: all-equal scores rank nothing. scikit-learn 1.9.1 (pip, in a venv) on these
// labels [1,0,1,0 | 1,0,1,0] with every score 0.3: roc_auc_score 0.5, average_precision_score
// 0.5 (the prevalence), auc(recall, precision) of precision_recall_curve 0.75. DeLong's variance
// is 0, so its "interval" is no interval: n/a (null in JSON), and a warning says why.
TEST_F(MetricsCli, ConstantScoresWarnAndShowNoDelongInterval) {
  const auto csv = write("constant.csv", "label,score,fold\n1,0.3,0\n0,0.3,0\n1,0.3,0\n0,0.3,0\n"
                                         "1,0.3,1\n0,0.3,1\n1,0.3,1\n0,0.3,1\n");
  auto out = metrics(csv, "--label label --score score --fold fold --bootstrap 50 --json");
  ASSERT_EQ(out.code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  const auto s = j["pooled"]["scores"]["score"];
  EXPECT_EQ(s["auroc"].get<double>(), 0.5);             // sklearn
  EXPECT_EQ(s["average_precision"].get<double>(), 0.5); // sklearn: the prevalence
  EXPECT_EQ(s["auprc_trapezoid"].get<double>(), 0.75);  // sklearn auc(recall, precision)
  EXPECT_TRUE(s["auroc_delong"]["lower"].is_null()) << s.dump();
  EXPECT_TRUE(s["auroc_delong"]["upper"].is_null()) << s.dump();
  ASSERT_EQ(j["warnings"].size(), 3u) << j["warnings"].dump(); // pooled and each fold
  EXPECT_EQ(j["warnings"][0],
            "score column score, pooled rows: every score is 0.300000: the scores carry no "
            "ranking information; the AUROC is 0.5 by ties, DeLong's interval is undefined "
            "(n/a), AP equals the prevalence (0.500) and the AUPRC trapezoid (1 + prevalence) / "
            "2");
  EXPECT_NE(j["warnings"][1].get<std::string>().find("fold 0 rows"), std::string::npos);
  out = metrics(csv, "--label label --score score --bootstrap 50");
  ASSERT_EQ(out.code, 0) << out.text;
  EXPECT_NE(out.text.find("| pooled (8) | score | 0.500 (n/a) |"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("Warning: score column score, pooled rows: every score is 0.300000"),
            std::string::npos)
      << out.text;
  // Scores that differ carry no warning.
  out = metrics(reference("two_scores_random.csv"), "--label label --score score_a --json");
  ASSERT_EQ(out.code, 0) << out.text;
  EXPECT_TRUE(nlohmann::json::parse(out.text)["warnings"].empty());
}
