#include "train/checkpoint.h"
#include "train/optimization.h"
#include "train/train.h"

#include "core/core.h"
#include "metrics/metrics.h"
#include "models/models.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <tuple>

namespace vfp::train {
namespace {

/// Copies of every parameter and buffer, to restore the best epoch.
std::vector<torch::Tensor> snapshot(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (auto& p : m.parameters())
    out.push_back(p.detach().clone());
  for (auto& b : m.buffers())
    out.push_back(b.detach().clone());
  return out;
}

void restore(torch::nn::Module& m, const std::vector<torch::Tensor>& saved) {
  torch::NoGradGuard no_grad;
  size_t k = 0;
  for (auto& p : m.parameters())
    p.copy_(saved[k++]);
  for (auto& b : m.buffers())
    b.copy_(saved[k++]);
}

/// [n, channels, (depth,) height, width] of a batch of n patches.
std::vector<int64_t> batch_shape(const FoldData& d, int64_t n) {
  if (d.depth > 0)
    return {n, d.channels, d.depth, d.height, d.width};
  return {n, d.channels, d.height, d.width};
}

/// Scores patches in eval mode, in batches read through the fold's source (one batch in memory).
std::vector<float> score(models::Classifier& model, const FoldData& d, const std::vector<int>& idx,
                         const torch::Device& device) {
  torch::NoGradGuard no_grad;
  model.eval();
  std::vector<float> out;
  out.reserve(idx.size());
  const int64_t plane = int64_t(d.channels) * std::max(1, d.depth) * d.height * d.width;
  const size_t chunk = d.depth > 0 ? 32 : 256;
  auto batch = torch::empty(batch_shape(d, int64_t(chunk)));
  for (size_t start = 0; start < idx.size(); start += chunk) {
    const size_t n = std::min(chunk, idx.size() - start);
    float* dst = batch.data_ptr<float>();
    for (size_t k = 0; k < n; ++k)
      d.source->read(idx[start + k], dst + k * plane);
    // Scores in fp32 even when training uses bf16 autocast: bf16's 8-bit mantissa ties
    // nearby scores, which distorts rank statistics (AUROC, DeLong) and the Cox fit.
    const auto logits = model.forward(batch.narrow(0, 0, int64_t(n)).to(device));
    auto probs = torch::sigmoid(logits.to(torch::kCPU, torch::kFloat)).flatten();
    auto acc = probs.accessor<float, 1>();
    for (size_t k = 0; k < n; ++k)
      out.push_back(acc[int64_t(k)]);
  }
  return out;
}

/// Patient-level AUROC and average precision of patch scores.
std::pair<double, double> patient_auroc_auprc(const FoldData& d, const std::vector<int>& patches,
                                              const std::vector<float>& scores,
                                              const std::string& how) {
  std::vector<int> subjects;
  std::vector<double> subject_scores;
  aggregate_by_subject(d.patch_subject, patches, scores, how, subjects, subject_scores);
  std::vector<int> labels;
  labels.reserve(subjects.size());
  for (int s : subjects)
    labels.push_back(d.subject_label[s]);
  return {metrics::auroc(subject_scores, labels),
          metrics::average_precision(subject_scores, labels)};
}

void check_split(const FoldData& d, const std::vector<int>& patches, const char* name) {
  int pos = 0;
  for (int p : patches)
    pos += d.subject_label[d.patch_subject[p]];
  if (patches.empty())
    throw TaskError(std::string("the ") + name + " split is empty");
  if (pos == 0 || pos == int(patches.size()))
    throw TaskError(std::string("the ") + name + " split has " +
                    (pos == 0 ? "no positive" : "no negative") +
                    " subjects; AUROC is undefined (use fewer folds or a larger cohort)");
}

/// The augmentation section as the loader takes it.
loader::AugmentOptions augment_options(const config::AugmentationConfig& a, bool enabled) {
  loader::AugmentOptions l;
  static_cast<config::AugmentationConfig&>(l) = a;
  l.enabled = enabled;
  return l;
}

/// Writes the model's weights with what is needed to rebuild it.
void save_model(models::Classifier& model, const models::ModelSpec& spec, const Outcome& out,
                const TrainOptions& o) {
  auto metadata = models::size_metadata(spec); // an encoder's sizes (model.vit.*, ...)
  metadata.insert({{"format", "vfp-classifier"},
                   {"arch", spec.arch},
                   {"dims", std::to_string(spec.dims)},
                   {"in_channels", std::to_string(spec.in_channels)},
                   {"outputs", std::to_string(spec.outputs)},
                   {"width", std::to_string(spec.width)},
                   {"head_hidden", std::to_string(spec.head_hidden)},
                   {"best_epoch", std::to_string(out.best_epoch)},
                   {"seed", std::to_string(o.run.seed)}});
  models::write_safetensors(o.save_model, models::state_of(model), metadata);
}

models::ModelSpec model_spec(const TrainOptions& o, const FoldData& d) {
  return models::model_spec(o.model, d.depth > 0 ? 3 : 2, d.channels);
}

/// Loads the pretrained file, if any; says what it loaded ("" without one).
std::string load_pretrained_weights(models::Classifier& model, const TrainOptions& o) {
  if (o.pretrained.file.empty())
    return "";
  const auto report = models::load_pretrained(model, models::pretrained_options(o.pretrained));
  std::string what = std::to_string(report.loaded) + " tensors from " + o.pretrained.file.string();
  if (!report.complete())
    what += "; " + report.describe();
  return what;
}

/// The loss's weight of the positive class: negatives / positives under balanced_loss with
/// shuffled sampling, undefined (no weight) otherwise.
torch::Tensor positive_class_weight(const TrainOptions& o, const FoldData& d,
                                    const torch::Device& device) {
  const bool balanced_sampling = o.train.sampling == "balanced";
  if (!balanced_sampling && o.train.sampling != "shuffle")
    throw std::logic_error("train.sampling '" + o.train.sampling + "' passed the config schema");
  double positives = 0;
  for (int p : d.train)
    positives += d.subject_label[d.patch_subject[p]];
  const double negatives = double(d.train.size()) - positives;
  torch::Tensor pos_weight;
  if (o.train.balanced_loss && !balanced_sampling) // balanced draws already even the classes
    pos_weight = torch::full({1}, negatives / positives, torch::TensorOptions(device));
  return pos_weight;
}

/// The label of every patch of the buffer (its subject's), as the loader takes them.
std::vector<float> patch_labels(const FoldData& d) {
  std::vector<float> labels(d.patch_subject.size());
  for (size_t p = 0; p < labels.size(); ++p)
    labels[p] = float(d.subject_label[size_t(d.patch_subject[p])]);
  return labels;
}

loader::LoaderOptions loader_options(const TrainOptions& o, const FoldData& d) {
  loader::LoaderOptions lo;
  lo.batch_size = int(std::min<size_t>(size_t(o.train.batch_size), d.train.size()));
  lo.sampling =
      o.train.sampling == "balanced" ? loader::Sampling::kBalanced : loader::Sampling::kShuffle;
  lo.threads = o.train.loader_threads;
  lo.seed = o.run.seed;
  lo.augment = augment_options(o.augmentation, o.train.augment);
  return lo;
}

/// What every epoch of one fit works with.
struct Fit {
  const TrainOptions& o;
  const FoldData& d;
  models::Classifier& model;
  const std::vector<models::LayerGroup>& groups;
  const std::vector<detail::GroupRates>& rates;
  torch::optim::Optimizer& optimizer;
  const torch::Device& device;
  const torch::Tensor& pos_weight;
  loader::Loader& batches;
  std::int64_t steps_per_epoch;
};

/// One optimizer step on `batch`; returns the batch's mean loss (before the step).
double train_step(const Fit& f, const loader::Batch& batch, int epoch) {
  const int64_t n = batch.size;
  // Views of the loader's buffers, valid until the next batch; never written.
  auto x = torch::from_blob(const_cast<float*>(batch.x), batch_shape(f.d, n)).to(f.device);
  auto y = torch::from_blob(const_cast<float*>(batch.y), {n, 1}).to(f.device);
  f.optimizer.zero_grad();
  torch::Tensor loss;
  {
    models::Autocast autocast(f.device, f.o.run.amp);
    loss = detail::batch_loss(f.o.train, f.model.forward(x), y, f.pos_weight);
  }
  const double value = fault_point_reached("train.loss.nan") ? NAN : loss.item<double>();
  if (!std::isfinite(value))
    throw TaskError(std::string("training loss became ") +
                    (std::isnan(value) ? "NaN" : "infinite") + " at epoch " +
                    std::to_string(epoch) + " (lower train.lr?)");
  loss.backward();
  f.optimizer.step();
  fault_point("train.step"); // test-only (docs/hardening.md): mid-epoch
  return value;
}

/// What the steps of one epoch add up to.
struct EpochSums {
  double loss_sum = 0; ///< batch losses weighted by batch size
  int64_t seen = 0;
  double factor = 1; ///< the schedule's factor at the last step
  double step_seconds = 0;
};

/// Every batch of one epoch, each after setting the scheduled learning rates.
EpochSums train_batches(const Fit& f, detail::Progress& progress, int epoch) {
  EpochSums sums;
  loader::Batch batch;
  while (f.batches.next(batch)) {
    throw_if_stop_requested("in epoch " + std::to_string(epoch) +
                            " (the task resumes from its checkpoint of the epoch before)");
    sums.factor = detail::schedule_factor(f.o.train, progress.step++, f.steps_per_epoch);
    detail::set_learning_rates(f.optimizer, f.rates, sums.factor);
    const auto compute_start = std::chrono::steady_clock::now();
    const double value = train_step(f, batch, epoch);
    sums.step_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - compute_start).count();
    sums.loss_sum += value * double(batch.size);
    sums.seen += batch.size;
  }
  return sums;
}

/// Trains one epoch and scores the validation split; returns the epoch's log.
EpochLog run_epoch(const Fit& f, detail::Progress& progress, int epoch) {
  const auto t0 = std::chrono::steady_clock::now();
  const double waited_before = f.batches.wait_seconds();
  f.batches.start_epoch(epoch);
  const auto trainable = detail::apply_finetuning(f.model, f.groups, f.o.train, epoch);
  const EpochSums sums = train_batches(f, progress, epoch);
  progress.train_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EpochLog log;
  log.epoch = epoch;
  log.data_wait_seconds = f.batches.wait_seconds() - waited_before;
  log.step_seconds = sums.step_seconds;
  log.train_loss = sums.loss_sum / double(std::max<int64_t>(sums.seen, 1));
  log.lr = f.rates.back().lr * sums.factor;
  log.trainable_tensors = int(trainable);
  const auto val_scores = score(f.model, f.d, f.d.validation, f.device);
  std::tie(log.val_auroc, log.val_auprc) =
      patient_auroc_auprc(f.d, f.d.validation, val_scores, f.o.train.aggregation);
  log.val_loss = patch_log_loss(f.d, f.d.validation, val_scores);
  log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return log;
}

/// Early stopping: whether `log` beats the best epoch by more than min_delta (it then becomes
/// the best); otherwise one more epoch without improvement.
bool record_if_best(const TrainOptions& o, const EpochLog& log, detail::Progress& progress) {
  const bool better = o.train.stop_on == "auroc" ? log.val_auroc > progress.best + o.train.min_delta
                                                 : log.val_loss < progress.best - o.train.min_delta;
  if (!better) {
    ++progress.since_best;
    return false;
  }
  progress.best = o.train.stop_on == "auroc" ? log.val_auroc : log.val_loss;
  progress.best_val_auroc = log.val_auroc;
  progress.best_epoch = log.epoch;
  progress.since_best = 0;
  return true;
}

/// The outcome's history, best epoch and timings.
void summarize(const detail::Progress& progress, double data_wait_seconds, Outcome& out) {
  out.history = progress.history;
  out.epochs_run = progress.epoch;
  out.best_epoch = progress.best_epoch;
  out.best_val_auroc = progress.best_val_auroc;
  for (const auto& e : progress.history)
    if (e.epoch == progress.best_epoch) {
      out.best_val_auprc = e.val_auprc;
      out.best_val_loss = e.val_loss;
    }
  out.train_seconds = progress.train_seconds;
  out.data_wait_seconds = data_wait_seconds;
  for (const auto& e : progress.history)
    out.step_seconds += e.step_seconds;
}

} // namespace

