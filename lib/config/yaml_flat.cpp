#include "config/config.h"

#include "core/core.h"

#include <algorithm>

namespace vfp::config {

std::string Located::where() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

YAML::Node load_yaml_file(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    throw InputError("config file not found: " + path.string());
  try {
    return YAML::LoadFile(path.string());
  } catch (const YAML::ParserException& e) {
    throw InputError(path.string() + ":" + std::to_string(e.mark.line + 1) + ":" +
                     std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg);
  } catch (const YAML::BadFile&) {
    throw InputError("cannot read config file " + path.string());
  }
}

namespace {
void flatten_into(const YAML::Node& node, const std::string& prefix, const std::string& file,
                  FlatConfig& out) {
  for (const auto& kv : node) {
    const auto key = kv.first.as<std::string>();
    const auto dotted = prefix.empty() ? key : prefix + "." + key;
    const auto& value = kv.second;
    if (value.IsMap() && value.size() > 0) {
      flatten_into(value, dotted, file, out);
      continue;
    }
    // A key's own mark is where users look for it when the value is null or a block.
    const auto mark = value.IsNull() ? kv.first.Mark() : value.Mark();
    out[dotted] = Located{value, file, mark.line + 1, mark.column + 1};
  }
}
} // namespace

FlatConfig flatten(const YAML::Node& node, const std::string& file,
                   const std::vector<std::string>& skip) {
  FlatConfig out;
  if (!node || node.IsNull())
    return out;
  if (!node.IsMap())
    throw InputError(file + ":" + std::to_string(node.Mark().line + 1) +
                     ": expected a mapping of config sections at the top level");
  for (const auto& kv : node) {
    const auto key = kv.first.as<std::string>();
    if (std::find(skip.begin(), skip.end(), key) != skip.end())
      continue;
    FlatConfig part;
    if (kv.second.IsMap() && kv.second.size() > 0) {
      flatten_into(kv.second, key, file, part);
    } else {
      const auto mark = kv.second.IsNull() ? kv.first.Mark() : kv.second.Mark();
      part[key] = Located{kv.second, file, mark.line + 1, mark.column + 1};
    }
    out.insert(part.begin(), part.end());
  }
  return out;
}

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string last_part(const std::string& key) {
  auto dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}
} // namespace

std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = 3; // more than two edits away is not a typo
  size_t best_whole = 0;
  for (const auto& c : candidates) {
    const size_t whole = edit_distance(key, c);
    size_t d = std::min(whole, edit_distance(last_part(key), last_part(c)) +
                                   (key.find('.') == std::string::npos ? 0 : 1));
    // Ties go to the closer whole key: 'trian.lr' is train.lr, not ssl.lr.
    if (d < best_distance || (d == best_distance && !best.empty() && whole < best_whole)) {
      best_distance = d;
      best_whole = whole;
      best = c;
    }
  }
  return best.empty() ? "" : "did you mean '" + best + "'?";
}

} // namespace vfp::config
