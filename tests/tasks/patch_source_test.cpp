// The tasks' data path: patches read from the cache file (memory-mapped, or through HDF5 when
// compressed) give bit for bit the batches, training results and BYOL losses that the same
// patches give from memory; a corrupt patch fails the task naming the cache file.
#include "tasks/patch_source.h"

#include "core/core.h"
#include "data/data.h"
#include "loader/loader.h"
#include "ssl/ssl.h"
#include "train/train.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <random>
#include <string>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using vfp::loader::Batch;
using vfp::loader::Loader;
using vfp::loader::LoaderOptions;
using vfp::loader::MemorySource;
using vfp::loader::Shape;
using vfp::tasks::CacheSource;

fs::path scratch(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("vfp_patch_source_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

/// `subjects` subjects with two patches each (2D side², or 3D side³ with `depth`), every 4th
/// an event with a brighter centre, plus noise: a set a tiny model learns something from.
vfp::data::PatchSet toy_patches(int subjects, int side, bool three_d, std::uint64_t seed) {
  vfp::data::PatchSet p;
  p.depth = three_d ? side : 0;
  p.height = p.width = side;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0F, 0.05F);
  const int planes = three_d ? side : 1;
  for (int s = 0; s < subjects; ++s) {
    const bool event = s % 4 == 0;
    for (int v = 0; v < 2; ++v) {
      for (int z = 0; z < planes; ++z)
        for (int r = 0; r < side; ++r)
          for (int c = 0; c < side; ++c) {
            const float centre = float(side) / 2.0F;
            const float dz = three_d ? float(z) - centre : 0.0F;
            const float dr = float(r) - centre, dc = float(c) - centre;
            const float d = std::sqrt(dz * dz + dr * dr + dc * dc);
            p.pixels.push_back((d < side / 4.0F ? (event ? 0.7F : 0.4F) : 0.2F) + noise(rng));
          }
      p.subject_ids.push_back("S" + std::to_string(s));
      p.vertebrae.push_back(20 + v);
      p.origin.insert(p.origin.end(), {0.0, 0.0, 0.0});
      p.spacing.insert(p.spacing.end(), {1.0, 1.0, 1.0});
    }
  }
  return p;
}

Shape shape_of(const vfp::data::PatchSet& p) {
  return Shape{p.channels, p.depth, p.height, p.width};
}

/// Every batch of one epoch, flattened.
struct Epoch {
  std::vector<float> x, y;
  std::vector<int> items;
};
Epoch read_epoch(const vfp::loader::PatchSource& source, const vfp::data::PatchSet& p,
                 const LoaderOptions& o, int epoch) {
  std::vector<int> items(p.size());
  std::iota(items.begin(), items.end(), 0);
  std::vector<float> labels(p.size());
  for (std::size_t i = 0; i < p.size(); ++i)
    labels[i] = i % 8 < 2 ? 1.0F : 0.0F;
  Loader loader(source, shape_of(p), items, labels, o);
  loader.start_epoch(epoch);
  Epoch e;
  Batch b;
  const auto values = shape_of(p).values();
  while (loader.next(b)) {
    e.x.insert(e.x.end(), b.x, b.x + b.size * values);
    e.y.insert(e.y.end(), b.y, b.y + b.size);
    e.items.insert(e.items.end(), b.items, b.items + b.size);
  }
  return e;
}

/// The split fit_and_score trains on: subjects by s % 5 (validation 0, test 1, train others).
vfp::train::FoldData fold_of(const vfp::data::PatchSet& p, const vfp::loader::PatchSource& source) {
  vfp::train::FoldData d;
  d.source = &source;
  d.depth = p.depth;
  d.height = p.height;
  d.width = p.width;
  const int subjects = int(p.size()) / 2;
  for (int s = 0; s < subjects; ++s)
    d.subject_label.push_back(s % 4 == 0);
  for (int i = 0; i < int(p.size()); ++i) {
    const int s = i / 2;
    d.patch_subject.push_back(s);
    (s % 5 == 0 ? d.validation : s % 5 == 1 ? d.test : d.train).push_back(i);
  }
  return d;
}

/// `patches` in a cache file `name`, and two sources of the same pixels: the cache file through
/// its reader, and memory.
struct BothSources {
  BothSources(vfp::data::PatchSet p, const std::string& name)
      : patches(std::move(p)), reader(written(scratch(name), patches), "k"), cached(reader),
        memory(patches.pixels.data(), std::int64_t(patches.patch_values())) {}
  static fs::path written(const fs::path& file, const vfp::data::PatchSet& p) {
    vfp::data::write_cache(file, p, "k", "{}");
    return file;
  }
  vfp::data::PatchSet patches;
  vfp::data::CacheReader reader;
  CacheSource cached;
  MemorySource memory;
};

/// Flips one bit inside patch `index`'s bytes in the file (found by its contents).
bool flip_a_bit_of_patch(const fs::path& file, const vfp::data::PatchSet& p, std::size_t index) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), {});
  const std::string needle(reinterpret_cast<const char*>(p.patch(index)),
                           p.patch_values() * sizeof(float));
  const auto pos = bytes.find(needle);
  if (pos == std::string::npos)
    return false;
  f.seekp(std::streamoff(pos + 9));
  f.put(char(bytes[pos + 9] ^ 0x04));
  return true;
}

} // namespace

