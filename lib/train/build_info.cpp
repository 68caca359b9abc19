// What the rows' provenance records of LibTorch and the GPU: a torch TU, so that tasks and the
// runner get plain strings and never include torch headers.
#include "train/train.h"

#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <dlfcn.h>

#include <cstdlib>
#include <string>

namespace vfp::train {
namespace {

/// "12.1" from CUDART_VERSION (major * 1000 + minor * 10).
std::string cuda_runtime_text(long v) {
  return v > 0 ? std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10) : "";
}

/// "8.9.2" from CUDNN_VERSION: major * 1000 + minor * 100 + patch up to cuDNN 8, major * 10000 +
/// minor * 100 + patch from cuDNN 9.
std::string cudnn_text(long v) {
  if (v <= 0)
    return "";
  const long major = v >= 90000 ? v / 10000 : v / 1000;
  const long minor = v >= 90000 ? (v % 10000) / 100 : (v % 1000) / 100;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(v % 100);
}

/// The GPU's name from the CUDA driver (libcuda, loaded by any CUDA LibTorch): its API is
/// stable across CUDA versions, unlike the runtime's device-properties struct, and LibTorch's
/// CPU headers offer no way to it. Ordinals follow CUDA_VISIBLE_DEVICES as LibTorch's do.
std::string driver_device_name(int index) {
  void* driver = ::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
  if (!driver)
    driver = ::dlopen("libcuda.so.1", RTLD_LAZY);
  if (!driver)
    return "";
  using Init = int (*)(unsigned);
  using Get = int (*)(int*, int);
  using Name = int (*)(char*, int, int);
  const auto init = reinterpret_cast<Init>(::dlsym(driver, "cuInit"));
  const auto get = reinterpret_cast<Get>(::dlsym(driver, "cuDeviceGet"));
  const auto name = reinterpret_cast<Name>(::dlsym(driver, "cuDeviceGetName"));
  std::string out;
  int device = 0;
  char text[256] = {};
  if (init && get && name && init(0) == 0 && get(&device, index) == 0 &&
      name(text, int(sizeof text) - 1, device) == 0)
    out = text;
  ::dlclose(driver);
  return out;
}

} // namespace

std::string libtorch_version() {
  return TORCH_VERSION;
}

CudaDevice describe_cuda_device(const std::string& device) {
  CudaDevice out;
  const std::string prefix = "cuda";
  if (device.compare(0, prefix.size(), prefix) != 0 || !torch::cuda::is_available())
    return out;
  const auto colon = device.find(':');
  const int index = colon == std::string::npos ? 0 : std::atoi(device.c_str() + colon + 1);
  const auto& hooks = at::detail::getCUDAHooks();
  out.cuda = cuda_runtime_text(hooks.versionCUDART());
  if (hooks.hasCuDNN())
    out.cudnn = cudnn_text(hooks.versionCuDNN());
  out.name = driver_device_name(index);
  return out;
}

} // namespace vfp::train
