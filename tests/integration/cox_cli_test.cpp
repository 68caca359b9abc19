// `vfp cox` on CSV files: the table, JSON, and errors that name file, line and column.
#include "shell.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <fstream>

namespace {

using namespace vfp::integration;

class CoxCli : public ScratchDirTest {
protected:
  Output cox(const std::string& csv, const std::string& rest) {
    return run(std::string(VFP_BIN) + " cox --csv " + csv + " " + rest);
  }
};

TEST_F(CoxCli, FitsTheLungDataAsRAndPrintsJson) {
  const auto lung = std::string(VFP_SOURCE_DIR) + "/tests/survival/reference/lung.csv";
  auto out =
      cox(lung, "--time time --event status --covariates age,sex,ph.ecog --standardize --json");
  ASSERT_EQ(out.code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  EXPECT_EQ(j["n"], 227);
  EXPECT_EQ(j["terms"].size(), 3u);
  EXPECT_EQ(j["terms"][1]["name"], "sex");
  EXPECT_TRUE(j["terms"][0].contains("hr_per_sd"));
  EXPECT_EQ(j["concordance"]["direction"], "higher linear predictor = higher risk");
  auto table = cox(lung, "--time time --event status --covariates age,sex,ph.ecog");
  ASSERT_EQ(table.code, 0) << table.text;
  EXPECT_NE(table.text.find("| sex | "), std::string::npos) << table.text;
  EXPECT_NE(table.text.find("likelihood-ratio test"), std::string::npos) << table.text;
}

TEST_F(CoxCli, ReportsUnosCUpToATruncationTime) {
  const auto lung = std::string(VFP_SOURCE_DIR) + "/tests/survival/reference/lung.csv";
  auto out = cox(lung, "--time time --event status --covariates age,sex,ph.ecog --uno 365 --json");
  ASSERT_EQ(out.code, 0) << out.text;
  const auto uno = nlohmann::json::parse(out.text)["uno_concordance"];
  // R: concordance(..., timewt = "n/G2", ymax = 365), as in tests/survival/cox_test.cpp.
  EXPECT_NEAR(uno["c"].get<double>(), 0.633096748424652, 1e-9);
  EXPECT_EQ(uno["truncation"].get<double>(), 365.0);
  auto early = cox(lung, "--time time --event status --covariates age,sex,ph.ecog --uno 1");
  EXPECT_NE(early.code, 0);
  EXPECT_NE(early.text.find("lung.csv: Uno's C up to 1.000000: concordance: no comparable pair"),
            std::string::npos)
      << early.text;
}

TEST_F(CoxCli, ComparesTheModelWithABaselineByConcordance) {
  const auto lung = std::string(VFP_SOURCE_DIR) + "/tests/survival/reference/lung.csv";
  const auto args = "--time time --event status --covariates ph.ecog,age,sex --baseline age,sex "
                    "--bootstrap 100 --seed 3 --json";
  auto out = cox(lung, args);
  ASSERT_EQ(out.code, 0) << out.text;
  const auto c = nlohmann::json::parse(out.text)["comparison"];
  EXPECT_NEAR(c["c_model"].get<double>(), 0.637135493000455, 1e-9); // R's, as in tests/survival
  EXPECT_GT(c["c_difference"].get<double>(), 0.0);
  EXPECT_LT(c["difference_lower"].get<double>(), c["c_difference"].get<double>());
  EXPECT_GT(c["difference_upper"].get<double>(), c["c_difference"].get<double>());
  EXPECT_EQ(c["resamples"].get<int>() + c["failed_resamples"].get<int>(), 100);
  EXPECT_EQ(cox(lung, args).text, out.text) << "the same seed gives the same interval";
  auto missing = cox(lung, "--time time --event status --covariates age --baseline weight");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.text.find("no column 'weight'"), std::string::npos) << missing.text;
}

TEST_F(CoxCli, BadTablesAreErrorsNamingFileLineAndColumn) {
  const auto good = "t,e,x,c\n1,1,0.5,3\n2,0,0.1,3\n3,1,0.9,3\n4,0,0.3,3\n";
  const auto f = write("good.csv", good);
  auto missing = cox(f, "--time t --event e --covariates x,bmi");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.text.find(f + ": no column 'bmi' (columns: t, e, x, c)"), std::string::npos)
      << missing.text;
  const auto bad_cell = write("cell.csv", "t,e,x\n1,1,0.5\n2,0,abc\n");
  auto cell = cox(bad_cell, "--time t --event e --covariates x");
  EXPECT_EQ(cell.code, 1);
  EXPECT_NE(cell.text.find(bad_cell + ":3: column x: 'abc' is not a number"), std::string::npos)
      << cell.text;
  const auto censored = write("censored.csv", "t,e,x\n1,0,0.5\n2,0,0.1\n3,0,0.7\n");
  auto none = cox(censored, "--time t --event e --covariates x");
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.text.find("every subject is censored"), std::string::npos) << none.text;
  auto constant = cox(f, "--time t --event e --covariates x,c");
  EXPECT_EQ(constant.code, 1);
  EXPECT_NE(constant.text.find("covariate c is constant"), std::string::npos) << constant.text;
  const auto bad_event = write("event.csv", "t,e,x\n1,1,0.5\n2,2,0.1\n3,0,0.7\n");
  auto event = cox(bad_event, "--time t --event e --covariates x");
  EXPECT_EQ(event.code, 1);
  EXPECT_NE(event.text.find(bad_event + ":3: column e"), std::string::npos) << event.text;
  auto nofile = cox((dir_ / "nope.csv").string(), "--time t --event e --covariates x");
  EXPECT_EQ(nofile.code, 1);
  EXPECT_NE(nofile.text.find("nope.csv"), std::string::npos) << nofile.text;
}

