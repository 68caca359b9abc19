#include "ssl/byol_parts.h"

#include "core/core.h"

#include <filesystem>
#include <iostream>
#include <mutex>
#include <sstream>

namespace vfp::ssl::detail {
namespace {

torch::Tensor bytes_of(const std::string& text) {
  auto t = torch::empty({std::int64_t(text.size())}, torch::kUInt8);
  std::copy(text.begin(), text.end(), t.data_ptr<std::uint8_t>());
  return t;
}

std::string text_of(const torch::Tensor& bytes) {
  const auto t = bytes.cpu().contiguous();
  const auto* p = t.data_ptr<std::uint8_t>();
  return {p, p + t.numel()};
}

torch::Tensor read(torch::serialize::InputArchive& archive, const std::string& key) {
  torch::Tensor t;
  archive.read(key, t, /*is_buffer=*/true);
  return t.cpu();
}

} // namespace

void save_progress(const std::string& file, const std::string& fingerprint, ByolNet& net,
                   ByolOptimizer& optimizer, const at::Generator& views,
                   const std::mt19937_64& order, const ByolProgress& p) {
  torch::serialize::OutputArchive archive;
  archive.write("fingerprint", bytes_of(fingerprint), /*is_buffer=*/true);
  for (const auto& item : models::state_of(net))
    archive.write("net." + item.key(), item.value(), true);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("views", views.get_state(), true);
  models::write_cuda_rng(archive); // torch's own draws on the GPU (dropout, if any)
  std::ostringstream engine;
  engine << order;
  archive.write("order", bytes_of(engine.str()), true);
  archive.write("epoch", torch::tensor(std::int64_t(p.epoch)), true);
  archive.write("steps", torch::tensor(p.steps), true);
  auto history = torch::zeros({std::int64_t(p.history.size()), 4}, torch::kFloat64);
  for (std::size_t k = 0; k < p.history.size(); ++k) {
    const auto& e = p.history[k];
    history[std::int64_t(k)] =
        torch::tensor({double(e.epoch), e.loss, e.tau, e.seconds}, torch::kFloat64);
  }
  archive.write("history", history, true);
  archive.write("items", torch::tensor(p.order, torch::kInt32), true);
  // Fsynced before the rename: the file is there for node failures.
  try {
    write_file_atomically(file, [&](const std::filesystem::path& temporary) {
      models::save_archive(archive, temporary);
    });
  } catch (const c10::Error& e) {
    throw IoError("cannot write the BYOL progress file " + file + ": " +
                  e.what_without_backtrace());
  }
}

bool load_progress(const std::string& file, const std::string& fingerprint, ByolNet& net,
                   ByolOptimizer& optimizer, at::Generator& views, std::mt19937_64& order,
                   ByolProgress& p) {
  if (file.empty() || !std::filesystem::exists(file))
    return false;
  const std::string what = "the BYOL progress file " + file;
  try {
    torch::serialize::InputArchive archive;
    // Onto the run's device, whichever GPU the file was written from (a requeued job may
    // land on another one).
    const auto device = net.parameters().front().device();
    archive.load_from(file, device);
    const auto stored = text_of(read(archive, "fingerprint"));
    const auto format = [](const std::string& f) { return f.substr(0, f.find('|')); };
    if (format(stored) != format(fingerprint)) { // an older vfp's file: its run starts over
      std::cerr << "warning: " << what << " was written by another vfp version (" << format(stored)
                << ", now " << format(fingerprint) << "); starting over\n";
      return false;
    }
    if (stored != fingerprint)
      throw TaskError(what + " belongs to another pretraining (other options or patches); "
                             "delete it to start over");
    torch::NoGradGuard no_grad;
    for (auto& item : models::state_of(net)) {
      torch::Tensor saved;
      archive.read("net." + item.key(), saved, /*is_buffer=*/true);
      item.value().copy_(saved);
    }
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    {
      std::lock_guard<std::mutex> lock(views.mutex());
      views.set_state(read(archive, "views"));
    }
    models::read_cuda_rng(archive);
    std::istringstream engine(text_of(read(archive, "order")));
    engine >> order;
    p.epoch = int(read(archive, "epoch").item<std::int64_t>());
    p.steps = read(archive, "steps").item<std::int64_t>();
    const auto history = read(archive, "history");
    auto h = history.accessor<double, 2>();
    p.history.clear();
    for (std::int64_t k = 0; k < history.size(0); ++k) {
      EpochLog e;
      e.epoch = int(h[k][0]);
      e.loss = h[k][1];
      e.tau = h[k][2];
      e.seconds = h[k][3];
      p.history.push_back(e);
    }
    const auto items = read(archive, "items").contiguous();
    p.order.assign(items.data_ptr<int>(), items.data_ptr<int>() + items.numel());
  } catch (const c10::Error& e) {
    throw TaskError("cannot resume from " + what +
                    " (delete it to start over): " + e.what_without_backtrace());
  }
  return true;
}

} // namespace vfp::ssl::detail
