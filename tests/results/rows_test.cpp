// Typed rows of results.jsonl: each kind as its writer writes it today reads and writes back to
// the same JSON; rows of an older vfp read with defaults; a key of the wrong type names itself
// and the row.
#include "core/core.h"
#include "results/results.h"

#include <gtest/gtest.h>

#include "read_error.h"

#include <cmath>
#include <fstream>

namespace {

using namespace vfp::results;
using vfp::results_test::read_error;

// Real rows of results/demo (a sweep with a nested selection over train.lr); the cox and
// selection rows with their calibration bins, risk groups and folds cut to one or two.
const char* const kTrainEval =
    R"({"aggregation":"max","auprc":0.46464801722668747,"auroc":0.7811764705882352,"axes":[["train.lr","1.0e-3"]],"best_epoch":1,"best_val_auprc":0.5587463940912216,"best_val_auroc":0.8649237472766884,"best_val_loss":0.6236036488245392,"config_id":"e4700e66545f98f6","config_index":0,"data_wait_share":0.0024852212800683805,"epochs":9,"excluded":[],"expected_folds":4,"finished":1796185642,"fold":0,"kind":"train_eval","loss":0.6221560887087577,"n_test":100,"n_test_positive":15,"overhead_share":0.04085050758891218,"rank":1,"repeat":0,"resumed_from_epoch":0,"seconds":4.505819863,"seed":14774642314909202748,"status":"ok","task_id":"912abf55279f24ca","threads":2,"train_seconds":3.802779284})";
const char* const kInner =
    R"({"aggregation":"max","auprc":0.5018734263357364,"auroc":0.7719958918178705,"axes":[["train.lr","1.0e-3"]],"best_epoch":1,"best_val_auprc":0.49347826086956526,"best_val_auroc":0.7307692307692307,"best_val_loss":0.990592606532988,"config_id":"e4700e66545f98f6","config_index":0,"data_wait_share":0.005223870588724518,"epochs":9,"excluded":[],"expected_folds":4,"finished":1796185746,"fold":0,"inner_fold":0,"inner_folds":2,"kind":"inner","loss":0.9779040187527901,"n_test":150,"n_test_positive":23,"overhead_share":0.0245124832919007,"rank":1,"repeat":0,"resumed_from_epoch":0,"seconds":2.271197763,"seed":4427151051496952476,"status":"ok","task_id":"45d9f63f571756d6","threads":2,"train_seconds":1.806412858})";
const char* const kCox =
    R"({"calibration":{"cross_fitted":{"bins":[{"events":1,"lower":0.0044268315026814095,"mean_predicted":0.009893098406565472,"n":40,"observed":0.025,"upper":0.12881368963474082}],"brier":0.11432711241679022,"events":60,"intercept":-0.017302748200265033,"mean_predicted":0.15198469515001084,"n":400,"observed_rate":0.15,"slope":0.8896499091224351},"prior_shift":1.7346010553881064,"recalibration":{"intercept":0.022076799615566856,"prior_shift":1.7346010553881064,"slope":1.0004363830504888},"uncalibrated":{"brier":0.11367349523654217,"events":60,"intercept":0.021415054407981183,"mean_predicted":0.14754650839020794,"n":400,"observed_rate":0.15,"slope":1.0004363830504883}},"config_id":"e4700e66545f98f6","config_index":0,"finished":1796185810,"kind":"cox","pooled":{"auroc":0.7505392156862745,"auroc_bootstrap_lower":0.6788676470588235,"auroc_bootstrap_upper":0.8149607843137254,"auroc_delong_lower":0.6796195916666927,"auroc_delong_upper":0.8214588397058562,"average_precision":0.36916180050650593,"average_precision_lower":0.29373746627792097,"average_precision_upper":0.4785436801521338},"rank":1,"seconds":0.611130159,"status":"ok","subjects":400,"survival":{"bootstrap_resamples":1000,"c_baseline":0.7452242209272866,"c_baseline_corrected":0.7422498464954446,"c_baseline_optimism":0.0029743744318420297,"c_difference":0.03384849252596911,"c_difference_lower":0.007963909163576359,"c_difference_upper":0.07287182148417237,"c_image":0.7790727134532557,"c_image_corrected":0.7704472399086923,"c_image_optimism":0.008625473544563306,"events":60,"hr_adjusted_for":["age","bmi"],"optimism_failed_resamples":0,"optimism_resamples":200,"risk_groups":[{"events":4,"group":0,"observed":0.03356579568593465,"observed_lower":0.0006699507158051121,"observed_upper":0.06537877857553942,"predicted":0.016977101087902634,"subjects":134}],"risk_horizon_years":5.0,"score_hr_per_sd":1.9310899505088734,"score_hr_per_sd_lower":1.4371131421681689,"score_hr_per_sd_upper":2.5948606880946525,"score_p":1.2674832945977197e-05,"warnings":[]},"task_id":"67f0e85b380fa8ce"})";
const char* const kSelection =
    R"({"axes":[["train.lr","selected"]],"calibration":{"cross_fitted":{"bins":[{"events":1,"lower":0.0044268315026814095,"mean_predicted":0.007989691116405285,"n":40,"observed":0.025,"upper":0.12881368963474082}],"brier":0.11033718606708195,"events":60,"intercept":-0.01492438627907415,"mean_predicted":0.15164831431474698,"n":400,"observed_rate":0.15,"slope":0.9170749061249569},"prior_shift":1.7346010553881064,"recalibration":{"intercept":0.05731939986506718,"prior_shift":1.7346010553881064,"slope":1.0498901871063313},"uncalibrated":{"brier":0.10977687612406045,"events":60,"intercept":-0.013012872930294505,"mean_predicted":0.15146404808327443,"n":400,"observed_rate":0.15,"slope":1.049890187106332}},"finished":1796185809,"folds":[{"auprc":0.4568117368489761,"auroc":0.7968627450980392,"config_id":"97aab5185c5c24a6","fold":0,"inner_score":0.7777794055001401,"repeat":0,"task_id":"e1e8dd3c8e9f1a7b"},{"auprc":0.3865093974937094,"auroc":0.7576470588235295,"config_id":"e4700e66545f98f6","fold":1,"inner_score":0.8230645395023497,"repeat":0,"task_id":"3b5de08bca75b7d4"}],"inner_folds":2,"kind":"selection","members":["e4700e66545f98f6","97aab5185c5c24a6"],"metric":"auroc","over":["train.lr"],"pooled":{"auroc":0.7755392156862745,"auroc_bootstrap_lower":0.7105845588235294,"auroc_bootstrap_upper":0.8397083333333334,"auroc_delong_lower":0.7089976030451165,"auroc_delong_upper":0.8420808283274325,"average_precision":0.39124106592760616,"average_precision_lower":0.3110213236939928,"average_precision_upper":0.5102101926962165},"rank":0,"seconds":0.602884308,"status":"ok","subjects":400,"survival":{"bootstrap_resamples":1000,"c_baseline":0.7452242209272866,"c_baseline_corrected":0.7385782736373995,"c_baseline_optimism":0.006645947289887127,"c_difference":0.05528249303268307,"c_difference_lower":0.02107796340734102,"c_difference_upper":0.09645940931230619,"c_image":0.8005067139599696,"c_image_corrected":0.7962796649589509,"c_image_optimism":0.004227049001018798,"events":60,"hr_adjusted_for":["age","bmi"],"optimism_failed_resamples":0,"optimism_resamples":200,"risk_groups":[{"events":4,"group":0,"observed":0.03355951701983495,"observed_lower":0.0006731429994240035,"observed_upper":0.06536364894034241,"predicted":0.013012599883132987,"subjects":134}],"risk_horizon_years":5.0,"score_hr_per_sd":2.298895115616382,"score_hr_per_sd_lower":1.6892922395018564,"score_hr_per_sd_upper":3.128481046099692,"score_p":1.1893157536300787e-07,"warnings":[]},"task_id":"1611aaa8c08f25a3","wins":{"97aab5185c5c24a6":2,"e4700e66545f98f6":2}})";

/// What runner/coordinator.cpp's record_failure appends for a task that failed for good.
nlohmann::json failure_row() {
  return {{"kind", "inner"},
          {"task_id", "45d9f63f571756d6"},
          {"config_id", "e4700e66545f98f6"},
          {"config_index", 0},
          {"axes", nlohmann::json::array({nlohmann::json::array({"train.lr", "1.0e-3"})})},
          {"fold", 0},
          {"repeat", 0},
          {"expected_folds", 4},
          {"status", "failed"},
          {"rank", 2},
          {"reason", "rank 2 exited (signal 9)"},
          {"inner_fold", 1}};
}

/// What tasks/pretrain.cpp returns and the coordinator appends.
nlohmann::json pretrain_row() {
  return {{"kind", "pretrain"},
          {"task_id", "byol-0a1b2c3d4e5f6a7b"},
          {"checkpoint", "results/demo/pretrain/byol-0a1b2c3d4e5f6a7b/byol.safetensors"},
          {"seed", 18446744073709551557ull},
          {"patches", 1200u},
          {"epochs", 10u},
          {"steps", 380},
          {"resumed_from_epoch", 0},
          {"final_loss", 0.0734},
          {"threads", 4},
          {"seconds", 81.5},
          {"status", "ok"},
          {"rank", 1},
          {"finished", 1796185642}};
}

void expect_round_trip(const nlohmann::json& original) {
  const auto typed = row_from_json(original);
  const auto back = to_json(typed);
  EXPECT_EQ(back, original);
  EXPECT_EQ(back.dump(), original.dump()); // number types and all
}

TEST(Rows, RoundTrip_WhenRowsAreAsTheirWritersWriteThem) {
  for (const char* text : {kTrainEval, kInner, kCox, kSelection}) {
    SCOPED_TRACE(std::string(text).substr(0, 80));
    expect_round_trip(nlohmann::json::parse(text));
  }
  expect_round_trip(failure_row());
  expect_round_trip(pretrain_row());
}

TEST(Rows, KindDecidesTheType_AndAFailedTaskIsAFailureRow) {
  EXPECT_TRUE(
      std::holds_alternative<TrainEvalRow>(row_from_json(nlohmann::json::parse(kTrainEval))));
  EXPECT_TRUE(std::holds_alternative<TrainEvalRow>(row_from_json(nlohmann::json::parse(kInner))));
  EXPECT_TRUE(std::holds_alternative<CoxRow>(row_from_json(nlohmann::json::parse(kCox))));
  EXPECT_TRUE(
      std::holds_alternative<SelectionRow>(row_from_json(nlohmann::json::parse(kSelection))));
  EXPECT_TRUE(std::holds_alternative<FailureRow>(row_from_json(failure_row())));
  EXPECT_TRUE(std::holds_alternative<PretrainRow>(row_from_json(pretrain_row())));
  EXPECT_TRUE(std::holds_alternative<OtherRow>(row_from_json({{"kind", "preprocess"}})));
}

TEST(Rows, FieldsAreRead_WhenATrainEvalRowIsParsed) {
  TrainEvalRow r;
  from_json(nlohmann::json::parse(kInner), r);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.kind, "inner");
  EXPECT_EQ(r.config_id, "e4700e66545f98f6");
  ASSERT_EQ(r.axes.size(), 1u);
  EXPECT_EQ(r.axes[0], std::make_pair(std::string("train.lr"), std::string("1.0e-3")));
  EXPECT_EQ(r.inner_fold, 0);
  EXPECT_EQ(r.inner_folds, 2);
  EXPECT_EQ(r.seed, 4427151051496952476ull);
  EXPECT_DOUBLE_EQ(r.auroc, 0.7719958918178705);
  EXPECT_EQ(r.rank, 1);
  EXPECT_EQ(r.finished, 1796185746);
  EXPECT_TRUE(r.extra.empty());
}

