// `vfp run`'s two sides of a job: rank 0 coordinates the sweep's job graph, every rank runs
// the jobs it is given.
#pragma once

#include "commands.h"
#include "dispatch/dispatch.h"
#include "tasks/tasks.h"

namespace vfp {
class RunLock; // core/core.h
} // namespace vfp

namespace vfp::runner {

/// Runs one job on this rank; never throws (a failure becomes a reason).
nlohmann::json execute(const sweep::Sweep& sweep, const nlohmann::json& assignment,
                       tasks::TaskContext ctx, const dispatch::Heartbeat& beat);

/// Rank 0: plans the sweep's jobs, runs them over `world_size` ranks and keeps results.jsonl,
/// status.json and the table up to date. `lock`: the sweep's run lock, held (so the store may
/// cut a torn last row). Returns the exit code: 0, 1 when a job failed, kExitInterrupted.
int coordinate_sweep(const sweep::Sweep& sweep, const RunArgs& args, const tasks::TaskContext& ctx,
                     int world_size, const RunLock& lock);

} // namespace vfp::runner
