// vfp::loader — batches of patches for training: a seeded epoch order (shuffled or
// class-balanced), on-the-fly augmentation for 2D and 3D, and background threads that
// prepare the next batches while the model trains on the current one. Std-only, so it
// builds with the torch-only option too.
//
// Determinism: every batch and every augmented sample is a function of (seed, epoch,
// position) alone, so the same task gives the same batches with 0, 1 or 8 threads.
#pragma once

#include "config/sections.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace vfp::loader {

/// Shape of one patch: [channels][height][width] (2D, depth 0) or [channels][depth][h][w].
struct Shape {
  int channels = 1;
  int depth = 0;
  int height = 0;
  int width = 0;
  bool is_3d() const { return depth > 0; }
  std::int64_t plane() const { return std::int64_t(height) * width; }
  std::int64_t channel_values() const { return plane() * (is_3d() ? depth : 1); }
  std::int64_t values() const { return channel_values() * channels; }
};

/// On-the-fly augmentation. Ranges are uniform and symmetric; 0 switches a part off.
/// The config's augmentation section (its keys and defaults, one source) and whether to apply
/// it (train.augment).
struct AugmentOptions : config::AugmentationConfig {
  bool enabled = false;
};

/// Writes an augmented copy of one patch to `dst` (not aliasing `src`); the same seed
/// gives the same result. With augmentation disabled it copies.
void augment_patch(const float* src, float* dst, const Shape& shape, const AugmentOptions& options,
                   std::uint64_t seed);

/// Resamples every channel of `src` rotated about the patch centre and zoomed by `zoom`
/// (> 1 magnifies), linear interpolation, edge values outside. 2D: `angles[0]` in radians,
/// in-plane. 3D: rotations about the depth, height and width axes in that order.
void warp_patch(const float* src, float* dst, const Shape& shape, const double angles[3],
                double zoom);

enum class Sampling {
  kSequential, ///< items in the order given (scoring)
  kShuffle,    ///< a seeded permutation per epoch
  kBalanced,   ///< as many draws as items, with replacement, each class with probability 1/2
};

/// The items of one epoch in the order they are served.
std::vector<int> epoch_order(const std::vector<int>& items, const std::vector<float>& labels,
                             Sampling sampling, std::uint64_t seed, int epoch);

struct LoaderOptions {
  int batch_size = 16;
  Sampling sampling = Sampling::kShuffle;
  bool drop_single = true; ///< drop a last batch of one sample (batch norm cannot use it)
  int threads = 1;         ///< background threads; 0 makes batches on the caller's thread
  int prefetch = 3;        ///< batches prepared ahead of the one in use
  std::uint64_t seed = 0;
  AugmentOptions augment;
};

/// Where the loader finds its patches: an array in memory, or a cache file read patch by
/// patch (the tasks' data path: memory does not grow with the number of patches).
class PatchSource {
public:
  virtual ~PatchSource() = default;
  /// Writes patch `item` (the shape's values() floats) to `out`. Called from the loader's
  /// threads at once: implementations must be safe for concurrent reads.
  virtual void read(std::int64_t item, float* out) const = 0;
};

/// Patches held in one array: patch i at `pixels + i * values`.
class MemorySource : public PatchSource {
public:
  MemorySource(const float* pixels, std::int64_t values) : pixels_(pixels), values_(values) {}
  void read(std::int64_t item, float* out) const override;

private:
  const float* pixels_;
  std::int64_t values_;
};

/// One batch; its pointers stay valid until the next call to Loader::next or start_epoch.
struct Batch {
  const float* x = nullptr; ///< [size][shape.values()]
  const float* y = nullptr; ///< [size] labels
  const int* items = nullptr;
  int size = 0;
};

/// Serves batches of `items` (patch numbers of `source`, which holds patches of `shape`) with
/// their `labels` (indexed by patch number). `source` must outlive the loader. Keeps its
/// buffers for its lifetime (a batch slot per prefetched batch, and one patch per thread when
/// augmenting): no allocation per step, and memory independent of the number of patches.
/// An error reading a patch (a corrupt cache) is rethrown by the next() that serves its batch.
class Loader {
public:
  Loader(const PatchSource& source, Shape shape, std::vector<int> items, std::vector<float> labels,
         LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  /// Starts (or restarts) epoch `epoch`; abandons what is left of the previous one.
  void start_epoch(int epoch);
  /// Fills `out` with the next batch of the epoch; false when the epoch is over.
  bool next(Batch& out);
  int batches_per_epoch() const;
  /// Seconds next() spent waiting for a batch that was not ready (with no background
  /// threads: making the batch), since construction.
  double wait_seconds() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace vfp::loader
