// vfp::data — cohort table, vertebra centroids, CT → patch preprocessing (ITK), the HDF5
// patch cache and cross-validation splits. ITK and HDF5 stay inside this module's .cpp files.
#pragma once

#include "config/config.h"
#include "core/core.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
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
  /// Which series of a DICOM folder is the CT (cohort.dicom_series syntax): the table's
  /// optional `dicom_series` cell, else cohort.dicom_series; "" = largest.
  std::string dicom_series;
  int line = 0; ///< line in the CSV, for error messages
};

/// A subject left out of the analysis, and why.
struct Exclusion {
  std::string subject; ///< id, or "line N" when the id itself is unusable
  std::string reason;
};

/// Reads and validates `subject_id,age,bmi,event,time_years[,site]` (any column order), read
/// by core::read_csv and its rules (BOM, CRLF, quoted cells, skipped blank rows: core.h).
/// Errors name the file, line, column and subject. With
/// `exclusions` given, a bad row (non-numeric or out-of-range value, event not 0/1) is left
/// out and recorded instead; a missing column or a duplicate id is always an error.
std::vector<Subject> read_cohort(const std::filesystem::path& csv,
                                 std::vector<Exclusion>* exclusions = nullptr);

/// Reads the cohort as `c.cohort` says: bad rows are errors, or exclusions when
/// cohort.on_bad_subject is "exclude"; a subject without a `dicom_series` cell gets
/// cohort.dicom_series.
std::vector<Subject> read_cohort(const config::ExperimentConfig& c,
                                 std::vector<Exclusion>* exclusions);

/// Reads an unlabelled cohort (ssl.cohort, BYOL's external pretraining data): subjects with
/// ids only. With `cohort.csv` set, its subject_id column (other columns ignored; a bad id is
/// an exclusion when cohort.on_bad_subject is "exclude" and `exclusions` is given); with csv
/// empty, every entry of the `images` pattern's folder whose name matches the pattern around
/// {id} ("images/{id}.nii.gz": S1.nii.gz gives S1), sorted by id. Errors name the file or folder.
std::vector<Subject> read_unlabelled_cohort(const config::CohortConfig& cohort,
                                            std::vector<Exclusion>* exclusions);

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

/// A vertebra centre in ITK's physical space (LPS, mm).
struct WorldCentroid {
  int label = 0;
  std::array<double, 3> lps{};
};

/// Centroids of many subjects from one table, by subject id.
using CentroidTable = std::map<std::string, std::vector<WorldCentroid>>;

/// Reads the study group's centroid CSV: `SubjectID;Vertebra;X;Y;Z` (semicolons, decimal
/// commas accepted, Vertebra as "L1" or 20), world coordinates in `space` ("lps" as ITK and
/// DICOM, or "ras" as NIfTI/nibabel), read by core::read_csv with ';' as the separator (its
/// quoting and blank-row rules, core.h). Errors name the file and line.
CentroidTable read_centroid_csv(const std::filesystem::path& csv, const std::string& space);

/// How to find one subject's vertebrae.
struct CentroidSource {
  std::string format = "verse";         ///< verse (JSON), csv (a table) or labelmap
  std::filesystem::path path;           ///< the subject's JSON or label map (verse, labelmap)
  const CentroidTable* table = nullptr; ///< csv
};

/// Patches of one preprocessing variant, values in [0, 1]: each patch is
/// [channels][height][width] (2D) or [channels][depth][height][width] (3D, depth > 0).
struct PatchSet {
  int channels = 1;
  int depth = 0; ///< 0 for 2D patches
  int height = 0;
  int width = 0;
  std::vector<float> pixels;
  std::vector<std::string> subject_ids;
  std::vector<int> vertebrae; ///< VerSe label per patch
  /// Geometry of the resampled cube each patch comes from, 3 values per patch: the LPS
  /// position (mm) of its first voxel and its voxel spacing (mm) along x, y, z. The cube
  /// is axis-aligned in LPS, so these place every voxel (and the centroid at its centre).
  std::vector<double> origin, spacing;
  std::vector<Exclusion> excluded; ///< subjects left out (cohort.on_bad_subject: exclude)
  std::size_t size() const { return subject_ids.size(); }
  std::size_t patch_values() const {
    return std::size_t(channels) * std::size_t(depth > 0 ? depth : 1) * height * width;
  }
  const float* patch(std::size_t i) const { return pixels.data() + i * patch_values(); }
};

/// Registers ITK's readers and writers for NIfTI, MetaImage, NRRD and DICOM (GDCM); idempotent.
/// (ITK's CMake "use file" would generate this; vfp keeps ITK on one target instead.)
void register_image_formats();

/// Preprocesses one subject: read the CT with ITK, locate each requested vertebra in
/// physical (LPS) space, resample a cube around it (linear), clip and scale HU, and keep the
/// cube (3d) or project its central slab per channel axis (2d). Appends the subject's patches
/// to `out` only once every requested vertebra succeeded: on an error `out` is left as it was
/// (a subject is kept whole or not at all). Errors name the subject, file and vertebra.
/// `dicom_series` picks the series of a DICOM folder (cohort.dicom_series rules; empty: largest).
void preprocess_subject(const std::string& subject_id, const std::filesystem::path& image,
                        const CentroidSource& centroids, const config::PreprocessConfig& params,
                        PatchSet& out, const std::string& dicom_series = "");

