#include "data/image_checks.h"

#include "core/core.h"

#include "data/image_io.h"

#include <itkImageIOFactory.h>

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

namespace vfp::data {
namespace {

namespace fs = std::filesystem;

/// Enough of a file's start for any header vfp parses: NIfTI (540 bytes at most) and the
/// text headers of MetaImage and NRRD (a few hundred bytes, unless they carry long comments).
constexpr std::size_t kHeadBytes = 64 * std::size_t{1024};

/// a × b × c, for messages.
template <typename Range> std::string dims_text(const Range& dims) {
  std::string s;
  for (const auto d : dims)
    s += (s.empty() ? "" : " × ") + std::to_string(d);
  return s;
}

bool all_finite(const std::array<std::array<double, 3>, 3>& m) {
  for (const auto& row : m)
    for (const double v : row)
      if (!std::isfinite(v))
        return false;
  return true;
}

/// A file shorter than its header's claim: ITK would read the missing voxels as 0 HU (and
/// allocate whatever the header claims first), so it is refused before ITK reads anything.
std::string size_problem(std::uint64_t have, std::uint64_t need, const std::string& holder,
                         const std::string& claim) {
  if (have >= need)
    return "";
  return holder + " holds " + std::to_string(have) + " bytes, but the header claims " + claim +
         ": " + std::to_string(need) + " bytes (cut short?)";
}

/// The first kHeadBytes of a file (of its decompressed stream for a .gz) and its whole size.
struct FileStart {
  std::string head;
  std::uint64_t size = 0;
  bool gzip = false;
};

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

/// ITK reads a truncated .gz (a copy cut short, a full disk) without a word and fills the
/// missing voxels with whatever it has: decompress the whole stream first, so that a cut
/// stream or a bad checksum is an error naming the file, and so that its size is known.
FileStart read_start(const fs::path& path, const std::string& where) {
  FileStart out;
  const auto name = path.string();
  if (!ends_with(name, ".gz")) {
    std::ifstream in(path, std::ios::binary);
    out.head.resize(kHeadBytes);
    in.read(out.head.data(), std::streamsize(kHeadBytes));
    out.head.resize(static_cast<std::size_t>(in.gcount()));
    out.size = fs::file_size(path);
    return out;
  }
  out.gzip = true;
  gzFile in = gzopen(name.c_str(), "rb");
  if (!in)
    throw InputError(where + ": cannot open");
  std::vector<char> buffer(1 << 20);
  int n = 0;
  while ((n = gzread(in, buffer.data(), unsigned(buffer.size()))) > 0) {
    if (out.head.size() < kHeadBytes)
      out.head.append(buffer.data(),
                      std::min<std::size_t>(std::size_t(n), kHeadBytes - out.head.size()));
    out.size += std::uint64_t(n);
  }
  // gzread returns 0 at the end of a complete stream, and also when the input ends early:
  // gzerror then says Z_BUF_ERROR ("unexpected end of file").
  int code = Z_OK;
  const std::string message = gzerror(in, &code);
  gzclose(in);
  if (n < 0 || code != Z_OK)
    throw InputError(where + " is not a complete gzip stream (truncated or corrupt: " + message +
                     ")");
  return out;
}

/// The NIfTI header's size claim against the bytes there are (the voxels of a .hdr/.img pair
/// are in the .img).
void check_nifti_size(const NiftiHeader& h, const fs::path& path, const FileStart& start,
                      const std::string& where) {
  const auto need = nifti_bytes_needed(h);
  if (!need)
    return;
  std::uint64_t have = start.size;
  std::string holder = start.gzip ? "its decompressed stream" : "the file";
  if (h.pair) {
    auto img = path;
    if (start.gzip || img.extension() != ".hdr" || !fs::exists(img.replace_extension(".img")))
      return; // a compressed or missing .img: ITK says what it says
    have = fs::file_size(img);
    holder = "its data file " + img.string();
  }
  const std::vector<std::int64_t> dims(h.dim.begin() + 1, h.dim.begin() + 1 + h.dim[0]);
  const auto claim = dims_text(dims) + " voxels of " +
                     std::to_string(nifti_voxel_bytes(h.datatype)) + " bytes from byte " +
                     std::to_string(nifti_data_offset(h));
  if (const auto p = size_problem(have, *need, holder, claim); !p.empty())
    throw InputError(where + ": " + p);
}

/// NaN and ±Inf among `count` floating-point values of `bytes` bytes each from `offset` of
/// `file` (a .gz decompressed): nifti1_io turns them into 0 while ITK reads, so a CT of NaNs
/// would reach vfp as a flat 0 HU image; they are counted on the file instead.
std::uint64_t count_non_finite_in_file(const fs::path& file, std::uint64_t offset,
                                       std::uint64_t count, int bytes, bool swapped) {
  gzFile in = gzopen(file.string().c_str(), "rb"); // reads an uncompressed file as it is
  if (!in)
    return 0;
  std::uint64_t bad = 0;
  std::vector<char> buffer(std::size_t(bytes) << 18);
  if (gzseek64(in, static_cast<z_off64_t>(offset), SEEK_SET) >= 0) {
    int n = 0;
    while (count > 0 && (n = gzread(in, buffer.data(), unsigned(buffer.size()))) > 0) {
      const auto values = std::min<std::uint64_t>(count, std::uint64_t(n) / std::uint64_t(bytes));
      for (std::uint64_t i = 0; i < values; ++i) {
        std::array<char, 8> raw{};
        std::memcpy(raw.data(), buffer.data() + i * std::uint64_t(bytes), std::size_t(bytes));
        if (swapped)
          std::reverse(raw.begin(), raw.begin() + bytes);
        float f = 0;
        double d = 0;
        bytes == 4 ? (void)std::memcpy(&f, raw.data(), 4) : (void)std::memcpy(&d, raw.data(), 8);
        bad += std::isfinite(bytes == 4 ? double(f) : d) ? 0 : 1;
      }
      count -= values;
    }
  }
  gzclose(in);
  return bad;
}

/// A float NIfTI's NaN and ±Inf voxels, which its reader would quietly make 0.
void check_nifti_values(const NiftiHeader& h, const fs::path& path, const std::string& where) {
  // float32, float64 and complex64 (pairs of float32) can hold NaN; integers cannot.
  const int bytes = h.datatype == 16 || h.datatype == 32 ? 4 : h.datatype == 64 ? 8 : 0;
  if (bytes == 0)
    return;
  auto file = path;
  if (h.pair && (file.extension() != ".hdr" || !fs::exists(file.replace_extension(".img"))))
    return;
  std::uint64_t voxels = 1;
  for (int i = 1; i <= h.dim[0]; ++i)
    voxels = saturating_mul(voxels, std::uint64_t(h.dim[i]));
  const auto values = saturating_mul(voxels, h.datatype == 32 ? 2 : 1);
  if (const auto bad =
          count_non_finite_in_file(file, nifti_data_offset(h), values, bytes, h.swapped);
      bad > 0)
    throw InputError(where + " has " + std::to_string(bad) +
                     " non-finite voxels (NaN or ±Inf) of " + std::to_string(voxels));
}

} // namespace

std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t out = 0;
  return __builtin_mul_overflow(a, b, &out) ? std::numeric_limits<std::uint64_t>::max() : out;
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t out = 0;
  return __builtin_add_overflow(a, b, &out) ? std::numeric_limits<std::uint64_t>::max() : out;
}

