// The error a results row gives when read: what the row tests compare messages with.
#pragma once

#include "core/core.h"
#include "results/results.h"

#include <nlohmann/json.hpp>

#include <string>

namespace vfp::results_test {

/// The InputError's message reading `row` gives ("" when it reads).
inline std::string read_error(const nlohmann::json& row) {
  try {
    results::row_from_json(row);
  } catch (const vfp::InputError& e) {
    return e.what();
  }
  return "";
}

} // namespace vfp::results_test
