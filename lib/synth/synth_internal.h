// Private to lib/synth: the random streams, the cohort model and the phantom writer.
#pragma once

#include "synth/synth.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace vfp::synth {

/// Portable random stream (splitmix64 + Box–Muller): the std distributions are
/// implementation-defined, and the same seed must give the same bytes everywhere.
class Rng {
public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in (0, 1).
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double r = std::sqrt(-2.0 * std::log(uniform())), t = 2.0 * M_PI * uniform();
    spare_ = r * std::sin(t);
    has_spare_ = true;
    return r * std::cos(t);
  }

private:
  std::uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

/// An acquisition site: voxel spacing, noise and orientation of its scanner protocol.
struct Site {
  std::string name;
  std::array<double, 3> spacing; ///< mm along the image axes
  double noise_hu;               ///< SD of Gaussian noise
  std::array<int, 3> flip;       ///< -1 where an image axis runs against LPS
};
const std::vector<Site>& sites();

/// The planted model, recorded in truth.json.
struct CohortModel {
  double age_mean = 73, age_sd = 6, bmi_mean = 27, bmi_sd = 4;
  double rho_age = -0.30, rho_bmi = 0.25; ///< loadings of bone strength on z(age), z(bmi)
  double beta_weakness = std::log(2.7);   ///< per SD of −bone_strength
  double beta_age = std::log(1.4);        ///< per SD of age
  double beta_bmi = -std::log(1.15);      ///< per SD of BMI
  double weibull_shape = 1.2;
  double weibull_scale = 0; ///< λ, solved for the event rate
  double follow_up_years = 10;
  double dropout_share = 0.2; ///< lost to follow-up at U(1, 10) years
  double trabecular_hu_base = 150, trabecular_hu_per_sd = 45, trabecular_hu_min = 20;
};

/// One subject's latent and observed values.
struct SubjectDraw {
  std::string id;
  int site = 0;
  double bone_strength = 0, age = 0, bmi = 0;
  double linear_predictor = 0;
  double time_years = 0;
  int event = 0;
  double trabecular_hu = 0;
  double body_scale = 1;
  std::array<std::array<double, 3>, 2> centre_jitter{}; ///< L1, L2 offsets in mm
  std::uint64_t image_seed = 0;
};

/// Draws the cohort (no images) and solves λ so the event share is close to `event_rate`.
std::vector<SubjectDraw> draw_subjects(int n, std::uint64_t seed, double event_rate,
                                       CohortModel& model);

/// Physical (LPS, mm) centre of L1 (index 0) or L2 (index 1) for a subject.
std::array<double, 3> vertebra_centre(const SubjectDraw& s, int which);

/// The vertebrae of a scan (VerSe labels, first above last) and which carry centroids.
struct ScanLayout {
  int first = 19, last = 22;  ///< T12 … L3
  bool all_centroids = false; ///< false: L1 and L2 only (the labelled cohort)
};

/// The layout that `vertebrae` ("T12-L3") names; InputError naming the option when bad.
ScanLayout scan_layout(const std::string& vertebrae, bool all_centroids);

/// Writes the subject's CT (NIfTI, int16 HU) and its VerSe-style centroid JSON.
void write_subject(const SubjectDraw& s, const std::filesystem::path& image,
                   const std::filesystem::path& centroids, const ScanLayout& layout = {});

} // namespace vfp::synth