bool invertible(const std::array<std::array<double, 3>, 3>& m) {
  const double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                     m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                     m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  double scale = 1;
  for (int c = 0; c < 3; ++c)
    scale *= std::sqrt(m[0][c] * m[0][c] + m[1][c] * m[1][c] + m[2][c] * m[2][c]);
  return std::isfinite(det) && scale > 0 && std::abs(det) > 1e-6 * scale;
}

std::string geometry_problem(const Geometry& g) {
  const auto n = g.size.size();
  if (n < 3)
    return "a " + std::to_string(n) + "D image (" + dims_text(g.size) +
           " voxels); a CT volume has 3 dimensions";
  for (std::size_t i = n; i-- > 3;)
    if (g.size[i] > 1)
      return "a " + std::to_string(i + 1) + "D image (" + dims_text(g.size) +
             " voxels); give one 3D volume";
  for (std::size_t i = 0; i < 3; ++i) {
    if (g.size[i] == 0)
      return "no voxels along axis " + std::to_string(i + 1);
    if (g.size[i] == 1)
      return "one voxel along axis " + std::to_string(i + 1) + " (" + dims_text(g.size) +
             " voxels): a 2D image, not a CT volume";
  }
  for (std::size_t i = 0; i < 3; ++i)
    if (!std::isfinite(g.spacing[i]) || g.spacing[i] <= 0)
      return "voxel spacing " + number_text(g.spacing[0]) + " × " + number_text(g.spacing[1]) +
             " × " + number_text(g.spacing[2]) + " mm: each must be finite and positive";
  if (!all_finite(g.direction))
    return "the direction matrix holds a non-finite value";
  if (!invertible(g.direction))
    return "the direction matrix is singular (two voxel axes point the same way)";
  return "";
}

