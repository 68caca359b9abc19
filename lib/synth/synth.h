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
