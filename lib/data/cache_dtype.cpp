// The cache's storage types (preprocess.dtype): float32 as computed, float16 (IEEE half,
// round to nearest even) and uint16 (the window's [0, 1] scaled by 65535). Conversions are
// done here rather than by HDF5 so that the mapped read path and the HDF5 path decode the
// same stored bytes the same way, and checksums cover exactly what is stored.
#include "core/core.h"
#include "data/cache_internal.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

namespace vfp::data {
namespace {

std::uint32_t bits_of(float f) {
  std::uint32_t u = 0;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
float float_of(std::uint32_t u) {
  float f = 0;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// F. Giesen's float → half with round-to-nearest-even (public domain): subnormal halves are
// rounded by the FPU through a magic add, normal ones by integer arithmetic.
std::uint16_t float_to_half(float value) {
  constexpr std::uint32_t kInfinity = 255u << 23, kHalfMax = (127u + 16u) << 23;
  constexpr std::uint32_t kDenormMagic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
  std::uint32_t f = bits_of(value);
  const std::uint32_t sign = f & 0x80000000u;
  f ^= sign;
  std::uint16_t out = 0;
  if (f >= kHalfMax) {
    out = f > kInfinity ? 0x7e00 : 0x7c00; // NaN stays NaN, too large becomes infinity
  } else if (f < (113u << 23)) {
    out = std::uint16_t(bits_of(float_of(f) + float_of(kDenormMagic)) - kDenormMagic);
  } else {
    const std::uint32_t odd = (f >> 13) & 1u;
    f += (std::uint32_t(15 - 127) << 23) + 0xfffu + odd;
    out = std::uint16_t(f >> 13);
  }
  return std::uint16_t(out | (sign >> 16));
}

float half_to_float(std::uint16_t h) {
  constexpr std::uint32_t kShiftedExponent = 0x7c00u << 13;
  std::uint32_t out = (std::uint32_t(h) & 0x7fffu) << 13;
  const std::uint32_t exponent = kShiftedExponent & out;
  out += (127u - 15u) << 23;
  if (exponent == kShiftedExponent) {
    out += (128u - 16u) << 23; // infinity or NaN
  } else if (exponent == 0) {  // zero or subnormal: renormalised by the FPU
    out += 1u << 23;
    out = bits_of(float_of(out) - float_of(113u << 23));
  }
  return float_of(out | ((std::uint32_t(h) & 0x8000u) << 16));
}

// 256 KiB each, built once: decoding is then one load per value.
const std::vector<float>& decode_table(StoredType type) {
  static const auto make = [](bool half) {
    std::vector<float> t(65536);
    for (std::uint32_t v = 0; v < 65536; ++v)
      t[v] = half ? half_to_float(std::uint16_t(v)) : float(double(v) / 65535.0);
    return t;
  };
  static const std::vector<float> halves = make(true), scaled = make(false);
  return type == StoredType::kFloat16 ? halves : scaled;
}

} // namespace

StoredType stored_type(const std::string& dtype) {
  if (dtype == "float32")
    return StoredType::kFloat32;
  if (dtype == "float16")
    return StoredType::kFloat16;
  if (dtype == "uint16")
    return StoredType::kUint16;
  throw IoError("unknown cache storage type '" + dtype +
                "' (preprocess.dtype: float32, float16 or uint16)");
}

std::string dtype_name(StoredType type) {
  switch (type) {
  case StoredType::kFloat16:
    return "float16";
  case StoredType::kUint16:
    return "uint16";
  case StoredType::kFloat32:
    break;
  }
  return "float32";
}

std::size_t stored_size(StoredType type) {
  return type == StoredType::kFloat32 ? 4 : 2;
}

H5::DataType hdf5_file_type(StoredType type) {
  if (type == StoredType::kFloat32)
    return H5::PredType::NATIVE_FLOAT;
  if (type == StoredType::kUint16)
    return H5::PredType::NATIVE_UINT16;
  // IEEE half as h5py defines it: sign bit 15, exponent bits 10-14 (bias 15), mantissa 0-9.
  H5::FloatType half(H5::PredType::IEEE_F32LE);
  half.setFields(15, 10, 5, 0, 10);
  half.setSize(2);
  half.setEbias(15);
  return half;
}

std::optional<StoredType> stored_type_of(hid_t t) {
  if (H5Tequal(t, H5T_NATIVE_FLOAT) > 0)
    return StoredType::kFloat32;
  if (H5Tequal(t, H5T_NATIVE_UINT16) > 0)
    return StoredType::kUint16;
  if (H5Tget_class(t) == H5T_FLOAT && H5Tget_size(t) == 2 && H5Tget_order(t) == H5T_ORDER_LE) {
    std::size_t sign = 0, exponent_at = 0, exponent_bits = 0, mantissa_at = 0, mantissa_bits = 0;
    H5Tget_fields(t, &sign, &exponent_at, &exponent_bits, &mantissa_at, &mantissa_bits);
    if (sign == 15 && exponent_at == 10 && exponent_bits == 5 && mantissa_at == 0 &&
        mantissa_bits == 10 && H5Tget_ebias(t) == 15)
      return StoredType::kFloat16;
  }
  return std::nullopt;
}

void encode_values(const float* in, std::size_t count, StoredType type, unsigned char* out) {
  if (type == StoredType::kFloat32) {
    std::memcpy(out, in, count * sizeof(float));
    return;
  }
  std::vector<std::uint16_t> buffer(count);
  if (type == StoredType::kFloat16) {
    for (std::size_t i = 0; i < count; ++i)
      buffer[i] = float_to_half(in[i]);
  } else {
    for (std::size_t i = 0; i < count; ++i) {
      const float v = std::isnan(in[i]) ? 0.0F : std::clamp(in[i], 0.0F, 1.0F);
      buffer[i] = std::uint16_t(std::lround(double(v) * 65535.0));
    }
  }
  std::memcpy(out, buffer.data(), count * sizeof(std::uint16_t));
}

void decode_values(const unsigned char* in, std::size_t count, StoredType type, float* out) {
  if (type == StoredType::kFloat32) {
    std::memcpy(out, in, count * sizeof(float));
    return;
  }
  const auto& table = decode_table(type);
  for (std::size_t i = 0; i < count; ++i) {
    std::uint16_t v = 0;
    std::memcpy(&v, in + 2 * i, sizeof v); // `in` need not be aligned
    out[i] = table[v];
  }
}

} // namespace vfp::data