TEST(Rows, FailureRowKeepsItsConfigurationAndReason) {
  const auto row = row_from_json(failure_row());
  const auto& f = std::get<FailureRow>(row);
  EXPECT_FALSE(f.ok());
  EXPECT_EQ(f.reason, "rank 2 exited (signal 9)");
  EXPECT_EQ(f.expected_folds, 4);
  EXPECT_EQ(f.inner_fold, 1);
  EXPECT_FALSE(f.inner_folds.has_value());
}

TEST(Rows, OlderRowReadsWithDefaults_WhenItLacksNewerKeys) {
  // A train_eval row as the first vfp wrote it: no loss, no validation AUPRC/loss, no
  // aggregation, no exclusions; a failure row with neither axes nor expected folds.
  const nlohmann::json old = {{"kind", "train_eval"},
                              {"task_id", "t1"},
                              {"config_id", "c1"},
                              {"config_index", 0},
                              {"fold", 1},
                              {"repeat", 0},
                              {"seed", 7},
                              {"auroc", 0.75},
                              {"auprc", 0.4},
                              {"n_test", 50},
                              {"n_test_positive", 8},
                              {"best_epoch", 3},
                              {"epochs", 5},
                              {"best_val_auroc", 0.7},
                              {"threads", 2},
                              {"seconds", 1.5},
                              {"status", "ok"}};
  const auto r = std::get<TrainEvalRow>(row_from_json(old));
  EXPECT_FALSE(r.loss.has_value());
  EXPECT_FALSE(r.best_val_loss.has_value());
  EXPECT_EQ(r.best_val_auroc, 0.7);
  EXPECT_EQ(r.aggregation, "");
  EXPECT_TRUE(r.excluded.empty());
  EXPECT_TRUE(r.axes.empty());
  EXPECT_EQ(r.expected_folds, 0);
  EXPECT_FALSE(r.constant_scores);
  const auto f = std::get<FailureRow>(
      row_from_json({{"kind", "train_eval"}, {"task_id", "t2"}, {"status", "failed"}}));
  EXPECT_TRUE(f.axes.empty());
  EXPECT_EQ(f.config_index, 0);
  // Written back, it loses nothing it had.
  const auto back = to_json(Row(r));
  for (const auto& [key, value] : old.items())
    EXPECT_EQ(back.at(key), value) << key;
}

