#include "core/core.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace vfp {

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

std::map<std::string, std::vector<double>> read_csv_columns(const std::string& file,
                                                            const std::vector<std::string>& names) {
  std::istringstream in(read_text_file(file));
  std::string line;
  if (!std::getline(in, line))
    throw InputError(file + ": empty file (expected a header row)");
  if (line.rfind("\xEF\xBB\xBF", 0) == 0) // byte-order mark of spreadsheet exports
    line.erase(0, 3);
  const auto header = split_csv_row(line);
  std::map<std::string, std::size_t> index;
  for (const auto& name : names) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) {
      std::string known;
      for (const auto& h : header)
        known += (known.empty() ? "" : ", ") + h;
      throw InputError(file + ": no column '" + name + "' (columns: " + known + ")");
    }
    index[name] = std::size_t(it - header.begin());
  }
  std::map<std::string, std::vector<double>> out;
  for (int line_number = 2; std::getline(in, line); ++line_number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    const auto cells = split_csv_row(line);
    for (const auto& [name, column] : index) {
      const std::string at = file + ":" + std::to_string(line_number) + ": column " + name;
      if (column >= cells.size())
        throw InputError(at + ": missing (the row has " + std::to_string(cells.size()) + " cells)");
      const auto& cell = cells[column];
      char* end = nullptr;
      const double value = std::strtod(cell.c_str(), &end);
      if (cell.empty() || end != cell.c_str() + cell.size() || !std::isfinite(value))
        throw InputError(at + ": '" + cell + "' is not a number");
      out[name].push_back(value);
    }
  }
  if (out.empty() && !names.empty())
    throw InputError(file + ": no data rows");
  return out;
}

} // namespace vfp
