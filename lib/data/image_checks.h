// Private to lib/data: sanity checks on an image before any use (issue 23). A header is read
// and checked before ITK sees the file (ITK/VNL abort() on a NaN NIfTI sform, and read a file
// cut short as zeros); the image ITK made is checked after (geometry, finite voxels).
#pragma once

#include <itkImageBase.h>
#include <itkImageIOBase.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace vfp::data {

/// The fields of a NIfTI-1 or NIfTI-2 header that say how big the image is and where it lies.
struct NiftiHeader {
  int version = 1;      ///< 1 or 2
  bool pair = false;    ///< magic "ni1"/"ni2": the voxels are in a separate .img file
  bool swapped = false; ///< stored in the other byte order than this machine's
  std::array<std::int64_t, 8> dim{};
  std::array<double, 8> pixdim{};
  int datatype = 0;
  double vox_offset = 0;
  int qform_code = 0;
  int sform_code = 0;
  std::array<double, 6> quatern{}; ///< quatern_b, _c, _d, qoffset_x, _y, _z
  std::array<std::array<double, 4>, 3> srow{};
};

/// Parses the NIfTI-1 (348 bytes) or NIfTI-2 (540 bytes) header at the start of `bytes`, in
/// either byte order; nullopt when `bytes` do not start with one (another format).
std::optional<NiftiHeader> parse_nifti_header(const std::string& bytes);

/// Bytes per voxel of a NIfTI datatype code; 0 for a code vfp does not know.
int nifti_voxel_bytes(int datatype);

/// Where a NIfTI file's voxels start: a single file's never start inside its header, whatever
/// vox_offset says.
std::uint64_t nifti_data_offset(const NiftiHeader& h);

/// What is wrong with a NIfTI header's dimensions, spacing or orientation; empty when nothing.
std::string nifti_header_problem(const NiftiHeader& h);

/// The bytes a NIfTI file must hold: vox_offset plus every voxel; nullopt for a datatype
/// vfp does not know the size of (ITK refuses those itself).
std::optional<std::uint64_t> nifti_bytes_needed(const NiftiHeader& h);

/// Where the raw voxels of a MetaImage (.mha/.mhd) or NRRD (.nrrd/.nhdr) file are.
struct RawLayout {
  std::filesystem::path data_file; ///< the header's own file, or the one it names
  std::uint64_t offset = 0;        ///< where the voxels start in `data_file`
};

/// The layout that the text header at the start of `head` (the first bytes of `path`) gives;
/// nullopt when the voxels are compressed, split over several files, or not a format above.
std::optional<RawLayout> raw_layout(const std::filesystem::path& path, const std::string& head);

/// An image's size along each axis (trailing axes of one voxel allowed) and the spacing and
/// direction of its first three, whoever read it: a NIfTI header, an ImageIO, ITK's image.
struct Geometry {
  std::vector<std::uint64_t> size;
  std::array<double, 3> spacing{};
  std::array<std::array<double, 3>, 3> direction{}; ///< direction[row][column]
};

/// What is wrong with a geometry: not 3D, an axis of one voxel, spacing not finite and
/// positive, direction not finite or singular; empty when nothing.
std::string geometry_problem(const Geometry& g);

/// Whether a 3×3 matrix maps space onto space: finite, and a determinant that is not tiny
/// next to the lengths of its columns (a scale-free test: spacing may be 0.3 mm or 5 mm).
bool invertible(const std::array<std::array<double, 3>, 3>& m);

/// a × b and a + b, saturating at the largest uint64: a claimed size may be absurd on purpose.
std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b);
std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b);

/// A double as a message shows it (shortest form).
std::string number_text(double v);

/// What is wrong with the image an ImageIO describes (after ReadImageInformation): not 3D, an
/// axis of one voxel, spacing or direction not finite, spacing not positive, direction
/// singular; empty when nothing.
std::string image_io_problem(const itk::ImageIOBase& io);

/// The same checks on an image already read (a DICOM series, or any file after ITK read it).
std::string geometry_problem(const itk::ImageBase<3>& image);

/// The number of NaN and ±Inf values among `n` voxels.
std::size_t count_non_finite(const float* voxels, std::size_t n);

/// Every check that can run before ITK reads the voxels of `path` (a file, not a DICOM
/// folder): a .gz is one complete stream, the header is sane, the file holds every voxel the
/// header claims. Throws InputError "subject S: <what> F: ...". Returns the ImageIO that read
/// the header, for the reader to use (null when ITK knows no format for the file).
itk::ImageIOBase::Pointer check_image_file(const std::string& subject,
                                           const std::filesystem::path& path, const char* what);

/// How the slices of a DICOM series lie, from each slice's ImagePositionPatient and the
/// series' ImageOrientationPatient: ITK's series reader assumes evenly spaced slices stacked
/// along the slice normal, which a tilted gantry or a missing slice breaks.
struct SliceStack {
  std::array<double, 3> normal{}; ///< row × column direction cosines
  std::vector<double> positions;  ///< each slice's position along the normal (mm), as given
  std::vector<double> gaps;       ///< between neighbouring slices, in the order given
  double median_gap = 0;          ///< mm
  double tilt_degrees = 0;        ///< angle between the normal and the stack's axis
  double drift_mm = 0;            ///< first-to-last slice offset within the slice plane
  bool uneven = false;            ///< some gap differs from the median by more than 1 %
};

/// The geometry of slices at `positions` (LPS mm, sorted along the normal) with direction
/// cosines `orientation` (row x, y, z then column x, y, z).
SliceStack slice_stack(const std::array<double, 6>& orientation,
                       const std::vector<std::array<double, 3>>& positions);

/// What stops a stack from being one regular volume: two slices at one position, a gap of
/// more than 3 × the median (slices missing), or a gantry tilt (the slices drift within their
/// plane by more than a tenth of `pixel_mm`, the in-plane spacing). Smaller uneven gaps are
/// not a problem here: the reader resamples them.
std::string slice_stack_problem(const SliceStack& s, double pixel_mm);

} // namespace vfp::data
