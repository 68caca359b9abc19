#include "train/train.h"

#include "core/core.h"

#include <algorithm>
#include <map>

namespace vfp::train {

void aggregate_by_subject(const std::vector<int>& patch_subject, const std::vector<int>& patches,
                          const std::vector<float>& scores, const std::string& how,
                          std::vector<int>& subjects, std::vector<double>& subject_scores) {
  VFP_CHECK(patches.size() == scores.size(), "one score per patch");
  std::map<int, std::pair<double, int>> acc; // subject → (max or sum, count)
  for (size_t k = 0; k < patches.size(); ++k) {
    const int s = patch_subject[patches[k]];
    auto [it, fresh] = acc.try_emplace(s, scores[k], 0);
    if (!fresh)
      it->second.first = how == "max" ? std::max(it->second.first, double(scores[k]))
                                      : it->second.first + scores[k];
    ++it->second.second;
  }
  subjects.clear();
  subject_scores.clear();
  for (const auto& [s, v] : acc) {
    subjects.push_back(s);
    subject_scores.push_back(how == "max" ? v.first : v.first / v.second);
  }
}

} // namespace vfp::train
