// Data-layer figures, printed side by side:
//   1. preprocessing throughput (CT volumes/s) with 1 and 2 threads;
//   2. patch reads in random order, three ways, for 2D and 3D patches (~170 MB caches):
//      - from the HDF5 cache through CacheReader: one chunk (= one patch) per read, verified;
//      - by re-reading the NIfTI and re-preprocessing (what a cache-less loader does);
//      - from a raw memory-mapped file of the same float bytes (the ceiling);
//      plus the whole-cache load that training does once (read_cache into fresh memory,
//      checksums verified; page faults on the new buffer included).
// Random reads are timed on a second pass in the same order: the steady state of an epoch
// loop, with the page cache and the mappings warm on both sides.
// Usage: bench_data [subjects=24] [work dir=/tmp/vfp_bench_data]
#include "core/core.h"
#include "data/data.h"
#include "record.h"
#include "shell.h"
#include "sweep/sweep.h"
#include "synth/synth.h"

#include <H5Cpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <sys/mman.h>
#include <unistd.h>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

vfp::config::ExperimentConfig config_for(const fs::path& work, const fs::path& cohort,
                                         const std::string& output) {
  const auto yaml = work / ("bench_" + output + ".yaml");
  std::ofstream(yaml) << "name: bench\ncohort: {dir: " << cohort.string()
                      << "}\npreprocess: {output: " << output
                      << "}\nmodel: {dims: " << (output == "3d" ? 3 : 2) << "}\n";
  return vfp::sweep::load(yaml).configurations.at(0).config;
}

struct ReadFigures {
  double patches_per_s = 0;
  double mb_per_s = 0;
};

ReadFigures figures(size_t patches, size_t bytes_per_patch, double seconds) {
  return {double(patches) / seconds, double(patches * bytes_per_patch) / seconds / 1e6};
}

/// Random-order single-patch reads through vfp's CacheReader (one chunk each, verified).
ReadFigures hdf5_random_reads(const fs::path& file, const std::string& key,
                              const std::vector<int>& order) {
  vfp::data::CacheReader reader(file, key);
  const size_t values = reader.index().patch_values();
  std::vector<float> buffer(values);
  double checksum = 0;
  for (int p : order) // a first epoch maps the pages in
    reader.read(size_t(p), buffer.data());
  const auto t0 = Clock::now();
  for (int p : order) {
    reader.read(size_t(p), buffer.data());
    checksum += buffer[values / 2];
  }
  const double s = since(t0);
  if (checksum < 0)
    std::puts(""); // keeps the reads observable
  return figures(order.size(), values * sizeof(float), s);
}

/// Random-order copies out of a memory-mapped raw file of the same bytes.
ReadFigures mmap_random_reads(const fs::path& raw, const std::vector<int>& order, size_t values) {
  const int fd = ::open(raw.c_str(), O_RDONLY);
  const size_t size = fs::file_size(raw);
  auto* base = static_cast<const float*>(::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0));
  std::vector<float> buffer(values);
  double checksum = 0;
  for (int p : order)
    std::memcpy(buffer.data(), base + size_t(p) * values, values * sizeof(float));
  const auto t0 = Clock::now();
  for (int p : order) {
    std::memcpy(buffer.data(), base + size_t(p) * values, values * sizeof(float));
    checksum += buffer[values / 2];
  }
  const double s = since(t0);
  ::munmap(const_cast<float*>(base), size);
  ::close(fd);
  if (checksum < 0)
    std::puts("");
  return figures(order.size(), values * sizeof(float), s);
}

/// The same random-order reads through h5py (bench/h5py_reads.py under /usr/bin/python3):
/// patches/s, or 0 when python3-h5py is missing (noted on stdout).
double h5py_reads(const fs::path& file, const std::vector<int>& order, const fs::path& work) {
  const auto index_file = work / "h5py_order.txt";
  {
    std::ofstream out(index_file);
    for (int p : order)
      out << p << "\n";
  }
  const auto out =
      vfp::bench::capture("/usr/bin/python3 " + vfp::bench::shell_quote(VFP_H5PY_READS_SCRIPT) +
                              " " + vfp::bench::shell_quote(file.string()) + " " +
                              vfp::bench::shell_quote(index_file.string()),
                          "h5py ");
  fs::remove(index_file);
  if (out.status != 0 || out.get("patches_per_s").empty()) {
    std::printf("# h5py reference not measured (install python3-h5py): %s\n",
                out.output.substr(0, 200).c_str());
    return 0;
  }
  return std::stod(out.get("patches_per_s"));
}

