#include "core/core.h"

#include <cstdio>
#include <cstring>

namespace vfp {

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed) {
  std::uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::uint64_t checksum64(const void* data, std::size_t bytes) {
  // Position-weighted sums (Fletcher's idea, as in ZFS's fletcher4) over eight lanes of
  // 64-bit words: `sum` catches any change of a word, `weighted` (the running sum of
  // `sum`) a change of order. Only additions, so the compiler vectorises the loop and it
  // runs at memory speed, well ahead of a multiply-per-word hash; the lanes are mixed at
  // the end so that every bit of the result depends on every lane.
  std::uint64_t sum[8] = {}, weighted[8] = {};
  const auto* p = static_cast<const unsigned char*>(data);
  const std::size_t blocks = bytes / 64;
  for (std::size_t b = 0; b < blocks; ++b, p += 64) {
    std::uint64_t w[8];
    std::memcpy(w, p, 64);
    for (int k = 0; k < 8; ++k) {
      sum[k] += w[k];
      weighted[k] += sum[k];
    }
  }
  std::uint64_t h = fnv1a64(std::string_view(reinterpret_cast<const char*>(p), bytes % 64)) ^ bytes;
  for (int k = 0; k < 8; ++k)
    h = mix_seed(mix_seed(h ^ sum[k]) ^ weighted[k]);
  return h;
}

std::string hex64(std::uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

std::uint64_t mix_seed(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

} // namespace vfp
