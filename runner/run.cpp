// `vfp run`: rank 0 coordinates (and works when alone), other ranks work.
#include "commands.h"
#include "coordinator.h"
#include "rank_placement.h"
#include "stored_ids.h"

#include "core/core.h"
#include "dispatch/dispatch.h"
#include "log/log.h"
#include "results/results.h"
#include "sweep/sweep.h"
#include "tasks/tasks.h"

#include <CLI/CLI.hpp>

// The C API only: the deprecated C++ bindings add nothing and warn.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <unistd.h>

namespace vfp::runner {
namespace {

struct World {
  int rank = 0;
  int size = 1;
  int ranks_on_node = 1;
  int local_rank = 0; ///< rank among the node's ranks: picks the GPU
};

/// Rank 0 reads the sweep file and shares its text, so every rank expands the same bytes.
std::string broadcast_text(const std::string& text, int rank) {
  long size = rank == 0 ? static_cast<long>(text.size()) : 0;
  MPI_Bcast(&size, 1, MPI_LONG, 0, MPI_COMM_WORLD);
  std::string out = rank == 0 ? text : std::string(static_cast<size_t>(size), '\0');
  MPI_Bcast(out.data(), static_cast<int>(size), MPI_CHAR, 0, MPI_COMM_WORLD);
  return out;
}

/// "pid 12 on host n07 since 2026-11-29T10:00:00Z (SLURM job 42)" from a run lock's note.
std::string describe_holder(const std::string& note) {
  try {
    const auto h = nlohmann::json::parse(note);
    std::string text = "pid " + std::to_string(h.at("pid").get<long>()) + " on host " +
                       h.at("host").get<std::string>() + " since " +
                       h.at("started").get<std::string>();
    if (h.contains("slurm_job"))
      text += " (SLURM job " + h["slurm_job"].get<std::string>() + ")";
    return text;
  } catch (const std::exception&) { // not written yet, or by another version
    return note.empty() ? "another process" : note;
  }
}

/// Rank 0, before anything is written: takes the sweep's run lock (one `vfp run` of a sweep at
/// a time: two would do every task twice and interleave their rows), then removes what an
/// earlier, killed run left half written in the sweep's folder.
void take_sweep_folder(std::optional<RunLock>& lock, const std::filesystem::path& results_root,
                       const std::string& sweep_name) {
  const auto sweep = results::SweepFolder::of_sweep(results_root, sweep_name, true);
  const auto& dir = sweep.root();
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char started[32];
  std::strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &utc);
  nlohmann::json note = {{"pid", long(::getpid())}, {"host", host_name()}, {"started", started}};
  if (const char* job = std::getenv("SLURM_JOB_ID"); job && *job)
    note["slurm_job"] = job;
  try {
    lock.emplace(sweep.run_lock(), note.dump());
  } catch (const LockHeld& e) {
    const auto holder = describe_holder(e.holder());
    throw Error("sweep '" + sweep_name + "' is already being run by " + holder +
                "; two runs at once would do every task twice. Wait for it to end, or stop it "
                "(SIGTERM, scancel) and run this again: it resumes where it stopped (lock: " +
                e.file().string() + ")");
  }
  if (!lock->unsupported().empty())
    spdlog::warn("cannot lock {} ({}): nothing stops a second run of sweep {} at the same time",
                 sweep.run_lock().string(), lock->unsupported(), sweep_name);
  if (const int removed = remove_stale_temporaries_below(dir))
    spdlog::info("removed {} temporary file(s) that a killed run left half written in {}", removed,
                 dir.string());
}

/// Rank 0, before anything is written: the code versions of the sweep's rows so far. Rows of
/// another version than this build's are a warning (a table mixing the two says so in its
/// footnote), or with --require-same-version an error.
void check_code_versions(const RunArgs& args, const std::string& sweep_name) {
  const auto sweep = results::SweepFolder::of_sweep(args.results_root, sweep_name, false);
  if (!std::filesystem::exists(sweep.results()))
    return;
  const auto message = results::other_versions_message(
      results::code_versions(results::read_rows(sweep)), std::string(version()));
  if (message.empty())
    return;
  if (args.require_same_version)
    throw Error("sweep '" + sweep_name + "' (" + sweep.results().string() + "): " + message +
                ". --require-same-version refuses to add to it: run it with the vfp it was run "
                "with, or into another --results-root");
  spdlog::warn("sweep {} ({}): {}; its table's footnote will name both (--require-same-version "
               "refuses)",
               sweep_name, sweep.results().string(), message);
}

/// MPI_Init, then this rank's place in the world and on its node.
World join_world(int* argc, char*** argv) {
  MPI_Init(argc, argv);
  World world;
  MPI_Comm_rank(MPI_COMM_WORLD, &world.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world.size);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world.rank, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &world.ranks_on_node);
  MPI_Comm_rank(node, &world.local_rank);
  // The launcher's own numbering wins when it gives one (what per-rank GPU binding scripts
  // and CUDA_VISIBLE_DEVICES masks follow); the shared-memory split covers other launchers.
  for (const char* variable : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
    if (const char* value = std::getenv(variable); value && *value) {
      world.local_rank = std::atoi(value);
      break;
    }
  MPI_Comm_free(&node);
  return world;
}

/// Rank 0 validates everything first and takes the sweep's folder; every rank then expands the
/// same text. False (on every rank, rank 0 having printed why) when the sweep is bad.
bool load_on_every_rank(const RunArgs& args, const World& world, std::string& text,
                        sweep::Sweep& sweep, std::optional<RunLock>& run_lock) {
  std::string error;
  nlohmann::json stored_ids = nlohmann::json::object(); // configuration index → id on file
  if (world.rank == 0) {
    try {
      sweep = sweep::load(args.sweep_file, {args.smoke});
      text = read_text_file(args.sweep_file);
      check_code_versions(args, sweep.name);
      take_sweep_folder(run_lock, args.results_root, sweep.name);
      for (const auto& [index, id] : keep_stored_ids(
               sweep, results::SweepFolder::of_sweep(args.results_root, sweep.name, false)))
        stored_ids[std::to_string(index)] = id;
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  error = broadcast_text(error, world.rank);
  if (!error.empty()) {
    if (world.rank == 0)
      std::cerr << "vfp: error: " << error << "\n";
    return false;
  }
  text = broadcast_text(text, world.rank);
  const auto ids_text = broadcast_text(stored_ids.dump(), world.rank);
  if (world.rank != 0) {
    sweep =
        sweep::expand(config::load_yaml_text(text, args.sweep_file), args.sweep_file, {args.smoke});
    std::map<int, std::string> ids; // as rank 0 found them: workers need the same task ids
    const auto parsed = nlohmann::json::parse(ids_text);
    for (const auto& [index, id] : parsed.items())
      ids.emplace(std::stoi(index), id.get<std::string>());
    sweep::use_configuration_ids(sweep, ids);
  }
  return true;
}

/// Where this rank's tasks write and how many threads they use.
tasks::TaskContext task_context(const RunArgs& args, const World& world,
                                const std::string& sweep_name) {
  tasks::TaskContext ctx;
  // Checked (name, symlinks), created and locked on rank 0 above, before any rank writes there.
  ctx.sweep_dir = std::filesystem::path(args.results_root) / sweep_name;
  ctx.cache_dir = args.cache_dir.empty() ? std::filesystem::path(args.results_root) / "cache"
                                         : std::filesystem::path(args.cache_dir);
  ctx.rank = world.rank;
  ctx.local_rank = world.local_rank;
  ctx.world_size = world.size;
  // Rank 0 mostly sleeps when there are workers, so the workers share the node's CPUs.
  ctx.threads = threads_for_rank(world.size > 1 ? std::max(1, world.ranks_on_node - 1) : 1);
  spdlog::info("{}; {} of {} rank(s) on this node, {} thread(s)",
               rank_placement(world.rank, world.size, world.local_rank), world.local_rank + 1,
               world.ranks_on_node, ctx.threads);
  return ctx;
}

} // namespace

int threads_for_rank(int ranks_on_node) {
  const int mine = cpus_in_affinity();
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  // Unbound ranks all see every CPU: share them. Bound ranks own what they see.
  if (online > 0 && mine >= online && ranks_on_node > 1)
    return std::max(1, mine / ranks_on_node);
  return mine;
}

int run_command(const RunArgs& args, int* argc, char*** argv) {
  const World world = join_world(argc, argv);
  log::setup(world.rank, args.log_level);
  // After MPI_Init, which may install handlers of its own: a scheduler's SIGTERM or SIGUSR1
  // (preemption, time limit) stops the sweep at a resumable point instead of killing it.
  install_stop_handlers();

  std::string text;
  sweep::Sweep sweep;
  std::optional<RunLock> run_lock; // rank 0, until the end
  if (!load_on_every_rank(args, world, text, sweep, run_lock)) {
    MPI_Finalize();
    return 1;
  }
  const auto ctx = task_context(args, world, sweep.name);
  int code = 0;
  try {
    if (world.rank == 0) {
      write_file_atomically(results::SweepFolder(ctx.sweep_dir).sweep_file(), text);
      std::vector<std::string> ids;
      for (const auto& c : sweep.configurations)
        ids.push_back(c.id);
      results::save_current_configurations(ctx.sweep_dir, ids);
      code = coordinate_sweep(sweep, args, ctx, world.size, *run_lock);
    } else {
      require_gpu_in_gpu_job(sweep, world.rank);
      dispatch::work([&](const nlohmann::json& a, const dispatch::Heartbeat& beat) {
        return execute(sweep, a, ctx, beat);
      });
    }
  } catch (const Error& e) {
    std::cerr << "vfp: error: " << e.what() << "\n";
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return code;
}

void add_run_command(CLI::App& app, Commands& commands, const Invocation& invocation) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Run a sweep: alone, or under mpirun/srun (rank 0 "
                                        "coordinates, the other ranks work)");
  cmd->add_option("sweep", args->sweep_file, "sweep YAML")->required();
  add_results_options(*cmd, args->results_root, args->cache_dir);
  cmd->add_flag("--resume,!--no-resume", args->resume,
                "skip tasks that already have a result row (default on)");
  cmd->add_option("--retries", args->retries, "retries of a failed task")->capture_default_str();
  cmd->add_flag("--smoke", args->smoke,
                "a tiny run with the file's smoke: values, into <results-root>/<name>-smoke");
  cmd->add_flag("--require-same-version", args->require_same_version,
                "refuse to resume a sweep whose rows come from another vfp version (by default "
                "a warning, and the table's footnote names the versions)");
  // Per-rank logging is set up once MPI says which rank this is.
  commands.push_back({cmd,
                      [args, &invocation] {
                        args->log_level = invocation.log_level;
                        return run_command(*args, invocation.argc, invocation.argv);
                      },
                      true});
}

} // namespace vfp::runner
