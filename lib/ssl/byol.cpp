#include "ssl/ssl.h"

#include "core/core.h"
#include "ssl/byol_parts.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>
#include <unistd.h>

namespace vfp::ssl {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void bad_option(const std::string& option, const std::string& what) {
  throw InputError("BYOL option " + option + ": " + what);
}

std::string text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

void check_range(const std::string& option, double v, double lo, double hi) {
  if (!(v >= lo && v <= hi))
    bad_option(option, text(v) + " is outside [" + text(lo) + ", " + text(hi) + "]");
}

void validate(const ByolOptions& o, const Patches& p) {
  if (o.schedule != "cosine" && o.schedule != "constant")
    bad_option("schedule", "unknown '" + o.schedule + "' (expected cosine or constant)");
  if (o.optimizer != "adamw" && o.optimizer != "lars")
    bad_option("optimizer", "unknown '" + o.optimizer + "' (expected adamw or lars)");
  if (o.batch_size < 2)
    bad_option("batch_size",
               "must be at least 2 for batch norm, got " + std::to_string(o.batch_size));
  if (o.epochs < 1)
    bad_option("epochs", "must be at least 1, got " + std::to_string(o.epochs));
  if (o.projector_hidden < 1 || o.projection_dim < 1)
    bad_option(o.projector_hidden < 1 ? "projector_hidden" : "projection_dim",
               "must be at least 1");
  if (!(o.lr > 0) || !std::isfinite(o.lr))
    bad_option("lr", "must be positive, got " + text(o.lr));
  check_range("weight_decay", o.weight_decay, 0, 1);
  check_range("tau_base", o.tau_base, 0, 1);
  if (!(o.crop_min_scale > 0 && o.crop_min_scale <= 1))
    bad_option("crop_min_scale", text(o.crop_min_scale) + " is outside (0, 1]");
  check_range("brightness", o.brightness, 0, 1);
  check_range("contrast", o.contrast, 0, 1);
  check_range("blur_probability", o.blur_probability, 0, 1);
  check_range("noise_std", o.noise_std, 0, 1);
  if (!p.pixels || p.channels < 1 || p.depth < 0 || p.height < 1 || p.width < 1)
    throw InputError("BYOL patches: no pixels or a bad shape (channels " +
                     std::to_string(p.channels) + ", depth " + std::to_string(p.depth) +
                     ", height " + std::to_string(p.height) + ", width " + std::to_string(p.width) +
                     ")");
  if (p.items.size() < 2)
    throw InputError("BYOL patches: items holds " + std::to_string(p.items.size()) +
                     " patches; at least 2 are needed");
  for (int i : p.items)
    if (i < 0 || i >= p.count)
      throw InputError("BYOL patches: item " + std::to_string(i) + " is outside the buffer of " +
                       std::to_string(p.count) + " patches");
}

/// Fails before training, not after it, when the checkpoint cannot be written.
void check_writable(const std::filesystem::path& file) {
  const std::string at = "BYOL checkpoint '" + file.string() + "': ";
  if (file.empty() || file.filename().empty())
    throw InputError(at + "not a file name");
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    throw IoError(at + "is a folder");
  const auto folder = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(folder, ec))
    throw IoError(at + "the folder " + folder.string() + " does not exist");
  if (::access(folder.c_str(), W_OK) != 0)
    throw IoError(at + "the folder " + folder.string() + " is not writable");
}

/// What a progress file must match to be resumed: every option that shapes the result
/// (not threads or device) and the patches (shape, items, pixel checksum).
std::string fingerprint(const ByolOptions& o, const Patches& p) {
  std::ostringstream s;
  s.precision(17);
  s << "vfp-byol-progress 1|" << o.arch << '|' << o.width << '|' << o.projector_hidden << '|'
    << o.projection_dim << '|' << o.optimizer << '|' << o.lr << '|' << o.schedule << '|'
    << o.weight_decay << '|' << o.batch_size << '|' << o.epochs << '|' << o.tau_base << '|'
    << o.crop_min_scale << '|' << o.flips << '|' << o.brightness << '|' << o.contrast << '|'
    << o.blur_probability << '|' << o.noise_std << '|' << o.seed << '|' << o.amp << '|' << p.count
    << '|' << p.channels << '|' << p.depth << '|' << p.height << '|' << p.width << '|'
    << p.items.size() << '|' << checksum64(p.items.data(), p.items.size() * sizeof(int)) << '|'
    << checksum64(p.pixels, std::size_t(p.count) * p.channels * std::max(1, p.depth) * p.height *
                                p.width * sizeof(float));
  return s.str();
}

/// Fisher–Yates with the run's engine: the same order on every platform.
void shuffle(std::vector<int>& v, std::mt19937_64& rng) {
  for (std::size_t i = v.size(); i > 1; --i)
    std::swap(v[i - 1], v[rng() % i]);
}

} // namespace