/// Same, with a VerSe-style centroid JSON.
void preprocess_subject(const std::string& subject_id, const std::filesystem::path& image,
                        const std::filesystem::path& verse_json,
                        const config::PreprocessConfig& params, PatchSet& out);

/// Centres (physical LPS) of the labels present in a label-map segmentation.
std::vector<WorldCentroid> label_map_centroids(const std::string& subject_id,
                                               const std::filesystem::path& label_map);

/// Clips a cube to the HU window and scales it to [0, 1] in place.
void window_cube(std::vector<float>& cube, const config::PreprocessConfig& params);

/// Projects the central slab of a windowed cube (n³ values in [0, 1] on an LPS-aligned grid,
/// x fastest) along `axis` (sagittal, coronal, axial) as params.projection says. The n×n
/// result is row-major with the superior side (axial: the anterior side) at the top.
std::vector<float> project_cube(const std::vector<float>& cube, int n, const std::string& axis,
                                const config::PreprocessConfig& params);

/// Preprocesses a cohort with `threads` threads; the patch order follows `subjects`. Failing
/// subjects are errors (all listed), or exclusions when cohort.on_bad_subject is "exclude": an
/// excluded subject has no patch in the result, whichever of its vertebrae failed.
/// With `allow_empty` (a shard), excluding every subject is not an error.
PatchSet preprocess_cohort(const std::vector<Subject>& subjects, const config::ExperimentConfig& c,
                           int threads, bool allow_empty = false);

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

/// Writes a patch set to HDF5 atomically (temporary name, fsync, rename) with provenance, as
/// float32, through a CacheWriter.
/// Refuses (IoError, nothing written) a set whose lists disagree in length or that holds
/// patches of a subject it lists as excluded.
void write_cache(const std::filesystem::path& file, const PatchSet& patches, const std::string& key,
                 const std::string& provenance_json, int compression = 0);

/// Reads and verifies (per-patch checksums, key) a cache file; throws CacheError when bad,
/// which includes a cache (written by an older vfp) holding patches of a subject it lists as
/// excluded: the error names the file and subject, and load_or_build_cache rebuilds it.
PatchSet read_cache(const std::filesystem::path& file, const std::string& expected_key);

