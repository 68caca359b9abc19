// vfp::dispatch — a dependency graph of jobs and the MPI loop that runs it: rank 0
// coordinates (dynamic dispatch of ready jobs to idle ranks, largest estimated job first,
// retries, heartbeats, progress and ETA) and works itself when alone; every other rank asks
// for work, runs it and reports. What a job does is the caller's: the loop only moves JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <queue>
#include <string>
#include <vector>

namespace vfp::dispatch {

/// One unit of work.
struct Job {
  std::string kind;            ///< e.g. preprocess, train_eval; for logs and status
  std::string id;              ///< stable id (a hash of its inputs)
  nlohmann::json assignment;   ///< what the executor receives
  std::vector<int> depends_on; ///< job indices that must be done first
  double estimate_seconds = 0; ///< 0: unknown (the mean known estimate of its kind is used)
  bool on_coordinator = false; ///< cheap bookkeeping run by rank 0 itself (e.g. a table)
};

enum class State { kWaiting, kRunning, kDone, kFailed };

/// The jobs, their states and the dispatch policy. No MPI: tests and benchmarks drive it.
class Graph {
public:
  using Clock = std::chrono::steady_clock;

  /// Adds a job; returns its index. Dependencies must already be in the graph.
  int add(Job job);
  /// Marks a job done before the run (its result is on file).
  void mark_done(int job);

  std::size_t size() const { return jobs_.size(); }
  const Job& job(int j) const { return jobs_.at(std::size_t(j)).job; }
  State state(int j) const { return jobs_.at(std::size_t(j)).state; }
  int attempts(int j) const { return jobs_.at(std::size_t(j)).attempts; }
  int rank_of(int j) const { return jobs_.at(std::size_t(j)).rank; }
  const std::string& reason(int j) const { return jobs_.at(std::size_t(j)).reason; }
  /// Indices of the jobs depending on `j`.
  const std::vector<int>& dependents(int j) const { return jobs_.at(std::size_t(j)).dependents; }

  /// A waiting worker job (not on_coordinator) whose dependencies are done, or −1: the one
  /// with the largest estimate (so that the longest jobs do not start last and leave ranks
  /// idle at the end), then the one that unblocks most jobs, then the first added.
  /// O(log n): ready jobs wait in a heap.
  int next_ready();
  /// A waiting on_coordinator job whose dependencies are done, or −1 (first added first).
  int next_ready_on_coordinator();
  /// True while a job waits or runs.
  bool unfinished() const;

  void start(int j, int rank);
  /// A job's latest heartbeat (e.g. {"epoch": 3, "of": 20}).
  void heartbeat(int j, const nlohmann::json& progress);
  /// Records the outcome. A failed job waits again while its attempts ≤ `retries`; else it and
  /// every job depending on it (transitively) fail. Returns the jobs that failed for good.
  std::vector<int> finish(int j, bool ok, const std::string& reason, int retries);
  /// A running job stopped by a stop request: it waits again, its attempt not counted.
  void interrupt(int j);
  /// Sets (or refines from a finished sibling) a job's estimate.
  void set_estimate(int j, double seconds);

  struct Counts {
    int waiting = 0, running = 0, done = 0, failed = 0;
  };
  Counts counts() const;
  /// Seconds until every job is finished with `workers` ranks working, from the estimates
  /// (the mean estimate of its kind for an unknown one, less the time a running job has
  /// already run); negative when nothing is known.
  double eta_seconds(int workers) const;
  /// For status.json: the running jobs with rank, kind, id, seconds running, last heartbeat.
  nlohmann::json running() const;

private:
  struct Entry {
    Job job;
    State state = State::kWaiting;
    int attempts = 0;
    int rank = -1;
    std::string reason;
    std::vector<int> dependents;
    Clock::time_point started{};
    Clock::time_point last_heartbeat{};
    nlohmann::json progress;
  };
  /// A ready job in the heap, with the estimate it had when it was pushed (a changed
  /// estimate pushes it again; the stale entry is skipped).
  struct Ready {
    double estimate;
    std::size_t unblocks;
    int index;
    bool operator<(const Ready& o) const {
      if (estimate != o.estimate)
        return estimate < o.estimate;
      if (unblocks != o.unblocks)
        return unblocks < o.unblocks;
      return index > o.index;
    }
  };
  void push_if_ready(int j);
  void mark_finished_ok(int j);
  std::vector<Entry> jobs_;
  std::vector<int> unmet_;   ///< per job: dependencies not done yet
  std::size_t finished_ = 0; ///< jobs done or failed
  std::priority_queue<Ready> ready_;
  std::deque<int> ready_on_coordinator_;
};

/// Called by a running job to report progress; sent to rank 0 as a heartbeat.
using Heartbeat = std::function<void(const nlohmann::json& progress)>;

/// Runs one assignment on this rank; returns {"ok": true, ...} or {"ok": false, "reason": …},
/// or {"ok": false, "interrupted": true, …} when a stop request cut it short (it will run
/// again in the next run). Must not throw.
using Executor = std::function<nlohmann::json(const nlohmann::json& assignment, const Heartbeat&)>;

struct CoordinatorHooks {
  /// A worker's first message: {"pid": …, "host": …}, e.g. for status.json.
  std::function<void(int rank, const nlohmann::json& hello)> joined;
  /// When a job starts on a rank (rank 0 for its own).
  std::function<void(int job, int rank)> started;
  /// After every outcome, on rank 0: the job, its result, and whether it failed for good.
  std::function<void(int job, const nlohmann::json& result, bool retrying)> finished;
  /// Jobs that failed because a job they depend on failed (never run).
  std::function<void(int job)> cancelled;
  /// After every event (start, heartbeat, outcome): e.g. rewrite status.json.
  std::function<void()> changed;
  /// About twice a second while rank 0 waits for messages: e.g. flush a throttled status.
  std::function<void()> idle;
};

enum class Ending {
  kFinished,    ///< every job done or failed for good
  kInterrupted, ///< a stop request (core::stop_signal) ended the run; jobs still wait
};

/// Rank 0: runs `graph` over the ranks of MPI_COMM_WORLD (working itself when alone), then
/// stops the workers. Jobs marked on_coordinator run on rank 0 between messages.
/// On a stop request (a signal to this rank, see core::install_stop_handlers) no job starts
/// any more; running jobs are told to stop (workers that got no signal of their own learn it
/// at their next heartbeat), their outcomes are recorded as they arrive (finished ones count,
/// interrupted ones wait again), and then every worker is stopped.
Ending coordinate(Graph& graph, const Executor& execute, int retries,
                  const CoordinatorHooks& hooks);

/// Every other rank: asks rank 0 for work until told to stop.
void work(const Executor& execute);

/// "2 h 05 min", "3 min 20 s", "45 s".
std::string format_duration(double seconds);

} // namespace vfp::dispatch
