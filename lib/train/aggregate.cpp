#include "train/train.h"

#include "core/core.h"

#include <algorithm>
#include <map>

namespace vfp::train {

void aggregate_by_subject(const std::vector<int>& patch_subject, const std::vector<int>& patches,
                          const std::vector<float>& scores, const std::string& how,
                          std::vector<int>& subjects, std::vector<double>& subject_scores) {
  VFP_CHECK(patches.size() == scores.size(), "one score per patch");
  if (how != "max" && how != "mean" && how != "noisy_or")
    throw InputError("unknown aggregation '" + how + "' (max, mean or noisy_or)");
  // subject → (max, sum, product of (1 - p), count)
  struct Acc {
    double max = 0, sum = 0, none = 1;
    int count = 0;
  };
  std::map<int, Acc> acc;
  for (size_t k = 0; k < patches.size(); ++k) {
    auto& a = acc[patch_subject[patches[k]]];
    const double p = scores[k];
    a.max = a.count == 0 ? p : std::max(a.max, p);
    a.sum += p;
    a.none *= 1.0 - p;
    ++a.count;
  }
  subjects.clear();
  subject_scores.clear();
  for (const auto& [s, a] : acc) {
    subjects.push_back(s);
    // noisy-or: the probability that at least one vertebra fractures, if independent
    subject_scores.push_back(how == "max" ? a.max : how == "mean" ? a.sum / a.count : 1.0 - a.none);
  }
}

} // namespace vfp::train
