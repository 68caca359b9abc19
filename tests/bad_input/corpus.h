// The bad-input corpus (tests/data/bad/cases.yaml): its cases and the bytes of each bad file.
// Shared by the two ways the corpus is fed: to the vfp executable (bad_input_test.cpp) and
// to the parsers in-process (parsers_test.cpp, the one the asan build runs).
#pragma once

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace vfp::bad_input {

namespace fs = std::filesystem;

inline const fs::path kBad = fs::path(VFP_SOURCE_DIR) / "tests/data/bad";

/// One entry of cases.yaml.
struct Case {
  std::string name; ///< the file, relative to tests/data/bad, or a generated name
  std::string feed; ///< sweep | cohort | centroids | image | cache | weights
  std::string via;  ///< "run": vfp run into a results folder (cohort, centroids, image)
  std::string from; ///< generated cases: the good file they derive from
  std::string make; ///< generated cases: truncate-half | truncate:N | drop-tail:N
  std::vector<std::string> expect; ///< substrings of the output; {file}, {S0}, {S1} replaced
};

inline std::vector<Case> load_cases() {
  std::vector<Case> cases;
  const auto doc = YAML::LoadFile((kBad / "cases.yaml").string());
  for (const auto& n : doc["cases"]) {
    Case c;
    c.name = n["file"] ? n["file"].as<std::string>() : n["generated"].as<std::string>();
    c.feed = n["feed"].as<std::string>();
    c.via = n["via"] ? n["via"].as<std::string>() : "";
    if (n["generated"]) {
      c.from = n["from"].as<std::string>();
      c.make = n["make"].as<std::string>();
    }
    for (const auto& e : n["expect"])
      c.expect.push_back(e.as<std::string>());
    cases.push_back(c);
  }
  return cases;
}

inline std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

/// {S0}, {S1}, ... replaced by the subject ids.
inline std::string replace_ids(std::string text, const std::vector<std::string>& ids) {
  for (std::size_t i = 0; i < ids.size(); ++i)
    text = replace_all(text, "{S" + std::to_string(i) + "}", ids[i]);
  return text;
}

inline std::string read_binary(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_binary(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

inline std::string slug(std::string name) {
  for (auto& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch)))
      ch = '_';
  return name;
}

/// The bytes of a case's bad file: committed, or made from a good one (`cohort` holds the
/// good synthetic cohort, `good_cache` a good patch cache, `ids` the subject ids).
inline std::string bad_bytes(const Case& c, const fs::path& cohort, const fs::path& good_cache,
                             const std::vector<std::string>& ids) {
  std::string bytes;
  if (c.from.empty()) {
    bytes = read_binary(kBad / c.name);
  } else {
    const auto from = c.from == "cache" ? good_cache : cohort / replace_ids(c.from, ids);
    bytes = read_binary(from);
    if (c.make == "truncate-half")
      bytes.resize(bytes.size() / 2);
    else if (c.make.rfind("truncate:", 0) == 0)
      bytes.resize(std::min(bytes.size(), std::size_t(std::stoul(c.make.substr(9)))));
    else if (c.make.rfind("drop-tail:", 0) == 0)
      bytes.resize(bytes.size() -
                   std::min(bytes.size(), std::size_t(std::stoul(c.make.substr(10)))));
    else
      ADD_FAILURE() << c.name << ": unknown make '" << c.make << "'";
  }
  if (c.feed == "cohort" || c.feed == "centroids")
    bytes = replace_ids(bytes, ids);
  return bytes;
}

} // namespace vfp::bad_input
