// Where a rank of `vfp run` runs (host, CPUs, GPU), logged at start so that a job's log shows
// every rank's place, and the check that a GPU job's worker has its GPU.
#pragma once

#include "sweep/sweep.h"

#include <string>

namespace vfp::runner {

/// "rank 3 of 9 on gpu017 (local rank 2): CPUs 16-23, CUDA_VISIBLE_DEVICES=2, 1 CUDA device:
/// [0] NVIDIA H200 0000:1B:00.0 GPU-…", or "…, no CUDA device (LibTorch …)".
std::string rank_placement(int rank, int world_size, int local_rank);

/// A worker of a GPU job (VFP_GPU_JOB=1, set by the Slurm script) that sees no CUDA device:
/// vfp::Error naming its rank, host and CUDA_VISIBLE_DEVICES, rather than training on CPU.
/// Passes when every configuration of the sweep says train.device: cpu.
void require_gpu_in_gpu_job(const sweep::Sweep& sweep, int rank);

/// The CPUs of this process's affinity as ranges, e.g. "0-3,8".
std::string affinity_text();

} // namespace vfp::runner
