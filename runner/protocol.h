// Messages between the coordinator (rank 0) and workers. Payloads are JSON strings.
#pragma once

// The C API only: the deprecated C++ bindings add nothing and warn.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <string>

namespace vfp::runner {

enum Tag : int {
  kReady = 1,  ///< worker → 0: idle, send work (empty payload)
  kResult = 2, ///< worker → 0: {"ok": bool, "row": {...} | "reason": "..."}; also means ready
  kAssign = 3, ///< 0 → worker: {"kind": "preprocess"|"train_eval", "index": n}
  kStop = 4,   ///< 0 → worker: no more work
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

/// Blocks until a message arrives, sleeping between probes: MPI_Recv busy-polls a core,
/// which would steal it from training on small machines.
inline MPI_Status wait_for_message(int source) {
  MPI_Status status;
  int flag = 0;
  for (int spins = 0;; ++spins) {
    MPI_Iprobe(source, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
    if (flag)
      return status;
    struct timespec ts {
      0, spins < 100 ? 100000L : 2000000L
    }; // 0.1 ms, then 2 ms
    nanosleep(&ts, nullptr);
  }
}

} // namespace vfp::runner
