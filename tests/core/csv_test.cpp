// Writing CSV cells: RFC 4180 quoting that split_csv_row reads back, and the spreadsheet-safe
// variant for report tables; and the one CSV reader's rules (core.h, read_csv).
#include "core/core.h"
#include "scratch_dir.h"

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

// The one reader's rules, where the cohort/centroid reader and read_csv used to differ.

std::string write(const std::string& name, const std::string& text) {
  const auto file = vfp::testing::fresh_dir("csv_read_" + name) / name;
  vfp::write_file_atomically(file, text);
  return file.string();
}

std::string error_of(const std::string& file, const vfp::CsvFormat& format = {}) {
  try {
    vfp::read_csv(file, format);
  } catch (const vfp::InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ReadCsv, RowsOfOnlySeparatorsAreSkippedAndLineNumbersStayTheFiles) {
  // read_csv kept ",,," rows as rows of empty cells; the cohort reader skipped them.
  const auto file = write("blank.csv", "a,b\n1,2\n,,\n , \n\n3,4\n");
  const auto csv = vfp::read_csv(file);
  ASSERT_EQ(csv.rows.size(), 2u);
  EXPECT_EQ(csv.rows[1].line, 6);
  EXPECT_EQ(csv.rows[1].cells, (std::vector<std::string>{"3", "4"}));
}

TEST(ReadCsv, QuotedCellSpanningLinesIsOneCellAndLaterLinesKeepTheirNumbers) {
  // Both readers split at every line break, so csv_field("two\nlines") did not read back.
  const auto file = write("multi.csv", "id,score\n" + vfp::csv_field("two\nlines") + ",1\nS2,2\n");
  const auto csv = vfp::read_csv(file);
  ASSERT_EQ(csv.rows.size(), 2u);
  EXPECT_EQ(csv.rows[0].cells[0], "two\nlines");
  EXPECT_EQ(csv.rows[0].line, 2);
  EXPECT_EQ(csv.rows[1].line, 4);
}

TEST(ReadCsv, UnclosedQuoteIsAnErrorNamingFileAndLine) {
  // read_csv read a quote left open as a short row; now every reader refuses it alike.
  const auto file = write("open.csv", "a,b\n1,2\n\"3,4\n5,6\n");
  EXPECT_EQ(error_of(file), file + ":3: expected 2 cells, found 1 (a quote is not closed)");
  const auto header = write("open_header.csv", "\"a,b\n1,2\n");
  EXPECT_EQ(error_of(header), header + ":1: a quote is not closed");
}

TEST(ReadCsv, BomAndCrlfAreAcceptedAndQuotedTextIsNotTrimmed) {
  const auto file = write("bom.csv", "\xEF\xBB\xBF"
                                     "a , b\r\n \" x \" ,\"cr\r\"\r\n");
  const auto csv = vfp::read_csv(file);
  EXPECT_EQ(csv.header, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(csv.rows.size(), 1u);
  EXPECT_EQ(csv.rows[0].cells, (std::vector<std::string>{" x ", "cr\r"}));
}

TEST(ReadCsv, MissingAndEmptyFilesAreNamedAsTheFormatSays) {
  // read_csv threw IoError "cannot open" for a missing file; the cohort reader said "not found".
  EXPECT_EQ(error_of("/nope/scores.csv"), "CSV file not found: /nope/scores.csv");
  const auto empty = write("empty.csv", "\xEF\xBB\xBF");
  EXPECT_EQ(error_of(empty, {"score table", "score,event", ',', {}}),
            empty + ": empty score table (expected score,event)");
  const auto file = write("columns.csv", "score\n1\n");
  EXPECT_EQ(error_of(file, {"score table", "score,event", ',', {"score", "event"}}),
            file + ":1: missing column 'event' (expected score,event)");
}

TEST(ReadCsv, SemicolonSeparatorKeepsQuotingAndCommas) {
  const auto file = write("semi.csv", "id;x\n\"a;b\";12,5\n;\n");
  const auto csv = vfp::read_csv(file, {"centroid table", "id;x", ';', {}});
  ASSERT_EQ(csv.rows.size(), 1u);
  EXPECT_EQ(csv.rows[0].cells, (std::vector<std::string>{"a;b", "12,5"}));
}

} // namespace
