// The MPI loop over a Graph: rank 0 hands ready jobs to idle ranks, the others work.
#include "dispatch/dispatch.h"
#include "dispatch/protocol.h"

#include "core/core.h"

#include <cstdlib>
#include <deque>
#include <map>

#include <unistd.h>

namespace vfp::dispatch {
namespace {

/// At most one heartbeat per second leaves a rank, however often a job reports.
class RateLimited {
public:
  bool due() {
    const auto now = Graph::Clock::now();
    if (sent_ && now - last_ < std::chrono::seconds(1))
      return false;
    sent_ = true;
    last_ = now;
    return true;
  }

private:
  bool sent_ = false;
  Graph::Clock::time_point last_{};
};

class Loop {
public:
  Loop(Graph& graph, const Executor& execute, int retries, const CoordinatorHooks& hooks)
      : graph_(graph), execute_(execute), retries_(retries), hooks_(hooks) {
    MPI_Comm_size(MPI_COMM_WORLD, &world_size_);
  }

  Ending run() {
    const int workers = world_size_ - 1;
    std::deque<int> idle;
    std::map<int, int> running_on; // rank → job
    int stopped = 0;
    bool stopping = false;
    for (;;) {
      if (!stopping && stop_signal() != 0) {
        stopping = true;
        for (const auto& [w, j] : running_on)
          send_text(std::to_string(stop_signal()), w, kInterrupt);
      }
      run_coordinator_jobs(); // cheap bookkeeping: also while stopping (tables of what is done)
      for (int j; !stopping && !idle.empty() && (j = graph_.next_ready()) >= 0;) {
        const int w = idle.front();
        idle.pop_front();
        graph_.start(j, w);
        if (hooks_.started)
          hooks_.started(j, w);
        running_on[w] = j;
        send_text(graph_.job(j).assignment.dump(), w, kAssign);
        fault_point("dispatch.assigned"); // test-only (docs/hardening.md): sent, no result yet
        changed();
      }
      if (stopping || !graph_.unfinished()) {
        for (; !idle.empty(); idle.pop_front(), ++stopped)
          send_text("", idle.front(), kStop);
        if (stopped == workers)
          return stopping ? Ending::kInterrupted : Ending::kFinished;
      }
      if (workers == 0) { // alone: rank 0 works
        const int j = graph_.next_ready();
        if (j < 0)
          return Ending::kFinished;
        run_here(j);
        continue;
      }
      if (!stopping && running_on.empty() && int(idle.size()) == workers && graph_.unfinished())
        throw Error("dispatch: jobs wait but none can start (a dependency cycle?)");
      MPI_Status status;
      const auto idle_tick = [this] {
        if (hooks_.idle)
          hooks_.idle();
      };
      if (!wait_for_message(status, MPI_ANY_SOURCE, idle_tick,
                            [&] { return !stopping && stop_signal() != 0; }))
        continue; // a stop request: tell the running jobs
      const auto text = receive_text(status);
      const int w = status.MPI_SOURCE;
      if (status.MPI_TAG == kHeartbeat) {
        if (running_on.count(w))
          graph_.heartbeat(running_on[w], nlohmann::json::parse(text));
        changed();
        continue;
      }
      if (status.MPI_TAG == kReady && !text.empty() && hooks_.joined)
        hooks_.joined(w, nlohmann::json::parse(text));
      if (status.MPI_TAG == kResult) {
        const int j = running_on.at(w);
        running_on.erase(w);
        record(j, nlohmann::json::parse(text));
      }
      idle.push_back(w);
    }
  }

private:
  void run_coordinator_jobs() {
    for (int j; (j = graph_.next_ready_on_coordinator()) >= 0;)
      run_here(j);
  }

  void run_here(int j) {
    graph_.start(j, 0);
    if (hooks_.started)
      hooks_.started(j, 0);
    changed();
    RateLimited limit;
    const Heartbeat beat = [&](const nlohmann::json& progress) {
      if (limit.due()) {
        graph_.heartbeat(j, progress);
        changed();
      }
    };
    record(j, execute_(graph_.job(j).assignment, beat));
  }

  void record(int j, const nlohmann::json& result) {
    if (result.value("interrupted", false)) {
      graph_.interrupt(j);
      changed();
      return;
    }
    const bool ok = result.value("ok", false);
    const auto failed =
        graph_.finish(j, ok, ok ? "" : result.value("reason", "no reason given"), retries_);
    const bool retrying = !ok && failed.empty();
    if (hooks_.finished)
      hooks_.finished(j, result, retrying);
    for (int f : failed)
      if (f != j && hooks_.cancelled)
        hooks_.cancelled(f);
    changed();
  }

  void changed() {
    if (hooks_.changed)
      hooks_.changed();
  }

  Graph& graph_;
  const Executor& execute_;
  int retries_;
  const CoordinatorHooks& hooks_;
  int world_size_ = 1;
};

} // namespace

Ending coordinate(Graph& graph, const Executor& execute, int retries,
                  const CoordinatorHooks& hooks) {
  return Loop(graph, execute, retries, hooks).run();
}

void work(const Executor& execute) {
  send_text(nlohmann::json({{"pid", ::getpid()}, {"host", host_name()}}).dump(), 0, kReady);
  for (;;) {
    const auto status = wait_for_message(0);
    const auto text = receive_text(status);
    if (status.MPI_TAG == kStop)
      return;
    if (status.MPI_TAG == kInterrupt)
      continue; // meant for a job that finished meanwhile; the stop follows
    RateLimited limit;
    const Heartbeat beat = [&](const nlohmann::json& progress) {
      // The coordinator's stop reaches a rank that got no signal of its own (e.g. a `kill`
      // of rank 0 only): the job ends at its next stop check.
      int interrupt = 0;
      MPI_Status probed;
      MPI_Iprobe(0, kInterrupt, MPI_COMM_WORLD, &interrupt, &probed);
      if (interrupt)
        request_stop(std::atoi(receive_text(probed).c_str()));
      if (limit.due())
        send_text(progress.dump(), 0, kHeartbeat);
    };
    const auto result = execute(nlohmann::json::parse(text), beat);
    fault_point("worker.result"); // test-only (docs/hardening.md): done, not reported
    send_text(result.dump(), 0, kResult);
  }
}

} // namespace vfp::dispatch
