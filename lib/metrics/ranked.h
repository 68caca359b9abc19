// Scores sorted from the highest down, with their labels and row indices: the one sort every
// metric starts from (private to lib/metrics).
#pragma once

#include <cstdint>
#include <vector>

namespace vfp::metrics {

/// Allocates buffers of 4 MiB and more on transparent huge pages where the kernel allows
/// (madvise): first touching 10 M scores' worth of 4 KiB pages costs more than sorting them
/// on our VMs. Smaller buffers come from operator new.
template <typename T> struct LargeBufferAllocator {
  using value_type = T;
  LargeBufferAllocator() = default;
  template <typename U> LargeBufferAllocator(const LargeBufferAllocator<U>&) {}
  T* allocate(std::size_t n);
  void deallocate(T* p, std::size_t n);
  template <typename U> bool operator==(const LargeBufferAllocator<U>&) const { return true; }
  template <typename U> bool operator!=(const LargeBufferAllocator<U>&) const { return false; }
};

/// A score as an unsigned key whose ascending order is the scores' descending order, with its
/// row and label.
struct Ranked {
  std::uint64_t key;
  std::uint32_t index; ///< row in the caller's vectors
  std::uint32_t label; ///< 0 or 1
  double score() const;
};
using RankedScores = std::vector<Ranked, LargeBufferAllocator<Ranked>>;

/// `scores` by decreasing score (ties in no particular order; −0 and +0 tie). An LSD radix
/// sort on the keys above a few thousand rows (10 M scores in about a third of std::sort's
/// time). Inputs must be checked (no NaN, labels 0/1, < 2³² rows).
RankedScores rank_descending(const std::vector<double>& scores, const std::vector<int>& labels);

/// Calls `group(begin, end)` for each run of equal scores in `ranked` (positions).
template <typename Group> void for_each_tie_group(const RankedScores& ranked, Group group) {
  for (std::size_t k = 0; k < ranked.size();) {
    std::size_t end = k + 1;
    while (end < ranked.size() && ranked[end].key == ranked[k].key)
      ++end;
    group(k, end);
    k = end;
  }
}

} // namespace vfp::metrics
