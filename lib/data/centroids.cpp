#include "data/data.h"

#include "core/core.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <sstream>

namespace vfp::data {

int vertebra_label(const std::string& name) {
  // VerSe numbering: C1..C7 = 1..7, T1..T12 = 8..19, L1..L6 = 20..25.
  if (name.size() >= 2) {
    int n = std::atoi(name.c_str() + 1);
    if (name[0] == 'C' && n >= 1 && n <= 7)
      return n;
    if (name[0] == 'T' && n >= 1 && n <= 12)
      return 7 + n;
    if (name[0] == 'L' && n >= 1 && n <= 6)
      return 19 + n;
  }
  throw InputError("unknown vertebra '" + name + "' (expected e.g. T12, L1, L2)");
}

std::string vertebra_name(int label) {
  if (label >= 1 && label <= 7)
    return "C" + std::to_string(label);
  if (label >= 8 && label <= 19)
    return "T" + std::to_string(label - 7);
  if (label >= 20 && label <= 25)
    return "L" + std::to_string(label - 19);
  return "label" + std::to_string(label);
}

namespace {
/// Python's json module writes NaN unquoted, which is not JSON; read it as null.
std::string python_nan_to_null(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (in_string) {
      out += ch;
      if (ch == '\\' && i + 1 < text.size())
        out += text[++i];
      else if (ch == '"')
        in_string = false;
    } else if (ch == '"') {
      in_string = true;
      out += ch;
    } else if (text.compare(i, 3, "NaN") == 0) {
      out += "null";
      i += 2;
    } else {
      out += ch;
    }
  }
  return out;
}
} // namespace

CentroidFile read_verse_centroids(const std::filesystem::path& path) {
  const auto file = path.string();
  if (!std::filesystem::exists(path))
    throw InputError("centroid file not found: " + file);
  require_regular_file(path, "centroid file");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(python_nan_to_null(read_text_file(path)));
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and also out_of_range for a number beyond double (e.g. 1e400).
    throw InputError(file + ": invalid JSON: " + e.what());
  }
  if (!doc.is_array())
    throw InputError(file + ": expected a JSON list of {label, X, Y, Z} entries");
  CentroidFile out;
  for (size_t i = 0; i < doc.size(); ++i) {
    const auto& e = doc[i];
    const auto where = file + ": entry " + std::to_string(i);
    if (!e.is_object())
      throw InputError(where + ": expected an object");
    if (e.contains("direction")) {
      const auto& d = e["direction"];
      if (!d.is_array() || d.size() != 3)
        throw InputError(where +
                         ": 'direction' must list three axis codes, e.g. [\"P\",\"I\",\"R\"]");
      std::array<char, 3> codes{};
      std::string seen;
      for (size_t a = 0; a < 3; ++a) {
        if (!d[a].is_string() || d[a].get<std::string>().size() != 1 ||
            std::string("LRAPSI").find(d[a].get<std::string>()[0]) == std::string::npos)
          throw InputError(where + ": axis code " + d[a].dump() + " is not one of L R A P S I");
        codes[a] = d[a].get<std::string>()[0];
        auto axis = std::string("LRAPSI").find(codes[a]) / 2;
        if (seen.find(static_cast<char>('0' + axis)) != std::string::npos)
          throw InputError(where + ": axis codes " + d.dump() + " name one axis twice");
        seen += static_cast<char>('0' + axis);
      }
      out.axis_codes = codes;
      continue;
    }
    if (!e.contains("label"))
      throw InputError(where + ": missing 'label'");
    VoxelCentroid c;
    // get<int> would wrap a label beyond int silently (4294967316 reads as 20, L1).
    if (!e["label"].is_number_integer() ||
        e["label"].get<std::int64_t>() < std::numeric_limits<int>::min() ||
        e["label"].get<std::int64_t>() > std::numeric_limits<int>::max() ||
        (e["label"].is_number_unsigned() &&
         e["label"].get<std::uint64_t>() > std::uint64_t(std::numeric_limits<int>::max())))
      throw InputError(where + ": 'label' must be an integer (VerSe: 20 = L1, 21 = L2), got " +
                       e["label"].dump());
    c.label = e["label"].get<int>();
    bool nan = false;
    const char* names[3] = {"X", "Y", "Z"};
    for (int a = 0; a < 3; ++a) {
      if (!e.contains(names[a]))
        throw InputError(where + " (label " + std::to_string(c.label) + "): missing '" + names[a] +
                         "'");
      const auto& v = e[names[a]];
      if (v.is_null() || (v.is_string() && (v == "NaN" || v == "nan"))) {
        nan = true;
        continue;
      }
      if (!v.is_number())
        throw InputError(where + " (label " + std::to_string(c.label) + "): '" + names[a] +
                         "' must be a number");
      c.xyz[a] = v.get<double>();
      nan = nan || std::isnan(c.xyz[a]);
    }
    if (!nan)
      out.centroids.push_back(c);
  }
  return out;
}

} // namespace vfp::data

namespace vfp::data {
namespace {
/// "12,5" (decimal comma) or "12.5"; false when not a finite number.
bool parse_decimal_comma(std::string text, double& out) {
  for (auto& ch : text)
    if (ch == ',')
      ch = '.';
  return parse_decimal(text, out);
}
} // namespace

CentroidTable read_centroid_csv(const std::filesystem::path& path, const std::string& space) {
  const auto file = path.string();
  if (space != "lps" && space != "ras")
    throw InputError("centroid space must be lps or ras, got '" + space + "'");
  const auto text = read_csv(file, {"centroid table",
                                    "SubjectID;Vertebra;X;Y;Z, semicolon-separated",
                                    ';',
                                    {"SubjectID", "Vertebra", "X", "Y", "Z"}});
  const auto& header = text.header;
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i)
    col.emplace(header[i], i);
  CentroidTable table;
  for (const auto& row : text.rows) {
    const auto& cells = row.cells;
    const int line_no = row.line;
    const auto where = file + ":" + std::to_string(line_no);
    if (cells.size() != header.size())
      throw InputError(where + ": expected " + std::to_string(header.size()) + " cells, found " +
                       std::to_string(cells.size()));
    WorldCentroid c;
    const auto& vertebra = cells[col.at("Vertebra")];
    double numeric = 0;
    // Casting a double beyond int to int is undefined: such a "label" is an error below.
    if (parse_decimal_comma(vertebra, numeric) && std::abs(numeric) < 1e6)
      c.label = static_cast<int>(numeric);
    else
      try {
        c.label = vertebra_label(vertebra);
      } catch (const InputError& e) {
        throw InputError(where + ": " + e.what());
      }
    const char* axes[3] = {"X", "Y", "Z"};
    for (int a = 0; a < 3; ++a)
      if (!parse_decimal_comma(cells[col.at(axes[a])], c.lps[a]))
        throw InputError(where + ": column '" + axes[a] + "' of subject " +
                         cells[col.at("SubjectID")] + ": expected a number, got '" +
                         cells[col.at(axes[a])] + "'");
    if (space == "ras") { // RAS → LPS: the first two axes point the other way
      c.lps[0] = -c.lps[0];
      c.lps[1] = -c.lps[1];
    }
    table[cells[col.at("SubjectID")]].push_back(c);
  }
  return table;
}

} // namespace vfp::data