TEST(CacheSource, GivesTheBatchesOfTheSamePatchesInMemoryBitForBit_WithZeroOneOrThreeThreads) {
  // Mapped (uncompressed) and HDF5 (compressed) caches, 2D with augmentation (read, then
  // warped) and 3D without (read straight into the batch).
  for (const bool three_d : {false, true}) {
    const auto p = toy_patches(12, three_d ? 6 : 9, three_d, 4);
    const MemorySource memory(p.pixels.data(), std::int64_t(p.patch_values()));
    for (const int compression : {0, 4}) {
      const auto file =
          scratch("batches_" + std::to_string(three_d) + "_" + std::to_string(compression) + ".h5");
      vfp::data::write_cache(file, p, "k", "{}", compression);
      const vfp::data::CacheReader reader(file, "k");
      ASSERT_EQ(reader.mapped(), compression == 0);
      const CacheSource cached(reader);
      for (const int threads : {0, 1, 3}) {
        LoaderOptions o;
        o.batch_size = 5;
        o.threads = threads;
        o.prefetch = 2;
        o.seed = 17;
        o.augment.enabled = !three_d;
        const auto from_memory = read_epoch(memory, p, o, 2);
        const auto from_cache = read_epoch(cached, p, o, 2);
        const auto what = "3d " + std::to_string(three_d) + ", compression " +
                          std::to_string(compression) + ", threads " + std::to_string(threads);
        ASSERT_EQ(from_cache.items, from_memory.items) << what;
        EXPECT_EQ(from_cache.y, from_memory.y) << what;
        EXPECT_TRUE(from_cache.x == from_memory.x) << what; // bitwise: no NaN among them
        EXPECT_EQ(from_cache.x.size(), p.pixels.size()) << what;
      }
    }
  }
}

TEST(CacheSource, TrainingOverTheCacheGivesTheTestScoresOfTrainingInMemory) {
  const BothSources both(toy_patches(30, 16, false, 5), "fit.h5");
  const auto& p = both.patches;
  vfp::train::TrainOptions o;
  o.model.width = 4;
  o.train.batch_size = 8;
  o.train.max_epochs = 2;
  o.train.loader_threads = 2;
  o.train.augment = true;
  o.run.seed = 3;
  o.run.device = "cpu";
  const auto in_memory = vfp::train::fit_and_score(o, fold_of(p, both.memory));
  const auto from_cache = vfp::train::fit_and_score(o, fold_of(p, both.cached));
  ASSERT_EQ(in_memory.test_scores.size(), 12u);
  EXPECT_EQ(from_cache.test_scores, in_memory.test_scores);
  ASSERT_EQ(from_cache.history.size(), 2u);
  for (std::size_t e = 0; e < 2; ++e) {
    EXPECT_EQ(from_cache.history[e].train_loss, in_memory.history[e].train_loss);
    EXPECT_EQ(from_cache.history[e].val_loss, in_memory.history[e].val_loss);
  }
}

