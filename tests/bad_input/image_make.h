// The corpus' generated CT images (issue 23): `make:` steps that turn the good first subject's
// .nii.gz into a bad image of any format vfp reads, so that no large image is committed.
// Steps, joined by '+', run left to right:
//   gunzip | gzip                    decompress / compress the bytes
//   truncate-half                    keep the first half
//   nifti-set:F=V[,F=V...]           set NIfTI-1 header fields: dimN, pixdimN, datatype, bitpix,
//                                    vox_offset, scl_slope, qform_code, sform_code,
//                                    srow_{x,y,z}N (V may be nan, inf, -inf)
//   nifti-nonfinite:N                voxels as float32, N of them NaN, +Inf or -Inf
//   to-mha | to-nrrd                 the NIfTI's voxels under a MetaImage / NRRD header
//   mha-set:K=V | nrrd-set:K=V       replace a line of that text header
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>

namespace vfp::bad_input {

/// The extension a corpus image is read with: ".nii.gz", or the name's last one (".nii", ".mha").
inline std::string image_ext(const std::string& name) {
  const std::string gz = ".nii.gz";
  if (name.size() >= gz.size() && name.compare(name.size() - gz.size(), gz.size(), gz) == 0)
    return gz;
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? "" : name.substr(dot);
}

inline std::string zlib_stream(const std::string& in, bool compress) {
  z_stream z{};
  // windowBits 15 + 16: a gzip wrapper; 15 + 32: inflate detects gzip or zlib.
  const int init = compress ? deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
                            : inflateInit2(&z, 15 + 32);
  EXPECT_EQ(init, Z_OK);
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char buffer[1 << 16];
  int code = Z_OK;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    code = compress ? deflate(&z, Z_FINISH) : inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - z.avail_out);
  } while (code == Z_OK);
  compress ? deflateEnd(&z) : inflateEnd(&z);
  EXPECT_EQ(code, Z_STREAM_END) << "zlib";
  return out;
}

/// Offset and type ('h' int16, 'f' float32) of a NIfTI-1 header field.
inline std::pair<std::size_t, char> nifti1_field(const std::string& name) {
  auto indexed = [&](const std::string& prefix, std::size_t base, std::size_t step, char type,
                     int count) -> std::pair<std::size_t, char> {
    const int i = std::stoi(name.substr(prefix.size()));
    EXPECT_TRUE(i >= 0 && i < count) << name;
    return {base + step * std::size_t(i), type};
  };
  if (name.rfind("dim", 0) == 0)
    return indexed("dim", 40, 2, 'h', 8);
  if (name.rfind("pixdim", 0) == 0)
    return indexed("pixdim", 76, 4, 'f', 8);
  if (name.rfind("srow_", 0) == 0)
    return indexed(name.substr(0, 6), 280 + 16 * std::size_t(name[5] - 'x'), 4, 'f', 4);
  if (name == "datatype")
    return {70, 'h'};
  if (name == "bitpix")
    return {72, 'h'};
  if (name == "vox_offset")
    return {108, 'f'};
  if (name == "scl_slope")
    return {112, 'f'};
  if (name == "qform_code")
    return {252, 'h'};
  if (name == "sform_code")
    return {254, 'h'};
  ADD_FAILURE() << "nifti-set: unknown field " << name;
  return {0, 'x'};
}

template <typename T> T get_at(const std::string& bytes, std::size_t at) {
  T v{};
  std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;
}

template <typename T> void put_at(std::string& bytes, std::size_t at, T v) {
  std::memcpy(bytes.data() + at, &v, sizeof v);
}

/// The NIfTI-1 (little-endian, as vfp synth writes it) behind `bytes`, decompressed if need be.
inline std::string nifti1(std::string bytes) {
  if (bytes.size() > 2 && static_cast<unsigned char>(bytes[0]) == 0x1f)
    bytes = zlib_stream(bytes, false);
  EXPECT_EQ(get_at<std::int32_t>(bytes, 0), 348) << "not a little-endian NIfTI-1";
  return bytes;
}

inline void nifti_set(std::string& bytes, const std::string& assignments) {
  std::istringstream list(assignments);
  for (std::string one; std::getline(list, one, ',');) {
    const auto eq = one.find('=');
    const auto [at, type] = nifti1_field(one.substr(0, eq));
    const double value = std::stod(one.substr(eq + 1)); // strtod reads nan, inf, -inf
    if (type == 'h')
      put_at<std::int16_t>(bytes, at, static_cast<std::int16_t>(value));
    else if (type == 'f')
      put_at<float>(bytes, at, static_cast<float>(value));
  }
}

