// NIfTI-1 and NIfTI-2 headers read by vfp itself, before ITK: its reader takes a NaN pixdim
// for 1 and abort()s on a NaN sform (issue 23).
#include "data/image_checks.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace vfp::data {
namespace {

/// A header value at `offset`, stored in the file's byte order (`swap` when that is not ours).
template <typename T> T field(const std::string& bytes, std::size_t offset, bool swap) {
  std::array<char, sizeof(T)> raw{};
  std::memcpy(raw.data(), bytes.data() + offset, sizeof(T));
  if (swap)
    std::reverse(raw.begin(), raw.end());
  T value{};
  std::memcpy(&value, raw.data(), sizeof(T));
  return value;
}

} // namespace

int nifti_voxel_bytes(int datatype) {
  switch (datatype) {
  case 2:   // uint8
  case 256: // int8
    return 1;
  case 4:   // int16
  case 512: // uint16
    return 2;
  case 128: // RGB
    return 3;
  case 8:    // int32
  case 16:   // float32
  case 768:  // uint32
  case 2304: // RGBA
    return 4;
  case 32:   // complex64
  case 64:   // float64
  case 1024: // int64
  case 1280: // uint64
    return 8;
  case 1536: // float128
  case 1792: // complex128
    return 16;
  case 2048: // complex256
    return 32;
  default:
    return 0;
  }
}

std::uint64_t nifti_data_offset(const NiftiHeader& h) {
  const double header = h.pair ? 0.0 : (h.version == 1 ? 348.0 : 540.0);
  const double offset = std::isfinite(h.vox_offset) ? std::max(h.vox_offset, header) : header;
  return static_cast<std::uint64_t>(std::min(offset, 1e18));
}

std::optional<NiftiHeader> parse_nifti_header(const std::string& bytes) {
  if (bytes.size() < 348)
    return std::nullopt;
  const auto size_as_is = field<std::int32_t>(bytes, 0, false);
  const auto size_swapped = field<std::int32_t>(bytes, 0, true);
  const bool swap = size_as_is != 348 && size_as_is != 540;
  const auto sizeof_hdr = swap ? size_swapped : size_as_is;
  NiftiHeader h;
  h.swapped = swap;
  if (sizeof_hdr == 348) {
    // NIfTI-1, or its ancestor Analyze 7.5 (no magic; always a .hdr/.img pair, no qform/sform).
    const std::string magic = bytes.substr(344, 4);
    const bool nifti = magic == std::string("n+1\0", 4) || magic == std::string("ni1\0", 4);
    h.version = 1;
    h.pair = magic != std::string("n+1\0", 4);
    for (int i = 0; i < 8; ++i) {
      h.dim[i] = field<std::int16_t>(bytes, 40 + 2 * i, swap);
      h.pixdim[i] = field<float>(bytes, 76 + 4 * i, swap);
    }
    h.datatype = field<std::int16_t>(bytes, 70, swap);
    h.vox_offset = field<float>(bytes, 108, swap);
    if (nifti) {
      h.qform_code = field<std::int16_t>(bytes, 252, swap);
      h.sform_code = field<std::int16_t>(bytes, 254, swap);
      for (int i = 0; i < 6; ++i)
        h.quatern[i] = field<float>(bytes, 256 + 4 * i, swap);
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c)
          h.srow[r][c] = field<float>(bytes, 280 + 16 * r + 4 * c, swap);
    }
    return h;
  }
  if (sizeof_hdr != 540 || bytes.size() < 540)
    return std::nullopt;
  const std::string magic = bytes.substr(4, 4);
  if (magic != std::string("n+2\0", 4) && magic != std::string("ni2\0", 4))
    return std::nullopt;
  h.version = 2;
  h.pair = magic == std::string("ni2\0", 4);
  h.datatype = field<std::int16_t>(bytes, 12, swap);
  for (int i = 0; i < 8; ++i) {
    h.dim[i] = field<std::int64_t>(bytes, 16 + 8 * i, swap);
    h.pixdim[i] = field<double>(bytes, 104 + 8 * i, swap);
  }
  h.vox_offset = double(field<std::int64_t>(bytes, 168, swap));
  h.qform_code = field<std::int32_t>(bytes, 344, swap);
  h.sform_code = field<std::int32_t>(bytes, 348, swap);
  for (int i = 0; i < 6; ++i)
    h.quatern[i] = field<double>(bytes, 352 + 8 * i, swap);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c)
      h.srow[r][c] = field<double>(bytes, 400 + 32 * r + 8 * c, swap);
  return h;
}

std::string nifti_header_problem(const NiftiHeader& h) {
  const auto n = h.dim[0];
  if (n < 1 || n > 7)
    return "dim[0] = " + std::to_string(n) + " is not a number of dimensions (1 to 7)";
  Geometry g;
  for (int i = 1; i <= n; ++i) {
    if (h.dim[i] < 0)
      return "dim[" + std::to_string(i) + "] = " + std::to_string(h.dim[i]) + " is negative";
    g.size.push_back(std::uint64_t(h.dim[i]));
  }
  for (int i = 0; i < 3; ++i) { // the dimensions first; pixdim and orientation below
    g.spacing[i] = 1;
    g.direction[i][i] = 1;
  }
  if (auto p = geometry_problem(g); !p.empty())
    return p;
  // pixdim and the orientation are checked here, on the header, because ITK's NIfTI reader
  // quietly takes a NaN pixdim for 1 and abort()s on a NaN sform (issue 23).
  for (int i = 1; i <= 3; ++i)
    if (!std::isfinite(h.pixdim[i]) || h.pixdim[i] <= 0)
      return "pixdim[" + std::to_string(i) + "] = " + number_text(h.pixdim[i]) +
             ": a voxel spacing must be finite and positive";
  if (h.qform_code > 0 &&
      !std::all_of(h.quatern.begin(), h.quatern.end(), [](double v) { return std::isfinite(v); }))
    return "the qform (quatern_b, _c, _d, qoffset_x, _y, _z) holds a non-finite value";
  if (h.sform_code > 0) {
    std::array<std::array<double, 3>, 3> m{};
    bool finite = true;
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 4; ++c) {
        finite = finite && std::isfinite(h.srow[r][c]);
        if (c < 3)
          m[r][c] = h.srow[r][c];
      }
    if (!finite)
      return "the sform (srow_x, srow_y, srow_z) holds a non-finite value";
    if (!invertible(m))
      return "the sform's 3×3 matrix is singular (two voxel axes point the same way)";
  }
  if (!std::isfinite(h.vox_offset) || h.vox_offset < 0)
    return "vox_offset = " + number_text(h.vox_offset) + " is not an offset into the file";
  return "";
}

std::optional<std::uint64_t> nifti_bytes_needed(const NiftiHeader& h) {
  const int bytes = nifti_voxel_bytes(h.datatype);
  if (bytes == 0 || h.dim[0] < 1 || h.dim[0] > 7 || !std::isfinite(h.vox_offset) ||
      h.vox_offset < 0)
    return std::nullopt;
  std::uint64_t voxels = 1;
  for (int i = 1; i <= h.dim[0]; ++i)
    voxels = saturating_mul(voxels, std::uint64_t(std::max<std::int64_t>(0, h.dim[i])));
  return saturating_add(nifti_data_offset(h), saturating_mul(voxels, std::uint64_t(bytes)));
}

} // namespace vfp::data
