// Loader stall: the share of training-step time spent waiting for data, with a small CNN
// (fNet 2D, width 16) on CPU and full on-the-fly augmentation (flip, rotation, zoom,
// intensity, noise). Side by side in one run: batches made on the training thread
// (0 loader threads) vs by 1 and 2 background threads. Target: < 5 % waiting.
// The allocator is glibc's default for every row.
// Usage: bench_loader [patch=47] [batch=16] [patches=512] [epochs=2] [torch threads=all]
#include "core/core.h"
#include "loader/loader.h"
#include "models/models.h"
#include "record.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Figures {
  double seconds = 0, wait_seconds = 0;
  long steps = 0;
};

/// Blurry blobs in [0, 1] with a class-dependent brightness, so the augmentation has
/// structure to warp; 20 % positives as in the study.
void make_patches(int n, int size, std::vector<float>& pixels, std::vector<float>& labels) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.F, 1.F);
  pixels.resize(size_t(n) * size_t(size) * size_t(size));
  labels.resize(size_t(n));
  for (int i = 0; i < n; ++i) {
    labels[size_t(i)] = u(rng) < 0.2F ? 1.F : 0.F;
    const float cx = size * (0.3F + 0.4F * u(rng)), cy = size * (0.3F + 0.4F * u(rng));
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const float d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
        pixels[(size_t(i) * size_t(size) + size_t(y)) * size_t(size) + size_t(x)] =
            (0.5F + 0.3F * labels[size_t(i)]) / (1.F + d2 / 60.F);
      }
  }
}

Figures train(const std::vector<float>& pixels, const std::vector<float>& labels, int size,
              int batch, int epochs, int loader_threads) {
  torch::manual_seed(0);
  vfp::models::ModelSpec spec;
  spec.width = 16;
  auto model = vfp::models::make_model(spec);
  model->train();
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-4));
  std::vector<int> items(labels.size());
  for (size_t i = 0; i < items.size(); ++i)
    items[i] = int(i);
  vfp::loader::LoaderOptions lo;
  lo.batch_size = batch;
  lo.threads = loader_threads;
  lo.seed = 42;
  lo.augment.enabled = true;
  const vfp::loader::MemorySource source(pixels.data(), std::int64_t(size) * size);
  vfp::loader::Loader loader(source, vfp::loader::Shape{1, 0, size, size}, items, labels, lo);
  auto run_epoch = [&](int epoch, Figures* f) {
    loader.start_epoch(epoch);
    const double waited_before = loader.wait_seconds();
    const auto t0 = Clock::now();
    vfp::loader::Batch b;
    while (loader.next(b)) {
      auto x = torch::from_blob(const_cast<float*>(b.x), {b.size, 1, size, size});
      auto y = torch::from_blob(const_cast<float*>(b.y), {b.size, 1});
      opt.zero_grad();
      torch::binary_cross_entropy_with_logits(model->forward(x), y).backward();
      opt.step();
      if (f)
        ++f->steps;
    }
    if (f) {
      f->seconds += std::chrono::duration<double>(Clock::now() - t0).count();
      f->wait_seconds += loader.wait_seconds() - waited_before;
    }
  };
  run_epoch(0, nullptr); // warm-up: the first steps allocate
  Figures f;
  for (int e = 1; e <= epochs; ++e)
    run_epoch(e, &f);
  return f;
}

} // namespace

int main(int argc, char** argv) {
  const int size = argc > 1 ? std::atoi(argv[1]) : 47;
  const int batch = argc > 2 ? std::atoi(argv[2]) : 16;
  const int n = argc > 3 ? std::atoi(argv[3]) : 512;
  const int epochs = argc > 4 ? std::atoi(argv[4]) : 2;
  const int torch_threads = argc > 5 ? std::atoi(argv[5]) : vfp::cpus_in_affinity();
  torch::set_num_threads(torch_threads);
  std::vector<float> pixels, labels;
  make_patches(n, size, pixels, labels);
  std::printf("# fNet-2D w16 on CPU, %d torch threads, %d patches %dx%d, batch %d, full "
              "augmentation, glibc malloc defaults\n",
              torch_threads, n, size, size, batch);
  std::printf("loader_threads,steps,ms_per_step,wait_ms_per_step,wait_share_percent\n");
  for (int threads : {0, 1, 2}) {
    const auto f = train(pixels, labels, size, batch, epochs, threads);
    std::printf("%d,%ld,%.2f,%.3f,%.2f%s\n", threads, f.steps, 1000 * f.seconds / double(f.steps),
                1000 * f.wait_seconds / double(f.steps), 100 * f.wait_seconds / f.seconds,
                threads == 0 ? "  (batches made on the training thread)" : "");
    const double share = 100 * f.wait_seconds / f.seconds;
    vfp::bench::record(
        {"Loader stall (bench_loader)",
         "fNet 2D, " + std::to_string(threads) + " loader thread(s)" +
             (threads == 0 ? " (batches on the training thread)" : ""),
         share, "% of step time waiting", "", NAN, "< 5 %", share < 5 ? 1 : 0,
         std::to_string(1000 * f.seconds / double(f.steps)).substr(0, 5) + " ms/step"});
  }
  return 0;
}
