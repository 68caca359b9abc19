#include "synth/synth_internal.h"

#include "core/core.h"

#include <itkImage.h>
#include <itkImageFileWriter.h>
#include <itkNiftiImageIOFactory.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

namespace vfp::synth {
namespace {

using Image = itk::Image<short, 3>;
constexpr double kHalfFov = 55.0; // mm: a 110 mm cube around the L1/L2 junction

/// One vertebra's shape: an elliptic-cylinder body with cortical shell, a posterior arch and
/// a spinous process.
struct Vertebra {
  std::array<double, 3> c; // body centre, LPS mm
  double a, b, h;          // body radii (L-R, A-P) and half-height
  double trabecular_hu;
};

/// Separable texture: a product of 1D waves, cheap per voxel yet trabecula-like.
struct Texture {
  std::vector<double> x, y, z;
};

double body_hu(const Vertebra& v, double dx, double dy, double dz, double tex, double shell_mm) {
  const double r = std::sqrt((dx / v.a) * (dx / v.a) + (dy / v.b) * (dy / v.b));
  if (r < 1.0 && std::abs(dz) < v.h) {
    const double to_side = (1.0 - r) * std::min(v.a, v.b), to_plate = v.h - std::abs(dz);
    if (std::min(to_side, to_plate) < shell_mm)
      return 850.0; // cortical shell and endplates
    return v.trabecular_hu + tex;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

double arch_hu(const Vertebra& v, double dx, double dy, double dz) {
  // Canal centred behind the body; bone ring around it, then the spinous process.
  const double cy = v.b + 11.0;
  const double d = std::hypot(dx, dy - cy);
  if (std::abs(dz) < 0.7 * v.h && d < 13.0)
    return d < 8.5 ? 15.0 : 450.0; // cerebrospinal fluid in the canal, arch bone
  if (std::abs(dx) < 3.0 && dy > cy + 12.0 && dy < cy + 35.0 && std::abs(dz) < 0.45 * v.h)
    return 400.0;
  return std::numeric_limits<double>::quiet_NaN();
}

} // namespace

void write_subject(const SubjectDraw& s, const std::filesystem::path& image_path,
                   const std::filesystem::path& centroid_path) {
  const auto& site = sites()[s.site];
  Rng rng(s.image_seed);
  // Four vertebrae: T12, L1, L2, L3 (L1 and L2 carry the subject's jittered centres).
  std::vector<Vertebra> vertebrae;
  const auto l1 = vertebra_centre(s, 0), l2 = vertebra_centre(s, 1);
  const double a = 20.0 * s.body_scale, b = 15.0 * s.body_scale, h = 13.0 * s.body_scale;
  for (int k = 0; k < 4; ++k) {
    std::array<double, 3> c = k == 1 ? l1 : k == 2 ? l2 : k == 0 ? l1 : l2;
    if (k == 0)
      c[2] += 35.0;
    if (k == 3)
      c[2] -= 35.0;
    vertebrae.push_back({c, a, b, h, s.trabecular_hu + 8.0 * rng.normal()});
  }
  // Weaker bone: coarser, more heterogeneous trabeculae.
  const double amplitude = 25.0 + 12.0 * std::max(-2.0, std::min(2.0, -s.bone_strength));
  const double period = 3.5 + 0.6 * std::max(-2.0, std::min(2.0, -s.bone_strength));
  const double shell_mm = 1.3 + 0.2 * std::max(-1.5, std::min(1.5, s.bone_strength));

  Image::SizeType size;
  Image::SpacingType spacing;
  Image::PointType origin;
  Image::DirectionType direction;
  direction.SetIdentity();
  for (int i = 0; i < 3; ++i) {
    spacing[i] = site.spacing[i];
    size[i] = static_cast<itk::SizeValueType>(std::lround(2 * kHalfFov / site.spacing[i]));
    direction[i][i] = site.flip[i];
    const double half = 0.5 * (size[i] - 1) * spacing[i];
    origin[i] = -site.flip[i] * half; // the same physical box whatever the orientation
  }
  auto image = Image::New();
  image->SetRegions(Image::RegionType(size));
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
  image->SetDirection(direction);
  image->Allocate();

  Texture tex;
  const double phase[3] = {2 * M_PI * rng.uniform(), 2 * M_PI * rng.uniform(),
                           2 * M_PI * rng.uniform()};
  std::vector<double>* axes[3] = {&tex.x, &tex.y, &tex.z};
  for (int i = 0; i < 3; ++i)
    for (itk::SizeValueType k = 0; k < size[i]; ++k) {
      const double p = origin[i] + site.flip[i] * spacing[i] * k;
      axes[i]->push_back(std::sin(2 * M_PI * p / period + phase[i]));
    }

  short* out = image->GetBufferPointer();
  size_t q = 0;
  for (itk::SizeValueType k = 0; k < size[2]; ++k) {
    const double z = origin[2] + site.flip[2] * spacing[2] * k;
    for (itk::SizeValueType j = 0; j < size[1]; ++j) {
      const double y = origin[1] + site.flip[1] * spacing[1] * j;
      for (itk::SizeValueType i = 0; i < size[0]; ++i, ++q) {
        const double x = origin[0] + site.flip[0] * spacing[0] * i;
        // Background: muscle and soft tissue, subcutaneous fat far posterior.
        double hu = y > 48.0 ? -100.0 : 40.0;
        for (const auto& v : vertebrae) {
          const double dz = z - v.c[2];
          if (std::abs(dz) > 20.0)
            continue;
          const double dx = x - v.c[0], dy = y - v.c[1];
          double bone =
              body_hu(v, dx, dy, dz, amplitude * tex.x[i] * tex.y[j] * tex.z[k], shell_mm);
          if (std::isnan(bone))
            bone = arch_hu(v, dx, dy, dz);
          if (!std::isnan(bone))
            hu = bone;
        }
        // Discs between bodies: same footprint, soft-tissue density.
        const double dx = x - l1[0], dy = y - 0.5 * (l1[1] + l2[1]);
        const double r = std::sqrt((dx / a) * (dx / a) + (dy / b) * (dy / b));
        if (r < 0.97 && hu < 100.0) {
          for (double zc : {l1[2] + 17.5, 0.5 * (l1[2] + l2[2]), l2[2] - 17.5})
            if (std::abs(z - zc) < 17.5 - h)
              hu = 80.0;
        }
        hu += site.noise_hu * rng.normal();
        out[q] = static_cast<short>(std::lround(std::clamp(hu, -1024.0, 3071.0)));
      }
    }
  }

  static std::once_flag nifti_registered; // ITK finds writers through registered factories
  std::call_once(nifti_registered, [] { itk::NiftiImageIOFactory::RegisterOneFactory(); });
  auto writer = itk::ImageFileWriter<Image>::New();
  writer->SetFileName(image_path.string());
  writer->SetInput(image);
  writer->SetUseCompression(true);
  try {
    writer->Update();
  } catch (const itk::ExceptionObject& e) {
    throw IoError("cannot write " + image_path.string() + ": " + e.GetDescription());
  }

  nlohmann::json centroids = nlohmann::json::array();
  const char* codes_pos = "LPS";
  const char* codes_neg = "RAI";
  nlohmann::json codes = nlohmann::json::array();
  for (int i = 0; i < 3; ++i)
    codes.push_back(std::string(1, site.flip[i] > 0 ? codes_pos[i] : codes_neg[i]));
  centroids.push_back({{"direction", codes}});
  for (int which = 0; which < 2; ++which) {
    const auto c = vertebra_centre(s, which);
    Image::PointType p;
    for (int i = 0; i < 3; ++i)
      p[i] = c[i];
    itk::ContinuousIndex<double, 3> idx;
    image->TransformPhysicalPointToContinuousIndex(p, idx);
    auto round3 = [](double v) { return std::round(v * 1000) / 1000; };
    centroids.push_back({{"label", 20 + which},
                         {"X", round3(idx[0])},
                         {"Y", round3(idx[1])},
                         {"Z", round3(idx[2])}});
  }
  write_file_atomically(centroid_path, centroids.dump(1) + "\n");
}

} // namespace vfp::synth
