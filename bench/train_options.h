// The training options of the benchmarks that time the real training loop (bench_fit,
// bench_out_of_core): the same run wherever a figure of training throughput comes from.
#pragma once

#include "train/train.h"

#include <string>

namespace vfp::bench {

/// `arch` trained for exactly `epochs` epochs (patience beyond them: early stopping never
/// ends a run short) in batches of `batch`, one loader thread, `threads` threads on `device`.
inline train::TrainOptions fixed_epochs(const std::string& arch, int batch, int epochs, int threads,
                                        const std::string& device) {
  train::TrainOptions t;
  t.model.arch = arch;
  t.train.batch_size = batch;
  t.train.max_epochs = epochs;
  t.train.patience = epochs + 1;
  t.train.loader_threads = 1;
  t.run.threads = threads;
  t.run.device = device;
  return t;
}

} // namespace vfp::bench
