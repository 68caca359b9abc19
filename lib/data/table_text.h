// What the cohort table and the centroid table share: a header row naming the columns, then
// data rows with their line numbers. Each reader splits rows its own way (RFC 4180 commas,
// or the study's semicolons) and checks its own cells.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace vfp::data {

struct TableText {
  std::string file;
  std::vector<std::string> header;
  std::map<std::string, std::size_t> column; ///< header name → index
  struct Row {
    int line = 0;
    std::string text; ///< the line as it is in the file, without its line break
    std::vector<std::string> cells;
  };
  std::vector<Row> rows;
};

struct TableFormat {
  std::string what;     ///< "cohort table": how messages name the file's kind
  std::string expected; ///< the header a user should write, e.g. "subject_id,age,..."
  char separator = ',';
  std::vector<std::string> (*split)(std::string_view line) = nullptr;
  std::vector<std::string> required; ///< columns that must be in the header
};

/// A whole cell as a finite number ("1e-3", "-2.5"); false for anything else, empty included
/// (core's parse_decimal: no hex, "inf", '+' or trailing characters).
bool parse_finite(const std::string& cell, double& out);

/// Reads `path`: drops a UTF-8 byte-order mark (spreadsheet exports) and carriage returns,
/// skips rows of nothing but blanks and separators (empty spreadsheet rows). Throws
/// InputError "<what> not found: <file>", "<file>: empty <what> (expected <expected>)" or
/// "<file>:1: missing column '<name>' (expected <expected>)".
TableText read_table_text(const std::filesystem::path& path, const TableFormat& format);

} // namespace vfp::data