TEST_F(CoxCli, AFifoOrAHexCellIsRefusedNotWaitedOnOrReadAsANumber) {
  const auto fifo = (dir_ / "table.csv").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // `timeout`: a FIFO without a writer used to block open() for ever.
  auto out = run("timeout 30 " + std::string(VFP_BIN) + " cox --csv " + fifo +
                 " --time t --event e --covariates x");
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_NE(out.text.find("CSV file " + fifo + " is a FIFO, not a regular file"), std::string::npos)
      << out.text;
  const auto hex = write("hex.csv", "t,e,x\n1,1,0.5\n2,0,0x40\n3,1,0.7\n");
  auto cell = cox(hex, "--time t --event e --covariates x");
  EXPECT_EQ(cell.code, 1);
  EXPECT_NE(cell.text.find(hex + ":3: column x: '0x40' is not a number"), std::string::npos)
      << cell.text;
}

} // namespace

TEST_F(CoxCli, ATimeOfZeroIsFitAndANegativeTimeNamesItsLine) {
  const auto zero = write("zero.csv", "t,e,x\n0,1,0.5\n1,0,0.1\n2,1,0.9\n3,1,0.3\n4,0,0.2\n"
                                      "5,1,0.8\n6,0,0.4\n7,1,0.6\n");
  auto fit = cox(zero, "--time t --event e --covariates x --json");
  ASSERT_EQ(fit.code, 0) << fit.text;
  EXPECT_EQ(nlohmann::json::parse(fit.text)["n"], 8);
  // A blank line is skipped, so the line is the file's, not the row's number.
  const auto negative = write("negative.csv", "t,e,x\n0,1,0.5\n\n2,0,0.1\n-1,1,0.9\n");
  auto refused = cox(negative, "--time t --event e --covariates x");
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.text.find(negative + ":5: column t: -1 is negative: times must be 0 or more"),
            std::string::npos)
      << refused.text;
  const auto event = write("event_after_blank.csv", "t,e,x\n1,1,0.5\n\n2,2,0.1\n");
  auto bad_event = cox(event, "--time t --event e --covariates x");
  EXPECT_NE(bad_event.text.find(event + ":4: column e"), std::string::npos) << bad_event.text;
}