/// Random-order patches by reading the subject's NIfTI and preprocessing it again.
ReadFigures reprocess_reads(const vfp::config::ExperimentConfig& c,
                            const std::vector<vfp::data::Subject>& subjects,
                            const vfp::data::PatchSet& cache, const std::vector<int>& order) {
  const auto t0 = Clock::now();
  size_t served = 0;
  for (int p : order) {
    vfp::data::PatchSet one;
    const auto& id = cache.subject_ids[size_t(p)];
    vfp::data::preprocess_subject(id, vfp::config::subject_path(c.cohort.images, id),
                                  vfp::config::subject_path(c.cohort.centroids, id), c.preprocess,
                                  one);
    served += one.size() > 0 ? 1 : 0;
  }
  (void)subjects;
  return figures(served, size_t(cache.patch_values()) * sizeof(float), since(t0));
}

void bench_reads(const fs::path& work, const vfp::config::ExperimentConfig& c,
                 const std::vector<vfp::data::Subject>& subjects, const char* label,
                 size_t tiled_patches) {
  const auto cache_dir = work / "cache";
  const auto real = vfp::data::load_or_build_cache(c, subjects, cache_dir, 2);
  // A cache far larger than the CPU caches: the cohort's patches repeated.
  vfp::data::PatchSet patches = real;
  patches.pixels.clear();
  patches.subject_ids.clear();
  patches.vertebrae.clear();
  patches.origin.clear();
  patches.spacing.clear();
  for (size_t i = 0; i < tiled_patches; ++i) {
    const size_t from = i % real.size();
    patches.pixels.insert(patches.pixels.end(), real.patch(from),
                          real.patch(from) + real.patch_values());
    patches.subject_ids.push_back(real.subject_ids[from]);
    patches.vertebrae.push_back(real.vertebrae[from]);
    for (int a = 0; a < 3; ++a) {
      patches.origin.push_back(real.origin[3 * from + size_t(a)]);
      patches.spacing.push_back(real.spacing[3 * from + size_t(a)]);
    }
  }
  const auto file = work / (std::string("big_") + label + ".h5");
  vfp::data::write_cache(file, patches, "bench", "{}", 0);
  const auto raw = work / (std::string("raw_") + label + ".f32");
  {
    std::ofstream out(raw, std::ios::binary);
    out.write(reinterpret_cast<const char*>(patches.pixels.data()),
              std::streamsize(patches.pixels.size() * sizeof(float)));
  }
  const size_t n = patches.size(), values = size_t(patches.patch_values());
  std::mt19937_64 rng(7);
  std::vector<int> order;
  for (size_t i = 0; i < n; ++i)
    order.push_back(int(rng() % n));
  // Warm the page cache for both files, so that both read from memory.
  hdf5_random_reads(file, "bench", order);
  mmap_random_reads(raw, order, values);
  const auto mm = mmap_random_reads(raw, order, values);
  const auto h5 = hdf5_random_reads(file, "bench", order);
  std::vector<int> few;
  for (int i = 0; i < 16; ++i)
    few.push_back(int(rng() % real.size()));
  const auto re = reprocess_reads(c, subjects, real, few);
  const double py = h5py_reads(file, order, work);
  const auto t0 = Clock::now();
  const auto whole = vfp::data::read_cache(file, "bench");
  const auto bulk = figures(whole.size(), values * sizeof(float), since(t0));
  const double kb = double(values * sizeof(float)) / 1024;
  const double mb = double(n * values * sizeof(float)) / 1e6;
  std::printf("%s,%.1f,%.0f,cache: one verified patch per read,%.0f,%.0f\n", label, kb, mb,
              h5.patches_per_s, h5.mb_per_s);
  std::printf("%s,%.1f,%.0f,re-read NIfTI + preprocess,%.1f,%.2f\n", label, kb, mb,
              re.patches_per_s, re.mb_per_s);
  std::printf("%s,%.1f,%.0f,raw mmap memcpy (ceiling),%.0f,%.0f\n", label, kb, mb, mm.patches_per_s,
              mm.mb_per_s);
  std::printf("%s,%.1f,%.0f,cache: whole file into new memory + verify,%.0f,%.0f\n", label, kb, mb,
              bulk.patches_per_s, bulk.mb_per_s);
  if (py > 0)
    std::printf("%s,%.1f,%.0f,h5py read_direct per patch (reference),%.0f,%.0f\n", label, kb, mb,
                py, py * kb * 1.024e-3);
  std::printf("# %s: cache/re-preprocess = %.0fx (target >= 20x); cache/raw = %.0f %% (target >= "
              "50 %%); one-off whole-cache load %.2f s\n",
              label, h5.patches_per_s / re.patches_per_s, 100 * h5.patches_per_s / mm.patches_per_s,
              double(n) / bulk.patches_per_s);
  const std::string patch = std::string(label) == "2d" ? "2D 1×47×47" : "3D 1×47×47×47";
  const std::string section = "Data layer: random-order patch reads (bench_data)";
  vfp::bench::record({section, patch + ": HDF5 cache vs re-reading and preprocessing the NIfTI",
                      h5.patches_per_s, "patches/s", "ITK read + preprocess", re.patches_per_s,
                      "≥ 20×", h5.patches_per_s >= 20 * re.patches_per_s ? 1 : 0, ""});
  vfp::bench::record({section, patch + ": HDF5 cache vs a raw memory-mapped copy", h5.patches_per_s,
                      "patches/s", "raw mmap + memcpy (ceiling)", mm.patches_per_s, "≥ 50 % of raw",
                      h5.patches_per_s >= 0.5 * mm.patches_per_s ? 1 : 0, ""});
  if (py > 0)
    vfp::bench::record({section, patch + ": HDF5 cache vs h5py on the same file", h5.patches_per_s,
                        "patches/s", "h5py, one read_direct per patch", py, "", -1,
                        "no checksum on the h5py side"});
  fs::remove(file);
  fs::remove(raw);
}

} // namespace

