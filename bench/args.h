// Command-line helpers shared by the benchmarks: comma lists, positive integers, and usage
// errors that name the program and point at its --help.
#pragma once

#include "core/core.h"

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace vfp::bench {

/// The parts of `text` between `sep` (empty parts kept, none after a trailing `sep`).
inline std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, sep);)
    out.push_back(item);
  return out;
}

/// Option values of one program; bad ones are vfp::InputError "<program>: <what> (<program>
/// --help)".
class Args {
public:
  explicit Args(std::string program) : program_(std::move(program)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(program_ + ": " + what + " (" + program_ + " --help)");
  }

  /// The value after option argv[i], advancing i; a usage error when the option is last.
  std::string value(int argc, char** argv, int& i) const {
    if (i + 1 >= argc)
      fail(std::string(argv[i]) + " needs a value");
    return argv[++i];
  }

  /// An integer in [1, 2^20].
  int positive(const std::string& flag, const std::string& text) const {
    char* end = nullptr;
    const long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < 1 || v > 1 << 20)
      fail(flag + ": '" + text + "' is not a positive integer");
    return int(v);
  }

  /// A non-empty comma list of positive integers.
  std::vector<int> positive_list(const std::string& flag, const std::string& text) const {
    std::vector<int> out;
    for (const auto& item : split(text, ','))
      out.push_back(positive(flag, item));
    if (out.empty())
      fail(flag + ": empty list");
    return out;
  }

private:
  std::string program_;
};

} // namespace vfp::bench
