#include "loader/loader.h"

#include "core/core.h"

#include <gtest/gtest.h>

#include <map>
#include <numeric>

using vfp::loader::Batch;
using vfp::loader::Loader;
using vfp::loader::LoaderOptions;
using vfp::loader::MemorySource;
using vfp::loader::Sampling;
using vfp::loader::Shape;

namespace {

/// Patch i is filled with the value i, so a batch shows which patches it holds.
struct Patches {
  Shape shape;
  std::vector<float> pixels;
  std::vector<float> labels;
  MemorySource source;
  Patches(int n, Shape s)
      : shape(s), pixels(size_t(n * s.values())), labels(size_t(n)),
        source(pixels.data(), s.values()) {
    for (int i = 0; i < n; ++i) {
      std::fill_n(pixels.begin() + i * s.values(), s.values(), float(i));
      labels[size_t(i)] = i % 3 == 0 ? 1.0F : 0.0F;
    }
  }
};

/// Reads from a MemorySource, but fails on one patch, as a corrupt cache patch does.
class FailingSource : public vfp::loader::PatchSource {
public:
  FailingSource(const PatchSource& inner, std::int64_t bad) : inner_(inner), bad_(bad) {}
  void read(std::int64_t item, float* out) const override {
    if (item == bad_)
      throw vfp::IoError("checksum mismatch in patch " + std::to_string(item));
    inner_.read(item, out);
  }

private:
  const PatchSource& inner_;
  std::int64_t bad_;
};

std::vector<int> iota(int n) {
  std::vector<int> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

/// Every batch of one epoch, flattened: pixels, labels and items.
struct Epoch {
  std::vector<float> x, y;
  std::vector<int> items, sizes;
};
Epoch read_epoch(Loader& loader, int epoch, const Shape& s) {
  Epoch e;
  loader.start_epoch(epoch);
  Batch b;
  while (loader.next(b)) {
    e.x.insert(e.x.end(), b.x, b.x + b.size * s.values());
    e.y.insert(e.y.end(), b.y, b.y + b.size);
    e.items.insert(e.items.end(), b.items, b.items + b.size);
    e.sizes.push_back(b.size);
  }
  return e;
}

} // namespace

TEST(Loader, ServesEveryItemOncePerEpochWithItsLabelAndPixels) {
  const Patches p(23, Shape{1, 0, 4, 4});
  std::vector<int> items = iota(23);
  LoaderOptions o;
  o.batch_size = 5;
  o.seed = 4;
  Loader loader(p.source, p.shape, items, p.labels, o);
  EXPECT_EQ(loader.batches_per_epoch(), 5);
  const auto e = read_epoch(loader, 1, p.shape);
  EXPECT_EQ(e.sizes, (std::vector<int>{5, 5, 5, 5, 3}));
  auto sorted = e.items;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, items);
  EXPECT_NE(e.items, items) << "shuffled";
  for (size_t k = 0; k < e.items.size(); ++k) {
    EXPECT_EQ(e.y[k], p.labels[size_t(e.items[k])]);
    EXPECT_EQ(e.x[k * 16 + 7], float(e.items[k]));
  }
  EXPECT_NE(read_epoch(loader, 2, p.shape).items, e.items) << "each epoch has its own order";
}

TEST(Loader, DropsALastBatchOfOneSample) {
  const Patches p(21, Shape{1, 0, 2, 2});
  LoaderOptions o;
  o.batch_size = 5;
  Loader loader(p.source, p.shape, iota(21), p.labels, o);
  EXPECT_EQ(loader.batches_per_epoch(), 4);
  EXPECT_EQ(read_epoch(loader, 1, p.shape).sizes, (std::vector<int>{5, 5, 5, 5}));
}

TEST(Loader, GivesTheSameBatchesWithZeroOneOrFourThreads) {
  // Order and augmentation depend on (seed, epoch, position), never on which thread works.
  const Patches p(50, Shape{2, 0, 9, 9});
  std::vector<Epoch> runs;
  for (int threads : {0, 1, 4}) {
    LoaderOptions o;
    o.batch_size = 8;
    o.threads = threads;
    o.prefetch = 2;
    o.seed = 99;
    o.sampling = Sampling::kBalanced;
    o.augment.enabled = true;
    Loader loader(p.source, p.shape, iota(50), p.labels, o);
    runs.push_back(read_epoch(loader, 3, p.shape));
  }
  for (size_t r = 1; r < runs.size(); ++r) {
    EXPECT_EQ(runs[r].items, runs[0].items);
    EXPECT_EQ(runs[r].x, runs[0].x);
    EXPECT_EQ(runs[r].y, runs[0].y);
  }
}

TEST(Loader, RestartingAnEpochMidwayStartsTheNewOneFromItsFirstBatch) {
  const Patches p(64, Shape{1, 0, 3, 3});
  LoaderOptions o;
  o.batch_size = 4;
  o.threads = 3;
  o.prefetch = 4;
  Loader loader(p.source, p.shape, iota(64), p.labels, o);
  const auto full = read_epoch(loader, 2, p.shape);
  loader.start_epoch(1);
  Batch b;
  ASSERT_TRUE(loader.next(b)); // leave epoch 1 after one batch, workers still busy
  EXPECT_EQ(read_epoch(loader, 2, p.shape).items, full.items);
}

TEST(Loader, ServesThreeDimensionalPatchesWithAugmentation) {
  const Patches p(10, Shape{1, 6, 6, 6});
  LoaderOptions o;
  o.batch_size = 4;
  o.augment.enabled = true;
  o.augment.noise_std = 0;
  Loader loader(p.source, p.shape, iota(10), p.labels, o);
  const auto e = read_epoch(loader, 1, p.shape);
  ASSERT_EQ(e.items.size(), 10u);
  // A constant patch stays constant under flips, rotations and zoom: only gain and shift act.
  for (size_t k = 0; k < 10; ++k) {
    const float first = e.x[k * 216];
    for (int v = 0; v < 216; ++v)
      ASSERT_FLOAT_EQ(e.x[k * 216 + size_t(v)], first);
    EXPECT_NEAR(first, float(e.items[k]), 0.05 * e.items[k] + 0.021);
  }
}

TEST(Loader, RethrowsAPatchReadErrorWhereItsBatchIsServed_WithZeroOrTwoThreads) {
  // A worker thread cannot throw: the error travels with its batch to the consumer.
  const Patches p(12, Shape{1, 0, 2, 2});
  const FailingSource failing(p.source, 7);
  for (int threads : {0, 2}) {
    for (bool augment : {false, true}) {
      LoaderOptions o;
      o.batch_size = 4;
      o.threads = threads;
      o.sampling = Sampling::kSequential;
      o.augment.enabled = augment;
      Loader loader(failing, p.shape, iota(12), p.labels, o);
      loader.start_epoch(1);
      Batch b;
      ASSERT_TRUE(loader.next(b)); // patches 0-3
      try {
        loader.next(b); // patches 4-7
        ADD_FAILURE() << "no error, threads " << threads;
      } catch (const vfp::IoError& e) {
        EXPECT_STREQ(e.what(), "checksum mismatch in patch 7");
      }
    }
  }
}
