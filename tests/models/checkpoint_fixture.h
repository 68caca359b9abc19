// Foreign checkpoints written down as text (tests/models/data/*.txt): `key dim...` per entry
// in the checkpoint's order; `#` lines document the fixture; `@tag values...` lines carry
// reference numbers (MONAI's outputs, for instance).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace vfp::models::testing {

struct CheckpointKey {
  std::string key;
  std::vector<std::int64_t> shape;
};

struct CheckpointFixture {
  std::vector<CheckpointKey> keys;
  std::map<std::string, std::vector<double>> references; ///< `@tag` → its values
};

inline CheckpointFixture read_checkpoint_fixture(const std::filesystem::path& file) {
  std::ifstream in(file);
  EXPECT_TRUE(in) << file;
  CheckpointFixture out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    std::istringstream fields(line);
    std::string first;
    fields >> first;
    if (first[0] == '@') {
      auto& values = out.references[first.substr(1)];
      for (double v; fields >> v;)
        values.push_back(v);
      continue;
    }
    CheckpointKey k{first, {}};
    for (std::int64_t d; fields >> d;)
      k.shape.push_back(d);
    out.keys.push_back(k);
  }
  return out;
}

} // namespace vfp::models::testing
