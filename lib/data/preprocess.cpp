#include "data/data.h"

#include "core/core.h"

#include "data/image_io.h"

#include "log/log.h"

#include <itkImageRegionConstIteratorWithIndex.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkResampleImageFilter.h>

#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <thread>

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

} // namespace

void preprocess_subject(const std::string& subject_id, const std::filesystem::path& image_path,
                        const CentroidSource& source, const config::PreprocessConfig& params,
                        PatchSet& result) {
  // Every vertebra goes to a buffer of this subject first, and reaches `result` only once all
  // of them succeeded: a subject whose L2 fails leaves no L1 patch behind (issue 22).
  PatchSet out;
  if (source.format == "verse" && !std::filesystem::exists(source.path))
    throw InputError("subject " + subject_id +
                     ": centroid file not found: " + source.path.string());
  const auto image = read_ct(subject_id, image_path);
  const auto centres = locate(subject_id, source, image.GetPointer());
  const int n = params.cube_voxels();
  const auto axes =
      params.channels.empty() ? std::vector<std::string>{params.axis} : params.channels;
  for (const auto& name : params.vertebrae) {
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

PatchSet preprocess_cohort(const std::vector<Subject>& subjects, const config::ExperimentConfig& c,
                           int threads, bool allow_empty) {
  CentroidTable table;
  if (c.cohort.centroid_format == "csv")
    table = read_centroid_csv(c.cohort.centroids, c.cohort.centroid_space);
  std::vector<PatchSet> parts(subjects.size());
  std::vector<std::string> errors(subjects.size());
  // Apart from `errors`: an exception with an empty message still fails its subject.
  std::vector<char> subject_failed(subjects.size(), 0);
  std::atomic<size_t> next{0};
  // A big cohort takes minutes: a progress line now and then (none for a short run).
  log::Progress progress("preprocessing: subjects done", subjects.size());
  std::mutex progress_mutex;
  std::size_t done = 0;
  auto work = [&] {
    // A stop request leaves the subjects not started: the cache is written whole or not at all.
    for (size_t i = next++; i < subjects.size() && !stop_signal(); i = next++) {
      try {
        CentroidSource source;
        source.format = c.cohort.centroid_format;
        source.path = config::subject_path(c.cohort.centroids, subjects[i].id);
        source.table = &table;
        PatchSet mine; // the subject's patches reach parts[i] only when it succeeded whole
        preprocess_subject(subjects[i].id, config::subject_path(c.cohort.images, subjects[i].id),
                           source, c.preprocess, mine);
        fault_point("preprocess.subject"); // test-only (docs/hardening.md): between subjects
        parts[i] = std::move(mine);
      } catch (const std::exception& e) {
        subject_failed[i] = 1;
        errors[i] = e.what();
      } catch (...) {
        subject_failed[i] = 1;
      }
      if (subject_failed[i]) {
        parts[i] = PatchSet{}; // whatever the subject made, none of it is kept
        if (errors[i].empty())
          errors[i] = "subject " + subjects[i].id + ": preprocessing failed (no message)";
      }
      const std::lock_guard<std::mutex> lock(progress_mutex);
      progress.update(++done);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, threads); ++t)
    pool.emplace_back(work);
  work();
  for (auto& t : pool)
    t.join();
  progress.finish();
  throw_if_stop_requested("while preprocessing (the cache is built again from the start)");
  PatchSet all;
  if (c.cohort.on_bad_subject == "exclude") {
    for (size_t i = 0; i < subjects.size(); ++i)
      if (subject_failed[i] && !errors[i].empty()) {
        spdlog::warn("excluding subject {}: {}", subjects[i].id, errors[i]);
        all.excluded.push_back({subjects[i].id, errors[i]});
        errors[i].clear();
      }
  }
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
  // The patch shape comes from the parameters, so that even an empty shard has one.
  const int n = c.preprocess.cube_voxels();
  all.channels = c.preprocess.output == "3d"     ? 1
                 : c.preprocess.channels.empty() ? 1
                                                 : static_cast<int>(c.preprocess.channels.size());
  all.depth = c.preprocess.output == "3d" ? n : 0;
  all.height = all.width = n;
  if (!allow_empty &&
      std::all_of(parts.begin(), parts.end(), [](const PatchSet& p) { return p.size() == 0; }))
    throw InputError("preprocessing left no usable subject (" +
                     std::to_string(all.excluded.size()) + " excluded; the first: " +
                     (all.excluded.empty() ? std::string("none") : all.excluded.front().reason) +
                     ")");
  for (size_t i = 0; i < parts.size(); ++i)
    if (!subject_failed[i]) // an excluded subject is absent from the patches, whatever it made
      append_whole(all, parts[i]);
  return all;
}

} // namespace vfp::data
