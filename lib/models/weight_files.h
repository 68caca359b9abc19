// Private to lib/models: the readers of weight files, which read_weights (weights.cpp) picks
// between by the file's first bytes, and what they share.
#pragma once

#include "models/models.h"

#include <exception>
#include <filesystem>
#include <functional>
#include <string>

namespace vfp::models::detail {

/// Which tensors of a file to read, by the file's key; the others come back as meta tensors.
using Wanted = std::function<bool(const std::string& key)>;

/// In safetensors.cpp: every tensor of a safetensors file, floating point ones as float32;
/// those not `wanted` as meta tensors of that shape and dtype, their bytes not read.
StateDict read_safetensors(const std::filesystem::path& file, const Wanted& wanted);

/// In torch_archive.cpp: the state dict of torch.save's zip archive (the file's root dict,
/// or the one a checkpoint keeps under "state_dict", "model" or "module"), read as
/// read_safetensors reads.
StateDict read_torch_archive(const std::filesystem::path& file, const Wanted& wanted);

/// In weights.cpp: read_weights, reading only the `wanted` tensors (by the file's keys); the
/// others come back as meta tensors of the shape and dtype read_weights would give, their
/// bytes not read. The header (or pickle) is checked in full either way.
StateDict read_weights(const std::filesystem::path& file, const Wanted& wanted);

/// In weights.cpp: load_state's checks without the copy: throws the InputError a strict load
/// would. Only shapes are looked at, so `state` may hold meta tensors (unread ones).
void check_state(const torch::nn::Module& model, const StateDict& state, LoadMode mode,
                 const std::string& source);

/// "weight file '<file>': ", the start of read_weights' own messages.
std::string weight_file_prefix(const std::filesystem::path& file);

/// Whether this machine stores integers little-endian, as both formats do.
bool little_endian_host();

/// The first line of a LibTorch error, without its C++ backtrace.
std::string first_line(const std::exception& e);

} // namespace vfp::models::detail
