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

/// Scores patches in eval mode, in batches.
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
      std::copy_n(d.pixels + idx[start + k] * plane, plane, dst + k * plane);
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

models::PretrainedOptions pretrained_options(const PretrainedWeights& w) {
  models::PretrainedOptions p;
  p.file = w.file;
  p.key_map = w.key_map;
  p.prefix = w.prefix;
  p.keep_head = w.keep_head;
  p.mode = w.strict ? models::LoadMode::kStrict : models::LoadMode::kNonStrict;
  if (w.inflation != "mean" && w.inflation != "centre")
    throw InputError("unknown pretrained.inflation '" + w.inflation + "' (mean or centre)");
  p.inflation = w.inflation == "mean" ? models::Inflation::kMean : models::Inflation::kCentre;
  if (w.channels != "sum" && w.channels != "mean")
    throw InputError("unknown pretrained.channels '" + w.channels + "' (sum or mean)");
  p.channels = w.channels == "sum" ? models::ChannelRule::kSum : models::ChannelRule::kMean;
  return p;
}

/// Writes the model's weights with what is needed to rebuild it.
void save_model(models::Classifier& model, const models::ModelSpec& spec, const Outcome& out,
                const TrainOptions& o) {
  models::write_safetensors(o.save_model, models::state_of(model),
                            {{"format", "vfp-classifier"},
                             {"arch", spec.arch},
                             {"dims", std::to_string(spec.dims)},
                             {"in_channels", std::to_string(spec.in_channels)},
                             {"outputs", std::to_string(spec.outputs)},
                             {"width", std::to_string(spec.width)},
                             {"head_hidden", std::to_string(spec.head_hidden)},
                             {"best_epoch", std::to_string(out.best_epoch)},
                             {"seed", std::to_string(o.seed)}});
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
  check_split(d, d.train, "training");
  check_split(d, d.validation, "validation");
  check_split(d, d.test, "test"); // before training: its AUROC would be undefined after it
  torch::set_num_threads(std::max(1, o.threads));
  torch::manual_seed(o.seed);
  models::ModelSpec spec;
  spec.arch = o.arch;
  spec.width = o.width;
  spec.dropout = o.dropout;
  spec.head_hidden = o.head_hidden;
  spec.dims = d.depth > 0 ? 3 : 2;
  spec.in_channels = d.channels;
  auto model = models::make_model(spec);
  const auto device = models::pick_device(o.device, o.local_rank);
  Outcome out;
  out.device = device.str();
  if (!o.pretrained.file.empty()) {
    const auto report = models::load_pretrained(*model, pretrained_options(o.pretrained));
    out.pretrained = std::to_string(report.loaded) + " tensors from " + o.pretrained.file;
    if (!report.complete())
      out.pretrained += "; " + report.describe();
  }
  model->to(device); // after loading weights, before the optimizer holds the parameters
  const auto groups = model->layer_groups();
  const auto rates = detail::layer_rates(groups, o);
  auto optimizer = detail::make_optimizer(o, groups, rates);
  detail::trainable_groups(o, groups.size(), 1); // unknown strategies fail before training
  detail::schedule_factor(o, 0, 1);

  const bool balanced_sampling = o.sampling == "balanced";
  if (!balanced_sampling && o.sampling != "shuffle")
    throw InputError("unknown sampling '" + o.sampling + "' (expected shuffle or balanced)");
  double positives = 0;
  for (int p : d.train)
    positives += d.subject_label[d.patch_subject[p]];
  const double negatives = double(d.train.size()) - positives;
  torch::Tensor pos_weight;
  if (o.balanced_loss && !balanced_sampling) // balanced draws already even the classes
    pos_weight = torch::full({1}, negatives / positives, torch::TensorOptions(device));
  if (o.stop_on != "auroc" && o.stop_on != "loss")
    throw InputError("unknown train.stop_on '" + o.stop_on + "' (auroc or loss)");

  std::vector<float> patch_labels(d.patch_subject.size());
  for (size_t p = 0; p < patch_labels.size(); ++p)
    patch_labels[p] = float(d.subject_label[size_t(d.patch_subject[p])]);
  loader::LoaderOptions lo;
  lo.batch_size = int(std::min<size_t>(size_t(o.batch_size), d.train.size()));
  lo.sampling = balanced_sampling ? loader::Sampling::kBalanced : loader::Sampling::kShuffle;
  lo.threads = o.loader_threads;
  lo.seed = o.seed;
  lo.augment = o.augmentation;
  lo.augment.enabled = o.augment;
  // The loader keeps its batch buffers across steps: no allocation (or page faults) per step.
  loader::Loader batches(d.pixels, loader::Shape{d.channels, d.depth, d.height, d.width}, d.train,
                         patch_labels, lo);

  const std::int64_t steps_per_epoch = batches.batches_per_epoch();
  std::vector<torch::Tensor> best_state = snapshot(*model);
  detail::Progress progress;
  progress.best = o.stop_on == "auroc" ? -1 : std::numeric_limits<double>::infinity();
  if (detail::load_checkpoint(o.checkpoint, *model, *optimizer, best_state, progress))
    out.resumed_from_epoch = progress.epoch;
  const auto stopped = [&] { return progress.since_best >= o.patience; };
  for (int epoch = progress.epoch + 1; epoch <= o.max_epochs && !stopped(); ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const double waited_before = batches.wait_seconds();
    batches.start_epoch(epoch);
    const auto trainable = detail::apply_finetuning(*model, groups, o, epoch);
    double loss_sum = 0;
    int64_t seen = 0;
    double factor = 1;
    double step_seconds = 0;
    loader::Batch batch;
    while (batches.next(batch)) {
      throw_if_stop_requested("in epoch " + std::to_string(epoch) +
                              " (the task resumes from its checkpoint of the epoch before)");
      factor = detail::schedule_factor(o, progress.step++, steps_per_epoch);
      detail::set_learning_rates(*optimizer, rates, factor);
      const int64_t n = batch.size;
      // Views of the loader's buffers, valid until the next batch; never written.
      const auto compute_start = std::chrono::steady_clock::now();
      auto x = torch::from_blob(const_cast<float*>(batch.x), batch_shape(d, n)).to(device);
      auto y = torch::from_blob(const_cast<float*>(batch.y), {n, 1}).to(device);
      optimizer->zero_grad();
      torch::Tensor loss;
      {
        models::Autocast autocast(device, o.amp);
        loss = detail::batch_loss(o, model->forward(x), y, pos_weight);
      }
      const double value = fault_point_reached("train.loss.nan") ? NAN : loss.item<double>();
      if (!std::isfinite(value))
        throw TaskError(std::string("training loss became ") +
                        (std::isnan(value) ? "NaN" : "infinite") + " at epoch " +
                        std::to_string(epoch) + " (lower train.lr?)");
      loss.backward();
      optimizer->step();
      fault_point("train.step"); // test-only (docs/hardening.md): mid-epoch
      step_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - compute_start).count();
      loss_sum += value * double(n);
      seen += n;
    }
    progress.train_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EpochLog log;
    log.epoch = epoch;
    log.data_wait_seconds = batches.wait_seconds() - waited_before;
    log.step_seconds = step_seconds;
    log.train_loss = loss_sum / double(std::max<int64_t>(seen, 1));
    log.lr = rates.back().lr * factor;
    log.trainable_tensors = int(trainable);
    const auto val_scores = score(*model, d, d.validation, device);
    std::tie(log.val_auroc, log.val_auprc) =
        patient_auroc_auprc(d, d.validation, val_scores, o.aggregation);
    log.val_loss = patch_log_loss(d, d.validation, val_scores);
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    progress.history.push_back(log);
    progress.epoch = epoch;
    const bool better = o.stop_on == "auroc" ? log.val_auroc > progress.best + o.min_delta
                                             : log.val_loss < progress.best - o.min_delta;
    if (better) {
      progress.best = o.stop_on == "auroc" ? log.val_auroc : log.val_loss;
      progress.best_val_auroc = log.val_auroc;
      progress.best_epoch = epoch;
      best_state = snapshot(*model);
      progress.since_best = 0;
    } else {
      ++progress.since_best;
    }
    if (!o.checkpoint.empty())
      detail::save_checkpoint(o.checkpoint, *model, *optimizer, best_state, progress);
    if (on_epoch)
      on_epoch(log);
  }
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
  out.data_wait_seconds = batches.wait_seconds();
  for (const auto& e : progress.history)
    out.step_seconds += e.step_seconds;
  restore(*model, best_state);
  out.test_scores = score(*model, d, d.test, device);
  if (!o.save_model.empty())
    save_model(*model, spec, out, o);
  return out;
}

} // namespace vfp::train