int main(int argc, char** argv) {
  const int subjects_n = argc > 1 ? std::atoi(argv[1]) : 24;
  const fs::path work = argc > 2 ? fs::path(argv[2]) : fs::temp_directory_path() / "vfp_bench_data";
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  spdlog::set_level(spdlog::level::warn);
  vfp::data::register_image_formats();
  fs::remove_all(work / "cache");
  fs::create_directories(work);
  const auto cohort = work / "cohort";
  if (!fs::exists(cohort / "cohort.csv")) {
    vfp::synth::SynthOptions o;
    o.subjects = subjects_n;
    o.out = cohort;
    o.threads = 2;
    vfp::synth::generate_cohort(o);
  }
  auto c2 = config_for(work, cohort, "2d");
  std::vector<vfp::data::Exclusion> excluded;
  const auto subjects = vfp::data::read_cohort(c2, &excluded);

  std::printf("# preprocessing throughput (%zu CT volumes, 2 vertebrae each, 2D AIP 47x47)\n",
              subjects.size());
  std::printf("threads,seconds_best_of_3,volumes_per_s\n");
  double one = 0;
  vfp::data::preprocess_cohort(subjects, c2, 2); // warm-up: page cache, ITK factories
  for (int threads : {1, 2}) {
    double s = 1e30;
    for (int round = 0; round < 3; ++round) { // best of three
      const auto t0 = Clock::now();
      const auto patches = vfp::data::preprocess_cohort(subjects, c2, threads);
      s = std::min(s, since(t0));
    }
    one = threads == 1 ? s : one;
    vfp::bench::record({"Data layer: preprocessing (bench_data)",
                        "CT volumes/s, " + std::to_string(threads) + " thread(s)",
                        double(subjects.size()) / s, "volumes/s", "", NAN, "", -1,
                        "ITK read, 1 mm resampling, HU window, 2D AIP of L1 and L2"});
    std::printf(
        "%d,%.2f,%.1f%s\n", threads, s, double(subjects.size()) / s,
        threads == 2 ? ("  (speed-up " + std::to_string(one / s).substr(0, 4) + "x)").c_str() : "");
  }

  std::printf("\n# random-order patch reads, page cache warm\n");
  std::printf("patch,kB_per_patch,cache_MB,method,patches_per_s,MB_per_s\n");
  bench_reads(work, c2, subjects, "2d", 20000);
  bench_reads(work, config_for(work, cohort, "3d"), subjects, "3d", 400);
  return 0;
}
