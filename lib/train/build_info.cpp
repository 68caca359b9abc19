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

/// What the CUDA driver (libcuda, loaded by any CUDA LibTorch) says of a device: name, PCI bus
/// id and UUID. Its API is stable across CUDA versions, unlike the runtime's device-properties
/// struct, and LibTorch's CPU headers offer no way to it. Ordinals follow
/// CUDA_VISIBLE_DEVICES as LibTorch's do.
void describe_from_driver(int index, CudaDevice& out) {
  void* driver = ::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
  if (!driver)
    driver = ::dlopen("libcuda.so.1", RTLD_LAZY);
  if (!driver)
    return;
  using Init = int (*)(unsigned);
  using Get = int (*)(int*, int);
  using Text = int (*)(char*, int, int);
  using Uuid = int (*)(unsigned char*, int); // CUuuid is 16 bytes
  const auto init = reinterpret_cast<Init>(::dlsym(driver, "cuInit"));
  const auto get = reinterpret_cast<Get>(::dlsym(driver, "cuDeviceGet"));
  const auto name = reinterpret_cast<Text>(::dlsym(driver, "cuDeviceGetName"));
  const auto bus = reinterpret_cast<Text>(::dlsym(driver, "cuDeviceGetPCIBusId"));
  const auto uuid = reinterpret_cast<Uuid>(::dlsym(driver, "cuDeviceGetUuid"));
  int device = 0;
  if (init && get && init(0) == 0 && get(&device, index) == 0) {
    char text[256] = {};
    if (name && name(text, int(sizeof text) - 1, device) == 0)
      out.name = text;
    char id[64] = {};
    if (bus && bus(id, int(sizeof id) - 1, device) == 0)
      out.bus_id = id;
    unsigned char bytes[16] = {};
    if (uuid && uuid(bytes, device) == 0) { // as nvidia-smi writes it: GPU-8-4-4-4-12 hex
      static const char* hex = "0123456789abcdef";
      out.uuid = "GPU-";
      for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
          out.uuid += '-';
        out.uuid += hex[bytes[i] >> 4];
        out.uuid += hex[bytes[i] & 15];
      }
    }
  }
  ::dlclose(driver);
}

} // namespace

std::string libtorch_version() {
  return TORCH_VERSION;
}

std::string libtorch_build() {
  const auto& hooks = at::detail::getCUDAHooks();
  const std::string torch = "LibTorch " + libtorch_version();
  if (!hooks.hasCUDART())
    return torch + ", CPU only: no CUDA compiled in";
  return torch + ", CUDA " + cuda_runtime_text(hooks.versionCUDART()) + " compiled in";
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
  describe_from_driver(index, out);
  return out;
}

std::vector<CudaDevice> visible_cuda_devices() {
  std::vector<CudaDevice> out;
  if (!torch::cuda::is_available())
    return out;
  for (std::size_t i = 0; i < static_cast<std::size_t>(torch::cuda::device_count()); ++i)
    out.push_back(describe_cuda_device("cuda:" + std::to_string(i)));
  return out;
}

} // namespace vfp::train
