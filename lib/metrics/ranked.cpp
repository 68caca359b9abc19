#include "metrics/ranked.h"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <new>

namespace vfp::metrics {
namespace {

constexpr std::size_t kHugePage = std::size_t(2) << 20;
constexpr std::size_t kLargeBuffer = std::size_t(4) << 20;
constexpr std::uint64_t kSignBit = std::uint64_t(1) << 63;

std::uint64_t descending_key(double score) {
  score += 0.0; // −0 → +0
  std::uint64_t bits;
  std::memcpy(&bits, &score, sizeof bits);
  // Positive doubles order as their bits with the sign bit set; negative ones reversed.
  const std::uint64_t ascending = bits & kSignBit ? ~bits : bits | kSignBit;
  return ~ascending;
}

} // namespace

template <typename T> T* LargeBufferAllocator<T>::allocate(std::size_t n) {
  const std::size_t bytes = n * sizeof(T);
  if (bytes < kLargeBuffer)
    return static_cast<T*>(::operator new(bytes));
  const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, rounded);
  if (!p)
    throw std::bad_alloc();
  madvise(p, rounded, MADV_HUGEPAGE); // a hint: without huge pages it still works
  return static_cast<T*>(p);
}

template <typename T> void LargeBufferAllocator<T>::deallocate(T* p, std::size_t n) {
  if (n * sizeof(T) < kLargeBuffer)
    ::operator delete(p);
  else
    std::free(p);
}

template struct LargeBufferAllocator<Ranked>;

double Ranked::score() const {
  const std::uint64_t ascending = ~key;
  const std::uint64_t bits = ascending & kSignBit ? ascending & ~kSignBit : ~ascending;
  double score;
  std::memcpy(&score, &bits, sizeof score);
  return score;
}

RankedScores rank_descending(const std::vector<double>& scores, const std::vector<int>& labels) {
  const std::size_t n = scores.size();
  RankedScores out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = {descending_key(scores[i]), std::uint32_t(i), std::uint32_t(labels[i])};
  const auto by_key = [](const Ranked& a, const Ranked& b) { return a.key < b.key; };
  if (n < 4096) {
    std::sort(out.begin(), out.end(), by_key);
    return out;
  }
  // Six passes of 11 bits (fewer, larger passes measured faster than 8 × 8 bits); a pass
  // whose digit is the same in every row (e.g. the exponent of scores in [0.5, 1)) is skipped.
  constexpr int kBits = 11, kPasses = 6;
  constexpr std::size_t kBuckets = std::size_t(1) << kBits;
  std::vector<std::array<std::size_t, kBuckets>> counts(kPasses);
  for (auto& c : counts)
    c.fill(0);
  for (const auto& r : out)
    for (int p = 0; p < kPasses; ++p)
      ++counts[std::size_t(p)][(r.key >> (p * kBits)) & (kBuckets - 1)];
  RankedScores next(n);
  for (int p = 0; p < kPasses; ++p) {
    auto& count = counts[std::size_t(p)];
    if (std::any_of(count.begin(), count.end(), [n](std::size_t c) { return c == n; }))
      continue;
    std::size_t offset = 0;
    for (auto& c : count) {
      const std::size_t here = c;
      c = offset;
      offset += here;
    }
    for (const auto& r : out)
      next[count[(r.key >> (p * kBits)) & (kBuckets - 1)]++] = r;
    out.swap(next);
  }
  return out;
}

} // namespace vfp::metrics
