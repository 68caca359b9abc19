// The safetensors format (huggingface/safetensors), read and written without a JSON
// library: an 8-byte little-endian header length N, N bytes of JSON (an object: tensor name
// → {"dtype", "shape", "data_offsets": [begin, end]}, plus an optional "__metadata__" object
// of strings), then the tensors' raw little-endian bytes, offsets relative to the byte after
// the header.
#include "models/models.h"

#include "core/core.h"
#include "models/safetensors_header.h"
#include "models/weight_files.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <set>
#include <utility>

namespace vfp::models {
namespace {

using detail::little_endian_host;
using safetensors::kMetadataKey;
using safetensors::supported_dtypes;
using safetensors::where;

// ---- Dtypes: the header's names and LibTorch's types ----

torch::ScalarType torch_type(const safetensors::Dtype& d) {
  static const std::map<std::string, torch::ScalarType> types{
      {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
      {"F64", torch::kFloat64}, {"I64", torch::kInt64},   {"I32", torch::kInt32},
      {"I8", torch::kInt8},     {"U8", torch::kUInt8},    {"BOOL", torch::kBool},
  };
  return types.at(d.name);
}

const safetensors::Dtype* dtype_of(torch::ScalarType type) {
  for (const auto& d : safetensors::dtypes())
    if (torch_type(d) == type)
      return &d;
  return nullptr;
}

std::ifstream open(const std::filesystem::path& file) {
  require_regular_file(file, "safetensors file");
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw InputError(where(file) +
                     (std::filesystem::exists(file) ? "cannot be opened" : "does not exist"));
  return in;
}

// ---- Writing ----

void append_json_string(std::string& out, const std::string& s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xF];
    } else {
      out += c; // UTF-8 bytes pass through, as JSON allows
    }
  }
  out += '"';
}

} // namespace

namespace detail {

// Every tensor, floating point ones as float32; those not `wanted` as meta tensors of that
// shape and dtype, without reading their bytes (weights.cpp: read_weights).
StateDict read_safetensors(const std::filesystem::path& file, const Wanted& wanted) {
  if (!little_endian_host())
    throw InputError(where(file) + "reading safetensors needs a little-endian machine");
  auto in = open(file);
  const auto h = safetensors::read_header(file, in);
  StateDict state;
  for (const auto& e : h.entries) {
    if (!wanted(e.name)) {
      const auto type = torch_type(*e.dtype);
      const bool widened = torch::isFloatingType(type) && type != torch::kFloat32;
      state.insert(
          e.name,
          torch::empty(
              e.shape,
              torch::TensorOptions().dtype(widened ? torch::kFloat32 : type).device(torch::kMeta)));
      continue;
    }
    auto t = torch::empty(e.shape, torch::TensorOptions().dtype(torch_type(*e.dtype)));
    if (e.end > e.begin) {
      in.seekg(std::streamoff(h.data_start + e.begin));
      in.read(static_cast<char*>(t.data_ptr()), std::streamsize(e.end - e.begin));
      if (!in)
        throw InputError(where(file) + "tensor '" + e.name + "': cannot read its bytes");
    }
    if (torch_type(*e.dtype) == torch::kBool) // any nonzero byte is true, as in NumPy
      t = t.view(torch::kUInt8).ne(0);
    else if (torch::isFloatingType(torch_type(*e.dtype)) && torch_type(*e.dtype) != torch::kFloat32)
      t = t.to(torch::kFloat32);
    state.insert(e.name, std::move(t));
  }
  return state;
}

} // namespace detail

std::map<std::string, std::string> read_safetensors_metadata(const std::filesystem::path& file) {
  auto in = open(file);
  return safetensors::read_header(file, in).metadata;
}

void write_safetensors(const std::filesystem::path& file, const StateDict& state,
                       const std::map<std::string, std::string>& metadata) {
  if (!little_endian_host())
    throw InputError(where(file) + "writing safetensors needs a little-endian machine");
  std::vector<torch::Tensor> tensors;
  tensors.reserve(state.size());
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      header += first ? "" : ",";
      first = false;
      append_json_string(header, k);
      header += ':';
      append_json_string(header, v);
    }
    header += '}';
  }
  std::uint64_t offset = 0;
  for (const auto& item : state) {
    const auto& name = item.key();
    const std::string at = where(file) + "tensor '" + name + "': ";
    if (name == kMetadataKey)
      throw InputError(at + "the name is reserved for metadata");
    if (!item.value().defined())
      throw InputError(at + "undefined tensor");
    const safetensors::Dtype* dtype = dtype_of(item.value().scalar_type());
    if (!dtype)
      throw InputError(at + "cannot write " +
                       std::string(c10::toString(item.value().scalar_type())) +
                       " (supported: " + supported_dtypes() + ")");
    if (item.value().layout() != torch::kStrided)
      throw InputError(at + "only dense tensors can be written");
    auto t = item.value().detach().to(torch::kCPU).contiguous();
    const auto bytes = std::uint64_t(t.numel()) * dtype->bytes;
    header += header.size() > 1 ? "," : "";
    append_json_string(header, name);
    header += R"(:{"dtype":")";
    header += dtype->name;
    header += R"(","shape":)" + safetensors::shape_text(t.sizes().vec(), ",");
    header += R"(,"data_offsets":[)" + std::to_string(offset) + "," +
              std::to_string(offset + bytes) + "]}";
    offset += bytes;
    tensors.push_back(std::move(t));
  }
  header += '}';
  // Padded with spaces so that the data starts 8-byte aligned, as Python's safetensors does.
  header.append((8 - header.size() % 8) % 8, ' ');

  std::string content;
  content.reserve(8 + header.size() + offset);
  std::uint64_t length = header.size();
  for (int i = 0; i < 8; ++i, length >>= 8)
    content += char(length & 0xFF);
  content += header;
  for (const auto& t : tensors)
    if (t.numel() > 0)
      content.append(static_cast<const char*>(t.data_ptr()),
                     std::size_t(t.numel()) * t.element_size());
  write_file_atomically(file, content);
}

} // namespace vfp::models