double patch_log_loss(const FoldData& d, const std::vector<int>& patches,
                      const std::vector<float>& scores) {
  double sum = 0;
  for (size_t k = 0; k < patches.size(); ++k) {
    const double p = std::clamp(double(scores[k]), 1e-7, 1 - 1e-7);
    sum -= d.subject_label[d.patch_subject[patches[k]]] ? std::log(p) : std::log(1 - p);
  }
  return sum / double(std::max<size_t>(patches.size(), 1));
}

std::vector<ArchitectureInfo> list_architectures(int dims, int in_channels, int outputs) {
  std::vector<ArchitectureInfo> out;
  for (const auto& a : models::architectures()) {
    ArchitectureInfo info;
    info.name = a.name;
    info.description = a.description;
    info.dims = a.dims;
    models::ModelSpec spec;
    spec.arch = a.name;
    spec.dims = dims;
    spec.in_channels = in_channels;
    spec.outputs = outputs;
    info.available = std::find(a.dims.begin(), a.dims.end(), dims) != a.dims.end();
    if (!info.available) { // e.g. a 3D-only encoder asked for in 2D
      out.push_back(info);
      continue;
    }
    try {
      auto model = models::make_model(spec);
      info.parameters = models::parameter_count(*model);
      for (const auto& b : model->buffers())
        info.buffers += b.numel();
    } catch (const InputError&) {
      info.available = false; // e.g. too few input channels for a grouped stem
    }
    out.push_back(info);
  }
  return out;
}

