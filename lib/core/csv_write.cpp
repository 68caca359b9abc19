// Writing CSV cells: RFC 4180 quoting for every file vfp writes, and the spreadsheet-safe
// variant for the tables meant to be opened in a spreadsheet (docs/hardening.md, Security).
#include "core/core.h"

namespace vfp {
namespace {

/// A plain decimal number ("-0.5", "+1e-3", "12."), as vfp writes numbers: a spreadsheet
/// reads it as a number, never as a formula, so it is never neutralised.
bool is_plain_number(std::string_view text) {
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-'))
    ++i;
  std::size_t digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
    ++digits;
  if (i < text.size() && text[i] == '.')
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
      ++digits;
  if (digits == 0)
    return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-'))
      ++i;
    std::size_t exponent = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
      ++exponent;
    if (exponent == 0)
      return false;
  }
  return i == text.size();
}

} // namespace

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos)
    return std::string(text);
  std::string out = "\"";
  for (char ch : text)
    out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

std::string spreadsheet_csv_field(std::string_view text) {
  if (!text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos &&
      !is_plain_number(text))
    return csv_field("'" + std::string(text));
  return csv_field(text);
}

} // namespace vfp
