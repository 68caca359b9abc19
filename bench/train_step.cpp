// Times one training step (forward + backward + AdamW step) of a registry model on CPU
// for 1 and 2 threads. Compare with bench/train_step.py (PyTorch's Python API, same model).
#include "models/models.h"
#include "record.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  const int size = argc > 1 ? std::atoi(argv[1]) : 47;
  const int batch = argc > 2 ? std::atoi(argv[2]) : 16;
  const int steps = argc > 3 ? std::atoi(argv[3]) : 50;
  std::printf("model,threads,input,batch,ms_per_step,samples_per_s\n");
  for (int threads : {1, 2}) {
    torch::set_num_threads(threads);
    torch::manual_seed(0);
    vfp::models::ModelSpec spec;
    spec.width = 16;
    auto model = vfp::models::make_model(spec);
    model->train();
    torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-4));
    auto x = torch::rand({batch, 1, size, size});
    auto y = torch::randint(0, 2, {batch, 1}).to(torch::kFloat);
    auto step = [&] {
      opt.zero_grad();
      auto loss = torch::binary_cross_entropy_with_logits(model->forward(x), y);
      loss.backward();
      opt.step();
    };
    for (int i = 0; i < 5; ++i)
      step(); // warm-up: first steps allocate
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i)
      step();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("fnet-2d-w16,%d,%dx%d,%d,%.3f,%.1f\n", threads, size, size, batch,
                1000.0 * s / steps, batch * steps / s);
    vfp::bench::record({"Training step (bench_train_step)",
                        "fNet 2D w16 " + std::to_string(size) + "², batch " +
                            std::to_string(batch) + ", " + std::to_string(threads) + " thread(s)",
                        1000.0 * s / steps, "ms/step", "", NAN, "", -1,
                        "forward + backward + AdamW"});
  }
  return 0;
}