TEST(CacheSource, ByolOverTheCacheGivesTheLossesOfByolInMemory) {
  const BothSources both(toy_patches(6, 16, true, 6), "byol.h5");
  const auto& p = both.patches;
  const auto& memory = both.memory;
  const auto& cached = both.cached;
  vfp::ssl::ByolOptions o;
  o.model.width = 4;
  o.ssl.projector_hidden = 16;
  o.ssl.projection_dim = 8;
  o.ssl.batch_size = 5; // 11 items: 5, 5 and a last single patch dropped
  o.ssl.epochs = 2;
  o.run.seed = 8;
  o.run.device = "cpu";
  std::vector<int> items(11);
  std::iota(items.begin(), items.end(), 1);
  const int count = int(p.size());
  const vfp::ssl::Patches from_memory{&memory, count, 1, p.depth, p.height, p.width, items, ""};
  vfp::ssl::Patches from_cache{&cached, count, 1, p.depth, p.height, p.width, items, ""};
  from_cache.identity = cached.identity();
  o.run.checkpoint = scratch("progress_memory.pt").string(); // fingerprints through the source
  const auto a = vfp::ssl::pretrain_byol(o, from_memory, scratch("memory.safetensors").string());
  o.run.checkpoint = scratch("progress_cache.pt").string(); // fingerprints by identity
  const auto b = vfp::ssl::pretrain_byol(o, from_cache, scratch("cache.safetensors").string());
  ASSERT_EQ(a.history.size(), 2u);
  EXPECT_EQ(a.steps, 4);
  EXPECT_EQ(b.steps, a.steps);
  for (std::size_t e = 0; e < 2; ++e)
    EXPECT_EQ(b.history[e].loss, a.history[e].loss) << "epoch " << e + 1;
  EXPECT_EQ(vfp::read_text_file(scratch("cache.safetensors")),
            vfp::read_text_file(scratch("memory.safetensors")));
}

TEST(CacheSource, ItsIdentityChangesWithAnyPixelAndNotWithTheFile) {
  auto p = toy_patches(4, 6, false, 7);
  auto identity_of = [&](const std::string& name) {
    const auto file = scratch(name);
    vfp::data::write_cache(file, p, "k", "{}");
    const vfp::data::CacheReader reader(file, "k");
    return CacheSource(reader).identity();
  };
  const auto first = identity_of("id_a.h5");
  EXPECT_EQ(identity_of("id_b.h5"), first);
  p.pixels[3 * p.patch_values() + 5] += 0.25F;
  EXPECT_NE(identity_of("id_c.h5"), first);
}

TEST(CacheSource, ACorruptPatchFailsTrainingNamingTheCacheFileAndSubject) {
  // The loader's thread meets it: the error reaches fit_and_score's caller, not std::terminate.
  const auto p = toy_patches(30, 16, false, 9);
  const auto file = scratch("corrupt.h5");
  vfp::data::write_cache(file, p, "k", "{}");
  ASSERT_TRUE(flip_a_bit_of_patch(file, p, 14)); // subject S7, a training subject
  const vfp::data::CacheReader reader(file, "k");
  const CacheSource cached(reader);
  vfp::train::TrainOptions o;
  o.model.width = 4;
  o.train.max_epochs = 1;
  o.train.loader_threads = 1;
  o.run.device = "cpu";
  try {
    vfp::train::fit_and_score(o, fold_of(p, cached));
    FAIL() << "trained on a corrupt patch";
  } catch (const vfp::data::CacheError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(file.string()), std::string::npos) << what;
    EXPECT_NE(what.find("checksum mismatch in patch 14 (subject S7)"), std::string::npos) << what;
  }
}
