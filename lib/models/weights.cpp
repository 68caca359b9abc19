// State dicts: a model's named tensors, weight files recognised by content (safetensors or
// torch.save's zip archive, weight_files.h), and loading a state dict into a model, strictly
// or not.
#include "models/models.h"

#include "core/core.h"
#include "models/safetensors_header.h"
#include "models/weight_files.h"

#include <cstring>
#include <fstream>

namespace vfp::models {
namespace detail {

std::string weight_file_prefix(const std::filesystem::path& file) {
  return "weight file '" + file.string() + "': ";
}

bool little_endian_host() {
  const std::uint16_t probe = 1;
  unsigned char first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

std::string first_line(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  std::string what = c10 ? c10->what_without_backtrace() : e.what();
  const auto end = what.find('\n');
  return end == std::string::npos ? what : what.substr(0, end);
}

} // namespace detail

namespace {

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& s : items)
    out += (out.empty() ? "" : separator) + s;
  return out;
}

} // namespace

StateDict state_of(const torch::nn::Module& model) {
  StateDict state;
  for (const auto& p : model.named_parameters(/*recurse=*/true))
    state.insert(p.key(), p.value());
  for (const auto& b : model.named_buffers(/*recurse=*/true))
    state.insert(b.key(), b.value());
  return state;
}

namespace detail {

StateDict read_weights(const std::filesystem::path& file, const Wanted& wanted) {
  require_regular_file(file, "weight file");
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw InputError(weight_file_prefix(file) +
                     (std::filesystem::exists(file) ? "cannot be opened" : "does not exist"));
  char magic[4] = {0, 0, 0, 0};
  in.read(magic, 4);
  const auto got = in.gcount();
  in.close();
  if (got == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == '\x03' && magic[3] == '\x04')
    return read_torch_archive(file, wanted);
  // torch.save before PyTorch 1.6 (or with _use_new_zipfile_serialization=False) writes a
  // bare pickle stream starting with its magic number (PROTO 2, LONG1 of 10 bytes), which
  // is not supported. (A safetensors header length never starts so: it would be ~177 MB.)
  if (got == 4 && magic[0] == '\x80' && magic[1] == '\x02' && magic[2] == '\x8a' &&
      magic[3] == '\x0a')
    throw InputError(weight_file_prefix(file) +
                     "is in PyTorch's legacy (pre-1.6) format; re-save it with torch.save in "
                     "PyTorch >= 1.6 or convert it to safetensors");
  return read_safetensors(file, wanted);
}

} // namespace detail

StateDict read_weights(const std::filesystem::path& file) {
  return detail::read_weights(file, [](const std::string&) { return true; });
}

std::string LoadReport::describe() const {
  if (complete())
    return "all " + std::to_string(loaded) + " tensors loaded";
  std::vector<std::string> parts{std::to_string(loaded) + " loaded"};
  if (!missing.empty())
    parts.push_back(std::to_string(missing.size()) +
                    " missing (in the model, not in the file): " + join(missing, ", "));
  if (!unexpected.empty())
    parts.push_back(std::to_string(unexpected.size()) +
                    " unexpected (in the file, not in the model): " + join(unexpected, ", "));
  if (!mismatched.empty())
    parts.push_back(std::to_string(mismatched.size()) +
                    " with a different shape: " + join(mismatched, "; "));
  return join(parts, "; ");
}

namespace {

bool is_old_batch_norm_counter(const std::string& key, const StateDict& state) {
  const std::string suffix = "num_batches_tracked";
  if (key.size() < suffix.size() || key.compare(key.size() - suffix.size(), suffix.size(), suffix))
    return false;
  return state.contains(key.substr(0, key.size() - suffix.size()) + "running_mean");
}

using Copies = std::vector<std::pair<torch::Tensor, torch::Tensor>>; // (model's, file's)

/// What loading `state` into a model holding `own` finds, and the copies it would make.
LoadReport plan_load(const StateDict& own, const StateDict& state, Copies& copies) {
  LoadReport report;
  for (const auto& item : own) {
    const torch::Tensor* theirs = state.find(item.key());
    if (!theirs && is_old_batch_norm_counter(item.key(), state)) {
      report.defaulted.push_back(item.key());
    } else if (!theirs) {
      report.missing.push_back(item.key());
    } else if (!theirs->defined() || theirs->sizes() != item.value().sizes()) {
      report.mismatched.push_back(
          item.key() + ": file " +
          (theirs->defined() ? safetensors::shape_text(theirs->sizes().vec()) : "undefined") +
          " vs model " + safetensors::shape_text(item.value().sizes().vec()));
    } else {
      copies.emplace_back(item.value(), *theirs);
    }
  }
  for (const auto& item : state)
    if (!own.contains(item.key()))
      report.unexpected.push_back(item.key());
  return report;
}

void refuse_if_incomplete(const LoadReport& report, LoadMode mode, const std::string& source) {
  if (mode == LoadMode::kStrict && !report.complete())
    throw InputError(source +
                     ": the weights do not match the model, nothing loaded: " + report.describe());
}

} // namespace

namespace detail {

void check_state(const torch::nn::Module& model, const StateDict& state, LoadMode mode,
                 const std::string& source) {
  Copies copies;
  refuse_if_incomplete(plan_load(state_of(model), state, copies), mode, source);
}

} // namespace detail

LoadReport load_state(torch::nn::Module& model, const StateDict& state, LoadMode mode,
                      const std::string& source) {
  const StateDict own = state_of(model);
  Copies copies;
  auto report = plan_load(own, state, copies);
  refuse_if_incomplete(report, mode, source);
  torch::NoGradGuard no_grad;
  for (auto& [ours, theirs] : copies)
    ours.copy_(theirs);
  for (const auto& key : report.defaulted)
    own[key].zero_();
  report.loaded = copies.size();
  return report;
}

} // namespace vfp::models
