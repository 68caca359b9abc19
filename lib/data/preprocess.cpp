#include "data/data.h"

#include "core/core.h"

#include <itkGDCMImageIOFactory.h>
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkMetaImageIOFactory.h>
#include <itkNiftiImageIOFactory.h>
#include <itkNrrdImageIOFactory.h>
#include <itkResampleImageFilter.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

namespace vfp::data {
namespace {

using Image = itk::Image<float, 3>;

Image::Pointer read_ct(const std::string& subject, const std::filesystem::path& path) {
  register_image_formats();
  if (!std::filesystem::exists(path))
    throw InputError("subject " + subject + ": image not found: " + path.string());
  auto reader = itk::ImageFileReader<Image>::New();
  reader->SetFileName(path.string());
  try {
    reader->Update(); // ITK applies the rescale slope/intercept, so values are HU
  } catch (const itk::ExceptionObject& e) {
    throw InputError("subject " + subject + ": cannot read image " + path.string() + ": " +
                     e.GetDescription());
  }
  return reader->GetOutput();
}

/// nibabel-style axis codes of the image's voxel axes in ITK's LPS physical space.
std::array<char, 3> axis_codes(const Image* image) {
  const auto& d = image->GetDirection();
  std::array<char, 3> codes{};
  for (unsigned axis = 0; axis < 3; ++axis) {
    unsigned best = 0;
    for (unsigned j = 1; j < 3; ++j)
      if (std::abs(d[j][axis]) > std::abs(d[best][axis]))
        best = j;
    const bool positive = d[best][axis] > 0;
    codes[axis] = "LPS"[best];
    if (!positive)
      codes[axis] = "RAI"[best];
  }
  return codes;
}

int physical_axis(char code) {
  return static_cast<int>(std::string("LRPASI").find(code) / 2);
}

/// Continuous image index of a centroid given in the (possibly different) axis-code frame.
itk::ContinuousIndex<double, 3> to_image_index(const VoxelCentroid& c,
                                               const std::optional<std::array<char, 3>>& frame,
                                               const Image* image) {
  itk::ContinuousIndex<double, 3> index;
  const auto codes = axis_codes(image);
  if (!frame) {
    for (int a = 0; a < 3; ++a)
      index[a] = c.xyz[a];
    return index;
  }
  const auto size = image->GetLargestPossibleRegion().GetSize();
  for (int a = 0; a < 3; ++a) {
    for (int i = 0; i < 3; ++i) {
      if (physical_axis((*frame)[a]) != physical_axis(codes[i]))
        continue;
      index[i] = (*frame)[a] == codes[i] ? c.xyz[a] : static_cast<double>(size[i]) - 1.0 - c.xyz[a];
    }
  }
  return index;
}

std::vector<float> resample_cube(const Image* image, const Image::PointType& centre, int n,
                                 double spacing) {
  auto resample = itk::ResampleImageFilter<Image, Image>::New();
  resample->SetInput(image);
  resample->SetInterpolator(itk::LinearInterpolateImageFunction<Image, double>::New());
  Image::SizeType size;
  size.Fill(static_cast<itk::SizeValueType>(n));
  Image::PointType origin;
  for (int a = 0; a < 3; ++a)
    origin[a] = centre[a] - 0.5 * (n - 1) * spacing;
  Image::DirectionType identity;
  identity.SetIdentity(); // an LPS-aligned grid, whatever the scan's orientation
  resample->SetSize(size);
  resample->SetOutputSpacing(spacing);
  resample->SetOutputOrigin(origin);
  resample->SetOutputDirection(identity);
  resample->SetDefaultPixelValue(-1024.0F); // outside the scan: air
  resample->SetNumberOfWorkUnits(1);        // subjects are already spread over threads
  resample->Update();
  const auto* buffer = resample->GetOutput()->GetBufferPointer();
  return std::vector<float>(buffer, buffer + static_cast<size_t>(n) * n * n);
}

} // namespace

void register_image_formats() {
  static std::once_flag once;
  std::call_once(once, [] {
    itk::NiftiImageIOFactory::RegisterOneFactory();
    itk::MetaImageIOFactory::RegisterOneFactory();
    itk::NrrdImageIOFactory::RegisterOneFactory();
    itk::GDCMImageIOFactory::RegisterOneFactory();
  });
}

void preprocess_subject(const std::string& subject_id, const std::filesystem::path& image_path,
                        const std::filesystem::path& centroid_path,
                        const config::PreprocessConfig& params, PatchSet& out) {
  if (!std::filesystem::exists(centroid_path))
    throw InputError("subject " + subject_id +
                     ": centroid file not found: " + centroid_path.string());
  const auto centroids = read_verse_centroids(centroid_path);
  const auto image = read_ct(subject_id, image_path);
  const int n = std::max(1, static_cast<int>(std::lround(params.patch_mm / params.spacing_mm)));
  const auto region = image->GetLargestPossibleRegion();
  for (const auto& name : params.vertebrae) {
    const int label = vertebra_label(name);
    const VoxelCentroid* found = nullptr;
    for (const auto& c : centroids.centroids)
      if (c.label == label)
        found = &c;
    if (!found)
      throw InputError("subject " + subject_id + ": no centroid for " + name + " (label " +
                       std::to_string(label) + ") in " + centroid_path.string());
    const auto index = to_image_index(*found, centroids.axis_codes, image.GetPointer());
    for (int a = 0; a < 3; ++a)
      if (index[a] < -0.5 || index[a] > static_cast<double>(region.GetSize()[a]) - 0.5)
        throw InputError("subject " + subject_id + ": " + name +
                         " centroid lies outside the image " + image_path.string());
    Image::PointType centre;
    image->TransformContinuousIndexToPhysicalPoint(index, centre);
    const auto cube = resample_cube(image.GetPointer(), centre, n, params.spacing_mm);
    int h = 0, w = 0;
    const auto patch = project_cube(cube, n, params, h, w);
    if (out.size() == 0) {
      out.height = h;
      out.width = w;
    }
    out.pixels.insert(out.pixels.end(), patch.begin(), patch.end());
    out.subject_ids.push_back(subject_id);
    out.vertebrae.push_back(label);
  }
}

PatchSet preprocess_cohort(const std::vector<Subject>& subjects, const config::ExperimentConfig& c,
                           int threads) {
  std::vector<PatchSet> parts(subjects.size());
  std::vector<std::string> errors(subjects.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < subjects.size(); i = next++) {
      try {
        preprocess_subject(subjects[i].id, config::subject_path(c.cohort.images, subjects[i].id),
                           config::subject_path(c.cohort.centroids, subjects[i].id), c.preprocess,
                           parts[i]);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, threads); ++t)
    pool.emplace_back(work);
  work();
  for (auto& t : pool)
    t.join();
  // Report every failing subject at once: a user fixes a cohort in one pass.
  std::string failed;
  int n_failed = 0;
  for (const auto& e : errors)
    if (!e.empty()) {
      if (n_failed < 10)
        failed += "\n  " + e;
      ++n_failed;
    }
  if (n_failed > 0)
    throw InputError("preprocessing failed for " + std::to_string(n_failed) + " subject" +
                     (n_failed > 1 ? "s" : "") + ":" + failed + (n_failed > 10 ? "\n  ..." : ""));
  PatchSet all;
  for (auto& p : parts) {
    all.height = p.height;
    all.width = p.width;
    all.pixels.insert(all.pixels.end(), p.pixels.begin(), p.pixels.end());
    all.subject_ids.insert(all.subject_ids.end(), p.subject_ids.begin(), p.subject_ids.end());
    all.vertebrae.insert(all.vertebrae.end(), p.vertebrae.begin(), p.vertebrae.end());
  }
  return all;
}

} // namespace vfp::data
