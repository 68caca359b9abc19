// vfp::data — cohort table, vertebra centroids, CT → patch preprocessing (ITK), the HDF5
// patch cache and cross-validation splits. ITK and HDF5 stay inside this module's .cpp files.
#pragma once

#include "config/config.h"
#include "core/core.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace vfp::data {

/// One row of the cohort table.
struct Subject {
  std::string id;
  double age = 0;
  double bmi = 0;
  int event = 0;         ///< 1 = incident vertebral fracture within follow-up
  double time_years = 0; ///< time to fracture or censoring
  std::string site;
  int line = 0; ///< line in the CSV, for error messages
};

/// Reads and validates `subject_id,age,bmi,event,time_years[,site]` (any column order);
/// errors name the file, line and column.
std::vector<Subject> read_cohort(const std::filesystem::path& csv);

/// Vertebra label in VerSe numbering: L1 = 20, L2 = 21, T12 = 19, ...
int vertebra_label(const std::string& name);
/// Inverse of vertebra_label ("L1" for 20).
std::string vertebra_name(int label);

/// A centroid in continuous voxel coordinates along the axes named by `axis_codes`.
struct VoxelCentroid {
  int label = 0;
  std::array<double, 3> xyz{};
};

/// A VerSe-style centroid file: optional {"direction": [...]} entry, then labelled points.
struct CentroidFile {
  std::optional<std::array<char, 3>> axis_codes; ///< nibabel convention, e.g. P,I,R
  std::vector<VoxelCentroid> centroids;          ///< NaN entries skipped
};

/// Reads a VerSe-style centroid JSON; errors name the file and entry.
CentroidFile read_verse_centroids(const std::filesystem::path& json);

/// 2D patches of one preprocessing variant, row-major [n][height][width], values in [0, 1].
struct PatchSet {
  int height = 0;
  int width = 0;
  std::vector<float> pixels;
  std::vector<std::string> subject_ids;
  std::vector<int> vertebrae; ///< VerSe label per patch
  std::size_t size() const { return subject_ids.size(); }
  const float* patch(std::size_t i) const { return pixels.data() + i * height * width; }
};

/// Registers ITK's readers and writers for NIfTI, MetaImage, NRRD and DICOM (GDCM); idempotent.
/// (ITK's CMake "use file" would generate this; vfp keeps ITK on one target instead.)
void register_image_formats();

/// Preprocesses one subject: read the CT with ITK, resample a cube around each requested
/// vertebra to the target spacing in physical (LPS) space, clip and scale HU, project the
/// central slab. Appends to `out`. Errors name the subject and file.
void preprocess_subject(const std::string& subject_id, const std::filesystem::path& image,
                        const std::filesystem::path& centroids,
                        const config::PreprocessConfig& params, PatchSet& out);

/// Clips `cube` (n³ HU values on an LPS-aligned grid, x fastest) to the HU window, scales
/// it to [0, 1] and projects the central slab along the configured axis. The 2D result is
/// row-major with the superior side (or, for axial, the anterior side) at the top.
std::vector<float> project_cube(const std::vector<float>& cube, int n,
                                const config::PreprocessConfig& params, int& height, int& width);

/// Preprocesses a cohort with `threads` threads; the patch order follows `subjects`.
PatchSet preprocess_cohort(const std::vector<Subject>& subjects, const config::ExperimentConfig& c,
                           int threads);

/// Cache key: hash of the preprocessing parameters, the preprocessing code version and each
/// source file's fingerprint (size, mtime).
std::string cache_key(const config::ExperimentConfig& c, const std::vector<Subject>& subjects);

/// The cache's file for a key under `cache_dir`.
std::filesystem::path cache_file(const std::filesystem::path& cache_dir, const std::string& key);

/// Thrown when a cache file fails verification (truncated, corrupted, wrong key).
class CacheError : public IoError {
public:
  using IoError::IoError;
};

/// Writes a patch set to HDF5 atomically (temporary name, fsync, rename) with provenance.
void write_cache(const std::filesystem::path& file, const PatchSet& patches, const std::string& key,
                 const std::string& provenance_json);

/// Reads and verifies (per-patch checksums, key) a cache file; throws CacheError when bad.
PatchSet read_cache(const std::filesystem::path& file, const std::string& expected_key);

/// Returns the verified cache for `c`, building it (under an inter-process lock, so that one
/// process builds while the others wait) when missing or corrupt.
PatchSet load_or_build_cache(const config::ExperimentConfig& c,
                             const std::vector<Subject>& subjects,
                             const std::filesystem::path& cache_dir, int threads);

/// Stratified k-fold assignment at subject level: fold index per subject.
std::vector<int> stratified_folds(const std::vector<int>& labels, int folds, std::uint64_t seed);

/// Stratified hold-out: true for the `fraction` of indices chosen for validation.
std::vector<bool> stratified_holdout(const std::vector<int>& labels, double fraction,
                                     std::uint64_t seed);

} // namespace vfp::data
