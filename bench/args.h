// Command-line helpers shared by the benchmarks: comma lists, positive integers, and usage
// errors that name the program and point at its --help.
#pragma once

#include "core/core.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
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

  /// A non-empty comma list of names (e.g. architectures).
  std::vector<std::string> names(const std::string& flag, const std::string& text) const {
    auto out = split(text, ',');
    if (out.empty())
      fail(flag + ": empty list");
    return out;
  }

  /// A non-empty comma list of spatial dims, each 2 or 3.
  std::vector<int> dims_list(const std::string& flag, const std::string& text) const {
    auto out = positive_list(flag, text);
    for (int d : out)
      if (d != 2 && d != 3)
        fail(flag + ": " + std::to_string(d) + " is neither 2 nor 3");
    return out;
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

  /// One option: its flag and what its value does (`takes_value` false: a switch, called
  /// with an empty value).
  struct Option {
    std::string flag;
    std::function<void(const std::string& value)> set;
    bool takes_value = true;
  };

  /// Applies argv's options in order; -h/--help prints `usage` and exits 0; an unknown option
  /// or a missing or bad value is a usage error.
  void parse(int argc, char** argv, const std::vector<Option>& options,
             const std::string& usage) const {
    for (int i = 1; i < argc; ++i) {
      const std::string flag = argv[i];
      if (flag == "-h" || flag == "--help") {
        std::fputs(usage.c_str(), stdout);
        std::exit(0);
      }
      const auto option = std::find_if(options.begin(), options.end(),
                                       [&](const Option& o) { return o.flag == flag; });
      if (option == options.end())
        fail("unknown option '" + flag + "'");
      option->set(option->takes_value ? value(argc, argv, i) : std::string());
    }
  }

  // Options that store a checked value into a variable of the caller's.
  Option positive_into(const std::string& flag, int& target) const {
    return {flag, [this, flag, &target](const std::string& v) { target = positive(flag, v); }};
  }
  Option positive_list_into(const std::string& flag, std::vector<int>& target) const {
    return {flag, [this, flag, &target](const std::string& v) { target = positive_list(flag, v); }};
  }
  Option names_into(const std::string& flag, std::vector<std::string>& target) const {
    return {flag, [this, flag, &target](const std::string& v) { target = names(flag, v); }};
  }
  Option dims_into(const std::string& flag, std::vector<int>& target) const {
    return {flag, [this, flag, &target](const std::string& v) { target = dims_list(flag, v); }};
  }
  template <typename Text> Option text_into(const std::string& flag, Text& target) const {
    return {flag, [&target](const std::string& v) { target = v; }};
  }
  Option switch_into(const std::string& flag, bool& target, bool value) const {
    return {flag, [&target, value](const std::string&) { target = value; }, false};
  }

private:
  std::string program_;
};

/// main()'s first step: `o = parse(argc, argv)`; false, with the usage error (which names the
/// program and its --help) printed to stderr, when the command line is wrong.
template <typename Options, typename Parse>
bool parse_or_report(const Parse& parse, int argc, char** argv, Options& o) {
  try {
    o = parse(argc, argv);
    return true;
  } catch (const InputError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return false;
  }
}

} // namespace vfp::bench
