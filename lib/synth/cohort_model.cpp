#include "synth/synth_internal.h"

#include "core/core.h"

#include <algorithm>
#include <cstdio>

namespace vfp::synth {

const std::vector<Site>& sites() {
  // Three protocols as in multi-site cohorts: thin-slice, standard and thick-slice, each with
  // its own noise and orientation (LPS, LAS, RPS).
  static const std::vector<Site> all = {
      {"A", {0.75, 0.75, 1.25}, 15.0, {1, 1, 1}},
      {"B", {0.9, 0.9, 2.5}, 25.0, {1, -1, 1}},
      {"C", {0.8, 0.8, 3.0}, 35.0, {-1, 1, 1}},
  };
  return all;
}

namespace {

int count_events(const std::vector<SubjectDraw>& s, const std::vector<double>& unit_exp,
                 const std::vector<double>& censor, const CohortModel& m, double lambda) {
  int events = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const double t =
        std::pow(unit_exp[i] / (lambda * std::exp(s[i].linear_predictor)), 1.0 / m.weibull_shape);
    events += t <= censor[i];
  }
  return events;
}

} // namespace

std::vector<SubjectDraw> draw_subjects(int n, std::uint64_t seed, double event_rate,
                                       CohortModel& m) {
  std::vector<SubjectDraw> subjects(static_cast<size_t>(n));
  std::vector<double> unit_exp(subjects.size()), censor(subjects.size());
  const int digits = std::max(4, static_cast<int>(std::to_string(n).size()));
  const double residual = std::sqrt(1.0 - m.rho_age * m.rho_age - m.rho_bmi * m.rho_bmi);
  for (int i = 0; i < n; ++i) {
    Rng rng(mix_seed(seed * 0x100000001b3ULL + static_cast<std::uint64_t>(i)));
    auto& s = subjects[i];
    char id[48];
    std::snprintf(id, sizeof id, "S%0*d", std::min(digits, 12), i + 1);
    s.id = id;
    s.site = static_cast<int>(rng.next() % sites().size());
    const double z_age = rng.normal(), z_bmi = rng.normal();
    s.age = std::clamp(m.age_mean + m.age_sd * z_age, 65.0, 95.0);
    s.bmi = std::clamp(m.bmi_mean + m.bmi_sd * z_bmi, 17.0, 45.0);
    // Rounded as written to cohort.csv, so the planted model holds for the published values.
    s.age = std::round(s.age * 10) / 10;
    s.bmi = std::round(s.bmi * 10) / 10;
    s.bone_strength = m.rho_age * z_age + m.rho_bmi * z_bmi + residual * rng.normal();
    s.linear_predictor = m.beta_weakness * (-s.bone_strength) +
                         m.beta_age * (s.age - m.age_mean) / m.age_sd +
                         m.beta_bmi * (s.bmi - m.bmi_mean) / m.bmi_sd;
    s.trabecular_hu = std::max(m.trabecular_hu_min,
                               m.trabecular_hu_base + m.trabecular_hu_per_sd * s.bone_strength);
    s.body_scale = 0.9 + 0.2 * rng.uniform();
    for (auto& j : s.centre_jitter)
      for (auto& v : j)
        v = 3.0 * (2 * rng.uniform() - 1);
    unit_exp[i] = -std::log(rng.uniform());
    censor[i] = rng.uniform() < m.dropout_share ? 1.0 + 9.0 * rng.uniform() : m.follow_up_years;
    s.image_seed = rng.next();
  }
  // Bisection on log λ: the event count rises with λ.
  const int target = static_cast<int>(std::lround(event_rate * n));
  double lo = std::log(1e-8), hi = std::log(1e3);
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    (count_events(subjects, unit_exp, censor, m, std::exp(mid)) < target ? lo : hi) = mid;
  }
  m.weibull_scale = std::exp(hi);
  for (size_t i = 0; i < subjects.size(); ++i) {
    auto& s = subjects[i];
    const double t = std::pow(unit_exp[i] / (m.weibull_scale * std::exp(s.linear_predictor)),
                              1.0 / m.weibull_shape);
    s.event = t <= censor[i];
    s.time_years = std::max(0.01, std::min(t, censor[i]));
  }
  return subjects;
}

std::array<double, 3> vertebra_centre(const SubjectDraw& s, int which) {
  // L1 above L2 (LPS: +z is superior); the bodies sit anterior of the canal (−y).
  const double z = which == 0 ? 17.5 : -17.5;
  const auto& j = s.centre_jitter[which];
  return {j[0], -5.0 + j[1], z + j[2]};
}

} // namespace vfp::synth
