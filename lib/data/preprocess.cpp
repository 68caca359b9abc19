#include "data/data.h"

#include "core/core.h"

#include "data/image_io.h"

#include "log/log.h"

#include <itkImageRegionConstIteratorWithIndex.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkResampleImageFilter.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace vfp::data {
namespace {

using Image = CtImage;

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

std::vector<WorldCentroid> label_map_centroids(const std::string& subject_id,
                                               const std::filesystem::path& label_map) {
  const auto labels = read_label_map(subject_id, label_map);
  std::map<int, std::pair<std::array<double, 3>, double>> sums; // label → (Σ index, count)
  itk::ImageRegionConstIteratorWithIndex<LabelImage> it(labels, labels->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it) {
    const int label = it.Get();
    if (label == 0)
      continue;
    auto& [sum, count] = sums[label];
    for (int a = 0; a < 3; ++a)
      sum[a] += static_cast<double>(it.GetIndex()[a]);
    count += 1;
  }
  std::vector<WorldCentroid> out;
  for (const auto& [label, acc] : sums) {
    itk::ContinuousIndex<double, 3> mean;
    for (int a = 0; a < 3; ++a)
      mean[a] = acc.first[a] / acc.second;
    LabelImage::PointType p;
    labels->TransformContinuousIndexToPhysicalPoint(mean, p); // the affine map keeps means
    out.push_back({label, {p[0], p[1], p[2]}});
  }
  return out;
}

namespace {

/// The subject's vertebra centres in physical space, from whichever source the cohort uses.
std::vector<WorldCentroid> locate(const std::string& subject_id, const CentroidSource& source,
                                  const Image* image) {
  if (source.format == "csv") {
    VFP_CHECK(source.table != nullptr, "csv centroids need their table");
    auto it = source.table->find(subject_id);
    return it == source.table->end() ? std::vector<WorldCentroid>{} : it->second;
  }
  if (source.format == "labelmap")
    return label_map_centroids(subject_id, source.path);
  if (!std::filesystem::exists(source.path))
    throw InputError("subject " + subject_id +
                     ": centroid file not found: " + source.path.string());
  const auto file = read_verse_centroids(source.path);
  std::vector<WorldCentroid> out;
  for (const auto& c : file.centroids) {
    Image::PointType p;
    image->TransformContinuousIndexToPhysicalPoint(to_image_index(c, file.axis_codes, image), p);
    out.push_back({c.label, {p[0], p[1], p[2]}});
  }
  return out;
}

std::string source_name(const CentroidSource& source) {
  return source.format == "csv" ? "the centroid table" : source.path.string();
}

/// Appends `part` (one subject's patches) to `out` whole or not at all: when an insert throws
/// (out of memory), `out` is cut back to what it held before.
void append_whole(PatchSet& out, const PatchSet& part) {
  if (part.size() == 0)
    return;
  if (out.size() == 0) {
    out.channels = part.channels;
    out.depth = part.depth;
    out.height = part.height;
    out.width = part.width;
  }
  const auto pixels = out.pixels.size(), ids = out.subject_ids.size(),
             vertebrae = out.vertebrae.size(), origin = out.origin.size(),
             spacing = out.spacing.size();
  try {
    out.pixels.insert(out.pixels.end(), part.pixels.begin(), part.pixels.end());
    out.subject_ids.insert(out.subject_ids.end(), part.subject_ids.begin(), part.subject_ids.end());
    out.vertebrae.insert(out.vertebrae.end(), part.vertebrae.begin(), part.vertebrae.end());
    out.origin.insert(out.origin.end(), part.origin.begin(), part.origin.end());
    out.spacing.insert(out.spacing.end(), part.spacing.begin(), part.spacing.end());
  } catch (...) {
    out.pixels.resize(pixels);
    out.subject_ids.resize(ids);
    out.vertebrae.resize(vertebrae);
    out.origin.resize(origin);
    out.spacing.resize(spacing);
    throw;
  }
}

/// The vertebrae to cut: `names`, or for [all] every label T1–L5 the centroids hold, from the
/// top down (an unlabelled pretraining cohort: as many patches as the scan shows).
std::vector<std::string> vertebrae_to_cut(const std::string& subject_id,
                                          const std::vector<std::string>& names,
                                          const std::vector<WorldCentroid>& centres,
                                          const CentroidSource& source) {
  if (names.size() != 1 || names.front() != "all")
    return names;
  std::vector<int> labels;
  for (const auto& c : centres)
    if (c.label >= vertebra_label("T1") && c.label <= vertebra_label("L5"))
      labels.push_back(c.label);
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  if (labels.empty())
    throw InputError("subject " + subject_id + ": no centroid of T1-L5 (labels 8-24) in " +
                     source_name(source) + " (vertebrae: [all])");
  std::vector<std::string> out(labels.size());
  std::transform(labels.begin(), labels.end(), out.begin(), vertebra_name);
  return out;
}

} // namespace

void preprocess_subject(const std::string& subject_id, const std::filesystem::path& image_path,
                        const CentroidSource& source, const config::PreprocessConfig& params,
                        PatchSet& result, const std::string& dicom_series) {
  // Every vertebra goes to a buffer of this subject first, and reaches `result` only once all
  // of them succeeded: a subject whose L2 fails leaves no L1 patch behind (issue 22).
  PatchSet out;
  if (source.format == "verse" && !std::filesystem::exists(source.path))
    throw InputError("subject " + subject_id +
                     ": centroid file not found: " + source.path.string());
  const auto image = read_ct(subject_id, image_path, dicom_series);
  const auto centres = locate(subject_id, source, image.GetPointer());
  const int n = params.cube_voxels();
  const auto axes =
      params.channels.empty() ? std::vector<std::string>{params.axis} : params.channels;
  for (const auto& name : vertebrae_to_cut(subject_id, params.vertebrae, centres, source)) {
    const int label = vertebra_label(name);
    const WorldCentroid* found = nullptr;
    for (const auto& c : centres)
      if (c.label == label)
        found = &c;
    if (!found)
      throw InputError("subject " + subject_id + ": no centroid for " + name + " (label " +
                       std::to_string(label) + ") in " + source_name(source));
    Image::PointType centre;
    for (int a = 0; a < 3; ++a)
      centre[a] = found->lps[a];
    itk::ContinuousIndex<double, 3> index;
    image->TransformPhysicalPointToContinuousIndex(centre, index);
    const auto size = image->GetLargestPossibleRegion().GetSize();
    for (int a = 0; a < 3; ++a)
      if (index[a] < -0.5 || index[a] > static_cast<double>(size[a]) - 0.5)
        throw InputError("subject " + subject_id + ": " + name +
                         " centroid lies outside the image " + image_path.string());
    std::vector<float> cube;
    try {
      cube = resample_cube(image.GetPointer(), centre, n, params.cube_spacing());
    } catch (const itk::ExceptionObject& e) { // name the subject and vertebra, as the rest do
      throw InputError("subject " + subject_id + ": " + name + " (label " + std::to_string(label) +
                       "): cannot resample " + image_path.string() + ": " + e.GetDescription());
    }
    window_cube(cube, params);
    if (out.size() == 0) {
      out.channels = params.output == "3d" ? 1 : static_cast<int>(axes.size());
      out.depth = params.output == "3d" ? n : 0;
      out.height = out.width = n;
    }
    if (params.output == "3d") {
      out.pixels.insert(out.pixels.end(), cube.begin(), cube.end());
    } else {
      for (const auto& axis : axes) {
        const auto plane = project_cube(cube, n, axis, params);
        out.pixels.insert(out.pixels.end(), plane.begin(), plane.end());
      }
    }
    out.subject_ids.push_back(subject_id);
    out.vertebrae.push_back(label);
    for (int a = 0; a < 3; ++a) {
      out.origin.push_back(centre[a] - 0.5 * (n - 1) * params.cube_spacing());
      out.spacing.push_back(params.cube_spacing());
    }
  }
  append_whole(result, out);
}

void preprocess_subject(const std::string& subject_id, const std::filesystem::path& image,
                        const std::filesystem::path& verse_json,
                        const config::PreprocessConfig& params, PatchSet& out) {
  CentroidSource source;
  source.path = verse_json;
  preprocess_subject(subject_id, image, source, params, out);
}

} // namespace vfp::data