/// The int16 voxels as float32, `n` of them (spread over the image) NaN, +Inf or -Inf.
inline void nifti_nonfinite(std::string& bytes, std::size_t n) {
  const auto offset = std::size_t(get_at<float>(bytes, 108));
  EXPECT_EQ(get_at<std::int16_t>(bytes, 70), 4) << "expected int16 voxels";
  const std::size_t voxels = (bytes.size() - offset) / 2;
  std::string out = bytes.substr(0, offset);
  out.resize(offset + 4 * voxels);
  for (std::size_t i = 0; i < voxels; ++i)
    put_at<float>(out, offset + 4 * i, get_at<std::int16_t>(bytes, offset + 2 * i));
  const float bad[3] = {std::numeric_limits<float>::quiet_NaN(),
                        std::numeric_limits<float>::infinity(),
                        -std::numeric_limits<float>::infinity()};
  for (std::size_t k = 0; k < n; ++k)
    put_at<float>(out, offset + 4 * (k * (voxels / n)), bad[k % 3]);
  put_at<std::int16_t>(out, 70, 16); // float32
  put_at<std::int16_t>(out, 72, 32);
  bytes = out;
}

/// The NIfTI's voxels behind a text header (MetaImage or NRRD) giving its size and spacing.
inline std::string nifti_to_text_format(const std::string& nii, bool mha) {
  std::ostringstream dims, spacing, h;
  for (int i = 1; i <= 3; ++i) {
    dims << (i > 1 ? " " : "") << get_at<std::int16_t>(nii, 40 + 2 * i);
    spacing << (i > 1 ? (mha ? " " : ") (") : "");
    if (mha)
      spacing << get_at<float>(nii, 76 + 4 * i);
    else
      for (int j = 1; j <= 3; ++j)
        spacing << (j > 1 ? "," : "") << (i == j ? get_at<float>(nii, 76 + 4 * i) : 0.0F);
  }
  EXPECT_EQ(get_at<std::int16_t>(nii, 70), 4) << "expected int16 voxels";
  if (mha)
    h << "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
      << "ElementSpacing = " << spacing.str() << "\nDimSize = " << dims.str()
      << "\nElementType = MET_SHORT\nElementDataFile = LOCAL\n";
  else
    h << "NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: "
      << dims.str() << "\nspace directions: (" << spacing.str()
      << ")\nendian: little\nencoding: raw\n\n";
  return h.str() + nii.substr(std::size_t(get_at<float>(nii, 108)));
}

/// Replaces the header line of `key` ("Key = V" in MetaImage, "key: V" in NRRD).
inline void text_header_set(std::string& bytes, const std::string& assignment, bool mha) {
  const auto eq = assignment.find('=');
  const auto key = assignment.substr(0, eq) + (mha ? " = " : ": ");
  const auto at = bytes.find("\n" + key) + 1;
  ASSERT_NE(at, 0U) << "no line " << key;
  const auto end = bytes.find('\n', at);
  bytes.replace(at, end - at, key + assignment.substr(eq + 1));
}

/// Applies the steps of `make` to `bytes`; false when a step is not one of the above.
inline bool apply_image_steps(std::string& bytes, const std::string& make) {
  std::istringstream steps(make);
  for (std::string step; std::getline(steps, step, '+');) {
    const auto colon = step.find(':');
    const auto op = step.substr(0, colon);
    const auto arg = colon == std::string::npos ? "" : step.substr(colon + 1);
    if (op == "gunzip" || op == "gzip")
      bytes = zlib_stream(bytes, op == "gzip");
    else if (op == "truncate-half")
      bytes.resize(bytes.size() / 2);
    else if (op == "nifti-set")
      bytes = nifti1(bytes), nifti_set(bytes, arg);
    else if (op == "nifti-nonfinite")
      bytes = nifti1(bytes), nifti_nonfinite(bytes, std::stoul(arg));
    else if (op == "to-mha" || op == "to-nrrd")
      bytes = nifti_to_text_format(nifti1(bytes), op == "to-mha");
    else if (op == "mha-set" || op == "nrrd-set")
      text_header_set(bytes, arg, op == "mha-set");
    else
      return false;
  }
  return true;
}

} // namespace vfp::bad_input