TEST(Rows, UnknownKeysAreKept_WhenARowOfANewerVfpIsRead) {
  auto j = nlohmann::json::parse(kTrainEval);
  j["calibrated_auroc"] = 0.79;
  j["gpu"] = {{"name", "H200"}};
  const auto row = row_from_json(j);
  EXPECT_EQ(header_of(row).extra.size(), 2u);
  EXPECT_EQ(to_json(row), j);
  const nlohmann::json other = {{"kind", "distill"}, {"task_id", "d1"}, {"teacher", "x"}};
  EXPECT_EQ(to_json(row_from_json(other)), other);
}

TEST(Rows, NullFigureReadsAsNaN_AndWritesBackAsNull) {
  // JSON holds a non-finite number (a test fold with one class) as null.
  auto j = nlohmann::json::parse(kTrainEval);
  j["auroc"] = nullptr;
  j["best_val_loss"] = nullptr;
  const auto row = row_from_json(j);
  EXPECT_TRUE(std::isnan(std::get<TrainEvalRow>(row).auroc));
  EXPECT_EQ(to_json(row), j);
}

TEST(Rows, WrongTypeIsAnInputError_NamingTheKeyAndTheRow) {
  auto j = nlohmann::json::parse(kTrainEval);
  j["auroc"] = "0.78";
  EXPECT_EQ(read_error(j), "results row of task 912abf55279f24ca (kind train_eval): 'auroc' is "
                           "string, expected a number");
  auto s = nlohmann::json::parse(kSelection);
  s["axes"] = nlohmann::json::array({nlohmann::json::array({"train.lr"})});
  EXPECT_EQ(read_error(s), "results row of task 1611aaa8c08f25a3 (kind selection): 'axes' is "
                           "array, expected a list of [key, value] strings");
  EXPECT_EQ(read_error({{"kind", "cox"}, {"task_id", "x"}, {"config_index", 1.5}}),
            "results row of task x (kind cox): 'config_index' is number, expected an integer");
  EXPECT_EQ(read_error({{"kind", "train_eval"}, {"rank", "1"}}),
            "results row of task ? (kind train_eval): 'rank' is string, expected an integer");
}

TEST(Rows, EveryRowOfTheLocalSweepsRoundTrips_WhenAnyHasRun) {
  // results/ is not in git: `make demo` and the seed-noise study fill it.
  const std::filesystem::path root = VFP_SOURCE_DIR "/results";
  int sweeps = 0;
  if (std::filesystem::is_directory(root))
    for (const auto& entry : std::filesystem::directory_iterator(root)) {
      const SweepFolder sweep(entry.path());
      if (!std::filesystem::is_regular_file(sweep.results()))
        continue;
      ++sweeps;
      for (const auto& row : read_rows(sweep))
        EXPECT_EQ(to_json(row_from_json(row)), row) << sweep.name() << ": " << row.dump();
    }
  if (sweeps == 0)
    GTEST_SKIP() << "no sweep has run under results/";
}

} // namespace
