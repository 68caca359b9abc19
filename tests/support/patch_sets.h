// A tiny patch set for the cache tests (tests/data) and the lying-cache tests (tests/security).
#pragma once

#include "data/data.h"

#include <string>

namespace vfp::testing_support {

/// Three 5×4 2D patches of two subjects' L1/L2 with distinct pixels, origins and spacings.
inline data::PatchSet small_patch_set() {
  data::PatchSet p;
  p.height = 5;
  p.width = 4;
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 20; ++k)
      p.pixels.push_back(0.01F * float(k + 20 * i));
    p.subject_ids.push_back("S" + std::to_string(i));
    p.vertebrae.push_back(20 + i % 2);
    p.origin.insert(p.origin.end(), {-10.5 * i, 4.25, 100.0 + i});
    p.spacing.insert(p.spacing.end(), {1.0, 1.0, 1.5});
  }
  return p;
}

} // namespace vfp::testing_support
