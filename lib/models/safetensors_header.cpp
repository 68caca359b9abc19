// The safetensors format (huggingface/safetensors), read and written without a JSON
// library: an 8-byte little-endian header length N, N bytes of JSON (an object: tensor name
// → {"dtype", "shape", "data_offsets": [begin, end]}, plus an optional "__metadata__" object
// of strings), then the tensors' raw little-endian bytes, offsets relative to the byte after
// the header.
//
// This file: the header parser, free of LibTorch (fuzzed alone: tests/fuzz/fuzz_safetensors).
#include "models/safetensors_header.h"

#include "core/core.h"

#include <algorithm>
#include <limits>
#include <set>
#include <string_view>
#include <utility>

namespace vfp::models::safetensors {
namespace {

// Python's safetensors refuses headers above 100 MB; so do we, before allocating.
constexpr std::uint64_t kMaxHeader = 100'000'000;

// ---- A JSON reader for the subset safetensors headers use ----

struct Json {
  enum Kind { kString, kInteger, kArray, kObject } kind = kString;
  std::string text;                                  ///< kString
  std::int64_t integer = 0;                          ///< kInteger
  std::vector<Json> items;                           ///< kArray
  std::vector<std::pair<std::string, Json>> members; ///< kObject, in file order
};

const char* kind_name(Json::Kind kind) {
  static const char* names[] = {"a string", "an integer", "an array", "an object"};
  return names[kind];
}

class JsonReader {
public:
  JsonReader(std::string_view text, const std::filesystem::path& file) : text_(text), file_(file) {}

  Json document() {
    Json root = value(0);
    skip_space();
    if (pos_ != text_.size())
      fail("unexpected " + shown(text_[pos_]) + " after the header object");
    return root;
  }

private:
  static constexpr int kMaxDepth = 32;

  [[noreturn]] void fail(const std::string& what) const {
    // Offsets count from the first byte of the file (the header starts at byte 8).
    throw InputError(where(file_) + "bad JSON header at byte " + std::to_string(8 + pos_) + ": " +
                     what);
  }

  // A character for a message: 'x', or its code when it is not printable ASCII.
  static std::string shown(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f)
      return std::string("'") + c + "'";
    static const char* hex = "0123456789abcdef";
    return std::string("byte 0x") + hex[u >> 4] + hex[u & 0xF];
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  void expect(char c) {
    skip_space();
    if (pos_ >= text_.size())
      fail(std::string("expected '") + c + "', found the end of the header");
    if (text_[pos_] != c)
      fail(std::string("expected '") + c + "', found " + shown(text_[pos_]));
    ++pos_;
  }

  Json value(int depth) {
    if (depth > kMaxDepth)
      fail("nested deeper than " + std::to_string(kMaxDepth) + " levels");
    skip_space();
    if (pos_ >= text_.size())
      fail("expected a value, found the end of the header");
    Json v;
    const char c = text_[pos_];
    if (c == '{') {
      v.kind = Json::kObject;
      ++pos_;
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return v;
      }
      std::set<std::string> seen;
      while (true) {
        skip_space();
        if (pos_ >= text_.size() || text_[pos_] != '"')
          fail("expected a quoted key");
        std::string key = string();
        if (!seen.insert(key).second)
          fail("duplicate key '" + key + "'");
        expect(':');
        v.members.emplace_back(std::move(key), value(depth + 1));
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.kind = Json::kArray;
      ++pos_;
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        return v;
      }
      while (true) {
        v.items.push_back(value(depth + 1));
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.kind = Json::kString;
      v.text = string();
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = Json::kInteger;
      v.integer = integer();
      return v;
    }
    fail("expected a string, integer, array or object, found " + shown(c));
  }

  std::int64_t integer() {
    const bool negative = text_[pos_] == '-';
    if (negative)
      ++pos_;
    if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9')
      fail("expected a digit");
    if (text_[pos_] == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' &&
        text_[pos_ + 1] <= '9')
      fail("leading zero in a number");
    std::uint64_t n = 0;
    const auto limit = std::uint64_t(std::numeric_limits<std::int64_t>::max());
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const auto digit = std::uint64_t(text_[pos_] - '0');
      if (n > (limit - digit) / 10)
        fail("integer out of range");
      n = n * 10 + digit;
      ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E'))
      fail("expected an integer, found a fraction or exponent");
    return negative ? -std::int64_t(n) : std::int64_t(n);
  }

