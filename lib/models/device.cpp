#include "models/models.h"

#include "core/core.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

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
