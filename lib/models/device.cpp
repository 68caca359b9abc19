#include "models/models.h"

#include "core/core.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

namespace vfp::models {
namespace {

// LibTorch 2.4 moved autocast to per-device-type calls (the old ones are deprecated).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool cuda_autocast_enabled() {
  return at::autocast::is_autocast_enabled(at::kCUDA);
}
void set_cuda_autocast(bool on) {
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, on);
}
#else
bool cuda_autocast_enabled() {
  return at::autocast::is_enabled();
}
void set_cuda_autocast(bool on) {
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_enabled(on);
}
#endif

} // namespace

std::vector<torch::Tensor> cuda_rng_states() {
  std::vector<torch::Tensor> states;
  if (!torch::cuda::is_available())
    return states;
  const auto count = static_cast<std::size_t>(torch::cuda::device_count());
  for (std::size_t i = 0; i < count; ++i) {
    auto generator = at::globalContext().defaultGenerator(
        c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
    std::lock_guard<std::mutex> lock(generator.mutex());
    states.push_back(generator.get_state());
  }
  return states;
}

void set_cuda_rng_states(const std::vector<torch::Tensor>& states) {
  if (states.empty() || !torch::cuda::is_available())
    return;
  const auto count = std::min(states.size(), static_cast<std::size_t>(torch::cuda::device_count()));
  for (std::size_t i = 0; i < count; ++i) {
    auto generator = at::globalContext().defaultGenerator(
        c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(states[i].cpu());
  }
}

void use_deterministic_algorithms(bool on) {
  // cuBLAS reads it when its first handle is made; torch refuses deterministic matmuls on
  // CUDA without it.
  if (on)
    ::setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  auto& context = at::globalContext();
  context.setDeterministicCuDNN(on);
  context.setBenchmarkCuDNN(!on);
  context.setDeterministicAlgorithms(on, /*warn_only=*/false);
}

void write_cuda_rng(torch::serialize::OutputArchive& archive) {
  const auto states = models::cuda_rng_states();
  archive.write("rng.cuda.devices", torch::tensor(std::int64_t(states.size())), true);
  for (std::size_t i = 0; i < states.size(); ++i)
    archive.write("rng.cuda." + std::to_string(i), states[i], true);
}

void read_cuda_rng(torch::serialize::InputArchive& archive) {
  torch::Tensor devices;
  if (!archive.try_read("rng.cuda.devices", devices, /*is_buffer=*/true))
    return; // a checkpoint of an older vfp: CPU generator only
  std::vector<torch::Tensor> states(std::size_t(devices.item<std::int64_t>()));
  for (std::size_t i = 0; i < states.size(); ++i)
    archive.read("rng.cuda." + std::to_string(i), states[i], /*is_buffer=*/true);
  models::set_cuda_rng_states(states);
}

torch::Device pick_device(const std::string& device, int local_rank, const std::string& key) {
  if (device == "cpu")
    return torch::kCPU;
  if (device != "auto" && device != "cuda")
    throw InputError("unknown " + key + " '" + device + "' (auto, cpu or cuda)");
  const bool cuda = torch::cuda::is_available();
  if (!cuda && device == "cuda")
    throw TaskError(key + " is cuda but no CUDA device is visible to this process (is "
                          "LibTorch built with CUDA, and CUDA_VISIBLE_DEVICES set?)");
  if (!cuda)
    return torch::kCPU;
  const auto count = static_cast<int>(torch::cuda::device_count());
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(std::max(0, local_rank) % count)};
}

Autocast::Autocast(const torch::Device& device, bool amp) : on_(amp && device.is_cuda()) {
  if (!on_)
    return;
  was_enabled_ = cuda_autocast_enabled();
  set_cuda_autocast(true);
}

Autocast::~Autocast() {
  if (!on_)
    return;
  set_cuda_autocast(was_enabled_);
  at::autocast::clear_cache(); // cast weights are cached per region
}

} // namespace vfp::models