std::string image_io_problem(const itk::ImageIOBase& io) {
  Geometry g;
  const auto n = io.GetNumberOfDimensions();
  for (unsigned i = 0; i < n; ++i)
    g.size.push_back(io.GetDimensions(i));
  for (unsigned i = 0; i < std::min(3U, n); ++i) {
    g.spacing[i] = io.GetSpacing(i);
    const auto column = io.GetDirection(i);
    for (unsigned r = 0; r < 3; ++r)
      g.direction[r][i] = r < column.size() ? column[r] : 0.0;
  }
  return geometry_problem(g);
}

std::string geometry_problem(const itk::ImageBase<3>& image) {
  Geometry g;
  const auto size = image.GetLargestPossibleRegion().GetSize();
  for (unsigned i = 0; i < 3; ++i) {
    g.size.push_back(size[i]);
    g.spacing[i] = image.GetSpacing()[i];
    for (unsigned j = 0; j < 3; ++j)
      g.direction[i][j] = image.GetDirection()[i][j];
  }
  if (auto p = geometry_problem(g); !p.empty())
    return p;
  for (unsigned i = 0; i < 3; ++i)
    if (!std::isfinite(image.GetOrigin()[i]))
      return "the origin holds a non-finite value";
  return "";
}

std::size_t count_non_finite(const float* voxels, std::size_t n) {
  return static_cast<std::size_t>(
      std::count_if(voxels, voxels + n, [](float v) { return !std::isfinite(v); }));
}

SliceStack slice_stack(const std::array<double, 6>& o,
                       const std::vector<std::array<double, 3>>& positions) {
  SliceStack s;
  s.normal = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
  const double norm =
      std::sqrt(s.normal[0] * s.normal[0] + s.normal[1] * s.normal[1] + s.normal[2] * s.normal[2]);
  if (!(norm > 0))
    return s;
  for (auto& v : s.normal)
    v /= norm;
  for (const auto& p : positions)
    s.positions.push_back(p[0] * s.normal[0] + p[1] * s.normal[1] + p[2] * s.normal[2]);
  for (std::size_t i = 1; i < s.positions.size(); ++i)
    s.gaps.push_back(s.positions[i] - s.positions[i - 1]);
  if (s.gaps.empty())
    return s;
  auto sorted = s.gaps;
  std::nth_element(sorted.begin(), sorted.begin() + long(sorted.size() / 2), sorted.end());
  s.median_gap = sorted[sorted.size() / 2];
  for (const double g : s.gaps)
    s.uneven = s.uneven || std::abs(g - s.median_gap) > 0.01 * std::abs(s.median_gap);
  // A tilted gantry moves each slice within the slice plane as the table advances: the
  // offset of the last slice from the first, less its part along the normal, is that drift.
  const auto& a = positions.front();
  const auto& b = positions.back();
  const std::array<double, 3> d{b[0] - a[0], b[1] - a[1], b[2] - a[2]};
  const double along = d[0] * s.normal[0] + d[1] * s.normal[1] + d[2] * s.normal[2];
  double drift2 = 0;
  for (int i = 0; i < 3; ++i)
    drift2 += (d[i] - along * s.normal[i]) * (d[i] - along * s.normal[i]);
  s.drift_mm = std::sqrt(drift2);
  s.tilt_degrees = std::atan2(s.drift_mm, std::abs(along)) * 180.0 / M_PI;
  return s;
}

