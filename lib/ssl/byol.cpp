#include "ssl/ssl.h"

#include "core/core.h"
#include "ssl/byol_parts.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace vfp::ssl {
namespace {

using Clock = std::chrono::steady_clock;

// The config schema validates every option; these cheap checks catch a caller that skipped it.
[[noreturn]] void bad_option(const std::string& option, const std::string& what) {
  throw std::logic_error("BYOL option " + option + ": " + what + " (passed the config schema)");
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
  if (o.ssl.schedule != "cosine" && o.ssl.schedule != "constant")
    bad_option("schedule", "unknown '" + o.ssl.schedule + "' (expected cosine or constant)");
  if (o.ssl.optimizer != "adamw" && o.ssl.optimizer != "lars")
    bad_option("optimizer", "unknown '" + o.ssl.optimizer + "' (expected adamw or lars)");
  if (o.ssl.batch_size < 2)
    bad_option("batch_size",
               "must be at least 2 for batch norm, got " + std::to_string(o.ssl.batch_size));
  if (o.ssl.epochs < 1)
    bad_option("epochs", "must be at least 1, got " + std::to_string(o.ssl.epochs));
  if (o.ssl.projector_hidden < 1 || o.ssl.projection_dim < 1)
    bad_option(o.ssl.projector_hidden < 1 ? "projector_hidden" : "projection_dim",
               "must be at least 1");
  if (!(o.ssl.lr > 0) || !std::isfinite(o.ssl.lr))
    bad_option("lr", "must be positive, got " + text(o.ssl.lr));
  check_range("weight_decay", o.ssl.weight_decay, 0, 1);
  check_range("tau_base", o.ssl.tau_base, 0, 1);
  if (!(o.ssl.crop_min_scale > 0 && o.ssl.crop_min_scale <= 1))
    bad_option("crop_min_scale", text(o.ssl.crop_min_scale) + " is outside (0, 1]");
  check_range("brightness", o.ssl.brightness, 0, 1);
  check_range("contrast", o.ssl.contrast, 0, 1);
  check_range("blur_probability", o.ssl.blur_probability, 0, 1);
  check_range("noise_std", o.ssl.noise_std, 0, 1);
  if (!p.source || p.channels < 1 || p.depth < 0 || p.height < 1 || p.width < 1)
    throw InputError("BYOL patches: no patch source or a bad shape (channels " +
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

/// The items' pixels, read patch by patch through the source (one patch in memory).
std::string pixels_checksum(const Patches& p) {
  const auto values = std::size_t(p.channels) * std::max(1, p.depth) * p.height * p.width;
  std::vector<float> patch(values);
  std::uint64_t h = values;
  for (int i : p.items) {
    p.source->read(i, patch.data());
    h = mix_seed(h ^ checksum64(patch.data(), values * sizeof(float)));
  }
  return hex64(h);
}

/// What a progress file must match to be resumed: every option that shapes the result
/// (not threads or device) and the patches (shape, items, their pixels' identity).
std::string fingerprint(const ByolOptions& o, const Patches& p) {
  std::ostringstream s;
  s.precision(17);
  s << "vfp-byol-progress 2|" << o.model.arch << '|' << o.model.width << '|'
    << o.ssl.projector_hidden << '|' << o.ssl.projection_dim << '|' << o.ssl.optimizer << '|'
    << o.ssl.lr << '|' << o.ssl.schedule << '|' << o.ssl.weight_decay << '|' << o.ssl.batch_size
    << '|' << o.ssl.epochs << '|' << o.ssl.tau_base << '|' << o.ssl.crop_min_scale << '|'
    << o.ssl.flips << '|' << o.ssl.brightness << '|' << o.ssl.contrast << '|'
    << o.ssl.blur_probability << '|' << o.ssl.noise_std << '|' << o.run.seed << '|' << o.run.amp
    << '|' << p.count << '|' << p.channels << '|' << p.depth << '|' << p.height << '|' << p.width
    << '|' << p.items.size() << '|' << checksum64(p.items.data(), p.items.size() * sizeof(int))
    << '|' << (p.identity.empty() ? "pixels " + pixels_checksum(p) : "source " + p.identity);
  return s.str();
}

/// Fisher–Yates with the run's engine: the same order on every platform.
void shuffle(std::vector<int>& v, std::mt19937_64& rng) {
  for (std::size_t i = v.size(); i > 1; --i)
    std::swap(v[i - 1], v[rng() % i]);
}

models::ModelSpec backbone_spec(const ByolOptions& o, const Patches& p) {
  models::ModelSpec spec;
  spec.arch = o.model.arch;
  spec.width = o.model.width;
  spec.vit = o.model.vit;
  spec.segresnet = o.model.segresnet;
  spec.dims = p.depth > 0 ? 3 : 2;
  spec.in_channels = p.channels;
  spec.outputs = 1;
  return spec;
}

/// How every epoch is cut into steps.
struct Batching {
  std::int64_t n = 0;     ///< patches per epoch
  std::int64_t batch = 0; ///< patches per step (a last, smaller step is never a single patch)
  std::int64_t steps_per_epoch = 0;
  std::int64_t total_steps = 0;
  loader::Shape shape;
  std::vector<float> labels; ///< one per patch of the source, unused (the loader's signature)
};

Batching batching(const ByolOptions& o, const Patches& p) {
  Batching b;
  b.n = std::int64_t(p.items.size());
  b.batch = std::min<std::int64_t>(o.ssl.batch_size, b.n);
  b.steps_per_epoch = b.n / b.batch + (b.n % b.batch >= 2 ? 1 : 0);
  b.total_steps = b.steps_per_epoch * o.ssl.epochs;
  b.shape = loader::Shape{p.channels, p.depth, p.height, p.width};
  b.labels.assign(std::size_t(p.count), 0.0F);
  return b;
}

/// What every epoch of one run works with.
struct Run {
  const ByolOptions& o;
  const Patches& p;
  detail::ByolNet& net;
  detail::ByolOptimizer& optimizer;
  at::Generator& gen; ///< draws the views
  const torch::Device& device;
  Batching b;
};

/// The epoch's batches, `order` cut into steps: a background thread reads the next batch
/// through the source while the network trains on this one (the loader drops a last batch of
/// one patch, as Batching counts).
std::unique_ptr<loader::Loader> epoch_batches(const Run& r, const std::vector<int>& order) {
  loader::LoaderOptions lo;
  lo.batch_size = int(r.b.batch);
  lo.sampling = loader::Sampling::kSequential;
  lo.threads = 1;
  lo.prefetch = 1;
  return std::make_unique<loader::Loader>(*r.p.source, r.b.shape, order, r.b.labels, lo);
}

/// A view of the loader's batch as [n, C, (D,) H, W], valid until its next batch.
torch::Tensor batch_tensor(const Run& r, const loader::Batch& batch) {
  std::vector<std::int64_t> shape{batch.size, r.b.shape.channels};
  if (r.b.shape.is_3d())
    shape.push_back(r.b.shape.depth);
  shape.insert(shape.end(), {r.b.shape.height, r.b.shape.width});
  return torch::from_blob(const_cast<float*>(batch.x), shape); // never written
}

/// One optimizer step of the online network on two views of `x` (learning rate of run step
/// `step`); returns the loss before the step. Step s of `epoch` names a failure.
double online_step(const Run& r, const torch::Tensor& x, std::int64_t step, int epoch,
                   std::int64_t s) {
  // Views are drawn on the CPU from the run's generator: the same views on every device.
  const auto v1 = detail::random_view(x, r.o, r.gen).to(r.device, /*non_blocking=*/true);
  const auto v2 = detail::random_view(x, r.o, r.gen).to(r.device, /*non_blocking=*/true);
  torch::Tensor loss;
  {
    models::Autocast autocast(r.device, r.o.run.amp);
    loss = r.net.loss(v1, v2);
  }
  const double value = loss.item<double>();
  if (!std::isfinite(value))
    throw TaskError("BYOL loss became " + std::string(std::isnan(value) ? "NaN" : "infinite") +
                    " at epoch " + std::to_string(epoch) + ", step " + std::to_string(s + 1) +
                    " of " + std::to_string(r.b.steps_per_epoch) + " (lower lr?)");
  r.optimizer.zero_grad();
  loss.backward();
  if (r.o.ssl.schedule == "cosine")
    r.optimizer.set_lr(r.o.ssl.lr * 0.5 *
                       (1 + std::cos(M_PI * double(step) / double(r.b.total_steps))));
  r.optimizer.step();
  return value;
}

/// One epoch over the reshuffled `order`; `steps` counts the run's steps. Returns its log.
EpochLog train_epoch(const Run& r, std::vector<int>& order, std::mt19937_64& order_rng,
                     std::int64_t& steps, int epoch) {
  const auto t0 = Clock::now();
  shuffle(order, order_rng);
  const auto batches = epoch_batches(r, order);
  batches->start_epoch(epoch);
  VFP_CHECK(batches->batches_per_epoch() == r.b.steps_per_epoch, "BYOL: loader batches differ");
  double loss_sum = 0;
  double tau = r.o.ssl.tau_base;
  loader::Batch batch;
  for (std::int64_t s = 0; s < r.b.steps_per_epoch; ++s) {
    throw_if_stop_requested("in BYOL epoch " + std::to_string(epoch) +
                            " (pretraining resumes from its last finished epoch)");
    VFP_CHECK(batches->next(batch), "BYOL: the loader ran out of batches");
    const double value = online_step(r, batch_tensor(r, batch), steps, epoch, s);
    tau = detail::tau_at(r.o.ssl.tau_base, steps, r.b.total_steps);
    r.net.update_target(tau);
    ++steps;
    loss_sum += value;
  }
  EpochLog log;
  log.epoch = epoch;
  log.loss = loss_sum / double(r.b.steps_per_epoch);
  log.tau = tau;
  log.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return log;
}

/// Writes the pretrained networks with what is needed to rebuild and describe them.
void write_checkpoint(const std::string& checkpoint, const Run& r, const models::ModelSpec& spec,
                      std::int64_t steps) {
  const auto& o = r.o;
  try {
    models::write_safetensors(checkpoint, r.net.checkpoint_state(),
                              {{"format", "vfp-byol"},
                               {"arch", spec.arch},
                               {"dims", std::to_string(spec.dims)},
                               {"in_channels", std::to_string(spec.in_channels)},
                               {"width", std::to_string(spec.width)},
                               {"projector_hidden", std::to_string(o.ssl.projector_hidden)},
                               {"projection_dim", std::to_string(o.ssl.projection_dim)},
                               {"optimizer", o.ssl.optimizer},
                               {"schedule", o.ssl.schedule},
                               {"device", r.device.str()},
                               {"epochs", std::to_string(o.ssl.epochs)},
                               {"steps", std::to_string(steps)},
                               {"seed", std::to_string(o.run.seed)},
                               {"vfp_version", std::string(version())}});
  } catch (const IoError& e) {
    throw IoError("cannot write the BYOL checkpoint '" + checkpoint + "': " + e.what());
  }
}

} // namespace

ByolOutcome pretrain_byol(const ByolOptions& o, const Patches& p, const std::string& checkpoint,
                          const std::function<void(const EpochLog&)>& on_epoch) {
  validate(o, p);
  check_writable(checkpoint);
  if (!o.run.checkpoint.empty())
    check_writable(o.run.checkpoint);
  const auto started = Clock::now();
  torch::set_num_threads(std::max(1, o.run.threads));
  models::use_deterministic_algorithms(o.run.deterministic);
  torch::manual_seed(o.run.seed);

  const models::ModelSpec spec = backbone_spec(o, p);
  const auto device = models::pick_device(o.run.device, o.run.local_rank, "device");
  detail::ByolNet net(spec, o.ssl.projector_hidden, o.ssl.projection_dim);
  net.to(device);
  net.train();
  detail::ByolOptimizer optimizer(o, net.trainable_parameters());
  auto gen = at::detail::createCPUGenerator(mix_seed(o.run.seed ^ 0x9e3779b97f4a7c15ULL));
  std::mt19937_64 order_rng(mix_seed(o.run.seed));

  const Run run{o, p, net, optimizer, gen, device, batching(o, p)};

  ByolOutcome out;
  out.device = device.str();
  const auto run_fingerprint = o.run.checkpoint.empty() ? std::string() : fingerprint(o, p);
  detail::ByolProgress progress;
  progress.order = p.items;
  if (detail::load_progress(o.run.checkpoint, run_fingerprint, net, optimizer, gen, order_rng,
                            progress))
    out.resumed_from_epoch = progress.epoch;
  out.steps = progress.steps;
  out.history = progress.history;
  for (int epoch = progress.epoch + 1; epoch <= o.ssl.epochs; ++epoch) {
    const EpochLog log = train_epoch(run, progress.order, order_rng, out.steps, epoch);
    out.history.push_back(log);
    if (!o.run.checkpoint.empty()) {
      progress.epoch = epoch;
      progress.steps = out.steps;
      progress.history = out.history;
      detail::save_progress(o.run.checkpoint, run_fingerprint, net, optimizer, gen, order_rng,
                            progress);
    }
    if (on_epoch)
      on_epoch(log);
  }

  write_checkpoint(checkpoint, run, spec, out.steps);
  if (!o.run.checkpoint.empty())
    std::filesystem::remove(o.run.checkpoint); // everything it held is in the checkpoint
  out.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return out;
}

} // namespace vfp::ssl
