// Writing CSV cells: RFC 4180 quoting that split_csv_row reads back, and the spreadsheet-safe
// variant for report tables.
#include "core/core.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using vfp::csv_field;
using vfp::split_csv_row;
using vfp::spreadsheet_csv_field;

TEST(CsvField, LeavesPlainTextAsItIs) {
  EXPECT_EQ(csv_field("S0001"), "S0001");
  EXPECT_EQ(csv_field(""), "");
  EXPECT_EQ(csv_field("-0.5"), "-0.5");
  EXPECT_EQ(csv_field("=HYPERLINK(\"x\")"), "\"=HYPERLINK(\"\"x\"\")\"") // quoted, not altered
      << "a quote forces quoting; the text itself is kept";
}

TEST(CsvField, QuotesCommasQuotesAndLineBreaks) {
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_field("cr\r"), "\"cr\r\"");
}

TEST(CsvField, RoundTripsThroughSplitCsvRow) {
  const std::vector<std::string> ids{"S0003,\"x\"", "a,b",  "\"",   "\"\"", ",",
                                     "=1+2",        "@sum", "-cmd", "plain"};
  for (const auto& id : ids) {
    const auto cells = split_csv_row(csv_field(id) + ",1," + csv_field(id));
    ASSERT_EQ(cells.size(), 3u) << id;
    EXPECT_EQ(cells[0], id);
    EXPECT_EQ(cells[1], "1");
    EXPECT_EQ(cells[2], id);
  }
}

TEST(SpreadsheetCsvField, NeutralisesFormulaStartsWithAQuote) {
  EXPECT_EQ(spreadsheet_csv_field("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  EXPECT_EQ(spreadsheet_csv_field("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
  EXPECT_EQ(spreadsheet_csv_field("-2+3+cmd"), "'-2+3+cmd");
  EXPECT_EQ(spreadsheet_csv_field("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(spreadsheet_csv_field("\t=1"), "'\t=1");
  EXPECT_EQ(spreadsheet_csv_field("\r=1"), "\"'\r=1\"");
}

TEST(SpreadsheetCsvField, NeverAltersNumbersOrPlainText) {
  for (const char* number : {"-0.5", "+1e-3", "-12.", "-.5", "3", "-1E+10", "0.001"})
    EXPECT_EQ(spreadsheet_csv_field(number), number);
  EXPECT_EQ(spreadsheet_csv_field("sgd"), "sgd");
  EXPECT_EQ(spreadsheet_csv_field("a=b"), "a=b");
  EXPECT_EQ(spreadsheet_csv_field("nested (3 inner folds): 0.1 ×2, 0.01 ×1"),
            "\"nested (3 inner folds): 0.1 ×2, 0.01 ×1\"");
  EXPECT_EQ(spreadsheet_csv_field(""), "");
  // Not a number, though it starts like one: neutralised.
  EXPECT_EQ(spreadsheet_csv_field("-1e"), "'-1e");
  EXPECT_EQ(spreadsheet_csv_field("-"), "'-");
}

} // namespace
