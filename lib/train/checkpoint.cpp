#include "train/checkpoint.h"

#include "core/core.h"

#include <filesystem>
#include <mutex>

namespace vfp::train::detail {
namespace {

constexpr int kHistoryColumns = 10; // checkpoints before step_seconds have 8, before val_auprc 9

torch::Tensor history_tensor(const std::vector<EpochLog>& history) {
  auto t = torch::zeros({std::int64_t(history.size()), kHistoryColumns}, torch::kFloat64);
  auto a = t.accessor<double, 2>();
  for (std::size_t k = 0; k < history.size(); ++k) {
    const auto& e = history[k];
    const double row[kHistoryColumns] = {
        double(e.epoch), e.train_loss,        e.val_auroc, e.val_loss,
        e.seconds,       e.data_wait_seconds, e.lr,        double(e.trainable_tensors),
        e.step_seconds,  e.val_auprc};
    for (int c = 0; c < kHistoryColumns; ++c)
      a[std::int64_t(k)][c] = row[c];
  }
  return t;
}

std::vector<EpochLog> history_from(const torch::Tensor& t) {
  std::vector<EpochLog> out;
  auto a = t.accessor<double, 2>();
  for (std::int64_t k = 0; k < t.size(0); ++k) {
    EpochLog e;
    e.epoch = int(a[k][0]);
    e.train_loss = a[k][1];
    e.val_auroc = a[k][2];
    e.val_loss = a[k][3];
    e.seconds = a[k][4];
    e.data_wait_seconds = a[k][5];
    e.lr = a[k][6];
    e.trainable_tensors = int(a[k][7]);
    e.step_seconds = t.size(1) > 8 ? a[k][8] : 0.0;
    e.val_auprc = t.size(1) > 9 ? a[k][9] : 0.0;
    out.push_back(e);
  }
  return out;
}

torch::Tensor scalar(double v) {
  return torch::tensor(v, torch::kFloat64);
}

double read_scalar(torch::serialize::InputArchive& archive, const char* key) {
  torch::Tensor t;
  archive.read(key, t, /*is_buffer=*/true);
  return t.item<double>();
}

} // namespace

void save_checkpoint(const std::string& path, torch::nn::Module& model,
                     torch::optim::Optimizer& optimizer,
                     const std::vector<torch::Tensor>& best_state, const Progress& p) {
  torch::serialize::OutputArchive archive;
  for (const auto& item : models::state_of(model))
    archive.write("model." + item.key(), item.value(), /*is_buffer=*/true);
  for (std::size_t k = 0; k < best_state.size(); ++k)
    archive.write("best." + std::to_string(k), best_state[k], true);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("rng", torch::globalContext().defaultGenerator(torch::kCPU).get_state(), true);
  models::write_cuda_rng(archive);
  archive.write("epoch", scalar(p.epoch), true);
  archive.write("step", scalar(double(p.step)), true);
  archive.write("best", scalar(p.best), true);
  archive.write("since_best", scalar(p.since_best), true);
  archive.write("best_epoch", scalar(p.best_epoch), true);
  archive.write("best_val_auroc", scalar(p.best_val_auroc), true);
  archive.write("train_seconds", scalar(p.train_seconds), true);
  archive.write("history", history_tensor(p.history), true);
  // Fsynced before the rename: the checkpoint is there for node failures.
  try {
    write_file_atomically(path, [&](const std::filesystem::path& temporary) {
      models::save_archive(archive, temporary);
      fault_point("checkpoint.write"); // test-only (docs/hardening.md): not renamed yet
    });
  } catch (const c10::Error& e) {
    throw TaskError("cannot write the training checkpoint " + path + ": " +
                    e.what_without_backtrace());
  }
}

bool load_checkpoint(const std::string& path, torch::nn::Module& model,
                     torch::optim::Optimizer& optimizer, std::vector<torch::Tensor>& best_state,
                     Progress& p) {
  if (path.empty() || !std::filesystem::exists(path))
    return false;
  try {
    torch::serialize::InputArchive archive;
    // Onto the model's device, whichever GPU wrote the file (a requeued job may get another).
    archive.load_from(path, model.parameters().front().device());
    torch::NoGradGuard no_grad;
    for (auto& item : models::state_of(model)) {
      torch::Tensor saved;
      archive.read("model." + item.key(), saved, /*is_buffer=*/true);
      if (saved.sizes() != item.value().sizes())
        throw TaskError("the training checkpoint " + path + " does not fit the model: " +
                        item.key() + " has another shape (delete it to start over)");
      item.value().copy_(saved);
    }
    for (std::size_t k = 0; k < best_state.size(); ++k)
      archive.read("best." + std::to_string(k), best_state[k], /*is_buffer=*/true);
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    torch::Tensor rng;
    archive.read("rng", rng, /*is_buffer=*/true);
    at::Generator generator = torch::globalContext().defaultGenerator(torch::kCPU); // a handle
    {
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(rng.cpu());
    }
    models::read_cuda_rng(archive);
    p.epoch = int(read_scalar(archive, "epoch"));
    p.step = std::int64_t(read_scalar(archive, "step"));
    p.best = read_scalar(archive, "best");
    p.since_best = int(read_scalar(archive, "since_best"));
    p.best_epoch = int(read_scalar(archive, "best_epoch"));
    p.best_val_auroc = read_scalar(archive, "best_val_auroc");
    p.train_seconds = read_scalar(archive, "train_seconds");
    torch::Tensor history;
    archive.read("history", history, /*is_buffer=*/true);
    p.history = history_from(history.cpu());
  } catch (const c10::Error& e) {
    throw TaskError("cannot resume from the training checkpoint " + path + " (delete it to " +
                    "start over): " + e.what_without_backtrace());
  }
  return true;
}

} // namespace vfp::train::detail
