#include "synth/synth_internal.h"

#include "core/core.h"

#include <itkImage.h>
#include <itkImageFileWriter.h>
#include <itkNiftiImageIOFactory.h>

#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

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

/// Centre (LPS mm) of vertebra `label`: L1 and L2 are the subject's own (jittered); the others
/// are stacked 35 mm apart above L1 and below L2.
std::array<double, 3> centre_of(const SubjectDraw& s, int label) {
  auto c = vertebra_centre(s, label <= 20 ? 0 : 1);
  if (label < 20)
    c[2] += 35.0 * (20 - label);
  if (label > 21)
    c[2] -= 35.0 * (label - 21);
  return c;
}

int parse_vertebra(const std::string& name, const std::string& option) {
  const int n = name.size() >= 2 ? std::atoi(name.c_str() + 1) : 0;
  if (name.size() >= 2 && name[0] == 'T' && n >= 1 && n <= 12)
    return 7 + n;
  if (name.size() >= 2 && name[0] == 'L' && n >= 1 && n <= 5)
    return 19 + n;
  throw InputError("synth: --vertebrae " + option + ": '" + name +
                   "' is not a vertebra T1-T12 or L1-L5");
}

/// `from` gzipped into `to` at level 1 (a .nii.gz is the gzip of the .nii).
void gzip_fast(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::ifstream in(from, std::ios::binary);
  gzFile out = gzopen(to.c_str(), "wb1");
  if (!in || out == nullptr) {
    if (out != nullptr)
      gzclose(out);
    throw IoError("cannot gzip " + from.string() + " into " + to.string());
  }
  std::vector<char> buffer(1 << 20);
  bool ok = true;
  while (ok && in) {
    in.read(buffer.data(), std::streamsize(buffer.size()));
    const auto n = static_cast<unsigned>(in.gcount());
    ok = n == 0 || gzwrite(out, buffer.data(), n) == int(n);
  }
  if (gzclose(out) != Z_OK || !ok || in.bad())
    throw IoError("cannot gzip " + from.string() + " into " + to.string());
}

} // namespace

ScanLayout scan_layout(const std::string& vertebrae, bool all_centroids) {
  ScanLayout layout;
  layout.all_centroids = all_centroids;
  if (vertebrae.empty()) {
    if (all_centroids)
      layout = {17, 23, true}; // T10-L4 (VerSe labels 17-23), a scan of the lower spine
    return layout;
  }
  const auto dash = vertebrae.find('-');
  if (dash == std::string::npos)
    throw InputError("synth: --vertebrae " + vertebrae + ": expected a range such as T12-L3");
  layout.first = parse_vertebra(vertebrae.substr(0, dash), vertebrae);
  layout.last = parse_vertebra(vertebrae.substr(dash + 1), vertebrae);
  if (layout.first > 20 || layout.last < 21)
    throw InputError("synth: --vertebrae " + vertebrae +
                     ": the range must hold L1 and L2 (the subject's own pair), e.g. T10-L4");
  return layout;
}

