// bench_out_of_core's parts (out_of_core.cpp: the command line and the parent that writes the
// archives and runs the measurements; out_of_core_archive.cpp: the synthetic archives;
// out_of_core_worker.cpp: one measurement, in a process of its own).
#pragma once

#include "args.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vfp::bench::out_of_core {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

/// The command line (out_of_core.cpp parses it); the parent hands its sizes on to each worker.
struct Options {
  fs::path dir = fs::temp_directory_path() / "vfp_out_of_core";
  std::vector<int> patches{1000, 10000, 40000};
  std::vector<int> edges{47, 64};
  std::vector<int> byol_patches{1000, 40000}; ///< archives BYOL pretrains on (from the cache)
  std::string dtype = "float32";
  int max_cache_gb = 20;   ///< an edge whose largest cache is larger is stored as float16
  int memory_limit_gb = 8; ///< the in-memory path is skipped above this many GB of float32
  // Sized for a 2-core machine: fNet 3D at 64³ trains at a few samples/s there.
  int steps = 6, epochs = 3, batch = 8, threads = 2, rounds = 2, byol_steps = 4;
  // Worker mode (internal): what one measurement runs.
  std::string worker, cache, key, path;
};

/// The program's usage errors: "bench_out_of_core: <what> (bench_out_of_core --help)".
inline const Args kArgs("bench_out_of_core");

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The synthetic archive (out_of_core_archive.cpp).

/// Subject of patch p (two vertebrae, L1 and L2, per subject) and its label: every 5th
/// subject is positive (20 %, as in the study) and its patches carry the planted blob.
inline int subject_of(std::int64_t p) {
  return int(p / 2);
}
inline bool positive(int subject) {
  return subject % 5 == 0;
}

/// How long writing an archive took (generating its patches included) and its size.
struct Written {
  double seconds = 0, generate_seconds = 0, gb = 0;
};

/// Writes `count` synthetic patches of `edge`³ as a cache of `dtype` with `key`, patch by
/// patch (data::CacheWriter), timing the whole and the generation.
Written write_archive(const fs::path& file, int count, int edge, const std::string& dtype,
                      const std::string& key);

// One measurement (out_of_core_worker.cpp).

/// The worker process (--worker train|byol): opens the cache (--path cache|memory), measures,
/// and prints its figures as one "OOC key=value ..." line; returns the exit status.
int worker(const Options& o);

} // namespace vfp::bench::out_of_core
