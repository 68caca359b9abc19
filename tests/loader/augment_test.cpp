#include "loader/loader.h"

#include <gtest/gtest.h>

#include <cmath>

using vfp::loader::augment_patch;
using vfp::loader::AugmentOptions;
using vfp::loader::Shape;
using vfp::loader::warp_patch;

namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<float> numbered(const Shape& s) {
  std::vector<float> v(size_t(s.values()));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = float(i % 97) / 97.0F;
  return v;
}

AugmentOptions nothing_on() {
  AugmentOptions o;
  o.enabled = true;
  o.flip = o.rotate_deg = o.scale = o.intensity_shift = o.intensity_scale = o.noise_std = 0;
  return o;
}

} // namespace

TEST(Warp, NoRotationAndUnitZoomIsTheIdentity) {
  for (const Shape s : {Shape{2, 0, 9, 7}, Shape{1, 5, 6, 7}}) {
    const auto in = numbered(s);
    std::vector<float> out(in.size());
    const double none[3] = {0, 0, 0};
    warp_patch(in.data(), out.data(), s, none, 1.0);
    EXPECT_EQ(out, in);
  }
}

TEST(Warp, QuarterTurnMovesEveryPixelByHand) {
  // dst(r, c) = src(n-1-c, r): worked out from the inverse map for a 90° turn.
  const Shape s{1, 0, 5, 5};
  const auto in = numbered(s);
  std::vector<float> out(in.size());
  const double quarter[3] = {kPi / 2, 0, 0};
  warp_patch(in.data(), out.data(), s, quarter, 1.0);
  for (int r = 0; r < 5; ++r)
    for (int c = 0; c < 5; ++c)
      EXPECT_NEAR(out[size_t(r * 5 + c)], in[size_t((4 - c) * 5 + r)], 1e-5) << r << "," << c;
}

TEST(Warp, QuarterTurnAboutDepthTurnsEverySliceOfACube) {
  const Shape cube{1, 3, 5, 5}, slice{1, 0, 5, 5};
  const auto in = numbered(cube);
  std::vector<float> out(in.size()), expected(25);
  const double about_depth[3] = {kPi / 2, 0, 0};
  warp_patch(in.data(), out.data(), cube, about_depth, 1.0);
  for (int d = 0; d < 3; ++d) {
    const double quarter[3] = {kPi / 2, 0, 0};
    warp_patch(in.data() + d * 25, expected.data(), slice, quarter, 1.0);
    for (int i = 0; i < 25; ++i)
      EXPECT_NEAR(out[size_t(d * 25 + i)], expected[size_t(i)], 1e-5);
  }
}

TEST(Warp, RotatesAndZoomsALinearRampExactly) {
  // Linear interpolation reproduces a linear function, so inside the patch the result is
  // the ramp evaluated at the inverse-mapped point: an independent, analytic reference.
  const Shape s{1, 0, 41, 41};
  auto ramp = [](double x, double y) { return 0.01 * x + 0.02 * y + 0.1; };
  std::vector<float> in(size_t(s.values())), out(in.size());
  for (int r = 0; r < 41; ++r)
    for (int c = 0; c < 41; ++c)
      in[size_t(r * 41 + c)] = float(ramp(c, r));
  const double angle = 7 * kPi / 180, zoom = 1.1;
  const double a[3] = {angle, 0, 0};
  warp_patch(in.data(), out.data(), s, a, zoom);
  for (int r = 10; r <= 30; ++r)
    for (int c = 10; c <= 30; ++c) {
      const double u = c - 20, v = r - 20;
      const double x = 20 + (std::cos(angle) * u + std::sin(angle) * v) / zoom;
      const double y = 20 + (-std::sin(angle) * u + std::cos(angle) * v) / zoom;
      EXPECT_NEAR(out[size_t(r * 41 + c)], ramp(x, y), 2e-6);
    }
}

TEST(Augment, DisabledCopiesExactly) {
  const Shape s{1, 0, 8, 8};
  const auto in = numbered(s);
  std::vector<float> out(in.size());
  augment_patch(in.data(), out.data(), s, AugmentOptions{}, 1);
  EXPECT_EQ(out, in);
}

TEST(Augment, CertainFlipMirrorsTheWidthAxisOfEveryRow) {
  for (const Shape s : {Shape{2, 0, 4, 6}, Shape{1, 3, 4, 6}}) {
    auto o = nothing_on();
    o.flip = 1.0;
    const auto in = numbered(s);
    std::vector<float> out(in.size());
    augment_patch(in.data(), out.data(), s, o, 5);
    for (size_t row = 0; row < in.size() / 6; ++row)
      for (size_t c = 0; c < 6; ++c)
        EXPECT_EQ(out[row * 6 + c], in[row * 6 + 5 - c]);
  }
}

TEST(Augment, IntensityChangesStayWithinTheirRanges) {
  const Shape s{1, 0, 10, 10};
  const std::vector<float> in(100, 0.5F);
  auto o = nothing_on();
  o.intensity_scale = 0.1;
  o.intensity_shift = 0.05;
  std::vector<float> out(100);
  double lo = 1, hi = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    augment_patch(in.data(), out.data(), s, o, seed);
    for (float v : out)
      EXPECT_EQ(v, out[0]) << "gain and shift are per patch";
    lo = std::min(lo, double(out[0]));
    hi = std::max(hi, double(out[0]));
  }
  EXPECT_GE(lo, 0.5 * 0.9 - 0.05 - 1e-6);
  EXPECT_LE(hi, 0.5 * 1.1 + 0.05 + 1e-6);
  EXPECT_LT(lo, 0.42); // the range is used, not just its centre
  EXPECT_GT(hi, 0.58);
}

TEST(Augment, NoiseHasTheRequestedSpread) {
  const Shape s{1, 0, 100, 100};
  const std::vector<float> in(10000, 0.5F);
  auto o = nothing_on();
  o.noise_std = 0.02;
  std::vector<float> out(10000);
  augment_patch(in.data(), out.data(), s, o, 9);
  double sum = 0, sum2 = 0;
  for (float v : out) {
    sum += v - 0.5;
    sum2 += (v - 0.5) * (v - 0.5);
  }
  EXPECT_NEAR(sum / 1e4, 0.0, 0.001);
  EXPECT_NEAR(std::sqrt(sum2 / 1e4), 0.02, 0.001);
}

TEST(Augment, SameSeedSameResultOtherSeedOtherResult) {
  const Shape s{1, 4, 8, 8};
  const auto in = numbered(s);
  AugmentOptions o;
  o.enabled = true;
  std::vector<float> a(in.size()), b(in.size()), c(in.size());
  augment_patch(in.data(), a.data(), s, o, 11);
  augment_patch(in.data(), b.data(), s, o, 11);
  augment_patch(in.data(), c.data(), s, o, 12);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, in);
}
