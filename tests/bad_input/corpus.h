// The bad-input corpus (tests/data/bad/cases.yaml): its cases and the bytes of each bad file.
// Shared by the two ways the corpus is fed: to the vfp executable (bad_input_test.cpp) and
// to the parsers in-process (parsers_test.cpp, the one the asan build runs).
#pragma once

#include "image_make.h"
#include "weights_make.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
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
  std::string from; ///< generated cases: the good file they derive from (none for a special file)
  /// generated cases: truncate-half | truncate:N | drop-tail:N | repeat-value:N (the `from`
  /// file's "{value}" becomes N 'A's) | fifo | link-dev-zero | folder (a special file in place
  /// of the bad file: place_bad_file) | image steps joined by '+' (image_make.h)
  std::string make;
  std::vector<std::string> expect; ///< substrings of the output; {file}, {S0}, {S1} replaced
  /// false (`parsers: skip`): fed through vfp only, not to the parsers in-process; for weight
  /// files that need LibTorch (a torch.save archive) or the model (a shape mismatch).
  bool in_process = true;
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
      c.from = n["from"] ? n["from"].as<std::string>() : "";
      c.make = n["make"].as<std::string>();
    }
    for (const auto& e : n["expect"])
      c.expect.push_back(e.as<std::string>());
    c.in_process = !(n["parsers"] && n["parsers"].as<std::string>() == "skip");
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

/// Whether the case's bad file is a special file (a FIFO, a link to /dev/zero, a folder) that
/// place_bad_file makes instead of writing bytes: what cannot be committed.
inline bool is_special(const Case& c) {
  return c.make == "fifo" || c.make == "link-dev-zero" || c.make == "folder";
}

/// The bytes of a case's bad file: committed, or made from a good one (`cohort` holds the
/// good synthetic cohort, `good_cache` a good patch cache, `ids` the subject ids; a sweep's
/// `from` is a file of the corpus). Empty for a special file.
inline std::string bad_bytes(const Case& c, const fs::path& cohort, const fs::path& good_cache,
                             const std::vector<std::string>& ids) {
  std::string bytes;
  if (is_special(c) || make_weight_file(c.make, bytes)) // weights_make.h: nested-pickle:N
    return bytes;
  if (c.make.empty()) {
    bytes = read_binary(kBad / c.name);
  } else {
    const auto from = c.from == "cache"   ? good_cache
                      : c.feed == "sweep" ? kBad / c.from
                                          : cohort / replace_ids(c.from, ids);
    bytes = read_binary(from);
    if (c.make == "truncate-half")
      bytes.resize(bytes.size() / 2);
    else if (c.make.rfind("truncate:", 0) == 0)
      bytes.resize(std::min(bytes.size(), std::size_t(std::stoul(c.make.substr(9)))));
    else if (c.make.rfind("drop-tail:", 0) == 0)
      bytes.resize(bytes.size() -
                   std::min(bytes.size(), std::size_t(std::stoul(c.make.substr(10)))));
    else if (c.make.rfind("repeat-value:", 0) == 0)
      bytes = replace_all(bytes, "{value}", std::string(std::stoul(c.make.substr(13)), 'A'));
    else if (!apply_image_steps(bytes, c.make)) // image_make.h
      ADD_FAILURE() << c.name << ": unknown make '" << c.make << "'";
  }
  if (c.feed == "cohort" || c.feed == "centroids")
    bytes = replace_ids(bytes, ids);
  return bytes;
}

/// Puts the case's bad file at `path` (replacing what is there): `bytes` written, or for a
/// special case a FIFO (mkfifo), a symlink to /dev/zero or an empty folder.
inline void place_bad_file(const Case& c, const fs::path& path, const std::string& bytes) {
  if (!is_special(c)) {
    write_binary(path, bytes);
    return;
  }
  fs::create_directories(path.parent_path());
  fs::remove_all(path);
  if (c.make == "fifo")
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << path;
  else if (c.make == "link-dev-zero")
    fs::create_symlink("/dev/zero", path);
  else
    fs::create_directory(path);
}

} // namespace vfp::bad_input
