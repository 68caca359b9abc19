#include "core/core.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace vfp {

bool parse_decimal(std::string_view cell, double& out) {
  // strtod alone takes "0x40" (64), "inf", "+5", leading blanks and the locale's own comma:
  // check the plain decimal form first, then convert.
  std::size_t i = 0;
  auto digits = [&] {
    const auto start = i;
    while (i < cell.size() && cell[i] >= '0' && cell[i] <= '9')
      ++i;
    return i - start;
  };
  if (i < cell.size() && cell[i] == '-')
    ++i;
  std::size_t mantissa = digits();
  if (i < cell.size() && cell[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0)
    return false;
  if (i < cell.size() && (cell[i] == 'e' || cell[i] == 'E')) {
    ++i;
    if (i < cell.size() && (cell[i] == '-' || cell[i] == '+'))
      ++i;
    if (digits() == 0)
      return false;
  }
  if (i != cell.size())
    return false;
  const std::string text(cell);
  out = std::strtod(text.c_str(), nullptr);
  return std::isfinite(out);
}

std::vector<std::string> split_csv_row(std::string_view line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted && ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      cells.back() += '"';
      ++i;
    } else if (ch == '"') {
      quoted = !quoted;
    } else if (ch == ',' && !quoted) {
      cells.emplace_back();
    } else {
      cells.back() += ch;
    }
  }
  for (auto& c : cells) {
    const auto first = c.find_first_not_of(" \t\r"), last = c.find_last_not_of(" \t\r");
    c = first == std::string::npos ? "" : c.substr(first, last - first + 1);
  }
  return cells;
}

CsvFile read_csv(const std::string& file) {
  require_regular_file(file, "CSV file");
  std::istringstream in(read_text_file(file));
  std::string line;
  if (!std::getline(in, line))
    throw InputError(file + ": empty file (expected a header row)");
  if (line.rfind("\xEF\xBB\xBF", 0) == 0) // byte-order mark of spreadsheet exports
    line.erase(0, 3);
  CsvFile csv;
  csv.file = file;
  csv.header = split_csv_row(line);
  for (int line_number = 2; std::getline(in, line); ++line_number)
    if (line.find_first_not_of(" \t\r") != std::string::npos)
      csv.rows.push_back({line_number, split_csv_row(line)});
  return csv;
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