/// Random access to single patches of a cache file, for cohorts larger than memory: the
/// index (ids, vertebrae, checksums) is read once; each read() fetches one patch (uncompressed:
/// a pread at its offset, which neither locks nor grows the process's resident set; else
/// through HDF5), verifies the checksum of its stored bytes and converts them to float
/// (preprocess.dtype). read() may be called from several threads at once (reads through HDF5
/// are serialised inside, direct reads are not). The constructor refuses what read_cache
/// refuses before any pixel is read (a wrong key, an index that does not fit, an excluded
/// subject that still has patches, a storage type vfp does not write) with CacheError.
class CacheReader {
public:
  CacheReader(const std::filesystem::path& file, const std::string& expected_key);
  ~CacheReader();
  CacheReader(const CacheReader&) = delete;
  CacheReader& operator=(const CacheReader&) = delete;
  /// Shape, subject ids, vertebrae and exclusions; no pixels.
  const PatchSet& index() const;
  /// Writes patch `i` (patch_values() floats) to `out`; throws CacheError when it is bad.
  void read(std::size_t i, float* out) const;
  std::uint64_t checksum(std::size_t i) const;
  /// True when reads are direct offset reads of the file (uncompressed caches, chunks back
  /// to back as vfp writes them) rather than HDF5 calls.
  bool mapped() const;
  /// The storage type: float32, float16 or uint16.
  std::string dtype() const;
  /// Bytes one patch takes in the file (uncompressed).
  std::size_t stored_patch_bytes() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Writes a cache patch by patch, for cohorts larger than memory: memory holds one patch (and
/// the index: ids, vertebrae, geometry, checksums), never the archive; the patches wait in an
/// unlinked temporary file beside `file`. Pixels are stored as `dtype` (preprocess.dtype:
/// float32, float16, uint16) and converted back to float on read; checksums cover the stored
/// bytes. Nothing appears at `file` until commit() puts the finished file in place atomically
/// (temporary name, fsync, rename); a writer destroyed without commit(), or a process killed
/// while writing, leaves nothing behind. Errors (a full disk, a patch of an excluded subject)
/// are IoError naming the file.
class CacheWriter {
public:
  /// `compression`: gzip level of the chunks (preprocess.compression; 0 = none, and then
  /// the chunks lie back to back for CacheReader's direct reads).
  CacheWriter(const std::filesystem::path& file, int channels, int depth, int height, int width,
              const std::string& dtype, const std::string& key, const std::string& provenance_json,
              int compression = 0);
  ~CacheWriter();
  CacheWriter(const CacheWriter&) = delete;
  CacheWriter& operator=(const CacheWriter&) = delete;
  /// Appends one patch (channels × (depth) × height × width floats in [0, 1]).
  void append(const std::string& subject_id, int vertebra, const std::array<double, 3>& origin,
              const std::array<double, 3>& spacing, const float* pixels);
  /// Records a subject left out; it must have no patch in the cache.
  void exclude(const Exclusion& excluded);
  /// Replaces the provenance given at construction (what a build found is known at its end).
  void set_provenance(const std::string& provenance_json);
  std::size_t size() const;
  /// Finishes the file and renames it into place.
  void commit();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// An empty patch set with the shape of the patches `p` makes ([C, H, W] or [C, D, H, W]).
PatchSet empty_patch_set(const config::PreprocessConfig& p);

/// Like preprocess_cohort, but streaming: each subject's patches are appended to `out` in
/// cohort order as soon as they and every earlier subject's are made (memory: a few subjects'
/// patches, whatever the cohort's size), and excluded subjects are recorded with
/// out.exclude. Returns the exclusions. `out` is not committed: on an error the caller drops
/// it and nothing is written.
std::vector<Exclusion> preprocess_cohort_into(const std::vector<Subject>& subjects,
                                              const config::ExperimentConfig& c, int threads,
                                              CacheWriter& out, bool allow_empty = false);

/// Like load_or_build_cache, but returns a reader instead of the pixels: the cache is built
/// (streaming, under the same inter-process lock) when missing or corrupt, then opened for
/// random access. What every task uses, so that a worker's memory does not grow with the
/// number of patches. With `verify_pixels` (the preprocess job, once per run), an existing
/// cache's every patch is checked against its checksum first, one patch in memory at a time,
/// and a cache that fails is rebuilt; without it, the index is checked at open and each patch
/// as it is read (a bad patch then fails the task naming the file and subject).
std::unique_ptr<CacheReader> open_or_build_cache(const config::ExperimentConfig& c,
                                                 const std::vector<Subject>& subjects,
                                                 const std::filesystem::path& cache_dir,
                                                 int threads, bool verify_pixels = false);

/// Preprocesses shard `index` of `count` (a contiguous block of `subjects`) into
/// `<cache file>.shard-<index>-of-<count>.h5`, so that ranks can split a cohort.
void build_cache_shard(const config::ExperimentConfig& c, const std::vector<Subject>& subjects,
                       const std::filesystem::path& cache_dir, int index, int count, int threads);

/// Concatenates the shards in order into the cache file, patch by patch (the same bytes of
/// patches as a single build; memory: one patch), verifying each, and removes the shards.
/// Returns the cache's index: shape, ids, vertebrae, geometry, exclusions, no pixels (read
/// them with CacheReader).
PatchSet merge_cache_shards(const config::ExperimentConfig& c, const std::vector<Subject>& subjects,
                            const std::filesystem::path& cache_dir, int count);

/// What `vfp cache ls` shows of one cache file.
struct CacheEntry {
  std::filesystem::path file;
  std::string key;
  std::string created;
  std::string vfp_version;
  std::vector<std::size_t> shape; ///< dataset dims, [N, C, H, W] or [N, C, D, H, W]
  std::string dtype;              ///< storage type (float32, float16, uint16)
  std::uintmax_t bytes = 0;
  std::string problem; ///< empty when the header reads back; else why not
};

/// Every cache file (patches-*.h5) in `cache_dir`, headers only (fast).
std::vector<CacheEntry> list_caches(const std::filesystem::path& cache_dir);

/// What `vfp cache verify` checks of a listed file: its header, then every patch's checksum,
/// read patch by patch (constant memory however large). Empty when sound, else what is wrong,
/// naming the file. `on_patch`, when given, is called with the patches read so far (progress).
std::string verify_cache(const CacheEntry& entry,
                         const std::function<void(std::size_t)>& on_patch = {});

/// True when `file` is a cache's "<cache>.lock" that no process holds (its builder was
/// killed): it is then removed, unless `dry_run`. Safe against a builder taking it meanwhile.
bool remove_lock_if_free(const std::filesystem::path& file, bool dry_run);

/// Returns the verified cache for `c` with its pixels, building it (streaming, under an
/// inter-process lock, so that one process builds while the others wait) when missing or
/// corrupt. Holds every pixel in memory: tasks use open_or_build_cache.
PatchSet load_or_build_cache(const config::ExperimentConfig& c,
                             const std::vector<Subject>& subjects,
                             const std::filesystem::path& cache_dir, int threads);

/// Stratified k-fold assignment at subject level: fold index per subject.
std::vector<int> stratified_folds(const std::vector<int>& labels, int folds, std::uint64_t seed);

/// Stratified hold-out: true for the `fraction` of indices chosen for validation.
std::vector<bool> stratified_holdout(const std::vector<int>& labels, double fraction,
                                     std::uint64_t seed);

} // namespace vfp::data
