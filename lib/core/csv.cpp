// Reading and writing CSV: one reader by the rules in core.h, RFC 4180 quoting for every file
// vfp writes, and the spreadsheet-safe variant for tables meant for a spreadsheet.
#include "core/core.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

namespace vfp {

namespace {
/// Whether `text` is a plain decimal number: an optional sign ('-', or also '+' when
/// `plus_sign`), digits with an optional fraction, an optional exponent; nothing else. What
/// vfp reads as a number, and what a spreadsheet never takes for a formula.
bool decimal_form(std::string_view text, bool plus_sign) {
  std::size_t i = 0;
  auto digits = [&] {
    const auto start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9')
      ++i;
    return i - start;
  };
  if (i < text.size() && (text[i] == '-' || (plus_sign && text[i] == '+')))
    ++i;
  std::size_t mantissa = digits();
  if (i < text.size() && text[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0)
    return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '-' || text[i] == '+'))
      ++i;
    if (digits() == 0)
      return false;
  }
  return i == text.size();
}
} // namespace

bool parse_decimal(std::string_view cell, double& out) {
  // strtod alone takes "0x40" (64), "inf", "+5", leading blanks and the locale's own comma:
  // check the plain decimal form first, then convert.
  if (!decimal_form(cell, false))
    return false;
  const std::string text(cell);
  out = std::strtod(text.c_str(), nullptr);
  return std::isfinite(out);
}

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos)
    return std::string(text);
  std::string out = "\"";
  for (char ch : text)
    out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

std::string spreadsheet_csv_field(std::string_view text) {
  // A leading = + - @ tab or CR starts a formula; a plain number ("-0.5", "+1e-3") does not.
  if (!text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos &&
      !decimal_form(text, true))
    return csv_field("'" + std::string(text));
  return csv_field(text);
}

namespace {
/// Splits CSV text into rows by the rules in core.h. `pos` walks `text`, `line` counts the
/// file's lines.
struct CsvScanner {
  std::string_view text;
  char separator = ',';
  std::size_t pos = 0;
  int line = 1;

  bool done() const { return pos >= text.size(); }

  /// The next row: its cells, the line it starts on, whether a quote was left open.
  struct Scanned {
    std::vector<std::string> cells;
    int line = 0;
    bool open_quote = false;
  };
  Scanned next() {
    Scanned row;
    row.line = line;
    std::string cell;
    // Trimming keeps quoted text: [keep_from, keep_to) is the cell's quoted span.
    std::size_t keep_from = std::string::npos, keep_to = 0;
    auto finish = [&] {
      auto first = cell.find_first_not_of(" \t"), end = cell.find_last_not_of(" \t");
      first = first == std::string::npos ? cell.size() : first;
      end = end == std::string::npos ? 0 : end + 1;
      if (keep_from != std::string::npos) {
        first = std::min(first, keep_from);
        end = std::max(end, keep_to);
      }
      row.cells.push_back(first < end ? cell.substr(first, end - first) : std::string());
      cell.clear();
      keep_from = std::string::npos;
      keep_to = 0;
    };
    bool quoted = false;
    while (pos < text.size()) {
      const char ch = text[pos++];
      if (quoted) {
        if (ch == '"' && pos < text.size() && text[pos] == '"') {
          cell += '"';
          ++pos;
        } else if (ch == '"') {
          quoted = false;
          keep_to = cell.size();
        } else {
          if (ch == '\n')
            ++line;
          cell += ch;
        }
      } else if (ch == '"') {
        quoted = true;
        if (keep_from == std::string::npos)
          keep_from = cell.size();
        keep_to = cell.size();
      } else if (ch == separator) {
        finish();
      } else if (ch == '\n') {
        ++line;
        break;
      } else if (ch == '\r' && (pos == text.size() || text[pos] == '\n')) {
        // CRLF (or a lone CR before the end): the line break's own byte
      } else {
        cell += ch;
      }
    }
    if (quoted) {
      keep_to = cell.size();
      row.open_quote = true;
    }
    finish();
    return row;
  }
};

bool all_empty(const std::vector<std::string>& cells) {
  return std::all_of(cells.begin(), cells.end(), [](const auto& c) { return c.empty(); });
}
} // namespace

std::vector<std::string> split_csv_row(std::string_view line, char separator) {
  CsvScanner scan{line, separator};
  auto row = scan.next();
  // A line break inside quotes belongs to the cell; one outside ends the row here.
  return std::move(row.cells);
}

CsvFile read_csv(const std::string& file, const CsvFormat& format) {
  if (!std::filesystem::exists(file))
    throw InputError(format.what + " not found: " + file);
  require_regular_file(file, format.what);
  const auto content = read_text_file(file, format.what);
  std::string_view text = content;
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) // byte-order mark of spreadsheet exports
    text.remove_prefix(3);
  if (text.empty())
    throw InputError(file + ": empty " + format.what + " (expected " + format.expected + ")");
  CsvScanner scan{text, format.separator};
  CsvFile csv;
  csv.file = file;
  auto open_quote = [&](const CsvScanner::Scanned& row, std::size_t expected) {
    return InputError(file + ":" + std::to_string(row.line) + ": expected " +
                      std::to_string(expected) + " cells, found " +
                      std::to_string(row.cells.size()) + " (a quote is not closed)");
  };
  auto header = scan.next();
  if (header.open_quote)
    throw InputError(file + ":1: a quote is not closed");
  csv.header = std::move(header.cells);
  for (const auto& name : format.required)
    if (!csv.has_column(name))
      throw InputError(file + ":1: missing column '" + name + "' (expected " + format.expected +
                       ")");
  while (!scan.done()) {
    auto row = scan.next();
    if (row.open_quote)
      throw open_quote(row, csv.header.size());
    if (!all_empty(row.cells))
      csv.rows.push_back({row.line, std::move(row.cells)});
  }
  return csv;
}

bool CsvFile::has_column(const std::string& name) const {
  return std::find(header.begin(), header.end(), name) != header.end();
}

std::size_t CsvFile::column(const std::string& name) const {
  const auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end()) {
    std::string known;
    for (const auto& h : header)
      known += (known.empty() ? "" : ", ") + h;
    throw InputError(file + ": no column '" + name + "' (columns: " + known + ")");
  }
  return std::size_t(it - header.begin());
}

const std::string& CsvFile::text(const Row& row, std::size_t column) const {
  if (column >= row.cells.size())
    throw InputError(file + ":" + std::to_string(row.line) + ": column " + header.at(column) +
                     ": missing (the row has " + std::to_string(row.cells.size()) + " cells)");
  return row.cells[column];
}

double CsvFile::number(const Row& row, std::size_t column) const {
  const auto& cell = text(row, column);
  double value = 0;
  if (!parse_decimal(cell, value))
    throw InputError(file + ":" + std::to_string(row.line) + ": column " + header.at(column) +
                     ": '" + shorten_for_message(cell) + "' is not a number");
  return value;
}

std::map<std::string, std::vector<double>> read_csv_columns(const std::string& file,
                                                            const std::vector<std::string>& names) {
  const auto csv = read_csv(file);
  std::map<std::string, std::size_t> index;
  for (const auto& name : names)
    index[name] = csv.column(name);
  std::map<std::string, std::vector<double>> out;
  for (const auto& row : csv.rows)
    for (const auto& [name, column] : index)
      out[name].push_back(csv.number(row, column));
  if (out.empty() && !names.empty())
    throw InputError(file + ": no data rows");
  return out;
}

} // namespace vfp
