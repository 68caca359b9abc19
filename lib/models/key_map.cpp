// Key maps: rename a foreign checkpoint's keys onto ours with ordered regex rules.
#include "models/models.h"

#include "core/core.h"

#include <fstream>
#include <regex>

namespace vfp::models {
namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos)
    return "";
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

std::string at(const std::filesystem::path& file, int line) {
  return "key map " + file.string() + ":" + std::to_string(line) + ": ";
}

std::regex compile(const std::filesystem::path& file, const KeyRule& rule) {
  try {
    return std::regex(rule.pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw InputError(at(file, rule.line) + "bad regex '" + rule.pattern + "': " + e.what());
  }
}

[[noreturn]] void throw_collision(const std::filesystem::path& file, const std::string& first,
                                  const std::string& second, const std::string& name) {
  throw InputError("key map " + file.string() + ": '" + first + "' and '" + second +
                   "' both become '" + name + "'");
}

} // namespace

KeyMap read_key_map(const std::filesystem::path& file) {
  require_regular_file(file, "key map");
  std::ifstream in(file);
  if (!in)
    throw InputError("key map '" + file.string() + "' " +
                     (std::filesystem::exists(file) ? "cannot be opened" : "does not exist"));
  KeyMap map;
  map.file = file;
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    const auto body = trim(text.substr(0, text.find('#')));
    if (body.empty())
      continue;
    const auto arrow = body.find("=>");
    if (arrow == std::string::npos)
      throw InputError(at(file, line) +
                       "expected '<regex> => <replacement>' or '<regex> => "
                       "DROP', found '" +
                       body + "'");
    KeyRule rule;
    rule.line = line;
    rule.pattern = trim(body.substr(0, arrow));
    const auto replacement = trim(body.substr(arrow + 2));
    if (rule.pattern.empty())
      throw InputError(at(file, line) + "the regex before '=>' is empty");
    if (replacement.empty())
      throw InputError(at(file, line) + "the replacement after '=>' is empty (write DROP to "
                                        "drop the keys)");
    if (replacement.find("=>") != std::string::npos ||
        replacement.find_first_of(" \t") != std::string::npos)
      throw InputError(at(file, line) + "the replacement '" + replacement +
                       "' is not one key name (it holds a space or another '=>')");
    rule.replacement = replacement == "DROP" ? "" : replacement;
    compile(file, rule); // report a bad regex here, with its line
    map.rules.push_back(std::move(rule));
  }
  return map;
}

StateDict apply_key_map(const KeyMap& map, const StateDict& state) {
  std::vector<std::regex> patterns;
  patterns.reserve(map.rules.size());
  for (const auto& rule : map.rules)
    patterns.push_back(compile(map.file, rule));

  StateDict out;
  std::map<std::string, std::string> source_of; // new name → the key it came from
  for (const auto& item : state) {
    const auto& key = item.key();
    std::string name = key;
    const KeyRule* applied = nullptr;
    for (std::size_t i = 0; i < patterns.size(); ++i) {
      std::smatch match;
      if (std::regex_match(key, match, patterns[i])) {
        applied = &map.rules[i];
        name = applied->replacement.empty() ? "" : match.format(applied->replacement);
        break;
      }
    }
    if (applied && applied->replacement.empty())
      continue;
    if (name.empty())
      throw InputError(at(map.file, applied->line) + "renames '" + key + "' to an empty name");
    const auto [it, fresh] = source_of.emplace(name, key);
    if (!fresh)
      throw_collision(map.file, it->second, key, name);
    out.insert(name, item.value());
  }
  return out;
}

} // namespace vfp::models
