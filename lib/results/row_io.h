// The value readers and writers of results rows, for rows.cpp: each kind's *_fields function
// there names its keys once, and drives a Reader (JSON to row, a wrong type an InputError naming
// the key and the row) or a Writer (row to JSON, unknown keys kept).
#pragma once

#include "results/results.h"

#include "core/core.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vfp::results::row_io {

/// A value of the wrong JSON type; the Reader adds the key and the row. In a nested object
/// (provenance) `inner` names the key in it and `inner_type` what that key holds.
struct WrongType {
  explicit WrongType(const char* expected, std::string inner = {}, std::string inner_type = {})
      : expected(expected), inner(std::move(inner)), inner_type(std::move(inner_type)) {}
  const char* expected;
  std::string inner, inner_type;
};

// A nested object: defined in rows.cpp, from its provenance_fields.
void read(const nlohmann::json& v, Provenance& out);
nlohmann::json write(const Provenance& p);

inline void read(const nlohmann::json& v, std::string& out) {
  if (!v.is_string())
    throw WrongType{"a string"};
  out = v.get<std::string>();
}

inline void read(const nlohmann::json& v, bool& out) {
  if (!v.is_boolean())
    throw WrongType{"true or false"};
  out = v.get<bool>();
}

/// JSON writes a non-finite number (a NaN AUROC, an overflowing figure) as null.
inline void read(const nlohmann::json& v, double& out) {
  if (v.is_null())
    out = std::numeric_limits<double>::quiet_NaN();
  else if (v.is_number())
    out = v.get<double>();
  else
    throw WrongType{"a number"};
}

template <class Int, std::enable_if_t<std::is_integral_v<Int>, int> = 0>
void read(const nlohmann::json& v, Int& out) {
  if (!v.is_number_integer())
    throw WrongType{"an integer"};
  out = v.get<Int>();
}

inline void read(const nlohmann::json& v, nlohmann::json& out) {
  out = v;
}

inline void read(const nlohmann::json& v, std::vector<std::string>& out) {
  if (!v.is_array())
    throw WrongType{"a list of strings"};
  out.clear();
  for (const auto& s : v) {
    if (!s.is_string())
      throw WrongType{"a list of strings"};
    out.push_back(s.get<std::string>());
  }
}

/// "axes": [[key, value], ...].
inline void read(const nlohmann::json& v, std::vector<std::pair<std::string, std::string>>& out) {
  if (!v.is_array())
    throw WrongType{"a list of [key, value] strings"};
  out.clear();
  for (const auto& kv : v) {
    if (!kv.is_array() || kv.size() != 2 || !kv[0].is_string() || !kv[1].is_string())
      throw WrongType{"a list of [key, value] strings"};
    out.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
  }
}

inline void read(const nlohmann::json& v, std::vector<ExcludedSubject>& out) {
  if (!v.is_array())
    throw WrongType{"a list of {subject, reason}"};
  out.clear();
  for (const auto& e : v) {
    if (!e.is_object() || !e.value("subject", nlohmann::json("")).is_string() ||
        !e.value("reason", nlohmann::json("")).is_string())
      throw WrongType{"a list of {subject, reason}"};
    out.push_back({e.value("subject", ""), e.value("reason", "")});
  }
}

inline void read(const nlohmann::json& v, std::vector<FoldChoice>& out) {
  if (!v.is_array())
    throw WrongType{"a list of fold choices"};
  out.clear();
  for (const auto& f : v) {
    if (!f.is_object())
      throw WrongType{"a list of fold choices"};
    try {
      out.push_back(fold_choice_from_json(f));
    } catch (const nlohmann::json::exception&) {
      throw WrongType{"a list of fold choices"};
    }
  }
}

inline void read(const nlohmann::json& v, std::map<std::string, int>& out) {
  if (!v.is_object())
    throw WrongType{"an object of counts"};
  out.clear();
  for (const auto& [key, count] : v.items()) {
    if (!count.is_number_integer())
      throw WrongType{"an object of counts"};
    out[key] = count.get<int>();
  }
}

template <class T> void read(const nlohmann::json& v, std::optional<T>& out) {
  T value{};
  read(v, value);
  out = value;
}

/// Reads the fields a *_fields function names from a row; what it does not name stays in
/// extra().
class Reader {
public:
  explicit Reader(const nlohmann::json& row) : row_(row), extra_(row) {}

  /// A missing key keeps the field's default: a row of an older vfp.
  template <class T> void operator()(const char* key, T& out) {
    extra_.erase(key);
    const auto it = row_.find(key);
    if (it == row_.end())
      return;
    try {
      read(*it, out);
    } catch (const WrongType& wrong) {
      const bool nested = !wrong.inner.empty();
      throw InputError(where() + ": '" + key + (nested ? "." + wrong.inner : "") + "' is " +
                       (nested ? wrong.inner_type : it->type_name()) + ", expected " +
                       wrong.expected);
    }
  }
  void omit_empty(const char* key, std::string& out) { (*this)(key, out); }
  void flag(const char* key, bool& out) { (*this)(key, out); }

  nlohmann::json extra() const { return extra_; }

private:
  std::string where() const {
    const auto text = [&](const char* key) {
      const auto it = row_.find(key);
      return it != row_.end() && it->is_string() ? it->get<std::string>() : std::string("?");
    };
    return "results row of task " + text("task_id") + " (kind " + text("kind") + ")";
  }

  const nlohmann::json& row_;
  nlohmann::json extra_;
};

inline nlohmann::json write(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

inline nlohmann::json write(const std::vector<ExcludedSubject>& excluded) {
  auto out = nlohmann::json::array();
  for (const auto& e : excluded)
    out.push_back({{"subject", e.subject}, {"reason", e.reason}});
  return out;
}

inline nlohmann::json write(const std::vector<FoldChoice>& folds) {
  auto out = nlohmann::json::array();
  for (const auto& c : folds)
    out.push_back(to_json(c));
  return out;
}

template <class T> nlohmann::json write(const T& v) {
  return nlohmann::json(v);
}

/// Writes the fields a *_fields function names over the row's unknown keys.
class Writer {
public:
  explicit Writer(const nlohmann::json& extra)
      : out_(extra.is_object() ? extra : nlohmann::json::object()) {}

  template <class T> void operator()(const char* key, const T& v) { out_[key] = write(v); }
  /// Unset: the key is not written (a row that never had it).
  template <class T> void operator()(const char* key, const std::optional<T>& v) {
    if (v)
      out_[key] = write(*v);
  }
  void omit_empty(const char* key, const std::string& v) {
    if (!v.empty())
      out_[key] = v;
  }
  void flag(const char* key, bool v) {
    if (v)
      out_[key] = true;
  }

  nlohmann::json take() { return std::move(out_); }

private:
  nlohmann::json out_;
};

/// Reads a nested object's fields; a wrong type names the key in it (WrongType::inner).
class NestedReader {
public:
  explicit NestedReader(const nlohmann::json& object) : object_(object), extra_(object) {}
  template <class T> void operator()(const char* key, T& out) {
    extra_.erase(key);
    const auto it = object_.find(key);
    if (it == object_.end())
      return;
    try {
      read(*it, out);
    } catch (const WrongType& wrong) {
      throw WrongType{wrong.expected, key, it->type_name()};
    }
  }
  void omit_empty(const char* key, std::string& out) { (*this)(key, out); }
  nlohmann::json extra() const { return extra_; }

private:
  const nlohmann::json& object_;
  nlohmann::json extra_;
};

} // namespace vfp::results::row_io
