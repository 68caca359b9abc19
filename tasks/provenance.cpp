// Every row names where and with what it was made: the build's version, LibTorch, the device
// (and its CUDA stack), host, MPI world and Slurm job, and when it ran.
#include "tasks/tasks.h"

#include "core/core.h"
#include "train/train.h"

#include <cstdlib>
#include <ctime>

namespace vfp::tasks {
namespace {

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

} // namespace

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

results::Provenance process_provenance(const TaskContext& ctx) {
  results::Provenance p;
  p.version = std::string(version());
  p.libtorch = train::libtorch_version();
  p.host = host_name();
  p.world_size = ctx.world_size;
  p.slurm_job_id = environment("SLURM_JOB_ID");
  p.slurm_array_job_id = environment("SLURM_ARRAY_JOB_ID");
  p.slurm_array_task_id = environment("SLURM_ARRAY_TASK_ID");
  if (const auto restarts = environment("SLURM_RESTART_COUNT"); !restarts.empty())
    p.slurm_restart_count = std::atoi(restarts.c_str());
  return p;
}

nlohmann::json with_provenance(nlohmann::json row, const TaskContext& ctx,
                               const std::string& started) {
  if (!row.is_object())
    return row;
  auto p = process_provenance(ctx);
  if (const auto set = row.find("provenance"); set != row.end() && set->is_object())
    p.device = set->value("device", "");
  if (p.device.rfind("cuda", 0) == 0) {
    const auto gpu = train::describe_cuda_device(p.device);
    p.device_name = gpu.name;
    p.cuda = gpu.cuda;
    p.cudnn = gpu.cudnn;
  }
  p.started = started;
  p.ended = utc_now();
  row["provenance"] = results::to_json(p);
  return row;
}

} // namespace vfp::tasks
