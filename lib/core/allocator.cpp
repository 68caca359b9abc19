#include "core/core.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace vfp {

MallocThresholds keep_freed_memory() {
  MallocThresholds set;
#ifdef __GLIBC__
  constexpr int kGiB = 1 << 30;
  // Blocks above the mmap threshold go back to the kernel when freed and fault in again
  // page by page at the next step; a training step frees and reallocates the same large
  // activations every time. Serve them from the heap instead, and do not trim it. Some
  // glibc releases cap the threshold at HEAP_MAX_SIZE / 2 (32 MiB): ask for that then.
  set.mmap = kGiB;
  if (mallopt(M_MMAP_THRESHOLD, kGiB) != 1) {
    set.mmap = 32L << 20;
    mallopt(M_MMAP_THRESHOLD, int(set.mmap));
  }
  set.trim = kGiB;
  mallopt(M_TRIM_THRESHOLD, kGiB);
#endif
  return set;
}

std::string MallocThresholds::describe() const {
  if (mmap == 0)
    return "allocator defaults (not glibc)";
  return "glibc malloc: mmap_threshold " + std::to_string(mmap) + ", trim_threshold " +
         std::to_string(trim);
}

} // namespace vfp
