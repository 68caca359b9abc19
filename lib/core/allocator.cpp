#include "core/core.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace vfp {

std::string keep_freed_memory() {
#ifdef __GLIBC__
  constexpr int kGiB = 1 << 30;
  // Blocks above the mmap threshold go back to the kernel when freed and fault in again
  // page by page at the next step; a training step frees and reallocates the same large
  // activations every time. Serve them from the heap instead, and do not trim it. Some
  // glibc releases cap the threshold at HEAP_MAX_SIZE / 2 (32 MiB): ask for that then.
  int mmap_threshold = kGiB;
  if (mallopt(M_MMAP_THRESHOLD, kGiB) != 1) {
    mmap_threshold = 32 << 20;
    mallopt(M_MMAP_THRESHOLD, mmap_threshold);
  }
  mallopt(M_TRIM_THRESHOLD, kGiB);
  return "glibc malloc: mmap_threshold " + std::to_string(mmap_threshold) + ", trim_threshold " +
         std::to_string(kGiB);
#else
  return "allocator defaults (not glibc)";
#endif
}

} // namespace vfp