ByolOutcome pretrain_byol(const ByolOptions& o, const Patches& p, const std::string& checkpoint,
                          const std::function<void(const EpochLog&)>& on_epoch) {
  validate(o, p);
  check_writable(checkpoint);
  if (!o.progress_file.empty())
    check_writable(o.progress_file);
  const auto started = Clock::now();
  torch::set_num_threads(std::max(1, o.threads));
  torch::manual_seed(o.seed);

  models::ModelSpec spec;
  spec.arch = o.arch;
  spec.width = o.width;
  spec.dims = p.depth > 0 ? 3 : 2;
  spec.in_channels = p.channels;
  spec.outputs = 1;
  const auto device = models::pick_device(o.device, o.local_rank, "device");
  detail::ByolNet net(spec, o.projector_hidden, o.projection_dim);
  net.to(device);
  net.train();
  detail::ByolOptimizer optimizer(o, net.trainable_parameters());
  auto gen = at::detail::createCPUGenerator(mix_seed(o.seed ^ 0x9e3779b97f4a7c15ULL));
  std::mt19937_64 order_rng(mix_seed(o.seed));

  const auto n = std::int64_t(p.items.size());
  const auto batch = std::min<std::int64_t>(o.batch_size, n);
  const std::int64_t steps_per_epoch = n / batch + (n % batch >= 2 ? 1 : 0);
  const std::int64_t total_steps = steps_per_epoch * o.epochs;
  const std::int64_t plane = std::int64_t(p.channels) * std::max(1, p.depth) * p.height * p.width;
  std::vector<std::int64_t> shape{batch, p.channels};
  if (p.depth > 0)
    shape.push_back(p.depth);
  shape.insert(shape.end(), {p.height, p.width});
  auto buffer = torch::empty(shape); // reused by every step

  ByolOutcome out;
  const auto run_fingerprint = o.progress_file.empty() ? std::string() : fingerprint(o, p);
  detail::ByolProgress progress;
  progress.order = p.items;
  if (detail::load_progress(o.progress_file, run_fingerprint, net, optimizer, gen, order_rng,
                            progress))
    out.resumed_from_epoch = progress.epoch;
  out.steps = progress.steps;
  out.history = progress.history;
  auto& order = progress.order;
  for (int epoch = progress.epoch + 1; epoch <= o.epochs; ++epoch) {
    const auto t0 = Clock::now();
    shuffle(order, order_rng);
    double loss_sum = 0;
    double tau = o.tau_base;
    for (std::int64_t s = 0; s < steps_per_epoch; ++s) {
      throw_if_stop_requested("in BYOL epoch " + std::to_string(epoch) +
                              " (pretraining resumes from its last finished epoch)");
      const auto m = std::min(batch, n - s * batch);
      float* dst = buffer.data_ptr<float>();
      for (std::int64_t k = 0; k < m; ++k)
        std::copy_n(p.pixels + order[std::size_t(s * batch + k)] * plane, plane, dst + k * plane);
      const auto x = buffer.narrow(0, 0, m);
      // Views are drawn on the CPU from the run's generator: the same views on every device.
      const auto v1 = detail::random_view(x, o, gen).to(device, /*non_blocking=*/true);
      const auto v2 = detail::random_view(x, o, gen).to(device, /*non_blocking=*/true);
      torch::Tensor loss;
      {
        models::Autocast autocast(device, o.amp);
        loss = net.loss(v1, v2);
      }
      const double value = loss.item<double>();
      if (!std::isfinite(value))
        throw TaskError("BYOL loss became " + std::string(std::isnan(value) ? "NaN" : "infinite") +
                        " at epoch " + std::to_string(epoch) + ", step " + std::to_string(s + 1) +
                        " of " + std::to_string(steps_per_epoch) + " (lower lr?)");
      optimizer.zero_grad();
      loss.backward();
      if (o.schedule == "cosine")
        optimizer.set_lr(o.lr * 0.5 *
                         (1 + std::cos(M_PI * double(out.steps) / double(total_steps))));
      optimizer.step();
      tau = detail::tau_at(o.tau_base, out.steps, total_steps);
      net.update_target(tau);
      ++out.steps;
      loss_sum += value;
    }
    EpochLog log;
    log.epoch = epoch;
    log.loss = loss_sum / double(steps_per_epoch);
    log.tau = tau;
    log.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    out.history.push_back(log);
    if (!o.progress_file.empty()) {
      progress.epoch = epoch;
      progress.steps = out.steps;
      progress.history = out.history;
      detail::save_progress(o.progress_file, run_fingerprint, net, optimizer, gen, order_rng,
                            progress);
    }
    if (on_epoch)
      on_epoch(log);
  }

  try {
    models::write_safetensors(checkpoint, net.checkpoint_state(),
                              {{"format", "vfp-byol"},
                               {"arch", spec.arch},
                               {"dims", std::to_string(spec.dims)},
                               {"in_channels", std::to_string(spec.in_channels)},
                               {"width", std::to_string(spec.width)},
                               {"projector_hidden", std::to_string(o.projector_hidden)},
                               {"projection_dim", std::to_string(o.projection_dim)},
                               {"optimizer", o.optimizer},
                               {"schedule", o.schedule},
                               {"device", device.str()},
                               {"epochs", std::to_string(o.epochs)},
                               {"steps", std::to_string(out.steps)},
                               {"seed", std::to_string(o.seed)},
                               {"vfp_version", std::string(version())}});
  } catch (const IoError& e) {
    throw IoError("cannot write the BYOL checkpoint '" + checkpoint + "': " + e.what());
  }
  if (!o.progress_file.empty())
    std::filesystem::remove(o.progress_file); // everything it held is in the checkpoint
  out.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return out;
}

} // namespace vfp::ssl
