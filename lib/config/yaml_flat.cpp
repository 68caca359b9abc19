#include "config/yaml.h"

#include "core/core.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

namespace vfp::config {

std::string Located::where() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

namespace {
/// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
/// U+10FFFF).
bool valid_utf8(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xE  ? 3
                          : (c >> 3) == 0x1E ? 4
                                             : 0;
    if (n == 0 || i + n > text.size())
      return false;
    std::uint32_t cp = n == 1 ? c : c & (0xFF >> (n + 1));
    for (std::size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(text[i + k]);
      if ((d >> 6) != 0x2)
        return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n;
  }
  return true;
}

/// A scalar that is not UTF-8 (a Latin-1 path, a stray byte) would later stop the JSON of the
/// resolved config (task ids, results) with an error naming neither file nor key.
void check_utf8(const YAML::Node& node, const std::string& file) {
  if (node.IsScalar() && !valid_utf8(node.Scalar())) {
    const auto mark = node.Mark();
    throw InputError(file + ":" + std::to_string(mark.line + 1) + ":" +
                     std::to_string(mark.column + 1) +
                     ": not valid UTF-8 (save the file as UTF-8)");
  }
}

/// Bounds of a document's tree, counted with every alias expanded where it is used: an alias
/// inside its own anchor (`a: &x {b: *x}`) makes the tree endless and ten aliases of ten
/// aliases ("billion laughs") make it 10^10 nodes, and every later walk (flatten, the sweep
/// axes) would follow them.
constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxNodes = 100000;

/// One walk over a loaded document: its file, the nodes counted so far and the nodes from the
/// root down to where the walk is (an alias to one of them is a cycle).
struct TreeWalk {
  const std::string& file;
  std::size_t nodes = 0;
  std::vector<YAML::Node> ancestors;
};

std::string at(const std::string& file, const YAML::Mark& mark) {
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) + ": ";
}

/// yaml-cpp keeps one of two equal keys silently (`lr: 1e-3` then `lr: 1e-4` in one mapping)
/// and lets a key be a list or a mapping; both are errors here, naming file:line:column. Also
/// refuses a tree that is cyclic, deeper than kMaxDepth or larger than kMaxNodes (aliases
/// expanded), so that no later walk over it recurses for ever or spins.
void check_tree(const YAML::Node& node, const std::string& key, const YAML::Mark& mark,
                TreeWalk& walk) {
  const auto where = at(walk.file, mark) + shorten_for_message(key.empty() ? "(top)" : key);
  for (const auto& ancestor : walk.ancestors)
    if (ancestor.is(node))
      throw InputError(where + ": an alias refers to a node that holds it (an alias cycle)");
  if (++walk.nodes > kMaxNodes)
    throw InputError(walk.file + ": more than " + std::to_string(kMaxNodes) +
                     " values with every alias expanded (aliases of aliases?), stopped at " +
                     shorten_for_message(key));
  if (int(walk.ancestors.size()) >= kMaxDepth)
    throw InputError(where + ": nested deeper than " + std::to_string(kMaxDepth) + " levels");
  check_utf8(node, walk.file);
  if (!node.IsSequence() && !node.IsMap())
    return;
  walk.ancestors.push_back(node);
  if (node.IsSequence()) {
    std::size_t i = 0;
    for (const auto& item : node)
      check_tree(item, key + "[" + std::to_string(i++) + "]", item.Mark(), walk);
  } else {
    std::map<std::string, int> seen; // key -> line of its first use
    for (const auto& kv : node) {
      const auto key_mark = kv.first.Mark();
      if (!kv.first.IsScalar())
        throw InputError(at(walk.file, key_mark) +
                         "a key must be a plain name, not a list or a mapping");
      check_utf8(kv.first, walk.file);
      const auto [it, fresh] = seen.emplace(kv.first.Scalar(), key_mark.line + 1);
      if (!fresh)
        throw InputError(at(walk.file, key_mark) + "duplicate key '" +
                         shorten_for_message(kv.first.Scalar()) + "' (first at line " +
                         std::to_string(it->second) + ")");
      check_tree(kv.second, key.empty() ? kv.first.Scalar() : key + "." + kv.first.Scalar(),
                 key_mark, walk);
    }
  }
  walk.ancestors.pop_back();
}

YAML::Node checked(const YAML::Node& doc, const std::string& file) {
  TreeWalk walk{file, 0, {}};
  check_tree(doc, "", doc.Mark(), walk);
  return doc;
}
} // namespace

YAML::Node load_yaml_file(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    throw InputError("config file not found: " + path.string());
  // A folder, a FIFO or /dev/zero: refused before yaml-cpp's stream blocks or fails unnamed.
  require_regular_file(path, "config file");
  try {
    return checked(YAML::LoadFile(path.string()), path.string());
  } catch (const YAML::ParserException& e) {
    throw InputError(path.string() + ":" + std::to_string(e.mark.line + 1) + ":" +
                     std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg);
  } catch (const YAML::BadFile&) {
    throw InputError("cannot read config file " + path.string());
  }
}

YAML::Node load_yaml_text(const std::string& text, const std::string& file) {
  try {
    return checked(YAML::Load(text), file);
  } catch (const YAML::ParserException& e) {
    throw InputError(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                     std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg);
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
  // Lengths more than two apart are more than two edits apart: skipped without the quadratic
  // table (a 1 MB key must not cost seconds per candidate).
  auto distance = [](const std::string& a, const std::string& b) -> size_t {
    return (a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) > 2
               ? 3
               : edit_distance(a, b);
  };
  for (const auto& c : candidates) {
    const size_t whole = distance(key, c);
    size_t d = std::min(whole, distance(last_part(key), last_part(c)) +
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
