// What the plan tests (plan_test.cpp, external_pretraining_test.cpp) ask of a planned sweep:
// an empty disk to plan on, and the jobs of one kind.
#pragma once

#include "tasks/plan.h"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace vfp::testing_support {

/// Nothing on disk but `rows`: no cache, no pretrained checkpoint.
inline tasks::OnDisk rows_only(std::vector<nlohmann::json> rows = {}) {
  tasks::OnDisk d;
  d.rows = std::move(rows);
  d.cache_present = [](const std::string&) { return false; };
  d.pretrained = [](const std::string&) { return false; };
  return d;
}

/// The indices of the jobs of `kind`, in graph order.
inline std::vector<int> jobs_of(const dispatch::Graph& g, const std::string& kind) {
  std::vector<int> out;
  for (std::size_t j = 0; j < g.size(); ++j)
    if (g.job(int(j)).kind == kind)
      out.push_back(int(j));
  return out;
}

} // namespace vfp::testing_support