Outcome fit_and_score(const TrainOptions& o, const FoldData& d,
                      const std::function<void(const EpochLog&)>& on_epoch) {
  if (d.source == nullptr)
    throw std::logic_error("fit_and_score: FoldData::source is not set");
  check_split(d, d.train, "training");
  check_split(d, d.validation, "validation");
  check_split(d, d.test, "test"); // before training: its AUROC would be undefined after it
  torch::set_num_threads(std::max(1, o.run.threads));
  models::use_deterministic_algorithms(o.run.deterministic);
  torch::manual_seed(o.run.seed);
  const models::ModelSpec spec = model_spec(o, d);
  auto model = models::make_model(spec);
  const auto device = models::pick_device(o.run.device, o.run.local_rank);
  Outcome out;
  out.device = device.str();
  out.pretrained = load_pretrained_weights(*model, o);
  model->to(device); // after loading weights, before the optimizer holds the parameters
  const auto groups = model->layer_groups();
  const auto rates = detail::layer_rates(groups, o.train);
  auto optimizer = detail::make_optimizer(o.train, groups, rates);
  detail::trainable_groups(o.train, groups.size(), 1); // unknown strategies fail before training
  detail::schedule_factor(o.train, 0, 1);
  const torch::Tensor pos_weight = positive_class_weight(o, d, device);
  if (o.train.stop_on != "auroc" && o.train.stop_on != "loss")
    throw std::logic_error("train.stop_on '" + o.train.stop_on + "' passed the config schema");

  // The loader keeps its batch buffers across steps: no allocation (or page faults) per step.
  loader::Loader batches(*d.source, loader::Shape{d.channels, d.depth, d.height, d.width}, d.train,
                         patch_labels(d), loader_options(o, d));
  const Fit fit{o,          d,      *model,     groups,  rates,
                *optimizer, device, pos_weight, batches, batches.batches_per_epoch()};
  std::vector<torch::Tensor> best_state = snapshot(*model);
  detail::Progress progress;
  progress.best = o.train.stop_on == "auroc" ? -1 : std::numeric_limits<double>::infinity();
  if (detail::load_checkpoint(o.run.checkpoint, *model, *optimizer, best_state, progress))
    out.resumed_from_epoch = progress.epoch;
  const auto stopped = [&] { return progress.since_best >= o.train.patience; };
  for (int epoch = progress.epoch + 1; epoch <= o.train.max_epochs && !stopped(); ++epoch) {
    const EpochLog log = run_epoch(fit, progress, epoch);
    progress.history.push_back(log);
    progress.epoch = epoch;
    if (record_if_best(o, log, progress))
      best_state = snapshot(*model);
    // None after the last epoch: the task scores and records its row next and then removes
    // the checkpoint, so writing one (weights, optimizer moments and best weights: 4× the model,
    // 1.9 GB for Merlin's encoder) only costs time. A kill before the row is on file reruns the
    // last epoch from the checkpoint before it, to the same result.
    const bool last = epoch == o.train.max_epochs || stopped();
    if (!o.run.checkpoint.empty() && !last)
      detail::save_checkpoint(o.run.checkpoint, *model, *optimizer, best_state, progress);
    if (on_epoch)
      on_epoch(log);
  }
  summarize(progress, batches.wait_seconds(), out);
  restore(*model, best_state);
  out.test_scores = score(*model, d, d.test, device);
  if (!o.save_model.empty())
    save_model(*model, spec, out, o);
  return out;
}

} // namespace vfp::train
