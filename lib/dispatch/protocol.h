// Messages between the coordinator (rank 0) and workers (private to lib/dispatch). Payloads
// are JSON text.
#pragma once

// The C API only: the deprecated C++ bindings add nothing and warn.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <chrono>
#include <ctime>

#include <sched.h>
#include <string>

namespace vfp::dispatch {

enum Tag : int {
  kReady = 1,     ///< worker → 0: idle, send work (empty payload)
  kResult = 2,    ///< worker → 0: the executor's result ({"ok": …}); also means ready
  kAssign = 3,    ///< 0 → worker: a job's assignment
  kStop = 4,      ///< 0 → worker: no more work
  kHeartbeat = 5, ///< worker → 0: progress of the running job
  kInterrupt = 6, ///< 0 → worker: stop the running job (a stop request reached rank 0)
};

inline void send_text(const std::string& text, int dest, int tag) {
  MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, dest, tag, MPI_COMM_WORLD);
}

/// Receives a probed message's payload.
inline std::string receive_text(const MPI_Status& probed) {
  int size = 0;
  MPI_Get_count(&probed, MPI_CHAR, &size);
  std::string text(static_cast<size_t>(size), '\0');
  MPI_Recv(text.data(), size, MPI_CHAR, probed.MPI_SOURCE, probed.MPI_TAG, MPI_COMM_WORLD,
           MPI_STATUS_IGNORE);
  return text;
}

/// Blocks until a message arrives, sleeping between probes (MPI_Recv busy-polls a core,
/// which would steal it from training on small machines) and calling `tick` about every
/// `tick_every` while it waits. Returns false without a message once `give_up()` is true
/// (checked between probes).
template <typename Tick, typename GiveUp>
bool wait_for_message(MPI_Status& status, int source, Tick tick, GiveUp give_up,
                      std::chrono::milliseconds tick_every = std::chrono::milliseconds(500)) {
  int flag = 0;
  auto last_tick = std::chrono::steady_clock::now();
  for (int spins = 0;; ++spins) {
    MPI_Iprobe(source, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
    if (flag)
      return true;
    if (give_up())
      return false;
    // A reply usually follows within microseconds (a short job, the coordinator's next
    // assignment): yield briefly first, then sleep 0.1 ms, then 2 ms once idle for a while.
    if (spins < 200) {
      sched_yield();
      continue;
    }
    struct timespec ts {
      0, spins < 300 ? 100000L : 2000000L
    };
    nanosleep(&ts, nullptr);
    if (std::chrono::steady_clock::now() - last_tick >= tick_every) {
      tick();
      last_tick = std::chrono::steady_clock::now();
    }
  }
}

inline MPI_Status wait_for_message(int source) {
  MPI_Status status;
  wait_for_message(
      status, source, [] {}, [] { return false; });
  return status;
}

} // namespace vfp::dispatch
