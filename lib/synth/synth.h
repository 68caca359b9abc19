// vfp::synth — a synthetic CT cohort with planted, known effects (the embedded default,
// since MrOS is not public): CTs with L1/L2 phantoms whose trabecular density follows a
// latent bone strength, VerSe-style centroids, a cohort table and truth.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

namespace vfp::synth {

/// What to generate.
struct SynthOptions {
  int subjects = 400;
  std::filesystem::path out;
  std::uint64_t seed = 1;
  double event_rate = 0.15; ///< target share of events, in (0, 1)
  int threads = 1;          ///< image writers; the output does not depend on it
  /// Without outcomes: cohort.csv holds subject_id only (ids U0001, ...), truth.json no
  /// survival model, and every vertebra of the scan has a centroid (a pretraining cohort).
  bool unlabelled = false;
  /// The vertebrae in each scan, top to bottom, as "T12-L3"; they must include L1 and L2 (the
  /// subject's own pair; the others are stacked above and below at 35 mm). Empty: T12-L3
  /// (centroids for L1 and L2), or T10-L4 when unlabelled.
  std::string vertebrae;
  /// Called once per subject whose image is written, from the writer thread that wrote it.
  std::function<void()> on_subject_written;
};

/// What was generated.
struct SynthSummary {
  int subjects = 0;
  int events = 0;
  double event_rate = 0;
  std::filesystem::path out;
};

/// Writes images/<id>.nii.gz, centroids/<id>.json, cohort.csv and truth.json under `out`.
/// Same options, same bytes. Throws vfp::InputError naming a bad option.
SynthSummary generate_cohort(const SynthOptions& options);

} // namespace vfp::synth