std::string slice_stack_problem(const SliceStack& s, double pixel_mm) {
  for (std::size_t i = 0; i < s.gaps.size(); ++i)
    if (std::abs(s.gaps[i]) < 1e-3 * std::max(1.0, std::abs(s.median_gap)))
      return "slices " + std::to_string(i + 1) + " and " + std::to_string(i + 2) +
             " lie at the same position (" + number_text(s.positions[i]) +
             " mm along the normal): a duplicated slice or two series in one";
  // Two missing slices are bridged by interpolation; a wider hole (or slices scattered
  // around a tiny median gap) would be invented anatomy rather than resampling.
  if (!s.gaps.empty()) {
    const double widest = *std::max_element(s.gaps.begin(), s.gaps.end());
    if (widest > 3.0 * s.median_gap * (1 + 1e-6))
      return "a gap of " + number_text(widest) + " mm between slices, more than 3 × the usual " +
             number_text(s.median_gap) + " mm: slices are missing";
  }
  if (s.drift_mm > 0.1 * pixel_mm) {
    std::ostringstream m;
    m.precision(3);
    m << "gantry tilt of " << s.tilt_degrees << "° (the slices drift " << s.drift_mm
      << " mm within their plane over " << std::abs(s.positions.back() - s.positions.front())
      << " mm): vfp does not correct tilt; reconstruct without tilt or resample the series "
         "first (e.g. dcm2niix corrects it)";
    return m.str();
  }
  return "";
}

itk::ImageIOBase::Pointer check_image_file(const std::string& subject, const fs::path& path,
                                           const char* what) {
  const std::string where = "subject " + subject + ": " + what + " " + path.string();
  const auto start = read_start(path, where);
  // NIfTI first, on vfp's own reading of the header: ITK must not see a header it aborts on.
  if (const auto h = parse_nifti_header(start.head)) {
    if (const auto p = nifti_header_problem(*h); !p.empty())
      throw InputError(where + ": " + p);
    check_nifti_size(*h, path, start, where);
    check_nifti_values(*h, path, where);
  }
  register_image_formats();
  auto io = itk::ImageIOFactory::CreateImageIO(path.string().c_str(),
                                               itk::ImageIOFactory::IOFileModeEnum::ReadMode);
  if (!io)
    return io; // the reader then says that no format knows the file
  io->SetFileName(path.string());
  io->ReadImageInformation();
  if (const auto p = image_io_problem(*io); !p.empty())
    throw InputError(where + ": " + p);
  if (const auto layout = raw_layout(path, start.head); layout && fs::exists(layout->data_file)) {
    std::uint64_t voxels = 1;
    for (unsigned i = 0; i < io->GetNumberOfDimensions(); ++i)
      voxels = saturating_mul(voxels, io->GetDimensions(i));
    const auto value_bytes = saturating_mul(io->GetNumberOfComponents(), io->GetComponentSize());
    std::vector<std::uint64_t> dims;
    for (unsigned i = 0; i < io->GetNumberOfDimensions(); ++i)
      dims.push_back(io->GetDimensions(i));
    const auto holder = layout->data_file == path ? std::string("the file")
                                                  : "its data file " + layout->data_file.string();
    const auto p =
        size_problem(fs::file_size(layout->data_file),
                     saturating_add(layout->offset, saturating_mul(voxels, value_bytes)), holder,
                     dims_text(dims) + " voxels of " + std::to_string(value_bytes) +
                         " bytes from byte " + std::to_string(layout->offset));
    if (!p.empty())
      throw InputError(where + ": " + p);
  }
  return io;
}

} // namespace vfp::data
