#include "rank_placement.h"

#include "core/core.h"
#include "train/train.h"

#include <sched.h>

#include <algorithm>
#include <cstdlib>

namespace vfp::runner {
namespace {

std::string visible_devices_variable() {
  const char* v = std::getenv("CUDA_VISIBLE_DEVICES");
  return v ? "CUDA_VISIBLE_DEVICES=" + std::string(v) : "CUDA_VISIBLE_DEVICES unset";
}

} // namespace

std::string affinity_text() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0)
    return "?";
  std::string out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set))
      continue;
    int last = cpu;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set))
      ++last;
    out += (out.empty() ? "" : ",") + std::to_string(cpu) +
           (last > cpu ? "-" + std::to_string(last) : "");
    cpu = last;
  }
  return out;
}

std::string rank_placement(int rank, int world_size, int local_rank) {
  std::string text = "rank " + std::to_string(rank) + " of " + std::to_string(world_size) + " on " +
                     host_name() + " (local rank " + std::to_string(local_rank) + "): CPUs " +
                     affinity_text() + ", " + visible_devices_variable() + ", ";
  const auto devices = train::visible_cuda_devices();
  if (devices.empty())
    return text + "no CUDA device (LibTorch " + train::libtorch_version() + ")";
  text += std::to_string(devices.size()) + " CUDA device" + (devices.size() == 1 ? "" : "s") + ":";
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const auto& d = devices[i];
    text += " [" + std::to_string(i) + "] " + (d.name.empty() ? "?" : d.name);
    if (!d.bus_id.empty())
      text += " " + d.bus_id;
    if (!d.uuid.empty())
      text += " " + d.uuid;
  }
  return text;
}

void require_gpu_in_gpu_job(const sweep::Sweep& sweep, int rank) {
  const char* job = std::getenv("VFP_GPU_JOB");
  if (rank == 0 || !job || std::string(job) != "1")
    return;
  const bool cpu_only =
      std::all_of(sweep.configurations.begin(), sweep.configurations.end(),
                  [](const sweep::Configuration& c) { return c.config.train.device == "cpu"; });
  if (cpu_only || !train::visible_cuda_devices().empty())
    return;
  throw Error("rank " + std::to_string(rank) + " on " + host_name() +
              " is a worker of a GPU job but sees no CUDA device (" + visible_devices_variable() +
              ", LibTorch " + train::libtorch_version() +
              "): stopping the job rather than training on CPU. Check the job's GPU request "
              "(--gpus-per-node), the node's driver, and that vfp was built against a CUDA "
              "LibTorch");
}

} // namespace vfp::runner
