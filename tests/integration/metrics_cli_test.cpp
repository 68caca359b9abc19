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

} // namespace