void write_subject(const SubjectDraw& s, const std::filesystem::path& image_path,
                   const std::filesystem::path& centroid_path, const ScanLayout& layout) {
  const auto& site = sites()[s.site];
  Rng rng(s.image_seed);
  // The vertebrae top down, T12 to L3 by default (L1 and L2 carry the subject's jittered
  // centres).
  std::vector<Vertebra> vertebrae;
  const auto l1 = vertebra_centre(s, 0), l2 = vertebra_centre(s, 1);
  const double a = 20.0 * s.body_scale, b = 15.0 * s.body_scale, h = 13.0 * s.body_scale;
  for (int label = layout.first; label <= layout.last; ++label)
    vertebrae.push_back({centre_of(s, label), a, b, h, s.trabecular_hu + 8.0 * rng.normal()});
  // Discs between neighbouring bodies.
  std::vector<double> discs;
  for (int k = layout.first; k < layout.last; ++k)
    discs.push_back(k + 1 <= 20 ? centre_of(s, k + 1)[2] + 17.5
                    : k >= 21   ? centre_of(s, k)[2] - 17.5
                                : 0.5 * (l1[2] + l2[2]));
  // Weaker bone: coarser, more heterogeneous trabeculae.
  const double amplitude = 25.0 + 12.0 * std::max(-2.0, std::min(2.0, -s.bone_strength));
  const double period = 3.5 + 0.6 * std::max(-2.0, std::min(2.0, -s.bone_strength));
  const double shell_mm = 1.3 + 0.2 * std::max(-1.5, std::min(1.5, s.bone_strength));

  Image::SizeType size;
  Image::SpacingType spacing;
  Image::PointType origin;
  Image::DirectionType direction;
  direction.SetIdentity();
  // A 110 mm cube around L1/L2, taller by a vertebra's pitch per vertebra above T12 or below
  // L3, and a margin then, so that the outermost centroid (jittered ±3 mm) stays in the scan.
  const int below = std::max(0, layout.last - 22), above = std::max(0, 19 - layout.first);
  const double lo[3] = {-kHalfFov, -kHalfFov, -kHalfFov - (below > 0 ? 35.0 * below + 10 : 0)};
  const double hi[3] = {kHalfFov, kHalfFov, kHalfFov + (above > 0 ? 35.0 * above + 10 : 0)};
  for (int i = 0; i < 3; ++i) {
    spacing[i] = site.spacing[i];
    size[i] = static_cast<itk::SizeValueType>(std::lround((hi[i] - lo[i]) / site.spacing[i]));
    direction[i][i] = site.flip[i];
    const double half = 0.5 * (size[i] - 1) * spacing[i];
    // The same physical box whatever the orientation.
    origin[i] = 0.5 * (lo[i] + hi[i]) - site.flip[i] * half;
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
          for (double zc : discs)
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
  // ITK writes the plain .nii and vfp gzips it at level 1: the same file once unpacked, but
  // ITK 5.2's NIfTI writer gzips at zlib's default level 6, which was two thirds of
  // `vfp synth`'s time.
  auto name = image_path.filename().string(); // <id>.nii.gz
  name = name.substr(0, name.find('.'));      // NIfTI's own naming reads every ".nii"/".gz"
  const auto plain = image_path.parent_path() / ("." + name + ".plain.nii");
  auto writer = itk::ImageFileWriter<Image>::New();
  writer->SetFileName(plain.string());
  writer->SetInput(image);
  writer->SetUseCompression(false);
  try {
    writer->Update();
  } catch (const itk::ExceptionObject& e) {
    throw IoError("cannot write " + plain.string() + ": " + e.GetDescription());
  }
  write_file_atomically(
      image_path, [&](const std::filesystem::path& temporary) { gzip_fast(plain, temporary); });
  std::filesystem::remove(plain);

  nlohmann::json centroids = nlohmann::json::array();
  const char* codes_pos = "LPS";
  const char* codes_neg = "RAI";
  nlohmann::json codes = nlohmann::json::array();
  for (int i = 0; i < 3; ++i)
    codes.push_back(std::string(1, site.flip[i] > 0 ? codes_pos[i] : codes_neg[i]));
  centroids.push_back({{"direction", codes}});
  const int first = layout.all_centroids ? layout.first : 20;
  const int last = layout.all_centroids ? layout.last : 21;
  for (int label = first; label <= last; ++label) {
    const auto c = centre_of(s, label);
    Image::PointType p;
    for (int i = 0; i < 3; ++i)
      p[i] = c[i];
    itk::ContinuousIndex<double, 3> idx;
    image->TransformPhysicalPointToContinuousIndex(p, idx);
    auto round3 = [](double v) { return std::round(v * 1000) / 1000; };
    centroids.push_back(
        {{"label", label}, {"X", round3(idx[0])}, {"Y", round3(idx[1])}, {"Z", round3(idx[2])}});
  }
  write_file_atomically(centroid_path, centroids.dump(1) + "\n");
}

} // namespace vfp::synth
