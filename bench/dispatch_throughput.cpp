// The coordinator's own cost (lib/dispatch): jobs per second with no-op jobs, and the
// scheduling efficiency of a large simulated sweep (jobs that sleep). An MPI program:
//
//   mpirun -np 3  bench_dispatch --jobs 20000                  # no-op jobs: jobs/s
//   mpirun -np 65 --oversubscribe bench_dispatch --jobs 640 --sleep-ms 50,350
//        # 64 workers, sleeps drawn per job in [50, 350] ms: busy time / (workers × makespan)
//
// Sleeping jobs take no CPU, so 64 workers oversubscribed on a 2-core machine still measure
// the coordinator (dispatch latency, the tail of the last jobs), not the cores.
#include "args.h"
#include "record.h"

#include "core/core.h"
#include "dispatch/dispatch.h"

#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

namespace {

const vfp::bench::Args kArgs("bench_dispatch");

struct Options {
  int jobs = 20000;
  int sleep_min_ms = 0, sleep_max_ms = 0; ///< 0: no-op jobs
  bool estimates = true;                  ///< tell the coordinator each job's duration
  int chains = 0;                         ///< > 0: job k depends on job k − chains (a graph)
};

Options parse(int argc, char** argv) {
  Options o;
  std::vector<int> sleep_range;
  kArgs.parse(argc, argv,
              {kArgs.positive_into("--jobs", o.jobs),
               kArgs.positive_list_into("--sleep-ms", sleep_range),
               kArgs.switch_into("--no-estimates", o.estimates, false),
               kArgs.positive_into("--chains", o.chains)},
              "mpirun -np N bench_dispatch [--jobs 20000] [--sleep-ms MIN,MAX] [--no-estimates] "
              "[--chains K]\n");
  if (!sleep_range.empty()) {
    o.sleep_min_ms = sleep_range.front();
    o.sleep_max_ms = sleep_range.back();
  }
  return o;
}

/// Job k's sleep: spread over [min, max] by a hash of k, the same on every rank.
int sleep_ms(const Options& o, int k) {
  if (o.sleep_max_ms == 0)
    return 0;
  const auto h = vfp::mix_seed(std::uint64_t(k));
  return o.sleep_min_ms + int(h % std::uint64_t(o.sleep_max_ms - o.sleep_min_ms + 1));
}

} // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int code = 0;
  try {
    const auto o = parse(argc, argv);
    const vfp::dispatch::Executor execute = [](const nlohmann::json& a,
                                               const vfp::dispatch::Heartbeat&) {
      const int ms = a.at("sleep_ms").get<int>();
      if (ms > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      return nlohmann::json{{"ok", true}};
    };
    if (rank != 0) {
      vfp::dispatch::work(execute);
    } else {
      vfp::dispatch::Graph graph;
      double busy_ms = 0;
      for (int k = 0; k < o.jobs; ++k) {
        vfp::dispatch::Job job;
        job.kind = "bench";
        job.id = std::to_string(k);
        job.assignment = {{"sleep_ms", sleep_ms(o, k)}};
        if (o.chains > 0 && k >= o.chains)
          job.depends_on = {k - o.chains};
        if (o.estimates)
          job.estimate_seconds = sleep_ms(o, k) / 1000.0;
        busy_ms += sleep_ms(o, k);
        graph.add(std::move(job));
      }
      const auto t0 = std::chrono::steady_clock::now();
      vfp::dispatch::coordinate(graph, execute, 0, {});
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const int workers = std::max(1, size - 1);
      std::printf("ranks %d (%d workers), %d jobs%s%s: %.3f s, %.0f jobs/s", size, workers, o.jobs,
                  o.sleep_max_ms ? (" sleeping " + std::to_string(o.sleep_min_ms) + "–" +
                                    std::to_string(o.sleep_max_ms) + " ms")
                                       .c_str()
                                 : " (no-op)",
                  o.chains ? (", chains of stride " + std::to_string(o.chains)).c_str() : "",
                  seconds, o.jobs / seconds);
      if (o.sleep_max_ms)
        std::printf(", scheduling efficiency %.1f %% (busy %.1f s of %d × %.3f s; %s)",
                    100.0 * busy_ms / 1000.0 / (workers * seconds), busy_ms / 1000.0, workers,
                    seconds, o.estimates ? "largest first" : "no estimates: file order");
      std::printf("\n");
      const std::string run = std::to_string(o.jobs) + " jobs, " + std::to_string(workers) +
                              " worker(s)" +
                              (o.chains ? ", chains of stride " + std::to_string(o.chains) : "");
      if (o.sleep_max_ms == 0)
        vfp::bench::record({"Dispatch (bench_dispatch)", run + ", no-op jobs", o.jobs / seconds,
                            "jobs/s", "", NAN, "≥ 2 000 jobs/s", o.jobs / seconds >= 2000 ? 1 : 0,
                            ""});
      else
        vfp::bench::record(
            {"Dispatch (bench_dispatch)",
             run + ", jobs sleeping " + std::to_string(o.sleep_min_ms) + "–" +
                 std::to_string(o.sleep_max_ms) + " ms, " +
                 (o.estimates ? "largest first" : "file order"),
             100.0 * busy_ms / 1000.0 / (workers * seconds), "% scheduling efficiency", "", NAN,
             o.estimates ? "≥ 95 %" : "",
             o.estimates ? (100.0 * busy_ms / 1000.0 / (workers * seconds) >= 95) : -1,
             "makespan " + std::to_string(seconds).substr(0, 5) + " s"});
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_dispatch: " << e.what() << "\n";
    code = 1;
  }
  MPI_Finalize();
  return code;
}
