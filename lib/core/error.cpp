#include "core/core.h"

#include <cstdint>

namespace vfp {

namespace {
/// Length of the well-formed UTF-8 sequence at `at` (2 to 4 bytes), or 0.
std::size_t utf8_sequence(std::string_view text, std::size_t at) {
  const auto c = static_cast<unsigned char>(text[at]);
  const std::size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || at + n > text.size())
    return 0;
  std::uint32_t cp = c & (0xFF >> (n + 1));
  for (std::size_t k = 1; k < n; ++k) {
    const auto d = static_cast<unsigned char>(text[at + k]);
    if ((d >> 6) != 0x2)
      return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}
} // namespace

std::string shorten_for_message(std::string_view value, std::size_t keep) {
  std::string out;
  std::size_t shown = 0, i = 0;
  for (; i < value.size() && shown < keep; ++shown) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += value[i++];
    } else if (c == '\n' || c == '\t' || c == '\r') {
      out += c == '\n' ? "\\n" : c == '\t' ? "\\t" : "\\r";
      ++i;
    } else if (const auto n = c >= 0x80 ? utf8_sequence(value, i) : 0; n > 0) {
      out.append(value.substr(i, n));
      i += n;
    } else {
      constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xF];
      ++i;
    }
  }
  if (i < value.size())
    out += "\xE2\x80\xA6 (" + std::to_string(value.size()) + " bytes)"; // U+2026 ellipsis
  return out;
}

namespace detail {
void throw_internal(const char* file, int line, const char* cond, const std::string& what) {
  throw Error("internal error at " + std::string(file) + ":" + std::to_string(line) + ": " + what +
              " (check failed: " + cond + ")");
}
} // namespace detail

} // namespace vfp