  unsigned hex4() {
    if (pos_ + 4 > text_.size())
      fail("truncated \\u escape");
    unsigned u = 0;
    for (int i = 0; i < 4; ++i) {
      // Both cases: a digit's value is its place here modulo 16.
      const auto digit = std::string_view("0123456789abcdef0123456789ABCDEF").find(text_[pos_++]);
      if (digit == std::string_view::npos)
        fail("bad hex digit in a \\u escape");
      u = (u << 4) | unsigned(digit % 16);
    }
    return u;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  std::string string() {
    ++pos_; // the opening quote
    std::string out;
    while (true) {
      if (pos_ >= text_.size())
        fail("unterminated string");
      const char c = text_[pos_++];
      if (c == '"')
        return out;
      if (static_cast<unsigned char>(c) < 0x20) {
        --pos_;
        fail("control character in a string");
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size())
        fail("unterminated string");
      const char e = text_[pos_++];
      // The one-character escapes, and what each stands for.
      static const std::string escapes = "\"\\/bfnrt", meanings = "\"\\/\b\f\n\r\t";
      if (const auto k = escapes.find(e); k != std::string::npos) {
        out += meanings[k];
        continue;
      }
      if (e != 'u') {
        --pos_;
        fail("bad escape: backslash then " + shown(e));
      }
      unsigned cp = hex4();
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (pos_ + 2 > text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u')
          fail("high surrogate without a low surrogate");
        pos_ += 2;
        const unsigned low = hex4();
        if (low < 0xDC00 || low > 0xDFFF)
          fail("high surrogate without a low surrogate");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        fail("low surrogate without a high surrogate");
      }
      append_utf8(out, cp);
    }
  }

  std::string_view text_;
  const std::filesystem::path& file_;
  std::size_t pos_ = 0;
};

Entry parse_entry(const std::filesystem::path& file, const std::string& name, const Json& info) {
  const std::string at = where(file) + "tensor '" + name + "': ";
  if (info.kind != Json::kObject)
    throw InputError(at + "expected an object, found " + kind_name(info.kind));
  Entry e;
  e.name = name;
  const Json *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
  for (const auto& [field, v] : info.members) {
    if (field == "dtype")
      dtype = &v;
    else if (field == "shape")
      shape = &v;
    else if (field == "data_offsets")
      offsets = &v;
    else
      throw InputError(at + "unknown field '" + field + "'");
  }
  if (!dtype || !shape || !offsets)
    throw InputError(at + "needs the fields dtype, shape and data_offsets");
  if (dtype->kind != Json::kString)
    throw InputError(at + "dtype must be a string");
  e.dtype = dtype_named(dtype->text);
  if (!e.dtype)
    throw InputError(at + "unknown or unsupported dtype '" + dtype->text +
                     "' (supported: " + supported_dtypes() + ")");
  if (shape->kind != Json::kArray)
    throw InputError(at + "shape must be an array of sizes");
  for (const auto& s : shape->items) {
    if (s.kind != Json::kInteger || s.integer < 0)
      throw InputError(at + "shape must be an array of sizes >= 0");
    e.shape.push_back(s.integer);
  }
  std::uint64_t elements = 1;
  bool overflow = false;
  if (std::find(e.shape.begin(), e.shape.end(), 0) != e.shape.end())
    elements = 0;
  else
    for (const auto n : e.shape) {
      overflow =
          overflow || elements > std::numeric_limits<std::uint64_t>::max() / std::uint64_t(n);
      elements *= std::uint64_t(n);
    }
  if (offsets->kind != Json::kArray || offsets->items.size() != 2 ||
      offsets->items[0].kind != Json::kInteger || offsets->items[1].kind != Json::kInteger ||
      offsets->items[0].integer < 0 || offsets->items[1].integer < offsets->items[0].integer)
    throw InputError(at + "data_offsets must be [begin, end] with 0 <= begin <= end");
  e.begin = std::uint64_t(offsets->items[0].integer);
  e.end = std::uint64_t(offsets->items[1].integer);
  overflow = overflow || elements > std::numeric_limits<std::uint64_t>::max() / e.dtype->bytes;
  if (overflow || elements * e.dtype->bytes != e.end - e.begin)
    throw InputError(
        at + "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] hold " +
        std::to_string(e.end - e.begin) + " bytes, but " + e.dtype->name + " " +
        shape_text(e.shape) + " needs " +
        (overflow ? std::string("more than 2^64") : std::to_string(elements * e.dtype->bytes)));
  return e;
}

} // namespace

Header read_header(const std::filesystem::path& file, std::istream& in) {
  in.seekg(0, std::ios::end);
  const auto size = std::uint64_t(in.tellg());
  in.seekg(0);
  if (size < 8)
    throw InputError(where(file) + "truncated: " + std::to_string(size) +
                     " bytes, fewer than the 8 of the header length");
  unsigned char prefix[8];
  in.read(reinterpret_cast<char*>(prefix), 8);
  std::uint64_t length = 0;
  for (int i = 7; i >= 0; --i)
    length = (length << 8) | prefix[i];
  if (length > kMaxHeader)
    throw InputError(where(file) + "header length " + std::to_string(length) +
                     " is beyond the limit of " + std::to_string(kMaxHeader) +
                     " bytes (not a safetensors file?)");
  if (8 + length > size)
    throw InputError(where(file) + "header length " + std::to_string(length) +
                     " goes beyond the end of the file (" + std::to_string(size) + " bytes)");
  std::string text(length, '\0');
  in.read(text.data(), std::streamsize(length));
  if (!in)
    throw InputError(where(file) + "cannot read the header");

  Header h;
  h.data_start = 8 + length;
  h.data_size = size - h.data_start;
  const Json root = JsonReader(text, file).document();
  if (root.kind != Json::kObject)
    throw InputError(where(file) + "the header must be a JSON object, not " + kind_name(root.kind));
  for (const auto& [name, info] : root.members) {
    if (name == kMetadataKey) {
      if (info.kind != Json::kObject)
        throw InputError(where(file) + "__metadata__ must be an object of strings");
      for (const auto& [k, v] : info.members) {
        if (v.kind != Json::kString)
          throw InputError(where(file) + "__metadata__ '" + k + "' must be a string, not " +
                           kind_name(v.kind));
        h.metadata[k] = v.text;
      }
      continue;
    }
    h.entries.push_back(parse_entry(file, name, info));
    const auto& e = h.entries.back();
    if (e.end > h.data_size)
      throw InputError(where(file) + "tensor '" + name + "': data_offsets [" +
                       std::to_string(e.begin) + ", " + std::to_string(e.end) + "] go beyond the " +
                       std::to_string(h.data_size) + " bytes of data after the header");
  }
  // Gaps between tensors are harmless and accepted; overlaps are not. Empty tensors
  // occupy no bytes and cannot overlap.
  std::vector<const Entry*> by_offset;
  for (const auto& e : h.entries)
    if (e.end > e.begin)
      by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  for (std::size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      throw InputError(
          where(file) + "tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name +
          "' overlap: data_offsets [" + std::to_string(by_offset[i - 1]->begin) + ", " +
          std::to_string(by_offset[i - 1]->end) + "] and [" + std::to_string(by_offset[i]->begin) +
          ", " + std::to_string(by_offset[i]->end) + "]");
  return h;
}

std::string where(const std::filesystem::path& file) {
  return "safetensors file '" + file.string() + "': ";
}

const std::vector<Dtype>& dtypes() {
  static const std::vector<Dtype> list{
      {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8},  {"I64", 8},
      {"I32", 4}, {"I8", 1},  {"U8", 1},   {"BOOL", 1},
  };
  return list;
}

const Dtype* dtype_named(const std::string& name) {
  for (const auto& d : dtypes())
    if (name == d.name)
      return &d;
  return nullptr;
}

std::string supported_dtypes() {
  std::string out;
  for (const auto& d : dtypes())
    out += (out.empty() ? "" : ", ") + std::string(d.name);
  return out;
}

std::string shape_text(const std::vector<std::int64_t>& shape, const char* separator) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    out += (i ? separator : "") + std::to_string(shape[i]);
  return out + "]";
}

} // namespace vfp::models::safetensors
